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
use crate::read::{self, corrupt};
use crate::runs::{self, Key, Run};
use crate::store::Store;
use crate::Indexes;

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

/// Opens the log in `store` and brings the `indexes` up to its head.
pub(crate) fn recover<S: Store>(store: &S, indexes: &Indexes) -> Result<Recovered> {
    let unindexed = store.take_unindexed()?;
    if let Some((first, _)) = unindexed.first() {
        // Where the chunks lie is written with the next batch: write it now. (Their ids,
        // versions and sequences reach the indexes as they catch up with the log.)
        store.apply(Vec::new())?;
        store.checkpoint()?;
        tracing::info!(
            from = first,
            chunks = unindexed.len(),
            "indexed the chunks of events made durable before the last stop"
        );
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
    let (ids, runs) = (&indexes.ids, &indexes.runs);
    ids.catch_up(store, head)?;
    runs.catch_up(store, head)?;

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
            None => Some(previous_in_origin(store, runs, origin, seq)?),
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
        runs.with(Key::Stream(stream), |r| check_index(r, &what, events))?;
    }
    for (origin, events) in &origin_events {
        let what = format!("origin {origin}");
        runs.with(Key::Origin(*origin), |r| check_index(r, &what, events))?;
    }

    // Every origin's head: the end of the last run of its origin index.
    let mut origins = BTreeMap::new();
    for (origin, run) in runs.origin_heads() {
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

/// Checks that the index `runs` (of one stream or origin) map exactly the tail's `events`
/// (ascending `(number, position)` pairs) to their positions, and end with the last one.
fn check_index(runs: &[Run], what: &str, events: &[(u64, u64)]) -> Result<()> {
    for &(n, pos) in events {
        let found = runs::position_of(runs, n);
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
    match (events.last(), runs.last()) {
        (Some(&(last, pos)), Some(run)) if run.last() > last => Err(corrupt(
            pos,
            format!("{what} index reaches beyond the log's last event {last}"),
        )),
        _ => Ok(()),
    }
}

/// The head of `origin` just before `seq`, for checking the first tail event of an
/// origin against the part of the log not re-checked.
fn previous_in_origin<S: Store>(
    store: &S,
    runs: &runs::Runs,
    origin: MemberId,
    seq: OriginSeq,
) -> Result<OriginHead> {
    let before = seq.get() - 1;
    let Some(pos) = runs.with(Key::Origin(origin), |r| runs::position_of(r, before)) else {
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
    use crate::keys;
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
        match recover(&store_of(entries), &Indexes::in_memory()) {
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
        let recovered = recover(&store_of(entries), &Indexes::in_memory()).expect("recover");
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

    /// What the stream and origin indexes say of each position, from the log in `store`.
    type Indexed = (StreamId, u64, MemberId, u64);

    fn indexed(store: &MemStore) -> Vec<Indexed> {
        let head = read::last_position(store).expect("head");
        read::events(store, 1, head, usize::MAX)
            .expect("events")
            .iter()
            .map(|e| {
                let r = &e.record;
                let stream = r.stream.parse().expect("stream");
                let origin = r.origin.parse().expect("origin");
                (stream, r.stream_version, origin, r.origin_seq)
            })
            .collect()
    }

    /// Indexes whose runs say what `entries` say, position after position.
    fn indexes_of(entries: &[Indexed]) -> Indexes {
        let mut added = runs::Added::default();
        for (i, (stream, version, origin, seq)) in entries.iter().enumerate() {
            added.push(stream, *version, *origin, *seq, i as u64 + 1);
        }
        let indexes = Indexes::in_memory();
        assert_eq!(indexes.runs.add(1, entries.len() as u64, &added), Ok(()));
        indexes
    }

    #[tokio::test]
    async fn stream_and_origin_runs_that_disagree_with_the_log_are_found() {
        let store = store_of(sample_entries().await);
        let entries = indexed(&store);
        recover(&store, &indexes_of(&entries)).expect("the index of the log itself");
        let last = entries.len() - 1;

        // The last two events' places swapped: a stream of each origin.
        let mut swapped = entries.clone();
        swapped.swap(last - 1, last);
        // The last event indexed as one more of the other stream and origin.
        let mut moved = entries.clone();
        let (stream, version, origin, seq) = entries[last - 1].clone();
        moved[last] = (stream, version + 1, origin, seq + 1);
        for wrong in [swapped, moved] {
            let err = match recover(&store, &indexes_of(&wrong)) {
                Ok(_) => panic!("recovered with runs at the wrong positions"),
                Err(e) => e.to_string(),
            };
            assert!(err.contains("index"), "{err}");
            assert!(err.contains("position 18"), "{err}");
            assert!(!err.contains("None") && !err.contains("Some("), "{err}");
        }
    }

    #[tokio::test]
    async fn runs_beyond_the_log_are_read_again_from_it() {
        let mut entries = sample_entries().await;
        let full = indexed(&store_of(entries.clone()));
        let chunks = with_tag(&entries, keys::EVENT);
        entries.remove(chunks[chunks.len() - 1]);
        let store = store_of(entries);
        let indexes = indexes_of(&full);
        let recovered = recover(&store, &indexes).expect("recover");
        assert_eq!(recovered.head, 182);
        assert_eq!(indexes.runs.through(), 182);
        let b = stream("310000", "b");
        let version = indexes
            .runs
            .with(Key::Stream(&b), |r| runs::last_number(r, u64::MAX));
        assert_eq!(version, Some(2), "the lost event is no longer indexed");
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
        let index = Indexes::in_memory();
        index.ids.add(1, &ids);
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

        let index = Indexes::in_memory();
        index.ids.add(1, &ids[..last - 1]);
        recover(&store, &index).expect("an index short of the head catches up");
        assert_eq!(
            index.ids.get(&ids[last]),
            Some(head - 1),
            "read from the log"
        );
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
