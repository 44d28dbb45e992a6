//! Every `talenthub.v1.Query` question answered by a view of a real (in-memory) log, with
//! answers checked by hand on a small fixture and on the sample data in `config/samples/`,
//! and every rejection naming its field.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::PathBuf;

use hub_log::{Log, MemStore};
use hub_proto::convert::{credential_to_proto, timestamp_to_proto};
use hub_proto::pb;
use hub_types::roster::{Member, Roster};
use hub_types::values::{CloseReason, CredentialKind, Industry, RevokeReason};
use hub_types::{Body, Timestamp};
use hub_view::{Cut, Error, Thresholds, View, ViewConfig};
use support::*;

/// The method text every trend carries.
const METHOD: &str =
    "ordinary least squares over the shown periods (x = 0..n-1), evaluated at x = n, clamped at 0";

// ---------------------------------------------------------------------------------------
// The fixture

/// The fixture's log and view, and the positions of the events the tests go back to.
struct Fixture {
    log: Log<MemStore>,
    view: View,
    at: BTreeMap<&'static str, u64>,
}

fn s1() -> String {
    subject(0x11)
}
fn s2() -> String {
    subject(0x22)
}
fn s3() -> String {
    subject(0x33)
}

fn signal(id: &str, industry: Industry, occ: &str, n: u32, period: &str, pay: (u32, u32)) -> Body {
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
async fn fixture() -> Fixture {
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
// Helpers

/// The field an `Invalid` error names; fails on any other outcome.
fn invalid<T: Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Invalid(e)) => {
            assert!(!e.reason.is_empty(), "a reason is given for {}", e.path);
            e.path
        }
        other => panic!("expected an invalid-argument error, got {other:?}"),
    }
}

fn assert_close(got: f64, expected: f64) {
    assert!(
        (got - expected).abs() < 1e-9,
        "got {got}, expected {expected}"
    );
}

fn is_recognized(
    v: &View,
    date: &str,
    at: u64,
    recognizer: &str,
    c: hub_types::values::Credential,
    issuer: &str,
) -> pb::IsRecognizedResponse {
    v.is_recognized(&pb::IsRecognizedRequest {
        time: on(date, at),
        recognizer: recognizer.to_owned(),
        credential: Some(credential_to_proto(&c)),
        issuer: issuer.to_owned(),
    })
    .expect("is_recognized")
}

fn rule_ids(rules: &[pb::RecognitionRule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| format!("{}/{}", r.recognizer, r.rule_id))
        .collect()
}

fn list(v: &View, date: &str, recognizer: &str, issuer: &str, inactive: bool) -> Vec<String> {
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

fn summary(
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

fn g(key: &str, open: u64, signals: u32, filled: u64) -> (String, u64, u32, u64) {
    (key.to_owned(), open, signals, filled)
}

fn trend(
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

fn points(t: &pb::DemandTrendResponse) -> Vec<(String, u64)> {
    t.points
        .iter()
        .map(|p| (p.period.clone(), p.demanded))
        .collect()
}

fn pt(period: &str, demanded: u64) -> (String, u64) {
    (period.to_owned(), demanded)
}

fn check(v: &View, date: &str, at: u64, subject_ref: &str) -> pb::CheckSubjectResponse {
    v.check_subject(&pb::CheckSubjectRequest {
        time: on(date, at),
        subject_ref: subject_ref.to_owned(),
        ..Default::default()
    })
    .expect("check_subject")
}

fn statuses(r: &pb::CheckSubjectResponse) -> Vec<(String, pb::EntryStatus)> {
    r.entries
        .iter()
        .map(|e| {
            let status = pb::EntryStatus::try_from(e.status).expect("a known status");
            (format!("{}/{}", e.origin, e.entry_id), status)
        })
        .collect()
}

fn entries(v: &View, date: &str, origin: &str, status: pb::EntryStatus) -> Vec<String> {
    let r = v
        .list_entries(&pb::ListEntriesRequest {
            time: on(date, 0),
            origin: origin.to_owned(),
            status: status as i32,
            page_size: 0,
            page_token: String::new(),
        })
        .expect("list_entries");
    r.entries.into_iter().map(|e| e.entry_id).collect()
}

// ---------------------------------------------------------------------------------------
// Recognition

#[tokio::test]
async fn is_recognized_lists_matching_rules_with_a_named_issuer_before_any() {
    let f = fixture().await;
    let eng = title("engineering", "senior_deputy");
    let yes = is_recognized(&f.view, "2026-03-01", 0, JIAXING, eng.clone(), SHANGHAI);
    assert!(yes.recognized);
    assert_eq!(
        rule_ids(&yes.matching_rules),
        ["330400/jx-pt-sh-eng-sd", "330400/jx-pt-any-eng-sd"]
    );
    let first = &yes.matching_rules[0];
    assert_eq!(
        (first.issuer.as_str(), first.local_equivalent.as_str()),
        (SHANGHAI, "senior_deputy")
    );
    assert_eq!(
        (
            first.effective_from.as_str(),
            first.effective_until.as_str()
        ),
        ("2026-01-01", "")
    );
    assert!(first.in_force && first.withdrawn_at.is_empty());
    assert_eq!(first.credential, Some(credential_to_proto(&eng)));
    let second = &yes.matching_rules[1];
    assert_eq!(
        (second.issuer.as_str(), second.local_equivalent.as_str()),
        ("*", "intermediate")
    );
    assert_eq!(
        yes.basis,
        Some(pb::AnswerBasis {
            position: 30,
            on_date: "2026-03-01".into()
        })
    );

    // Another issuer is covered by the `*` rule only.
    let any = is_recognized(&f.view, "2026-03-01", 0, JIAXING, eng.clone(), NANJING);
    assert!(any.recognized);
    assert_eq!(rule_ids(&any.matching_rules), ["330400/jx-pt-any-eng-sd"]);
    // Before the rules start, and for a city that has no such rule.
    let early = is_recognized(&f.view, "2025-12-31", 0, JIAXING, eng.clone(), SHANGHAI);
    assert!(!early.recognized && early.matching_rules.is_empty());
    assert!(!is_recognized(&f.view, "2026-03-01", 0, SUZHOU, eng.clone(), SHANGHAI).recognized);
    // Level for level: senior_full is not senior_deputy.
    let full = title("engineering", "senior_full");
    assert!(!is_recognized(&f.view, "2026-03-01", 0, JIAXING, full, SHANGHAI).recognized);
    // Shanghai's `*` licence rule covers every issuer.
    let licence = credential(
        CredentialKind::Licence,
        "registered-structural-engineer",
        "class-1",
    );
    let lic = is_recognized(&f.view, "2025-01-01", 0, SHANGHAI, licence, HEFEI);
    assert_eq!(rule_ids(&lic.matching_rules), ["310000/sh-lic-any"]);
}

#[tokio::test]
async fn is_recognized_follows_withdrawal_and_effective_until() {
    let f = fixture().await;
    let sl4 = credential(CredentialKind::SkillLevel, "6-31-01-03", "4");
    let sl3 = credential(CredentialKind::SkillLevel, "6-31-01-03", "3");
    let ask = |date: &str, c: &hub_types::values::Credential, issuer: &str| {
        is_recognized(&f.view, date, 0, JIAXING, c.clone(), issuer).recognized
    };
    assert!(!ask("2025-06-30", &sl4, SHANGHAI), "before effective_from");
    assert!(ask("2025-07-01", &sl4, SHANGHAI));
    assert!(
        ask("2026-03-31", &sl4, SHANGHAI),
        "the day before effective_at"
    );
    assert!(
        !ask("2026-04-01", &sl4, SHANGHAI),
        "withdrawn from effective_at"
    );
    assert!(!ask("2026-03-31", &sl3, SHANGHAI), "another level");
    assert!(!ask("2026-03-31", &sl4, HANGZHOU), "another issuer");

    // The answer recorded before the withdrawal still said yes on 2026-04-01.
    let before = f.at["r3 withdrawn"] - 1;
    let then = is_recognized(
        &f.view,
        "2026-04-01",
        before,
        JIAXING,
        sl4.clone(),
        SHANGHAI,
    );
    assert!(then.recognized);
    assert_eq!(then.basis.expect("basis").position, before);

    let tier = credential(CredentialKind::TalentTier, "hangzhou-talent", "B");
    assert!(!ask("2025-12-31", &tier, HANGZHOU));
    assert!(ask("2026-01-01", &tier, HANGZHOU));
    assert!(
        ask("2026-06-30", &tier, HANGZHOU),
        "effective_until is inclusive"
    );
    assert!(!ask("2026-07-01", &tier, HANGZHOU));
    assert!(!ask("2026-03-01", &tier, SHANGHAI));
}

#[tokio::test]
async fn a_revised_rule_reads_as_it_was_at_each_position() {
    let f = fixture().await;
    let tier = credential(CredentialKind::TalentTier, "shanghai-talent", "B");
    let revised = f.at["h1 revised"];
    let before = is_recognized(
        &f.view,
        "2026-01-01",
        revised - 1,
        HANGZHOU,
        tier.clone(),
        SHANGHAI,
    );
    let after = is_recognized(
        &f.view,
        "2026-01-01",
        revised,
        HANGZHOU,
        tier.clone(),
        SHANGHAI,
    );
    let now = is_recognized(&f.view, "2026-01-01", 0, HANGZHOU, tier.clone(), SHANGHAI);
    assert_eq!(before.matching_rules[0].conditions, "");
    assert_eq!(
        after.matching_rules[0].conditions,
        "须在本市缴纳社会保险满一年"
    );
    assert_eq!(now.matching_rules, after.matching_rules);
    // Before the rule was recorded at all.
    let none = is_recognized(&f.view, "2026-01-01", 6, HANGZHOU, tier, SHANGHAI);
    assert!(!none.recognized);
}

#[tokio::test]
async fn list_recognitions_filters_by_recognizer_issuer_and_date() {
    let f = fixture().await;
    let v = &f.view;
    assert_eq!(
        list(v, "2026-03-01", "", "", false),
        [
            "310000/sh-lic-any",
            "310000/sh-pt-jx-eng-sd",
            "330100/hz-tier-sh-b",
            "330400/jx-pt-any-eng-sd",
            "330400/jx-pt-sh-eng-sd",
            "330400/jx-sl-sh-4",
            "330400/jx-tier-hz-b",
        ]
    );
    assert_eq!(
        list(v, "2026-07-01", JIAXING, "", false),
        ["330400/jx-pt-any-eng-sd", "330400/jx-pt-sh-eng-sd"]
    );
    let all = v
        .list_recognitions(&pb::ListRecognitionsRequest {
            time: on("2026-07-01", 0),
            recognizer: JIAXING.into(),
            include_inactive: true,
            ..Default::default()
        })
        .expect("list");
    let flags: Vec<(&str, bool, &str)> = all
        .rules
        .iter()
        .map(|r| (r.rule_id.as_str(), r.in_force, r.withdrawn_at.as_str()))
        .collect();
    assert_eq!(
        flags,
        [
            ("jx-pt-any-eng-sd", true, ""),
            ("jx-pt-sh-eng-sd", true, ""),
            ("jx-sl-sh-4", false, "2026-04-01"),
            ("jx-tier-hz-b", false, ""),
        ]
    );
    assert_eq!(
        all.rules[2].withdrawn_reason,
        "superseded by the provincial list"
    );
    assert_eq!(all.rules[3].effective_until, "2026-06-30");

    // By issuer: `*` rules cover every issuer.
    assert_eq!(
        list(v, "2026-03-01", "", HANGZHOU, false),
        [
            "310000/sh-lic-any",
            "330400/jx-pt-any-eng-sd",
            "330400/jx-tier-hz-b"
        ]
    );
    assert_eq!(
        list(v, "2026-01-15", SHANGHAI, JIAXING, false),
        ["310000/sh-lic-any"]
    );
    assert_eq!(
        list(v, "2026-01-15", SHANGHAI, JIAXING, true),
        ["310000/sh-lic-any", "310000/sh-pt-jx-eng-sd"]
    );
    assert!(list(v, "2026-03-01", SUZHOU, "", true).is_empty());
    // Record time: before Hangzhou's rule existed.
    let early = v
        .list_recognitions(&pb::ListRecognitionsRequest {
            time: on("2026-03-01", 6),
            include_inactive: true,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(early.rules.len(), 6);
    assert_eq!(early.basis.expect("basis").position, 6);
}

#[tokio::test]
async fn list_recognitions_pages_walk_every_rule_once() {
    let f = fixture().await;
    let whole = list(&f.view, "2026-03-01", "", "", true);
    assert_eq!(whole.len(), 7);
    for page_size in [1, 2, 3, 7, 8] {
        let mut token = String::new();
        let mut walked = Vec::new();
        let mut pages = 0;
        loop {
            let page = f
                .view
                .list_recognitions(&pb::ListRecognitionsRequest {
                    time: on("2026-03-01", 0),
                    include_inactive: true,
                    page_size,
                    page_token: token,
                    ..Default::default()
                })
                .expect("a page");
            pages += 1;
            assert!(page.rules.len() <= page_size as usize);
            walked.extend(rule_ids(&page.rules));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(walked, whole, "page size {page_size}");
        assert_eq!(
            pages,
            whole.len().div_ceil(page_size as usize),
            "page size {page_size}"
        );
    }
    // A token keeps its place when a filter narrows the walk.
    let first = f
        .view
        .list_recognitions(&pb::ListRecognitionsRequest {
            time: on("2026-03-01", 0),
            recognizer: JIAXING.into(),
            page_size: 3,
            ..Default::default()
        })
        .expect("a page");
    assert_eq!(first.rules.len(), 3);
    let rest = f
        .view
        .list_recognitions(&pb::ListRecognitionsRequest {
            time: on("2026-03-01", 0),
            recognizer: JIAXING.into(),
            page_size: 3,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .expect("a page");
    assert_eq!(rule_ids(&rest.rules), ["330400/jx-tier-hz-b"]);
    assert!(rest.next_page_token.is_empty());

    let bad = |token: &str| {
        invalid(f.view.list_recognitions(&pb::ListRecognitionsRequest {
            page_token: token.into(),
            ..Default::default()
        }))
    };
    assert_eq!(bad("not hex"), "page_token");
    assert_eq!(bad(&hex::encode("no slash")), "page_token");
    assert_eq!(bad(&hex::encode("999999/x")), "page_token");
    assert_eq!(bad(&hex::encode([0xff, 0xfe])), "page_token");
}

fn cells(r: &pb::RecognitionMatrixResponse) -> Vec<(String, String, u32, bool)> {
    r.cells
        .iter()
        .map(|c| {
            (
                c.recognizer.clone(),
                c.issuer.clone(),
                c.recognized,
                c.mutual,
            )
        })
        .collect()
}

fn cell(rec: &str, iss: &str, n: u32, mutual: bool) -> (String, String, u32, bool) {
    (rec.to_owned(), iss.to_owned(), n, mutual)
}

#[tokio::test]
async fn the_recognition_matrix_counts_credentials_and_flags_mutual_pairs() {
    let f = fixture().await;
    let matrix = |date: &str, kind: Option<CredentialKind>| {
        let kind = kind.map_or(0, |k| {
            hub_proto::convert::credential_kind_to_proto(k) as i32
        });
        f.view
            .recognition_matrix(&pb::RecognitionMatrixRequest {
                time: on(date, 0),
                kind,
            })
            .expect("matrix")
    };
    // The roster is Shanghai, Nanjing, Suzhou, Hangzhou, Jiaxing and Hefei; `*` rules count
    // for every member but the recognizer.
    assert_eq!(
        cells(&matrix("2026-03-01", None)),
        [
            cell(SHANGHAI, NANJING, 1, false),
            cell(SHANGHAI, SUZHOU, 1, false),
            cell(SHANGHAI, HANGZHOU, 1, false),
            cell(SHANGHAI, JIAXING, 2, true),
            cell(SHANGHAI, HEFEI, 1, false),
            cell(HANGZHOU, SHANGHAI, 1, false),
            cell(JIAXING, SHANGHAI, 2, true),
            cell(JIAXING, NANJING, 1, false),
            cell(JIAXING, SUZHOU, 1, false),
            cell(JIAXING, HANGZHOU, 2, false),
            cell(JIAXING, HEFEI, 1, false),
        ]
    );
    // Before Shanghai's engineering rule starts, nothing is mutual.
    let early = cells(&matrix("2026-01-15", None));
    assert!(early.contains(&cell(SHANGHAI, JIAXING, 1, false)));
    assert!(early.contains(&cell(JIAXING, SHANGHAI, 2, false)));
    assert!(early.iter().all(|c| !c.3));
    // After the withdrawal and the end of the tier rule.
    let late = cells(&matrix("2026-07-01", None));
    assert!(late.contains(&cell(JIAXING, SHANGHAI, 1, true)));
    assert!(late.contains(&cell(JIAXING, HANGZHOU, 1, false)));
    assert_eq!(
        cells(&matrix("2026-03-01", Some(CredentialKind::TalentTier))),
        [
            cell(HANGZHOU, SHANGHAI, 1, false),
            cell(JIAXING, HANGZHOU, 1, false)
        ]
    );
    let at_4 = f
        .view
        .recognition_matrix(&pb::RecognitionMatrixRequest {
            time: on("2026-03-01", 4),
            kind: 0,
        })
        .expect("matrix");
    assert_eq!(
        cells(&at_4),
        [
            cell(JIAXING, SHANGHAI, 2, false),
            cell(JIAXING, NANJING, 1, false),
            cell(JIAXING, SUZHOU, 1, false),
            cell(JIAXING, HANGZHOU, 2, false),
            cell(JIAXING, HEFEI, 1, false),
        ],
        "only Jiaxing's first four rules, the skill level not yet withdrawn"
    );
}

// ---------------------------------------------------------------------------------------
// Demand

#[tokio::test]
async fn demand_summary_groups_by_each_key() {
    let f = fixture().await;
    let v = &f.view;
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Industry, None),
        (
            vec![
                g("artificial_intelligence", 65, 2, 25),
                g("integrated_circuits", 190, 3, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::City, None),
        (
            vec![
                g(SHANGHAI, 110, 2, 25),
                g(SUZHOU, 80, 1, 0),
                g(HANGZHOU, 65, 2, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Occupation, None),
        (
            vec![
                g("2-02-09-06", 110, 2, 0),
                g("2-02-10-09", 65, 2, 25),
                g("6-25-02-03", 80, 1, 0)
            ],
            255
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 0, pb::GroupBy::Period, None),
        (
            vec![
                g("2026-Q1", 40, 1, 0),
                g("2026-Q2", 90, 2, 25),
                g("2026-Q3", 125, 2, 0)
            ],
            255
        )
    );
    // Hangzhou's Q2 signal expires on 2026-07-01 with 5 filled.
    assert_eq!(
        summary(v, "2026-07-15", 0, pb::GroupBy::Industry, None),
        (
            vec![
                g("artificial_intelligence", 45, 1, 30),
                g("integrated_circuits", 190, 3, 0)
            ],
            235
        )
    );
    // Record time: before the revision and the closures, everything was open.
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            f.at["d2 revised"] - 1,
            pb::GroupBy::Industry,
            None
        ),
        (
            vec![
                g("artificial_intelligence", 95, 3, 0),
                g("integrated_circuits", 230, 4, 0)
            ],
            325
        )
    );
    assert_eq!(
        summary(v, "2026-06-01", 9, pb::GroupBy::Industry, None),
        (vec![], 0)
    );
}

#[tokio::test]
async fn demand_summary_applies_every_filter() {
    let f = fixture().await;
    let v = &f.view;
    let ic = hub_proto::convert::industry_to_proto(Industry::IntegratedCircuits) as i32;
    let filter = |industry: i32, city: &str, period: &str, occupation: &str| {
        Some(pb::DemandFilter {
            industry,
            city: city.into(),
            period: period.into(),
            occupation_code: occupation.into(),
        })
    };
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Period,
            filter(ic, SUZHOU, "", "")
        ),
        (vec![g("2026-Q2", 0, 0, 0), g("2026-Q3", 80, 1, 0)], 80)
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::City,
            filter(0, "", "2026-Q2", "")
        ),
        (
            vec![
                g(SHANGHAI, 70, 1, 25),
                g(SUZHOU, 0, 0, 0),
                g(HANGZHOU, 20, 1, 0)
            ],
            90
        )
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Industry,
            filter(0, "", "", "2-02-10-09")
        ),
        (vec![g("artificial_intelligence", 65, 2, 25)], 65)
    );
    assert_eq!(
        summary(
            v,
            "2026-06-01",
            0,
            pb::GroupBy::Industry,
            filter(ic, NANJING, "", "")
        ),
        (vec![], 0)
    );
}

#[tokio::test]
async fn demand_trend_fits_a_line_through_the_last_periods() {
    let f = fixture().await;
    let v = &f.view;
    // Integrated circuits: Q1 40; Q2 70 (Suzhou's 50 cancelled on 2026-04-20); Q3 80.
    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, "", 4);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 40),
            pt("2026-Q2", 70),
            pt("2026-Q3", 80)
        ]
    );
    // x = 0..3, mean 1.5; y mean 47.5; Sxy = 135, Sxx = 5: slope 27, at x = 4: 115.
    assert_close(t.slope, 27.0);
    assert_close(t.forecast, 115.0);
    assert_eq!(t.forecast_period, "2026-Q4");
    assert_eq!(t.method, METHOD);
    assert_eq!(t.basis.expect("basis").on_date, "2026-06-01");

    // Before the cancellation took effect Q2 was 120: y mean 60, Sxy 160, slope 32, 140.
    let t = trend(v, "2026-04-01", Industry::IntegratedCircuits, "", 4);
    assert_eq!(
        t.points[2],
        pb::TrendPoint {
            period: "2026-Q2".into(),
            demanded: 120
        }
    );
    assert_close(t.slope, 32.0);
    assert_close(t.forecast, 140.0);

    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, "", 2);
    assert_eq!(points(&t), [pt("2026-Q2", 70), pt("2026-Q3", 80)]);
    assert_close(t.slope, 10.0);
    assert_close(t.forecast, 90.0);

    // Suzhou alone: 0, 0, 0, 80: y mean 20, Sxy 120, slope 24, at x = 4: 80.
    let t = trend(v, "2026-06-01", Industry::IntegratedCircuits, SUZHOU, 0);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 0),
            pt("2026-Q2", 0),
            pt("2026-Q3", 80)
        ]
    );
    assert_close(t.slope, 24.0);
    assert_close(t.forecast, 80.0);

    // AI: Q2 30 (filled, still demanded) + 20, Q3 45: 0, 0, 50, 45: slope 18.5, 70.
    let t = trend(v, "2026-06-01", Industry::ArtificialIntelligence, "", 0);
    assert_eq!(
        points(&t),
        [
            pt("2025-Q4", 0),
            pt("2026-Q1", 0),
            pt("2026-Q2", 50),
            pt("2026-Q3", 45)
        ]
    );
    assert_close(t.slope, 18.5);
    assert_close(t.forecast, 70.0);

    // No data: no points, no forecast.
    let t = trend(v, "2026-06-01", Industry::Aerospace, "", 4);
    assert!(t.points.is_empty() && t.forecast_period.is_empty());
    assert_eq!((t.forecast, t.slope), (0.0, 0.0));
    assert_eq!(t.method, METHOD);
}

/// Signals of `city` for one industry over 2026-Q1..Q4 with these headcounts (0 = none).
fn quarters(
    city: &'static str,
    industry: Industry,
    tag: &str,
    counts: [u32; 4],
) -> Vec<(&'static str, Body)> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(q, n)| {
            let id = format!("{tag}-2026q{}", q + 1);
            let period = format!("2026-Q{}", q + 1);
            (
                city,
                signal(&id, industry, "2-02-09-06", *n, &period, (10000, 20000)),
            )
        })
        .collect()
}

async fn view_of(events: Vec<(&str, Body)>, config: ViewConfig) -> View {
    let log = Log::in_memory();
    for (city, body) in events {
        append(&log, city, body).await;
    }
    View::open(config, &log).expect("open the view")
}

fn alerts(v: &View, period: &str) -> pb::ShortageAlertsResponse {
    v.shortage_alerts(&pb::ShortageAlertsRequest {
        time: on("2026-12-31", 0),
        period: period.into(),
    })
    .expect("shortage_alerts")
}

#[tokio::test]
async fn shortage_alerts_fire_when_growth_or_forecast_cross_the_thresholds() {
    use Industry::*;
    let mut events = Vec::new();
    // Shanghai AI 10, 20, 30, 40: growth 1/3 and forecast 50 (+25 %): both.
    events.extend(quarters(
        SHANGHAI,
        ArtificialIntelligence,
        "sh-ai",
        [10, 20, 30, 40],
    ));
    // Nanjing adds 10 AI in Q3: alliance 10, 20, 40, 40: no growth; forecast 55 (+37.5 %).
    events.extend(quarters(
        NANJING,
        ArtificialIntelligence,
        "nj-ai",
        [0, 0, 10, 0],
    ));
    // Hangzhou life & health 100, 100, 80, 100: growth exactly 25 %; forecast 90 falls.
    events.extend(quarters(
        HANGZHOU,
        LifeAndHealth,
        "hz-lh",
        [100, 100, 80, 100],
    ));
    // Suzhou circuits 20, 40, 60, 70: growth 1/6; forecast 90 (+28.6 %).
    events.extend(quarters(
        SUZHOU,
        IntegratedCircuits,
        "sz-ic",
        [20, 40, 60, 70],
    ));
    // Jiaxing aerospace 100, 100, 100, 110: growth 10 %, forecast 110 (+0 %): quiet.
    events.extend(quarters(JIAXING, Aerospace, "jx-as", [100, 100, 100, 110]));
    // Nanjing hydrogen 5 → 15: tripled, but under the 20-person floor.
    events.extend(quarters(NANJING, HydrogenEnergy, "nj-h2", [0, 0, 5, 15]));
    let view = view_of(events, config()).await;

    let r = alerts(&view, "2026-Q4");
    assert_eq!(
        (
            r.growth_threshold,
            r.forecast_growth_threshold,
            r.min_headcount
        ),
        (0.25, 0.2, 20)
    );
    let got: Vec<(Industry, &str, u64, u64, Vec<&str>)> = r
        .alerts
        .iter()
        .map(|a| {
            (
                hub_proto::convert::industry_from_proto(a.industry).expect("industry"),
                a.city.as_str(),
                a.demanded,
                a.previous,
                a.reasons.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (ArtificialIntelligence, "", 40, 40, vec!["forecast"]),
            (
                ArtificialIntelligence,
                SHANGHAI,
                40,
                30,
                vec!["growth", "forecast"]
            ),
            (LifeAndHealth, "", 100, 80, vec!["growth"]),
            (LifeAndHealth, HANGZHOU, 100, 80, vec!["growth"]),
            (IntegratedCircuits, "", 70, 60, vec!["forecast"]),
            (IntegratedCircuits, SUZHOU, 70, 60, vec!["forecast"]),
        ]
    );
    let numbers: Vec<(f64, f64)> = r.alerts.iter().map(|a| (a.growth, a.forecast)).collect();
    let expected = [
        (0.0, 55.0),
        (1.0 / 3.0, 50.0),
        (0.25, 90.0),
        (0.25, 90.0),
        (1.0 / 6.0, 90.0),
        (1.0 / 6.0, 90.0),
    ];
    for ((growth, forecast), (eg, ef)) in numbers.into_iter().zip(expected) {
        assert_close(growth, eg);
        assert_close(forecast, ef);
    }

    // Q3 of the same data: 2025-Q4 had no demand, so the fitted lines are steep.
    // AI alliance 0, 10, 20, 40: +100 %, forecast 50 (+25 %); Shanghai 0, 10, 20, 30: +50 %,
    // forecast 40. Aerospace 0, 100, 100, 100: flat, but forecast 150. Life & health
    // 0, 100, 100, 80: a fall, but forecast 130. Circuits 0, 20, 40, 60: +50 %, forecast 80.
    assert_eq!(
        reasons(&alerts(&view, "2026-Q3")),
        [
            "artificial_intelligence  growth+forecast",
            "artificial_intelligence 310000 growth+forecast",
            "aerospace  forecast",
            "aerospace 330400 forecast",
            "life_and_health  forecast",
            "life_and_health 330100 forecast",
            "integrated_circuits  growth+forecast",
            "integrated_circuits 320500 growth+forecast",
        ]
    );
}

/// Each alert as `industry city reasons`.
fn reasons(r: &pb::ShortageAlertsResponse) -> Vec<String> {
    r.alerts
        .iter()
        .map(|a| {
            let industry = hub_proto::convert::industry_from_proto(a.industry).expect("industry");
            format!("{industry} {} {}", a.city, a.reasons.join("+"))
        })
        .collect()
}

#[tokio::test]
async fn shortage_alerts_stay_quiet_under_the_thresholds() {
    use Industry::*;
    let mut events = Vec::new();
    events.extend(quarters(JIAXING, Aerospace, "jx-as", [100, 100, 100, 110]));
    events.extend(quarters(
        SHANGHAI,
        IntegratedCircuits,
        "sh-ic",
        [50, 40, 30, 25],
    ));
    events.extend(quarters(NANJING, HydrogenEnergy, "nj-h2", [0, 0, 5, 15]));
    let view = view_of(events.clone(), config()).await;
    assert!(alerts(&view, "2026-Q4").alerts.is_empty());
    assert!(
        alerts(&view, "2027-Q1").alerts.is_empty(),
        "no demand in the period"
    );

    // The same data with lower thresholds: aerospace's 10 % growth now counts, and the
    // hydrogen floor is lower.
    let config = ViewConfig {
        thresholds: Thresholds {
            growth: 0.05,
            forecast_growth: 0.5,
            min_headcount: 10,
        },
        ..config()
    };
    let view = view_of(events, config).await;
    let r = alerts(&view, "2026-Q4");
    assert_eq!(
        (
            r.growth_threshold,
            r.forecast_growth_threshold,
            r.min_headcount
        ),
        (0.05, 0.5, 10)
    );
    // Hydrogen 0, 0, 5, 15: tripled; its forecast 17.5 is only 17 % above 15.
    assert_eq!(
        reasons(&r),
        [
            "aerospace  growth",
            "aerospace 330400 growth",
            "hydrogen_energy  growth",
            "hydrogen_energy 320100 growth",
        ]
    );
}

fn row(r: &pb::JointReportRow) -> (i32, &str, u64, u64, u64, u32, u32, u32) {
    (
        r.industry,
        r.city.as_str(),
        r.demanded,
        r.open_headcount,
        r.filled,
        r.signals,
        r.median_pay_min,
        r.median_pay_max,
    )
}

#[tokio::test]
async fn the_joint_report_has_rows_per_city_and_totals_per_industry() {
    let f = fixture().await;
    let report = |period: &str, date: &str| {
        f.view
            .joint_report(&pb::JointReportRequest {
                time: on(date, 0),
                period: period.into(),
            })
            .expect("joint_report")
    };
    let ai = pb::Industry::ArtificialIntelligence as i32;
    let ic = pb::Industry::IntegratedCircuits as i32;
    let r = report("2026-Q2", "2026-06-01");
    assert_eq!(r.period, "2026-Q2");
    assert_eq!(
        r.rows.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, SHANGHAI, 30, 0, 25, 1, 18000, 28000),
            (ai, HANGZHOU, 20, 20, 0, 1, 15000, 25000),
            (ic, SHANGHAI, 70, 70, 0, 1, 22000, 34000),
            (ic, SUZHOU, 0, 0, 0, 1, 8000, 12000),
        ]
    );
    // Lower medians of two values: the smaller one.
    assert_eq!(
        r.totals.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, "", 50, 20, 25, 2, 15000, 25000),
            (ic, "", 70, 70, 0, 2, 8000, 12000),
        ]
    );
    let r = report("2026-Q3", "2026-06-01");
    assert_eq!(
        r.rows.iter().map(row).collect::<Vec<_>>(),
        [
            (ai, HANGZHOU, 45, 45, 0, 1, 16000, 26000),
            (ic, SUZHOU, 80, 80, 0, 1, 9000, 13000),
        ]
    );
    assert_eq!(r.totals.len(), 2);
    // After Hangzhou's Q2 signal expired.
    let r = report("2026-Q2", "2026-07-01");
    assert_eq!(row(&r.rows[1]), (ai, HANGZHOU, 20, 0, 5, 1, 15000, 25000));
    let r = report("2024-Q1", "2026-06-01");
    assert!(r.rows.is_empty() && r.totals.is_empty());
    assert_eq!(r.period, "2024-Q1");
}

// ---------------------------------------------------------------------------------------
// Blacklist

#[tokio::test]
async fn check_subject_gives_each_status_on_each_date() {
    use pb::EntryStatus::{Active, Expired, Pending, Revoked, Suspended};
    let f = fixture().await;
    let sh = "310000/sh-2026-001";
    let sz = "320500/sz-2025-009";
    for (date, sh_status, sz_status, any_active) in [
        ("2024-12-31", Pending, Pending, false),
        ("2025-01-01", Pending, Active, true),
        ("2025-12-31", Pending, Active, true),
        ("2026-01-01", Pending, Expired, false),
        ("2026-02-01", Active, Expired, true),
        ("2026-04-30", Active, Expired, true),
        ("2026-05-01", Suspended, Expired, false),
        ("2026-05-31", Suspended, Expired, false),
        ("2026-06-01", Active, Expired, true),
        ("2026-07-31", Active, Expired, true),
        ("2026-08-01", Suspended, Expired, false),
        ("2026-08-31", Suspended, Expired, false),
        ("2026-09-01", Revoked, Expired, false),
        ("2029-01-01", Revoked, Expired, false),
    ] {
        let r = check(&f.view, date, 0, &s1());
        assert_eq!(
            statuses(&r),
            [(sh.to_owned(), sh_status), (sz.to_owned(), sz_status)],
            "on {date}"
        );
        assert_eq!(r.any_active, any_active, "on {date}");
    }
    let r = check(&f.view, "2026-06-15", 0, &s1());
    let e = &r.entries[0];
    assert_eq!(
        e.history,
        [
            "suspended 2026-05-01",
            "reinstated 2026-06-01",
            "suspended 2026-08-01",
            "revoked (REVOKE_REASON_APPEAL_UPHELD) 2026-09-01"
        ]
    );
    assert_eq!(e.revoke_reason, pb::RevokeReason::AppealUpheld as i32);
    assert_eq!(
        (e.subject_ref.as_str(), e.subject_display.as_str()),
        (s1().as_str(), "张*")
    );
    assert_eq!(e.category, pb::BlacklistCategory::ApplicationFraud as i32);
    assert_eq!(
        (
            e.decided_at.as_str(),
            e.effective_from.as_str(),
            e.expires_at.as_str()
        ),
        ("2026-02-01", "2026-02-01", "2028-01-31")
    );
    assert_eq!(e.decision_ref, "沪人社信〔2026〕1号");
    assert_eq!(e.measures.len(), 1);

    // Revoked as an error from 2026-03-01.
    let r = check(&f.view, "2026-02-28", 0, &s3());
    assert_eq!(statuses(&r), [("310000/sh-2026-002".to_owned(), Active)]);
    let r = check(&f.view, "2026-03-01", 0, &s3());
    assert_eq!(statuses(&r), [("310000/sh-2026-002".to_owned(), Revoked)]);
    assert_eq!(r.entries[0].revoke_reason, pb::RevokeReason::Error as i32);
    // Two cities list subject 2, in key order; Shanghai's entry starts later.
    let r = check(&f.view, "2026-06-15", 0, &s2());
    assert_eq!(
        statuses(&r),
        [
            ("310000/sh-2026-003".to_owned(), Pending),
            ("330100/hz-2026-002".to_owned(), Active)
        ]
    );
    let r = check(&f.view, "2026-06-15", 0, &subject(0x99));
    assert!(r.entries.is_empty() && !r.any_active);
}

#[tokio::test]
async fn check_subject_on_both_axes_sees_only_the_steps_recorded_by_then() {
    use pb::EntryStatus::{Active, Revoked, Suspended};
    let f = fixture().await;
    let suspended_at = f.at["e1 suspended"];
    let sh = |date: &str, at: u64| {
        let r = check(&f.view, date, at, &s1());
        (
            statuses(&r)[0].1,
            r.entries[0].history.len(),
            r.entries[0].revoke_reason,
        )
    };
    assert_eq!(sh("2026-05-15", suspended_at - 1), (Active, 0, 0));
    assert_eq!(sh("2026-05-15", suspended_at), (Suspended, 1, 0));
    // The second suspension was recorded, the revocation not yet.
    let again = f.at["e1 suspended again"];
    assert_eq!(sh("2026-09-15", again), (Suspended, 3, 0));
    assert_eq!(
        sh("2026-09-15", again + 1),
        (Revoked, 4, pb::RevokeReason::AppealUpheld as i32)
    );
    // Before Suzhou's entry was recorded, only Shanghai's shows.
    let r = check(&f.view, "2025-06-01", 21, &s1());
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.basis.expect("basis").position, 21);
    assert!(check(&f.view, "2025-06-01", 20, &s1()).entries.is_empty());
}

#[tokio::test]
async fn list_entries_filters_by_status_and_pages() {
    use pb::EntryStatus::{Active, Pending, Revoked, Suspended, Unspecified};
    let f = fixture().await;
    let v = &f.view;
    assert_eq!(
        entries(v, "2026-06-15", SHANGHAI, Unspecified),
        ["sh-2026-001", "sh-2026-002", "sh-2026-003"]
    );
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Active), ["sh-2026-001"]);
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Revoked), ["sh-2026-002"]);
    assert_eq!(entries(v, "2026-06-15", SHANGHAI, Pending), ["sh-2026-003"]);
    assert!(entries(v, "2026-06-15", SHANGHAI, Suspended).is_empty());
    assert_eq!(
        entries(v, "2026-08-15", SHANGHAI, Suspended),
        ["sh-2026-001"]
    );
    assert_eq!(
        entries(v, "2026-09-15", SHANGHAI, Revoked),
        ["sh-2026-001", "sh-2026-002"]
    );
    assert_eq!(
        entries(v, "2026-06-15", HANGZHOU, Unspecified),
        ["hz-2026-002"]
    );
    assert!(entries(v, "2026-06-15", JIAXING, Unspecified).is_empty());
    assert!(entries(v, "2026-06-15", NANJING, Unspecified).is_empty());

    let walk = |status: pb::EntryStatus, date: &str| {
        let mut token = String::new();
        let mut pages = Vec::new();
        loop {
            let page = v
                .list_entries(&pb::ListEntriesRequest {
                    time: on(date, 0),
                    origin: SHANGHAI.into(),
                    status: status as i32,
                    page_size: 1,
                    page_token: token,
                })
                .expect("a page");
            token = page.next_page_token.clone();
            pages.push(
                page.entries
                    .into_iter()
                    .map(|e| e.entry_id)
                    .collect::<Vec<_>>(),
            );
            if token.is_empty() {
                return pages;
            }
        }
    };
    assert_eq!(
        walk(Unspecified, "2026-06-15"),
        [["sh-2026-001"], ["sh-2026-002"], ["sh-2026-003"]]
    );
    assert_eq!(
        walk(Revoked, "2026-09-15"),
        [["sh-2026-001"], ["sh-2026-002"]]
    );

    let first = v
        .list_entries(&pb::ListEntriesRequest {
            time: on("2026-06-15", 0),
            origin: SHANGHAI.into(),
            page_size: 1,
            ..Default::default()
        })
        .expect("a page");
    let elsewhere = v.list_entries(&pb::ListEntriesRequest {
        origin: HANGZHOU.into(),
        page_token: first.next_page_token,
        ..Default::default()
    });
    assert_eq!(invalid(elsewhere), "page_token");
    let garbage = v.list_entries(&pb::ListEntriesRequest {
        origin: HANGZHOU.into(),
        page_token: "zz".into(),
        ..Default::default()
    });
    assert_eq!(invalid(garbage), "page_token");
}

// ---------------------------------------------------------------------------------------
// The view itself

#[tokio::test]
async fn view_info_reports_counts_the_origin_vector_and_the_digest() {
    let f = fixture().await;
    let info = |at_position| {
        f.view
            .info(&pb::ViewInfoRequest { at_position })
            .expect("info")
    };
    let origins = |r: &pb::ViewInfoResponse| {
        r.origin_vector
            .iter()
            .map(|o| (o.origin.clone(), o.origin_seq))
            .collect::<Vec<_>>()
    };
    let counts = |r: &pb::ViewInfoResponse| {
        r.counts
            .iter()
            .map(|c| (c.kind.clone(), c.count))
            .collect::<Vec<_>>()
    };
    let now = info(0);
    assert_eq!(now.position, 30);
    assert_eq!(
        origins(&now),
        [
            (SHANGHAI.to_owned(), 15),
            (SUZHOU.to_owned(), 4),
            (HANGZHOU.to_owned(), 6),
            (JIAXING.to_owned(), 5)
        ]
    );
    let log_vector: Vec<(String, u64)> = f
        .log
        .origin_vector()
        .into_iter()
        .map(|(m, s)| (m.to_string(), s))
        .collect();
    assert_eq!(origins(&now), log_vector);
    let kc = |k: &str, n: u64| (k.to_owned(), n);
    assert_eq!(
        counts(&now),
        [
            kc("credential_recognized", 8),
            kc("recognition_withdrawn", 1),
            kc("demand_signal_published", 7),
            kc("demand_signal_revised", 1),
            kc("demand_signal_closed", 3),
            kc("blacklist_entry_added", 5),
            kc("blacklist_entry_suspended", 2),
            kc("blacklist_entry_reinstated", 1),
            kc("blacklist_entry_revoked", 2),
        ]
    );
    assert_eq!(now.digest, hex::encode(f.view.digest(Cut::Newest)));
    assert_eq!(
        (now.skipped_unknown, now.ignored, now.snapshot_position),
        (0, 0, 0)
    );
    assert_eq!(info(30), now, "at the newest position, as now");

    let early = info(9);
    assert_eq!(early.position, 9);
    assert_eq!(
        origins(&early),
        [
            (SHANGHAI.to_owned(), 2),
            (HANGZHOU.to_owned(), 2),
            (JIAXING.to_owned(), 5)
        ]
    );
    assert_eq!(
        counts(&early),
        [
            kc("credential_recognized", 8),
            kc("recognition_withdrawn", 1)
        ]
    );
    assert_eq!(early.digest, hex::encode(f.view.digest(Cut::At(9))));
    assert_ne!(early.digest, now.digest);

    assert!(matches!(
        f.view.info(&pb::ViewInfoRequest { at_position: 31 }),
        Err(Error::NotYet {
            requested: 31,
            position: 30
        })
    ));
}

#[tokio::test]
async fn events_of_unknown_kinds_and_ignored_events_are_counted_not_folded() {
    let log = Log::in_memory();
    append(
        &log,
        SHANGHAI,
        added("sh-1", &s1(), "2026-01-01", "2026-12-31"),
    )
    .await;
    let reference = View::open(config(), &log).expect("open");
    // Closing a signal that was never published makes no sense: ignored.
    append(
        &log,
        SHANGHAI,
        closed("sh-none", CloseReason::Filled, 1, "2026-01-01"),
    )
    .await;
    // A kind from a newer build: field 99 of `EventBody`, which this build does not know.
    let record = pb::EventRecord {
        event_id: hub_types::EventId::new_random().to_string(),
        origin: NANJING.into(),
        origin_seq: 1,
        stream: format!("recognition/{NANJING}"),
        stream_version: 1,
        recorded_at: Some(timestamp_to_proto(Timestamp(1_790_000_000_000_000))),
        body: vec![0x98, 0x06, 0x01],
        prev_hash: vec![0; 32],
        signature: Vec::new(),
    };
    ingest_all(&log, &[record], 1).await;
    let view = View::open(config(), &log).expect("open");
    let info = view.info(&pb::ViewInfoRequest::default()).expect("info");
    assert_eq!(info.position, 3);
    assert_eq!((info.skipped_unknown, info.ignored), (1, 1));
    assert!(info
        .counts
        .iter()
        .any(|c| c.kind == "unknown" && c.count == 1));
    assert!(info
        .origin_vector
        .iter()
        .any(|o| o.origin == NANJING && o.origin_seq == 1));
    assert_eq!(view.digest(Cut::Newest), reference.digest(Cut::Newest));
}

// ---------------------------------------------------------------------------------------
// Rejections

#[tokio::test]
async fn bad_time_axes_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let ask = |time: Option<pb::TimeAxes>| {
        v.check_subject(&pb::CheckSubjectRequest {
            time,
            subject_ref: s1(),
            ..Default::default()
        })
    };
    for bad in [
        "2026-02-30",
        "2026/01/01",
        "yesterday",
        "2026-1-1",
        "2250-01-01",
    ] {
        assert_eq!(invalid(ask(on(bad, 0))), "time.on_date", "{bad}");
    }
    assert!(matches!(
        ask(on("2026-01-01", 31)),
        Err(Error::NotYet {
            requested: 31,
            position: 30
        })
    ));
    let mut both = as_of("2026-01-01", 1_790_000_000_000_000);
    if let Some(t) = both.as_mut() {
        t.at_position = 3;
    }
    assert_eq!(invalid(ask(both)), "time.as_of");
    let mut bad_instant = as_of("2026-01-01", 1_790_000_000_000_000);
    if let Some(t) = bad_instant.as_mut().and_then(|t| t.as_of.as_mut()) {
        t.nanos = -1;
    }
    assert_eq!(invalid(ask(bad_instant)), "time.as_of");

    // Every question resolves its time axes the same way.
    let beyond = on("2026-01-01", 99);
    let not_yet = |r: Result<(), Error>| {
        assert!(
            matches!(r, Err(Error::NotYet { requested: 99, .. })),
            "{r:?}"
        )
    };
    let eng = Some(credential_to_proto(&title("engineering", "senior_deputy")));
    not_yet(
        v.is_recognized(&pb::IsRecognizedRequest {
            time: beyond.clone(),
            recognizer: JIAXING.into(),
            credential: eng,
            issuer: SHANGHAI.into(),
        })
        .map(drop),
    );
    not_yet(
        v.list_recognitions(&pb::ListRecognitionsRequest {
            time: beyond.clone(),
            ..Default::default()
        })
        .map(drop),
    );
    not_yet(
        v.recognition_matrix(&pb::RecognitionMatrixRequest {
            time: beyond.clone(),
            kind: 0,
        })
        .map(drop),
    );
    not_yet(
        v.demand_summary(&pb::DemandSummaryRequest {
            time: beyond.clone(),
            group_by: pb::GroupBy::City as i32,
            filter: None,
        })
        .map(drop),
    );
    not_yet(
        v.demand_trend(&pb::DemandTrendRequest {
            time: beyond.clone(),
            industry: pb::Industry::Aerospace as i32,
            city: String::new(),
            periods: 0,
        })
        .map(drop),
    );
    not_yet(
        v.shortage_alerts(&pb::ShortageAlertsRequest {
            time: beyond.clone(),
            period: "2026-Q1".into(),
        })
        .map(drop),
    );
    not_yet(
        v.joint_report(&pb::JointReportRequest {
            time: beyond.clone(),
            period: "2026-Q1".into(),
        })
        .map(drop),
    );
    not_yet(
        v.list_entries(&pb::ListEntriesRequest {
            time: beyond.clone(),
            origin: SHANGHAI.into(),
            ..Default::default()
        })
        .map(drop),
    );
    let bad_date = on("2026-13-01", 0);
    assert_eq!(
        invalid(v.joint_report(&pb::JointReportRequest {
            time: bad_date.clone(),
            period: "2026-Q1".into()
        })),
        "time.on_date"
    );
    assert_eq!(
        invalid(v.demand_summary(&pb::DemandSummaryRequest {
            time: bad_date,
            group_by: 1,
            filter: None
        })),
        "time.on_date"
    );
}

#[tokio::test]
async fn bad_recognition_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let eng = credential_to_proto(&title("engineering", "senior_deputy"));
    let ask = |recognizer: &str, credential: Option<pb::Credential>, issuer: &str| {
        invalid(v.is_recognized(&pb::IsRecognizedRequest {
            time: on("2026-03-01", 0),
            recognizer: recognizer.into(),
            credential,
            issuer: issuer.into(),
        }))
    };
    assert_eq!(ask("", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask("999900", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask("330401", Some(eng.clone()), SHANGHAI), "recognizer");
    assert_eq!(ask(JIAXING, Some(eng.clone()), ""), "issuer");
    assert_eq!(ask(JIAXING, Some(eng.clone()), "*"), "issuer");
    assert_eq!(ask(JIAXING, None, SHANGHAI), "credential");
    let with = |kind: i32, code: &str, level: &str| {
        Some(pb::Credential {
            kind,
            code: code.into(),
            level: level.into(),
        })
    };
    assert_eq!(
        ask(JIAXING, with(0, "engineering", "senior_deputy"), SHANGHAI),
        "credential.kind"
    );
    assert_eq!(
        ask(JIAXING, with(77, "engineering", "senior_deputy"), SHANGHAI),
        "credential.kind"
    );
    assert_eq!(
        ask(JIAXING, with(1, "Engineering", "senior_deputy"), SHANGHAI),
        "credential.code"
    );
    assert_eq!(
        ask(JIAXING, with(1, "engineering", "chief"), SHANGHAI),
        "credential.level"
    );
    assert_eq!(
        ask(JIAXING, with(2, "6-31-01-03", "6"), SHANGHAI),
        "credential.level"
    );

    let list = |recognizer: &str, issuer: &str, page_size: u32| {
        invalid(v.list_recognitions(&pb::ListRecognitionsRequest {
            recognizer: recognizer.into(),
            issuer: issuer.into(),
            page_size,
            ..Default::default()
        }))
    };
    assert_eq!(list("31000", "", 0), "recognizer");
    assert_eq!(list("", "abc", 0), "issuer");
    assert_eq!(list("", "*", 0), "issuer");
    assert_eq!(list("", "", 1001), "page_size");
    assert!(v
        .list_recognitions(&pb::ListRecognitionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .is_ok());

    let matrix =
        |kind| invalid(v.recognition_matrix(&pb::RecognitionMatrixRequest { time: None, kind }));
    assert_eq!(matrix(99), "kind");
    assert_eq!(matrix(-1), "kind");
}

#[tokio::test]
async fn bad_demand_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let summary = |group_by: i32, filter: pb::DemandFilter| {
        invalid(v.demand_summary(&pb::DemandSummaryRequest {
            time: None,
            group_by,
            filter: Some(filter),
        }))
    };
    let none = pb::DemandFilter::default;
    assert_eq!(summary(0, none()), "group_by");
    assert_eq!(summary(9, none()), "group_by");
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                industry: 42,
                ..none()
            }
        ),
        "filter.industry"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                city: "1".into(),
                ..none()
            }
        ),
        "filter.city"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                period: "2026-Q5".into(),
                ..none()
            }
        ),
        "filter.period"
    );
    assert_eq!(
        summary(
            1,
            pb::DemandFilter {
                occupation_code: "9-99".into(),
                ..none()
            }
        ),
        "filter.occupation_code"
    );

    let trend = |industry: i32, city: &str, periods: u32| {
        invalid(v.demand_trend(&pb::DemandTrendRequest {
            time: None,
            industry,
            city: city.into(),
            periods,
        }))
    };
    let ic = pb::Industry::IntegratedCircuits as i32;
    assert_eq!(trend(0, "", 4), "industry");
    assert_eq!(trend(42, "", 4), "industry");
    assert_eq!(trend(ic, "Shanghai", 4), "city");
    assert_eq!(trend(ic, "", 1), "periods");
    assert_eq!(trend(ic, "", 21), "periods");
    for periods in [2, 20] {
        assert!(v
            .demand_trend(&pb::DemandTrendRequest {
                time: None,
                industry: ic,
                city: String::new(),
                periods,
            })
            .is_ok());
    }

    for period in ["", "2026Q1", "2026-Q0", "26-Q1"] {
        let alerts = v.shortage_alerts(&pb::ShortageAlertsRequest {
            time: None,
            period: period.into(),
        });
        assert_eq!(invalid(alerts), "period", "{period:?}");
        let report = v.joint_report(&pb::JointReportRequest {
            time: None,
            period: period.into(),
        });
        assert_eq!(invalid(report), "period", "{period:?}");
    }
}

#[tokio::test]
async fn bad_blacklist_questions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let v = &f.view;
    let check = |subject_ref: &str| {
        invalid(v.check_subject(&pb::CheckSubjectRequest {
            time: None,
            subject_ref: subject_ref.into(),
            ..Default::default()
        }))
    };
    assert_eq!(check(""), "subject_ref");
    assert_eq!(check(&subject(0xab).to_uppercase()), "subject_ref");
    assert_eq!(check(&s1()[1..]), "subject_ref");
    assert_eq!(check(&format!("{}0", s1())), "subject_ref");
    assert_eq!(check("11010519491231002X"), "subject_ref");

    let list = |origin: &str, status: i32, page_size: u32| {
        invalid(v.list_entries(&pb::ListEntriesRequest {
            time: None,
            origin: origin.into(),
            status,
            page_size,
            page_token: String::new(),
        }))
    };
    assert_eq!(list("", 0, 0), "origin");
    assert_eq!(list("shanghai", 0, 0), "origin");
    assert_eq!(list(SHANGHAI, 9, 0), "status");
    assert_eq!(list(SHANGHAI, -2, 0), "status");
    assert_eq!(list(SHANGHAI, 0, 5000), "page_size");
}

// ---------------------------------------------------------------------------------------
// The sample data

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// The roster in `config/roster.toml`, read line by line (`code = "…"` then `name = "…"`)
/// so this crate needs no TOML parser.
fn sample_roster() -> Roster {
    let text = std::fs::read_to_string(config_dir().join("roster.toml")).expect("roster.toml");
    let value = |line: &str, key: &str| {
        let rest = line.trim().strip_prefix(key)?.trim().strip_prefix('=')?;
        Some(rest.trim().trim_matches('"').to_owned())
    };
    let mut members = Vec::new();
    let mut code = None;
    for line in text.lines() {
        if let Some(c) = value(line, "code") {
            code = Some(c);
        } else if let (Some(name), Some(c)) = (value(line, "name"), code.take()) {
            members.push(Member {
                code: m(&c),
                name,
                public_key: String::new(),
            });
        }
    }
    Roster::new(members).expect("a valid roster")
}

async fn sample_view() -> Option<View> {
    let dir = config_dir().join("samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    if files.is_empty() || !config_dir().join("roster.toml").exists() {
        return None;
    }
    files.sort();
    let log = Log::in_memory();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable sample file");
        let events = hub_proto::jsonl::parse_lines(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (stream, event) in events {
            log.append(&stream, hub_types::ExpectedVersion::Any, vec![event])
                .await
                .expect("append a sample event");
        }
    }
    let config = ViewConfig {
        roster: sample_roster(),
        ..ViewConfig::default()
    };
    Some(View::open(config, &log).expect("open the sample view"))
}

#[tokio::test]
async fn the_sample_data_answers_as_its_readme_promises() {
    let Some(v) = sample_view().await else {
        eprintln!("config/samples or config/roster.toml is missing; skipped");
        return;
    };
    let info = v.info(&pb::ViewInfoRequest::default()).expect("info");
    assert_eq!(
        (info.position, info.ignored, info.skipped_unknown),
        (59, 0, 0)
    );
    assert_eq!(info.origin_vector.len(), 7);

    // Jiaxing's rules in force on each date.
    for (date, n) in [
        ("2025-06-30", 0),
        ("2026-03-31", 5),
        ("2026-04-01", 4),
        ("2026-06-30", 4),
        ("2026-07-01", 3),
        ("2026-09-01", 4),
    ] {
        assert_eq!(list(&v, date, JIAXING, "", false).len(), n, "on {date}");
    }

    // Mutual pairs, as unordered pairs of cities.
    let mutual = |date: &str| {
        let r = v
            .recognition_matrix(&pb::RecognitionMatrixRequest {
                time: on(date, 0),
                kind: 0,
            })
            .expect("matrix");
        r.cells
            .into_iter()
            .filter(|c| c.mutual)
            .map(|c| {
                let (a, b) = (c.recognizer, c.issuer);
                if a < b {
                    (a, b)
                } else {
                    (b, a)
                }
            })
            .collect::<BTreeSet<_>>()
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        mutual("2026-06-30"),
        BTreeSet::from([
            pair(SHANGHAI, SUZHOU),
            pair(SHANGHAI, HANGZHOU),
            pair(SUZHOU, HEFEI)
        ])
    );
    assert_eq!(
        mutual("2025-08-01"),
        BTreeSet::from([pair(SHANGHAI, HANGZHOU)])
    );

    // Open headcount by industry on the samples' "today".
    let (groups, total) = summary(&v, "2026-11-27", 0, pb::GroupBy::Industry, None);
    let open: Vec<(String, u64)> = groups
        .into_iter()
        .map(|(k, open, _, _)| (k, open))
        .collect();
    let kv = |k: &str, n: u64| (k.to_owned(), n);
    assert_eq!(
        open,
        [
            kv("aerospace", 115),
            kv("artificial_intelligence", 450),
            kv("hydrogen_energy", 65),
            kv("integrated_circuits", 740),
            kv("life_and_health", 55),
        ]
    );
    assert_eq!(total, 115 + 450 + 65 + 740 + 55);

    // Integrated circuits of Shanghai and Suzhou (no cancellations): 140, 190, 280, 380.
    let mut by_period: BTreeMap<String, u64> = BTreeMap::new();
    for city in [SHANGHAI, SUZHOU] {
        for (p, n) in points(&trend(
            &v,
            "2026-11-27",
            Industry::IntegratedCircuits,
            city,
            4,
        )) {
            *by_period.entry(p).or_default() += n;
        }
    }
    assert_eq!(
        by_period.into_iter().collect::<Vec<_>>(),
        [
            pt("2025-Q3", 140),
            pt("2025-Q4", 190),
            pt("2026-Q1", 280),
            pt("2026-Q2", 380)
        ]
    );
    let ic = pb::Industry::IntegratedCircuits as i32;
    let warned = v
        .shortage_alerts(&pb::ShortageAlertsRequest {
            time: on("2026-11-27", 0),
            period: "2026-Q2".into(),
        })
        .expect("alerts");
    assert!(
        warned.alerts.iter().any(|a| a.industry == ic),
        "integrated circuits raise a shortage warning: {warned:?}"
    );

    // The blacklist table.
    use pb::EntryStatus::{Active, Expired, Pending, Revoked, Suspended};
    let status = |origin: &str, entry: &str, date: &str| {
        let r = v
            .list_entries(&pb::ListEntriesRequest {
                time: on(date, 0),
                origin: origin.into(),
                ..Default::default()
            })
            .expect("list_entries");
        let e = r
            .entries
            .into_iter()
            .find(|e| e.entry_id == entry)
            .unwrap_or_else(|| panic!("{origin}/{entry} is listed"));
        (
            pb::EntryStatus::try_from(e.status).expect("status"),
            e.subject_ref,
        )
    };
    for ((origin, entry), expected) in [
        ((SHANGHAI, "sh-2025-0012"), [Active, Active, Active]),
        ((SUZHOU, "sz-2025-0031"), [Active, Expired, Expired]),
        ((HANGZHOU, "hz-2025-0007"), [Suspended, Suspended, Active]),
        ((HEFEI, "hf-2025-0019"), [Suspended, Suspended, Revoked]),
        ((SUZHOU, "sz-2026-0002"), [Pending, Pending, Active]),
        ((JIAXING, "jx-2026-0003"), [Pending, Pending, Pending]),
    ] {
        let got = ["2025-12-15", "2026-01-15", "2026-11-27"].map(|d| status(origin, entry, d).0);
        assert_eq!(got, expected, "{origin}/{entry}");
    }
    let (_, subject_ref) = status(SHANGHAI, "sh-2025-0012", "2026-11-27");
    let both = check(&v, "2026-11-27", 0, &subject_ref);
    assert_eq!(
        statuses(&both),
        [
            ("310000/sh-2025-0012".to_owned(), Active),
            ("320500/sz-2026-0002".to_owned(), Active)
        ]
    );
    assert!(both.any_active);
}
