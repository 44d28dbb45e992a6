//! `hubctl audit`: an honest history verifies; every kind of tampering with a stopped
//! node's data directory is detected and located.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use hub_proto::pb::EventRecord;
use prost::Message;

#[test]
fn an_honest_history_verifies_and_its_proofs_check() {
    let node = TestNode::with_samples();
    let out = node
        .hubctl(&["--token", "dev-auditor", "audit", "verify"])
        .ok();
    assert!(out.stdout.contains("verified 80 events"), "{}", out.stdout);
    assert!(
        out.stdout.contains("the node's view digest matches"),
        "{}",
        out.stdout
    );
    let out = node
        .hubctl(&[
            "--token",
            "dev-auditor",
            "audit",
            "prove",
            "--position",
            "7",
            "--old-size",
            "20",
        ])
        .ok();
    assert!(out.stdout.contains("position 7 ("), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("the tree of size 20 is a prefix of the tree of size 80"),
        "{}",
        out.stdout
    );
    let denied = node.hubctl(&["--token", "dev-operator", "audit", "verify"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(denied.stderr.contains("permission"), "{}", denied.stderr);
}

/// A JSON Lines file of `n` Shanghai blacklist entries of about 8 KiB each.
fn bulky_entries(dir: &Path, n: usize) -> PathBuf {
    let measures: Vec<String> = (0..16)
        .map(|m| format!("{m:02}{}", "m".repeat(498)))
        .collect();
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({
                "stream": format!("blacklist/310000/big-{i:03}"),
                "event_id": format!("00000000-0000-4000-8000-{:012}", i + 1),
                "body": {
                    "kind": "blacklist_entry_added",
                    "entry_id": format!("big-{i:03}"),
                    "subject_ref": TWO_CITY_SUBJECT,
                    "subject_display": "张*",
                    "decision_summary": "申报人才计划时虚报工作经历",
                    "category": "application_fraud",
                    "decision_ref": format!("沪人社信〔2026〕{i}号"),
                    "decided_at": "2026-01-05",
                    "effective_from": "2026-01-05",
                    "expires_at": "2029-01-04",
                    "measures": measures,
                }
            })
            .to_string()
        })
        .collect();
    let file = dir.join("bulky.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    file
}

#[test]
fn long_histories_are_verified_and_replayed_page_by_page() {
    let node = TestNode::start_with(true, |c| c.server.max_message_bytes = 64 * 1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = bulky_entries(dir.path(), 30);
    node.hubctl(&["publish", file.to_str().expect("utf-8")])
        .ok();
    let out = node
        .hubctl(&["--token", "dev-auditor", "audit", "verify"])
        .ok();
    assert!(out.stdout.contains("verified 30 events"), "{}", out.stdout);
    let out = node.hubctl(&["replay"]).ok();
    assert!(
        out.stdout.contains("replayed 30 events up to position 30"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("digests match"), "{}", out.stdout);
    let listed = node.json(&["query", "list-entries", "--origin", "310000"]);
    assert_eq!(
        listed["entries"].as_array().map(Vec::len),
        Some(30),
        "{listed}"
    );
}

/// True if `text` contains `needle` not followed by another digit: "position 1" is not
/// named by "position 10".
fn names_exactly(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn tampering_with_stored_events_is_detected_and_located() {
    let mut node = TestNode::with_samples();
    let prove = node
        .hubctl(&[
            "--token",
            "dev-auditor",
            "audit",
            "prove",
            "--position",
            "1",
        ])
        .ok();
    let head = prove.line("tree head:").to_owned();
    let parts = cells(&head);
    let (size, root) = (parts[3].to_owned(), parts[5].to_owned());
    assert_eq!(size, "80");
    node.stop();
    let data = node.data_dir();

    let verify = |dir: &Path| {
        run(hubctl_command(
            "http://127.0.0.1:1",
            &[
                "audit",
                "verify",
                "--data-dir",
                dir.to_str().expect("utf-8 path"),
                "--tree-size",
                &size,
                "--root",
                &root,
            ],
        ))
    };
    let pristine = tempfile::tempdir().expect("tempdir");
    copy_dir(&data, pristine.path());
    let honest = verify(pristine.path()).ok();
    assert!(
        honest.stdout.contains("verified 80 events"),
        "{}",
        honest.stdout
    );

    let forge_signature = |events: &mut Vec<(i64, Vec<u8>)>| {
        let (i, mut record) = events
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, (_, bytes))| {
                let r = EventRecord::decode(bytes.as_slice()).expect("record");
                (!r.signature.is_empty()).then_some((i, r))
            })
            .expect("a signed event");
        let other = hub_audit::generate();
        let hash = hub_proto::record::record_hash(&record);
        record.signature =
            hub_audit::sign_chain_head(&other, &record.origin, record.origin_seq, &hash)
                .expect("sign")
                .to_vec();
        events[i].1 = record.encode_to_vec();
    };
    type Edit = Box<dyn Fn(&mut Vec<(i64, Vec<u8>)>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a flipped byte",
            Box::new(|e: &mut Vec<(i64, Vec<u8>)>| {
                let last = e[9].1.len() - 3;
                e[9].1[last] ^= 0x20;
            }),
            "position 10",
        ),
        (
            "a dropped event",
            Box::new(|e: &mut Vec<(i64, Vec<u8>)>| {
                e.remove(9);
            }),
            "position 10",
        ),
        (
            "two events swapped",
            Box::new(|e: &mut Vec<(i64, Vec<u8>)>| e.swap(9, 10)),
            "position 10",
        ),
        ("a forged signature", Box::new(forge_signature), "signature"),
        (
            "a truncated tail",
            // The log opens at its new head (its indexes are derived from it and cut to
            // it); the tree head the auditor holds finds the first event missing.
            Box::new(|e: &mut Vec<(i64, Vec<u8>)>| e.truncate(56)),
            "position 57",
        ),
    ];
    for (what, edit, needle) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&data, dir.path());
        hub_log::tamper::rewrite_events(&dir.path().join("log"), |events| edit(events))
            .expect("tamper");
        let out = verify(dir.path());
        assert_ne!(out.code, 0, "{what} went unnoticed: {}", out.stdout);
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("position"),
            "{what}: no position named: {said}"
        );
        assert!(names_exactly(&said, needle), "{what}: {said}");
    }
    let _: PathBuf = data;
}
