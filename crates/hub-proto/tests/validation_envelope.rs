//! Validation of the append request around its bodies: valid requests of every kind are
//! accepted with their expected versions; streams, member codes, origins, event ids and
//! missing bodies are rejected at the exact path; and no input panics the converter.

mod support;

use hub_proto::convert::{append_request_from_proto, body_from_proto, new_event_from_proto};
use hub_proto::pb::{self, event_body::Kind};
use hub_types::{Body, ExpectedVersion, StreamId};
use proptest::prelude::*;
use support::{
    accepted, added, body_rejected, closed, event_id, on_entry, on_list, on_signal, published,
    recognized, reinstated, rejected, request, revised, revoked, suspended, withdrawn,
    ENTRY_STREAM, LIST_STREAM, SIGNAL_STREAM,
};

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

    /// A valid envelope around a mutated body: every case gets past the envelope checks to
    /// the body's conversion, which must answer without panicking.
    #[test]
    fn mutated_bodies_in_valid_envelopes_reach_the_body_and_never_panic(kind in any_kind()) {
        let stream = match &kind {
            Kind::CredentialRecognized(_) => LIST_STREAM,
            Kind::DemandSignalPublished(_) | Kind::DemandSignalClosed(_) => SIGNAL_STREAM,
            _ => ENTRY_STREAM,
        };
        let req = pb::AppendRequest {
            stream: stream.to_owned(),
            expected_version: None,
            events: vec![pb::Event {
                event_id: event_id(1),
                body: Some(pb::EventBody { kind: Some(kind) }),
                ..Default::default()
            }],
        };
        if let Err(e) = append_request_from_proto(&req) {
            prop_assert!(
                e.path.starts_with("events[0].body"),
                "stopped before the body: {e}"
            );
            prop_assert!(!e.reason.is_empty());
        }
    }
}
