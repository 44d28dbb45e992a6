//! The thirty-event fixture the query tests share, and the helpers that ask its view the
//! questions more than one of those tests asks.

use std::collections::BTreeMap;
use std::fmt::Debug;

use hub_log::{Log, MemStore};
use hub_proto::pb;
use hub_types::values::{CloseReason, CredentialKind, Industry, RevokeReason};
use hub_types::Body;
use hub_view::{Error, View};

use super::*;

// ---------------------------------------------------------------------------------------
// The fixture

/// The fixture's log and view, and the positions of the events the tests go back to.
pub struct Fixture {
    pub log: Log<MemStore>,
    pub view: View,
    pub at: BTreeMap<&'static str, u64>,
}

/// The subject of Shanghai's suspended-then-revoked entry and of Suzhou's entry.
pub fn s1() -> String {
    subject(0x11)
}
/// The subject of Hangzhou's entry and of Shanghai's entry from 2026-07-01.
pub fn s2() -> String {
    subject(0x22)
}
/// The subject of Shanghai's entry revoked as an error.
pub fn s3() -> String {
    subject(0x33)
}

/// A published demand signal.
pub fn signal(
    id: &str,
    industry: Industry,
    occ: &str,
    n: u32,
    period: &str,
    pay: (u32, u32),
) -> Body {
    Body::DemandSignalPublished(terms(id, industry, occ, n, period, pay))
}

/// Thirty events of four cities:
///
/// - recognition (1–9): Jiaxing recognises Shanghai's senior-deputy engineers (and any
///   city's, as a lower equivalent), Shanghai's skill level 4 (withdrawn from 2026-04-01)
///   and Hangzhou's talent tier B until 2026-06-30; Shanghai recognises Jiaxing's engineers
///   from 2026-02-01 and any city's structural engineers; Hangzhou recognises Shanghai's
///   tier B, revised to add a condition.
/// - demand (10–20): seven signals over 2026-Q1..Q3, one revised (60 → 70), one filled,
///   one cancelled, one expired.
/// - blacklist (21–30): five entries of three subjects; one suspended, reinstated,
///   suspended again and revoked; one revoked as an error.
pub async fn fixture() -> Fixture {
    let log = Log::in_memory();
    let mut at = BTreeMap::new();
    let eng = || title("engineering", "senior_deputy");
    let sl4 = || credential(CredentialKind::SkillLevel, "6-31-01-03", "4");
    let tier = |scheme: &str| credential(CredentialKind::TalentTier, scheme, "B");
    let licence = credential(
        CredentialKind::Licence,
        "registered-structural-engineer",
        "class-1",
    );
    let r = |id, c, i, local, from, until| recognized(id, c, i, local, "", from, until);
    use Industry::{ArtificialIntelligence as Ai, IntegratedCircuits as Ic};

    let events: Vec<(&str, Body, Option<&'static str>)> = vec![
        (
            JIAXING,
            r(
                "jx-pt-sh-eng-sd",
                eng(),
                SHANGHAI,
                "senior_deputy",
                "2026-01-01",
                None,
            ),
            None,
        ),
        (
            JIAXING,
            r(
                "jx-pt-any-eng-sd",
                eng(),
                "*",
                "intermediate",
                "2026-01-01",
                None,
            ),
            None,
        ),
        (
            JIAXING,
            r("jx-sl-sh-4", sl4(), SHANGHAI, "skill-4", "2025-07-01", None),
            None,
        ),
        (
            JIAXING,
            r(
                "jx-tier-hz-b",
                tier("hangzhou-talent"),
                HANGZHOU,
                "tier-c",
                "2026-01-01",
                Some("2026-06-30"),
            ),
            None,
        ),
        (
            SHANGHAI,
            r(
                "sh-pt-jx-eng-sd",
                eng(),
                JIAXING,
                "senior_deputy",
                "2026-02-01",
                None,
            ),
            None,
        ),
        (
            SHANGHAI,
            r("sh-lic-any", licence, "*", "class-1", "2025-01-01", None),
            None,
        ),
        (
            HANGZHOU,
            r(
                "hz-tier-sh-b",
                tier("shanghai-talent"),
                SHANGHAI,
                "tier-b",
                "2025-01-01",
                None,
            ),
            None,
        ),
        (
            HANGZHOU,
            recognized(
                "hz-tier-sh-b",
                tier("shanghai-talent"),
                SHANGHAI,
                "tier-b",
                "须在本市缴纳社会保险满一年",
                "2025-01-01",
                None,
            ),
            Some("h1 revised"),
        ),
        (
            JIAXING,
            withdrawn("jx-sl-sh-4", "2026-04-01"),
            Some("r3 withdrawn"),
        ),
        (
            SHANGHAI,
            signal("sh-ic-q1", Ic, "2-02-09-06", 40, "2026-Q1", (20000, 30000)),
            None,
        ),
        (
            SHANGHAI,
            signal("sh-ic-q2", Ic, "2-02-09-06", 60, "2026-Q2", (22000, 32000)),
            None,
        ),
        (
            SHANGHAI,
            signal("sh-ai-q2", Ai, "2-02-10-09", 30, "2026-Q2", (18000, 28000)),
            None,
        ),
        (
            SUZHOU,
            signal("sz-ic-q2", Ic, "6-25-02-03", 50, "2026-Q2", (8000, 12000)),
            None,
        ),
        (
            SUZHOU,
            signal("sz-ic-q3", Ic, "6-25-02-03", 80, "2026-Q3", (9000, 13000)),
            None,
        ),
        (
            HANGZHOU,
            signal("hz-ai-q2", Ai, "2-02-10-09", 20, "2026-Q2", (15000, 25000)),
            None,
        ),
        (
            HANGZHOU,
            signal("hz-ai-q3", Ai, "2-02-10-09", 45, "2026-Q3", (16000, 26000)),
            None,
        ),
        (
            SHANGHAI,
            Body::DemandSignalRevised(terms(
                "sh-ic-q2",
                Ic,
                "2-02-09-06",
                70,
                "2026-Q2",
                (22000, 34000),
            )),
            Some("d2 revised"),
        ),
        (
            SHANGHAI,
            closed("sh-ai-q2", CloseReason::Filled, 25, "2026-05-15"),
            None,
        ),
        (
            SUZHOU,
            closed("sz-ic-q2", CloseReason::Cancelled, 0, "2026-04-20"),
            None,
        ),
        (
            HANGZHOU,
            closed("hz-ai-q2", CloseReason::Expired, 5, "2026-07-01"),
            None,
        ),
        (
            SHANGHAI,
            added("sh-2026-001", &s1(), "2026-02-01", "2028-01-31"),
            None,
        ),
        (
            SUZHOU,
            added("sz-2025-009", &s1(), "2025-01-01", "2025-12-31"),
            None,
        ),
        (
            HANGZHOU,
            added("hz-2026-002", &s2(), "2026-03-01", "2027-02-28"),
            None,
        ),
        (
            SHANGHAI,
            added("sh-2026-002", &s3(), "2026-01-01", "2026-12-31"),
            None,
        ),
        (
            SHANGHAI,
            added("sh-2026-003", &s2(), "2026-07-01", "2027-06-30"),
            None,
        ),
        (
            SHANGHAI,
            suspended("sh-2026-001", "2026-05-01"),
            Some("e1 suspended"),
        ),
        (SHANGHAI, reinstated("sh-2026-001", "2026-06-01"), None),
        (
            SHANGHAI,
            suspended("sh-2026-001", "2026-08-01"),
            Some("e1 suspended again"),
        ),
        (
            SHANGHAI,
            revoked("sh-2026-001", RevokeReason::AppealUpheld, "2026-09-01"),
            None,
        ),
        (
            SHANGHAI,
            revoked("sh-2026-002", RevokeReason::Error, "2026-03-01"),
            None,
        ),
    ];
    for (city, body, name) in events {
        let p = append(&log, city, body).await;
        if let Some(name) = name {
            at.insert(name, p);
        }
    }
    let view = View::open(config(), &log).expect("open the view");
    assert_eq!(view.position(), 30);
    Fixture { log, view, at }
}

// ---------------------------------------------------------------------------------------
// Questions

/// The field an `Invalid` error names; fails on any other outcome.
pub fn invalid<T: Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Invalid(e)) => {
            assert!(!e.reason.is_empty(), "a reason is given for {}", e.path);
            e.path
        }
        other => panic!("expected an invalid-argument error, got {other:?}"),
    }
}

/// Each rule as `recognizer/rule_id`.
pub fn rule_ids(rules: &[pb::RecognitionRule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| format!("{}/{}", r.recognizer, r.rule_id))
        .collect()
}

/// The rules of one unpaged `ListRecognitions` answer, as `recognizer/rule_id`.
pub fn list(v: &View, date: &str, recognizer: &str, issuer: &str, inactive: bool) -> Vec<String> {
    let page = v
        .list_recognitions(&pb::ListRecognitionsRequest {
            time: on(date, 0),
            recognizer: recognizer.to_owned(),
            issuer: issuer.to_owned(),
            include_inactive: inactive,
            page_size: 0,
            page_token: String::new(),
        })
        .expect("list_recognitions");
    assert!(page.next_page_token.is_empty());
    rule_ids(&page.rules)
}

/// A `DemandSummary` answer as `(key, open headcount, open signals, filled)` per group,
/// and the total open headcount.
pub fn summary(
    v: &View,
    date: &str,
    at: u64,
    group_by: pb::GroupBy,
    filter: Option<pb::DemandFilter>,
) -> (Vec<(String, u64, u32, u64)>, u64) {
    let r = v
        .demand_summary(&pb::DemandSummaryRequest {
            time: on(date, at),
            group_by: group_by as i32,
            filter,
        })
        .expect("demand_summary");
    let groups = r
        .groups
        .into_iter()
        .map(|g| (g.key, g.open_headcount, g.open_signals, g.filled))
        .collect();
    (groups, r.total_open_headcount)
}

/// A `DemandTrend` answer of the newest position.
pub fn trend(
    v: &View,
    date: &str,
    industry: Industry,
    city: &str,
    periods: u32,
) -> pb::DemandTrendResponse {
    v.demand_trend(&pb::DemandTrendRequest {
        time: on(date, 0),
        industry: hub_proto::convert::industry_to_proto(industry) as i32,
        city: city.to_owned(),
        periods,
    })
    .expect("demand_trend")
}

/// The points of a trend as `(period, demanded)`.
pub fn points(t: &pb::DemandTrendResponse) -> Vec<(String, u64)> {
    t.points
        .iter()
        .map(|p| (p.period.clone(), p.demanded))
        .collect()
}

/// One trend point as `points` gives it.
pub fn pt(period: &str, demanded: u64) -> (String, u64) {
    (period.to_owned(), demanded)
}

/// A `CheckSubject` answer.
pub fn check(v: &View, date: &str, at: u64, subject_ref: &str) -> pb::CheckSubjectResponse {
    v.check_subject(&pb::CheckSubjectRequest {
        time: on(date, at),
        subject_ref: subject_ref.to_owned(),
        ..Default::default()
    })
    .expect("check_subject")
}

/// The entries of a `CheckSubject` answer as `origin/entry_id` and status.
pub fn statuses(r: &pb::CheckSubjectResponse) -> Vec<(String, pb::EntryStatus)> {
    r.entries
        .iter()
        .map(|e| {
            let status = pb::EntryStatus::try_from(e.status).expect("a known status");
            (format!("{}/{}", e.origin, e.entry_id), status)
        })
        .collect()
}
