//! Whether a topic exists, asked on a connection of its own.
//!
//! Consumers are assigned to a topic only while the brokers' metadata lists it, and are
//! unassigned when it disappears. Besides telling a node that a topic was lost (and must be
//! rewound once it is back), this keeps the consumers from fetching a topic the broker does
//! not know: librdkafka 2.12.1 was seen to crash (SIGSEGV in
//! `rd_kafka_metadata_cache_find`) when a broker answered such a fetch with a zero topic id.
//! The window between a topic's deletion and the next probe remains; that crash is upstream.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
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

/// Reads a topic's metadata every [`PROBE_EVERY`] and publishes what it finds.
pub(crate) struct TopicWatch;

impl TopicWatch {
    /// Starts watching `topic`; the task ends when `stop` turns true.
    pub(crate) fn start(
        config: &KafkaConfig,
        topic: String,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(watch::Receiver<TopicState>, JoinHandle<()>)> {
        // No group: this client only reads metadata.
        let probe: Arc<BaseConsumer> = Arc::new(config.client().create()?);
        let (tx, rx) = watch::channel(TopicState::Unknown);
        let task = tokio::spawn(async move {
            loop {
                let state = tokio::select! {
                    s = probe_once(probe.clone(), topic.clone()) => s,
                    _ = stop.changed() => return,
                };
                tx.send_if_modified(|old| {
                    let changed = *old != state;
                    *old = state;
                    changed
                });
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
