//! Which records carry their origin's chain-head signature: the newest of each origin in
//! every commit, and one in every 1 000 unsigned records of an origin in a row
//! (`writer.rs` `MAX_UNSIGNED_RUN`), so that appends committed together share one signature
//! and a replicating node never holds a long run of records no signature vouches for.

mod support;

use std::sync::{Arc, Mutex};

use hub_log::conformance::{demand_event, stream};
use hub_log::{ChainSigner, Log, StoredEvent};
use hub_proto::record::{record_hash, Hash};
use hub_types::{ExpectedVersion, MemberId, OriginSeq, Position};
use support::{queue, Plugged};

/// A signer whose signature names what it signed, and which counts its calls.
#[derive(Default)]
struct Naming {
    calls: Mutex<usize>,
}

fn signature_of(origin: MemberId, seq: u64, hash: &Hash) -> Vec<u8> {
    let mut signature = origin.to_string().into_bytes();
    signature.extend_from_slice(&seq.to_be_bytes());
    signature.extend_from_slice(hash);
    signature.resize(64, 0);
    signature
}

impl ChainSigner for Naming {
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &Hash) -> Option<Vec<u8>> {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        (origin.to_string() != "330100").then(|| signature_of(origin, seq.get(), record_hash))
    }
}

fn read_everything(log: &Log) -> Vec<StoredEvent> {
    let mut all = Vec::new();
    let mut from = Position::FIRST;
    loop {
        let page = log.read_all(from, 5_000).expect("read");
        let Some(last) = page.last() else { break };
        from = Position::at_least_first(last.position.get() + 1);
        all.extend(page);
    }
    all
}

#[tokio::test]
async fn appends_committed_together_share_one_signature_per_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = Arc::new(Naming::default());
    let log = Log::open_signed(dir.path(), signer.clone()).expect("open");
    let plugged = Plugged::new(&log, "310000").await;

    // Behind the plug: single events of two cities interleaved, then one city's long run
    // across three appends, then a city whose key this node does not hold.
    let mut queued = Vec::new();
    for i in 0..10 {
        queued.push(queue(&log, "310000", &format!("single-{i}"), 1));
        queued.push(queue(&log, "320100", &format!("single-{i}"), 1));
    }
    for i in 0..3 {
        queued.push(queue(&log, "320200", &format!("long-{i}"), 1_000));
    }
    queued.push(queue(&log, "330100", "keyless", 5));
    let plug = plugged.release().await;
    for append in queued {
        append.await.expect("appended");
    }
    assert_eq!(
        plug.sizes(),
        [1, 20 + 3_000 + 5],
        "the queued appends commit together"
    );

    let records = read_everything(&log);
    let signed: Vec<(String, u64)> = records
        .iter()
        .filter(|e| !e.record.signature.is_empty())
        .map(|e| (e.record.origin.clone(), e.position.get()))
        .collect();
    // Positions: 1 the plug; 2..=21 the single events (310000 at even positions, 320100
    // at odd ones); 22..=3021 the long run of 320200; 3022..=3026 the keyless city.
    let expected: Vec<(String, u64)> = [
        ("310000", 1),
        ("310000", 20),
        ("320100", 21),
        ("320200", 1_021),
        ("320200", 2_021),
        ("320200", 3_021),
    ]
    .into_iter()
    .map(|(o, p)| (o.to_string(), p))
    .collect();
    assert_eq!(
        signed, expected,
        "each origin's newest record in each commit, and every 1 000th of a run, is signed"
    );
    for e in records.iter().filter(|e| !e.record.signature.is_empty()) {
        let origin: MemberId = e.record.origin.parse().expect("origin");
        assert_eq!(
            e.record.signature,
            signature_of(origin, e.record.origin_seq, &record_hash(&e.record)),
            "position {} carries the signature over its own chain head",
            e.position
        );
    }
    // One call for the plug, five for the queued group (two single-event cities, three
    // signatures in the long run), one for the keyless city: not one per append.
    assert_eq!(*signer.calls.lock().unwrap_or_else(|e| e.into_inner()), 7);
    log.close().await;
}

#[tokio::test]
async fn an_append_alone_in_its_commit_is_signed_on_its_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open_signed(dir.path(), Arc::new(Naming::default())).expect("open");
    let s = stream("310000", "alone");
    for _ in 0..3 {
        let events = (0..4).map(|_| demand_event(&s, 1)).collect();
        log.append(&s, ExpectedVersion::Any, events)
            .await
            .expect("appended");
    }
    let signed: Vec<u64> = read_everything(&log)
        .iter()
        .filter(|e| !e.record.signature.is_empty())
        .map(|e| e.position.get())
        .collect();
    assert_eq!(signed, [4, 8, 12]);
    log.close().await;
}
