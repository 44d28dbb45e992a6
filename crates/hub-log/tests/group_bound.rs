//! One commit group holds at most 16 384 events (`writer.rs` `MAX_GROUP_EVENTS`): an append
//! that would carry it past starts the next group, and all are stored.

mod support;

use hub_log::Log;
use hub_types::Position;
use support::{queue, Pending, Plugged};

/// Events after which a group takes no further append.
const MAX_GROUP_EVENTS: usize = 16_384;

/// Events in each queued append: the most `server.max_events_per_append` allows by default.
const APPEND: usize = 1_000;

#[tokio::test]
async fn a_commit_group_holds_at_most_16384_events_and_all_are_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path()).expect("open");
    // One event holds the writer in its commit while the rest queue behind it.
    let plugged = Plugged::new(&log, "310000").await;
    let appends = 40;
    let queued: Vec<Pending> = (0..appends)
        .map(|a| queue(&log, "310000", &format!("queued-{a}"), APPEND))
        .collect();
    let plug = plugged.release().await;
    let mut stored = Vec::new();
    for append in queued {
        let appended = append.await.expect("appended");
        assert_eq!(
            appended.last.get() - appended.first.get() + 1,
            APPEND as u64
        );
        stored.push(appended.first.get());
    }

    let sizes = plug.sizes();
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
