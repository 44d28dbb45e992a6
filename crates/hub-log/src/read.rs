//! Reads events out of the store (see [`crate::keys`] for the layout), for the log's
//! readers, the writer, recovery and the indexes catching up.

use hub_proto::pb::EventRecord;
use hub_types::{Position, Timestamp};
use prost::Message;

use crate::error::{Error, Result};
use crate::keys;
use crate::store::{self, Store};
use crate::StoredEvent;

/// Most entries fetched by one range call while walking chunks.
const PAGE: usize = 64;

pub(crate) fn corrupt(position: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        position,
        what: what.into(),
    }
}

/// Decodes the record bytes of the event at `position`.
pub(crate) fn decode_record(position: u64, bytes: &[u8]) -> Result<EventRecord> {
    EventRecord::decode(bytes).map_err(|e| corrupt(position, format!("undecodable record: {e}")))
}

fn decode_event(position: u64, stored_at: i64, bytes: &[u8]) -> Result<StoredEvent> {
    Ok(StoredEvent {
        position: Position::new(position).map_err(|_| corrupt(0, "event stored at position 0"))?,
        stored_at: Timestamp(stored_at),
        record: decode_record(position, bytes)?,
    })
}

/// The chunk holding `position` (if any chunk starts at or below it): its first position
/// and value. The chunk may end below `position`.
fn chunk_at<S: Store>(store: &S, position: u64) -> Result<Option<(u64, Vec<u8>)>> {
    let upper = keys::event(position.saturating_add(1));
    let Some((k, v)) = store
        .range(&[keys::EVENT], &upper, true, 1)
        .map_err(|e| e.at_position(position))?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let first = keys::u64_at_end(&k).ok_or_else(|| corrupt(0, "bad event key"))?;
    Ok(Some((first, v)))
}

/// The highest position stored (0 when there is none), from the last chunk.
pub(crate) fn last_position<S: Store>(store: &S) -> Result<u64> {
    let Some((k, v)) = store::last_with_prefix(store, &[keys::EVENT])? else {
        return Ok(0);
    };
    let first = keys::u64_at_end(&k).ok_or_else(|| corrupt(0, "bad event key"))?;
    let mut count = 0;
    for event in keys::chunk_events(&v) {
        event.map_err(|()| corrupt(first + count, "event chunk is truncated"))?;
        count += 1;
    }
    if count == 0 {
        return Err(corrupt(first, "event chunk is empty"));
    }
    Ok(first + count - 1)
}

/// Events at positions `from..=to` in order, at most `limit`. Every position in the range
/// must be stored: a missing one is corruption.
pub(crate) fn events<S: Store>(
    store: &S,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    let mut out = Vec::new();
    if from > to || limit == 0 {
        return Ok(out);
    }
    let missing = |p: u64| corrupt(p, "event is missing");
    let (first, chunk) = chunk_at(store, from)?.ok_or_else(|| missing(from))?;
    let mut next = take_chunk(first, &chunk, from, to, limit, &mut out)?;
    if next <= from {
        return Err(missing(from));
    }
    let end = keys::event(to.saturating_add(1));
    while out.len() < limit && next <= to {
        let page = store
            .range(
                &keys::event(next),
                &end,
                false,
                (limit - out.len()).min(PAGE),
            )
            .map_err(|e| e.at_position(next))?;
        if page.is_empty() {
            return Err(missing(next));
        }
        for (k, v) in page {
            let first = keys::u64_at_end(&k).ok_or_else(|| corrupt(next, "bad event key"))?;
            if first != next {
                return Err(corrupt(
                    next,
                    format!("positions are not contiguous: expected {next}, found {first}"),
                ));
            }
            next = take_chunk(first, &v, from, to, limit, &mut out)?;
            if out.len() >= limit || next > to {
                break;
            }
        }
    }
    Ok(out)
}

/// Decodes the events of the chunk starting at `first` that lie in `from..=to` into `out`,
/// up to `limit` in all; returns the position after the chunk.
fn take_chunk(
    first: u64,
    chunk: &[u8],
    from: u64,
    to: u64,
    limit: usize,
    out: &mut Vec<StoredEvent>,
) -> Result<u64> {
    let mut position = first;
    for event in keys::chunk_events(chunk) {
        let (stored_at, bytes) =
            event.map_err(|()| corrupt(position, "event chunk is truncated"))?;
        if (from..=to).contains(&position) && out.len() < limit {
            out.push(decode_event(position, stored_at, bytes)?);
        }
        position += 1;
    }
    if position == first {
        return Err(corrupt(first, "event chunk is empty"));
    }
    Ok(position)
}

/// The event at `position`, which must be stored.
pub(crate) fn event_at<S: Store>(store: &S, position: u64) -> Result<StoredEvent> {
    events(store, position, position, 1)?
        .pop()
        .ok_or_else(|| corrupt(position, "event is missing"))
}
