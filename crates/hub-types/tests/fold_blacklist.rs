//! Lifecycle tests of the fold for blacklist entries: statuses over time, suspension,
//! reinstatement and revocation, the subject index, and erasure, including how an erasure
//! folds against another origin's events.

mod support;

use hub_types::event::EntryErased;
use hub_types::fold::{EntryStatus, Step};
use hub_types::values::{ErasureReason, RevokeReason, Text};
use hub_types::{Body, EventKind, LocalId, MemberId};
use support::*;

fn entry_key() -> (MemberId, LocalId) {
    (member(HANGZHOU), id(ENTRY))
}

fn status(log: &Log, day: &str) -> EntryStatus {
    log.view.entries[&entry_key()].current().status_on(d(day))
}

#[test]
fn an_entry_is_pending_then_active_then_expired() {
    let mut log = Log::default();
    log.changed(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    assert_eq!(status(&log, "2025-06-14"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-06-15"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-14"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-15"), EntryStatus::Expired);
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry.origin, member(HANGZHOU));
    assert!(entry.steps.is_empty());
    assert!(entry.revocation().is_none());
}

#[test]
fn a_suspended_entry_is_active_again_once_reinstated() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.changed(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    let suspended_at = log.position();
    log.changed(ENTRY_STREAM, reinstated(ENTRY, "2026-01-20"));

    assert_eq!(status(&log, "2025-06-01"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-11-02"), EntryStatus::Active);
    assert_eq!(status(&log, "2025-11-03"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-01-19"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-01-20"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-15"), EntryStatus::Expired);

    // Before the reinstatement was recorded, the hub answered "suspended" for February.
    let then = log.view.entries[&entry_key()]
        .at(Some(suspended_at))
        .expect("entry existed");
    assert_eq!(then.status_on(d("2026-02-01")), EntryStatus::Suspended);

    // A second appeal after reinstatement is allowed.
    log.changed(ENTRY_STREAM, suspended(ENTRY, "2026-05-01"));
    assert_eq!(status(&log, "2026-04-30"), EntryStatus::Active);
    assert_eq!(status(&log, "2026-05-01"), EntryStatus::Suspended);
}

#[test]
fn an_upheld_appeal_revokes_the_entry_from_its_date() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    log.changed(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-03-15", RevokeReason::AppealUpheld),
    );

    assert_eq!(status(&log, "2025-08-09"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-11-30"), EntryStatus::Active);
    assert_eq!(status(&log, "2025-12-01"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-03-14"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-03-15"), EntryStatus::Revoked);
    // Revocation wins over the end of the period.
    assert_eq!(status(&log, "2028-08-10"), EntryStatus::Revoked);

    let entry = log.view.entries[&entry_key()].current();
    let (reason, t) = entry.revocation().expect("revoked");
    assert_eq!(reason, RevokeReason::AppealUpheld);
    assert_eq!(t.effective_at, d("2026-03-15"));
    assert_eq!(
        entry.steps.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![Step::Suspended, Step::Revoked(RevokeReason::AppealUpheld)]
    );
}

#[test]
fn nothing_follows_a_revocation() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-01-01", RevokeReason::Error),
    );
    let before = log.view.entries[&entry_key()].current().clone();
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2026-02-01"));
    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2026-02-01"));
    log.ignored(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-02-01", RevokeReason::CreditRepaired),
    );
    assert_eq!(log.view.entries[&entry_key()].current(), &before);
    assert_eq!(log.view.ignored, 3);
}

#[test]
fn steps_out_of_lifecycle_order_are_ignored() {
    let mut log = Log::default();
    // Unknown entry.
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    // Adding the same entry again.
    log.ignored(ENTRY_STREAM, added(ENTRY, 2, "2025-08-10", "2028-08-09"));
    // Reinstating what was never suspended.
    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2025-12-01"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    // Suspending twice.
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2025-12-02"));
    assert_eq!(log.view.ignored, 4);
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry.added.subject_ref, subject(1));
    assert_eq!(entry.steps.len(), 1);
}

#[test]
fn entries_are_indexed_by_subject_across_cities() {
    let mut log = Log::default();
    log.apply(
        "blacklist/310000/sh-2025-0012",
        added("sh-2025-0012", 7, "2025-03-20", "2028-03-19"),
    );
    log.apply(
        "blacklist/320500/sz-2026-0002",
        added("sz-2026-0002", 7, "2026-02-10", "2027-02-09"),
    );
    log.apply(ENTRY_STREAM, added(ENTRY, 8, "2025-06-15", "2027-06-14"));
    assert_eq!(
        log.view.entries_by_subject[&subject(7)],
        vec![
            (member(SHANGHAI), id("sh-2025-0012")),
            (member(SUZHOU), id("sz-2026-0002"))
        ]
    );
    assert_eq!(log.view.entries_by_subject[&subject(8)], vec![entry_key()]);
}

// ---------------------------------------------------------------------------------------
// Erasure

const SH_ENTRY_STREAM: &str = "blacklist/310000/sh-2025-0012";
const SH_ENTRY: &str = "sh-2025-0012";

const ORDER_REF: &str = "（2026）浙0106民初1号";

#[test]
fn an_erased_entry_is_erased_on_every_date() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    let before_erasure = log.position();
    log.changed(
        ENTRY_STREAM,
        erased(ENTRY, ErasureReason::RetentionEnded, ""),
    );

    // Before, during and after the period, suspended or not: erased.
    for day in [
        "2000-01-01",
        "2025-06-14",
        "2025-06-15",
        "2025-11-02",
        "2025-11-03",
        "2027-06-14",
        "2027-06-15",
        "2199-12-31",
    ] {
        assert_eq!(status(&log, day), EntryStatus::Erased, "{day}");
    }
    let history = &log.view.entries[&entry_key()];
    let entry = history.current();
    assert_eq!(
        entry.erased,
        Some(EntryErased {
            entry_id: id(ENTRY),
            reason: ErasureReason::RetentionEnded,
            order_ref: Text::default(),
        })
    );
    // The entry stays in the view, its decision and steps with it.
    assert_eq!(entry.added.subject_ref, subject(1));
    assert_eq!(
        entry.steps.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![Step::Suspended]
    );
    assert_eq!(log.view.entries_by_subject[&subject(1)], vec![entry_key()]);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryErased], 1);
    assert_eq!(log.view.ignored, 0);

    // What the hub knew before the erasure was recorded: the old statuses.
    let then = history.at(Some(before_erasure)).expect("entry existed");
    assert!(then.erased.is_none());
    assert_eq!(then.status_on(d("2025-06-14")), EntryStatus::Pending);
    assert_eq!(then.status_on(d("2025-11-02")), EntryStatus::Active);
    assert_eq!(then.status_on(d("2025-11-03")), EntryStatus::Suspended);
    assert_eq!(then.status_on(d("2027-06-15")), EntryStatus::Expired);
    assert_eq!(history.at(Some(log.position())), Some(entry));
    assert_ne!(
        log.view.digest(Some(before_erasure)),
        log.view.digest(None),
        "the erasure is part of the digest"
    );
}

#[test]
fn erasure_wins_over_a_revocation() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-01-01", RevokeReason::Error),
    );
    let revoked_at = log.position();
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));

    for day in ["2025-08-09", "2025-12-31", "2026-01-01", "2028-08-10"] {
        assert_eq!(status(&log, day), EntryStatus::Erased, "{day}");
    }
    let history = &log.view.entries[&entry_key()];
    let erasure = history.current().erased.as_ref().expect("erased");
    assert_eq!(erasure.reason, ErasureReason::Order);
    assert_eq!(erasure.order_ref, text(ORDER_REF));
    // The revocation is still recorded.
    assert_eq!(
        history.current().revocation().map(|(r, _)| r),
        Some(RevokeReason::Error)
    );
    let then = history.at(Some(revoked_at)).expect("entry existed");
    assert_eq!(then.status_on(d("2026-01-01")), EntryStatus::Revoked);
    assert_eq!(then.status_on(d("2025-12-31")), EntryStatus::Active);
}

#[test]
fn nothing_follows_an_erasure() {
    let mut log = Log::default();
    // Suspended, then erased: a reinstatement or a revocation would be allowed otherwise.
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    // Erased with no step: a suspension would be allowed otherwise.
    log.apply(
        SH_ENTRY_STREAM,
        added(SH_ENTRY, 2, "2025-03-20", "2028-03-19"),
    );
    log.changed(
        SH_ENTRY_STREAM,
        erased(SH_ENTRY, ErasureReason::RetentionEnded, ""),
    );
    let hz_before = log.view.entries[&entry_key()].current().clone();
    let sh_key = (member(SHANGHAI), id(SH_ENTRY));
    let sh_before = log.view.entries[&sh_key].current().clone();
    assert_eq!(log.view.ignored, 0);

    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2026-01-20"));
    log.ignored(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-02-01", RevokeReason::AppealUpheld),
    );
    log.ignored(SH_ENTRY_STREAM, suspended(SH_ENTRY, "2026-02-01"));
    log.ignored(
        SH_ENTRY_STREAM,
        revoked(SH_ENTRY, "2026-02-01", RevokeReason::CreditRepaired),
    );

    assert_eq!(log.view.entries[&entry_key()].current(), &hz_before);
    assert_eq!(log.view.entries[&sh_key].current(), &sh_before);
    assert_eq!(status(&log, "2026-03-01"), EntryStatus::Erased);
    assert_eq!(log.view.ignored, 4);
    assert_eq!(log.view.event_count(), 9);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryReinstated], 1);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryRevoked], 2);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntrySuspended], 2);
}

#[test]
fn erasing_twice_or_an_unknown_entry_is_ignored() {
    let mut log = Log::default();
    // No such entry yet.
    log.ignored(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    assert!(log.view.entries.is_empty());

    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    let first = log.view.entries[&entry_key()].current().clone();
    // Erasing it again, for another reason.
    log.ignored(
        ENTRY_STREAM,
        erased(ENTRY, ErasureReason::RetentionEnded, ""),
    );
    // Another city cannot erase Hangzhou's entry by naming the same id in its own stream.
    log.ignored(
        "blacklist/310000/hz-2025-0007",
        erased(ENTRY, ErasureReason::Order, ORDER_REF),
    );

    // The first erasure stands.
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry, &first);
    assert_eq!(
        entry.erased.as_ref().map(|e| e.reason),
        Some(ErasureReason::Order)
    );
    assert_eq!(log.view.entries.len(), 1);
    assert_eq!(log.view.ignored, 3);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryErased], 4);
    assert_eq!(log.view.event_count(), 5);
}

#[test]
fn an_erasure_folds_alike_before_or_after_another_origins_events() {
    // Hangzhou adds and erases its entry; Shanghai adds, suspends and revokes an entry
    // about the same person.
    let hangzhou = [
        (ENTRY_STREAM, added(ENTRY, 7, "2025-06-15", "2027-06-14")),
        (ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF)),
    ];
    let shanghai = [
        (
            SH_ENTRY_STREAM,
            added(SH_ENTRY, 7, "2025-03-20", "2028-03-19"),
        ),
        (SH_ENTRY_STREAM, suspended(SH_ENTRY, "2025-06-01")),
        (
            SH_ENTRY_STREAM,
            revoked(SH_ENTRY, "2025-08-01", RevokeReason::AppealUpheld),
        ),
    ];
    let fold = |order: &[&(&str, Body)]| {
        let mut log = Log::default();
        for (stream, body) in order {
            log.changed(stream, body.clone());
        }
        log
    };
    let [hz_add, hz_erase] = &hangzhou;
    let [sh_add, sh_suspend, sh_revoke] = &shanghai;
    // The erasure before Shanghai's events, and after them.
    let erased_first = fold(&[hz_add, hz_erase, sh_add, sh_suspend, sh_revoke]);
    let erased_last = fold(&[sh_add, hz_add, sh_suspend, sh_revoke, hz_erase]);
    let erased_between = fold(&[hz_add, sh_add, sh_suspend, hz_erase, sh_revoke]);
    for other in [&erased_last, &erased_between] {
        assert_eq!(other.view.digest(None), erased_first.view.digest(None));
        assert_eq!(observable(&other.view), observable(&erased_first.view));
    }

    // The erasure counts in the digest: the same events without it differ.
    let unerased = fold(&[hz_add, sh_add, sh_suspend, sh_revoke]);
    assert_ne!(unerased.view.digest(None), erased_first.view.digest(None));

    // Hangzhou's entry is erased, Shanghai's is revoked, both still indexed by subject.
    let view = &erased_last.view;
    assert_eq!(
        view.entries[&entry_key()]
            .current()
            .status_on(d("2026-01-01")),
        EntryStatus::Erased
    );
    let sh_key = (member(SHANGHAI), id(SH_ENTRY));
    let sh = view.entries[&sh_key].current();
    assert!(sh.erased.is_none());
    assert_eq!(sh.status_on(d("2026-01-01")), EntryStatus::Revoked);
    assert_eq!(
        view.entries_by_subject[&subject(7)],
        vec![sh_key, entry_key()]
    );
}
