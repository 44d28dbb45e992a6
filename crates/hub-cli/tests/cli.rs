//! End to end: the real `hubctl` binary against a real node (gRPC on port 0, sled in a
//! tempdir), checked against the hand-checkable facts of config/samples/README.md.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::{cells, demand_line, hubctl_command, run, Out, TestNode, TWO_CITY_SUBJECT};
use serde_json::Value;

#[test]
fn demo_loads_the_samples_once_and_suggests_next_steps() {
    let node = TestNode::start(true);
    let first = node.hubctl(&["demo"]).ok();
    assert!(
        first.stdout.contains("appended 59 events in"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("0 duplicates"), "{}", first.stdout);
    assert!(
        first.stdout.contains("query check-subject"),
        "{}",
        first.stdout
    );
    let again = node.hubctl(&["demo"]).ok();
    assert!(
        again
            .stdout
            .contains("appended 0 events in 0 appends, 59 duplicates"),
        "{}",
        again.stdout
    );
    let info = node.json(&["info"]);
    assert_eq!(info["position"], 59);
    assert_eq!(info["log_head"], 59);
}

#[test]
fn demo_without_a_sandbox_node_says_to_start_one() {
    let node = TestNode::start(false);
    let out = node.hubctl(&["demo"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.lines().count(),
        2,
        "progress + one error line: {out:?}"
    );
    let error = out.stderr.lines().last().expect("error line");
    assert!(error.starts_with("error: append of"), "{error}");
    assert!(error.contains("(permission_denied)"), "{error}");
    assert!(error.contains("talent-hub --sandbox"), "{error}");
}

#[test]
fn publishing_a_file_twice_appends_nothing_the_second_time() {
    let node = TestNode::start(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.jsonl");
    let text = [
        demand_line("sh-as-1", 1, 10),
        String::new(),
        demand_line("sh-as-1", 2, 12).replace("published", "revised"),
        demand_line("sh-as-2", 3, 5),
    ]
    .join("\n");
    std::fs::write(&file, &text).expect("write");
    let path = file.to_str().expect("utf-8 path");
    let first = node.hubctl(&["publish", path]).ok();
    assert!(
        first
            .stdout
            .contains("3 events; appended 3 events in 2 appends, 0 duplicates"),
        "{}",
        first.stdout
    );
    let second = node.hubctl(&["publish", path]).ok();
    assert!(
        second
            .stdout
            .contains("appended 0 events in 0 appends, 3 duplicates"),
        "{}",
        second.stdout
    );
    // The same file on stdin, with JSON output.
    let mut stdin = node.command(&["publish", "-", "--json"]);
    stdin.stdin(std::fs::File::open(&file).expect("open"));
    let out = run(stdin).ok();
    let summary: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(summary["duplicates"], 3);
    assert_eq!(summary["appended"], 0);
    assert_eq!(summary["last_position"], 3);
}

#[test]
fn a_bad_line_exits_2_naming_the_line_and_sends_nothing() {
    let node = TestNode::start(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.jsonl");
    let text = [
        "# one good line, then a headcount out of range".to_owned(),
        demand_line("sh-as-1", 1, 10),
        demand_line("sh-as-2", 2, 0),
    ]
    .join("\n");
    std::fs::write(&file, text).expect("write");
    let out = node.hubctl(&["publish", file.to_str().expect("utf-8")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("bad.jsonl line 3"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("field body.demand_signal_published.headcount"),
        "{}",
        out.stderr
    );
    assert_eq!(node.json(&["info"])["log_head"], 0, "nothing was sent");
}

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
                "{count} rules (as of position 59, valid on {date})"
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
    assert_eq!(summary["basis"]["position"], 59);

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

#[test]
fn replay_folds_the_log_to_the_server_digest() {
    let node = TestNode::with_samples();
    let out = node.hubctl(&["replay", "--page", "7"]).ok();
    assert!(out.stdout.contains("digests match"), "{}", out.stdout);
    assert!(
        out.stdout.contains("replayed 59 events up to position 59"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cells(out.line("blacklist_entry_added")),
        ["blacklist_entry_added", "6"]
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        out.stderr
    );
    let json = node.json(&["replay"]);
    assert_eq!(json["match"], true);
    assert_eq!(json["digest"], node.json(&["info"])["digest"]);
}

#[test]
fn tail_prints_events_from_a_position_with_filters() {
    let node = TestNode::with_samples();
    let out = node.hubctl(&["tail", "--from", "0", "--count", "5"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert!(
        lines[0].starts_with(
            "1 310000#1 recognition/310000 v1 credential_recognized rule sh-pt-hz-eng-sd"
        ),
        "{}",
        lines[0]
    );
    assert!(lines[4].starts_with("5 "), "{}", lines[4]);

    let added = node
        .hubctl(&[
            "tail",
            "--from",
            "0",
            "--kind",
            "blacklist_entry_added",
            "--count",
            "6",
            "--json",
        ])
        .ok();
    let events: Vec<Value> = added
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e["kind"] == "blacklist_entry_added"));
    assert_eq!(events[0]["body"]["entry_id"], "sh-2025-0012");

    let hefei = node
        .hubctl(&[
            "tail",
            "--from",
            "50",
            "--origin",
            "340100",
            "--prefix",
            "blacklist/",
            "--count",
            "1",
        ])
        .ok();
    assert!(
        hefei.stdout.contains("blacklist/340100/hf-2025-0019"),
        "{}",
        hefei.stdout
    );

    let bad = node.hubctl(&["tail", "--kind", "nope"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn tail_resumes_after_the_node_restarts() {
    let mut node = TestNode::with_samples();
    let mut child = node
        .command(&["tail", "--from", "55", "--count", "6", "--verbose"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tail starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("utf-8")).is_err() {
                return;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line in time")
    };
    let first: Vec<String> = (0..5).map(|_| next()).collect();
    assert!(first[0].starts_with("55 "), "{first:?}");
    assert!(first[4].starts_with("59 "), "{first:?}");

    node.restart();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("more.jsonl");
    std::fs::write(&file, demand_line("sh-as-9", 9, 7)).expect("write");
    node.hubctl(&["publish", file.to_str().expect("utf-8")])
        .ok();

    let resumed = next();
    assert!(resumed.starts_with("60 310000#"), "{resumed}");
    let status = child.wait().expect("tail exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resuming after position 59"), "{stderr}");
}

#[test]
fn an_unknown_token_is_unauthenticated() {
    let node = TestNode::start(true);
    let out = node.hubctl(&["--token", "not-a-token", "info"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        "error: query info (unauthenticated): unknown token"
    );
}

#[test]
fn an_unreachable_node_exits_3_naming_the_endpoint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run(hubctl_command(&endpoint, &["query", "info"]));
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(&endpoint), "{}", out.stderr);
    assert!(out.stderr.contains("talent-hub"), "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("refused"),
        "{}",
        out.stderr
    );
}

/// The entries of one city as `list-entries --json` shows them at `position`.
fn entry_of(node: &TestNode, origin: &str, entry: &str, position: &str) -> Value {
    let listed = node.json(&[
        "query",
        "list-entries",
        "--origin",
        origin,
        "--on-date",
        "2026-11-27",
        "--at-position",
        position,
    ]);
    listed["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["entry_id"] == entry)
        .unwrap_or_else(|| panic!("no {entry} in {listed}"))
        .clone()
}

#[test]
fn erase_by_order_lists_the_entry_as_erased_and_a_retry_appends_nothing() {
    let node = TestNode::with_samples();
    let stream = "blacklist/310000/sh-2025-0012";
    let order = "(2026)沪0101民初1号";
    let before = entry_of(&node, "310000", "sh-2025-0012", "59");
    assert_eq!(before["personal"], "shown", "{before}");
    assert_eq!(before["subject_display"], "张*");
    assert_eq!(before["erasure_reason"], Value::Null);

    let erased = node.json(&["erase", "--entry", stream, "--order-ref", order]);
    assert_eq!(erased["stream"], stream);
    assert_eq!(erased["reason"], "order");
    assert_eq!(erased["order_ref"], order);
    assert_eq!(erased["position"], 60);
    assert_eq!(erased["duplicate"], false);
    let event_id = erased["event_id"].as_str().expect("event id").to_owned();

    let after = entry_of(&node, "310000", "sh-2025-0012", "60");
    assert_eq!(after["status"], "erased", "{after}");
    assert_eq!(after["personal"], "erased");
    assert_eq!(after["erasure_reason"], "order");
    assert_eq!(after["erasure_order_ref"], order);
    assert_eq!(after["subject_display"], "");
    assert_eq!(after["decision_summary"], "");

    let table = node
        .hubctl(&[
            "query",
            "list-entries",
            "--origin",
            "310000",
            "--status",
            "erased",
            "--on-date",
            "2026-11-27",
            "--at-position",
            "60",
        ])
        .ok();
    let row = table.row(&["310000", "sh-2025-0012"]);
    assert_eq!(
        row[2..6],
        ["[erased]", "application_fraud", "erased", "(order)"]
    );
    assert!(!table.stdout.contains("张*"), "{}", table.stdout);
    assert!(table.stdout.contains("1 entries"), "{}", table.stdout);

    // No check finds the erased entry; Suzhou's entry for the same subject remains.
    let check = node.json(&[
        "query",
        "check-subject",
        "--subject-ref",
        TWO_CITY_SUBJECT,
        "--on-date",
        "2026-11-27",
        "--at-position",
        "60",
    ]);
    let ids: Vec<&str> = check["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["entry_id"].as_str())
        .collect();
    assert_eq!(ids, ["sz-2026-0002"], "{check}");

    // The same event id again is an idempotent retry: nothing is appended.
    let retry = node
        .hubctl(&[
            "erase",
            "--entry",
            stream,
            "--order-ref",
            order,
            "--event-id",
            &event_id,
        ])
        .ok();
    assert!(
        retry
            .stdout
            .contains("already stored at position 60 (an idempotent retry)"),
        "{}",
        retry.stdout
    );
    assert!(retry.stdout.contains(&event_id), "{}", retry.stdout);
    assert_eq!(node.json(&["info"])["log_head"], 60);
    let verify = node.hubctl(&["--token", "dev-auditor", "audit", "verify"]);
    assert_eq!(verify.code, 0, "the history still verifies: {verify:?}");
}

#[test]
fn erase_for_retention_prints_the_position_and_the_event_id() {
    let node = TestNode::with_samples();
    let id = "6f1c2a4e-0b7d-4c55-9a3e-1d2f3a4b5c6d";
    let out = node
        .hubctl(&[
            "erase",
            "--entry",
            "blacklist/320500/sz-2025-0031",
            "--retention-ended",
            "--event-id",
            id,
            "--token",
            "dev-member-320500",
        ])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "erased blacklist/320500/sz-2025-0031 at position 60 (stream version 2); event id {id}"
        )
    );
    let after = entry_of(&node, "320500", "sz-2025-0031", "60");
    assert_eq!(after["status"], "erased", "{after}");
    assert_eq!(after["erasure_reason"], "retention_ended");
    assert_eq!(after["erasure_order_ref"], Value::Null);
}

#[test]
fn erase_refusals_exit_with_the_reason_and_change_nothing() {
    let node = TestNode::with_samples();
    // Refused locally (exit 2), before connecting.
    for (args, needle) in [
        (
            &["--entry", "demand/310000/sig-1", "--retention-ended"][..],
            "--entry",
        ),
        (&["--entry", "blacklist/310000/sh-2025-0012"], "--order-ref"),
        (
            &[
                "--entry",
                "blacklist/310000/sh-2025-0012",
                "--retention-ended",
                "--order-ref",
                "x",
            ],
            "cannot be used with",
        ),
        (
            &[
                "--entry",
                "blacklist/310000/sh-2025-0012",
                "--order-ref",
                " ",
            ],
            "field body.blacklist_entry_erased.order_ref (--order-ref): must not be empty",
        ),
        (
            &[
                "--entry",
                "blacklist/310000/sh-2025-0012",
                "--retention-ended",
                "--event-id",
                "nope",
            ],
            "--event-id",
        ),
    ] {
        let mut all = vec!["erase"];
        all.extend_from_slice(args);
        let out = node.hubctl(&all);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
    // Refused by the node (exit 1): another city's entry, and an entry that does not exist.
    let foreign = node.hubctl(&[
        "erase",
        "--entry",
        "blacklist/320500/sz-2026-0002",
        "--order-ref",
        "x",
    ]);
    assert_eq!(foreign.code, 1, "{foreign:?}");
    assert!(
        foreign.stderr.contains("(permission_denied)"),
        "{}",
        foreign.stderr
    );
    let missing = node.hubctl(&[
        "erase",
        "--entry",
        "blacklist/310000/sh-nope",
        "--retention-ended",
    ]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("(failed_precondition)")
            && missing.stderr.contains("check --entry"),
        "{}",
        missing.stderr
    );
    assert_eq!(node.json(&["info"])["log_head"], 59, "nothing was appended");
}

#[test]
fn a_reader_that_goes_away_ends_hubctl_quietly() {
    use std::io::BufRead;

    let node = TestNode::start(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tail = node.command(&["tail", "--from", "0"]);
    tail.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = tail.spawn().expect("spawn tail");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let file = dir.path().join("events.jsonl");
    let path = file.to_str().expect("utf-8 path");
    std::fs::write(&file, demand_line("sh-pipe-0", 900, 3)).expect("write");
    node.hubctl(&["publish", path]).ok();
    let mut first = String::new();
    reader.read_line(&mut first).expect("a line");
    assert!(first.contains("sh-pipe-0"), "{first}");
    drop(reader); // as `| head -1` does
                  // The next events find the pipe closed.
    for n in 1..=3 {
        let line = demand_line(&format!("sh-pipe-{n}"), 900 + n, 3);
        std::fs::write(&file, line).expect("write");
        node.hubctl(&["publish", path]).ok();
    }
    let out = child.wait_with_output().expect("tail ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
