//! `hubctl tail`: follows the log with `Subscribe`, one line (or JSON object) per event.
//!
//! A subscription that the node ends with `RESOURCE_EXHAUSTED` (the subscriber fell
//! behind) or `UNAVAILABLE` (the node is shutting down) says where to resume
//! ("resubscribe with after_position = N"); tail then reconnects on its own, resuming
//! after the last event it printed, with a bounded number of attempts per outage.

use std::time::Duration;

use clap::Args;
use hub_proto::convert::{body_from_proto, timestamp_from_proto};
use hub_proto::pb;
use hub_proto::pb::subscribe_response::Item;
use hub_types::event::{EntryTransition, Personal};
use hub_types::values::{ErasureReason, Text};
use hub_types::{Body, EventKind, LocalId, MemberId};
use serde_json::{json, Value};
use tonic::{Code, Status};

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::Format;

/// `tail`
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Start at this log position (inclusive; 0 and 1 both mean the beginning). Without
    /// --from, only events appended from now on are shown.
    #[arg(long, value_name = "N", conflicts_with = "from_head")]
    pub from: Option<u64>,
    /// Only events appended from now on (the default).
    #[arg(long)]
    pub from_head: bool,
    /// Only this event kind (repeatable), e.g. demand_signal_published.
    #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
    pub kinds: Vec<String>,
    /// Only this origin city (repeatable).
    #[arg(long = "origin", value_name = "CODE", value_parser = parse_member)]
    pub origins: Vec<String>,
    /// Only streams starting with this prefix, e.g. `blacklist/`.
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Exit after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Report heartbeats and reconnections on stderr.
    #[arg(long, short)]
    pub verbose: bool,
    /// Reconnection attempts per interruption before giving up.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub retries: u32,
}

fn parse_kind(s: &str) -> Result<String, String> {
    match EventKind::parse(s) {
        Some(k) if k != EventKind::Unknown => Ok(s.to_owned()),
        _ => {
            let names: Vec<&str> = EventKind::ALL
                .iter()
                .filter(|k| **k != EventKind::Unknown)
                .map(|k| k.as_str())
                .collect();
            Err(format!("expected one of {}", names.join(", ")))
        }
    }
}

fn parse_member(s: &str) -> Result<String, String> {
    s.parse::<MemberId>()
        .map(|m| m.to_string())
        .map_err(|e| e.reason)
}

/// The position to resume after, if `status` ends a subscription that may be resumed: the
/// node says so in its `th-resume-after` metadata.
pub fn resume_point(status: &Status) -> Option<u64> {
    if !matches!(status.code(), Code::ResourceExhausted | Code::Unavailable) {
        return None;
    }
    status
        .metadata()
        .get("th-resume-after")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// One line about a body: its entity and what changed.
pub fn summarize(body: &Body) -> String {
    let transition = |what: &str, t: &EntryTransition| {
        format!("{} {what} from {} ({})", t.entry_id, t.effective_at, t.note)
    };
    match body {
        Body::CredentialRecognized(r) => format!(
            "rule {}: {} {}{} from {} as {} ({}..{})",
            r.rule_id,
            name(&r.credential.kind),
            r.credential.code,
            if r.credential.level.is_empty() {
                String::new()
            } else {
                format!("/{}", r.credential.level)
            },
            r.issuer,
            r.local_equivalent,
            r.effective_from,
            r.effective_until.map(|d| d.to_string()).unwrap_or_default()
        ),
        Body::RecognitionWithdrawn(w) => {
            format!(
                "rule {} withdrawn from {}: {}",
                w.rule_id, w.effective_at, w.reason
            )
        }
        Body::DemandSignalPublished(t) | Body::DemandSignalRevised(t) => format!(
            "{}: {} {} x{} in {}, {}-{} CNY, {}",
            t.signal_id,
            t.industry,
            t.occupation_code,
            t.headcount,
            t.period,
            t.pay_band.min,
            t.pay_band.max,
            name(&t.education)
        ),
        Body::DemandSignalClosed(c) => format!(
            "{}: closed {} on {} ({} filled)",
            c.signal_id,
            name(&c.reason),
            c.closed_at,
            c.filled
        ),
        Body::BlacklistEntryAdded(a) => format!(
            "{}: {} {} {}..{} ({})",
            a.entry_id,
            display(&a.personal),
            name(&a.category),
            a.effective_from,
            a.expires_at,
            a.decision_ref
        ),
        Body::BlacklistEntrySuspended(t) => transition("suspended", t),
        Body::BlacklistEntryReinstated(t) => transition("reinstated", t),
        Body::BlacklistEntryRevoked {
            transition: t,
            reason,
        } => transition(&format!("revoked ({})", name(reason)), t),
        Body::BlacklistEntryErased(e) | Body::WhitelistEntryErased(e) => {
            erased(&e.entry_id, e.reason, &e.order_ref)
        }
        Body::WhitelistEntryAdded(a) => format!(
            "{}: {} tier {} of {} {}..{} ({})",
            a.entry_id,
            display(&a.personal),
            a.tier.as_str().to_uppercase(),
            a.scheme,
            a.valid_from,
            a.valid_until,
            a.basis_ref
        ),
        Body::WhitelistEntryRenewed(r) => format!(
            "{} renewed until {} ({})",
            r.entry_id, r.valid_until, r.basis_ref
        ),
        Body::WhitelistEntryRemoved(r) => format!(
            "{} removed from {}: {}",
            r.entry_id, r.effective_at, r.reason
        ),
        Body::AwardGranted(g) => format!(
            "{}: {} {} {} {} {} CNY {}..{} ({})",
            g.award_id,
            display(&g.personal),
            g.programme_code,
            g.category.as_str(),
            g.level.as_str(),
            g.amount_cny,
            g.funded_from,
            g.funded_until,
            g.decision_ref
        ),
        Body::AwardAmended(a) => format!(
            "{} amended: {} CNY {}..{} ({})",
            a.award_id, a.amount_cny, a.funded_from, a.funded_until, a.decision_ref
        ),
        Body::AwardWithdrawn(w) => format!(
            "{} {} from {}: {}",
            w.award_id,
            w.outcome.as_str().replace('_', " "),
            w.effective_at,
            w.reason
        ),
        Body::AwardErased(e) => erased(&e.award_id, e.reason, &e.order_ref),
        Body::Unknown => "(a kind this hubctl does not know)".to_owned(),
    }
}

fn display(p: &Personal) -> String {
    match p {
        Personal::Plain(p) => p.subject_display.to_string(),
        Personal::Sealed(_) => "[sealed]".to_owned(),
    }
}

fn erased(id: &LocalId, reason: ErasureReason, order_ref: &Text) -> String {
    let order = if order_ref.as_str().is_empty() {
        String::new()
    } else {
        format!(" {order_ref}")
    };
    format!("{id}: personal data erased ({}{order})", name(&reason))
}

/// The snake_case name serde gives a domain enum.
fn name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}

/// The domain body of a wire event, `Unknown` for a kind this build does not know.
fn body_of(event: &pb::Event) -> Result<Body, String> {
    match event.body.as_ref() {
        Some(b) if b.kind.is_some() => body_from_proto(b).map_err(|e| e.to_string()),
        _ => Ok(Body::Unknown),
    }
}

/// `<position> <origin>#<seq> <stream> v<version> <kind> <summary>`
pub fn event_line(event: &pb::Event) -> String {
    let (kind, summary) = match body_of(event) {
        Ok(body) => (body.kind().as_str(), summarize(&body)),
        Err(e) => ("invalid", e),
    };
    format!(
        "{} {}#{} {} v{} {kind} {summary}",
        event.position, event.origin, event.origin_seq, event.stream, event.stream_version
    )
}

/// The event as JSON: the envelope, and the body in the shape of the JSON Lines files.
pub fn event_json(event: &pb::Event) -> Value {
    let recorded_at = event
        .recorded_at
        .as_ref()
        .and_then(|t| timestamp_from_proto(t).ok())
        .map(|t| t.to_string());
    let (kind, body) = match body_of(event) {
        Ok(body) => (
            body.kind().as_str(),
            serde_json::to_value(&body).unwrap_or(Value::Null),
        ),
        Err(e) => ("invalid", json!({"error": e})),
    };
    json!({
        "position": event.position,
        "event_id": event.event_id,
        "origin": event.origin,
        "origin_seq": event.origin_seq,
        "stream": event.stream,
        "stream_version": event.stream_version,
        "recorded_at": recorded_at,
        "kind": kind,
        "body": body,
    })
}

/// How one subscription ended.
enum Ended {
    /// `--count` events were printed.
    Done,
    /// The node ended it and said where to resume.
    Resumable(Status),
}

/// Follows one subscription until it ends, updating `after` and `printed` as it goes.
async fn follow(
    conn: &Connection,
    req: pb::SubscribeRequest,
    a: &TailArgs,
    format: Format,
    after: &mut Option<u64>,
    printed: &mut u64,
) -> Result<Ended> {
    let mut stream = conn
        .streams()
        .subscribe(req)
        .await
        .map_err(|s| CliError::status("tail", &s))?
        .into_inner();
    loop {
        let item = match stream.message().await {
            Ok(Some(resp)) => resp.item,
            Ok(None) => {
                return Err(CliError::Server {
                    what: "tail".into(),
                    code: Code::Unavailable,
                    message: "the node ended the subscription without saying why".into(),
                })
            }
            Err(status) if resume_point(&status).is_some() => return Ok(Ended::Resumable(status)),
            Err(status) => return Err(CliError::status("tail", &status)),
        };
        match item {
            Some(Item::Event(e)) => {
                match format {
                    Format::Json => println!("{}", event_json(&e)),
                    Format::Text => println!("{}", event_line(&e)),
                }
                *after = Some(e.position);
                *printed += 1;
                if a.count.is_some_and(|n| *printed >= n) {
                    return Ok(Ended::Done);
                }
            }
            Some(Item::Heartbeat(h)) if a.verbose => {
                eprintln!("heartbeat: head at {}", h.head_position);
            }
            Some(Item::CaughtUp(h)) if a.verbose => {
                eprintln!("caught up at {}; following live", h.head_position);
            }
            _ => {}
        }
    }
}

/// Runs `tail`.
pub async fn run(endpoint: &str, token: &str, a: &TailArgs, format: Format) -> Result<()> {
    if a.count == Some(0) {
        return Ok(());
    }
    let filter = pb::SubscribeFilter {
        kinds: a.kinds.clone(),
        origins: a.origins.clone(),
        stream_prefix: a.prefix.clone().unwrap_or_default(),
    };
    let mut conn = Some(Connection::open(endpoint, token).await?);
    // The last position delivered; `None` until the first event (or resume point) is known.
    let mut after = a.from.map(|n| n.saturating_sub(1));
    let mut printed = 0;
    let mut first = true;
    // Failed attempts in the current interruption, and the latest failure.
    let mut failures = 0;
    let mut delay = Duration::from_millis(100);
    let mut last_error = None;
    loop {
        if failures > a.retries {
            return Err(last_error.unwrap_or_else(|| CliError::Server {
                what: "tail".into(),
                code: Code::Unavailable,
                message: "could not resubscribe".into(),
            }));
        }
        let Some(c) = conn.as_ref() else {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(3));
            match Connection::open(endpoint, token).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    failures += 1;
                    if a.verbose {
                        eprintln!("reconnect attempt {failures}/{}: {e}", a.retries);
                    }
                    last_error = Some(e);
                }
            }
            continue;
        };
        let req = pb::SubscribeRequest {
            after_position: after.unwrap_or(0),
            filter: Some(filter.clone()),
            from_head: first && after.is_none(),
        };
        let resumed = !first;
        first = false;
        match follow(c, req, a, format, &mut after, &mut printed).await {
            Ok(Ended::Done) => return Ok(()),
            Ok(Ended::Resumable(status)) => {
                // Resume after the last event printed; with nothing printed yet, where the
                // node said (it counts the events the filter skipped too).
                if after.is_none() {
                    after = resume_point(&status);
                }
                if a.verbose {
                    eprintln!(
                        "subscription ended ({}): resuming after position {}",
                        status.message(),
                        after.unwrap_or(0)
                    );
                }
                failures = 1;
                delay = Duration::from_millis(100);
                last_error = Some(CliError::status("tail", &status));
            }
            // A node that is still stopping or starting refuses the new subscription.
            Err(e) if resumed && e.exit_code() == 3 => {
                failures += 1;
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
        conn = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending(code: Code, after: Option<&str>) -> Status {
        let mut status = Status::new(code, "resubscribe with after_position = 99");
        if let Some(after) = after {
            status
                .metadata_mut()
                .insert("th-resume-after", after.parse().expect("ascii"));
        }
        status
    }

    #[test]
    fn only_endings_that_carry_a_resume_position_are_resumed() {
        assert_eq!(
            resume_point(&ending(Code::ResourceExhausted, Some("42"))),
            Some(42)
        );
        assert_eq!(resume_point(&ending(Code::Unavailable, Some("7"))), Some(7));
        // The text alone is not the contract: without the metadata nothing is resumed.
        assert_eq!(resume_point(&ending(Code::Unavailable, None)), None);
        assert_eq!(resume_point(&ending(Code::Unavailable, Some("x"))), None);
        assert_eq!(resume_point(&ending(Code::Internal, Some("7"))), None);
    }

    #[test]
    fn kinds_are_checked_before_subscribing() {
        assert!(parse_kind("blacklist_entry_added").is_ok());
        let err = parse_kind("blacklist_added").expect_err("unknown");
        assert!(err.contains("demand_signal_published"), "{err}");
    }
}
