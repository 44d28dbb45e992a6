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
//! - `meta`: the keys replication keeps in the log's meta space (outbox progress, consumed
//!   offsets, the quarantine), each built and read in one place.
//! - `topic`: watches that a topic exists, on a connection of its own, so that consumers
//!   fetch only from topics the brokers know (see "Broker faults" below).
//!
//! # Broker faults
//!
//! The log is the source of truth; the topic is a transport that may lose everything. The
//! tasks heal without wiping the node:
//!
//! - **Shutdown** never waits on the broker: the outbox drops pending deliveries when the
//!   stop signal comes and records no progress for them, so they go out after restart.
//! - **Fatal producer errors** (e.g. `Unknown Producer Id` from a broker that lost its
//!   state) recreate the producer, and the origin re-publishes its events from its log.
//! - **A recreated or truncated topic** (the topic vanished and came back, a high watermark
//!   went down, a stored offset lies beyond the end, or the broker moved the fetch position
//!   back) makes the inbox rewind every partition to the beginning, idempotent ingest drops
//!   what is stored, and this node's own events are re-published from its log.
//! - Operators can ask for both on purpose ([`Replication::rewind`],
//!   [`Replication::republish`]); the status says what happened last.
//! - Warnings while the broker is unreachable or a topic is missing are rate-limited.

mod inbox;
mod keys;
mod meta;
mod outbox;
mod topic;

pub use keys::KeySharing;

pub(crate) use meta::{offset_key, outbox_key};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use hub_log::Log;
use hub_types::roster::Roster;
use hub_types::{MemberId, StreamId};
use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// The default topic.
pub const DEFAULT_TOPIC: &str = "talenthub.events.v1";

/// How often librdkafka reports statistics (watermarks, hence lag).
pub(crate) const STATISTICS_MS: &str = "1000";

/// Errors of replication set-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kafka client could not be created or configured.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The log failed.
    #[error(transparent)]
    Log(#[from] hub_log::Error),
    /// The roster's keys cannot be read.
    #[error(transparent)]
    Audit(#[from] hub_audit::Error),
    /// A shared entry key that is not an `EntryKey` message.
    #[error("not an EntryKey: {0}")]
    EntryKeyDecode(prost::DecodeError),
    /// A shared entry key naming no valid stream.
    #[error("stream {}: {reason}", hub_types::Quoted(stream))]
    EntryKeyStream {
        /// The stream as sent.
        stream: String,
        /// Why it is not a stream.
        reason: hub_types::ValidationError,
    },
    /// A shared entry key of a stream without personal fields.
    #[error("{0}: only blacklist, white-list entries and awards have keys")]
    EntryKeyFamily(StreamId),
    /// A shared entry key of an origin the roster does not list.
    #[error("{stream}: origin {origin} is not on the roster")]
    EntryKeyOrigin {
        /// The entry's stream.
        stream: StreamId,
        /// Its origin.
        origin: MemberId,
    },
    /// A shared entry key whose signature does not verify with its origin's roster key.
    #[error("{stream}: signature does not verify: {source}")]
    EntryKeySignature {
        /// The entry's stream.
        stream: StreamId,
        /// What the verification said.
        source: hub_audit::Error,
    },
    /// A shared entry key that does not unwrap with the alliance's wrapping key.
    #[error("{0}: the key does not unwrap with the alliance key")]
    EntryKeyUnwrap(StreamId),
    /// A shared entry key for an entry whose vault holds another key.
    #[error("{0}: another key is already held")]
    EntryKeyConflict(StreamId),
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
    /// Unsigned records of one origin held in memory until the signed record that ends
    /// their batch arrives; past it the oldest is quarantined. At least the largest
    /// `server.max_events_per_append` of any city.
    #[serde(default = "default_max_unsigned")]
    pub max_unsigned_per_origin: usize,
    /// Records kept in the quarantine at most; past it, records that would be
    /// quarantined are dropped (counted, and found again by a rewind).
    #[serde(default = "default_max_quarantined")]
    pub max_quarantined: u64,
}

fn default_topic() -> String {
    DEFAULT_TOPIC.into()
}

/// Ten times the default `server.max_events_per_append`.
pub const DEFAULT_MAX_UNSIGNED: usize = 10_000;
/// Default bound of the quarantine.
pub const DEFAULT_MAX_QUARANTINED: u64 = 10_000;

fn default_max_unsigned() -> usize {
    DEFAULT_MAX_UNSIGNED
}

fn default_max_quarantined() -> u64 {
    DEFAULT_MAX_QUARANTINED
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
    fn consumer<C: rdkafka::consumer::ConsumerContext + 'static>(
        &self,
        group: &str,
        context: C,
    ) -> Result<rdkafka::consumer::StreamConsumer<C>> {
        Ok(self
            .client()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create_with_context(context)?)
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
    /// Events not kept because the quarantine was full (`kafka.max_quarantined`).
    pub quarantine_dropped: u64,
    /// Messages on the topic not consumed yet (sum over partitions); -1 when unknown.
    pub consumer_lag: i64,
    /// The last quarantine reason, for operators.
    pub last_quarantine: Option<String>,
    /// Shared entry keys refused (bad signature, wrong wrapping key, conflicting key).
    pub keys_rejected: u64,
    /// The last reason an entry key was refused.
    pub last_key_rejection: Option<String>,
    /// Per partition of the events topic: where the inbox is and how far behind.
    pub partitions: BTreeMap<i32, PartitionStatus>,
    /// How often the inbox rewound the topic (detected or ordered).
    pub rewinds: u64,
    /// How often this node re-published its own events from its log.
    pub republishes: u64,
    /// What the last rewind or re-publication was for, for operators.
    pub last_healing: Option<String>,
    /// The events topic as last seen: `present`, `missing`, `unreachable: …` or `unknown`.
    pub topic_state: String,
}

/// Progress of the inbox on one partition of the events topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionStatus {
    /// The next offset the inbox will store.
    pub next_offset: i64,
    /// The partition's high watermark from librdkafka's statistics; -1 when unknown.
    pub high_watermark: i64,
    /// Messages not consumed yet; -1 when unknown.
    pub lag: i64,
}

/// Shared, updated by the tasks.
pub(crate) type SharedStatus = Arc<RwLock<Status>>;

/// Requests between the tasks and from operators: each is a counter that moves once per
/// request, so a task that was busy still sees that something was asked.
#[derive(Debug)]
pub(crate) struct Control {
    /// Bumped to make the inbox rewind the events topic to the beginning.
    pub(crate) rewind: tokio::sync::watch::Sender<u64>,
    /// Bumped to make the outbox and the key sharing produce everything again.
    pub(crate) republish: tokio::sync::watch::Sender<u64>,
    status: SharedStatus,
}

impl Control {
    fn new(status: SharedStatus) -> Self {
        Self {
            rewind: tokio::sync::watch::channel(0).0,
            republish: tokio::sync::watch::channel(0).0,
            status,
        }
    }

    /// Asks the outbox to re-publish this node's events from its log, for `reason`.
    pub(crate) fn request_republish(&self, reason: &str) {
        tracing::warn!(%reason, "re-publishing this node's own events from its log");
        {
            let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
            status.republishes += 1;
            status.last_healing = Some(format!("re-published own events: {reason}"));
        }
        self.republish.send_modify(|n| *n += 1);
    }

    /// Asks the inbox to rewind the events topic to the beginning.
    pub(crate) fn request_rewind(&self) {
        self.rewind.send_modify(|n| *n += 1);
    }
}

/// Lets a repeated warning through once per [`Throttle::EVERY`], counting the rest.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl Throttle {
    /// How often a repeated warning is logged.
    pub(crate) const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

    /// `Some(how many were held back since the last one)` when the warning may be logged.
    pub(crate) fn ready(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < Self::EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }

    /// Forgets the last warning, so that the next fault is reported at once.
    pub(crate) fn reset(&mut self) {
        self.last = None;
        self.suppressed = 0;
    }
}

/// Running replication: the outbox and inbox tasks.
#[derive(Debug)]
pub struct Replication {
    status: SharedStatus,
    log: Log,
    control: Arc<Control>,
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
        status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .topic_state = "unknown".into();
        let control = Arc::new(Control::new(status.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let group = config.group_for(&own);
        let outbox = outbox::Outbox::new(
            config,
            log.clone(),
            own.clone(),
            status.clone(),
            control.clone(),
        )?;
        let mut tasks = Vec::new();
        if let Some(keys) = keys {
            let keys = Arc::new(keys);
            let share = keys::Share::new(config, keys.clone(), control.clone())?;
            let (keys_topic, watcher) =
                topic::TopicWatch::start(config, config.keys_topic(), stopped.clone())?;
            let gather = keys::Gather::new(
                config,
                &group,
                keys,
                hub_audit::roster_keys(&roster)?,
                status.clone(),
                control.clone(),
            )?;
            tasks.push(watcher);
            tasks.push(tokio::spawn(share.run(stopped.clone())));
            tasks.push(tokio::spawn(gather.run(keys_topic, stopped.clone())));
        }
        let (events_topic, watcher) =
            topic::TopicWatch::start(config, config.topic.clone(), stopped.clone())?;
        let inbox = inbox::Inbox::new(
            config,
            &group,
            log.clone(),
            own,
            roster,
            status.clone(),
            control.clone(),
        )?;
        tasks.push(watcher);
        tasks.push(tokio::spawn(outbox.run(stopped.clone())));
        tasks.push(tokio::spawn(inbox.run(events_topic, stopped)));
        Ok(Self {
            status,
            log,
            control,
            stop,
            tasks,
        })
    }

    /// Rewinds the events topic to the beginning on purpose: every message is read again
    /// and idempotent ingest drops what is stored (an operator's repair after a broker
    /// fault the node could not see).
    pub fn rewind(&self) {
        tracing::warn!("rewind of the events topic ordered by an operator");
        self.control.request_rewind();
    }

    /// Re-publishes this node's own events and entry keys from its log on purpose (an
    /// operator's repair after the topic lost them).
    pub fn republish(&self) {
        self.control.request_republish("ordered by an operator");
    }

    /// A snapshot of the replication status, with local heads filled in from the log.
    pub fn status(&self) -> Status {
        let mut status = self
            .status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (origin, seq) in self.log.origin_vector() {
            status.origins.entry(origin).or_default().local_seq = seq.get();
        }
        status
    }

    /// Stops the tasks: each ends at its next await, never waiting on the broker (pending
    /// deliveries are dropped unrecorded and go out after restart).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
