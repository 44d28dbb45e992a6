//! End to end: `hubctl query` against a real node loaded with the samples, checked against
//! the hand-checkable facts of config/samples/README.md, in tables and JSON.

mod common;

use common::{cells, Out, TestNode, TWO_CITY_SUBJECT};

#[test]
fn recognition_queries_answer_the_sample_facts() {
    let node = TestNode::with_samples();
    // Jiaxing's rules in force over time.
    for (date, count) in [
        ("2025-06-30", 0),
        ("2026-03-31", 5),
        ("2026-04-01", 4),
        ("2026-07-01", 3),
        ("2026-09-01", 4),
    ] {
        let out = node
            .hubctl(&[
                "query",
                "list-recognitions",
                "--recognizer",
                "330400",
                "--on-date",
                date,
            ])
            .ok();
        assert!(
            out.stdout.contains(&format!(
                "{count} rules (as of position 80, valid on {date})"
            )),
            "{date}: {}",
            out.stdout
        );
    }
    // A withdrawn rule is listed with --all, with its withdrawal date.
    let all = node
        .hubctl(&[
            "query",
            "list-recognitions",
            "--recognizer",
            "330400",
            "--all",
            "--on-date",
            "2026-07-01",
        ])
        .ok();
    let withdrawn = all.row(&["330400", "jx-sl-sh-6-31-01-03-l4"]);
    assert_eq!(withdrawn[2], "skill_level");
    assert!(
        all.stdout.contains("withdrawn 2026-04-01"),
        "{}",
        all.stdout
    );

    // Mutual recognition: Hangzhou recognises Shanghai's engineering senior_deputy, and
    // Jiaxing recognises Shanghai's titles but not the other way round.
    let yes = node
        .hubctl(&[
            "query",
            "is-recognized",
            "--recognizer",
            "330100",
            "--issuer",
            "310000",
            "--kind",
            "professional_title",
            "--code",
            "engineering",
            "--level",
            "senior_deputy",
            "--on-date",
            "2026-06-30",
        ])
        .ok();
    assert!(yes.stdout.starts_with("recognized: yes"), "{}", yes.stdout);
    let matrix = node
        .hubctl(&["query", "matrix", "--on-date", "2026-06-30"])
        .ok();
    let mutual: Vec<(String, String)> = matrix
        .stdout
        .lines()
        .filter(|l| l.ends_with("mutual"))
        .map(|l| (cells(l)[0].to_owned(), cells(l)[1].to_owned()))
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    for (a, b) in [
        ("310000", "330100"),
        ("310000", "320500"),
        ("320500", "340100"),
    ] {
        assert!(mutual.contains(&pair(a, b)), "{a}-{b}: {}", matrix.stdout);
        assert!(mutual.contains(&pair(b, a)), "{b}-{a}: {}", matrix.stdout);
    }
    assert_eq!(mutual.len(), 6, "three mutual pairs: {}", matrix.stdout);
    // Shanghai's rule for issuer `*` (a licence) counts for every roster city.
    assert_eq!(
        matrix.row(&["310000", "330400"]),
        ["310000", "330400", "1", "-"]
    );
    let titles = node
        .hubctl(&[
            "query",
            "matrix",
            "--kind",
            "professional_title",
            "--on-date",
            "2026-06-30",
        ])
        .ok();
    assert_eq!(titles.row(&["330400", "310000"])[3], "-", "not mutual");
    assert!(
        !titles
            .stdout
            .lines()
            .map(cells)
            .any(|c| c.starts_with(&["310000", "330400"])),
        "Shanghai recognises no title of Jiaxing: {}",
        titles.stdout
    );
    let early = node
        .hubctl(&["query", "matrix", "--on-date", "2025-08-01"])
        .ok();
    assert_eq!(
        early
            .stdout
            .lines()
            .filter(|l| l.ends_with("mutual"))
            .count(),
        2,
        "only Shanghai-Hangzhou on 2025-08-01: {}",
        early.stdout
    );
}

#[test]
fn demand_queries_answer_the_sample_facts() {
    let node = TestNode::with_samples();
    let summary = node
        .hubctl(&[
            "query",
            "demand-summary",
            "--group-by",
            "industry",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    let header = cells(summary.line("INDUSTRY"));
    assert_eq!(header[..3], ["INDUSTRY", "OPEN", "HEADCOUNT"]);
    for (industry, open) in [
        ("integrated_circuits", "740"),
        ("artificial_intelligence", "450"),
        ("aerospace", "115"),
        ("hydrogen_energy", "65"),
        ("life_and_health", "55"),
    ] {
        assert_eq!(cells(summary.line(industry))[1], open, "{industry}");
    }
    assert_eq!(cells(summary.line("total"))[1], "1425");

    let trend = node
        .hubctl(&[
            "query",
            "demand-trend",
            "--industry",
            "integrated_circuits",
            "--periods",
            "4",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    for (period, demanded) in [
        ("2025-Q3", "140"),
        ("2025-Q4", "190"),
        ("2026-Q1", "280"),
        ("2026-Q2", "380"),
    ] {
        assert_eq!(
            cells(trend.line(period)),
            [period, demanded],
            "{}",
            trend.stdout
        );
    }
    // Least squares through 140, 190, 280, 380: slope 81, next point 450.
    assert_eq!(
        trend.row(&["2026-Q3", "(forecast)"]),
        ["2026-Q3", "(forecast)", "450.0"]
    );
    assert!(trend.stdout.contains("slope +81.0 per quarter"));

    let alerts = node
        .hubctl(&[
            "query",
            "shortage-alerts",
            "--period",
            "2026-Q2",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    assert!(
        alerts.stdout.contains("integrated_circuits"),
        "{}",
        alerts.stdout
    );
    assert!(
        alerts.stdout.contains("thresholds: growth 25%"),
        "{}",
        alerts.stdout
    );

    let report = node
        .hubctl(&[
            "query",
            "joint-report",
            "--period",
            "2026-Q2",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    let total_ic = report.row(&["integrated_circuits", "alliance"]);
    assert_eq!(total_ic[2], "380", "{}", report.stdout);
}

#[test]
fn blacklist_queries_answer_the_sample_facts() {
    let node = TestNode::with_samples();
    let status_of = |out: &Out, entry: &str| -> String {
        out.stdout
            .lines()
            .map(cells)
            .find(|c| c.get(1) == Some(&entry))
            .map(|c| c[4].to_owned())
            .unwrap_or_else(|| panic!("no {entry} in {}", out.stdout))
    };
    let check = |date: &str| {
        node.hubctl(&[
            "query",
            "check-subject",
            "--subject-ref",
            TWO_CITY_SUBJECT,
            "--on-date",
            date,
        ])
        .ok()
    };
    let now = check("2026-11-27");
    assert_eq!(status_of(&now, "sh-2025-0012"), "active");
    assert_eq!(status_of(&now, "sz-2026-0002"), "active");
    assert!(now.stdout.contains("any active: yes"));
    let before = check("2026-01-15");
    assert_eq!(status_of(&before, "sz-2026-0002"), "pending");

    for (origin, entry, date, status) in [
        ("320500", "sz-2025-0031", "2025-12-15", "active"),
        ("320500", "sz-2025-0031", "2026-01-15", "expired"),
        ("330100", "hz-2025-0007", "2026-01-15", "suspended"),
        ("330100", "hz-2025-0007", "2026-11-27", "active"),
        ("340100", "hf-2025-0019", "2025-12-15", "suspended"),
        ("340100", "hf-2025-0019", "2026-11-27", "revoked"),
        ("330400", "jx-2026-0003", "2026-11-27", "pending"),
    ] {
        let out = node
            .hubctl(&[
                "query",
                "list-entries",
                "--origin",
                origin,
                "--on-date",
                date,
            ])
            .ok();
        assert_eq!(status_of(&out, entry), status, "{entry} on {date}");
    }
    let revoked = node
        .hubctl(&[
            "query",
            "list-entries",
            "--origin",
            "340100",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    assert!(
        revoked.stdout.contains("revoked (appeal_upheld)"),
        "{}",
        revoked.stdout
    );
    let expired = node
        .hubctl(&[
            "query",
            "list-entries",
            "--origin",
            "320500",
            "--status",
            "expired",
            "--on-date",
            "2026-01-15",
        ])
        .ok();
    assert!(expired.stdout.contains("sz-2025-0031"));
    assert!(!expired.stdout.contains("sz-2026-0002"));
    assert!(expired.stdout.contains("1 entries"), "{}", expired.stdout);
}

#[test]
fn json_output_names_enums_and_follows_both_time_axes() {
    let node = TestNode::with_samples();
    let summary = node.json(&[
        "query",
        "demand-summary",
        "--group-by",
        "industry",
        "--on-date",
        "2026-11-27",
    ]);
    let ic = summary["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["key"] == "integrated_circuits")
        .expect("an integrated_circuits group");
    assert_eq!(ic["open_headcount"], 740);
    assert_eq!(summary["total_open_headcount"], 1425);
    assert_eq!(summary["basis"]["position"], 80);

    let subject = node.json(&[
        "query",
        "check-subject",
        "--subject-ref",
        TWO_CITY_SUBJECT,
        "--on-date",
        "2026-11-27",
    ]);
    assert_eq!(subject["any_active"], true);
    assert_eq!(subject["entries"][0]["status"], "active");
    assert_eq!(subject["entries"][0]["category"], "application_fraud");

    let rules = node.json(&["query", "list-recognitions", "--recognizer", "330100"]);
    let tier = rules["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule_id"] == "hz-tier-sh-b")
        .expect("hz-tier-sh-b");
    assert_eq!(tier["conditions"], "须在本市缴纳社会保险满一年");
    assert_eq!(tier["credential"]["kind"], "talent_tier");

    // Paging by hand: one page of 2, then the rest from its token.
    let page = node.json(&["query", "list-recognitions", "--page-size", "2", "--all"]);
    assert_eq!(page["rules"].as_array().expect("rules").len(), 2);
    let token = page["next_page_token"].as_str().expect("token").to_owned();
    assert!(!token.is_empty());
    let rest = node.json(&[
        "query",
        "list-recognitions",
        "--page-size",
        "100",
        "--page-token",
        &token,
        "--all",
    ]);
    assert_eq!(
        rest["rules"].as_array().expect("rules").len(),
        13,
        "15 rules in all"
    );

    // Record time: the recognition file is published first (positions 1..=17).
    let at_17 = node.json(&["query", "info", "--at-position", "17"]);
    assert_eq!(at_17["position"], 17);
    assert_eq!(at_17["counts"]["credential_recognized"], 16);
    assert!(at_17["counts"].get("demand_signal_published").is_none());
    let before_anything = node.json(&[
        "query",
        "list-recognitions",
        "--all",
        "--as-of",
        "2000-01-01T00:00:00Z",
    ]);
    assert_eq!(before_anything["rules"].as_array().expect("rules").len(), 0);

    for args in [
        &["query", "matrix", "--kind", "skill_level"][..],
        &["query", "demand-trend", "--industry", "aerospace"],
        &["query", "shortage-alerts", "--period", "2026-Q2"],
        &["query", "joint-report", "--period", "2026-Q1"],
        &["query", "list-entries", "--origin", "310000"],
        &[
            "query",
            "is-recognized",
            "--recognizer",
            "310000",
            "--issuer",
            "330400",
            "--kind",
            "licence",
            "--code",
            "registered-structural-engineer",
        ],
    ] {
        let v = node.json(args);
        assert!(v.is_object(), "{args:?}: {v}");
    }
}
