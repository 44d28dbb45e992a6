//! The tasks a node runs beside its calls (log followers, subscriptions, the retention
//! sweep, the trail's writes), kept so that stopping the node can wait for them to let go
//! of the store instead of guessing.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinSet;

/// A node's background tasks.
#[derive(Debug, Clone, Default)]
pub struct Tasks(Arc<Mutex<JoinSet<()>>>);

impl Tasks {
    /// Runs `task` on the runtime as one of the node's tasks.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut set = self.set();
        // Forget the tasks that have ended, so that the set holds only running ones.
        while set.try_join_next().is_some() {}
        set.spawn(task);
    }

    /// Waits until every task has ended, at most `within`; aborts those still running
    /// then. True when all ended by themselves.
    pub async fn join(&self, within: Duration) -> bool {
        let mut set = std::mem::take(&mut *self.set());
        let ended =
            tokio::time::timeout(within, async { while set.join_next().await.is_some() {} })
                .await
                .is_ok();
        if !ended {
            tracing::warn!(
                running = set.len(),
                "background tasks did not end in time; aborting them"
            );
            set.shutdown().await;
        }
        ended
    }

    /// Tasks still running or not yet joined.
    pub fn len(&self) -> usize {
        self.set().len()
    }

    /// True when no task is running or waiting to be joined.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn joining_waits_for_every_task() {
        let tasks = Tasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        tasks.spawn(async move {
            let _ = rx.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        tasks.spawn(async {});
        let joined = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.join(Duration::from_secs(30)).await }
        });
        let _ = tx.send(());
        assert!(joined.await.expect("join task"));
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert!(tasks.is_empty());
    }

    #[tokio::test]
    async fn a_task_that_never_ends_is_aborted_at_the_deadline() {
        let tasks = Tasks::default();
        let held = Arc::new(());
        let inside = held.clone();
        tasks.spawn(async move {
            let _held = inside;
            std::future::pending::<()>().await;
        });
        assert!(!tasks.join(Duration::from_millis(50)).await);
        assert_eq!(Arc::strong_count(&held), 1, "the aborted task let go");
    }
}
