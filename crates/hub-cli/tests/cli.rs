//! End to end: the real `hubctl` binary against a real node (gRPC on port 0, sled in a
//! tempdir): demo, publish, tail, replay, connection errors and closed pipes. Queries are
//! in `queries.rs`, erasure in `erase.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::{cells, demand_line, hubctl_command, run, TestNode};
use serde_json::Value;

#[test]
fn demo_loads_the_samples_once_and_suggests_next_steps() {
    let node = TestNode::start(true);
    let first = node.hubctl(&["demo"]).ok();
    assert!(
        first.stdout.contains("appended 80 events in"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("0 duplicates"), "{}", first.stdout);
    assert!(
        first.stdout.contains("query check-subject"),
        "{}",
        first.stdout
    );
    for next in [" screen --subject-ref", " register summary --on-date"] {
        assert!(first.stdout.contains(next), "{next}: {}", first.stdout);
    }
    let files: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.contains(".jsonl"))
        .map(|l| common::cells(l)[0])
        .collect();
    assert_eq!(
        files,
        [
            "recognition.jsonl",
            "demand.jsonl",
            "blacklist.jsonl",
            "register.jsonl"
        ]
    );
    assert_eq!(first.row(&["register.jsonl"])[1..], ["21", "21", "0"]);
    let again = node.hubctl(&["demo"]).ok();
    assert!(
        again
            .stdout
            .contains("appended 0 events in 0 appends, 80 duplicates"),
        "{}",
        again.stdout
    );
    let info = node.json(&["info"]);
    assert_eq!(info["position"], 80);
    assert_eq!(info["log_head"], 80);
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
fn replay_folds_the_log_to_the_server_digest() {
    let node = TestNode::with_samples();
    let out = node.hubctl(&["replay", "--page", "7"]).ok();
    assert!(out.stdout.contains("digests match"), "{}", out.stdout);
    assert!(
        out.stdout.contains("replayed 80 events up to position 80"),
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
        .command(&["tail", "--from", "76", "--count", "6", "--verbose"])
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
    assert!(first[0].starts_with("76 "), "{first:?}");
    assert!(first[4].starts_with("80 "), "{first:?}");

    node.restart();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("more.jsonl");
    std::fs::write(&file, demand_line("sh-as-9", 9, 7)).expect("write");
    node.hubctl(&["publish", file.to_str().expect("utf-8")])
        .ok();

    let resumed = next();
    assert!(resumed.starts_with("81 310000#"), "{resumed}");
    let status = child.wait().expect("tail exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resuming after position 80"), "{stderr}");
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
