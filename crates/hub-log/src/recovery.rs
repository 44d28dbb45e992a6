//! Opening a store: find the head, load every origin's chain head, and check the tail.
//!
//! Batches are atomic, so a crash leaves a prefix of the committed groups; anything else
//! (a hole in positions, a broken chain, an index pointing nowhere) means the store was
//! damaged, and the log refuses to serve it, saying what and where.

use std::collections::BTreeMap;

use hub_proto::pb::EventRecord;
use hub_types::MemberId;
use prost::Message;

use crate::error::{Error, Result};
use crate::keys;
use crate::store::{self, Store};
use crate::{record_hash, OriginHead, ZERO_HASH};

/// How many events at the end of the log are fully checked on open.
const TAIL_CHECK: usize = 10_000;

pub(crate) struct Recovered {
    pub(crate) head: u64,
    pub(crate) origins: BTreeMap<MemberId, OriginHead>,
    pub(crate) last_recorded_micros: i64,
}

fn corrupt(position: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        position,
        what: what.into(),
    }
}

fn decode(position: u64, bytes: &[u8]) -> Result<EventRecord> {
    let (_, bytes) =
        keys::split_event_value(bytes).ok_or_else(|| corrupt(position, "event value too short"))?;
    EventRecord::decode(bytes).map_err(|e| corrupt(position, format!("undecodable record: {e}")))
}

fn index_points_at<S: Store>(store: &S, key: &[u8], position: u64, what: &str) -> Result<()> {
    let found = store.get(key)?.and_then(|v| keys::u64_at_end(&v));
    if found != Some(position) {
        return Err(corrupt(
            position,
            format!("{what} index points at {found:?} instead of this event"),
        ));
    }
    Ok(())
}

pub(crate) fn recover<S: Store>(store: &S) -> Result<Recovered> {
    let events = [keys::EVENT];
    let events_end = store::prefix_end(&events);
    let head = match store::last_with_prefix(store, &events)? {
        Some((k, _)) => keys::u64_at_end(&k).ok_or_else(|| corrupt(0, "bad event key"))?,
        None => 0,
    };

    // The tail: positions must be contiguous up to the head and every index consistent.
    let tail_from = head.saturating_sub(TAIL_CHECK as u64 - 1).max(1);
    let tail = if head == 0 {
        Vec::new()
    } else {
        store.range(&keys::event(tail_from), &events_end, false, TAIL_CHECK)?
    };
    let mut last_recorded_micros = 0;
    let mut chain: BTreeMap<MemberId, (u64, [u8; 32])> = BTreeMap::new();
    for (expected, (k, v)) in (tail_from..).zip(&tail) {
        let pos = keys::u64_at_end(k).ok_or_else(|| corrupt(0, "bad event key"))?;
        if pos != expected {
            return Err(corrupt(
                expected,
                format!("positions are not contiguous: expected {expected}, found {pos}"),
            ));
        }
        let record = decode(pos, v)?;
        let origin: MemberId = record
            .origin
            .parse()
            .map_err(|e| corrupt(pos, format!("bad origin: {e}")))?;
        let id = record
            .event_id
            .parse()
            .map_err(|e| corrupt(pos, format!("bad event id: {e}")))?;
        index_points_at(store, &keys::event_id(&id), pos, "event id")?;
        index_points_at(
            store,
            &keys::origin(origin, record.origin_seq),
            pos,
            "origin",
        )?;
        index_points_at(
            store,
            &keys::stream(&record.stream, record.stream_version),
            pos,
            "stream",
        )?;
        let prev = match chain.get(&origin) {
            Some(prev) => Some(*prev),
            None if record.origin_seq == 1 => Some((0, ZERO_HASH)),
            None => previous_in_origin(store, origin, record.origin_seq)?,
        };
        if let Some((prev_seq, prev_hash)) = prev {
            if record.origin_seq != prev_seq + 1 {
                return Err(corrupt(
                    pos,
                    format!(
                        "origin {origin} jumps from sequence {prev_seq} to {}",
                        record.origin_seq
                    ),
                ));
            }
            if record.prev_hash.as_slice() != prev_hash.as_slice() {
                return Err(corrupt(
                    pos,
                    format!(
                        "origin {origin} sequence {}: prev_hash breaks the chain",
                        record.origin_seq
                    ),
                ));
            }
        }
        chain.insert(origin, (record.origin_seq, record_hash(&record)));
        if let Some((stored_at, _)) = keys::split_event_value(v) {
            last_recorded_micros = last_recorded_micros.max(stored_at);
        }
    }

    // Every origin's head: the last entry of its origin index.
    let mut origins = BTreeMap::new();
    let mut cursor = vec![keys::ORIGIN];
    let origin_end = store::prefix_end(&[keys::ORIGIN]);
    while let Some((k, _)) = store
        .range(&cursor, &origin_end, false, 1)?
        .into_iter()
        .next()
    {
        let code = k
            .get(1..5)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| corrupt(0, "bad origin key"))?;
        let origin =
            MemberId::from_code(code).map_err(|e| corrupt(0, format!("bad origin key: {e}")))?;
        let prefix = keys::origin_prefix(origin);
        let (last_key, last_pos) = store::last_with_prefix(store, &prefix)?
            .ok_or_else(|| corrupt(0, "origin index vanished"))?;
        let seq = keys::u64_at_end(&last_key).ok_or_else(|| corrupt(0, "bad origin key"))?;
        let pos = keys::u64_at_end(&last_pos).ok_or_else(|| corrupt(0, "bad origin value"))?;
        if pos > head {
            return Err(corrupt(
                pos,
                format!("origin {origin} head lies beyond the log head {head}"),
            ));
        }
        let bytes = store
            .get(&keys::event(pos))?
            .ok_or_else(|| corrupt(pos, format!("origin {origin} head event is missing")))?;
        let record = decode(pos, &bytes)?;
        if record.origin_seq != seq || record.origin != origin.to_string() {
            return Err(corrupt(
                pos,
                format!("origin {origin} index disagrees with the event"),
            ));
        }
        origins.insert(
            origin,
            OriginHead {
                seq,
                hash: record_hash(&record),
            },
        );
        cursor = store::prefix_end(&prefix);
    }
    for (origin, (seq, _)) in &chain {
        if origins.get(origin).map(|h| h.seq) != Some(*seq) {
            return Err(corrupt(
                head,
                format!("origin {origin} has events beyond sequence {seq} outside the log"),
            ));
        }
    }
    Ok(Recovered {
        head,
        origins,
        last_recorded_micros,
    })
}

/// The sequence and hash of the event before `seq` in `origin`, for checking the first
/// tail event of an origin against the part of the log not re-checked.
fn previous_in_origin<S: Store>(
    store: &S,
    origin: MemberId,
    seq: u64,
) -> Result<Option<(u64, [u8; 32])>> {
    let Some(v) = store.get(&keys::origin(origin, seq - 1))? else {
        return Err(corrupt(
            0,
            format!("origin {origin} sequence {} is missing", seq - 1),
        ));
    };
    let pos = keys::u64_at_end(&v).ok_or_else(|| corrupt(0, "bad origin value"))?;
    let bytes = store
        .get(&keys::event(pos))?
        .ok_or_else(|| corrupt(pos, "an origin index points at a missing event"))?;
    let record = decode(pos, &bytes)?;
    Ok(Some((record.origin_seq, record_hash(&record))))
}
