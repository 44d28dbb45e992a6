//! Opening a store: find the head, load every origin's chain head, and check the tail.
//!
//! Batches are atomic, so a crash leaves a prefix of the committed groups; anything else
//! (a hole in positions, a broken chain, an index run pointing elsewhere or reaching past
//! the log) means the store was damaged, and the log refuses to serve it, saying what and
//! where.

use std::collections::{BTreeMap, HashMap};

use hub_proto::record::{record_hash, OriginHead, Record};
use hub_types::{MemberId, OriginSeq, StreamId};

use crate::error::Result;
use crate::ids::Ids;
use crate::keys::{self, Run};
use crate::read::{self, corrupt};
use crate::store::{self, Store};
use crate::writer::{extend_runs, push_runs};

/// How many events at the end of the log are fully checked on open.
const TAIL_CHECK: usize = 10_000;

pub(crate) struct Recovered {
    pub(crate) head: u64,
    pub(crate) origins: BTreeMap<MemberId, OriginHead>,
    pub(crate) last_recorded_micros: i64,
}

/// A position an index holds, for a message: the number, or `nothing`.
fn shown(position: Option<u64>) -> String {
    position.map_or_else(|| "nothing".to_owned(), |p| p.to_string())
}

/// Opens the log in `store` and brings the event-id index `ids` up to its head.
pub(crate) fn recover<S: Store>(store: &S, ids: &Ids) -> Result<Recovered> {
    let unindexed = store.take_unindexed()?;
    if !unindexed.is_empty() {
        reindex(store, &unindexed)?;
    }
    let head = read::last_position(store)?;
    // The storage engine may open without a word holding less than it made durable (sled
    // does, when a damaged message cuts its own recovery short): compare with the head
    // recorded outside it.
    if let Some(marked) = store.durable_mark()? {
        if marked > head {
            return Err(corrupt(
                head + 1,
                format!(
                    "events up to position {marked} were made durable, but the store ends at \
                     position {head}: the storage engine lost acknowledged events"
                ),
            ));
        }
    }
    ids.catch_up(store, head)?;

    // The tail: positions must be contiguous up to the head (`read::events` checks that),
    // chains unbroken and every index consistent.
    let tail_from = head.saturating_sub(TAIL_CHECK as u64 - 1).max(1);
    let tail = read::events(store, tail_from, head, TAIL_CHECK)?;
    if tail.len() as u64 != (head + 1).saturating_sub(tail_from) {
        return Err(corrupt(head, "the tail of the log is incomplete"));
    }
    let mut last_recorded_micros = 0;
    let mut chain: BTreeMap<MemberId, OriginHead> = BTreeMap::new();
    // Each stream's and origin's (number, position) pairs in the tail, in order.
    let mut streams: HashMap<StreamId, Vec<(u64, u64)>> = HashMap::new();
    let mut origin_events: HashMap<MemberId, Vec<(u64, u64)>> = HashMap::new();
    for event in tail {
        let pos = event.position.get();
        let record = Record::parse(event.record).map_err(|e| corrupt(pos, e.to_string()))?;
        let origin = record.origin();
        let seq = record.seq();
        let indexed = ids.get(&record.event_id());
        if indexed != Some(pos) {
            return Err(corrupt(
                pos,
                format!(
                    "the event-id index points at {} instead of this event",
                    shown(indexed)
                ),
            ));
        }
        let prev = match chain.get(&origin) {
            Some(prev) => Some(*prev),
            None if seq == OriginSeq::FIRST => None,
            None => Some(previous_in_origin(store, origin, seq)?),
        };
        let next = OriginHead::next_seq(prev.as_ref());
        if seq != next {
            return Err(corrupt(
                pos,
                format!(
                    "origin {origin} jumps from sequence {} to {seq}",
                    next.get() - 1
                ),
            ));
        }
        if !record.follows(prev.as_ref()) {
            return Err(corrupt(
                pos,
                format!("origin {origin} sequence {seq}: prev_hash breaks the chain"),
            ));
        }
        chain.insert(origin, record.head());
        streams
            .entry(record.stream().clone())
            .or_default()
            .push((record.raw().stream_version, pos));
        origin_events
            .entry(origin)
            .or_default()
            .push((seq.get(), pos));
        last_recorded_micros = last_recorded_micros.max(event.stored_at.0);
    }
    for (stream, events) in &streams {
        let what = format!("stream {stream}");
        check_index(store, &keys::stream_prefix(stream), &what, events)?;
    }
    for (origin, events) in &origin_events {
        let what = format!("origin {origin}");
        check_index(store, &keys::origin_prefix(*origin), &what, events)?;
    }

    // Every origin's head: the end of the last run of its origin index.
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
        let run =
            read::last_run(store, &prefix)?.ok_or_else(|| corrupt(0, "origin index vanished"))?;
        let (seq, pos) = (run.last(), run.last_position());
        if pos > head {
            return Err(corrupt(
                pos,
                format!("origin {origin} head lies beyond the log head {head}"),
            ));
        }
        let record = read::event_at(store, pos)?.record;
        if record.origin_seq != seq || record.origin != origin.to_string() {
            return Err(corrupt(
                pos,
                format!("origin {origin} index disagrees with the event"),
            ));
        }
        let seq = OriginSeq::new(seq).map_err(|e| corrupt(pos, format!("origin {origin}: {e}")))?;
        origins.insert(
            origin,
            OriginHead {
                seq,
                hash: record_hash(&record),
            },
        );
        cursor = store::prefix_end(&prefix);
    }
    for (origin, OriginHead { seq, .. }) in &chain {
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

/// Writes the indexes of chunks the store holds but lost the indexes of (see
/// [`Store::take_unindexed`]): the runs of each event's stream and origin, as the writer
/// would have; then makes them durable. (Their ids reach the event-id index as it catches
/// up with the log.)
fn reindex<S: Store>(store: &S, chunks: &[(u64, Vec<u8>)]) -> Result<()> {
    let mut writes = Vec::new();
    let mut streams: HashMap<StreamId, Vec<Run>> = HashMap::new();
    let mut origins: HashMap<MemberId, Vec<Run>> = HashMap::new();
    let mut events = 0;
    for (first, chunk) in chunks {
        for (i, event) in keys::chunk_events(chunk).enumerate() {
            let pos = first + i as u64;
            let (_, bytes) = event.map_err(|()| corrupt(pos, "event chunk is truncated"))?;
            let record = Record::parse(read::decode_record(pos, bytes)?)
                .map_err(|e| corrupt(pos, e.to_string()))?;
            let version = record.raw().stream_version;
            extend_runs(
                streams.entry(record.stream().clone()).or_default(),
                version,
                pos,
            );
            extend_runs(
                origins.entry(record.origin()).or_default(),
                record.seq().get(),
                pos,
            );
            events += 1;
        }
    }
    push_runs(&mut writes, streams, origins);
    store.apply(writes)?;
    store.checkpoint()?;
    tracing::info!(
        events,
        from = chunks.first().map_or(0, |c| c.0),
        "rebuilt the indexes of events made durable before the last stop"
    );
    Ok(())
}

/// Checks that the index runs under `prefix` map exactly the tail's `events` (ascending
/// `(number, position)` pairs of one stream or origin) to their positions: from the run
/// holding the first one, runs must follow each other without holes or overlaps, place
/// every event where it is, and end with the last one.
fn check_index<S: Store>(
    store: &S,
    prefix: &[u8],
    what: &str,
    events: &[(u64, u64)],
) -> Result<()> {
    let (Some(&(first, first_pos)), Some(&(last, last_pos))) = (events.first(), events.last())
    else {
        return Ok(());
    };
    let run = read::run_holding(store, prefix, first)?.ok_or_else(|| {
        corrupt(
            first_pos,
            format!("{what} index has no run holding {first}"),
        )
    })?;
    let mut runs = vec![run];
    read::visit_runs(
        store,
        keys::run(prefix, run.first),
        store::prefix_end(prefix),
        false,
        usize::MAX,
        |next: Run| {
            if next.first != run.first {
                runs.push(next);
            }
            Ok(true)
        },
    )?;
    let mut at = 0;
    for &(n, pos) in events {
        while runs[at].last() < n {
            let next = runs
                .get(at + 1)
                .ok_or_else(|| corrupt(pos, format!("{what} index has no run holding {n}")))?;
            if next.first != runs[at].last() + 1 {
                return Err(corrupt(
                    pos,
                    format!(
                        "{what} index runs leave a hole or overlap after {}",
                        runs[at].last()
                    ),
                ));
            }
            at += 1;
        }
        let found = runs[at].position_of(n);
        if found != Some(pos) {
            return Err(corrupt(
                pos,
                format!(
                    "{what} index points {n} at {} instead of this event",
                    shown(found)
                ),
            ));
        }
    }
    if at + 1 != runs.len() || runs[at].last() != last {
        return Err(corrupt(
            last_pos,
            format!("{what} index reaches beyond the log's last event {last}"),
        ));
    }
    Ok(())
}

/// The head of `origin` just before `seq`, for checking the first tail event of an
/// origin against the part of the log not re-checked.
fn previous_in_origin<S: Store>(store: &S, origin: MemberId, seq: OriginSeq) -> Result<OriginHead> {
    let before = seq.get() - 1;
    let Some(pos) = read::position_of(store, &keys::origin_prefix(origin), before)? else {
        return Err(corrupt(
            0,
            format!("origin {origin} sequence {before} is missing"),
        ));
    };
    let record = Record::parse(read::event_at(store, pos)?.record)
        .map_err(|e| corrupt(pos, e.to_string()))?;
    Ok(record.head())
}

#[cfg(test)]
mod tests {
    use hub_types::ExpectedVersion;

    use super::*;
    use crate::conformance::{demand_event, stream};
    use crate::store::{Entry, MemStore};
    use crate::Log;

    /// The entries of a log with two origins, several streams and appends of many events.
    async fn sample_entries() -> Vec<Entry> {
        let log = Log::in_memory();
        let a = stream("330400", "a");
        let b = stream("310000", "b");
        for round in 0..3 {
            log.append(
                &a,
                ExpectedVersion::Any,
                (0..60).map(|i| demand_event(&a, i)).collect(),
            )
            .await
            .expect("append a");
            log.append(&b, ExpectedVersion::Any, vec![demand_event(&b, round)])
                .await
                .expect("append b");
        }
        log.close().await;
        log.shared
            .store
            .range(&[], &[u8::MAX], false, usize::MAX)
            .expect("read store")
    }

    fn store_of(entries: Vec<Entry>) -> MemStore {
        let store = MemStore::default();
        store.apply(entries).expect("apply");
        store
    }

    fn recover_err(entries: Vec<Entry>) -> String {
        match recover(&store_of(entries), &Ids::in_memory()) {
            Ok(r) => panic!("recovered a damaged store up to {}", r.head),
            Err(e) => e.to_string(),
        }
    }

    fn with_tag(entries: &[Entry], tag: u8) -> Vec<usize> {
        (0..entries.len())
            .filter(|i| entries[*i].0[0] == tag)
            .collect()
    }

    #[tokio::test]
    async fn an_intact_store_recovers_its_head_and_origins() {
        let entries = sample_entries().await;
        assert!(
            with_tag(&entries, keys::EVENT).len() > 6,
            "large appends fill several chunks"
        );
        let recovered = recover(&store_of(entries), &Ids::in_memory()).expect("recover");
        assert_eq!(recovered.head, 183);
        let seqs: Vec<u64> = recovered.origins.values().map(|h| h.seq.get()).collect();
        assert_eq!(seqs, vec![3, 180]);
    }

    #[tokio::test]
    async fn a_missing_chunk_is_a_hole_in_positions() {
        let mut entries = sample_entries().await;
        let chunks = with_tag(&entries, keys::EVENT);
        entries.remove(chunks[chunks.len() - 3]);
        let err = recover_err(entries);
        assert!(err.contains("not contiguous"), "{err}");
    }

    #[tokio::test]
    async fn missing_or_misplaced_index_entries_are_found() {
        let entries = sample_entries().await;
        for tag in [keys::STREAM, keys::ORIGIN] {
            let index = with_tag(&entries, tag);
            let mut missing = entries.clone();
            missing.remove(index[index.len() - 1]);
            let err = recover_err(missing);
            assert!(err.contains("index"), "{err}");
            assert!(!err.contains("None") && !err.contains("Some("), "{err}");

            let mut misplaced = entries.clone();
            let (_, value) = &mut misplaced[index[index.len() - 1]];
            let position = u64::from_be_bytes(value[..8].try_into().expect("8 bytes"));
            value[..8].copy_from_slice(&(position - 1).to_be_bytes());
            let err = recover_err(misplaced);
            assert!(err.contains("index"), "{err}");
            assert!(!err.contains("None") && !err.contains("Some("), "{err}");
        }
    }

    #[tokio::test]
    async fn an_event_id_index_that_disagrees_with_the_log_is_found() {
        let store = store_of(sample_entries().await);
        let head = read::last_position(&store).expect("head");
        let mut ids: Vec<hub_types::EventId> = read::events(&store, 1, head, usize::MAX)
            .expect("events")
            .iter()
            .map(|e| e.record.event_id.parse().expect("id"))
            .collect();
        let last = ids.len() - 1;
        ids.swap(last - 1, last);
        let index = Ids::in_memory();
        index.add(1, &ids);
        let err = match recover(&store, &index) {
            Ok(_) => panic!("recovered with ids at the wrong positions"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(&format!(
                "event-id index points at {head} instead of this event"
            )),
            "{err}"
        );

        let index = Ids::in_memory();
        index.add(1, &ids[..last - 1]);
        recover(&store, &index).expect("an index short of the head catches up");
        assert_eq!(index.get(&ids[last]), Some(head - 1), "read from the log");
    }

    #[tokio::test]
    async fn an_index_run_beyond_the_log_is_found() {
        let mut entries = sample_entries().await;
        let runs = with_tag(&entries, keys::STREAM);
        let (key, value) = &mut entries[runs[runs.len() - 1]];
        let mut run = Run::decode(key, value).expect("a run");
        run.count += 1;
        *value = run.value();
        let err = recover_err(entries);
        assert!(err.contains("beyond"), "{err}");
    }

    #[tokio::test]
    async fn a_broken_chain_is_found() {
        let mut entries = sample_entries().await;
        let chunks = with_tag(&entries, keys::EVENT);
        let (_, value) = &mut entries[chunks[chunks.len() - 2]];
        let mut rewritten = Vec::new();
        for (i, event) in keys::chunk_events(value).enumerate() {
            let (stored_at, bytes) = event.expect("intact chunk");
            let mut record = read::decode_record(0, bytes).expect("record");
            if i == 1 {
                record.prev_hash = vec![7; 32];
            }
            keys::push_event(
                &mut rewritten,
                stored_at,
                &prost::Message::encode_to_vec(&record),
            );
        }
        *value = rewritten;
        let err = recover_err(entries);
        assert!(err.contains("breaks the chain"), "{err}");
    }
}
