//! The JSON Lines shape in which events are loaded from files (`hubctl publish`, the
//! samples under `config/samples/`).
//!
//! One event per line:
//!
//! ```json
//! {"stream": "demand/330400/jx-ai-2026q1-01",
//!  "event_id": "6f1c0f0e-8f7a-4a43-9a1e-2b7d0c9b5a01",
//!  "body": {"kind": "demand_signal_published", "signal_id": "jx-ai-2026q1-01", ...}}
//! ```
//!
//! `body` is the domain body in snake_case with its kind under `"kind"`; dates are
//! `YYYY-MM-DD`, periods `YYYY-Qn`, enums snake_case (e.g. `"industry": "aerospace"`).
//! Blank lines and lines starting with `#` are skipped. Every line is validated exactly as
//! an `Append` would be.

use hub_types::error::{AtField, Result, ValidationError};
use hub_types::{Body, EventId, NewEvent, StreamId};
use serde::{Deserialize, Serialize};

use crate::convert::{body_from_proto, body_to_proto};

/// One line of a JSON Lines event file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonEvent {
    /// Stream to append to.
    pub stream: StreamId,
    /// Idempotency key; a file that is loaded twice appends nothing the second time.
    pub event_id: EventId,
    /// What happened.
    pub body: Body,
}

/// Parses and validates one line; `Ok(None)` for blank and comment lines.
pub fn parse_line(line: &str) -> Result<Option<(StreamId, NewEvent)>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let parsed: JsonEvent = serde_json::from_str(line)
        .map_err(|e| ValidationError::reason(format!("not a valid event line: {e}")))?;
    // Serde checks shapes and the self-validating types; the wire validation checks the
    // rest (text lengths, masking, date order), so files and clients obey the same rules.
    let body = body_from_proto(&body_to_proto(&parsed.body)).at("body")?;
    body.check_stream(&parsed.stream).at("body")?;
    if body == Body::Unknown {
        return Err(ValidationError::new("body", "must set a known event kind"));
    }
    Ok(Some((
        parsed.stream,
        NewEvent {
            event_id: parsed.event_id,
            body,
        },
    )))
}

/// Parses a whole file, naming the 1-based line of the first bad one.
pub fn parse_lines(text: &str) -> Result<Vec<(StreamId, NewEvent)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(event) = parse_line(line).map_err(|e| e.at(format!("line {}", i + 1)))? {
            out.push(event);
        }
    }
    Ok(out)
}
