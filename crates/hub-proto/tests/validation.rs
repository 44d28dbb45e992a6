//! Every validation rule of the wire conversion, accepted and rejected through the public
//! functions (`append_request_from_proto`, `new_event_from_proto`, `body_from_proto`),
//! asserting the exact path of the offending field.

use hub_proto::convert::{append_request_from_proto, body_from_proto, new_event_from_proto};
use hub_proto::pb::{self, event_body::Kind};
use hub_types::event::{EntryErased, Personal, PersonalFields, Sealed};
use hub_types::values::{ErasureReason, Text};
use hub_types::{Body, ExpectedVersion, StreamId, ValidationError};
use proptest::prelude::*;

const SIGNAL_STREAM: &str = "demand/310000/sh-ic-2026q1-01";
const ENTRY_STREAM: &str = "blacklist/310000/sh-2025-0012";
const LIST_STREAM: &str = "recognition/330400";

// ---------------------------------------------------------------------------------------
// Valid messages, one per kind, that each test breaks in one place

fn recognized() -> pb::CredentialRecognized {
    pb::CredentialRecognized {
        rule_id: "jx-pt-sh-eng-int".into(),
        credential: Some(pb::Credential {
            kind: pb::CredentialKind::ProfessionalTitle as i32,
            code: "engineering".into(),
            level: "intermediate".into(),
        }),
        issuer: "310000".into(),
        local_equivalent: "intermediate".into(),
        conditions: String::new(),
        effective_from: "2025-07-01".into(),
        effective_until: String::new(),
    }
}

fn withdrawn() -> pb::RecognitionWithdrawn {
    pb::RecognitionWithdrawn {
        rule_id: "jx-pt-sh-eng-int".into(),
        reason: "covered by the alliance catalogue".into(),
        effective_at: "2026-04-01".into(),
    }
}

fn published() -> pb::DemandSignalPublished {
    pb::DemandSignalPublished {
        signal_id: "sh-ic-2026q1-01".into(),
        industry: pb::Industry::IntegratedCircuits as i32,
        occupation_code: "2-02-09-06".into(),
        level: "senior".into(),
        headcount: 150,
        period: "2026-Q1".into(),
        pay_band: Some(pb::PayBand {
            min: 25_000,
            max: 42_000,
        }),
        education: pb::Education::Master as i32,
    }
}

fn revised() -> pb::DemandSignalRevised {
    let p = published();
    pb::DemandSignalRevised {
        signal_id: p.signal_id,
        industry: p.industry,
        occupation_code: p.occupation_code,
        level: p.level,
        headcount: 170,
        period: p.period,
        pay_band: p.pay_band,
        education: p.education,
    }
}

fn closed() -> pb::DemandSignalClosed {
    pb::DemandSignalClosed {
        signal_id: "sh-ic-2026q1-01".into(),
        reason: pb::CloseReason::Filled as i32,
        filled: 160,
        closed_at: "2026-03-31".into(),
    }
}

fn added() -> pb::BlacklistEntryAdded {
    pb::BlacklistEntryAdded {
        entry_id: "sh-2025-0012".into(),
        subject_ref: "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549".into(),
        subject_display: "张*".into(),
        category: pb::BlacklistCategory::ApplicationFraud as i32,
        decision_ref: "沪人社信〔2025〕12号".into(),
        decided_at: "2025-03-10".into(),
        effective_from: "2025-03-20".into(),
        expires_at: "2028-03-19".into(),
        measures: vec!["三年内不得申报各级各类人才计划".into()],
        decision_summary: "以伪造的职称证书申报人才计划".into(),
        sealed: None,
    }
}

fn suspended() -> pb::BlacklistEntrySuspended {
    pb::BlacklistEntrySuspended {
        entry_id: "sh-2025-0012".into(),
        appeal_ref: "沪人社申〔2025〕3号".into(),
        effective_at: "2025-06-01".into(),
    }
}

fn reinstated() -> pb::BlacklistEntryReinstated {
    pb::BlacklistEntryReinstated {
        entry_id: "sh-2025-0012".into(),
        note: "申诉不成立".into(),
        effective_at: "2025-08-01".into(),
    }
}

fn revoked() -> pb::BlacklistEntryRevoked {
    pb::BlacklistEntryRevoked {
        entry_id: "sh-2025-0012".into(),
        reason: pb::RevokeReason::AppealUpheld as i32,
        note: "申诉成立".into(),
        effective_at: "2025-08-01".into(),
    }
}

fn erased() -> pb::BlacklistEntryErased {
    pb::BlacklistEntryErased {
        entry_id: "sh-2025-0012".into(),
        reason: pb::ErasureReason::Order as i32,
        order_ref: "（2026）沪01行终12号".into(),
    }
}

/// An entry as the hub stores it: the personal fields sealed, the clear ones empty.
fn sealed_added() -> pb::BlacklistEntryAdded {
    pb::BlacklistEntryAdded {
        subject_display: String::new(),
        decision_summary: String::new(),
        sealed: Some(pb::SealedPersonal {
            nonce: vec![7; 24],
            ciphertext: vec![9; 80],
        }),
        ..added()
    }
}

/// `sealed_added` with the sealed fields replaced.
fn with_sealed(nonce: Vec<u8>, ciphertext: Vec<u8>) -> Kind {
    Kind::BlacklistEntryAdded(pb::BlacklistEntryAdded {
        sealed: Some(pb::SealedPersonal { nonce, ciphertext }),
        ..sealed_added()
    })
}

/// The body of a single accepted event on the entry stream.
#[track_caller]
fn accepted_body(kind: Kind) -> Body {
    let (_, _, mut events) = accepted(&on_entry(kind));
    assert_eq!(events.len(), 1);
    events.remove(0).body
}

/// A distinct, valid, version-4-looking event id per `n`.
fn event_id(n: u32) -> String {
    format!("5b1f0c3e-7a2d-4c1b-9e8f-{n:012}")
}

fn event(n: u32, kind: Kind) -> pb::Event {
    pb::Event {
        event_id: event_id(n),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

fn request(stream: &str, kinds: Vec<Kind>) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events: kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| event(i as u32 + 1, k))
            .collect(),
    }
}

/// Asserts that the request is rejected at `path` and returns the reason.
#[track_caller]
fn rejected(req: &pb::AppendRequest, path: &str) -> String {
    match append_request_from_proto(req) {
        Ok(ok) => panic!("expected an error at {path}, got {ok:?}"),
        Err(ValidationError { path: got, reason }) => {
            assert_eq!(got, path, "reason: {reason}");
            assert!(!reason.is_empty());
            reason
        }
    }
}

/// Asserts that one event of `kind` on `stream` is rejected at `events[0].body.<path>`.
#[track_caller]
fn body_rejected(stream: &str, kind: Kind, path: &str) -> String {
    rejected(
        &request(stream, vec![kind]),
        &format!("events[0].body.{path}"),
    )
}

#[track_caller]
fn accepted(req: &pb::AppendRequest) -> (StreamId, ExpectedVersion, Vec<hub_types::NewEvent>) {
    match append_request_from_proto(req) {
        Ok(ok) => ok,
        Err(e) => panic!("expected the request to be accepted, got {e}"),
    }
}

fn on_list(kind: Kind) -> pb::AppendRequest {
    request(LIST_STREAM, vec![kind])
}

fn on_signal(kind: Kind) -> pb::AppendRequest {
    request(SIGNAL_STREAM, vec![kind])
}

fn on_entry(kind: Kind) -> pb::AppendRequest {
    request(ENTRY_STREAM, vec![kind])
}

// ---------------------------------------------------------------------------------------
// Accepted

#[test]
fn valid_requests_of_every_kind_are_accepted() {
    let (stream, expected, events) = accepted(&request(
        LIST_STREAM,
        vec![
            Kind::CredentialRecognized(recognized()),
            Kind::RecognitionWithdrawn(withdrawn()),
        ],
    ));
    assert_eq!(stream.to_string(), LIST_STREAM);
    assert_eq!(expected, ExpectedVersion::Any);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event_id.to_string(), event_id(2));

    let (_, _, events) = accepted(&request(
        SIGNAL_STREAM,
        vec![
            Kind::DemandSignalPublished(published()),
            Kind::DemandSignalRevised(revised()),
            Kind::DemandSignalClosed(closed()),
        ],
    ));
    match &events[1].body {
        Body::DemandSignalRevised(t) => assert_eq!(t.headcount, 170),
        other => panic!("expected a revision, got {other:?}"),
    }

    let (_, _, events) = accepted(&request(
        ENTRY_STREAM,
        vec![
            Kind::BlacklistEntryAdded(added()),
            Kind::BlacklistEntrySuspended(suspended()),
            Kind::BlacklistEntryReinstated(reinstated()),
            Kind::BlacklistEntryRevoked(revoked()),
        ],
    ));
    assert_eq!(events.len(), 4);
}

#[test]
fn expected_versions_are_carried_over() {
    use pb::expected_version::Kind as V;
    for (wire, domain) in [
        (None, ExpectedVersion::Any),
        (Some(V::Any(pb::Empty {})), ExpectedVersion::Any),
        (Some(V::NoStream(pb::Empty {})), ExpectedVersion::NoStream),
        (Some(V::Exists(pb::Empty {})), ExpectedVersion::Exists),
        (Some(V::Exact(7)), ExpectedVersion::Exact(7)),
    ] {
        let mut req = on_signal(Kind::DemandSignalPublished(published()));
        req.expected_version = Some(pb::ExpectedVersion { kind: wire });
        assert_eq!(accepted(&req).1, domain);
    }
}

#[test]
fn envelope_fields_that_agree_with_the_stream_are_accepted() {
    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].origin = "310000".into();
    req.events[0].stream = SIGNAL_STREAM.into();
    accepted(&req);
}

#[test]
fn boundary_values_are_accepted() {
    let mut p = published();
    p.headcount = 100_000;
    p.pay_band = Some(pb::PayBand {
        min: 1_000_000,
        max: 1_000_000,
    });
    accepted(&on_signal(Kind::DemandSignalPublished(p)));

    let mut r = recognized();
    r.effective_until = r.effective_from.clone();
    r.local_equivalent = "字".repeat(64);
    r.conditions = "条".repeat(500);
    accepted(&on_list(Kind::CredentialRecognized(r)));

    let mut a = added();
    a.decided_at = "2025-03-20".into();
    a.expires_at = "2025-03-20".into();
    a.measures = vec!["measure".into(); 16];
    a.decision_ref = "号".repeat(64);
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));

    let mut a = added();
    a.measures.clear();
    a.subject_display = "欧阳**".into();
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));

    let mut c = closed();
    c.filled = 0;
    c.reason = pb::CloseReason::Cancelled as i32;
    accepted(&on_signal(Kind::DemandSignalClosed(c)));
}

// ---------------------------------------------------------------------------------------
// Streams, members, envelope

#[test]
fn bad_member_codes_are_rejected_where_they_appear() {
    for stream in [
        "demand/31000/sh-ic-2026q1-01",
        "demand/990000/sh-ic-2026q1-01",
        "demand/310101/sh-ic-2026q1-01",
        "demand/3100a0/sh-ic-2026q1-01",
    ] {
        rejected(
            &request(stream, vec![Kind::DemandSignalPublished(published())]),
            "stream",
        );
    }

    for issuer in ["3300", "990000", "330402", "", "**", "Any"] {
        let mut r = recognized();
        r.issuer = issuer.into();
        body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.issuer",
        );
    }
    let mut r = recognized();
    r.issuer = "*".into();
    accepted(&on_list(Kind::CredentialRecognized(r)));

    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].origin = "31000".into();
    let reason = rejected(&req, "events[0].origin");
    assert!(reason.contains("six-digit"), "{reason}");
}

#[test]
fn bad_stream_grammar_is_rejected_per_family() {
    let cases = [
        (
            "recognition/330400/extra",
            Kind::CredentialRecognized(recognized()),
        ),
        ("recognition/", Kind::CredentialRecognized(recognized())),
        ("recognition", Kind::CredentialRecognized(recognized())),
        ("demand/310000", Kind::DemandSignalPublished(published())),
        ("demand/310000/", Kind::DemandSignalPublished(published())),
        (
            "demand/310000/-leading-dash",
            Kind::DemandSignalPublished(published()),
        ),
        (
            "demand/310000/has space",
            Kind::DemandSignalPublished(published()),
        ),
        (
            "demand/310000/a/b",
            Kind::DemandSignalPublished(published()),
        ),
        ("blacklist/310000", Kind::BlacklistEntryAdded(added())),
        ("blacklist/310000/", Kind::BlacklistEntryAdded(added())),
        ("blacklist/310000/x/y", Kind::BlacklistEntryAdded(added())),
        ("talent/310000/x", Kind::BlacklistEntryAdded(added())),
        ("", Kind::BlacklistEntryAdded(added())),
    ];
    for (stream, kind) in cases {
        rejected(&request(stream, vec![kind]), "stream");
    }
    let long = format!("demand/310000/{}", "a".repeat(65));
    rejected(
        &request(&long, vec![Kind::DemandSignalPublished(published())]),
        "stream",
    );
}

#[test]
fn a_body_of_another_family_is_rejected() {
    let reason = body_rejected(
        LIST_STREAM,
        Kind::DemandSignalPublished(published()),
        "demand_signal_published",
    );
    assert!(reason.contains("recognition stream"), "{reason}");
    body_rejected(
        LIST_STREAM,
        Kind::BlacklistEntryRevoked(revoked()),
        "blacklist_entry_revoked",
    );
    body_rejected(
        SIGNAL_STREAM,
        Kind::BlacklistEntryAdded(added()),
        "blacklist_entry_added",
    );
    body_rejected(
        SIGNAL_STREAM,
        Kind::RecognitionWithdrawn(withdrawn()),
        "recognition_withdrawn",
    );
    body_rejected(
        ENTRY_STREAM,
        Kind::CredentialRecognized(recognized()),
        "credential_recognized",
    );
    body_rejected(
        ENTRY_STREAM,
        Kind::DemandSignalClosed(closed()),
        "demand_signal_closed",
    );
}

#[test]
fn signal_and_entry_ids_must_equal_the_stream_id() {
    let other_signal = "demand/310000/sh-ic-2026q1-02";
    body_rejected(
        other_signal,
        Kind::DemandSignalPublished(published()),
        "demand_signal_published.signal_id",
    );
    body_rejected(
        other_signal,
        Kind::DemandSignalRevised(revised()),
        "demand_signal_revised.signal_id",
    );
    body_rejected(
        other_signal,
        Kind::DemandSignalClosed(closed()),
        "demand_signal_closed.signal_id",
    );
    // Same id, another city's stream: the id matches but the body is still checked.
    accepted(&request(
        "demand/320500/sh-ic-2026q1-01",
        vec![Kind::DemandSignalPublished(published())],
    ));

    let other_entry = "blacklist/310000/sh-2025-0013";
    body_rejected(
        other_entry,
        Kind::BlacklistEntryAdded(added()),
        "blacklist_entry_added.entry_id",
    );
    body_rejected(
        other_entry,
        Kind::BlacklistEntrySuspended(suspended()),
        "blacklist_entry_suspended.entry_id",
    );
    body_rejected(
        other_entry,
        Kind::BlacklistEntryReinstated(reinstated()),
        "blacklist_entry_reinstated.entry_id",
    );
    body_rejected(
        other_entry,
        Kind::BlacklistEntryRevoked(revoked()),
        "blacklist_entry_revoked.entry_id",
    );
}

#[test]
fn an_origin_other_than_the_stream_owner_is_rejected() {
    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].origin = "330100".into();
    let reason = rejected(&req, "events[0].origin");
    assert!(reason.contains("does not own"), "{reason}");

    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].stream = "demand/310000/other".into();
    rejected(&req, "events[0].stream");
}

#[test]
fn bad_event_ids_are_rejected() {
    for bad in [
        "",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "5b1f0c3e-7a2d-4c1b-9e8f-00000000000",
    ] {
        let mut req = on_signal(Kind::DemandSignalPublished(published()));
        req.events[0].event_id = bad.into();
        rejected(&req, "events[0].event_id");
    }
}

#[test]
fn a_duplicate_event_id_within_a_request_is_rejected() {
    let mut req = request(
        ENTRY_STREAM,
        vec![
            Kind::BlacklistEntryAdded(added()),
            Kind::BlacklistEntrySuspended(suspended()),
            Kind::BlacklistEntryReinstated(reinstated()),
        ],
    );
    req.events[2].event_id = req.events[0].event_id.clone();
    let reason = rejected(&req, "events[2].event_id");
    assert!(reason.contains("twice"), "{reason}");
}

#[test]
fn an_empty_request_is_rejected() {
    rejected(&request(SIGNAL_STREAM, vec![]), "events");
}

#[test]
fn a_missing_body_or_kind_is_rejected() {
    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].body = None;
    rejected(&req, "events[0].body");

    let mut req = on_signal(Kind::DemandSignalPublished(published()));
    req.events[0].body = Some(pb::EventBody { kind: None });
    rejected(&req, "events[0].body");

    let mut r = recognized();
    r.credential = None;
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.credential",
    );

    let mut p = published();
    p.pay_band = None;
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalPublished(p),
        "demand_signal_published.pay_band",
    );
}

#[test]
fn errors_name_the_event_by_its_index() {
    let mut bad = added();
    bad.expires_at = "2025-03-19".into();
    let req = request(
        ENTRY_STREAM,
        vec![
            Kind::BlacklistEntryAdded(added()),
            Kind::BlacklistEntrySuspended(suspended()),
            Kind::BlacklistEntryReinstated(reinstated()),
            Kind::BlacklistEntryAdded(bad.clone()),
        ],
    );
    let err = append_request_from_proto(&req).expect_err("expires before effective_from");
    assert_eq!(err.path, "events[3].body.blacklist_entry_added.expires_at");
    assert!(
        err.to_string()
            .starts_with("events[3].body.blacklist_entry_added.expires_at: must not be before"),
        "{err}"
    );

    // One layer in, the same error is relative to the event, then to the body.
    let stream: StreamId = ENTRY_STREAM.parse().expect("stream");
    let e = new_event_from_proto(&req.events[3], &stream).expect_err("bad event");
    assert_eq!(e.path, "body.blacklist_entry_added.expires_at");
    let body = pb::EventBody {
        kind: Some(Kind::BlacklistEntryAdded(bad)),
    };
    let e = body_from_proto(&body).expect_err("bad body");
    assert_eq!(e.path, "blacklist_entry_added.expires_at");
}

// ---------------------------------------------------------------------------------------
// Demand values

#[test]
fn bad_periods_are_rejected() {
    // "202éQ1" is seven bytes with 'é' across byte 4: it used to panic the parser.
    for period in [
        "2026-Q5",
        "2026-Q0",
        "2026Q1",
        "2026-q1",
        "26-Q1",
        "2026-Q12",
        "",
        "1900-Q1",
        "202éQ1",
        "2026-Q١",
        "２026-Q1",
    ] {
        let mut p = published();
        p.period = period.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.period",
        );
        let mut r = revised();
        r.period = period.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.period",
        );
    }
}

#[test]
fn bad_occupation_codes_are_rejected() {
    for code in [
        "9-02-10-09",
        "0-02-10-09",
        "2-2-10-09",
        "2-02-10",
        "2-00-10-09",
        "2-02-10-0x",
        "2/02/10/09",
        "",
    ] {
        let mut p = published();
        p.occupation_code = code.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.occupation_code",
        );
    }
}

#[test]
fn pay_bands_need_min_not_above_max() {
    let mut p = published();
    p.pay_band = Some(pb::PayBand {
        min: 42_001,
        max: 42_000,
    });
    let reason = body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalPublished(p),
        "demand_signal_published.pay_band.min",
    );
    assert!(reason.contains("must not exceed"), "{reason}");

    let mut r = revised();
    r.pay_band = Some(pb::PayBand {
        min: 0,
        max: 1_000_001,
    });
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalRevised(r),
        "demand_signal_revised.pay_band.max",
    );
}

#[test]
fn headcounts_must_be_between_one_and_the_maximum() {
    for headcount in [0, 100_001, u32::MAX] {
        let mut p = published();
        p.headcount = headcount;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.headcount",
        );
        let mut r = revised();
        r.headcount = headcount;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.headcount",
        );
    }
    let mut c = closed();
    c.filled = 100_001;
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalClosed(c),
        "demand_signal_closed.filled",
    );
}

// ---------------------------------------------------------------------------------------
// Blacklist values

#[test]
fn display_names_must_be_masked() {
    for name in ["张三", "王小明", "*", "张*1", "欧阳小*明", "", "Zhang San"] {
        let mut a = added();
        a.subject_display = name.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.subject_display",
        );
    }
}

#[test]
fn subject_refs_must_be_64_lowercase_hex() {
    let good = added().subject_ref;
    for bad in [
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("g{}", &good[1..]),
        "11010519491231002X".to_owned(),
        String::new(),
    ] {
        let mut a = added();
        a.subject_ref = bad;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.subject_ref",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Personal fields: in the clear or sealed

#[test]
fn personal_fields_in_the_clear_are_accepted() {
    let body = accepted_body(Kind::BlacklistEntryAdded(added()));
    let Body::BlacklistEntryAdded(a) = body else {
        panic!("expected an entry, got {body:?}");
    };
    assert_eq!(
        a.personal,
        Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("masked"),
            decision_summary: Text::new("以伪造的职称证书申报人才计划", 500, false).expect("text"),
        })
    );

    // The summary may be empty, up to 500 characters, and not hold control characters.
    let mut a = added();
    a.decision_summary = String::new();
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));
    let mut a = added();
    a.decision_summary = "述".repeat(500);
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));
    for bad in ["述".repeat(501), "伪造\u{7}证书".to_owned()] {
        let mut a = added();
        a.decision_summary = bad;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.decision_summary",
        );
    }
}

#[test]
fn a_sealed_entry_is_accepted() {
    let body = accepted_body(Kind::BlacklistEntryAdded(sealed_added()));
    let Body::BlacklistEntryAdded(a) = body else {
        panic!("expected an entry, got {body:?}");
    };
    assert_eq!(
        a.personal,
        Personal::Sealed(Sealed {
            nonce: vec![7; 24],
            ciphertext: vec![9; 80],
        })
    );
    assert_eq!(a.entry_id.as_str(), "sh-2025-0012");

    // The ciphertext's bounds: the bare tag, and the longest.
    for n in [16, 4096] {
        accepted(&on_entry(with_sealed(vec![0; 24], vec![1; n])));
    }
}

#[test]
fn sealed_and_clear_personal_fields_together_are_rejected() {
    let mut a = sealed_added();
    a.subject_display = "张*".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.subject_display",
    );
    assert!(reason.contains("must be empty when sealed"), "{reason}");

    let mut a = sealed_added();
    a.decision_summary = "以伪造的职称证书申报人才计划".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.decision_summary",
    );
    assert!(reason.contains("must be empty when sealed"), "{reason}");

    // Both set: the display name is named first.
    let a = pb::BlacklistEntryAdded {
        sealed: sealed_added().sealed,
        ..added()
    };
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.subject_display",
    );
}

#[test]
fn sealed_nonces_must_be_24_bytes() {
    for n in [0, 1, 12, 23, 25, 32] {
        let reason = body_rejected(
            ENTRY_STREAM,
            with_sealed(vec![0; n], vec![1; 80]),
            "blacklist_entry_added.sealed.nonce",
        );
        assert!(
            reason.contains(&format!("expected 24 bytes, got {n}")),
            "{n}: {reason}"
        );
    }
}

#[test]
fn sealed_ciphertexts_must_be_16_to_4096_bytes() {
    for n in [0, 1, 15, 4097, 10_000] {
        let reason = body_rejected(
            ENTRY_STREAM,
            with_sealed(vec![0; 24], vec![1; n]),
            "blacklist_entry_added.sealed.ciphertext",
        );
        assert!(reason.contains(&format!("got {n}")), "{n}: {reason}");
    }
}

// ---------------------------------------------------------------------------------------
// Erasure

#[test]
fn a_retention_erasure_without_an_order_ref_is_accepted() {
    let e = pb::BlacklistEntryErased {
        reason: pb::ErasureReason::RetentionEnded as i32,
        order_ref: String::new(),
        ..erased()
    };
    assert_eq!(
        accepted_body(Kind::BlacklistEntryErased(e)),
        Body::BlacklistEntryErased(EntryErased {
            entry_id: "sh-2025-0012".parse().expect("id"),
            reason: ErasureReason::RetentionEnded,
            order_ref: Text::default(),
        })
    );

    // An order erasure with its reference, at the longest.
    let mut e = erased();
    e.order_ref = "号".repeat(64);
    match accepted_body(Kind::BlacklistEntryErased(e)) {
        Body::BlacklistEntryErased(e) => {
            assert_eq!(e.reason, ErasureReason::Order);
            assert_eq!(e.order_ref.as_str(), "号".repeat(64));
        }
        other => panic!("expected an erasure, got {other:?}"),
    }
}

#[test]
fn an_unspecified_or_unknown_erasure_reason_is_rejected() {
    for (raw, expected) in [
        (0, "must be set"),
        (3, "unknown value 3"),
        (-1, "unknown value -1"),
    ] {
        let mut e = erased();
        e.reason = raw;
        let reason = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.reason",
        );
        assert!(reason.contains(expected), "{raw}: {reason}");
    }
}

#[test]
fn an_order_erasure_needs_an_order_ref() {
    for blank in ["", "   "] {
        let mut e = erased();
        e.order_ref = blank.into();
        let reason = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.order_ref",
        );
        assert!(reason.contains("must not be empty"), "{blank:?}: {reason}");
    }
}

#[test]
fn order_refs_are_at_most_64_characters() {
    for reason in [pb::ErasureReason::Order, pb::ErasureReason::RetentionEnded] {
        let e = pb::BlacklistEntryErased {
            reason: reason as i32,
            order_ref: "号".repeat(65),
            ..erased()
        };
        let why = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.order_ref",
        );
        assert!(why.contains("at most 64"), "{reason:?}: {why}");
    }
}

#[test]
fn an_erasure_names_the_entry_of_its_stream() {
    body_rejected(
        "blacklist/310000/sh-2025-0013",
        Kind::BlacklistEntryErased(erased()),
        "blacklist_entry_erased.entry_id",
    );
    for bad in ["", "-x", "has space"] {
        let mut e = erased();
        e.entry_id = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.entry_id",
        );
    }
    let reason = body_rejected(
        SIGNAL_STREAM,
        Kind::BlacklistEntryErased(erased()),
        "blacklist_entry_erased",
    );
    assert!(reason.contains("demand stream"), "{reason}");
}

// ---------------------------------------------------------------------------------------
// Dates

#[test]
fn impossible_or_missing_dates_are_rejected() {
    for bad in [
        "2026-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-4-1",
        "",
        "1900-01-01",
    ] {
        let mut r = recognized();
        r.effective_from = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.effective_from",
        );

        let mut w = withdrawn();
        w.effective_at = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::RecognitionWithdrawn(w),
            "recognition_withdrawn.effective_at",
        );

        let mut c = closed();
        c.closed_at = bad.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalClosed(c),
            "demand_signal_closed.closed_at",
        );

        for field in ["decided_at", "effective_from", "expires_at"] {
            let mut a = added();
            match field {
                "decided_at" => a.decided_at = bad.into(),
                "effective_from" => a.effective_from = bad.into(),
                _ => a.expires_at = bad.into(),
            }
            body_rejected(
                ENTRY_STREAM,
                Kind::BlacklistEntryAdded(a),
                &format!("blacklist_entry_added.{field}"),
            );
        }

        let mut s = suspended();
        s.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntrySuspended(s),
            "blacklist_entry_suspended.effective_at",
        );
        let mut r = reinstated();
        r.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryReinstated(r),
            "blacklist_entry_reinstated.effective_at",
        );
        let mut r = revoked();
        r.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryRevoked(r),
            "blacklist_entry_revoked.effective_at",
        );
    }

    // An empty effective_until means open-ended; an impossible one is an error.
    let mut r = recognized();
    r.effective_until = "2026-02-30".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.effective_until",
    );
}

#[test]
fn date_ranges_must_be_in_order() {
    let mut r = recognized();
    r.effective_until = "2025-06-30".into();
    let reason = body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.effective_until",
    );
    assert!(reason.contains("effective_from 2025-07-01"), "{reason}");

    let mut a = added();
    a.expires_at = "2025-03-19".into();
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.expires_at",
    );

    let mut a = added();
    a.effective_from = "2025-03-09".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.effective_from",
    );
    assert!(reason.contains("decided_at 2025-03-10"), "{reason}");
}

// ---------------------------------------------------------------------------------------
// Enums

#[test]
fn unspecified_or_unknown_enum_values_are_rejected() {
    for raw in [0, 42, -1] {
        let mut r = recognized();
        if let Some(c) = r.credential.as_mut() {
            c.kind = raw;
        }
        let reason = body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.credential.kind",
        );
        let expected = if raw == 0 {
            "must be set"
        } else {
            "unknown value"
        };
        assert!(reason.contains(expected), "{raw}: {reason}");

        let mut p = published();
        p.industry = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.industry",
        );
        let mut p = published();
        p.education = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.education",
        );
        let mut r = revised();
        r.industry = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.industry",
        );
        let mut c = closed();
        c.reason = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalClosed(c),
            "demand_signal_closed.reason",
        );
        let mut a = added();
        a.category = raw;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.category",
        );
        let mut r = revoked();
        r.reason = raw;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryRevoked(r),
            "blacklist_entry_revoked.reason",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Text, ids, measures

#[test]
fn over_long_or_empty_required_text_is_rejected() {
    let mut r = recognized();
    r.local_equivalent = "字".repeat(65);
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.local_equivalent",
    );
    let mut r = recognized();
    r.local_equivalent = "  ".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.local_equivalent",
    );
    let mut r = recognized();
    r.conditions = "条".repeat(501);
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.conditions",
    );
    let mut w = withdrawn();
    w.reason = String::new();
    body_rejected(
        LIST_STREAM,
        Kind::RecognitionWithdrawn(w),
        "recognition_withdrawn.reason",
    );

    let mut p = published();
    p.level = "l".repeat(65);
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalPublished(p),
        "demand_signal_published.level",
    );

    let mut a = added();
    a.decision_ref = "号".repeat(65);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.decision_ref",
    );
    let mut a = added();
    a.measures = vec!["ok".into(), " ".into()];
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures[1]",
    );
    let mut a = added();
    a.measures = vec!["m".repeat(501)];
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures[0]",
    );

    // Each lifecycle step names its note by the wire field it came in.
    let mut s = suspended();
    s.appeal_ref = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntrySuspended(s),
        "blacklist_entry_suspended.appeal_ref",
    );
    let mut r = reinstated();
    r.note = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryReinstated(r),
        "blacklist_entry_reinstated.note",
    );
    let mut r = revoked();
    r.note = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryRevoked(r),
        "blacklist_entry_revoked.note",
    );
}

#[test]
fn control_characters_in_text_are_rejected() {
    let mut r = recognized();
    r.conditions = "two years\u{0}".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.conditions",
    );
    let mut r = recognized();
    r.conditions = "line one\nline two".into();
    accepted(&on_list(Kind::CredentialRecognized(r)));
}

#[test]
fn too_many_measures_are_rejected() {
    let mut a = added();
    a.measures = vec!["measure".into(); 17];
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures",
    );
    assert!(reason.contains("at most 16"), "{reason}");
}

#[test]
fn bad_local_ids_are_rejected() {
    for bad in ["", "-x", "has space", "斜杠", &"r".repeat(65)] {
        let mut r = recognized();
        r.rule_id = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.rule_id",
        );
        let mut w = withdrawn();
        w.rule_id = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::RecognitionWithdrawn(w),
            "recognition_withdrawn.rule_id",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Credentials

fn with_credential(kind: pb::CredentialKind, code: &str, level: &str) -> Kind {
    let mut r = recognized();
    r.credential = Some(pb::Credential {
        kind: kind as i32,
        code: code.into(),
        level: level.into(),
    });
    Kind::CredentialRecognized(r)
}

#[test]
fn credential_levels_follow_their_kind() {
    use pb::CredentialKind as K;
    let good = [
        (K::ProfessionalTitle, "engineering", "senior_full"),
        (K::ProfessionalTitle, "health", "junior"),
        (K::SkillLevel, "6-31-01-03", "1"),
        (K::SkillLevel, "6-31-01-03", "5"),
        (K::TalentTier, "shanghai-talent", "A"),
        (K::TalentTier, "shanghai-talent", "E"),
        (K::Licence, "registered-structural-engineer", ""),
        (K::Licence, "registered-structural-engineer", "class-1"),
    ];
    for (kind, code, level) in good {
        accepted(&on_list(with_credential(kind, code, level)));
    }

    let bad_level = [
        (K::ProfessionalTitle, "engineering", "boss"),
        (K::ProfessionalTitle, "engineering", ""),
        (K::ProfessionalTitle, "engineering", "A"),
        (K::SkillLevel, "6-31-01-03", "0"),
        (K::SkillLevel, "6-31-01-03", "6"),
        (K::SkillLevel, "6-31-01-03", "senior_full"),
        (K::TalentTier, "shanghai-talent", "F"),
        (K::TalentTier, "shanghai-talent", "a"),
        (K::TalentTier, "shanghai-talent", "1"),
        (K::Licence, "registered-structural-engineer", "Bad Level"),
    ];
    for (kind, code, level) in bad_level {
        body_rejected(
            LIST_STREAM,
            with_credential(kind, code, level),
            "credential_recognized.credential.level",
        );
    }

    let bad_code = [
        (K::ProfessionalTitle, "Engineering", "senior_full"),
        (K::ProfessionalTitle, "", "senior_full"),
        (K::SkillLevel, "engineering", "2"),
        (K::TalentTier, "Tier", "A"),
        (K::Licence, "1-licence", ""),
    ];
    for (kind, code, level) in bad_code {
        body_rejected(
            LIST_STREAM,
            with_credential(kind, code, level),
            "credential_recognized.credential.code",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Nothing a client sends may panic the converter

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,12}",
        "[0-9]{2,4}.{1,3}[0-9]?",
        "[0-9\\-Q]{0,10}",
        "[a-f0-9]{60,66}",
        "\\PC{0,80}",
    ]
}

fn any_kind() -> impl Strategy<Value = Kind> {
    let s = any_text;
    prop_oneof![
        (s(), s(), s(), s(), s(), s(), s(), any::<i32>()).prop_map(
            |(rule_id, code, level, issuer, local, from, until, kind)| {
                Kind::CredentialRecognized(pb::CredentialRecognized {
                    rule_id,
                    credential: Some(pb::Credential { kind, code, level }),
                    issuer,
                    local_equivalent: local,
                    conditions: String::new(),
                    effective_from: from,
                    effective_until: until,
                })
            }
        ),
        (
            s(),
            s(),
            s(),
            s(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<i32>()
        )
            .prop_map(
                |(signal_id, occupation_code, level, period, headcount, min, max, industry)| {
                    Kind::DemandSignalPublished(pb::DemandSignalPublished {
                        signal_id,
                        industry,
                        occupation_code,
                        level,
                        headcount,
                        period,
                        pay_band: Some(pb::PayBand { min, max }),
                        education: industry,
                    })
                }
            ),
        (s(), any::<i32>(), any::<u32>(), s()).prop_map(|(signal_id, reason, filled, at)| {
            Kind::DemandSignalClosed(pb::DemandSignalClosed {
                signal_id,
                reason,
                filled,
                closed_at: at,
            })
        }),
        (
            s(),
            s(),
            s(),
            s(),
            s(),
            s(),
            s(),
            prop::collection::vec(s(), 0..20)
        )
            .prop_map(
                |(entry_id, subject_ref, display, decision, decided, from, expires, measures)| {
                    Kind::BlacklistEntryAdded(pb::BlacklistEntryAdded {
                        entry_id,
                        subject_ref,
                        subject_display: display,
                        category: 1,
                        decision_ref: decision,
                        decided_at: decided,
                        effective_from: from,
                        expires_at: expires,
                        measures,
                        ..Default::default()
                    })
                }
            ),
        (
            s(),
            s(),
            s(),
            prop::option::of((
                prop::collection::vec(any::<u8>(), 0..40),
                prop::collection::vec(any::<u8>(), 0..64)
            ))
        )
            .prop_map(|(display, summary, subject_ref, sealed)| {
                Kind::BlacklistEntryAdded(pb::BlacklistEntryAdded {
                    subject_display: display,
                    decision_summary: summary,
                    subject_ref,
                    sealed: sealed
                        .map(|(nonce, ciphertext)| pb::SealedPersonal { nonce, ciphertext }),
                    ..added()
                })
            }),
        (s(), any::<i32>(), s()).prop_map(|(entry_id, reason, order_ref)| {
            Kind::BlacklistEntryErased(pb::BlacklistEntryErased {
                entry_id,
                reason,
                order_ref,
            })
        }),
        (s(), s(), s(), any::<i32>()).prop_map(|(entry_id, note, at, reason)| {
            Kind::BlacklistEntryRevoked(pb::BlacklistEntryRevoked {
                entry_id,
                reason,
                note,
                effective_at: at,
            })
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_input_is_rejected_or_accepted_never_a_panic(
        stream in prop_oneof![
            Just(SIGNAL_STREAM.to_owned()),
            Just(ENTRY_STREAM.to_owned()),
            Just(LIST_STREAM.to_owned()),
            any_text(),
        ],
        event_id in prop_oneof![Just(event_id(1)), any_text()],
        origin in any_text(),
        kind in any_kind(),
    ) {
        let req = pb::AppendRequest {
            stream,
            expected_version: None,
            events: vec![pb::Event {
                event_id,
                origin,
                body: Some(pb::EventBody { kind: Some(kind) }),
                ..Default::default()
            }],
        };
        if let Err(e) = append_request_from_proto(&req) {
            prop_assert!(
                e.path == "stream" || e.path.starts_with("events[0]"),
                "unexpected path {}",
                e.path
            );
            prop_assert!(!e.reason.is_empty());
        }
    }
}
