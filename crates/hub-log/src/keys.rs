//! Key layout: a one-byte tag, then big-endian integers, so byte order is log order.
//!
//! | tag | key | value |
//! |---|---|---|
//! | `E` | position | when this node stored it (i64 µs, 8 bytes), then the `EventRecord` bytes |
//! | `S` | stream, 0x00, version | position |
//! | `I` | event id (16 bytes) | position |
//! | `O` | origin code (4 bytes), sequence | position |
//! | `X` | caller's key | caller's value (e.g. consumer offsets, written atomically with events) |

use hub_types::{EventId, MemberId};

pub(crate) const EVENT: u8 = b'E';
pub(crate) const STREAM: u8 = b'S';
pub(crate) const EVENT_ID: u8 = b'I';
pub(crate) const ORIGIN: u8 = b'O';
pub(crate) const META: u8 = b'X';

pub(crate) fn event(position: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(EVENT);
    k.extend_from_slice(&position.to_be_bytes());
    k
}

/// Prefix of every key of one stream.
pub(crate) fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(stream.len() + 2);
    k.push(STREAM);
    k.extend_from_slice(stream.as_bytes());
    k.push(0);
    k
}

pub(crate) fn stream(stream: &str, version: u64) -> Vec<u8> {
    let mut k = stream_prefix(stream);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

pub(crate) fn event_id(id: &EventId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(EVENT_ID);
    k.extend_from_slice(id.as_bytes());
    k
}

pub(crate) fn origin_prefix(origin: MemberId) -> Vec<u8> {
    let mut k = Vec::with_capacity(13);
    k.push(ORIGIN);
    k.extend_from_slice(&origin.code().to_be_bytes());
    k
}

pub(crate) fn origin(origin: MemberId, seq: u64) -> Vec<u8> {
    let mut k = origin_prefix(origin);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn meta(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(META);
    k.extend_from_slice(key);
    k
}

/// Reads a big-endian u64 from the last eight bytes of a key or from a value.
pub(crate) fn u64_at_end(bytes: &[u8]) -> Option<u64> {
    let tail = bytes.get(bytes.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Builds an `E` value: the local storage time, then the record.
pub(crate) fn event_value(stored_at_micros: i64, record: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + record.len());
    v.extend_from_slice(&stored_at_micros.to_be_bytes());
    v.extend_from_slice(record);
    v
}

/// Splits an `E` value into the local storage time and the record bytes.
pub(crate) fn split_event_value(value: &[u8]) -> Option<(i64, &[u8])> {
    let (time, record) = value.split_at_checked(8)?;
    Some((i64::from_be_bytes(time.try_into().ok()?), record))
}
