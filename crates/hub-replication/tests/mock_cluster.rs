//! The replication tasks against librdkafka's in-process mock cluster: the batch signature
//! rule, where consumed offsets may be stored, and key tombstones.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use hub_audit::SigningKey;
use hub_log::vault::Vault;
use hub_log::{ChainSigner, Log};
use hub_proto::pb::EventRecord;
use hub_replication::{KafkaConfig, KeySharing, Replication};
use hub_types::roster::{Member, Roster};
use hub_types::{ExpectedVersion, MemberId, OriginSeq, StreamId};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message as _};

const TOPIC: &str = "talenthub.events.v1";
const KEYS_TOPIC: &str = "talenthub.events.v1.keys";
/// The foreign city whose records the tests produce.
const SUZHOU: &str = "320500";
/// The city of the node under test.
const JIAXING: &str = "330400";

struct Signer(BTreeMap<MemberId, SigningKey>);

impl ChainSigner for Signer {
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &[u8; 32]) -> Option<Vec<u8>> {
        let key = self.0.get(&origin)?;
        hub_audit::sign_chain_head(key, &origin.to_string(), seq.get(), record_hash)
            .ok()
            .map(|s| s.to_vec())
    }
}

fn member(code: &str) -> MemberId {
    code.parse().expect("member code")
}

/// Keys for both cities, and the roster naming them.
fn alliance() -> (BTreeMap<MemberId, SigningKey>, Roster) {
    let keys: BTreeMap<MemberId, SigningKey> = [SUZHOU, JIAXING, "310000"]
        .into_iter()
        .map(|c| (member(c), hub_audit::generate()))
        .collect();
    let roster = Roster::new(
        keys.iter()
            .map(|(code, key)| Member {
                code: *code,
                name: format!("city {code}"),
                public_key: hub_audit::public_key_hex(&key.verifying_key()),
            })
            .collect(),
    )
    .expect("roster");
    (keys, roster)
}

fn cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    // One partition: offsets are the order of production.
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    cluster.create_topic(KEYS_TOPIC, 1, 1).expect("keys topic");
    cluster
}

fn kafka(brokers: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.into(),
        topic: TOPIC.into(),
        group: String::new(),
        keys_topic: String::new(),
        properties: BTreeMap::new(),
        max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
        max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
    }
}

/// Suzhou's records of one append of three events to one stream: only the last is signed,
/// vouching for the two before it through the hash chain.
async fn one_batch_of_three(keys: &BTreeMap<MemberId, SigningKey>) -> Vec<EventRecord> {
    one_batch(keys, 3).await
}

/// Suzhou's records of one append of `n` events to one stream.
async fn one_batch(keys: &BTreeMap<MemberId, SigningKey>, n: u32) -> Vec<EventRecord> {
    let signer = Signer([(member(SUZHOU), keys[&member(SUZHOU)].clone())].into());
    let log = Log::in_memory_signed(Arc::new(signer));
    let stream: StreamId = format!("demand/{SUZHOU}/batch").parse().expect("stream");
    let events = (1..=n)
        .map(|n| hub_log::conformance::demand_event(&stream, n))
        .collect();
    log.append(&stream, ExpectedVersion::Any, events)
        .await
        .expect("append");
    let records: Vec<EventRecord> = log
        .read_all(hub_types::Position::FIRST, n as usize)
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect();
    let (last, before) = records.split_last().expect("a batch");
    assert!(
        before.iter().all(|r| r.signature.is_empty()),
        "the records of a batch before its last are unsigned"
    );
    assert!(
        !last.signature.is_empty(),
        "the batch's last record is signed"
    );
    records
}

/// Suzhou's records of two appends of two events each to one stream, one after the other.
async fn two_batches(
    keys: &BTreeMap<MemberId, SigningKey>,
) -> (Vec<EventRecord>, Vec<EventRecord>) {
    let signer = Signer([(member(SUZHOU), keys[&member(SUZHOU)].clone())].into());
    let log = Log::in_memory_signed(Arc::new(signer));
    let stream: StreamId = format!("demand/{SUZHOU}/two").parse().expect("stream");
    for batch in 0..2 {
        let events = (1..=2)
            .map(|n| hub_log::conformance::demand_event(&stream, batch * 2 + n))
            .collect();
        log.append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("append");
    }
    let mut records: Vec<EventRecord> = log
        .read_all(hub_types::Position::FIRST, 4)
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect();
    let second = records.split_off(2);
    (records, second)
}

async fn produce(brokers: &str, topic: &str, key: &str, payload: Option<&[u8]>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    let mut record = FutureRecord::<str, [u8]>::to(topic).key(key);
    if let Some(p) = payload {
        record = record.payload(p);
    }
    producer
        .send(record, Duration::from_secs(5))
        .await
        .expect("delivered");
}

/// The node under test: Jiaxing, on a sled log in `dir`.
fn node_log(dir: &std::path::Path, keys: &BTreeMap<MemberId, SigningKey>) -> Log {
    let signer = Signer([(member(JIAXING), keys[&member(JIAXING)].clone())].into());
    Log::open_signed(dir.join("log"), Arc::new(signer)).expect("log")
}

fn start(brokers: &str, log: &Log, roster: &Roster, keys: Option<KeySharing>) -> Replication {
    start_with(kafka(brokers), log, roster, keys)
}

fn start_with(
    config: KafkaConfig,
    log: &Log,
    roster: &Roster,
    keys: Option<KeySharing>,
) -> Replication {
    Replication::start(
        &config,
        log.clone(),
        BTreeSet::from([member(JIAXING)]),
        roster.clone(),
        keys,
    )
    .expect("replication starts")
}

/// Waits until `check` holds, for up to 30 s.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn seen(r: &Replication, origin: &str) -> u64 {
    r.status()
        .origins
        .get(&member(origin))
        .map_or(0, |o| o.seen_seq)
}

fn stored_offset(log: &Log) -> Option<i64> {
    log.meta(format!("replication/offset/{TOPIC}/00000").as_bytes())
        .expect("meta")
        .map(|v| i64::from_be_bytes(v.as_slice().try_into().expect("8 bytes")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_records_of_a_batch_wait_for_their_signature_then_apply_together() {
    let (keys, roster) = alliance();
    let records = one_batch_of_three(&keys).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);
    let replication = start(&brokers, &log, &roster, None);

    for r in &records[..2] {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("the two unsigned records are consumed", || {
        seen(&replication, SUZHOU) == 2
    })
    .await;
    assert_eq!(
        log.head(),
        0,
        "no unsigned record applies before its signature"
    );
    assert_eq!(
        replication.status().quarantined,
        0,
        "waiting is not quarantine"
    );
    assert!(
        stored_offset(&log).unwrap_or(0) <= 0,
        "the stored offset stays at the first waiting record: {:?}",
        stored_offset(&log)
    );

    produce(&brokers, TOPIC, SUZHOU, Some(&records[2].encode_to_vec())).await;
    until("the batch applies", || log.head() == 3).await;
    assert_eq!(
        log.origin_vector().get(&member(SUZHOU)),
        Some(&hub_types::OriginSeq::new(3).expect("seq"))
    );
    until("the offset moves past the batch", || {
        stored_offset(&log) == Some(3)
    })
    .await;
    replication.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_unsigned_records_and_their_signature_reads_them_again() {
    let (keys, roster) = alliance();
    let records = one_batch_of_three(&keys).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);

    let replication = start(&brokers, &log, &roster, None);
    for r in &records[..2] {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("the two unsigned records are consumed", || {
        seen(&replication, SUZHOU) == 2
    })
    .await;
    // The node stops here: what it remembers of the two records is only the offset.
    replication.stop().await;
    assert!(
        stored_offset(&log).unwrap_or(0) <= 0,
        "{:?}",
        stored_offset(&log)
    );

    produce(&brokers, TOPIC, SUZHOU, Some(&records[2].encode_to_vec())).await;
    let replication = start(&brokers, &log, &roster, None);
    until("the whole batch applies after the restart", || {
        log.head() == 3
    })
    .await;
    assert_eq!(
        replication.status().quarantined,
        0,
        "nothing was taken for a gap"
    );
    replication.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroying_an_entry_key_writes_a_tombstone_to_the_keys_topic() {
    let (keys, roster) = alliance();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);
    let vault = Arc::new(Vault::open(dir.path().join("keys")).expect("vault"));
    let sharing = KeySharing {
        vault: vault.clone(),
        wrap_key: zeroize::Zeroizing::new([7; 32]),
        signers: [(member(JIAXING), keys[&member(JIAXING)].clone())].into(),
    };
    let replication = start(&brokers, &log, &roster, Some(sharing));
    let stream: StreamId = format!("blacklist/{JIAXING}/e-1").parse().expect("stream");
    vault.get_or_create(&stream).expect("key");

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "scan")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[KEYS_TOPIC]).expect("subscribe");
    let next = |what: &str| -> (String, Option<Vec<u8>>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                return (key, m.payload().map(<[u8]>::to_vec));
            }
        }
    };
    let (key, payload) = next("the wrapped key");
    assert_eq!(key, stream.to_string());
    assert!(
        payload.is_some_and(|p| !p.is_empty()),
        "the key itself comes first"
    );

    vault.destroy(&stream).expect("destroy");
    // The key may be shared twice (at start and when created); then comes its tombstone.
    loop {
        let (key, payload) = next("the tombstone");
        assert_eq!(key, stream.to_string());
        if payload.is_none() {
            break;
        }
    }
    replication.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_records_past_the_bound_are_quarantined_oldest_first() {
    let (keys, roster) = alliance();
    let records = one_batch(&keys, 5).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);
    let mut config = kafka(&brokers);
    config.max_unsigned_per_origin = 2;
    let replication = start_with(config, &log, &roster, None);

    for r in &records[..4] {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("four unsigned records are consumed", || {
        seen(&replication, SUZHOU) == 4
    })
    .await;
    until("the two oldest are quarantined", || {
        replication.status().quarantined == 2
    })
    .await;
    let reason = replication.status().last_quarantine.unwrap_or_default();
    assert!(
        reason.contains("seq 2: more than 2 unsigned records waited for a signature"),
        "{reason}"
    );
    assert_eq!(log.head(), 0, "nothing unsigned applies");
    replication.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quarantine_drops_and_counts_while_honest_records_flow() {
    let (keys, roster) = alliance();
    let records = one_batch_of_three(&keys).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);
    let mut config = kafka(&brokers);
    config.max_quarantined = 3;
    let replication = start_with(config.clone(), &log, &roster, None);

    for n in 0..5 {
        let junk = format!("not a record {n}");
        produce(&brokers, TOPIC, SUZHOU, Some(junk.as_bytes())).await;
    }
    for r in &records {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("the honest batch applies", || log.head() == 3).await;
    until("the quarantine is full and counts the rest", || {
        let s = replication.status();
        (s.quarantined, s.quarantine_dropped) == (3, 2)
    })
    .await;
    let stored = log
        .meta_with_prefix(b"replication/quarantine/")
        .expect("meta")
        .len();
    assert_eq!(stored, 3, "the quarantine stores no more than its bound");
    replication.stop().await;

    let replication = start_with(config, &log, &roster, None);
    until("a restart finds the same quarantine", || {
        replication.status().quarantined == 3
    })
    .await;
    replication.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_records_apply_once_their_predecessors_arrive_and_leave_no_entry() {
    let (keys, roster) = alliance();
    let (first, second) = two_batches(&keys).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = node_log(dir.path(), &keys);
    let replication = start(&brokers, &log, &roster, None);
    let quarantine = || {
        log.meta_with_prefix(b"replication/quarantine/")
            .expect("meta")
            .len()
    };

    // The second batch first: it does not link to anything stored, so it waits in the
    // quarantine.
    for r in &second {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("the second batch is quarantined", || {
        replication.status().quarantined == 2
    })
    .await;
    assert_eq!(quarantine(), 2);
    assert_eq!(log.head(), 0);

    // Its predecessors arrive: both batches apply, and the quarantine is left empty.
    for r in &first {
        produce(&brokers, TOPIC, SUZHOU, Some(&r.encode_to_vec())).await;
    }
    until("both batches apply", || log.head() == 4).await;
    until("the quarantine counts none", || {
        replication.status().quarantined == 0
    })
    .await;
    assert_eq!(quarantine(), 0, "resolved entries are removed, not kept");
    replication.stop().await;
}
