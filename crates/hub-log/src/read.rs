//! Reads events and index runs out of the store (see [`crate::keys`] for the layout),
//! for the log's readers, the writer and recovery.

use hub_proto::pb::EventRecord;
use hub_types::{Position, Timestamp};
use prost::Message;

use crate::error::{Error, Result};
use crate::keys::{self, Run};
use crate::store::{self, Store};
use crate::StoredEvent;

/// Most entries fetched by one range call while walking chunks or runs.
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

/// Visits the runs with keys in `from..to`, ascending or descending, fetching `page` at a
/// time, until `visit` returns false.
pub(crate) fn visit_runs<S: Store>(
    store: &S,
    mut from: Vec<u8>,
    mut to: Vec<u8>,
    descending: bool,
    page: usize,
    mut visit: impl FnMut(Run) -> Result<bool>,
) -> Result<()> {
    let page = page.clamp(1, PAGE);
    loop {
        let entries = store.range(&from, &to, descending, page)?;
        let full = entries.len() == page;
        for (k, v) in entries {
            let run = Run::decode(&k, &v).ok_or_else(|| corrupt(0, "malformed index run"))?;
            if !visit(run)? {
                return Ok(());
            }
            if descending {
                to = k;
            } else {
                // The smallest key above `k`.
                from = k;
                from.push(0);
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// The run of the index `prefix` (an `S` or `O` prefix) holding number `n`, if any.
pub(crate) fn run_holding<S: Store>(store: &S, prefix: &[u8], n: u64) -> Result<Option<Run>> {
    let upper = match n.checked_add(1) {
        Some(above) => keys::run(prefix, above),
        None => store::prefix_end(prefix),
    };
    let mut found = None;
    visit_runs(store, prefix.to_vec(), upper, true, 1, |run| {
        found = Some(run).filter(|r| r.position_of(n).is_some());
        Ok(false)
    })?;
    Ok(found)
}

/// The last run of the index `prefix`, if any.
pub(crate) fn last_run<S: Store>(store: &S, prefix: &[u8]) -> Result<Option<Run>> {
    let mut found = None;
    visit_runs(
        store,
        prefix.to_vec(),
        store::prefix_end(prefix),
        true,
        1,
        |run| {
            found = Some(run);
            Ok(false)
        },
    )?;
    Ok(found)
}

/// The number of the last event of the index `prefix` at a position up to `head`, if any.
pub(crate) fn last_number<S: Store>(store: &S, prefix: &[u8], head: u64) -> Result<Option<u64>> {
    let mut found = None;
    visit_runs(
        store,
        prefix.to_vec(),
        store::prefix_end(prefix),
        true,
        1,
        |run| {
            if run.position > head {
                // Not yet durable: older runs may be.
                return Ok(true);
            }
            found = Some(run.first + (run.last_position().min(head) - run.position));
            Ok(false)
        },
    )?;
    Ok(found)
}

/// The position of the event numbered `n` in the index `prefix`, if stored.
pub(crate) fn position_of<S: Store>(store: &S, prefix: &[u8], n: u64) -> Result<Option<u64>> {
    Ok(run_holding(store, prefix, n)?.and_then(|run| run.position_of(n)))
}

/// Positions of the events numbered `from` (at least 1) and up in the index `prefix`, at
/// most `limit` and none above `head`, as ascending `(first position, count)` spans.
pub(crate) fn spans_forwards<S: Store>(
    store: &S,
    prefix: &[u8],
    from: u64,
    head: u64,
    limit: usize,
) -> Result<Vec<(u64, u64)>> {
    let from = from.max(1);
    let mut spans = Vec::new();
    if limit == 0 {
        return Ok(spans);
    }
    let mut left = limit as u64;
    // The next number expected; a run starting elsewhere means the index has a hole.
    let mut next = None;
    let mut take = |run: Run, from: u64, spans: &mut Vec<(u64, u64)>| -> Result<bool> {
        if let Some(expected) = next.filter(|n| *n != run.first) {
            return Err(corrupt(
                run.position,
                format!("index run starts at {} instead of {expected}", run.first),
            ));
        }
        next = Some(run.last() + 1);
        let Some(start) = run.position_of(from.max(run.first)) else {
            return Ok(true);
        };
        if start > head {
            return Ok(false);
        }
        let count = (run.last_position().min(head) - start + 1).min(left);
        match spans.last_mut() {
            // Runs at adjacent positions are read in one go.
            Some((first, n)) if *first + *n == start => *n += count,
            _ => spans.push((start, count)),
        }
        left -= count;
        Ok(left > 0 && run.last_position() < head)
    };
    if let Some(run) = run_holding(store, prefix, from)? {
        if !take(run, from, &mut spans)? {
            return Ok(spans);
        }
    }
    let Some(above) = from.checked_add(1) else {
        return Ok(spans);
    };
    visit_runs(
        store,
        keys::run(prefix, above),
        store::prefix_end(prefix),
        false,
        limit,
        |run| take(run, from, &mut spans),
    )?;
    Ok(spans)
}

/// Positions of the events numbered `from` and down (0: from the last) in the index
/// `prefix`, at most `limit` and skipping those above `head`, as `(first position, count)`
/// spans in descending order.
pub(crate) fn spans_backwards<S: Store>(
    store: &S,
    prefix: &[u8],
    from: u64,
    head: u64,
    limit: usize,
) -> Result<Vec<(u64, u64)>> {
    let mut spans = Vec::new();
    let mut left = limit as u64;
    if left == 0 {
        return Ok(spans);
    }
    let upper = match from.checked_add(1) {
        Some(above) if from > 0 => keys::run(prefix, above),
        _ => store::prefix_end(prefix),
    };
    let top = if from == 0 { u64::MAX } else { from };
    visit_runs(store, prefix.to_vec(), upper, true, limit, |run| {
        let Some(end) = run.position_of(top.min(run.last())) else {
            return Ok(true);
        };
        let end = end.min(head);
        if end < run.position {
            // Not yet durable: older runs may be.
            return Ok(true);
        }
        let count = (end - run.position + 1).min(left);
        let start = end + 1 - count;
        match spans.last_mut() {
            // Runs at adjacent positions are read in one go.
            Some((first, n)) if end + 1 == *first => {
                *first = start;
                *n += count;
            }
            _ => spans.push((start, count)),
        }
        left -= count;
        Ok(left > 0)
    })?;
    Ok(spans)
}
