//! The recognition questions — `IsRecognized`, `ListRecognitions` and `RecognitionMatrix` —
//! answered by the view of the shared fixture and checked by hand.

mod support;

use hub_proto::convert::credential_to_proto;
use hub_proto::pb;
use hub_types::values::CredentialKind;
use hub_view::View;
use support::query_fixture::*;
use support::*;

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
