//! Kafka for replication tests: librdkafka's mock cluster, signed records of a city with no
//! node here, and a plain producer that puts records on the events topic.

use std::time::Duration;

use hub_log::Log;
use hub_proto::pb;
use hub_replication::DEFAULT_TOPIC;
use hub_types::ExpectedVersion;
use prost::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

/// A one-broker mock cluster with the events and keys topics, three partitions each.
pub fn mock_cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(DEFAULT_TOPIC, 3, 1).expect("topic");
    cluster
        .create_topic(&format!("{DEFAULT_TOPIC}.keys"), 3, 1)
        .expect("keys topic");
    cluster
}

/// `n` records of city `member`, which has no node here: stamped and signed with the
/// city's development key by an in-memory log.
pub async fn foreign_records(member: &str, n: usize) -> Vec<pb::EventRecord> {
    let city: hub_types::MemberId = member.parse().expect("member");
    let key = hub_server::keys::dev_key(city).expect("development key");
    let signer = hub_server::keys::CitySigner::new([(city, key)].into());
    let log = Log::in_memory_signed(std::sync::Arc::new(signer));
    for i in 0..n {
        let stream: hub_types::StreamId = format!("demand/{member}/f-{i}").parse().expect("stream");
        log.append(
            &stream,
            ExpectedVersion::Any,
            vec![hub_log::conformance::demand_event(&stream, 3)],
        )
        .await
        .expect("append");
    }
    log.read_all(hub_types::Position::FIRST, n)
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect()
}

/// Produces `records` to the events topic, keyed by origin, as a node's outbox would.
pub async fn produce(brokers: &str, records: &[pb::EventRecord]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    for r in records {
        let payload = r.encode_to_vec();
        producer
            .send(
                FutureRecord::to(DEFAULT_TOPIC)
                    .key(&r.origin)
                    .payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .expect("delivered");
    }
}
