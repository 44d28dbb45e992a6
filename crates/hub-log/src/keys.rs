//! Key layout: a one-byte tag, then big-endian integers, so byte order is log order.
//!
//! | tag | key | value |
//! |---|---|---|
//! | `E` | first position of a chunk | where the chunk lies in the records file (see [`crate::store::SledStore`]); the chunk: its events in position order, each: when this node stored it (i64 µs), record length (u32), `EventRecord` bytes |
//! | `X` | caller's key | caller's value (e.g. consumer offsets, written atomically with events) |
//! | `S`, `O`, `I` | stream runs, origin runs, event ids | no longer written: the indexes are in [`crate::runs`] and [`crate::ids`]; stores written before still hold them, unread |
//!
//! An `E` chunk holds the events of one commit group at consecutive positions, up to
//! [`MAX_CHUNK_BYTES`]; position `p` lives in the chunk with the greatest key `<= p`. So
//! an append writes one key for many events, and chunks never span commit groups: a crash,
//! which keeps a prefix of the groups, never leaves half of one.
//!
//! Where each event id, stream version and origin sequence is stored is derived from the
//! events and kept beside the store ([`crate::ids`], [`crate::runs`]): in sled, each was
//! one or two random B-tree inserts an append and most of sled's bytes.

pub(crate) const EVENT: u8 = b'E';
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
}
