//! A fold of many batches (a replay, a start's catch-up) reads and decodes the batches
//! ahead on a thread of its own while it applies them: it folds every event once and in
//! order, to the view a fold of a few events at a time gives, and a batch that cannot be
//! read ends the fold with the error, the events before it folded.

mod support;

use std::path::Path;

use hub_log::Log;
use hub_proto::pb;
use hub_types::{Body, MemberId};
use hub_view::{Cut, View};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use support::*;

/// More than three of the fold's batches (2 048 events each), and part of a fourth.
const EVENTS: usize = 7_000;

/// A fixed random script of `n` events of three cities (the same on every run).
fn events(n: usize) -> Vec<(MemberId, Body)> {
    let mut runner = TestRunner::deterministic();
    let tree = ops(3, n..n + 1).new_tree(&mut runner).expect("a script");
    script(&[SHANGHAI, HANGZHOU, HEFEI], &tree.current())
}

fn info(view: &View) -> pb::ViewInfoResponse {
    view.info(&pb::ViewInfoRequest::default())
        .expect("view info")
}

/// Appends `events` to a sled log in `dir`, and folds them into a view as a follower
/// does, a few hundred at a time; returns the log and that view.
async fn followed(dir: &Path, events: &[(MemberId, Body)]) -> (Log, View) {
    let log = Log::open(dir).expect("open log");
    let view = View::new(config());
    for step in events.chunks(300) {
        append_all(&log, step).await;
        assert!(view.catch_up(&log).expect("fold") <= 300);
    }
    (log, view)
}

#[tokio::test]
async fn a_fold_of_many_batches_folds_every_event_once_and_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let events = events(EVENTS);
    let (log, followed) = followed(&tmp.path().join("log"), &events).await;
    let head = log.head();
    assert!(head >= EVENTS as u64, "the script appends {head} events");

    let replayed = View::new(config());
    assert_eq!(replayed.catch_up(&log).expect("replay"), head);
    assert_eq!(replayed.position(), head);
    assert_eq!(
        replayed.digest(Cut::Newest),
        followed.digest(Cut::Newest),
        "a replay folds to the view the follower folded"
    );
    assert_eq!(info(&replayed), info(&followed));
    let now = pb::TimeAxes::default();
    assert_eq!(
        battery(&replayed, &now, &CITIES),
        battery(&followed, &now, &CITIES)
    );
    // Record time too: every position's state, not only the last.
    for at in [1, 2_048, 2_049, 4_097, head / 2, head] {
        assert_eq!(
            replayed.digest(Cut::At(at)),
            followed.digest(Cut::At(at)),
            "at position {at}"
        );
    }
    // Nothing more to fold.
    assert_eq!(replayed.catch_up(&log).expect("again"), 0);
}

#[tokio::test]
async fn a_batch_that_cannot_be_read_ends_the_fold_with_its_error() {
    use std::os::unix::fs::FileExt;

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let (log, _) = followed(&dir, &events(EVENTS)).await;
    let head = log.head();
    // A byte of a record halfway into the records file, flipped under the open log (an
    // open reads every chunk of this script's interleaved streams and would refuse it): a
    // chunk past the fold's first batches fails its check when it is read.
    let records = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("records"))
        .expect("open records");
    let bytes = std::fs::read(dir.join("records")).expect("read records");
    let used = bytes.iter().rposition(|b| *b != 0).expect("records") + 1;
    records
        .write_all_at(&[bytes[used / 2] ^ 0x5a], (used / 2) as u64)
        .expect("flip a byte");

    let view = View::new(config());
    let err = view
        .catch_up(&log)
        .expect_err("a damaged chunk is not folded past");
    assert!(
        matches!(err, hub_view::Error::Log(hub_log::Error::Corrupt { .. })),
        "{err}"
    );
    let folded = view.position();
    assert!(
        (2_048..head).contains(&folded),
        "the batches before the damage are folded, none after: {folded} of {head}"
    );
    // The fold stops at the same place however often it is asked.
    assert!(view.catch_up(&log).is_err());
    assert_eq!(view.position(), folded);
}
