//! Holding the log's writer inside a commit, so that appends queue behind it and the
//! next group takes them together.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};

use hub_log::conformance::{demand_event, stream};
use hub_log::observe::{Commit, CommitObserver};
use hub_log::{Appended, Log, Result};
use hub_types::ExpectedVersion;

/// Records every commit, and holds the writer inside the first one until released.
pub struct Plug {
    commits: Mutex<Vec<Commit>>,
    first: AtomicBool,
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl CommitObserver for Plug {
    fn committed(&self, commit: Commit) {
        self.commits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(commit);
        if self.first.swap(false, Ordering::SeqCst) {
            let _ = self.entered.send(());
            let _ = self
                .release
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv();
        }
    }
}

/// A plugged writer: appends made after [`Plugged::new`] returns queue until
/// [`Plugged::release`].
pub struct Plugged {
    plug: Arc<Plug>,
    release: mpsc::Sender<()>,
    first: tokio::task::JoinHandle<Result<Appended>>,
}

impl Plugged {
    /// Observes `log`'s commits and appends one event to `city`'s stream `plug`, whose
    /// commit holds the writer.
    pub async fn new(log: &Log, city: &str) -> Self {
        let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
        let (release, release_rx) = mpsc::channel();
        let plug = Arc::new(Plug {
            commits: Mutex::default(),
            first: AtomicBool::new(true),
            entered: entered_tx,
            release: Mutex::new(release_rx),
        });
        assert!(log.observe_commits(plug.clone()));
        let first = {
            let log = log.clone();
            let s = stream(city, "plug");
            tokio::spawn(async move {
                log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
                    .await
            })
        };
        entered.recv().await.expect("the writer commits the plug");
        Self {
            plug,
            release,
            first,
        }
    }

    /// Lets the writer go on, once the plug's own append is answered.
    pub async fn release(self) -> Arc<Plug> {
        self.release
            .send(())
            .expect("the writer waits in the plug's commit");
        self.first.await.expect("plug task").expect("plug appended");
        self.plug
    }
}

impl Plug {
    /// How many events each commit held, in order.
    pub fn sizes(&self) -> Vec<usize> {
        self.commits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|c| c.events)
            .collect()
    }
}

pub type Pending = Pin<Box<dyn Future<Output = Result<Appended>>>>;

/// Hands an append of `count` events to `city`'s stream `name` to the writer's queue.
pub fn queue(log: &Log, city: &str, name: &str, count: usize) -> Pending {
    let log = log.clone();
    let s = stream(city, name);
    let events = (0..count).map(|_| demand_event(&s, 1)).collect();
    let mut append: Pending =
        Box::pin(async move { log.append(&s, ExpectedVersion::Any, events).await });
    // The first poll hands the append to the writer's queue and waits for its answer.
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(append.as_mut().poll(&mut cx), Poll::Pending));
    append
}
