//! End to end: `hubctl erase` against a real node loaded with the samples, by order and
//! after retention, and every way it refuses.

mod common;

use common::{TestNode, TWO_CITY_SUBJECT};
use serde_json::Value;

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
    let before = entry_of(&node, "310000", "sh-2025-0012", "80");
    assert_eq!(before["personal"], "shown", "{before}");
    assert_eq!(before["subject_display"], "张*");
    assert_eq!(before["erasure_reason"], Value::Null);

    let erased = node.json(&["erase", "--entry", stream, "--order-ref", order]);
    assert_eq!(erased["stream"], stream);
    assert_eq!(erased["reason"], "order");
    assert_eq!(erased["order_ref"], order);
    assert_eq!(erased["position"], 81);
    assert_eq!(erased["duplicate"], false);
    let event_id = erased["event_id"].as_str().expect("event id").to_owned();

    let after = entry_of(&node, "310000", "sh-2025-0012", "81");
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
            "81",
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
        "81",
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
            .contains("already stored at position 81 (an idempotent retry)"),
        "{}",
        retry.stdout
    );
    assert!(retry.stdout.contains(&event_id), "{}", retry.stdout);
    assert_eq!(node.json(&["info"])["log_head"], 81);
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
            "erased blacklist/320500/sz-2025-0031 at position 81 (stream version 2); event id {id}"
        )
    );
    let after = entry_of(&node, "320500", "sz-2025-0031", "81");
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
    assert_eq!(node.json(&["info"])["log_head"], 80, "nothing was appended");
}
