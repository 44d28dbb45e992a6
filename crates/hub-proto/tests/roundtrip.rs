//! The binary codec: valid domain bodies of every kind survive proto and bytes unchanged;
//! bodies of kinds this build does not know decode to `Body::Unknown`; and `Event` and
//! `EventRecord` are wire-compatible, so stored body bytes pass through intact.

mod support;

use hub_proto::convert::{
    body_from_bytes, body_from_proto, body_to_bytes, body_to_proto, event_from_record,
    record_to_event,
};
use hub_proto::pb;
use hub_types::event::{DemandSignalClosed, RecognitionWithdrawn};
use hub_types::values::{CloseReason, Text, MAX_TEXT};
use hub_types::{Body, Position, Timestamp};
use proptest::prelude::*;
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;
use support::strategies::body;

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
