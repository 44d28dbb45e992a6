//! What clients send: append requests, event bodies and JSON Lines event files.

use hub_proto::convert::{
    append_request_from_proto, body_from_bytes, body_from_proto, body_to_bytes, body_to_proto,
    expected_version_from_proto, expected_version_to_proto, kind_of,
};
use hub_proto::jsonl::{parse_line, parse_lines, JsonEvent};
use hub_proto::pb;
use hub_types::{Body, StreamId, ValidationError};
use prost::Message;

/// Asserts that a validation error names the field it is about.
pub(crate) fn names_a_field(e: &ValidationError, what: &str) {
    assert!(!e.path.is_empty(), "{what}: an error names no field: {e}");
    assert!(!e.reason.is_empty(), "{what}: an error gives no reason");
    // A status message travels in an HTTP/2 header: bad values are quoted in part only.
    let shown = e.to_string();
    assert!(
        shown.len() <= MAX_ERROR_BYTES,
        "{what}: an error of {} bytes: {}",
        shown.len(),
        shown.chars().take(200).collect::<String>()
    );
}

/// Longest error message a target accepts (a status message travels in an HTTP/2 header).
pub(crate) const MAX_ERROR_BYTES: usize = 2048;

/// Asserts that a valid body survives the wire both ways unchanged.
fn body_round_trips(body: &Body) {
    let wire = body_to_proto(body);
    match body_from_proto(&wire) {
        Ok(again) => assert_eq!(&again, body, "body changed on its way through the wire"),
        Err(e) => panic!("a valid body is refused once encoded: {e}"),
    }
    assert_eq!(
        kind_of(Some(&wire)),
        body.kind(),
        "kind_of disagrees with the body"
    );
}

/// `Publisher.Append`: the request as the server receives it, through the validation every
/// append passes. A valid request's events and expected version round-trip; an invalid one
/// is refused naming the field.
pub fn append_request(data: &[u8]) {
    let Ok(req) = pb::AppendRequest::decode(data) else {
        return;
    };
    match append_request_from_proto(&req) {
        Ok((stream, expected, events)) => {
            assert_eq!(events.len(), req.events.len());
            assert_eq!(stream.to_string().parse::<StreamId>().as_ref(), Ok(&stream));
            let wire = expected_version_to_proto(expected);
            assert_eq!(expected_version_from_proto(Some(&wire)), expected);
            for (event, sent) in events.iter().zip(&req.events) {
                assert_eq!(event.event_id.to_string().parse(), Ok(event.event_id));
                assert!(event.body.check_stream(&stream).is_ok());
                assert_eq!(kind_of(sent.body.as_ref()), event.body.kind());
                body_round_trips(&event.body);
            }
        }
        Err(e) => names_a_field(&e, "append request"),
    }
}

/// A stored or replicated record's body bytes, as the fold decodes them: a body that
/// decodes re-encodes to bytes that decode to the same body.
pub fn event_body(data: &[u8]) {
    match body_from_bytes(data) {
        Ok(body) => {
            let bytes = body_to_bytes(&body);
            assert_eq!(
                body_from_bytes(&bytes).as_ref(),
                Ok(&body),
                "a re-encoded body decodes differently"
            );
            if let Ok(wire) = pb::EventBody::decode(data) {
                assert_eq!(kind_of(Some(&wire)), body.kind());
            }
            if body != Body::Unknown {
                body_round_trips(&body);
            }
        }
        Err(e) => assert!(!e.reason.is_empty(), "an error gives no reason"),
    }
}

/// A JSON Lines event file (`hubctl publish`): every event it yields prints back to a line
/// that parses to the same event; an error names its line.
pub fn jsonl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_lines(text) {
        Ok(events) => {
            for (stream, event) in events {
                let line = JsonEvent {
                    stream: stream.clone(),
                    event_id: event.event_id,
                    body: event.body.clone(),
                };
                let printed = serde_json::to_string(&line)
                    .unwrap_or_else(|e| panic!("a parsed event does not print: {e}"));
                match parse_line(&printed) {
                    Ok(Some((s, e))) => {
                        assert_eq!(s, stream);
                        assert_eq!(e, event);
                    }
                    Ok(None) => panic!("a printed event reads as a blank line: {printed}"),
                    Err(e) => panic!("a printed event is refused: {e}: {printed}"),
                }
            }
        }
        Err(e) => assert!(
            e.path.starts_with("line "),
            "a file error names no line: {e}"
        ),
    }
}
