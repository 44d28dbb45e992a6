//! Record time: every answer as of position P equals the answer of a fresh view built from
//! the log's first P events only, and `as_of` instants resolve to the positions the log had
//! stored by then (the events' `stored_at`).

mod support;

use hub_log::Log;
use hub_proto::pb;
use hub_types::values::RevokeReason;
use hub_types::ExpectedVersion;
use hub_view::{Cut, View};
use proptest::prelude::*;
use support::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn at(position: u64) -> pb::TimeAxes {
    pb::TimeAxes {
        at_position: position,
        ..Default::default()
    }
}

fn info(view: &View, at_position: u64) -> pb::ViewInfoResponse {
    view.info(&pb::ViewInfoRequest { at_position })
        .expect("view info")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn answers_at_a_position_equal_a_fresh_replay_of_that_prefix(
        origins in 2usize..=4,
        ops in ops(4, 1..80),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
    ) {
        let cities = &CITIES[..origins];
        let events = script(cities, &ops);
        runtime().block_on(async {
            let log = Log::in_memory();
            append_all(&log, &events).await;
            let full = View::open(config(), &log).expect("open the full view");
            let stored = log.read_all(hub_types::Position::FIRST, usize::MAX).expect("read the log");
            let all: Vec<pb::EventRecord> = stored.iter().map(|e| e.record.clone()).collect();
            for cut in &cuts {
                let p = cut.index(all.len()) as u64 + 1;
                let prefix = Log::in_memory();
                ingest_all(&prefix, &all[..p as usize], 5).await;
                let fresh = View::open(config(), &prefix).expect("open the fresh view");
                assert_eq!(fresh.position(), p);

                let then = battery(&full, &at(p), cities);
                assert_eq!(then, battery(&fresh, &pb::TimeAxes::default(), cities), "at {p}");
                assert_eq!(info(&full, p), info(&fresh, 0), "view info at {p}");
                assert_eq!(full.digest(Cut::At(p)), fresh.digest(Cut::Newest), "digest at {p}");

                // One append per event, so every event has its own instant.
                let instant = stored[p as usize - 1].stored_at.micros();
                let time = as_of("", instant).expect("time axes");
                assert_eq!(battery(&full, &time, cities), then, "as of {instant}");
            }
            assert_eq!(full.digest(Cut::At(full.position())), full.digest(Cut::Newest));
            assert_eq!(full.digest(Cut::At(0)), View::new(config()).digest(Cut::Newest));
        });
    }
}

#[tokio::test]
async fn as_of_instants_resolve_to_what_was_stored_by_then() {
    let log = Log::in_memory();
    let s = subject(7);
    append(
        &log,
        SHANGHAI,
        added("sh-1", &s, "2026-01-01", "2027-12-31"),
    )
    .await;
    append(&log, SUZHOU, added("sz-1", &s, "2026-02-01", "2027-12-31")).await;
    // Three steps in one append share one instant.
    let stream = stream_of(m(HANGZHOU), &added("hz-1", &s, "2026-01-01", "2027-12-31"));
    let batch = vec![
        new_event(added("hz-1", &s, "2026-01-01", "2027-12-31")),
        new_event(suspended("hz-1", "2026-03-01")),
        new_event(reinstated("hz-1", "2026-04-01")),
    ];
    let appended = log
        .append(&stream, ExpectedVersion::NoStream, batch)
        .await
        .expect("append a batch");
    assert_eq!((appended.first.get(), appended.last.get()), (3, 5));
    append(
        &log,
        SHANGHAI,
        revoked("sh-1", RevokeReason::Error, "2026-05-01"),
    )
    .await;
    let view = View::open(config(), &log).expect("open the view");

    let stored: Vec<i64> = log
        .read_all(hub_types::Position::FIRST, usize::MAX)
        .expect("read the log")
        .iter()
        .map(|e| e.stored_at.micros())
        .collect();
    assert_eq!(stored.len(), 6);
    assert!(stored.windows(2).all(|w| w[0] <= w[1]), "{stored:?}");
    assert_eq!(stored[2], stored[4], "one append, one instant");

    let check = |time| {
        view.check_subject(&pb::CheckSubjectRequest {
            time,
            subject_ref: s.clone(),
            ..Default::default()
        })
        .expect("check_subject")
    };
    let known_at = |t: i64| stored.iter().filter(|s| **s <= t).count() as u64;
    for &t in &stored {
        for instant in [t - 1, t, t + 1] {
            let answer = check(as_of("2026-06-01", instant));
            let position = known_at(instant);
            assert_eq!(answer.basis.as_ref().expect("basis").position, position);
            if position == 0 {
                assert!(answer.entries.is_empty(), "as of {instant}");
                continue;
            }
            assert_eq!(answer, check(on("2026-06-01", position)), "as of {instant}");
        }
    }
    // Mid-batch instants do not exist: the batch is seen whole or not at all.
    let during = check(as_of("2026-06-01", stored[2]));
    assert_eq!(during.basis.as_ref().expect("basis").position, 5);
    assert_eq!(during.entries.len(), 3);
    let hz = &during.entries[2];
    assert_eq!(hz.origin, HANGZHOU);
    assert_eq!(
        hz.history,
        ["suspended 2026-03-01", "reinstated 2026-04-01"]
    );

    // Before the first event nothing was known; after the last, everything.
    let before = check(as_of("2026-06-01", stored[0] - 1));
    assert!(before.entries.is_empty() && !before.any_active);
    let after = check(as_of("2026-06-01", stored[5] + 60_000_000));
    assert_eq!(after, check(on("2026-06-01", 0)));
    assert_eq!(after.basis.as_ref().expect("basis").position, 6);
    // The revocation was recorded last: as of the batch, Shanghai's entry was active.
    let sh_then = &during.entries[0];
    assert_eq!(sh_then.status, pb::EntryStatus::Active as i32);
    assert_eq!(after.entries[0].status, pb::EntryStatus::Revoked as i32);
}

#[tokio::test]
async fn view_info_at_a_position_counts_only_what_came_before() {
    let log = Log::in_memory();
    append(
        &log,
        SHANGHAI,
        added("sh-1", &subject(1), "2026-01-01", "2027-12-31"),
    )
    .await;
    append(
        &log,
        SHANGHAI,
        revoked("sh-1", RevokeReason::Error, "2026-02-01"),
    )
    .await;
    // Suspending a revoked entry makes no sense: the fold ignores it.
    append(&log, SHANGHAI, suspended("sh-1", "2026-03-01")).await;
    append(
        &log,
        SUZHOU,
        added("sz-1", &subject(2), "2026-01-01", "2027-12-31"),
    )
    .await;
    let view = View::open(config(), &log).expect("open the view");

    let now = info(&view, 0);
    assert_eq!(now.ignored, 1);
    assert_eq!(now.position, 4);
    let before = info(&view, 2);
    assert_eq!(before.position, 2);
    assert_eq!(before.ignored, 0, "the ignored event came after position 2");
    let origins: Vec<(String, u64)> = before
        .origin_vector
        .iter()
        .map(|o| (o.origin.clone(), o.origin_seq))
        .collect();
    assert_eq!(origins, [(SHANGHAI.to_owned(), 2)]);
    assert_eq!(info(&view, 3).ignored, 1);
}
