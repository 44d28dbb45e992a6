//! The codec: valid domain bodies of every kind survive proto, bytes and JSON unchanged;
//! bodies of kinds this build does not know decode to `Body::Unknown`; and `Event` and
//! `EventRecord` are wire-compatible, so stored body bytes pass through intact.

use hub_proto::convert::{
    body_from_bytes, body_from_proto, body_to_bytes, body_to_proto, event_from_record,
    record_to_event,
};
use hub_proto::jsonl::{parse_line, JsonEvent};
use hub_proto::pb;
use hub_types::event::{
    BlacklistEntryAdded, CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased,
    EntryTransition, Personal, PersonalFields, RecognitionWithdrawn, Sealed,
};
use hub_types::values::{
    BlacklistCategory, CloseReason, Credential, CredentialKind, Education, ErasureReason, Industry,
    Issuer, MaskedName, OccupationCode, PayBand, RevokeReason, Text, MAX_HEADCOUNT, MAX_LABEL,
    MAX_MEASURES, MAX_MONTHLY_PAY, MAX_TEXT, TITLE_LEVELS,
};
use hub_types::{
    Body, Date, EventId, LocalId, MemberId, Period, Position, StreamId, SubjectRef, Timestamp,
};
use proptest::prelude::*;
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;

// ---------------------------------------------------------------------------------------
// Strategies for valid domain values

fn local_id() -> impl Strategy<Value = LocalId> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}".prop_map(|s| s.parse().expect("matches the grammar"))
}

fn member() -> impl Strategy<Value = MemberId> {
    prop::sample::select(vec![
        "310000", "320100", "320500", "330100", "330400", "340100", "110000", "440300",
    ])
    .prop_map(|s| s.parse().expect("member code"))
}

/// Text of at most `max` characters: no control characters but newlines, and not blank
/// when `required`.
fn text(max: usize, required: bool) -> impl Strategy<Value = Text> {
    let rest = format!("(\\PC|\n){{0,{}}}", max.min(80) - 1);
    let rest = proptest::string::string_regex(&rest).expect("valid regex");
    let first = if required { "[a-z\\p{Han}]" } else { "\\PC?" };
    (first, rest).prop_map(move |(a, b)| {
        let s: String = format!("{a}{b}").chars().take(max).collect();
        Text::new(&s, max, required).expect("generated text is valid")
    })
}

/// Full-length text, so the limits themselves round trip.
fn text_at_limit(max: usize) -> impl Strategy<Value = Text> {
    prop::char::range('\u{4e00}', '\u{9fa5}')
        .prop_map(move |c| Text::new(&c.to_string().repeat(max), max, true).expect("at limit"))
}

fn label() -> impl Strategy<Value = Text> {
    prop_oneof![4 => text(MAX_LABEL, true), 1 => text_at_limit(MAX_LABEL)]
}

fn long_text(required: bool) -> impl Strategy<Value = Text> {
    prop_oneof![4 => text(MAX_TEXT, required), 1 => text_at_limit(MAX_TEXT)]
}

/// Days since 1970-01-01 from 1949-01-01 to 2200-12-31.
fn date() -> impl Strategy<Value = Date> {
    (-7670i32..84_000).prop_map(Date::from_days_since_epoch)
}

/// Two dates, the second not before the first, early enough that a further 4000 days
/// stay within the hub's years.
fn date_range() -> impl Strategy<Value = (Date, Date)> {
    (-7670i32..76_000, 0i32..4000).prop_map(|(from, len)| {
        (
            Date::from_days_since_epoch(from),
            Date::from_days_since_epoch(from + len),
        )
    })
}

fn occupation() -> impl Strategy<Value = OccupationCode> {
    "[1-8]-(0[1-9]|[1-9][0-9])-[0-9]{2}-[0-9]{2}".prop_map(|s| s.parse().expect("occupation"))
}

fn credential() -> impl Strategy<Value = Credential> {
    let slug = "[a-z][a-z0-9_-]{0,47}";
    prop_oneof![
        (slug, prop::sample::select(TITLE_LEVELS.to_vec())).prop_map(|(c, l)| (
            CredentialKind::ProfessionalTitle,
            c,
            l.to_owned()
        )),
        (occupation(), 1u8..=5).prop_map(|(c, l)| (
            CredentialKind::SkillLevel,
            c.to_string(),
            l.to_string()
        )),
        (slug, prop::sample::select(vec!["A", "B", "C", "D", "E"])).prop_map(|(c, l)| (
            CredentialKind::TalentTier,
            c,
            l.to_owned()
        )),
        (slug, prop_oneof![Just(String::new()), slug]).prop_map(|(c, l)| (
            CredentialKind::Licence,
            c,
            l
        )),
    ]
    .prop_map(|(kind, code, level)| Credential::new(kind, &code, &level).expect("valid"))
}

fn issuer() -> impl Strategy<Value = Issuer> {
    prop_oneof![Just(Issuer::Any), member().prop_map(Issuer::Member)]
}

fn period() -> impl Strategy<Value = Period> {
    (1949u16..=2200, 1u8..=4).prop_map(|(y, q)| Period::new(y, q).expect("period"))
}

fn pay_band() -> impl Strategy<Value = PayBand> {
    (0..=MAX_MONTHLY_PAY, 0..=MAX_MONTHLY_PAY)
        .prop_map(|(a, b)| PayBand::new(a.min(b), a.max(b)).expect("ordered"))
}

fn demand_terms() -> impl Strategy<Value = DemandTerms> {
    (
        local_id(),
        prop::sample::select(Industry::ALL.to_vec()),
        occupation(),
        label(),
        1..=MAX_HEADCOUNT,
        period(),
        pay_band(),
        prop::sample::select(vec![
            Education::Any,
            Education::Vocational,
            Education::Bachelor,
            Education::Master,
            Education::Doctorate,
        ]),
    )
        .prop_map(
            |(
                signal_id,
                industry,
                occupation_code,
                level,
                headcount,
                period,
                pay_band,
                education,
            )| {
                DemandTerms {
                    signal_id,
                    industry,
                    occupation_code,
                    level,
                    headcount,
                    period,
                    pay_band,
                    education,
                }
            },
        )
}

fn masked_name() -> impl Strategy<Value = MaskedName> {
    prop_oneof![
        "\\p{Han}\\*{1,3}",
        "\\p{Han}\\*\\p{Han}",
        "[A-Z]\\*{1,14}",
        "\\*{2,16}",
    ]
    .prop_map(|s| s.parse().expect("masked"))
}

fn transition() -> impl Strategy<Value = EntryTransition> {
    (local_id(), long_text(false), date()).prop_map(|(entry_id, note, effective_at)| {
        EntryTransition {
            entry_id,
            note,
            effective_at,
        }
    })
}

fn body() -> impl Strategy<Value = Body> {
    let recognized = (
        local_id(),
        credential(),
        issuer(),
        label(),
        long_text(false),
        date_range(),
        any::<bool>(),
    )
        .prop_map(
            |(rule_id, credential, issuer, local, conditions, (from, until), open)| {
                Body::CredentialRecognized(CredentialRecognized {
                    rule_id,
                    credential,
                    issuer,
                    local_equivalent: local,
                    conditions,
                    effective_from: from,
                    effective_until: (!open).then_some(until),
                })
            },
        );
    let withdrawn = (local_id(), long_text(true), date()).prop_map(|(rule_id, reason, at)| {
        Body::RecognitionWithdrawn(RecognitionWithdrawn {
            rule_id,
            reason,
            effective_at: at,
        })
    });
    let closed = (
        local_id(),
        prop::sample::select(vec![
            CloseReason::Filled,
            CloseReason::Cancelled,
            CloseReason::Expired,
        ]),
        0..=MAX_HEADCOUNT,
        date(),
    )
        .prop_map(|(signal_id, reason, filled, closed_at)| {
            Body::DemandSignalClosed(DemandSignalClosed {
                signal_id,
                reason,
                filled,
                closed_at,
            })
        });
    let personal = prop_oneof![
        (masked_name(), long_text(false)).prop_map(|(subject_display, decision_summary)| {
            Personal::Plain(PersonalFields {
                subject_display,
                decision_summary,
            })
        }),
        (
            prop::collection::vec(any::<u8>(), 24),
            prop::collection::vec(any::<u8>(), 16..=600)
        )
            .prop_map(|(nonce, ciphertext)| Personal::Sealed(Sealed { nonce, ciphertext })),
    ];
    let added = (
        local_id(),
        any::<[u8; 32]>(),
        personal,
        prop::sample::select(vec![
            BlacklistCategory::ApplicationFraud,
            BlacklistCategory::AcademicMisconduct,
            BlacklistCategory::CredentialForgery,
            BlacklistCategory::ContractBreach,
            BlacklistCategory::FundingMisuse,
        ]),
        label(),
        (date_range(), 0i32..4000),
        prop::collection::vec(long_text(true), 0..=MAX_MEASURES),
    )
        .prop_map(
            |(
                entry_id,
                subject,
                personal,
                category,
                decision_ref,
                ((decided, from), len),
                measures,
            )| {
                Body::BlacklistEntryAdded(BlacklistEntryAdded {
                    entry_id,
                    subject_ref: SubjectRef::from_bytes(subject),
                    personal,
                    category,
                    decision_ref,
                    decided_at: decided,
                    effective_from: from,
                    expires_at: Date::from_days_since_epoch(from.days_since_epoch() + len),
                    measures,
                })
            },
        );
    let revoked = (
        transition(),
        prop::sample::select(vec![
            RevokeReason::AppealUpheld,
            RevokeReason::CreditRepaired,
            RevokeReason::Error,
        ]),
    )
        .prop_map(|(transition, reason)| Body::BlacklistEntryRevoked { transition, reason });
    let erased = (
        local_id(),
        prop::sample::select(vec![ErasureReason::RetentionEnded, ErasureReason::Order]),
        label(),
    )
        .prop_map(|(entry_id, reason, order_ref)| {
            Body::BlacklistEntryErased(EntryErased {
                entry_id,
                reason,
                order_ref,
            })
        });
    prop_oneof![
        recognized,
        withdrawn,
        demand_terms().prop_map(Body::DemandSignalPublished),
        demand_terms().prop_map(Body::DemandSignalRevised),
        closed,
        added,
        transition().prop_map(Body::BlacklistEntrySuspended),
        transition().prop_map(Body::BlacklistEntryReinstated),
        revoked,
        erased,
    ]
}

/// A stream the body may be written to, owned by `owner`.
fn stream_for(body: &Body, owner: MemberId) -> StreamId {
    match body {
        Body::CredentialRecognized(_) | Body::RecognitionWithdrawn(_) | Body::Unknown => {
            StreamId::recognition(owner)
        }
        Body::DemandSignalPublished(t) | Body::DemandSignalRevised(t) => {
            StreamId::demand(owner, t.signal_id.clone())
        }
        Body::DemandSignalClosed(c) => StreamId::demand(owner, c.signal_id.clone()),
        Body::BlacklistEntryAdded(a) => StreamId::blacklist(owner, a.entry_id.clone()),
        Body::BlacklistEntrySuspended(t) | Body::BlacklistEntryReinstated(t) => {
            StreamId::blacklist(owner, t.entry_id.clone())
        }
        Body::BlacklistEntryRevoked { transition, .. } => {
            StreamId::blacklist(owner, transition.entry_id.clone())
        }
        Body::BlacklistEntryErased(e) => StreamId::blacklist(owner, e.entry_id.clone()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_bodies_round_trip_through_proto(b in body()) {
        let wire = body_to_proto(&b);
        prop_assert!(wire.kind.is_some());
        prop_assert_eq!(body_from_proto(&wire), Ok(b));
    }

    #[test]
    fn valid_bodies_round_trip_through_bytes(b in body()) {
        let bytes = body_to_bytes(&b);
        prop_assert_eq!(body_from_bytes(&bytes), Ok(b.clone()));
        // Encoding is deterministic, so stored bytes and hashes over them are stable.
        prop_assert_eq!(body_to_bytes(&body_from_bytes(&bytes).expect("decodes")), bytes);
    }

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

const ENTRY_STREAM: &str = "blacklist/310000/sh-2025-0012";

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

// ---------------------------------------------------------------------------------------
// Unknown kinds

/// An `EventBody` as a newer build might write it: only a field this build does not know.
fn body_with_unknown_field(tag: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_key(tag, WireType::LengthDelimited, &mut bytes);
    encode_varint(payload.len() as u64, &mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn a_body_of_an_unknown_kind_decodes_as_unknown() {
    let nested = pb::RecognitionWithdrawn {
        rule_id: "r1".into(),
        reason: "a kind from the future".into(),
        effective_at: "2027-01-01".into(),
    }
    .encode_to_vec();
    let bytes = body_with_unknown_field(99, &nested);
    assert_eq!(
        bytes[..2],
        [0x9a, 0x06],
        "tag 99, wire type 2, as a varint key"
    );
    assert_eq!(body_from_bytes(&bytes), Ok(Body::Unknown));
    assert_eq!(body_from_bytes(&[]), Ok(Body::Unknown));
    // `Unknown` encodes as a body with no kind, which decodes back to `Unknown`.
    assert_eq!(
        body_from_bytes(&body_to_bytes(&Body::Unknown)),
        Ok(Body::Unknown)
    );
    // A client may not send one, though.
    assert_eq!(
        body_from_proto(&body_to_proto(&Body::Unknown))
            .expect_err("no kind")
            .path,
        ""
    );
}

#[test]
fn unknown_fields_next_to_a_known_kind_are_skipped() {
    let known = Body::RecognitionWithdrawn(RecognitionWithdrawn {
        rule_id: "r1".parse().expect("id"),
        reason: Text::new("superseded", MAX_TEXT, true).expect("text"),
        effective_at: "2026-04-01".parse().expect("date"),
    });
    let mut bytes = body_to_bytes(&known);
    bytes.extend(body_with_unknown_field(99, b"added in v2"));
    assert_eq!(body_from_bytes(&bytes), Ok(known));
}

#[test]
fn bytes_that_are_not_a_body_are_an_error() {
    // A length-delimited field claiming more bytes than there are.
    let mut truncated = Vec::new();
    encode_key(2, WireType::LengthDelimited, &mut truncated);
    encode_varint(50, &mut truncated);
    truncated.extend_from_slice(b"short");
    let err = body_from_bytes(&truncated).expect_err("truncated");
    assert_eq!(err.path, "body");

    // A known kind whose content fails validation is an error, not `Unknown`.
    let invalid = pb::EventBody {
        kind: Some(pb::event_body::Kind::RecognitionWithdrawn(
            pb::RecognitionWithdrawn {
                rule_id: "r1".into(),
                reason: String::new(),
                effective_at: "2026-04-01".into(),
            },
        )),
    }
    .encode_to_vec();
    let err = body_from_bytes(&invalid).expect_err("empty reason");
    assert_eq!(err.path, "body.recognition_withdrawn.reason");
}

// ---------------------------------------------------------------------------------------
// Event and EventRecord on the wire

fn sample_body() -> pb::EventBody {
    body_to_proto(&Body::DemandSignalClosed(DemandSignalClosed {
        signal_id: "sh-ic-2026q1-01".parse().expect("id"),
        reason: CloseReason::Filled,
        filled: 160,
        closed_at: "2026-03-31".parse().expect("date"),
    }))
}

#[test]
fn event_bytes_decode_as_a_record_with_the_body_bytes_intact() {
    let body = sample_body();
    let event = pb::Event {
        event_id: "5b1f0c3e-7a2d-4c1b-9e8f-000000000001".into(),
        origin: "310000".into(),
        origin_seq: 42,
        stream: "demand/310000/sh-ic-2026q1-01".into(),
        stream_version: 3,
        recorded_at: Some(prost_types_timestamp(1_774_915_200, 250_000_000)),
        body: Some(body.clone()),
        prev_hash: vec![7; 32],
        signature: vec![9; 64],
        position: 1234,
    };
    let record = pb::EventRecord::decode(event.encode_to_vec().as_slice()).expect("compatible");
    assert_eq!(record.event_id, event.event_id);
    assert_eq!(record.origin, event.origin);
    assert_eq!(record.origin_seq, 42);
    assert_eq!(record.stream, event.stream);
    assert_eq!(record.stream_version, 3);
    assert_eq!(record.recorded_at, event.recorded_at);
    assert_eq!(record.body, body.encode_to_vec());
    assert_eq!(record.prev_hash, event.prev_hash);
    assert_eq!(record.signature, event.signature);

    // And back: a record is an event without its local position.
    let back = pb::Event::decode(record.encode_to_vec().as_slice()).expect("compatible");
    assert_eq!(
        back,
        pb::Event {
            position: 0,
            ..event.clone()
        }
    );
    assert_eq!(
        record_to_event(&record, Position::new(1234).expect("pos")),
        event
    );

    let domain = event_from_record(&record, Position::new(1234).expect("pos")).expect("valid");
    assert_eq!(domain.origin.to_string(), "310000");
    assert_eq!(domain.origin_seq.get(), 42);
    assert_eq!(domain.stream_version, 3);
    assert_eq!(domain.position.get(), 1234);
    assert_eq!(
        domain.recorded_at.to_string(),
        "2026-03-31T00:00:00.250000Z"
    );
    assert_eq!(Ok(domain.body), body_from_proto(&body));
}

#[test]
fn a_record_of_an_unknown_kind_keeps_its_bytes_through_storage_and_the_api() {
    let unknown = body_with_unknown_field(99, b"\x0a\x03new");
    let record = pb::EventRecord {
        event_id: "5b1f0c3e-7a2d-4c1b-9e8f-000000000002".into(),
        origin: "330400".into(),
        origin_seq: 1,
        stream: "recognition/330400".into(),
        stream_version: 1,
        recorded_at: Some(prost_types_timestamp(1_780_000_000, 0)),
        body: unknown.clone(),
        prev_hash: vec![0; 32],
        signature: Vec::new(),
    };
    // Replicated as bytes: a node that stores and forwards the record keeps the body.
    let again = pb::EventRecord::decode(record.encode_to_vec().as_slice()).expect("decodes");
    assert_eq!(again.body, unknown);

    // Folded as unknown.
    let event = event_from_record(&record, Position::new(5).expect("pos")).expect("valid");
    assert_eq!(event.body, Body::Unknown);
    assert_eq!(event.recorded_at, Timestamp(1_780_000_000_000_000));

    // Served to clients as a body with no kind they know.
    let served = record_to_event(&record, Position::new(5).expect("pos"));
    assert_eq!(served.body, Some(pb::EventBody { kind: None }));
    assert_eq!(served.position, 5);
}

fn prost_types_timestamp(seconds: i64, nanos: i32) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos }
}
