//! Fold bookkeeping across families: unknown kinds are skipped and counted, and record-time
//! answers (`History::at`, the digest as of a position) match what the log held then.

mod support;

use hub_types::fold::Applied;
use hub_types::values::CloseReason;
use hub_types::{Body, EventKind};
use support::*;

#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    let digest = log.view.digest(None);
    assert_eq!(log.apply(SIGNAL, Body::Unknown), Applied::SkippedUnknown);
    assert_eq!(log.apply(JX_LIST, Body::Unknown), Applied::SkippedUnknown);

    assert_eq!(log.view.skipped_unknown(), 2);
    assert_eq!(log.view.counts[&EventKind::Unknown], 2);
    assert_eq!(log.view.event_count(), 3);
    assert_eq!(log.view.ignored, 0);
    assert_eq!(log.view.position, Some(pos(3)));
    assert_eq!(log.view.digest(None), digest);
}

#[test]
fn history_answers_what_the_log_held_at_a_position() {
    let mut log = Log::default();
    log.apply(JX_LIST, withdrawn("other", "2026-01-01")); // 1: ignored
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 100))); // 2
    log.apply(JX_LIST, Body::Unknown); // 3
    log.apply(SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 200))); // 4
    log.apply(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Filled, 200, "2026-03-01"),
    ); // 5

    let history = &log.view.signals[&signal_key()];
    assert!(history.at(Some(pos(1))).is_none());
    let headcount = |p: u64| history.at(Some(pos(p))).map(|s| s.terms.headcount);
    assert_eq!(headcount(2), Some(100));
    assert_eq!(headcount(3), Some(100));
    assert_eq!(headcount(4), Some(200));
    assert!(history.at(Some(pos(4))).expect("exists").closed.is_none());
    assert!(history.at(Some(pos(5))).expect("exists").closed.is_some());
    assert!(history.at(Some(pos(99))).expect("exists").closed.is_some());
    assert_eq!(history.at(None), Some(history.current()));
    assert_eq!(history.created_at(), pos(2));
}

#[test]
fn digest_as_of_a_position_equals_a_fresh_replay_up_to_it() {
    let bodies: Vec<(&str, Body)> = vec![
        (
            JX_LIST,
            Body::CredentialRecognized(recognized(
                "r1",
                title("senior_deputy"),
                SHANGHAI,
                "2025-07-01",
            )),
        ),
        (SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 100))),
        (ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14")),
        (JX_LIST, withdrawn("r1", "2026-04-01")),
        (SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 120))),
        (ENTRY_STREAM, suspended(ENTRY, "2025-11-03")),
    ];
    let mut full = Log::default();
    for (stream, body) in &bodies {
        full.apply(stream, body.clone());
    }
    let mut digests = std::collections::BTreeSet::new();
    for cut in 0..=bodies.len() {
        let mut prefix = Log::default();
        for (stream, body) in &bodies[..cut] {
            prefix.apply(stream, body.clone());
        }
        if cut > 0 {
            let at = Some(pos(cut as u64));
            assert_eq!(full.view.digest(at), prefix.view.digest(None), "cut {cut}");
        }
        digests.insert(prefix.view.digest(None));
    }
    // Every event changed the view, so every prefix has its own digest.
    assert_eq!(digests.len(), bodies.len() + 1);
    assert_eq!(full.view.digest(None), full.view.digest(Some(pos(6))));
}
