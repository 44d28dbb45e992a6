//! JSON Lines: valid domain bodies of every kind survive JSON and an event line unchanged,
//! and lines with personal fields in the clear or sealed, or an erasure, parse or are
//! rejected at the exact path.

mod support;

use hub_proto::jsonl::{parse_line, JsonEvent};
use hub_types::event::{EntryErased, Personal, PersonalFields, Sealed};
use hub_types::values::{ErasureReason, Text, MAX_LABEL, MAX_TEXT};
use hub_types::{Body, EventId, MemberId, StreamId};
use proptest::prelude::*;
use support::strategies::{body, member};
use support::ENTRY_STREAM;

/// A stream the body may be written to, owned by `owner`.
fn stream_for(body: &Body, owner: MemberId) -> StreamId {
    body.stream_for(owner)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_bodies_round_trip_through_json_lines(b in body(), owner in member()) {
        let json = serde_json::to_string(&b).expect("bodies serialize");
        prop_assert_eq!(serde_json::from_str::<Body>(&json).expect("parses back"), b.clone());

        let line = JsonEvent {
            stream: stream_for(&b, owner),
            event_id: EventId::new_random(),
            body: b.clone(),
        };
        let line_text = serde_json::to_string(&line).expect("lines serialize");
        prop_assert!(!line_text.contains('\n'), "one event per line");
        let (stream, event) = parse_line(&line_text)
            .expect("a serialized valid event is a valid line")
            .expect("not blank");
        prop_assert_eq!(stream, line.stream);
        prop_assert_eq!(event.event_id, line.event_id);
        prop_assert_eq!(event.body, b);
    }
}

// ---------------------------------------------------------------------------------------
// JSON Lines: personal fields and erasure

/// A JSON line on the Shanghai entry's stream with `fields` in its body.
fn entry_line(fields: &str) -> String {
    format!(
        r#"{{"stream": "{ENTRY_STREAM}", "event_id": "5b1f0c3e-7a2d-4c1b-9e8f-000000000001", "body": {{{fields}}}}}"#
    )
}

/// An added entry's line with `personal` (JSON fields, each followed by a comma) where
/// the personal fields go.
fn added_line(personal: &str) -> String {
    entry_line(&format!(
        r#""kind": "blacklist_entry_added", "entry_id": "sh-2025-0012", "subject_ref": "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549", {personal} "category": "application_fraud", "decision_ref": "沪人社信〔2025〕12号", "decided_at": "2025-03-10", "effective_from": "2025-03-20", "expires_at": "2028-03-19", "measures": ["三年内不得申报各级各类人才计划"]"#
    ))
}

/// The JSON of a sealed object with `nonce_len` and `ciphertext_len` bytes.
fn sealed_json(nonce_len: usize, ciphertext_len: usize) -> String {
    let bytes = |n: usize, b: u8| serde_json::to_string(&vec![b; n]).expect("bytes");
    format!(
        r#""sealed": {{"nonce": {}, "ciphertext": {}}},"#,
        bytes(nonce_len, 7),
        bytes(ciphertext_len, 9)
    )
}

#[track_caller]
fn line_body(line: &str) -> Body {
    let (stream, event) = parse_line(line)
        .unwrap_or_else(|e| panic!("expected a valid line, got {e}: {line}"))
        .expect("not blank");
    assert_eq!(stream.to_string(), ENTRY_STREAM);
    event.body
}

#[track_caller]
fn personal_of(line: &str) -> Personal {
    match line_body(line) {
        Body::BlacklistEntryAdded(a) => a.personal,
        other => panic!("expected an added entry, got {other:?}"),
    }
}

#[test]
fn a_json_line_with_a_decision_summary_parses() {
    let line = added_line(
        r#""subject_display": "张*", "decision_summary": "以伪造的职称证书申报人才计划","#,
    );
    assert_eq!(
        personal_of(&line),
        Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("masked"),
            decision_summary: Text::new("以伪造的职称证书申报人才计划", MAX_TEXT, false)
                .expect("text"),
        })
    );

    // Without it the summary is empty.
    assert_eq!(
        personal_of(&added_line(r#""subject_display": "张*","#)),
        Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("masked"),
            decision_summary: Text::default(),
        })
    );

    // A summary alone names nobody; one too long fails the wire validation, by name.
    let err = parse_line(&added_line(
        r#""decision_summary": "以伪造的职称证书申报人才计划","#,
    ))
    .expect_err("no display name");
    assert!(err.reason.contains("subject_display"), "{err}");
    let long = format!(
        r#""subject_display": "张*", "decision_summary": "{}","#,
        "述".repeat(501)
    );
    assert_eq!(
        parse_line(&added_line(&long)).expect_err("too long").path,
        "body.blacklist_entry_added.decision_summary"
    );
}

#[test]
fn a_json_line_with_sealed_personal_fields_parses() {
    assert_eq!(
        personal_of(&added_line(&sealed_json(24, 40))),
        Personal::Sealed(Sealed {
            nonce: vec![7; 24],
            ciphertext: vec![9; 40],
        })
    );
    // The wire limits hold in JSON too.
    assert_eq!(
        parse_line(&added_line(&sealed_json(23, 40)))
            .expect_err("short nonce")
            .path,
        "body.blacklist_entry_added.sealed.nonce"
    );
    assert_eq!(
        parse_line(&added_line(&sealed_json(24, 15)))
            .expect_err("short ciphertext")
            .path,
        "body.blacklist_entry_added.sealed.ciphertext"
    );
}

#[test]
fn a_json_line_with_both_sealed_and_clear_personal_fields_is_rejected() {
    for clear in [
        r#""subject_display": "张*","#,
        r#""decision_summary": "以伪造的职称证书申报人才计划","#,
        r#""subject_display": "张*", "decision_summary": "以伪造的职称证书申报人才计划","#,
    ] {
        let line = added_line(&format!("{clear} {}", sealed_json(24, 40)));
        let err = parse_line(&line).expect_err(clear);
        assert_eq!(err.path, "", "{err}");
        assert!(
            err.reason.starts_with("not a valid event line")
                && err.reason.contains("either sealed or subject_display"),
            "{clear}: {err}"
        );
    }
}

#[test]
fn a_blacklist_entry_erased_line_parses() {
    let line = entry_line(
        r#""kind": "blacklist_entry_erased", "entry_id": "sh-2025-0012", "reason": "order", "order_ref": "（2026）沪01行终12号""#,
    );
    assert_eq!(
        line_body(&line),
        Body::BlacklistEntryErased(EntryErased {
            entry_id: "sh-2025-0012".parse().expect("id"),
            reason: ErasureReason::Order,
            order_ref: Text::new("（2026）沪01行终12号", MAX_LABEL, true).expect("label"),
        })
    );

    let retention = entry_line(
        r#""kind": "blacklist_entry_erased", "entry_id": "sh-2025-0012", "reason": "retention_ended", "order_ref": """#,
    );
    match line_body(&retention) {
        Body::BlacklistEntryErased(e) => {
            assert_eq!(e.reason, ErasureReason::RetentionEnded);
            assert!(e.order_ref.as_str().is_empty());
        }
        other => panic!("expected an erasure, got {other:?}"),
    }

    // An order without its reference, and an erasure of another entry, are named.
    let no_ref = line.replace("（2026）沪01行终12号", "");
    assert_eq!(
        parse_line(&no_ref).expect_err("order needs a ref").path,
        "body.blacklist_entry_erased.order_ref"
    );
    let other_entry = line.replace(
        r#""entry_id": "sh-2025-0012""#,
        r#""entry_id": "sh-2025-0013""#,
    );
    assert_ne!(other_entry, line);
    assert_eq!(
        parse_line(&other_entry).expect_err("other entry").path,
        "body.blacklist_entry_erased.entry_id"
    );
    // An unknown reason is a shape error of the line.
    let unknown = line.replace(r#""reason": "order""#, r#""reason": "unspecified""#);
    assert_ne!(unknown, line);
    assert_eq!(parse_line(&unknown).expect_err("unknown reason").path, "");
}
