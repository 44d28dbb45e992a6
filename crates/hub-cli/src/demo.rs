//! `hubctl demo`: loads the sample alliance (recognition lists, demand signals, blacklist
//! entries and the talent register of seven cities) into a running node, each event
//! published as its own city.
//!
//! The samples are compiled in, so the command works from any directory; `--dir` reads
//! them from elsewhere. Publishing for several cities on one node needs a node started with
//! `--sandbox`. Loading twice changes nothing: every event id is already stored.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{print_json, Format, Table};
use crate::publish::{self, Summary, Tokens};

/// The sample files, in the order they are published.
pub const SAMPLES: [(&str, &str); 4] = [
    (
        "recognition.jsonl",
        include_str!("../../../config/samples/recognition.jsonl"),
    ),
    (
        "demand.jsonl",
        include_str!("../../../config/samples/demand.jsonl"),
    ),
    (
        "blacklist.jsonl",
        include_str!("../../../config/samples/blacklist.jsonl"),
    ),
    (
        "register.jsonl",
        include_str!("../../../config/samples/register.jsonl"),
    ),
];

/// The subject listed by two cities in the samples (Shanghai and Suzhou), who also holds
/// overlapping awards of Nanjing and Hangzhou.
pub const SAMPLE_SUBJECT: &str = "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549";

/// A subject white-listed by Shanghai whose Pujiang award runs to 2027-06-30.
pub const SAMPLE_AWARDEE: &str = "823625c15d14df161e9fd94afbde59a29c028b45beaa8ef68f3e123893a3f008";

/// `demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Read recognition.jsonl, demand.jsonl, blacklist.jsonl and register.jsonl from this
    /// directory instead of the built-in copies of config/samples.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Token each event is published with, `{member}` standing for its stream's owner.
    #[arg(long, default_value = "dev-member-{member}")]
    pub token_template: String,
    /// Events per append.
    #[arg(long, default_value_t = 500)]
    pub batch: u32,
}

/// Runs `demo`.
pub async fn run(endpoint: &str, token: &str, a: &DemoArgs, format: Format) -> Result<()> {
    let mut files = Vec::new();
    for (name, builtin) in SAMPLES {
        let (label, text) = match &a.dir {
            Some(dir) => {
                let path = dir.join(name);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
                (path.display().to_string(), text)
            }
            None => (name.to_owned(), builtin.to_owned()),
        };
        let batches = publish::parse(&label, &text, a.batch.clamp(1, 1000) as usize)?;
        files.push((label, batches));
    }
    let conn = Connection::open(endpoint, token).await?;
    let tokens = Tokens::Owner(a.token_template.clone());
    let mut total = Summary::default();
    let mut per_file = Vec::new();
    for (label, batches) in &files {
        let events: usize = batches.iter().map(|b| b.events.len()).sum();
        let summary = publish::send(&conn, batches, &tokens).await?;
        total.add(&summary);
        per_file.push((label.clone(), events, summary));
    }
    if format == Format::Json {
        let files: Vec<_> = per_file
            .iter()
            .map(|(label, events, s)| {
                let mut v = s.json();
                v["file"] = json!(label);
                v["events"] = json!(events);
                v
            })
            .collect();
        let mut out = total.json();
        out["files"] = json!(files);
        out["endpoint"] = json!(conn.endpoint);
        print_json(&out);
        return Ok(());
    }
    println!("loaded the sample alliance into {}", conn.endpoint);
    let mut t = Table::new(["FILE", "EVENTS", "APPENDED", "DUPLICATES"]);
    for (label, events, s) in &per_file {
        t.row(vec![
            label.clone(),
            events.to_string(),
            s.appended.to_string(),
            s.duplicates.to_string(),
        ]);
    }
    print!("{t}");
    println!("{}", total.line());
    println!();
    println!("try next (the samples' \"today\" is 2026-11-27):");
    let hub = if endpoint == crate::DEFAULT_ENDPOINT {
        "hubctl".to_owned()
    } else {
        format!("hubctl --endpoint {endpoint}")
    };
    for example in [
        "query matrix --on-date 2026-06-30".to_owned(),
        "query demand-summary --group-by industry --on-date 2026-11-27".to_owned(),
        format!("query check-subject --subject-ref {SAMPLE_SUBJECT} --on-date 2026-11-27"),
        format!(
            "screen --subject-ref {SAMPLE_AWARDEE} --category talent_programme --level municipal \
             --funded-from 2027-01-01 --funded-until 2029-12-31 --amount-cny 300000 \
             --on-date 2026-11-27"
        ),
        "register summary --on-date 2026-11-27".to_owned(),
        "tail --from 0 --count 5".to_owned(),
        "replay".to_owned(),
    ] {
        println!("  {hub} {example}");
    }
    Ok(())
}
