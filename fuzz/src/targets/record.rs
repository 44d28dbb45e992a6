//! Records from other cities and from disk: `EventRecord` decoding, the header parse every
//! record passes ([`Record::parse`]) and the log's ingest checks.

use std::collections::BTreeMap;

use hub_log::{Ingested, Log};
use hub_proto::convert::{event_from_record, record_to_event};
use hub_proto::pb::{self, EventRecord};
use hub_proto::record::{record_hash, Record, ZERO_HASH};
use hub_types::{MemberId, Position};
use prost::Message;

use super::wire::names_a_field;
use crate::fixtures::runtime;

/// One record off the topic: decoded and parsed as the inbox does. A parsed record keeps
/// its raw form and hash through an encode/decode round trip, and what the fold makes of it
/// agrees with its header.
pub fn event_record(data: &[u8]) {
    let Ok(raw) = EventRecord::decode(data) else {
        return;
    };
    let record = match Record::parse(raw.clone()) {
        Ok(r) => r,
        Err(e) => {
            names_a_field(&e, "record");
            // The fold parses the same header (all but the chain link, which it does not
            // need): it must refuse the record too.
            if e.path != "prev_hash" {
                let position = Position::new(1).expect("1 is a position");
                assert!(
                    event_from_record(&raw, position).is_err(),
                    "the fold accepts a record whose header is refused: {e}"
                );
            }
            return;
        }
    };
    assert_eq!(record.raw(), &raw);
    assert_eq!(record.hash(), &record_hash(&raw));
    assert_eq!(record.stream().owner(), record.origin());
    assert_eq!(record.seq().get(), raw.origin_seq);
    assert_eq!(
        record.follows(None),
        raw.origin_seq == 1 && record.prev_hash() == &ZERO_HASH
    );
    let again = EventRecord::decode(raw.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("a re-encoded record does not decode: {e}"));
    let reparsed =
        Record::parse(again).unwrap_or_else(|e| panic!("a re-encoded record does not parse: {e}"));
    assert_eq!(
        reparsed.hash(),
        record.hash(),
        "the hash moved on re-encoding"
    );
    assert_eq!(reparsed, record);

    let position = Position::new(7).expect("7 is a position");
    if let Ok(event) = event_from_record(&raw, position) {
        assert_eq!(event.origin, record.origin());
        assert_eq!(&event.stream, record.stream());
        assert_eq!(event.event_id, record.event_id());
        assert_eq!(event.position, position);
    }
    let wire = record_to_event(&raw, position);
    assert_eq!(wire.position, 7);
    assert_eq!(wire.event_id, raw.event_id);
    let _ = hub_audit::record_leaf_hash(&raw);
}

/// A batch off the topic, ingested into a fresh log (the records of one
/// `ReadRecordsResponse`). Every record the log stores is the next of its origin's chain;
/// the head counts them; ingesting the batch again finds each of them a duplicate.
pub fn ingest(data: &[u8]) {
    let Ok(batch) = pb::ReadRecordsResponse::decode(data) else {
        return;
    };
    let records: Vec<Record> = batch
        .records
        .into_iter()
        .filter_map(|r| Record::parse(r).ok())
        .collect();
    if records.is_empty() {
        return;
    }
    let log = Log::in_memory();
    runtime().block_on(async {
        let results = log
            .ingest(records.clone(), Vec::new())
            .await
            .unwrap_or_else(|e| panic!("an ingest batch failed as a whole: {e}"));
        assert_eq!(results.len(), records.len(), "one result per record");
        let mut stored = 0;
        let mut heads: BTreeMap<MemberId, u64> = BTreeMap::new();
        for (record, result) in records.iter().zip(&results) {
            match result {
                Ok(Ingested::Appended(p)) => {
                    stored += 1;
                    assert_eq!(p.get(), stored, "positions are consecutive");
                    let head = heads.entry(record.origin()).or_default();
                    assert_eq!(record.seq().get(), *head + 1, "stored out of chain order");
                    *head = record.seq().get();
                }
                Ok(Ingested::Duplicate(p)) => assert!(p.get() <= stored),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        assert_eq!(log.head(), stored);
        let read = log
            .read_all(hub_types::Position::FIRST, usize::MAX)
            .unwrap_or_else(|e| panic!("the ingested log does not read: {e}"));
        assert_eq!(read.len() as u64, stored);
        for event in &read {
            let parsed = Record::parse(event.record.clone())
                .unwrap_or_else(|e| panic!("a stored record does not parse: {e}"));
            assert!(records.iter().any(|r| r.hash() == parsed.hash()));
        }
        for (origin, seq) in &heads {
            assert_eq!(log.origin_vector().get(origin).map(|s| s.get()), Some(*seq));
        }
        let again = log
            .ingest(records.clone(), Vec::new())
            .await
            .unwrap_or_else(|e| panic!("a repeated ingest batch failed as a whole: {e}"));
        // What the first pass stored is a duplicate now, at the same position; a record
        // refused for a gap may fit now that the records before it are stored.
        for (result, first) in again.iter().zip(&results) {
            if let Ok(Ingested::Appended(p) | Ingested::Duplicate(p)) = first {
                assert!(
                    matches!(result, Ok(Ingested::Duplicate(q)) if q == p),
                    "a stored record ingested again gives {result:?}, not a duplicate at {p}"
                );
            }
        }
        log.close().await;
    });
}
