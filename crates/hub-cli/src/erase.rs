//! `hubctl erase`: erases the personal data of one blacklist entry by appending a
//! `blacklist_entry_erased` event to the entry's stream.
//!
//! Every node that folds the event destroys the entry's key, so the sealed display name
//! and decision summary can never be read again, on any node: there is no undo. The
//! entry's history, hashes and signatures stay intact; the entry lists as `erased`.
//!
//! The event is validated locally, as the hub validates it, before anything is sent. Its
//! id (`--event-id`, a fresh UUID by default) is printed, so a retry after a failure of
//! unknown outcome can send the same id, which the hub answers as a duplicate.

use clap::{ArgGroup, Args};
use hub_proto::convert::{body_from_proto, expected_version_to_proto};
use hub_proto::pb;
use hub_types::{EventId, ExpectedVersion, Family, StreamId, ValidationError};
use serde_json::{json, Value};
use tonic::{Code, Status};

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{erasure_reason_name, print_json, Format};

/// `erase`: the entry, and exactly one reason.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("reason")
        .required(true)
        .multiple(false)
        .args(["order_ref", "retention_ended"])
))]
pub struct EraseArgs {
    /// The entry's stream, `blacklist/<member>/<entry_id>`; only the entry's city may
    /// erase it.
    #[arg(long, value_name = "STREAM", value_parser = parse_entry)]
    pub entry: StreamId,
    /// Erase because an order requires it; the order's reference (e.g. a case number).
    #[arg(long, value_name = "TEXT")]
    pub order_ref: Option<String>,
    /// Erase because the entry's retention period ended.
    #[arg(long)]
    pub retention_ended: bool,
    /// The erasure event's id (a UUID); default a fresh random one. To retry an erasure
    /// whose outcome is unknown, pass the id printed by the first attempt.
    #[arg(long, value_name = "UUID", value_parser = parse_event_id)]
    pub event_id: Option<EventId>,
}

/// Parses `--entry`: a stream of a family with personal fields (blacklist, white-list
/// entry or award).
pub fn parse_entry(s: &str) -> Result<StreamId, String> {
    let stream: StreamId = s.parse().map_err(|e: ValidationError| e.to_string())?;
    if !stream.family().is_personal() {
        return Err(format!(
            "expected the stream of a blacklist entry, white-list entry or award \
             (blacklist/<member>/<entry_id>, whitelist/<member>/<entry_id>, \
             award/<member>/<award_id>), got the {} stream {s:?}",
            stream.family()
        ));
    }
    Ok(stream)
}

fn parse_event_id(s: &str) -> Result<EventId, String> {
    s.parse().map_err(|e: ValidationError| e.to_string())
}

/// An erasure ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    /// The entry's stream.
    pub stream: StreamId,
    /// The event's id: the idempotency key of a retry.
    pub event_id: EventId,
    /// Why, as sent.
    pub reason: pb::ErasureReason,
    /// The order's reference; empty unless the reason is an order.
    pub order_ref: String,
    /// The append carrying the one event.
    pub request: pb::AppendRequest,
}

/// Builds and validates the erasure `a` asks for. Nothing is sent: a bad value fails here,
/// naming the field and its flag.
pub fn erasure(a: &EraseArgs) -> Result<Erasure> {
    let stream = a.entry.clone();
    let entry_id = stream
        .local()
        .map(ToString::to_string)
        .ok_or_else(|| CliError::Input(format!("--entry {stream} names no entry")))?;
    let (reason, order_ref) = match (&a.order_ref, a.retention_ended) {
        (Some(order), false) => (pb::ErasureReason::Order, order.clone()),
        (None, true) => (pb::ErasureReason::RetentionEnded, String::new()),
        // clap's group rejects these; a caller building the args by hand gets this.
        _ => {
            return Err(CliError::Input(
                "give exactly one of --order-ref <TEXT> or --retention-ended".into(),
            ))
        }
    };
    let wire_reason = reason as i32;
    let kind = match stream.family() {
        Family::Whitelist => pb::event_body::Kind::WhitelistEntryErased(pb::WhitelistEntryErased {
            entry_id,
            reason: wire_reason,
            order_ref: order_ref.clone(),
        }),
        Family::Award => pb::event_body::Kind::AwardErased(pb::AwardErased {
            award_id: entry_id,
            reason: wire_reason,
            order_ref: order_ref.clone(),
        }),
        _ => pb::event_body::Kind::BlacklistEntryErased(pb::BlacklistEntryErased {
            entry_id,
            reason: wire_reason,
            order_ref: order_ref.clone(),
        }),
    };
    let body = pb::EventBody { kind: Some(kind) };
    body_from_proto(&body)
        .and_then(|b| b.check_stream(&stream))
        .map_err(|e| invalid(&stream, &e))?;
    let event_id = a.event_id.unwrap_or_else(EventId::new_random);
    let request = pb::AppendRequest {
        stream: stream.to_string(),
        // The entry must exist: a mistyped --entry fails instead of starting a stream.
        expected_version: Some(expected_version_to_proto(ExpectedVersion::Exists)),
        events: vec![pb::Event {
            event_id: event_id.to_string(),
            body: Some(body),
            ..Default::default()
        }],
    };
    Ok(Erasure {
        stream,
        event_id,
        reason,
        order_ref,
        request,
    })
}

/// A local validation failure, naming the body field and the flag it came from.
fn invalid(stream: &StreamId, e: &ValidationError) -> CliError {
    let flag = match e.path.rsplit('.').next() {
        Some("order_ref") => " (--order-ref)",
        Some("entry_id") => " (--entry)",
        Some("reason") => " (--order-ref or --retention-ended)",
        _ => "",
    };
    if e.path.is_empty() {
        CliError::Input(format!("invalid erasure of {stream}: {}", e.reason))
    } else {
        CliError::Input(format!(
            "invalid erasure of {stream}, field body.{}{flag}: {}",
            e.path, e.reason
        ))
    }
}

/// A refused or failed append, with what to do about it.
fn failure(e: &Erasure, status: &Status) -> CliError {
    let mut err = CliError::status(format!("erasure of {}", e.stream), status);
    let no_stream = status.code() == Code::FailedPrecondition
        && status
            .metadata()
            .get("th-actual-version")
            .and_then(|v| v.to_str().ok())
            == Some("0");
    // Codes after which the erasure may or may not be stored.
    let uncertain = matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
            | Code::Aborted
    );
    if let CliError::Server { message, .. } = &mut err {
        if no_stream {
            message.push_str(&format!(
                "; this node holds no entry {}: check --entry",
                e.stream
            ));
        } else if uncertain {
            message.push_str(&format!(
                "; the erasure may have been stored: retry with --event-id {}",
                e.event_id
            ));
        }
    }
    err
}

/// The outcome as JSON.
pub fn outcome_json(e: &Erasure, resp: &pb::AppendResponse) -> Value {
    json!({
        "stream": e.stream.to_string(),
        "entry_id": e.stream.local().map(ToString::to_string),
        "event_id": e.event_id.to_string(),
        "reason": erasure_reason_name(e.reason as i32),
        "order_ref": if e.order_ref.is_empty() {
            Value::Null
        } else {
            Value::from(e.order_ref.as_str())
        },
        "position": resp.last_position,
        "stream_version": resp.stream_version,
        "duplicate": resp.duplicate,
    })
}

/// The outcome as a line.
pub fn outcome_line(e: &Erasure, resp: &pb::AppendResponse) -> String {
    if resp.duplicate {
        format!(
            "{}: this erasure was already stored at position {} (an idempotent retry); event id {}",
            e.stream, resp.last_position, e.event_id
        )
    } else {
        format!(
            "erased {} at position {} (stream version {}); event id {}",
            e.stream, resp.last_position, resp.stream_version, e.event_id
        )
    }
}

/// Runs `erase`.
pub async fn run(endpoint: &str, token: &str, a: &EraseArgs, format: Format) -> Result<()> {
    let e = erasure(a)?;
    let conn = Connection::open(endpoint, token).await?;
    let resp = conn
        .publisher()
        .append(e.request.clone())
        .await
        .map_err(|s| failure(&e, &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&outcome_json(&e, &resp));
    } else {
        println!("{}", outcome_line(&e, &resp));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "blacklist/310000/sh-2025-0012";
    const ID: &str = "6f1c2a4e-0b7d-4c55-9a3e-1d2f3a4b5c6d";

    fn args(order_ref: Option<&str>, retention_ended: bool) -> EraseArgs {
        EraseArgs {
            entry: STREAM.parse().expect("stream"),
            order_ref: order_ref.map(str::to_owned),
            retention_ended,
            event_id: None,
        }
    }

    fn sent(e: &Erasure) -> pb::BlacklistEntryErased {
        let body = e.request.events[0].body.clone().expect("body");
        match body.kind {
            Some(pb::event_body::Kind::BlacklistEntryErased(x)) => x,
            other => panic!("not an erasure: {other:?}"),
        }
    }

    #[test]
    fn an_order_erasure_names_the_entry_and_the_order() {
        let e = erasure(&args(Some("(2026)沪0101民初1号"), false)).expect("valid");
        assert_eq!(e.request.stream, STREAM);
        assert_eq!(e.request.events.len(), 1);
        assert_eq!(
            e.request.expected_version,
            Some(expected_version_to_proto(ExpectedVersion::Exists))
        );
        let x = sent(&e);
        assert_eq!(x.entry_id, "sh-2025-0012");
        assert_eq!(x.reason, pb::ErasureReason::Order as i32);
        assert_eq!(x.order_ref, "(2026)沪0101民初1号");
        assert_eq!(e.request.events[0].event_id, e.event_id.to_string());
    }

    #[test]
    fn a_retention_erasure_sends_no_order_ref() {
        let e = erasure(&args(None, true)).expect("valid");
        let x = sent(&e);
        assert_eq!(x.reason, pb::ErasureReason::RetentionEnded as i32);
        assert!(x.order_ref.is_empty());
        let resp = pb::AppendResponse {
            first_position: 60,
            last_position: 60,
            stream_version: 2,
            duplicate: false,
        };
        let out = outcome_json(&e, &resp);
        assert_eq!(out["reason"], "retention_ended");
        assert_eq!(out["order_ref"], Value::Null);
        assert_eq!(out["position"], 60);
        assert_eq!(out["entry_id"], "sh-2025-0012");
        assert_eq!(out["event_id"], e.event_id.to_string());
        assert_eq!(out["duplicate"], false);
    }

    #[test]
    fn the_event_id_is_fresh_unless_given() {
        let a = erasure(&args(None, true)).expect("valid");
        let b = erasure(&args(None, true)).expect("valid");
        assert_ne!(a.event_id, b.event_id);
        let mut given = args(None, true);
        given.event_id = Some(ID.parse().expect("uuid"));
        let e = erasure(&given).expect("valid");
        assert_eq!(e.event_id.to_string(), ID);
        assert_eq!(e.request.events[0].event_id, ID);
    }

    #[test]
    fn an_empty_order_ref_is_refused_locally_naming_the_flag() {
        for blank in ["", "   "] {
            let err = erasure(&args(Some(blank), false)).expect_err("empty");
            assert_eq!(err.exit_code(), 2);
            let msg = err.to_string();
            assert!(
                msg.contains("field body.blacklist_entry_erased.order_ref (--order-ref)"),
                "{msg}"
            );
            assert!(msg.contains("must not be empty"), "{msg}");
        }
    }

    #[test]
    fn a_long_or_control_character_order_ref_is_refused_locally() {
        let long = "x".repeat(65);
        let msg = erasure(&args(Some(&long), false))
            .expect_err("too long")
            .to_string();
        assert!(msg.contains("(--order-ref)"), "{msg}");
        assert!(msg.contains("at most 64 characters"), "{msg}");
        let msg = erasure(&args(Some("a\tb"), false))
            .expect_err("control character")
            .to_string();
        assert!(msg.contains("control characters"), "{msg}");
    }

    #[test]
    fn both_or_neither_reason_is_refused_when_built_by_hand() {
        for a in [args(Some("x"), true), args(None, false)] {
            let err = erasure(&a).expect_err("one reason");
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains("exactly one of"), "{err}");
        }
    }

    #[test]
    fn entries_must_be_blacklist_streams() {
        assert!(parse_entry(STREAM).is_ok());
        let demand = parse_entry("demand/310000/sig-1").expect_err("demand");
        assert!(demand.contains("blacklist/<member>/<entry_id>"), "{demand}");
        assert!(demand.contains("demand"), "{demand}");
        let recognition = parse_entry("recognition/310000").expect_err("recognition");
        assert!(recognition.contains("recognition"), "{recognition}");
        assert!(parse_entry("blacklist/310000").is_err());
        assert!(parse_entry("blacklist/999999/x").is_err());
        assert!(parse_entry("blacklist/310000/bad id").is_err());
        assert!(parse_entry("sh-2025-0012").is_err());
    }

    #[test]
    fn failures_say_what_to_do() {
        let e = erasure(&args(None, true)).expect("valid");
        let mut missing = Status::failed_precondition(
            "stream blacklist/310000/sh-2025-0012 is at version 0, expected exists",
        );
        missing
            .metadata_mut()
            .insert("th-actual-version", "0".parse().expect("ascii"));
        let msg = failure(&e, &missing).to_string();
        assert!(msg.contains("(failed_precondition)"), "{msg}");
        assert!(msg.contains("check --entry"), "{msg}");

        let down = failure(&e, &Status::unavailable("the node is shutting down"));
        assert_eq!(down.exit_code(), 3);
        assert!(
            down.to_string()
                .contains(&format!("retry with --event-id {}", e.event_id)),
            "{down}"
        );

        let denied = failure(&e, &Status::permission_denied("member 320500 may not"));
        assert_eq!(denied.exit_code(), 1);
        assert!(!denied.to_string().contains("--event-id"), "{denied}");
    }

    #[test]
    fn a_retry_is_reported_as_one() {
        let e = erasure(&args(Some("order 1"), false)).expect("valid");
        let resp = pb::AppendResponse {
            first_position: 60,
            last_position: 60,
            stream_version: 2,
            duplicate: true,
        };
        let line = outcome_line(&e, &resp);
        assert!(line.contains("already stored at position 60"), "{line}");
        assert!(line.contains(&e.event_id.to_string()), "{line}");
        assert_eq!(outcome_json(&e, &resp)["order_ref"], "order 1");
    }
}
