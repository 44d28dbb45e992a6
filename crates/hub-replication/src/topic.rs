//! Whether a topic exists, asked on a connection of its own.
//!
//! Consumers are assigned to a topic only while the brokers' metadata lists it, and are
//! unassigned when it disappears. Besides telling a node that a topic was lost (and must be
//! rewound once it is back), this keeps the consumers from fetching a topic the broker does
//! not know.
//!
//! That matters beyond tidiness: librdkafka 2.12.1 crashes the process (SIGSEGV in
//! `rd_kafka_metadata_cache_find`, called from `rd_kafka_metadata_update_op`) when a Fetch
//! answer carries leader-change tags for a topic id the broker does not know: the answer
//! names the topic by a zero id and no name, and librdkafka looks the missing name up.
//! A broker that restarted without its data, or whose topic was deleted and created again,
//! answers exactly so to a consumer still fetching by the old topic id. So a consumer that
//! loses its brokers stops fetching at once, is replaced by a fresh client (which knows no
//! old topic id), and fetches again only once the topic is seen after the loss
//! ([`AfterLoss`]). The upstream defect remains for a topic deleted and recreated while
//! the brokers stay up, between two probes.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{KafkaConfig, Result};

/// How often the metadata is read.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long one metadata request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A topic as the brokers last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TopicState {
    /// Not asked yet.
    Unknown,
    /// The brokers did not answer.
    Unreachable(String),
    /// The brokers answered without the topic.
    Missing,
    /// The topic exists with these partitions.
    Present(Vec<i32>),
}

impl TopicState {
    /// A short word for the status.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Unknown => "unknown".into(),
            Self::Unreachable(e) => format!("unreachable: {e}"),
            Self::Missing => "missing".into(),
            Self::Present(_) => "present".into(),
        }
    }
}

/// One answer of the watcher, numbered so that a reader can wait for one given after an
/// event of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    /// What the brokers said.
    pub(crate) state: TopicState,
    /// How many answers came before this one.
    pub(crate) probe: u64,
}

/// Holds a consumer back after it lost its brokers, until the watcher has answered twice
/// since (the first answer may come from a request sent before the loss).
#[derive(Debug, Default)]
pub(crate) struct AfterLoss {
    lost_at: Option<u64>,
}

impl AfterLoss {
    /// Notes a loss while the watcher's last answer is `seen`.
    pub(crate) fn lost(&mut self, seen: &Seen) {
        self.lost_at = Some(seen.probe);
    }

    /// True while waiting for an answer given after the loss.
    pub(crate) fn waiting(&self) -> bool {
        self.lost_at.is_some()
    }

    /// Whether `seen` may be acted on: any answer when nothing was lost, else only one
    /// given after the loss (which ends the wait).
    pub(crate) fn settled(&mut self, seen: &Seen) -> bool {
        match self.lost_at {
            Some(at) if seen.probe < at + 2 => false,
            _ => {
                self.lost_at = None;
                true
            }
        }
    }
}

impl AfterLoss {
    /// Handles the loss of the brokers by `consumer`, once per loss: notes it, stops the
    /// consumer's fetching and replaces it with `fresh()` (the old one is closed aside).
    /// False when a loss is already being waited out, and nothing was done.
    pub(crate) fn replace<C: ConsumerContext + 'static>(
        &mut self,
        seen: &Seen,
        consumer: &mut StreamConsumer<C>,
        fresh: impl FnOnce() -> Result<StreamConsumer<C>>,
    ) -> bool {
        if self.waiting() {
            return false;
        }
        self.lost(seen);
        if let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "cannot pause consuming");
        }
        match fresh() {
            Ok(fresh) => drop_detached(std::mem::replace(consumer, fresh)),
            Err(e) => tracing::warn!(error = %e, "cannot make a new consumer; keeping the old one"),
        }
        true
    }
}

/// Whether a consumer error means its brokers are gone (see the module documentation).
pub(crate) fn brokers_lost(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        e.rdkafka_error_code(),
        Some(Code::AllBrokersDown | Code::BrokerTransportFailure)
    )
}

/// Ends a replaced client on a thread of its own: closing may wait for a broker that does
/// not answer, and nothing needs to wait for it.
pub(crate) fn drop_detached<T: Send + 'static>(client: T) {
    let _ = std::thread::Builder::new()
        .name("kafka-client-close".into())
        .spawn(move || drop(client));
}

/// Reads a topic's metadata every [`PROBE_EVERY`] and publishes every answer.
pub(crate) struct TopicWatch;

impl TopicWatch {
    /// Starts watching `topic`; the task ends when `stop` turns true.
    pub(crate) fn start(
        config: &KafkaConfig,
        topic: String,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(watch::Receiver<Seen>, JoinHandle<()>)> {
        // No group: this client only reads metadata.
        let probe: Arc<BaseConsumer> = Arc::new(config.client().create()?);
        let (tx, rx) = watch::channel(Seen {
            state: TopicState::Unknown,
            probe: 0,
        });
        let task = tokio::spawn(async move {
            for n in 1.. {
                let state = tokio::select! {
                    s = probe_once(probe.clone(), topic.clone()) => s,
                    _ = stop.changed() => return,
                };
                tx.send_replace(Seen { state, probe: n });
                tokio::select! {
                    () = tokio::time::sleep(PROBE_EVERY) => {}
                    _ = stop.changed() => return,
                }
            }
        });
        Ok((rx, task))
    }
}

async fn probe_once(probe: Arc<BaseConsumer>, topic: String) -> TopicState {
    tokio::task::spawn_blocking(
        move || match probe.fetch_metadata(Some(&topic), PROBE_TIMEOUT) {
            Err(e) => TopicState::Unreachable(e.to_string()),
            Ok(m) => {
                let mut partitions: Vec<i32> = m
                    .topics()
                    .iter()
                    .filter(|t| t.name() == topic && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect();
                partitions.sort_unstable();
                if partitions.is_empty() {
                    TopicState::Missing
                } else {
                    TopicState::Present(partitions)
                }
            }
        },
    )
    .await
    .unwrap_or_else(|e| TopicState::Unreachable(format!("metadata task failed: {e}")))
}
