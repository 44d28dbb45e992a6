//! The vault's change notices hold 1 024 changes (`hub_log::vault`): a listener that falls
//! further behind is told it lagged, and the key sharer then shares every key again from
//! the vault, so no key is left off the keys topic. Against librdkafka's in-process mock
//! cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use hub_audit::SigningKey;
use hub_log::vault::{Change, Vault};
use hub_log::Log;
use hub_replication::{KafkaConfig, KeySharing, Replication};
use hub_types::roster::{Member, Roster};
use hub_types::{MemberId, StreamId};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Message as _};
use tokio::sync::broadcast::error::TryRecvError;

const TOPIC: &str = "talenthub.events.v1";
const KEYS_TOPIC: &str = "talenthub.events.v1.keys";
/// The city of the node under test.
const JIAXING: &str = "330400";
/// Changes the vault keeps for a listener that has not read them.
const NOTICES: usize = 1_024;

fn member(code: &str) -> MemberId {
    code.parse().expect("member code")
}

fn entry_stream(i: usize) -> StreamId {
    format!("blacklist/{JIAXING}/e-{i}")
        .parse()
        .expect("stream")
}

#[test]
fn a_listener_more_than_1024_changes_behind_is_told_how_many_it_missed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Vault::open(dir.path()).expect("vault");
    let mut changes = vault.subscribe();
    let made = NOTICES + 76;
    for i in 0..made {
        vault.get_or_create(&entry_stream(i)).expect("key");
    }
    assert_eq!(changes.try_recv(), Err(TryRecvError::Lagged(76)));
    assert_eq!(changes.try_recv(), Ok(Change::Stored(entry_stream(76))));
    assert_eq!(
        vault.entries().len(),
        made,
        "the vault itself holds every key a lagging listener missed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sharer_that_lagged_shares_every_key_again() {
    let signer = hub_audit::generate();
    let roster = Roster::new(vec![Member {
        code: member(JIAXING),
        name: "city 330400".into(),
        public_key: hub_audit::public_key_hex(&signer.verifying_key()),
    }])
    .expect("roster");
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    cluster.create_topic(KEYS_TOPIC, 1, 1).expect("keys topic");
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path().join("log")).expect("log");
    let vault = Arc::new(Vault::open(dir.path().join("keys")).expect("vault"));
    let signers: BTreeMap<MemberId, SigningKey> = [(member(JIAXING), signer)].into();
    let sharing = KeySharing {
        vault: vault.clone(),
        wrap_key: zeroize::Zeroizing::new([7; 32]),
        signers,
    };
    let config = KafkaConfig {
        brokers: brokers.clone(),
        topic: TOPIC.into(),
        group: String::new(),
        keys_topic: String::new(),
        properties: BTreeMap::new(),
        max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
        max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
    };
    let replication = Replication::start(
        &config,
        log.clone(),
        BTreeSet::from([member(JIAXING)]),
        roster,
        Some(sharing),
    )
    .expect("replication starts");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "scan")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[KEYS_TOPIC]).expect("subscribe");
    let mut shared = BTreeSet::new();
    let mut wait_until_shared = |expected: &BTreeSet<String>| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !shared.is_superset(expected) {
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {} keys shared; missing e.g. {:?}",
                shared.intersection(expected).count(),
                expected.len(),
                expected.difference(&shared).next()
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                if m.payload().is_some_and(|p| !p.is_empty()) {
                    shared
                        .insert(String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned());
                }
            }
        }
    };
    // A first key on the topic shows the sharer listens to the vault's changes.
    vault.get_or_create(&entry_stream(0)).expect("key");
    wait_until_shared(&BTreeSet::from([entry_stream(0).to_string()]));

    // With the broker down the sharer waits on its next delivery while the vault changes
    // more than its notices hold.
    cluster.broker_down(1).expect("broker down");
    let made = 1 + NOTICES + 76;
    for i in 1..made {
        vault.get_or_create(&entry_stream(i)).expect("key");
    }
    cluster.broker_up(1).expect("broker up");
    wait_until_shared(&(0..made).map(|i| entry_stream(i).to_string()).collect());
    replication.stop().await;
}
