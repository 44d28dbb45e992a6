//! Conversions between the wire types (`pb`) and the domain (`hub_types`), in one place.
//!
//! Every `*_from_proto` function validates as it converts and returns an error whose path
//! names the offending field relative to the message it was given (callers prefix it, so a
//! server reports e.g. `events[3].body.blacklist_entry_added.expires_at`).
//!
//! - `enums`: enums and small values (credential kinds, industries, reasons, …).
//! - `body`: event bodies, both ways, including the personal fields of blacklist entries.
//! - `register`: white-list and award bodies and their enums.
//! - this module: the envelope, append requests, stored records and timestamps.

mod body;
mod enums;
mod register;

pub use body::*;
pub use enums::*;
pub use register::{
    award_category_from_proto, award_category_to_proto, award_level_from_proto,
    award_level_to_proto, tier_from_proto, tier_to_proto,
};

use hub_types::error::{AtField, Result, ValidationError};
use hub_types::values::Text;
use hub_types::{
    Date, Event, EventId, ExpectedVersion, MemberId, NewEvent, Position, StreamId, Timestamp,
};
use prost::Message;

use crate::pb::{self, event_body::Kind};

fn parse<T: std::str::FromStr<Err = ValidationError>>(s: &str, field: &str) -> Result<T> {
    s.parse::<T>().at(field)
}

fn date(s: &str, field: &str) -> Result<Date> {
    if s.is_empty() {
        return Err(ValidationError::new(
            field,
            "must not be empty (YYYY-MM-DD)",
        ));
    }
    parse(s, field)
}

fn opt_date(s: &str, field: &str) -> Result<Option<Date>> {
    if s.is_empty() {
        return Ok(None);
    }
    parse(s, field).map(Some)
}

fn text(s: &str, field: &str, max: usize, required: bool) -> Result<Text> {
    Text::new(s, max, required).at(field)
}

fn enum_value<E: TryFrom<i32>>(raw: i32, field: &str) -> Result<E> {
    match E::try_from(raw) {
        Ok(v) if raw != 0 => Ok(v),
        _ if raw == 0 => Err(ValidationError::new(field, "must be set")),
        _ => Err(ValidationError::new(field, format!("unknown value {raw}"))),
    }
}

/// Validates one event a client submits for `stream`: its id and body, and that any
/// envelope fields it set agree with what the hub will stamp.
pub fn new_event_from_proto(event: &pb::Event, stream: &StreamId) -> Result<NewEvent> {
    let event_id = if event.event_id.is_empty() {
        return Err(ValidationError::new("event_id", "must be set (a UUID)"));
    } else {
        parse::<EventId>(&event.event_id, "event_id")?
    };
    if !event.origin.is_empty() {
        let origin = parse::<MemberId>(&event.origin, "origin")?;
        if origin != stream.owner() {
            return Err(ValidationError::new(
                "origin",
                format!("{origin} does not own stream {stream}"),
            ));
        }
    }
    if !event.stream.is_empty() && event.stream != stream.to_string() {
        return Err(ValidationError::new(
            "stream",
            format!(
                "{} differs from the request's stream {stream}",
                hub_types::Quoted(&event.stream)
            ),
        ));
    }
    let body = event
        .body
        .as_ref()
        .ok_or_else(|| ValidationError::new("body", "must be set"))?;
    let body = body_from_proto(body).at("body")?;
    body.check_stream(stream).at("body")?;
    Ok(NewEvent { event_id, body })
}

/// Converts the expected version of an append; absent means any.
pub fn expected_version_from_proto(v: Option<&pb::ExpectedVersion>) -> ExpectedVersion {
    use pb::expected_version::Kind as V;
    match v.and_then(|v| v.kind.as_ref()) {
        None | Some(V::Any(_)) => ExpectedVersion::Any,
        Some(V::NoStream(_)) => ExpectedVersion::NoStream,
        Some(V::Exists(_)) => ExpectedVersion::Exists,
        Some(V::Exact(n)) => ExpectedVersion::Exact(*n),
    }
}

/// Converts an expected version to the wire.
pub fn expected_version_to_proto(v: ExpectedVersion) -> pb::ExpectedVersion {
    use pb::expected_version::Kind as V;
    let kind = match v {
        ExpectedVersion::Any => V::Any(pb::Empty {}),
        ExpectedVersion::NoStream => V::NoStream(pb::Empty {}),
        ExpectedVersion::Exists => V::Exists(pb::Empty {}),
        ExpectedVersion::Exact(n) => V::Exact(n),
    };
    pb::ExpectedVersion { kind: Some(kind) }
}

/// Validates a whole append request: the stream, the expected version and every event,
/// with errors naming `stream` or `events[i]…`.
pub fn append_request_from_proto(
    req: &pb::AppendRequest,
) -> Result<(StreamId, ExpectedVersion, Vec<NewEvent>)> {
    let stream: StreamId = parse(&req.stream, "stream")?;
    if req.events.is_empty() {
        return Err(ValidationError::new(
            "events",
            "must hold at least one event",
        ));
    }
    let events = req
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| new_event_from_proto(e, &stream).at(&format!("events[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    for (i, e) in events.iter().enumerate() {
        if events[..i].iter().any(|o| o.event_id == e.event_id) {
            return Err(ValidationError::new(
                format!("events[{i}].event_id"),
                format!("{} appears twice in the request", e.event_id),
            ));
        }
    }
    Ok((
        stream,
        expected_version_from_proto(req.expected_version.as_ref()),
        events,
    ))
}

/// Converts a timestamp to the wire.
pub fn timestamp_to_proto(t: Timestamp) -> prost_types::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types::Timestamp { seconds, nanos }
}

/// Validates a wire timestamp.
pub fn timestamp_from_proto(t: &prost_types::Timestamp) -> Result<Timestamp> {
    Timestamp::from_parts(t.seconds, t.nanos)
}

/// Decodes a stored record at `position` into a domain event for the fold.
pub fn event_from_record(record: &pb::EventRecord, position: Position) -> Result<Event> {
    let (origin, origin_seq, stream, event_id) = crate::record::header(record)?;
    Ok(Event {
        event_id,
        origin,
        origin_seq,
        stream,
        stream_version: record.stream_version,
        recorded_at: record
            .recorded_at
            .as_ref()
            .ok_or_else(|| ValidationError::new("recorded_at", "must be set"))
            .and_then(|t| timestamp_from_proto(t).at("recorded_at"))?,
        body: body_from_bytes(&record.body)?,
        position,
    })
}

/// Turns a stored record into the public envelope. The record's body bytes are the
/// embedded `EventBody` message, so kinds unknown here come out with no kind set.
pub fn record_to_event(record: &pb::EventRecord, position: Position) -> pb::Event {
    pb::Event {
        event_id: record.event_id.clone(),
        origin: record.origin.clone(),
        origin_seq: record.origin_seq,
        stream: record.stream.clone(),
        stream_version: record.stream_version,
        recorded_at: record.recorded_at,
        body: Some(pb::EventBody::decode(record.body.as_slice()).unwrap_or_default()),
        prev_hash: record.prev_hash.clone(),
        signature: record.signature.clone(),
        position: position.get(),
    }
}

/// The kind of a wire body without validating it; `Unknown` when no kind is set.
pub fn kind_of(body: Option<&pb::EventBody>) -> hub_types::EventKind {
    use hub_types::EventKind as K;
    match body.and_then(|b| b.kind.as_ref()) {
        None => K::Unknown,
        Some(Kind::CredentialRecognized(_)) => K::CredentialRecognized,
        Some(Kind::RecognitionWithdrawn(_)) => K::RecognitionWithdrawn,
        Some(Kind::DemandSignalPublished(_)) => K::DemandSignalPublished,
        Some(Kind::DemandSignalRevised(_)) => K::DemandSignalRevised,
        Some(Kind::DemandSignalClosed(_)) => K::DemandSignalClosed,
        Some(Kind::BlacklistEntryAdded(_)) => K::BlacklistEntryAdded,
        Some(Kind::BlacklistEntrySuspended(_)) => K::BlacklistEntrySuspended,
        Some(Kind::BlacklistEntryReinstated(_)) => K::BlacklistEntryReinstated,
        Some(Kind::BlacklistEntryRevoked(_)) => K::BlacklistEntryRevoked,
        Some(Kind::BlacklistEntryErased(_)) => K::BlacklistEntryErased,
        Some(Kind::WhitelistEntryAdded(_)) => K::WhitelistEntryAdded,
        Some(Kind::WhitelistEntryRenewed(_)) => K::WhitelistEntryRenewed,
        Some(Kind::WhitelistEntryRemoved(_)) => K::WhitelistEntryRemoved,
        Some(Kind::WhitelistEntryErased(_)) => K::WhitelistEntryErased,
        Some(Kind::AwardGranted(_)) => K::AwardGranted,
        Some(Kind::AwardAmended(_)) => K::AwardAmended,
        Some(Kind::AwardWithdrawn(_)) => K::AwardWithdrawn,
        Some(Kind::AwardErased(_)) => K::AwardErased,
    }
}
