//! `hubctl publish FILE`: loads a JSON Lines event file and appends it, one `Append` per
//! run of consecutive events of the same stream.
//!
//! Every line is validated before anything is sent, so a bad file changes nothing. Each
//! event carries its `event_id` from the file, so publishing a file again appends nothing:
//! the hub answers every append as a duplicate (an idempotent retry).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::Read;

use clap::Args;
use hub_proto::convert::{body_to_proto, expected_version_to_proto};
use hub_proto::jsonl::parse_lines;
use hub_proto::pb;
use hub_proto::pb::publisher_client::PublisherClient;
use hub_types::{ExpectedVersion, MemberId, NewEvent, StreamId, ValidationError};
use serde_json::json;
use tonic::Code;

use crate::client::{Authed, Connection};
use crate::error::{CliError, Result};
use crate::output::{print_json, Format};

/// Most events the server takes in one append (`server.max_events_per_append`).
const SERVER_MAX_BATCH: u32 = 1000;

/// `publish`
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// JSON Lines file of events (see config/samples/README.md); `-` reads standard input.
    pub file: String,
    /// Most events per append.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=i64::from(SERVER_MAX_BATCH)))]
    pub batch: u32,
    /// Publish each event with its stream owner's token, `{member}` standing for the
    /// owner's code (e.g. `dev-member-{member}`); needs a node started with --sandbox.
    #[arg(long, value_name = "TEMPLATE")]
    pub token_template: Option<String>,
}

/// One `Append`: consecutive events of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The stream appended to.
    pub stream: StreamId,
    /// Its events, in file order.
    pub events: Vec<NewEvent>,
}

/// Groups consecutive events of the same stream, at most `max` per batch. Order is kept:
/// stream versions follow file order.
pub fn batches(events: Vec<(StreamId, NewEvent)>, max: usize) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    for (stream, event) in events {
        match out.last_mut() {
            Some(b) if b.stream == stream && b.events.len() < max => b.events.push(event),
            _ => out.push(Batch {
                stream,
                events: vec![event],
            }),
        }
    }
    out
}

/// Names the file line and field of a parse error: `parse_lines` reports the path
/// `line N.field…`.
pub fn describe_parse_error(file: &str, e: &ValidationError) -> String {
    let (line, field) = match e.path.strip_prefix("line ") {
        Some(rest) => match rest.split_once('.') {
            Some((line, field)) => (line, field),
            None => (rest, ""),
        },
        None => ("?", e.path.as_str()),
    };
    if field.is_empty() {
        format!("invalid event at {file} line {line}: {}", e.reason)
    } else {
        format!(
            "invalid event at {file} line {line}, field {field}: {}",
            e.reason
        )
    }
}

/// Reads and validates a file (`-` = standard input) into batches of at most `max`.
pub fn load(file: &str, max: usize) -> Result<Vec<Batch>> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| CliError::Input(format!("cannot read {file}: {e}")))?
    };
    let name = if file == "-" { "<stdin>" } else { file };
    parse(name, &text, max)
}

/// Validates the text of a file named `name` into batches of at most `max`.
pub fn parse(name: &str, text: &str, max: usize) -> Result<Vec<Batch>> {
    let events = parse_lines(text).map_err(|e| CliError::Input(describe_parse_error(name, &e)))?;
    Ok(batches(events, max))
}

/// Whose token an append carries.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// The connection's token, for every stream.
    Caller,
    /// The stream owner's token, from a template with `{member}`.
    Owner(String),
}

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events newly appended.
    pub appended: u64,
    /// Appends that stored new events.
    pub appends: u64,
    /// Events the hub already held (idempotent retries).
    pub duplicates: u64,
    /// Appends answered as duplicates.
    pub duplicate_appends: u64,
    /// Highest log position any append reported.
    pub last_position: u64,
}

impl Summary {
    /// Adds another summary's counts.
    pub fn add(&mut self, other: &Summary) {
        self.appended += other.appended;
        self.appends += other.appends;
        self.duplicates += other.duplicates;
        self.duplicate_appends += other.duplicate_appends;
        self.last_position = self.last_position.max(other.last_position);
    }

    /// `appended N events in M appends, K duplicates (…)`
    pub fn line(&self) -> String {
        format!(
            "appended {} events in {} appends, {} duplicates (already stored: idempotent retries)",
            self.appended, self.appends, self.duplicates
        )
    }

    /// The counts as JSON.
    pub fn json(&self) -> serde_json::Value {
        json!({
            "appended": self.appended,
            "appends": self.appends,
            "duplicates": self.duplicates,
            "duplicate_appends": self.duplicate_appends,
            "last_position": self.last_position,
        })
    }
}

/// Sends the batches in order, stopping at the first failure (after telling on stderr
/// how far it got).
pub async fn send(conn: &Connection, batches: &[Batch], tokens: &Tokens) -> Result<Summary> {
    // One client per owner: each city's events travel with that city's token.
    let mut clients: HashMap<MemberId, PublisherClient<Authed>> = HashMap::new();
    let mut summary = Summary::default();
    let total: u64 = batches.iter().map(|b| b.events.len() as u64).sum();
    let mut progress = crate::replay::Progress::counting("events published");
    for batch in batches {
        let owner = batch.stream.owner();
        let client = match clients.entry(owner) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(match tokens {
                Tokens::Caller => conn.publisher(),
                Tokens::Owner(t) => {
                    conn.publisher_as(&t.replace("{member}", &owner.to_string()))?
                }
            }),
        };
        let req = pb::AppendRequest {
            stream: batch.stream.to_string(),
            expected_version: Some(expected_version_to_proto(ExpectedVersion::Any)),
            events: batch
                .events
                .iter()
                .map(|e| pb::Event {
                    event_id: e.event_id.to_string(),
                    body: Some(body_to_proto(&e.body)),
                    ..Default::default()
                })
                .collect(),
        };
        let n = batch.events.len() as u64;
        let resp = match client.append(req).await {
            Ok(resp) => resp.into_inner(),
            Err(status) => {
                progress.finish();
                if summary != Summary::default() {
                    eprintln!("before the failure: {}", summary.line());
                }
                let mut err =
                    CliError::status(format!("append of {n} events to {}", batch.stream), &status);
                if let CliError::Server {
                    code: Code::PermissionDenied,
                    message,
                    ..
                } = &mut err
                {
                    message.push_str(permission_hint(tokens, batches));
                }
                return Err(err);
            }
        };
        if resp.duplicate {
            summary.duplicates += n;
            summary.duplicate_appends += 1;
        } else {
            summary.appended += n;
            summary.appends += 1;
        }
        summary.last_position = summary.last_position.max(resp.last_position);
        progress.update(summary.appended + summary.duplicates, total);
    }
    progress.finish();
    Ok(summary)
}

/// What to do about a refused append: one node publishes for several cities only in the
/// sandbox, and each city's events need that city's token.
fn permission_hint(tokens: &Tokens, batches: &[Batch]) -> &'static str {
    let first = batches.first().map(|b| b.stream.owner());
    let several_owners = batches.iter().any(|b| Some(b.stream.owner()) != first);
    match tokens {
        Tokens::Owner(_) => {
            "; publishing every city's events needs a node started with `talent-hub --sandbox`"
        }
        Tokens::Caller if several_owners => {
            "; this file holds several cities' events: publish it with --token-template \
             'dev-member-{member}' to a node started with `talent-hub --sandbox`"
        }
        Tokens::Caller => "",
    }
}

/// Runs `publish`.
pub async fn run(endpoint: &str, token: &str, a: &PublishArgs, format: Format) -> Result<()> {
    let batches = load(&a.file, a.batch as usize)?;
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    let conn = Connection::open(endpoint, token).await?;
    let tokens = match &a.token_template {
        Some(t) => Tokens::Owner(t.clone()),
        None => Tokens::Caller,
    };
    let summary = send(&conn, &batches, &tokens).await?;
    if format == Format::Json {
        let mut out = summary.json();
        out["file"] = json!(a.file);
        out["events"] = json!(events);
        print_json(&out);
    } else {
        println!("{}: {events} events; {}", a.file, summary.line());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"stream": "demand/310000/sig-1", "event_id": "EID", "body": {"kind": "demand_signal_closed", "signal_id": "sig-1", "reason": "filled", "filled": 3, "closed_at": "2026-01-12"}}"#;

    fn line(stream_id: &str, n: u32) -> String {
        LINE.replace("sig-1", stream_id)
            .replace("EID", &format!("00000000-0000-4000-8000-{n:012}"))
    }

    #[test]
    fn consecutive_events_of_a_stream_share_an_append_up_to_the_batch_size() {
        let text = [
            line("a", 1),
            line("a", 2),
            line("a", 3),
            line("b", 4),
            line("a", 5),
        ]
        .join("\n");
        let sizes = |max| -> Vec<(String, usize)> {
            parse("t.jsonl", &text, max)
                .expect("valid")
                .iter()
                .map(|b| (b.stream.to_string(), b.events.len()))
                .collect()
        };
        let s = |x: &str, n| (format!("demand/310000/{x}"), n);
        assert_eq!(sizes(500), vec![s("a", 3), s("b", 1), s("a", 1)]);
        assert_eq!(sizes(2), vec![s("a", 2), s("a", 1), s("b", 1), s("a", 1)]);
    }

    #[test]
    fn a_bad_line_is_named_with_its_field() {
        let text = format!(
            "# comment\n{}\n{}",
            line("a", 1),
            line("a", 2).replace("\"filled\": 3", "\"filled\": -3")
        );
        let err = parse("f.jsonl", &text, 500).expect_err("invalid");
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.starts_with("invalid event at f.jsonl line 3"), "{msg}");
        let text = line("a", 1).replace("\"signal_id\": \"a\"", "\"signal_id\": \"zz\"");
        let msg = parse("f.jsonl", &text, 500)
            .expect_err("mismatch")
            .to_string();
        assert!(
            msg.contains("line 1, field body.demand_signal_closed.signal_id"),
            "{msg}"
        );
    }
}
