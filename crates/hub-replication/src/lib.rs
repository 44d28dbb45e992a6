//! Replication between city nodes over Kafka, so that every city's hub ends up with every
//! city's events and the same view.
//!
//! ```text
//!  city A node                      Kafka topic (key = origin)             city B node
//!  log ──own events──▶ outbox ──▶ [ p0: 310000#1 310000#2 … ]  ──▶ inbox ──verify──▶ log
//!                                 [ p1: 330400#1 …          ]
//! ```
//!
//! - [`outbox`]: produces the node's own-origin events once durable, with the idempotent
//!   producer (`acks=all`), and remembers the last sequence delivered in the log's meta.
//! - [`inbox`]: consumes every partition, verifies each foreign event (roster origin, the
//!   origin's ed25519 signature over the chain head of its batch with `verify_strict`,
//!   next `origin_seq`, `prev_hash` chain) through the log's ingest path, and stores the
//!   consumed offsets in the same atomic batch, so a restart resumes exactly. Own events
//!   coming back are skipped, duplicates are no-ops, and anything that does not verify is
//!   quarantined (kept aside in the log's meta, counted, logged) and retried when the
//!   events it waits for arrive.
//! - `keys`: the entry keys that seal blacklist personal fields travel on a second,
//!   compacted topic (`<topic>.keys`, key = stream), wrapped with the alliance's wrapping key
//!   and signed by the origin; each node gathers the whole topic at start and follows it.

mod inbox;
mod keys;
mod outbox;

pub use keys::KeySharing;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use hub_log::Log;
use hub_types::roster::Roster;
use hub_types::MemberId;
use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// The default topic.
pub const DEFAULT_TOPIC: &str = "talenthub.events.v1";

/// Errors of replication set-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kafka client could not be created or configured.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The log failed.
    #[error(transparent)]
    Log(#[from] hub_log::Error),
}

/// Result of replication set-up.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `[kafka]`: how to reach the alliance's Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`, e.g. `kafka:9092`.
    pub brokers: String,
    /// The topic every city produces to and consumes from.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// This node's consumer group; defaults to `talenthub-<member>`.
    #[serde(default)]
    pub group: String,
    /// The compacted topic of entry keys; defaults to `<topic>.keys`.
    #[serde(default)]
    pub keys_topic: String,
    /// Passed through to librdkafka, e.g. `security.protocol`, `ssl.ca.location`,
    /// `sasl.mechanisms`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_topic() -> String {
    DEFAULT_TOPIC.into()
}

impl KafkaConfig {
    /// The entry keys topic.
    pub fn keys_topic(&self) -> String {
        if self.keys_topic.is_empty() {
            format!("{}.keys", self.topic)
        } else {
            self.keys_topic.clone()
        }
    }

    /// The consumer group: configured, or `talenthub-<first own member>`.
    fn group_for(&self, own: &BTreeSet<MemberId>) -> String {
        if !self.group.is_empty() {
            return self.group.clone();
        }
        match own.iter().next() {
            Some(m) => format!("talenthub-{m}"),
            None => "talenthub-replica".to_owned(),
        }
    }

    /// A consumer in `group` that never commits offsets to Kafka (the node keeps its own,
    /// or rereads the topic) and starts at the beginning of a partition it has no offset
    /// for.
    fn consumer(&self, group: &str) -> Result<rdkafka::consumer::StreamConsumer> {
        Ok(self
            .client()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create()?)
    }

    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// Replication progress of one origin, as this node sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OriginStatus {
    /// Highest sequence stored locally.
    pub local_seq: u64,
    /// Highest sequence seen on the topic.
    pub seen_seq: u64,
    /// Highest sequence of this node's own events delivered to the topic.
    pub produced_seq: u64,
}

/// What replication is doing, for `ViewInfo`, `hubctl info` and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Per origin.
    pub origins: BTreeMap<MemberId, OriginStatus>,
    /// Events kept aside because they did not verify (yet).
    pub quarantined: u64,
    /// Messages on the topic not consumed yet (sum over partitions); -1 when unknown.
    pub consumer_lag: i64,
    /// The last quarantine reason, for operators.
    pub last_quarantine: Option<String>,
    /// Shared entry keys refused (bad signature, wrong wrapping key, conflicting key).
    pub keys_rejected: u64,
    /// The last reason an entry key was refused.
    pub last_key_rejection: Option<String>,
}

/// Shared, updated by the tasks.
pub(crate) type SharedStatus = Arc<RwLock<Status>>;

/// Running replication: the outbox and inbox tasks.
#[derive(Debug)]
pub struct Replication {
    status: SharedStatus,
    log: Log,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Replication {
    /// Starts replicating `log`: producing the events of `own` origins and ingesting the
    /// events of the other `roster` members; with `keys`, also sharing and gathering the
    /// entry keys on the keys topic.
    pub fn start(
        config: &KafkaConfig,
        log: Log,
        own: BTreeSet<MemberId>,
        roster: Roster,
        keys: Option<KeySharing>,
    ) -> Result<Self> {
        let status: SharedStatus = Arc::default();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let group = config.group_for(&own);
        let outbox = outbox::Outbox::new(config, log.clone(), own.clone(), status.clone())?;
        let mut tasks = Vec::new();
        if let Some(keys) = keys {
            let keys = Arc::new(keys);
            let share = keys::Share::new(config, keys.clone())?;
            let gather = keys::Gather::new(
                config,
                &group,
                keys,
                keys::roster_keys(&roster),
                status.clone(),
            )?;
            tasks.push(tokio::spawn(share.run(stopped.clone())));
            tasks.push(tokio::spawn(gather.run(stopped.clone())));
        }
        let inbox = inbox::Inbox::new(config, &group, log.clone(), own, roster, status.clone())?;
        tasks.push(tokio::spawn(outbox.run(stopped.clone())));
        tasks.push(tokio::spawn(inbox.run(stopped)));
        Ok(Self {
            status,
            log,
            stop,
            tasks,
        })
    }

    /// A snapshot of the replication status, with local heads filled in from the log.
    pub fn status(&self) -> Status {
        let mut status = self
            .status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (origin, seq) in self.log.origin_vector() {
            status.origins.entry(origin).or_default().local_seq = seq;
        }
        status
    }

    /// Stops both tasks after their current step.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The partitions of `topic` from the brokers' metadata (read on a blocking thread); empty
/// while the topic does not exist.
pub(crate) async fn partitions(
    consumer: Arc<rdkafka::consumer::StreamConsumer>,
    topic: &str,
) -> std::result::Result<Vec<i32>, String> {
    use rdkafka::consumer::Consumer;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        consumer
            .fetch_metadata(Some(&topic), std::time::Duration::from_secs(5))
            .map(|m| {
                m.topics()
                    .iter()
                    .filter(|t| t.name() == topic && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect()
            })
            .map_err(|e| format!("cannot read topic metadata: {e}"))
    })
    .await
    .unwrap_or_else(|e| Err(format!("metadata task failed: {e}")))
}

/// Meta key of the outbox progress of `origin`.
pub(crate) fn outbox_key(origin: MemberId) -> Vec<u8> {
    format!("replication/outbox/{origin}").into_bytes()
}

/// Meta key of the next offset to consume from `partition` of `topic`.
pub(crate) fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    format!("replication/offset/{topic}/{partition:05}").into_bytes()
}

/// Meta key prefix of quarantined messages.
pub(crate) const QUARANTINE_PREFIX: &[u8] = b"replication/quarantine/";
