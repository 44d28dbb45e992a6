//! `hubctl replay`: reads the whole log with `ReadAll`, folds it locally with the same
//! pure fold the hub uses (`hub_types::fold::ViewState`), and checks the local digest
//! against the one the hub reports at the same position. An auditor's independent check
//! that the shared view is what the log says.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use clap::Args;
use hub_proto::convert::event_from_record;
use hub_proto::pb;
use hub_types::fold::ViewState;
use hub_types::{EventKind, Position};
use prost::Message;
use serde_json::json;

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{print_json, Format, Table};
use crate::query::view_info;

/// `replay`
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Events per ReadAll page (at most 5000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub page: u32,
}

/// What a replay found.
#[derive(Debug)]
pub struct Replayed {
    /// The local fold.
    pub state: ViewState,
    /// Position of the last event replayed (0 for an empty log).
    pub position: u64,
}

/// Converts a wire event to the stored record the fold reads. `Event` and `EventRecord`
/// are wire-compatible (the body is an embedded message in one and its bytes in the
/// other); re-encoding drops only field 10, `position`, which the record has not.
pub fn to_record(event: &pb::Event) -> Result<pb::EventRecord> {
    pb::EventRecord::decode(event.encode_to_vec().as_slice()).map_err(|e| CliError::Server {
        what: format!("replay of position {}", event.position),
        code: tonic::Code::DataLoss,
        message: format!("the event does not decode as a record: {e}"),
    })
}

/// A progress bar on stderr (indicatif), drawn only when stderr is a terminal, so piped
/// and scripted runs stay quiet.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
}

impl Progress {
    /// A bar counting `what` (e.g. `events`), drawn only when stderr is a terminal.
    pub(crate) fn new() -> Self {
        Self::counting("events")
    }

    /// Like [`Progress::new`], naming what is counted.
    pub(crate) fn counting(what: &'static str) -> Self {
        Self { bar: None, what }
    }

    /// Moves the bar to `done` of `total`.
    pub(crate) fn update(&mut self, done: u64, total: u64) {
        if total == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let what = self.what;
        let bar = self.bar.get_or_insert_with(|| {
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {human_pos}/{human_len} {msg} ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            )
            .with_style(style);
            bar.set_message(what);
            bar
        });
        bar.set_length(total);
        bar.set_position(done.min(total));
    }

    /// Removes the bar.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Reads the log from the beginning and folds every event.
pub async fn replay(conn: &Connection, page: u32) -> Result<Replayed> {
    let mut client = conn.streams();
    let mut state = ViewState::default();
    let mut position = 0;
    let mut from = 1;
    let mut progress = Progress::new();
    loop {
        let resp = client
            .read_all(pb::ReadAllRequest {
                from_position: from,
                limit: page,
            })
            .await
            .map_err(|s| CliError::status("replay (read all)", &s))?
            .into_inner();
        for event in &resp.events {
            let record = to_record(event)?;
            let at = Position::new(event.position).map_err(|e| bad_event(event, &e))?;
            let domain = event_from_record(&record, at).map_err(|e| bad_event(event, &e))?;
            if event.position <= position {
                return Err(CliError::Server {
                    what: "replay".into(),
                    code: tonic::Code::DataLoss,
                    message: format!(
                        "position {} came after {position}: the log is not in order",
                        event.position
                    ),
                });
            }
            state.apply(&domain);
            position = event.position;
        }
        progress.update(position, resp.head_position);
        if resp.next_position == 0 || resp.events.is_empty() {
            break;
        }
        from = resp.next_position;
    }
    progress.finish();
    Ok(Replayed { state, position })
}

fn bad_event(event: &pb::Event, e: &hub_types::ValidationError) -> CliError {
    CliError::Server {
        what: format!("replay of position {}", event.position),
        code: tonic::Code::DataLoss,
        message: format!("the hub returned an event the fold cannot read: {e}"),
    }
}

/// Runs `replay`: exit 0 when the digests agree, 1 when they differ.
pub async fn run(endpoint: &str, token: &str, a: &ReplayArgs, format: Format) -> Result<()> {
    let conn = Connection::open(endpoint, token).await?;
    let replayed = replay(&conn, a.page).await?;
    let local = hex::encode(replayed.state.digest(None));
    // At position 0 ViewInfo answers for the newest view, so an empty log is compared with
    // a view that must be empty too.
    let info = view_info(&conn, replayed.position).await?;
    let matches = info.digest == local && info.position == replayed.position;
    let counts: BTreeMap<EventKind, u64> = replayed.state.counts.clone();
    if format == Format::Json {
        let by_kind: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), json!(n)))
            .collect();
        print_json(&json!({
            "position": replayed.position,
            "events": replayed.state.event_count(),
            "counts": by_kind,
            "ignored": replayed.state.ignored,
            "skipped_unknown": replayed.state.skipped_unknown(),
            "digest": local,
            "server_digest": info.digest,
            "server_position": info.position,
            "match": matches,
        }));
    } else {
        let mut t = Table::new(["KIND", "EVENTS"]);
        for (kind, n) in &counts {
            t.row(vec![kind.as_str().to_owned(), n.to_string()]);
        }
        print!("{t}");
        println!(
            "replayed {} events up to position {} ({} ignored, {} of unknown kinds)",
            replayed.state.event_count(),
            replayed.position,
            replayed.state.ignored,
            replayed.state.skipped_unknown()
        );
        let mut digests = Table::fields();
        digests.field("local digest", &local);
        digests.field(
            "server digest",
            format!("{} (at position {})", info.digest, info.position),
        );
        print!("{digests}");
        println!(
            "{}",
            if matches {
                "digests match"
            } else {
                "DIGESTS DIFFER"
            }
        );
    }
    if matches {
        Ok(())
    } else {
        Err(CliError::Mismatch(format!(
            "the local replay digest {local} differs from the server's {} at position {}",
            info.digest, replayed.position
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_re_encodes_as_its_record_without_the_position() {
        let event = pb::Event {
            event_id: "0f4c0000-0000-4000-8000-000000000001".into(),
            origin: "310000".into(),
            origin_seq: 3,
            stream: "recognition/310000".into(),
            stream_version: 2,
            recorded_at: Some(prost_types::Timestamp {
                seconds: 1_770_000_000,
                nanos: 5000,
            }),
            body: Some(pb::EventBody::default()),
            prev_hash: vec![7; 32],
            signature: vec![1, 2, 3],
            position: 99,
        };
        let record = to_record(&event).expect("decodes");
        assert_eq!(record.origin_seq, 3);
        assert_eq!(record.stream, "recognition/310000");
        assert_eq!(record.prev_hash, vec![7; 32]);
        assert_eq!(record.recorded_at, event.recorded_at);
        assert_eq!(
            record.body,
            pb::EventBody::default().encode_to_vec(),
            "the body travels as its bytes"
        );
    }
}
