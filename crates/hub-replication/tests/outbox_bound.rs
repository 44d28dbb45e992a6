//! The outbox's bound on deliveries in flight, against librdkafka's in-process mock cluster:
//! a producer queue far smaller than one outbox step (1 000 events) fills on every step, the
//! outbox waits for the oldest delivery, and every event still reaches the topic once, in
//! order; what is not yet delivered stays in the log and goes out after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use hub_audit::SigningKey;
use hub_log::{ChainSigner, Log};
use hub_proto::pb::EventRecord;
use hub_replication::{KafkaConfig, Replication};
use hub_types::roster::{Member, Roster};
use hub_types::{ExpectedVersion, MemberId, OriginSeq, StreamId};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Message as _};

const TOPIC: &str = "talenthub.events.v1";
/// The city of the node under test, whose own events the outbox produces.
const JIAXING: &str = "330400";
/// Messages librdkafka's producer queue holds: a hundredth of one outbox step.
const QUEUE: &str = "10";
/// Own events the tests produce: five outbox steps, five hundred times the queue.
const EVENTS: u32 = 5_000;

struct Signer(MemberId, SigningKey);

impl ChainSigner for Signer {
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &[u8; 32]) -> Option<Vec<u8>> {
        if origin != self.0 {
            return None;
        }
        hub_audit::sign_chain_head(&self.1, &origin.to_string(), seq.get(), record_hash)
            .ok()
            .map(|s| s.to_vec())
    }
}

fn jiaxing() -> MemberId {
    JIAXING.parse().expect("member code")
}

/// The node under test on a sled log in `dir`, and a roster naming it.
fn node(dir: &std::path::Path) -> (Log, Roster) {
    let key = hub_audit::generate();
    let roster = Roster::new(vec![Member {
        code: jiaxing(),
        name: "Jiaxing".into(),
        public_key: hub_audit::public_key_hex(&key.verifying_key()),
    }])
    .expect("roster");
    let log = Log::open_signed(dir.join("log"), Arc::new(Signer(jiaxing(), key))).expect("log");
    (log, roster)
}

/// Appends `n` own events in appends of at most 1 000.
async fn append_own(log: &Log, n: u32) {
    let stream: StreamId = format!("demand/{JIAXING}/bound").parse().expect("stream");
    let mut left = n;
    while left > 0 {
        let take = left.min(1_000);
        let events = (1..=take)
            .map(|h| hub_log::conformance::demand_event(&stream, h))
            .collect();
        log.append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("append");
        left -= take;
    }
}

fn cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    // One partition: its order is the order of production.
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    cluster
}

/// Replication of Jiaxing with a producer queue of [`QUEUE`] messages.
fn start(brokers: &str, log: &Log, roster: &Roster) -> Replication {
    let config = KafkaConfig {
        brokers: brokers.into(),
        topic: TOPIC.into(),
        group: String::new(),
        keys_topic: String::new(),
        properties: BTreeMap::from([("queue.buffering.max.messages".into(), QUEUE.into())]),
        max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
        max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
    };
    Replication::start(
        &config,
        log.clone(),
        BTreeSet::from([jiaxing()]),
        roster.clone(),
        None,
    )
    .expect("replication starts")
}

fn produced(r: &Replication) -> u64 {
    r.status()
        .origins
        .get(&jiaxing())
        .map_or(0, |o| o.produced_seq)
}

/// The outbox's delivered progress as stored in the log's meta.
fn stored_progress(log: &Log) -> Option<u64> {
    log.meta(format!("replication/outbox/{JIAXING}").as_bytes())
        .expect("meta")
        .map(|v| u64::from_be_bytes(v.as_slice().try_into().expect("8 bytes")))
}

/// Waits until `check` holds, for up to 60 s.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The origin sequences of every record on the topic, in partition order.
fn sequences_on_the_topic(brokers: &str) -> Vec<u64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("check-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seqs = Vec::new();
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out reading the topic after {} records",
            seqs.len()
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let record = EventRecord::decode(m.payload().unwrap_or_default()).expect("record");
                assert_eq!(record.origin, JIAXING, "only own events are produced");
                seqs.push(record.origin_seq);
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return seqs,
            Some(Err(e)) => panic!("reading the topic: {e}"),
            None => {}
        }
    }
}

/// Fails unless `seqs` is 1, 2, … `n`: every event once, in order.
fn assert_once_in_order(seqs: &[u64], n: u32) {
    assert_eq!(seqs.len(), n as usize, "records on the topic");
    if let Some((i, s)) = seqs.iter().enumerate().find(|&(i, &s)| s != i as u64 + 1) {
        panic!("record {i} of the topic is seq {s}, expected {}", i + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_whose_producer_queue_fills_waits_and_delivers_every_event_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, roster) = node(dir.path());
    append_own(&log, EVENTS).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();

    let replication = start(&brokers, &log, &roster);
    until("every own event is delivered", || {
        produced(&replication) == u64::from(EVENTS)
    })
    .await;
    assert_eq!(stored_progress(&log), Some(u64::from(EVENTS)));
    replication.stop().await;

    assert_once_in_order(&sequences_on_the_topic(&brokers), EVENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_stopped_with_deliveries_queued_resumes_from_its_stored_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, roster) = node(dir.path());
    let half = EVENTS / 2;
    append_own(&log, half).await;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();

    let replication = start(&brokers, &log, &roster);
    until("the first half is delivered", || {
        produced(&replication) == u64::from(half)
    })
    .await;
    // The broker goes away: the second half fills the producer's queue and no delivery
    // comes back, so the outbox waits inside a step when the node stops.
    cluster.broker_down(1).expect("broker down");
    append_own(&log, half).await;
    replication.stop().await;
    assert_eq!(
        stored_progress(&log),
        Some(u64::from(half)),
        "no progress is recorded for deliveries that did not come back"
    );
    assert_eq!(log.head(), u64::from(EVENTS), "the log keeps every event");

    cluster.broker_up(1).expect("broker up");
    let replication = start(&brokers, &log, &roster);
    until("the rest is delivered after the restart", || {
        produced(&replication) == u64::from(EVENTS)
    })
    .await;
    replication.stop().await;

    assert_once_in_order(&sequences_on_the_topic(&brokers), EVENTS);
}
