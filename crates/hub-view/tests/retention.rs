//! Retention as the view answers it: when each kind of entity ends, that it is kept for
//! `retention_days` days after and due the day after that, that only the node's own
//! cities' entities not erased yet are due, and the erasure to publish for each.

mod support;

use std::collections::BTreeSet;

use hub_log::Log;
use hub_types::event::{AwardErased, EntryErased};
use hub_types::values::{AwardEnd, ErasureReason, RevokeReason, Text};
use hub_types::{Body, Date, MemberId};
use hub_view::{DueErasure, View};
use support::*;

/// Days of retention in these tests.
const DAYS: u32 = 30;

/// A view of `events`, each appended by its city; the directory lives as long as the view
/// is used.
async fn view_of(events: &[(&str, Body)]) -> (tempfile::TempDir, View) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path().join("log")).expect("log");
    for (origin, body) in events {
        append(&log, origin, body.clone()).await;
    }
    let view = View::open(config(), &log).expect("view");
    (dir, view)
}

fn shanghai() -> BTreeSet<MemberId> {
    [m(SHANGHAI)].into()
}

/// The streams due for erasure on `today` among Shanghai's, with [`DAYS`] of retention.
fn due(view: &View, today: Date) -> Vec<String> {
    view.due_for_erasure(&shanghai(), today, DAYS)
        .into_iter()
        .map(|e| e.stream.to_string())
        .collect()
}

fn days_after(date: &str, days: u32) -> Date {
    Date::from_days_since_epoch(d(date).days_since_epoch() + days as i32)
}

/// Asserts that `stream` ended on `ended`: it is kept on the last day of its retention
/// and due on the day after.
fn assert_ended_on(view: &View, stream: &str, ended: &str) {
    let last_kept = days_after(ended, DAYS);
    assert!(
        !due(view, last_kept).iter().any(|s| s == stream),
        "{stream} is due on {last_kept}, within its retention after {ended}"
    );
    let first_due = days_after(ended, DAYS + 1);
    assert!(
        due(view, first_due).iter().any(|s| s == stream),
        "{stream} is not due on {first_due}, past its retention after {ended}"
    );
}

fn order_erasure(entry_id: &str) -> EntryErased {
    EntryErased {
        entry_id: entry_id.parse().expect("id"),
        reason: ErasureReason::Order,
        order_ref: Text::new("(2026)沪0101民初1号", 200, false).expect("text"),
    }
}

fn retention_erasure(entry_id: &str) -> EntryErased {
    EntryErased {
        entry_id: entry_id.parse().expect("id"),
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    }
}

#[tokio::test]
async fn a_blacklist_entry_ends_at_its_expiry_or_its_revocation() {
    let s = subject(1);
    let (_dir, view) = view_of(&[
        (SHANGHAI, added("expired", &s, "2019-01-01", "2020-01-01")),
        (SHANGHAI, added("revoked", &s, "2019-01-01", "2030-01-01")),
        (
            SHANGHAI,
            revoked("revoked", RevokeReason::AppealUpheld, "2021-01-01"),
        ),
        (SHANGHAI, added("suspended", &s, "2019-01-01", "2030-01-01")),
        (SHANGHAI, suspended("suspended", "2019-06-01")),
    ])
    .await;
    assert_ended_on(&view, "blacklist/310000/expired", "2020-01-01");
    assert_ended_on(&view, "blacklist/310000/revoked", "2021-01-01");
    // A suspension may still be reinstated: the entry runs to its expiry.
    assert_ended_on(&view, "blacklist/310000/suspended", "2030-01-01");
}

#[tokio::test]
async fn a_whitelist_entry_ends_at_its_last_day_after_renewals_or_its_removal() {
    let s = subject(2);
    let (_dir, view) = view_of(&[
        (
            SHANGHAI,
            wl_added("expired", &s, "2019-01-01", "2020-01-01"),
        ),
        (
            SHANGHAI,
            wl_added("renewed", &s, "2019-01-01", "2020-01-01"),
        ),
        (SHANGHAI, wl_renewed("renewed", "2022-06-30")),
        (
            SHANGHAI,
            wl_added("removed", &s, "2019-01-01", "2030-12-31"),
        ),
        (SHANGHAI, wl_removed("removed", "2021-03-15")),
        (SHANGHAI, wl_added("lapsed", &s, "2019-01-01", "2020-01-01")),
        (SHANGHAI, wl_removed("lapsed", "2020-09-01")),
    ])
    .await;
    assert_ended_on(&view, "whitelist/310000/expired", "2020-01-01");
    assert_ended_on(&view, "whitelist/310000/renewed", "2022-06-30");
    assert_ended_on(&view, "whitelist/310000/removed", "2021-03-15");
    // Removed after its last day: it had ended already.
    assert_ended_on(&view, "whitelist/310000/lapsed", "2020-01-01");
}

#[tokio::test]
async fn an_award_ends_with_its_funding_after_amendments_or_when_withdrawn() {
    let s = subject(3);
    let (_dir, view) = view_of(&[
        (
            SHANGHAI,
            granted("completed", &s, "2019-01-01", "2020-12-31"),
        ),
        (SHANGHAI, granted("amended", &s, "2019-01-01", "2020-12-31")),
        (SHANGHAI, amended("amended", "2019-01-01", "2021-06-30")),
        (
            SHANGHAI,
            granted("withdrawn", &s, "2019-01-01", "2030-12-31"),
        ),
        (
            SHANGHAI,
            award_ended("withdrawn", AwardEnd::Withdrawn, "2021-04-01"),
        ),
        (SHANGHAI, granted("clawed", &s, "2019-01-01", "2030-12-31")),
        (
            SHANGHAI,
            award_ended("clawed", AwardEnd::ClawedBack, "2021-05-10"),
        ),
    ])
    .await;
    assert_ended_on(&view, "award/310000/completed", "2020-12-31");
    assert_ended_on(&view, "award/310000/amended", "2021-06-30");
    assert_ended_on(&view, "award/310000/withdrawn", "2021-04-01");
    assert_ended_on(&view, "award/310000/clawed", "2021-05-10");
}

#[tokio::test]
async fn only_the_own_cities_entities_not_yet_erased_are_due_with_their_erasure() {
    let s = subject(4);
    let (_dir, view) = view_of(&[
        (
            SHANGHAI,
            granted("sh-award", &s, "2019-01-01", "2020-01-01"),
        ),
        (SHANGHAI, wl_added("sh-wl", &s, "2019-01-01", "2020-01-01")),
        (SHANGHAI, added("sh-bl", &s, "2019-01-01", "2020-01-01")),
        (
            SHANGHAI,
            wl_added("sh-ordered", &s, "2019-01-01", "2020-01-01"),
        ),
        (
            SHANGHAI,
            Body::WhitelistEntryErased(order_erasure("sh-ordered")),
        ),
        (JIAXING, wl_added("jx-wl", &s, "2019-01-01", "2020-01-01")),
        (JIAXING, granted("jx-award", &s, "2019-01-01", "2020-01-01")),
    ])
    .await;
    let today = d("2025-01-01");
    let expected = vec![
        DueErasure {
            stream: "blacklist/310000/sh-bl".parse().expect("stream"),
            body: Body::BlacklistEntryErased(retention_erasure("sh-bl")),
        },
        DueErasure {
            stream: "whitelist/310000/sh-wl".parse().expect("stream"),
            body: Body::WhitelistEntryErased(retention_erasure("sh-wl")),
        },
        DueErasure {
            stream: "award/310000/sh-award".parse().expect("stream"),
            body: Body::AwardErased(AwardErased {
                award_id: "sh-award".parse().expect("id"),
                reason: ErasureReason::RetentionEnded,
                order_ref: Text::default(),
            }),
        },
    ];
    assert_eq!(view.due_for_erasure(&shanghai(), today, DAYS), expected);
    // Jiaxing's are due on Jiaxing's node, not on Shanghai's.
    let jiaxing = [m(JIAXING)].into();
    let theirs: Vec<String> = view
        .due_for_erasure(&jiaxing, today, DAYS)
        .into_iter()
        .map(|e| e.stream.to_string())
        .collect();
    assert_eq!(theirs, ["whitelist/330400/jx-wl", "award/330400/jx-award"]);
}

#[tokio::test]
async fn the_longest_retention_never_makes_anything_due() {
    let s = subject(5);
    let (_dir, view) = view_of(&[
        (SHANGHAI, added("bl", &s, "2019-01-01", "2020-01-01")),
        (SHANGHAI, wl_added("wl", &s, "2019-01-01", "2020-01-01")),
        (SHANGHAI, granted("award", &s, "2019-01-01", "2020-01-01")),
    ])
    .await;
    assert_eq!(
        view.due_for_erasure(&shanghai(), d("2100-01-01"), u32::MAX),
        []
    );
}
