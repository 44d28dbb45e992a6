//! A hook for watching the writer's group commits from outside the log (metrics), without
//! the log knowing how they are recorded.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One durable group commit, as the writer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Events stored by the group (appended and ingested).
    pub events: usize,
    /// Append and ingest calls that shared the group.
    pub calls: usize,
    /// Time spent writing the batch and syncing it to disk.
    pub sync: Duration,
}

/// Receives every group commit; called on the writer thread, so it must be cheap.
pub trait CommitObserver: Send + Sync + 'static {
    /// Records one group commit.
    fn committed(&self, commit: Commit);
}

// Held as `Arc<dyn CommitObserver>`: keep it object safe.
const _: Option<&dyn CommitObserver> = None;

/// The observer slot shared by the log's handles and its writer: set at most once.
#[derive(Default)]
pub(crate) struct ObserverSlot(OnceLock<Arc<dyn CommitObserver>>);

impl ObserverSlot {
    pub(crate) fn set(&self, observer: Arc<dyn CommitObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    pub(crate) fn notify(&self, commit: Commit) {
        if let Some(o) = self.0.get() {
            o.committed(commit);
        }
    }
}
