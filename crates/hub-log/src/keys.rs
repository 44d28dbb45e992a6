//! Key layout: a one-byte tag, then big-endian integers, so byte order is log order.
//!
//! | tag | key | value |
//! |---|---|---|
//! | `E` | first position of a chunk | where the chunk lies in the records file (see [`crate::store::SledStore`]); the chunk: its events in position order, each: when this node stored it (i64 µs), record length (u32), `EventRecord` bytes |
//! | `S` | stream, 0x00, first version of a run | the run: first position (8 bytes), event count (8 bytes) |
//! | `I` | event id (16 bytes) | position: no longer written (the ids are in [`crate::ids`]); stores written before still hold them, unread |
//! | `O` | origin code (4 bytes), first sequence of a run | the run: first position (8 bytes), event count (8 bytes) |
//! | `X` | caller's key | caller's value (e.g. consumer offsets, written atomically with events) |
//!
//! Inserts into the store dominate the writer's cost, so an append writes a constant number
//! of keys, whatever its number of events:
//!
//! - An `E` chunk holds the events of one commit group at consecutive positions, up to
//!   [`MAX_CHUNK_BYTES`]; position `p` lives in the chunk with the greatest key `<= p`.
//! - An `S` or `O` *run* says that the events with versions (or origin sequences) `n`,
//!   `n + 1`, … `n + count - 1` are at positions `first`, `first + 1`, …: an append's events
//!   are consecutive in all three, so one run of each describes it (and the writer merges
//!   runs of a group that continue each other, such as ingested events of one origin).
//!   Version `v` lives in the run with the greatest key `<= v` of its stream, if that run
//!   reaches `v`.
//! - Event ids are random, so an index of them in the store would cost one random insert
//!   per event: they are kept in [`crate::ids`] instead.
//!
//! Chunks and runs never span commit groups, so a crash, which keeps a prefix of the groups,
//! never leaves half of one.

use hub_types::{MemberId, StreamId};

pub(crate) const EVENT: u8 = b'E';
pub(crate) const STREAM: u8 = b'S';
pub(crate) const ORIGIN: u8 = b'O';
pub(crate) const META: u8 = b'X';

/// Most bytes the writer puts in one `E` chunk (unless a single event is larger): one
/// pointer in sled per chunk, and a read of one event reads and checks its whole chunk.
/// (When chunks were kept in sled itself, the size also kept a leaf of chunks out of
/// sled's blob files, which sled never `fsync`s; stores written then still hold such.)
pub(crate) const MAX_CHUNK_BYTES: usize = 6 * 1024;

/// Bytes an event takes in a chunk before its record: stored-at time and record length.
pub(crate) const EVENT_HEADER: usize = 12;

pub(crate) fn event(position: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(EVENT);
    k.extend_from_slice(&position.to_be_bytes());
    k
}

/// Prefix of every key of one stream.
pub(crate) fn stream_prefix(stream: &StreamId) -> Vec<u8> {
    let stream = stream.to_string();
    let mut k = Vec::with_capacity(stream.len() + 2);
    k.push(STREAM);
    k.extend_from_slice(stream.as_bytes());
    k.push(0);
    k
}

/// Prefix of every key of one origin.
pub(crate) fn origin_prefix(origin: MemberId) -> Vec<u8> {
    let mut k = Vec::with_capacity(13);
    k.push(ORIGIN);
    k.extend_from_slice(&origin.code().to_be_bytes());
    k
}

/// The key of the run starting at `first` under an `S` or `O` prefix.
pub(crate) fn run(prefix: &[u8], first: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&first.to_be_bytes());
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

/// Events at consecutive positions carrying consecutive numbers (stream versions or origin
/// sequences): the value of an `S` or `O` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Number of the first event (from the key).
    pub(crate) first: u64,
    /// Position of the first event.
    pub(crate) position: u64,
    /// How many events; at least 1.
    pub(crate) count: u64,
}

impl Run {
    /// Reads a run from its key and value; `None` when either is malformed.
    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Option<Self> {
        let first = u64_at_end(key)?;
        let (position, count) = value.split_at_checked(8)?;
        let run = Self {
            first,
            position: u64::from_be_bytes(position.try_into().ok()?),
            count: u64::from_be_bytes(count.try_into().ok()?),
        };
        let valid = run.count > 0
            && run.first > 0
            && run.position > 0
            && run.first.checked_add(run.count).is_some()
            && run.position.checked_add(run.count).is_some();
        valid.then_some(run)
    }

    pub(crate) fn value(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&self.position.to_be_bytes());
        v.extend_from_slice(&self.count.to_be_bytes());
        v
    }

    /// Number of the last event.
    pub(crate) fn last(&self) -> u64 {
        self.first + self.count - 1
    }

    /// Position of the last event.
    pub(crate) fn last_position(&self) -> u64 {
        self.position + self.count - 1
    }

    /// Position of the event numbered `n`, if the run holds it.
    pub(crate) fn position_of(&self, n: u64) -> Option<u64> {
        (self.first..=self.last())
            .contains(&n)
            .then(|| self.position + (n - self.first))
    }

    /// Extends the run by the event numbered `n` at `position` if that event directly
    /// follows it in both; returns whether it did.
    pub(crate) fn extend(&mut self, n: u64, position: u64) -> bool {
        let follows = n == self.first + self.count && position == self.position + self.count;
        if follows {
            self.count += 1;
        }
        follows
    }
}

/// Appends one event to an `E` chunk value.
pub(crate) fn push_event(chunk: &mut Vec<u8>, stored_at_micros: i64, record: &[u8]) {
    let len = u32::try_from(record.len()).expect("protobuf messages are below 2 GiB");
    chunk.reserve(EVENT_HEADER + record.len());
    chunk.extend_from_slice(&stored_at_micros.to_be_bytes());
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(record);
}

/// The events of an `E` chunk value in position order: when each was stored and its record
/// bytes. Yields `Err(())` once, then stops, when the value is truncated.
pub(crate) fn chunk_events(chunk: &[u8]) -> ChunkEvents<'_> {
    ChunkEvents { rest: chunk }
}

/// Iterator of [`chunk_events`].
#[derive(Debug)]
pub(crate) struct ChunkEvents<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ChunkEvents<'a> {
    type Item = Result<(i64, &'a [u8]), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = self
            .rest
            .split_at_checked(EVENT_HEADER)
            .and_then(|(h, rest)| {
                let stored_at = i64::from_be_bytes(h[..8].try_into().ok()?);
                let len = u32::from_be_bytes(h[8..].try_into().ok()?);
                let (record, rest) = rest.split_at_checked(usize::try_from(len).ok()?)?;
                Some((stored_at, record, rest))
            });
        match parsed {
            Some((stored_at, record, rest)) => {
                self.rest = rest;
                Some(Ok((stored_at, record)))
            }
            None => {
                self.rest = &[];
                Some(Err(()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_truncation_is_reported() {
        let mut chunk = Vec::new();
        push_event(&mut chunk, 7, b"first");
        push_event(&mut chunk, -3, b"");
        push_event(&mut chunk, 9, b"third");
        let events: Vec<_> = chunk_events(&chunk).collect();
        assert_eq!(
            events,
            vec![
                Ok((7, &b"first"[..])),
                Ok((-3, &b""[..])),
                Ok((9, &b"third"[..]))
            ]
        );
        let cut: Vec<_> = chunk_events(&chunk[..chunk.len() - 1]).collect();
        assert_eq!(
            cut,
            vec![Ok((7, &b"first"[..])), Ok((-3, &b""[..])), Err(())]
        );
    }

    #[test]
    fn runs_map_numbers_to_positions() {
        let prefix = stream_prefix(&"demand/330400/a".parse().expect("stream"));
        let mut built = Run {
            first: 4,
            position: 10,
            count: 1,
        };
        assert!(built.extend(5, 11));
        assert!(!built.extend(6, 13), "a gap in positions starts a new run");
        assert!(!built.extend(7, 12), "a gap in numbers starts a new run");
        let decoded = Run::decode(&run(&prefix, 4), &built.value()).expect("decodes");
        assert_eq!(decoded, built);
        assert_eq!((decoded.last(), decoded.last_position()), (5, 11));
        assert_eq!(decoded.position_of(3), None);
        assert_eq!(decoded.position_of(5), Some(11));
        assert_eq!(decoded.position_of(6), None);
        let empty = Run { count: 0, ..built };
        assert_eq!(Run::decode(&run(&prefix, 4), &empty.value()), None);
    }
}
