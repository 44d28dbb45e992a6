//! End to end: the talent register through `hubctl` against a real node: publishing every
//! white-list and award event, screening with each verdict on the samples, listing awards
//! over several pages, the summary, and bad input named by its field.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Out, TestNode};
use serde_json::Value;

/// Fictional ID numbers of the samples (config/samples/README.md).
const ZHANG: &str = "11010519491231002X";
const ZHOU_REF: &str = "823625c15d14df161e9fd94afbde59a29c028b45beaa8ef68f3e123893a3f008";
const WU_REF: &str = "e55415b04a90e1714df50ff6612bea5ff76da12fd1207fa13dca678a8aee6adc";
const QIAN_REF: &str = "b95f508e11a365ab5b50d3b31b501b59cc6470a8cda20ce80c3505a49e0094f7";
const LI_REF: &str = "a74d23585355e5b19a54409f4084b5faa2cfe61051bbfc82c7d5be2b69c15439";

/// Runs `hubctl` with `stdin` on its standard input.
fn with_stdin(node: &TestNode, args: &[&str], stdin: &str) -> Out {
    let mut child = node
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hubctl starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("hubctl ends");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_of(out: &Out) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}{}", out.stdout, out.stderr))
}

/// `screen` for 2027-01-01 .. 2029-12-31 on the samples' "today", as JSON.
fn screen(node: &TestNode, subject: &[&str], category: &str, level: &str, cny: &str) -> Value {
    let mut args = vec!["screen"];
    args.extend_from_slice(subject);
    args.extend_from_slice(&[
        "--category",
        category,
        "--level",
        level,
        "--funded-from",
        "2027-01-01",
        "--funded-until",
        "2029-12-31",
        "--amount-cny",
        cny,
        "--on-date",
        "2026-11-27",
    ]);
    node.json(&args)
}

fn rules(answer: &Value) -> Vec<&str> {
    answer["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect()
}

fn streams(reason: &Value) -> Vec<&str> {
    reason["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["stream"].as_str())
        .collect()
}

#[test]
fn screening_the_samples_gives_each_verdict_with_its_reasons_and_rules() {
    let node = TestNode::with_samples();

    // Listed by Shanghai and Suzhou, and funded by Nanjing and Hangzhou for overlapping
    // periods: barred, with the conflicts reported too. The ID comes from stdin.
    let out = with_stdin(
        &node,
        &[
            "screen",
            "--national-id",
            "-",
            "--category",
            "talent_programme",
            "--level",
            "municipal",
            "--funded-from",
            "2027-01-01",
            "--funded-until",
            "2029-12-31",
            "--amount-cny",
            "500000",
            "--on-date",
            "2026-11-27",
            "--json",
        ],
        &format!("{ZHANG}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let barred = json_of(&out);
    assert_eq!(barred["verdict"], "barred", "{barred}");
    assert_eq!(
        rules(&barred),
        [
            "blacklisted",
            "blacklisted",
            "same_category_and_level",
            "same_category_and_level"
        ]
    );
    let reasons = barred["reasons"].as_array().expect("reasons");
    assert_eq!(streams(&reasons[0]), ["blacklist/310000/sh-2025-0012"]);
    assert_eq!(streams(&reasons[1]), ["blacklist/320500/sz-2026-0002"]);
    assert_eq!(streams(&reasons[2]), ["award/320100/nj-2024-cx-0117"]);
    assert_eq!(streams(&reasons[3]), ["award/330100/hz-2025-lj-0042"]);
    assert!(
        reasons[2]["events"][0]["position"]
            .as_u64()
            .expect("position")
            > 59
    );
    assert_eq!(barred["barring"].as_array().expect("barring").len(), 2);
    assert_eq!(barred["overlapping"].as_array().expect("awards").len(), 2);
    assert_eq!(barred["rules"]["amount_cap_cny"], 5_000_000);
    assert_eq!(barred["rules"]["same_category_and_level"], true);
    assert!(
        !out.stdout.contains(ZHANG) && !out.stderr.contains(ZHANG),
        "the ID number is never echoed"
    );

    // Shanghai's Pujiang award runs to 2027-06-30: conflict, and white-listed by Shanghai.
    let conflict = screen(
        &node,
        &["--subject-ref", ZHOU_REF],
        "talent_programme",
        "municipal",
        "300000",
    );
    assert_eq!(conflict["verdict"], "conflict", "{conflict}");
    assert_eq!(rules(&conflict), ["same_category_and_level", "whitelisted"]);
    assert_eq!(
        streams(&conflict["reasons"][0]),
        ["award/310000/sh-pj-2025-0231"]
    );
    assert_eq!(conflict["fast_track"][0]["entry_id"], "sh-wl-2025-0008");
    // The research project overlaps too, but no rule makes it a conflict.
    assert_eq!(conflict["overlapping"].as_array().expect("awards").len(), 2);

    // A national award of 2500000 CNY (after its amendment) plus 3000000 applied for
    // passes the cap.
    let capped = screen(
        &node,
        &["--subject-ref", WU_REF],
        "research_project",
        "provincial",
        "3000000",
    );
    assert_eq!(capped["verdict"], "conflict", "{capped}");
    assert_eq!(rules(&capped), ["amount_cap", "whitelisted"]);
    assert_eq!(
        streams(&capped["reasons"][0]),
        ["award/330100/hz-2025-kj-0009"]
    );
    assert_eq!(capped["reasons"][0]["events"][0]["stream_version"], 2);

    // A talent-programme award does not stand in the way of a research project: clear,
    // fast-tracked by Jiaxing's white list.
    let clear = screen(
        &node,
        &["--subject-ref", QIAN_REF],
        "research_project",
        "provincial",
        "400000",
    );
    assert_eq!(clear["verdict"], "clear", "{clear}");
    assert_eq!(rules(&clear), ["whitelisted"]);
    // An expired entry and a clawed-back award leave nothing at all.
    let cleared = screen(
        &node,
        &["--subject-ref", LI_REF],
        "talent_programme",
        "municipal",
        "500000",
    );
    assert_eq!(cleared["verdict"], "clear", "{cleared}");
    assert!(rules(&cleared).is_empty(), "{cleared}");
    assert!(cleared["overlapping"]
        .as_array()
        .expect("awards")
        .is_empty());

    // For people: the verdict first, the reasons with their events, the rules last.
    let text = node
        .hubctl(&[
            "screen",
            "--subject-ref",
            ZHOU_REF,
            "--category",
            "talent_programme",
            "--level",
            "municipal",
            "--funded-from",
            "2027-01-01",
            "--funded-until",
            "2029-12-31",
            "--amount-cny",
            "300000",
            "--on-date",
            "2026-11-27",
        ])
        .ok();
    assert!(
        text.stdout.starts_with("verdict: conflict\n"),
        "{}",
        text.stdout
    );
    let row = text.row(&["same_category_and_level"]);
    assert!(
        row[1].starts_with("award/310000/sh-pj-2025-0231@v1#"),
        "{row:?}"
    );
    assert!(text.stdout.contains("周*"), "{}", text.stdout);
    assert!(
        text.line("rules:").contains("amount cap: 5000000 CNY"),
        "{}",
        text.stdout
    );

    // Operators may not screen people.
    let denied = node.hubctl(&[
        "--token",
        "dev-operator",
        "screen",
        "--subject-ref",
        ZHOU_REF,
        "--category",
        "talent_programme",
        "--level",
        "municipal",
        "--funded-from",
        "2027-01-01",
        "--funded-until",
        "2029-12-31",
        "--amount-cny",
        "1",
    ]);
    assert_eq!(denied.code, 1, "{denied:?}");
    assert!(
        denied.stderr.contains("permission_denied"),
        "{}",
        denied.stderr
    );
}

#[test]
fn whitelist_status_and_the_register_summary_answer_the_sample_facts() {
    let node = TestNode::with_samples();
    let status = node.json(&[
        "whitelist",
        "status",
        "--subject-ref",
        WU_REF,
        "--on-date",
        "2026-11-27",
    ]);
    assert_eq!(status["any_active"], true);
    let entry = &status["entries"][0];
    assert_eq!(entry["entry_id"], "hz-wl-2023-0015");
    assert_eq!(entry["tier"], "a");
    assert_eq!(entry["valid_until"], "2029-05-31", "renewed");
    assert_eq!(entry["status"], "active");
    assert_eq!(entry["subject_display"], "吴*");

    // Nanjing removed its entry from 2026-09-01.
    let removed = with_stdin(
        &node,
        &[
            "whitelist",
            "status",
            "--national-id",
            "-",
            "--on-date",
            "2026-11-27",
        ],
        "320106198409052733",
    )
    .ok();
    let row = removed.row(&["320100", "nj-wl-2024-0021"]);
    assert_eq!(row[2..5], ["郑*", "b", "nanjing-high-level-talent"]);
    assert_eq!(row[5..8], ["removed", "(from", "2026-09-01)"]);
    assert!(
        removed.stdout.contains("any active: no"),
        "{}",
        removed.stdout
    );

    let summary = node.json(&["register", "summary", "--on-date", "2026-11-27"]);
    let awards = summary["awards"].as_array().expect("awards");
    let count: u64 = awards
        .iter()
        .map(|a| a["awards"].as_u64().expect("n"))
        .sum();
    let cny: u64 = awards
        .iter()
        .map(|a| a["amount_cny"].as_u64().expect("cny"))
        .sum();
    assert_eq!((count, cny), (8, 8_180_000));
    assert!(
        awards.iter().all(|a| a["origin"] != "340100"),
        "Hefei's only award was withdrawn: {summary}"
    );
    let hz_national = awards
        .iter()
        .find(|a| a["origin"] == "330100" && a["level"] == "national")
        .expect("Hangzhou national");
    assert_eq!(hz_national["amount_cny"], 2_500_000);
    assert_eq!(hz_national["year"], 2025);
    let whitelist = summary["whitelist"].as_array().expect("whitelist");
    let cities: Vec<(&str, &str)> = whitelist
        .iter()
        .map(|w| {
            (
                w["origin"].as_str().expect("origin"),
                w["tier"].as_str().expect("tier"),
            )
        })
        .collect();
    assert_eq!(
        cities,
        [
            ("310000", "b"),
            ("320500", "b"),
            ("330100", "a"),
            ("330400", "c"),
            ("340100", "c")
        ]
    );
    assert!(
        !summary.to_string().contains("subject"),
        "no personal data: {summary}"
    );
    let text = node
        .hubctl(&["register", "summary", "--on-date", "2026-11-27"])
        .ok();
    assert_eq!(
        text.row(&["330100", "national"]),
        ["330100", "national", "2025", "1", "2500000"]
    );
    assert!(
        text.stdout.contains("8 awards, 8180000 CNY"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("5 white-list entries in force"),
        "{}",
        text.stdout
    );
}

#[test]
fn register_commands_publish_every_kind_and_name_a_bad_field() {
    let node = TestNode::start(true);
    let entry = "whitelist/310000/sh-wl-t-0001";
    let add = with_stdin(
        &node,
        &[
            "whitelist",
            "add",
            "--entry",
            entry,
            "--national-id",
            "-",
            "--subject-display",
            "周*",
            "--tier",
            "b",
            "--scheme",
            "shanghai-overseas-high-end",
            "--valid-from",
            "2026-01-01",
            "--valid-until",
            "2027-12-31",
            "--basis-ref",
            "沪人社认〔2026〕1号",
            "--json",
        ],
        "310104198305142035\n",
    );
    assert_eq!(add.code, 0, "{add:?}");
    let added = json_of(&add);
    assert_eq!(added["kind"], "whitelist_entry_added");
    assert_eq!(added["stream_version"], 1);
    assert_eq!(added["duplicate"], false);
    assert!(!add.stdout.contains("310104198305142035"));

    node.hubctl(&[
        "whitelist",
        "renew",
        "--entry",
        entry,
        "--valid-until",
        "2029-12-31",
        "--basis-ref",
        "沪人社认〔2027〕9号",
    ])
    .ok();
    let removed = node
        .hubctl(&[
            "whitelist",
            "remove",
            "--entry",
            entry,
            "--reason",
            "本人离沪",
            "--effective-at",
            "2028-01-01",
        ])
        .ok();
    assert!(
        removed.stdout.starts_with(&format!(
            "appended whitelist_entry_removed to {entry} at position 3 (stream version 3)"
        )),
        "{}",
        removed.stdout
    );

    // The national ID became the subject reference the samples document.
    let status = node.json(&[
        "whitelist",
        "status",
        "--subject-ref",
        ZHOU_REF,
        "--on-date",
        "2027-06-30",
    ]);
    let e = &status["entries"][0];
    assert_eq!(e["entry_id"], "sh-wl-t-0001", "{status}");
    assert_eq!(e["valid_until"], "2029-12-31");
    assert_eq!(e["status"], "active");
    assert_eq!(e["removed_at"], "2028-01-01");
    assert_eq!(e["source"]["stream_version"], 3);

    let award = "award/310000/sh-pj-t-0001";
    let granted = node.json(&[
        "award",
        "grant",
        "--award",
        award,
        "--subject-ref",
        ZHOU_REF,
        "--subject-display",
        "周*",
        "--programme-code",
        "sh-pujiang",
        "--category",
        "talent_programme",
        "--level",
        "municipal",
        "--project-title",
        "浦江人才计划：界面调控",
        "--amount-cny",
        "500000",
        "--funded-from",
        "2026-07-01",
        "--funded-until",
        "2028-06-30",
        "--decision-ref",
        "沪科〔2026〕1号",
    ]);
    assert_eq!(granted["kind"], "award_granted");
    let event_id = granted["event_id"].as_str().expect("event id").to_owned();
    node.hubctl(&[
        "award",
        "amend",
        "--award",
        award,
        "--project-title",
        "浦江人才计划：界面调控与应用",
        "--amount-cny",
        "600000",
        "--funded-from",
        "2026-07-01",
        "--funded-until",
        "2028-12-31",
        "--decision-ref",
        "沪科〔2026〕7号",
    ])
    .ok();
    node.hubctl(&[
        "award",
        "withdraw",
        "--award",
        award,
        "--outcome",
        "clawed_back",
        "--reason",
        "申报材料不实",
        "--effective-at",
        "2027-03-01",
    ])
    .ok();
    let listed = node.json(&[
        "award",
        "list",
        "--origin",
        "310000",
        "--on-date",
        "2027-06-30",
    ]);
    let a = &listed["awards"][0];
    assert_eq!(a["award_id"], "sh-pj-t-0001", "{listed}");
    assert_eq!(a["amount_cny"], 600_000);
    assert_eq!(a["amendments"], 1);
    assert_eq!(a["status"], "clawed_back");
    assert_eq!(a["ended_at"], "2027-03-01");
    assert_eq!(a["source"]["stream_version"], 3);

    // Granting the same award again is refused: the stream exists.
    let again = node.hubctl(&[
        "award",
        "grant",
        "--award",
        award,
        "--subject-ref",
        ZHOU_REF,
        "--subject-display",
        "周*",
        "--programme-code",
        "sh-pujiang",
        "--category",
        "talent_programme",
        "--level",
        "municipal",
        "--project-title",
        "x",
        "--amount-cny",
        "1",
        "--funded-from",
        "2026-07-01",
        "--funded-until",
        "2028-06-30",
        "--decision-ref",
        "y",
    ]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again
            .stderr
            .contains("already exists: choose another id for --award"),
        "{}",
        again.stderr
    );
    assert!(!event_id.is_empty());

    // Bad input is refused before anything is sent, naming the field and its flag.
    let head = node.json(&["info"])["log_head"].clone();
    assert_eq!(head, 6);
    let zero = node.hubctl(&[
        "award",
        "amend",
        "--award",
        award,
        "--project-title",
        "x",
        "--amount-cny",
        "0",
        "--funded-from",
        "2026-07-01",
        "--funded-until",
        "2028-12-31",
        "--decision-ref",
        "y",
    ]);
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(
        zero.stderr
            .contains("field body.award_amended.amount_cny (--amount-cny)"),
        "{}",
        zero.stderr
    );
    let date = node.hubctl(&[
        "whitelist",
        "remove",
        "--entry",
        entry,
        "--reason",
        "x",
        "--effective-at",
        "2028-02-30",
    ]);
    assert_eq!(date.code, 2, "{date:?}");
    assert!(
        date.stderr
            .contains("field body.whitelist_entry_removed.effective_at (--effective-at)"),
        "{}",
        date.stderr
    );
    let id = with_stdin(
        &node,
        &[
            "whitelist",
            "add",
            "--entry",
            "whitelist/310000/sh-wl-t-0002",
            "--national-id",
            "-",
            "--subject-display",
            "周*",
            "--tier",
            "b",
            "--scheme",
            "s",
            "--valid-from",
            "2026-01-01",
            "--valid-until",
            "2027-12-31",
            "--basis-ref",
            "b",
        ],
        "310104198305142036",
    );
    assert_eq!(id.code, 2, "{id:?}");
    assert!(
        id.stderr.contains("field national_id (--national-id)"),
        "{}",
        id.stderr
    );
    assert!(!id.stderr.contains("310104198305142036"), "{}", id.stderr);
    assert_eq!(node.json(&["info"])["log_head"], head, "nothing was sent");

    // The hub names the field of what only it can judge: a screening's bad ID number.
    let screened = node.hubctl(&[
        "screen",
        "--national-id",
        "310104198305142036",
        "--category",
        "talent_programme",
        "--level",
        "municipal",
        "--funded-from",
        "2027-01-01",
        "--funded-until",
        "2027-12-31",
        "--amount-cny",
        "1",
    ]);
    assert_eq!(screened.code, 1, "{screened:?}");
    assert!(
        screened.stderr.contains("(invalid_argument): national_id:"),
        "{}",
        screened.stderr
    );

    // A city publishes only its own streams.
    let foreign = node.hubctl(&[
        "whitelist",
        "renew",
        "--entry",
        "whitelist/330100/hz-wl-2023-0015",
        "--valid-until",
        "2030-01-01",
        "--basis-ref",
        "x",
    ]);
    assert_eq!(foreign.code, 1, "{foreign:?}");
    assert!(
        foreign.stderr.contains("permission_denied"),
        "{}",
        foreign.stderr
    );
}

#[test]
fn award_list_follows_every_page() {
    let node = TestNode::start(true);
    // 130 Suzhou awards: more than a default page of 100.
    let lines: Vec<String> = (0..130)
        .map(|i| {
            format!(
                r#"{{"stream": "award/320500/sz-t-{i:04}", "event_id": "00000000-0000-4000-8000-{i:012}", "body": {{"kind": "award_granted", "award_id": "sz-t-{i:04}", "subject_ref": "{ZHOU_REF}", "subject_display": "周*", "programme_code": "sz-gusu-lingjun", "category": "talent_programme", "level": "{level}", "project_title": "t", "amount_cny": 1000, "funded_from": "2026-01-01", "funded_until": "2026-12-31", "decision_ref": "d"}}}}"#,
                level = if i % 2 == 0 { "municipal" } else { "district" }
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("awards.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    node.hubctl(&[
        "--token",
        "dev-member-320500",
        "publish",
        file.to_str().expect("utf-8"),
    ])
    .ok();

    let all = node.json(&["award", "list", "--origin", "320500"]);
    let ids: Vec<&str> = all["awards"]
        .as_array()
        .expect("awards")
        .iter()
        .filter_map(|a| a["award_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 130, "every page");
    assert_eq!(ids[0], "sz-t-0000");
    assert_eq!(ids[129], "sz-t-0129");
    assert_eq!(all["next_page_token"], "");
    let text = node.hubctl(&["award", "list", "--origin", "320500"]).ok();
    assert!(
        text.stdout.contains("130 awards (as of position 130"),
        "{}",
        text.stdout
    );

    // One page by hand, then the next from its token.
    let page = node.json(&[
        "award",
        "list",
        "--origin",
        "320500",
        "--level",
        "district",
        "--page-size",
        "40",
    ]);
    assert_eq!(page["awards"].as_array().expect("awards").len(), 40);
    assert_eq!(page["awards"][0]["award_id"], "sz-t-0001");
    let token = page["next_page_token"].as_str().expect("token").to_owned();
    assert!(!token.is_empty());
    let rest = node.json(&[
        "award",
        "list",
        "--origin",
        "320500",
        "--level",
        "district",
        "--page-size",
        "40",
        "--page-token",
        &token,
    ]);
    let rest = rest["awards"].as_array().expect("awards");
    assert_eq!(rest.len(), 25);
    assert_eq!(rest[0]["award_id"], "sz-t-0081");
    assert!(rest.iter().all(|a| a["level"] == "district"));

    let bad = node.hubctl(&["award", "list", "--origin", "320500", "--level", "city"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("--level"), "{}", bad.stderr);
    let none = node.hubctl(&["award", "list", "--origin", "32050"]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(
        none.stderr.contains("(invalid_argument): origin"),
        "{}",
        none.stderr
    );
}
