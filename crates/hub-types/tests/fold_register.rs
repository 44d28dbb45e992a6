//! Lifecycle tests of the fold for the talent register: white-list entries (pending,
//! active, renewed, expired, removed, erased) and awards (funded, amended, withdrawn,
//! clawed back, erased), the subject indexes, and the steps the fold ignores.

mod support;

use hub_types::fold::{AwardStatus, WhitelistStatus};
use hub_types::values::AwardEnd;
use hub_types::{EventKind, LocalId, MemberId};
use support::*;

const WL_STREAM: &str = "whitelist/310000/sh-wl-2025-001";
const WL: &str = "sh-wl-2025-001";
const AWARD_STREAM: &str = "award/320500/sz-2025-017";
const AWARD: &str = "sz-2025-017";

fn wl_key() -> (MemberId, LocalId) {
    (member(SHANGHAI), id(WL))
}

fn award_key() -> (MemberId, LocalId) {
    (member(SUZHOU), id(AWARD))
}

fn wl_status(log: &Log, day: &str) -> WhitelistStatus {
    log.view.whitelist[&wl_key()].current().status_on(d(day))
}

fn award_status(log: &Log, day: &str) -> AwardStatus {
    log.view.awards[&award_key()].current().status_on(d(day))
}

#[test]
fn a_whitelist_entry_is_pending_then_active_then_expired() {
    let mut log = Log::default();
    log.changed(WL_STREAM, wl_added(WL, 7, "2025-07-01", "2028-06-30"));
    assert_eq!(wl_status(&log, "2025-06-30"), WhitelistStatus::Pending);
    assert_eq!(wl_status(&log, "2025-07-01"), WhitelistStatus::Active);
    assert_eq!(wl_status(&log, "2028-06-30"), WhitelistStatus::Active);
    assert_eq!(wl_status(&log, "2028-07-01"), WhitelistStatus::Expired);
    assert_eq!(
        log.view.whitelist_by_subject[&subject(7)],
        vec![wl_key()],
        "the subject index names the entry"
    );
    assert_eq!(log.view.whitelist[&wl_key()].current().version, 1);
}

#[test]
fn a_renewal_extends_and_only_extends() {
    let mut log = Log::default();
    log.apply(WL_STREAM, wl_added(WL, 7, "2025-07-01", "2028-06-30"));
    let before_renewal = log.position();
    log.changed(WL_STREAM, wl_renewed(WL, "2031-06-30"));
    assert_eq!(wl_status(&log, "2030-01-01"), WhitelistStatus::Active);
    assert_eq!(wl_status(&log, "2031-07-01"), WhitelistStatus::Expired);
    let entry = log.view.whitelist[&wl_key()].current();
    assert_eq!(entry.renewals.len(), 1);
    assert_eq!(entry.version, 2);
    // As of before the renewal, the entry had expired by 2030.
    let then = log.view.whitelist[&wl_key()]
        .at(Some(before_renewal))
        .expect("existed");
    assert_eq!(then.status_on(d("2030-01-01")), WhitelistStatus::Expired);

    // A renewal that does not move the last day later is ignored.
    log.ignored(WL_STREAM, wl_renewed(WL, "2031-06-30"));
    log.ignored(WL_STREAM, wl_renewed(WL, "2029-01-01"));
}

#[test]
fn a_removed_entry_takes_no_renewal_and_no_second_removal() {
    let mut log = Log::default();
    log.apply(WL_STREAM, wl_added(WL, 7, "2025-07-01", "2028-06-30"));
    log.changed(WL_STREAM, wl_removed(WL, "2026-03-01"));
    assert_eq!(wl_status(&log, "2026-02-28"), WhitelistStatus::Active);
    assert_eq!(wl_status(&log, "2026-03-01"), WhitelistStatus::Removed);
    // Removal wins over the period's end.
    assert_eq!(wl_status(&log, "2029-01-01"), WhitelistStatus::Removed);
    log.ignored(WL_STREAM, wl_renewed(WL, "2031-06-30"));
    log.ignored(WL_STREAM, wl_removed(WL, "2026-04-01"));
}

#[test]
fn an_erased_whitelist_entry_takes_nothing_more() {
    let mut log = Log::default();
    log.apply(WL_STREAM, wl_added(WL, 7, "2025-07-01", "2028-06-30"));
    log.changed(WL_STREAM, wl_erased(WL));
    assert_eq!(wl_status(&log, "2026-01-01"), WhitelistStatus::Erased);
    log.ignored(WL_STREAM, wl_renewed(WL, "2031-06-30"));
    log.ignored(WL_STREAM, wl_removed(WL, "2026-04-01"));
    log.ignored(WL_STREAM, wl_erased(WL));
    // Adding the same entry again is ignored too: an id names one entry forever.
    log.ignored(WL_STREAM, wl_added(WL, 8, "2025-07-01", "2028-06-30"));
    assert_eq!(log.view.counts[&EventKind::WhitelistEntryAdded], 2);
}

#[test]
fn steps_for_an_unknown_entry_or_award_are_ignored() {
    let mut log = Log::default();
    log.ignored(WL_STREAM, wl_renewed(WL, "2031-06-30"));
    log.ignored(WL_STREAM, wl_removed(WL, "2026-04-01"));
    log.ignored(WL_STREAM, wl_erased(WL));
    log.ignored(
        AWARD_STREAM,
        amended(AWARD, "2025-01-01", "2027-12-31", 100),
    );
    log.ignored(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::Withdrawn, "2026-01-01"),
    );
    log.ignored(AWARD_STREAM, award_erased(AWARD));
    assert!(log.view.whitelist.is_empty() && log.view.awards.is_empty());
    assert_eq!(log.view.ignored, 6);
}

#[test]
fn an_award_is_pending_then_active_then_completed() {
    let mut log = Log::default();
    log.changed(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    assert_eq!(award_status(&log, "2025-08-31"), AwardStatus::Pending);
    assert_eq!(award_status(&log, "2025-09-01"), AwardStatus::Active);
    assert_eq!(award_status(&log, "2028-08-31"), AwardStatus::Active);
    assert_eq!(award_status(&log, "2028-09-01"), AwardStatus::Completed);
    let award = log.view.awards[&award_key()].current();
    assert_eq!(
        award.funded_days(),
        Some((d("2025-09-01"), d("2028-08-31")))
    );
    assert_eq!(log.view.awards_by_subject[&subject(9)], vec![award_key()]);
}

#[test]
fn an_amendment_replaces_title_amount_and_period() {
    let mut log = Log::default();
    log.apply(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    let granted_at = log.position();
    log.changed(
        AWARD_STREAM,
        amended(AWARD, "2025-09-01", "2029-08-31", 2_000_000),
    );
    let award = log.view.awards[&award_key()].current();
    assert_eq!(award.terms.amount_cny, 2_000_000);
    assert_eq!(award.terms.funded_until, d("2029-08-31"));
    assert_eq!(award.terms.project_title.as_str(), "量子传感芯片（二期）");
    assert_eq!(award.amendments, 1);
    assert_eq!(award.version, 2);
    // The programme, category and level stay those granted.
    assert_eq!(award.terms.programme_code.as_str(), "sh-pujiang");
    let then = log.view.awards[&award_key()]
        .at(Some(granted_at))
        .expect("existed");
    assert_eq!(then.terms.amount_cny, 1_500_000);
}

#[test]
fn a_withdrawn_award_ends_the_day_before_and_takes_nothing_more() {
    let mut log = Log::default();
    log.apply(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    log.changed(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::Withdrawn, "2026-03-01"),
    );
    assert_eq!(award_status(&log, "2026-02-28"), AwardStatus::Active);
    assert_eq!(award_status(&log, "2026-03-01"), AwardStatus::Withdrawn);
    let award = log.view.awards[&award_key()].current();
    assert_eq!(
        award.funded_days(),
        Some((d("2025-09-01"), d("2026-02-28")))
    );
    log.ignored(
        AWARD_STREAM,
        amended(AWARD, "2025-09-01", "2029-08-31", 2_000_000),
    );
    log.ignored(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::ClawedBack, "2026-04-01"),
    );
}

#[test]
fn a_clawed_back_award_funds_no_day() {
    let mut log = Log::default();
    log.apply(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    log.changed(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::ClawedBack, "2026-03-01"),
    );
    assert_eq!(award_status(&log, "2026-03-01"), AwardStatus::ClawedBack);
    assert_eq!(log.view.awards[&award_key()].current().funded_days(), None);

    // Withdrawn before funding started: no funded day either.
    let mut log = Log::default();
    log.apply(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    log.changed(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::Withdrawn, "2025-09-01"),
    );
    assert_eq!(log.view.awards[&award_key()].current().funded_days(), None);
}

#[test]
fn an_erased_award_takes_nothing_more_and_erasure_wins() {
    let mut log = Log::default();
    log.apply(
        AWARD_STREAM,
        granted(AWARD, 9, "2025-09-01", "2028-08-31", 1_500_000),
    );
    log.apply(
        AWARD_STREAM,
        award_ended(AWARD, AwardEnd::Withdrawn, "2026-03-01"),
    );
    log.changed(AWARD_STREAM, award_erased(AWARD));
    assert_eq!(award_status(&log, "2026-01-01"), AwardStatus::Erased);
    log.ignored(AWARD_STREAM, award_erased(AWARD));
    log.ignored(
        AWARD_STREAM,
        amended(AWARD, "2025-09-01", "2029-08-31", 2_000_000),
    );
}

#[test]
fn a_subject_index_lists_entities_in_key_order_whatever_the_arrival() {
    let mut log = Log::default();
    log.apply(
        "award/330100/hz-2",
        granted("hz-2", 3, "2025-01-01", "2025-12-31", 10),
    );
    log.apply(
        "award/310000/sh-1",
        granted("sh-1", 3, "2025-01-01", "2025-12-31", 10),
    );
    log.apply(
        "award/320500/sz-1",
        granted("sz-1", 3, "2025-01-01", "2025-12-31", 10),
    );
    assert_eq!(
        log.view.awards_by_subject[&subject(3)],
        vec![
            (member(SHANGHAI), id("sh-1")),
            (member(SUZHOU), id("sz-1")),
            (member(HANGZHOU), id("hz-2")),
        ]
    );
}

#[test]
fn the_digest_keeps_older_sections_unchanged_until_the_register_holds_something() {
    let mut with = Log::default();
    let mut without = Log::default();
    for log in [&mut with, &mut without] {
        log.apply(
            "blacklist/330100/hz-2025-0007",
            added("hz-2025-0007", 1, "2025-06-15", "2027-06-14"),
        );
    }
    let before = with.view.digest(None);
    assert_eq!(before, without.view.digest(None));
    with.apply(WL_STREAM, wl_added(WL, 7, "2025-07-01", "2028-06-30"));
    assert_ne!(with.view.digest(None), before);
    // As of before the white-list entry, the digest is the one without the register.
    assert_eq!(with.view.digest(Some(pos(1))), before);
}
