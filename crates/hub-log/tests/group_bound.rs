//! One commit group holds at most 16 384 events (`writer.rs` `MAX_GROUP_EVENTS`): an append
//! that would carry it past starts the next group, and all are stored.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};

use hub_log::conformance::{demand_event, stream};
use hub_log::observe::{Commit, CommitObserver};
use hub_log::{Appended, Log, Result};
use hub_types::{ExpectedVersion, Position};

/// Events after which a group takes no further append.
const MAX_GROUP_EVENTS: usize = 16_384;

/// Events in each queued append: the most `server.max_events_per_append` allows by default.
const APPEND: usize = 1_000;

/// Records every commit, and holds the writer inside the first one until released, so
/// that appends can queue behind it.
struct Groups {
    commits: Mutex<Vec<Commit>>,
    first: AtomicBool,
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl CommitObserver for Groups {
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

type Pending = Pin<Box<dyn Future<Output = Result<Appended>>>>;

#[tokio::test]
async fn a_commit_group_holds_at_most_16384_events_and_all_are_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path()).expect("open");
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let (release, release_rx) = mpsc::channel();
    let groups = Arc::new(Groups {
        commits: Mutex::default(),
        first: AtomicBool::new(true),
        entered: entered_tx,
        release: Mutex::new(release_rx),
    });
    assert!(log.observe_commits(groups.clone()));

    // One event holds the writer in its commit while the rest queue behind it.
    let plug = {
        let log = log.clone();
        let s = stream("310000", "plug");
        tokio::spawn(async move {
            log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
                .await
        })
    };
    entered.recv().await.expect("the writer commits the plug");

    let appends = 40;
    let mut queued: Vec<Pending> = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());
    for a in 0..appends {
        let log = log.clone();
        let s = stream("310000", &format!("queued-{a}"));
        let events = (0..APPEND).map(|_| demand_event(&s, 1)).collect();
        let mut append: Pending =
            Box::pin(async move { log.append(&s, ExpectedVersion::Any, events).await });
        // The first poll hands the append to the writer's queue and waits for its answer.
        assert!(matches!(append.as_mut().poll(&mut cx), Poll::Pending));
        queued.push(append);
    }
    release
        .send(())
        .expect("the writer waits in the plug's commit");

    plug.await.expect("plug task").expect("plug appended");
    let mut stored = Vec::new();
    for append in queued {
        let appended = append.await.expect("appended");
        assert_eq!(
            appended.last.get() - appended.first.get() + 1,
            APPEND as u64
        );
        stored.push(appended.first.get());
    }

    let commits = groups
        .commits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let sizes: Vec<usize> = commits.iter().map(|c| c.events).collect();
    assert_eq!(sizes[0], 1, "the plug commits alone: {sizes:?}");
    let queued_sizes = &sizes[1..];
    assert_eq!(queued_sizes.iter().sum::<usize>(), appends * APPEND);
    assert!(
        queued_sizes.iter().all(|&n| n <= MAX_GROUP_EVENTS),
        "a group took an append that carried it past {MAX_GROUP_EVENTS} events: {sizes:?}"
    );
    // A group closed by the bound came within one append of it; one closed because the
    // queue ran dry may be smaller.
    assert!(
        queued_sizes.iter().any(|&n| n > MAX_GROUP_EVENTS - APPEND),
        "no group came within one append of {MAX_GROUP_EVENTS} events: the appends were not \
         all queued at once, or groups close earlier: {sizes:?}"
    );

    let total = (1 + appends * APPEND) as u64;
    assert_eq!(log.head(), total);
    let mut positions = Vec::new();
    let mut from = Position::FIRST;
    loop {
        let page = log.read_all(from, 5_000).expect("read");
        let Some(last) = page.last() else { break };
        from = Position::at_least_first(last.position.get() + 1);
        positions.extend(page.iter().map(|e| e.position.get()));
    }
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    stored.sort_unstable();
    assert_eq!(
        stored,
        (0..appends as u64)
            .map(|a| 2 + a * APPEND as u64)
            .collect::<Vec<_>>(),
        "each append's events are stored together"
    );
}
