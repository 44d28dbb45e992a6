//! Snapshots on a sled log: written every N events, restored by `View::open` and caught up
//! to the same view a full replay gives; a damaged snapshot, or one of another log, is
//! refused and the view is rebuilt by full replay.

mod support;

use std::path::{Path, PathBuf};

use hub_log::Log;
use hub_proto::pb;
use hub_types::{Body, MemberId};
use hub_view::{snapshot, Cut, View, ViewConfig};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use support::*;

const CITIES3: [&str; 3] = [SHANGHAI, HANGZHOU, HEFEI];

/// A fixed random script of `n` events (the same on every run).
fn events(n: usize, salt: usize) -> Vec<(MemberId, Body)> {
    let mut runner = TestRunner::deterministic();
    let mut tree = ops(3, n..n + 1).new_tree(&mut runner).expect("a script");
    for _ in 0..salt {
        tree = ops(3, n..n + 1).new_tree(&mut runner).expect("a script");
    }
    script(&CITIES3, &tree.current())
}

fn snapshotting(dir: &Path, every: u64) -> ViewConfig {
    ViewConfig {
        snapshot_dir: Some(dir.to_owned()),
        snapshot_every: every,
        ..config()
    }
}

fn info(view: &View) -> pb::ViewInfoResponse {
    view.info(&pb::ViewInfoRequest::default())
        .expect("view info")
}

/// Asserts that `view` holds exactly what a full replay of `log` holds, on both time axes.
fn assert_equals_full_replay<S: hub_log::Store>(view: &View, log: &Log<S>) {
    let full = View::open(config(), log).expect("full replay");
    assert_eq!(view.position(), full.position());
    assert_eq!(view.digest(Cut::Newest), full.digest(Cut::Newest));
    for p in [1, full.position() / 2, full.position()] {
        assert_eq!(
            view.digest(Cut::At(p)),
            full.digest(Cut::At(p)),
            "digest at {p}"
        );
    }
    let mut mine = info(view);
    mine.snapshot_position = 0;
    assert_eq!(mine, info(&full));
    for p in [0, full.position() / 3] {
        let time = pb::TimeAxes {
            at_position: p,
            ..Default::default()
        };
        assert_eq!(
            battery(view, &time, &CITIES3),
            battery(&full, &time, &CITIES3),
            "answers at {p}"
        );
    }
}

/// A sled log in `dir` holding `events`, with a view that snapshots every 10 events into
/// `snaps`, caught up after every append; returns the snapshot position after each event.
async fn build(dir: &Path, snaps: &Path, events: &[(MemberId, Body)]) -> Vec<u64> {
    let log = Log::open(dir).expect("open the sled log");
    let view = View::open(snapshotting(snaps, 10), &log).expect("open the view");
    let mut written = Vec::new();
    for e in events {
        append_all(&log, std::slice::from_ref(e)).await;
        view.catch_up(&log).expect("catch up");
        written.push(info(&view).snapshot_position);
    }
    log.close().await;
    written
}

struct Dirs {
    _root: tempfile::TempDir,
    log: PathBuf,
    snaps: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().expect("a temp dir");
    Dirs {
        log: root.path().join("log"),
        snaps: root.path().join("snapshots"),
        _root: root,
    }
}

#[tokio::test]
async fn a_snapshot_is_written_every_n_events_and_restored_on_open() {
    let d = dirs();
    let written = build(&d.log, &d.snaps, &events(35, 0)).await;
    let expected: Vec<u64> = (1..=35).map(|p| p / 10 * 10).collect();
    assert_eq!(written, expected);
    assert!(snapshot::path(&d.snaps).exists());

    // Restart: the log reopens from disk, gets five more events, and a new view restores
    // the snapshot at 30 and catches up.
    let log = Log::open(&d.log).expect("reopen the sled log");
    assert_eq!(log.head(), 35);
    append_all(&log, &events(5, 1)).await;
    let view = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    let now = info(&view);
    assert_eq!((now.snapshot_position, now.position), (30, 40));
    assert_equals_full_replay(&view, &log);

    // Opening writes no snapshot; the next catch-up writes the one that came due, once.
    let other = dirs();
    let view = View::open(snapshotting(&other.snaps, 10), &log).expect("open the view");
    assert_eq!(info(&view).snapshot_position, 0, "written while opening");
    assert_eq!(view.catch_up(&log).expect("catch up"), 0);
    assert_eq!(info(&view).snapshot_position, 40);
    let restored = View::open(snapshotting(&other.snaps, 10), &log).expect("open the view");
    assert_eq!(info(&restored).snapshot_position, 40);
    assert_equals_full_replay(&restored, &log);
}

#[tokio::test]
async fn a_view_spends_at_most_its_share_of_time_writing_snapshots() {
    let d = dirs();
    let log = Log::open(&d.log).expect("open the sled log");
    // A share so small that the wait after any write outlasts the test.
    let config = ViewConfig {
        snapshot_busy_share: 1e-9,
        ..snapshotting(&d.snaps, 10)
    };
    let view = View::open(config, &log).expect("open the view");
    let mut written = Vec::new();
    for e in &events(35, 0) {
        append_all(&log, std::slice::from_ref(e)).await;
        view.catch_up(&log).expect("catch up");
        written.push(info(&view).snapshot_position);
    }
    let expected: Vec<u64> = (1..=35).map(|p| if p < 10 { 0 } else { 10 }).collect();
    assert_eq!(
        written, expected,
        "the first snapshot, then none while the wait lasts"
    );

    // A snapshot asked for (as a node does when it stops) is written all the same.
    assert_eq!(view.write_snapshot(&log).expect("write"), 35);
    let restored = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(info(&restored).snapshot_position, 35);
    log.close().await;
}

/// Waits up to ten seconds for `done` to hold of `view`.
async fn eventually(view: &View, done: impl Fn(&View) -> bool) -> bool {
    for _ in 0..1000 {
        if done(view) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    done(view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_view_folds_on_while_its_snapshot_file_is_written() {
    let d = dirs();
    let log = Log::open(&d.log).expect("open the sled log");
    let config = ViewConfig {
        snapshot_busy_share: 1.0,
        ..snapshotting(&d.snaps, 1)
    };
    let view = View::open(config, &log).expect("open the view");
    // The snapshot's temp file is a FIFO: opening it to write blocks until it is read.
    std::fs::create_dir_all(&d.snaps).expect("snapshot dir");
    let fifo = d.snaps.join("view.snapshot.tmp");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let following = tokio::spawn(view.clone().follow(log.clone()));

    let script = events(12, 1);
    append_all(&log, &script[..1]).await;
    assert!(
        eventually(&view, |v| v.position() == 1).await,
        "the first event folds"
    );
    // A snapshot of position 1 came due and waits on the FIFO; the fold goes on.
    append_all(&log, &script[1..6]).await;
    let folded = eventually(&view, |v| v.position() == 6).await;
    // Unblock the writer whatever happened: move the FIFO out of the next one's way, then
    // read it to its end (the write then fails, as a FIFO cannot be synced).
    let moved = d.snaps.join("fifo");
    std::fs::rename(&fifo, &moved).expect("move the FIFO");
    let read = std::fs::read(&moved).expect("read the FIFO").len();
    assert!(folded, "the fold waited for the snapshot's file");
    assert!(read > 16, "the snapshot was written to the temp file");
    assert_eq!(
        view.snapshot_position(),
        0,
        "a snapshot that failed is not counted"
    );

    // With the file free, the next snapshot that comes due is written (one at a time,
    // so not necessarily of the last event), and a view restores from it.
    append_all(&log, &script[6..]).await;
    let written = eventually(&view, |v| v.position() == 12 && v.snapshot_position() > 6).await;
    assert!(written, "snapshot at {}", view.snapshot_position());
    let restored = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    let at = info(&restored).snapshot_position;
    assert!((7..=12).contains(&at), "restored from {at}");
    assert_equals_full_replay(&restored, &log);
    log.close().await;
    following.await.expect("the follower ends with the log");
}

/// A view opened on a log with more events after its snapshot than `snapshot_every` starts
/// without writing one (a node serves sooner); its follower writes it on its first fold,
/// with no new event to fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_due_at_open_is_written_by_the_follower_not_the_open() {
    let d = dirs();
    build(&d.log, &d.snaps, &events(12, 0)).await;
    let log = Log::open(&d.log).expect("reopen the sled log");
    append_all(&log, &events(25, 1)).await;
    let view = View::open(snapshotting(&d.snaps, 10), &log).expect("open the view");
    let opened = info(&view);
    assert_eq!((opened.snapshot_position, opened.position), (10, 37));
    let following = tokio::spawn(view.clone().follow(log.clone()));
    assert!(
        eventually(&view, |v| v.snapshot_position() == 37).await,
        "snapshot at {}",
        view.snapshot_position()
    );
    let restored = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(info(&restored).snapshot_position, 37);
    assert_equals_full_replay(&restored, &log);
    log.close().await;
    following.await.expect("the follower ends with the log");
}

/// Builds a log of 35 events with a snapshot at 30, damages the snapshot with `damage`,
/// and checks that opening falls back to a full replay (and then repairs the snapshot).
async fn falls_back(damage: impl FnOnce(&Path)) {
    let d = dirs();
    build(&d.log, &d.snaps, &events(35, 0)).await;
    damage(&snapshot::path(&d.snaps));
    let log = Log::open(&d.log).expect("reopen the sled log");

    let view = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(info(&view).snapshot_position, 0, "the snapshot was refused");
    assert_equals_full_replay(&view, &log);

    // A view that snapshots writes a good one again, which the next start uses.
    let view = View::open(snapshotting(&d.snaps, 10), &log).expect("open the view");
    view.catch_up(&log).expect("catch up");
    assert_eq!(info(&view).snapshot_position, 35);
    let view = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(info(&view).snapshot_position, 35);
    assert_equals_full_replay(&view, &log);
}

#[tokio::test]
async fn a_snapshot_with_a_flipped_byte_is_refused() {
    falls_back(|file| {
        let mut bytes = std::fs::read(file).expect("read the snapshot");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        std::fs::write(file, bytes).expect("write the snapshot");
    })
    .await;
}

#[tokio::test]
async fn a_snapshot_with_a_flipped_magic_byte_is_refused() {
    falls_back(|file| {
        let mut bytes = std::fs::read(file).expect("read the snapshot");
        bytes[0] ^= 0x20;
        std::fs::write(file, bytes).expect("write the snapshot");
    })
    .await;
}

#[tokio::test]
async fn a_truncated_snapshot_is_refused() {
    falls_back(|file| {
        let bytes = std::fs::read(file).expect("read the snapshot");
        std::fs::write(file, &bytes[..bytes.len() - 100]).expect("write the snapshot");
    })
    .await;
    falls_back(|file| std::fs::write(file, &b"THVIEW"[..]).expect("write the snapshot")).await;
    falls_back(|file| std::fs::write(file, b"").expect("write the snapshot")).await;
}

#[tokio::test]
async fn a_snapshot_of_another_log_is_refused() {
    // Same length, other events: the log holds another event at the snapshot's position.
    let other = dirs();
    build(&other.log, &other.snaps, &events(35, 2)).await;
    let foreign = snapshot::path(&other.snaps);
    falls_back(|file| {
        std::fs::copy(&foreign, file).expect("copy the snapshot");
    })
    .await;

    // Longer: the log has no event at the snapshot's position.
    let longer = dirs();
    build(&longer.log, &longer.snaps, &events(45, 3)).await;
    let foreign = snapshot::path(&longer.snaps);
    falls_back(|file| {
        std::fs::copy(&foreign, file).expect("copy the snapshot");
    })
    .await;
}

#[tokio::test]
async fn a_missing_snapshot_means_a_full_replay() {
    let d = dirs();
    build(&d.log, &d.snaps, &events(12, 4)).await;
    std::fs::remove_file(snapshot::path(&d.snaps)).expect("remove the snapshot");
    let log = Log::open(&d.log).expect("reopen the sled log");
    let view = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(info(&view).snapshot_position, 0);
    assert_equals_full_replay(&view, &log);
}

/// A map larger than one piece of the snapshot's sections (32 768 entries) is written in
/// several pieces, decoded on several threads, and put back together whole and in order.
#[tokio::test]
async fn maps_written_in_several_pieces_are_restored_whole() {
    const SIGNALS: u32 = 70_000;
    let log = Log::in_memory();
    append_all(&log, &events(35, 0)).await;
    let signals: Vec<(MemberId, Body)> = (0..SIGNALS)
        .map(|i| {
            let t = terms(
                &format!("bulk-{i}"),
                INDUSTRIES[i as usize % 2],
                "2-02-09-06",
                1 + i % 60,
                PERIODS[i as usize % 4],
                (8000 + i % 1000, 12000 + i % 5000),
            );
            (m(CITIES3[i as usize % 3]), Body::DemandSignalPublished(t))
        })
        .collect();
    append_all(&log, &signals).await;
    append_all(&log, &events(20, 1)).await;

    let d = dirs();
    let view = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    view.write_snapshot(&log).expect("write the snapshot");
    let restored = View::open(snapshotting(&d.snaps, 0), &log).expect("open the view");
    assert_eq!(
        info(&restored).snapshot_position,
        log.head(),
        "the view came from the snapshot"
    );
    assert_eq!(
        restored.digest(Cut::Newest),
        view.digest(Cut::Newest),
        "the restored view is the one written"
    );
    assert_equals_full_replay(&restored, &log);
}
