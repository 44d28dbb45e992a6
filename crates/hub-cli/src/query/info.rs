//! `hubctl info` (= `hubctl query info`): the view's position, origin vector, digest and
//! counts.

use clap::Args;
use hub_proto::pb;
use serde_json::{json, Value};

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{print_json, Format, Table};

/// `info`. ViewInfo has only the record-time axis, as a position (no date, no instant).
#[derive(Debug, Clone, Default, Args)]
pub struct InfoArgs {
    /// Describe the view as of this log position; default the newest.
    #[arg(long, value_name = "N")]
    pub at_position: Option<u64>,
}

/// Asks ViewInfo at `at_position` (0 = now).
pub async fn view_info(conn: &Connection, at_position: u64) -> Result<pb::ViewInfoResponse> {
    conn.query()
        .view_info(pb::ViewInfoRequest { at_position })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| CliError::status("query info", &s))
}

/// The answer as JSON.
pub fn info_json(info: &pb::ViewInfoResponse) -> Value {
    let origins: serde_json::Map<String, Value> = info
        .origin_vector
        .iter()
        .map(|o| (o.origin.clone(), Value::from(o.origin_seq)))
        .collect();
    let counts: serde_json::Map<String, Value> = info
        .counts
        .iter()
        .map(|c| (c.kind.clone(), Value::from(c.count)))
        .collect();
    json!({
        "position": info.position,
        "log_head": info.log_head,
        "digest": info.digest,
        "origin_vector": origins,
        "counts": counts,
        "skipped_unknown": info.skipped_unknown,
        "ignored": info.ignored,
        "snapshot_position": info.snapshot_position,
        "entry_keys_live": info.entry_keys_live,
        "entry_keys_destroyed": info.entry_keys_destroyed,
        "replication": info.replication.as_ref().map(replication_json),
    })
}

/// The replication status as JSON.
pub fn replication_json(r: &pb::ReplicationInfo) -> Value {
    json!({
        "quarantined": r.quarantined,
        "quarantine_dropped": r.quarantine_dropped,
        "consumer_lag": r.consumer_lag,
        "last_quarantine": r.last_quarantine,
        "keys_rejected": r.keys_rejected,
        "last_key_rejection": r.last_key_rejection,
        "topic_state": r.topic_state,
        "rewinds": r.rewinds,
        "republishes": r.republishes,
        "last_healing": r.last_healing,
        "origins": r.origins.iter().map(|o| json!({
            "origin": o.origin,
            "local_seq": o.local_seq,
            "seen_seq": o.seen_seq,
            "produced_seq": o.produced_seq,
        })).collect::<Vec<_>>(),
        "partitions": r.partitions.iter().map(|p| json!({
            "partition": p.partition,
            "next_offset": p.next_offset,
            "high_watermark": p.high_watermark,
            "lag": p.lag,
        })).collect::<Vec<_>>(),
    })
}

/// Prints the replication status as text.
pub fn print_replication(r: &pb::ReplicationInfo) {
    let unknown = |n: i64| match n {
        n if n < 0 => "unknown".to_owned(),
        n => n.to_string(),
    };
    println!(
        "replication  {} quarantined, consumer lag {}, topic {}",
        r.quarantined,
        unknown(r.consumer_lag),
        if r.topic_state.is_empty() {
            "unknown"
        } else {
            &r.topic_state
        }
    );
    if !r.last_quarantine.is_empty() {
        println!("last quarantined: {}", r.last_quarantine);
    }
    if r.quarantine_dropped > 0 {
        println!(
            "not quarantined, the quarantine being full: {}",
            r.quarantine_dropped
        );
    }
    if r.keys_rejected > 0 {
        println!(
            "entry keys refused: {} (last: {})",
            r.keys_rejected, r.last_key_rejection
        );
    }
    if r.rewinds > 0 || r.republishes > 0 {
        println!(
            "healing: {} rewinds, {} re-publications (last: {})",
            r.rewinds, r.republishes, r.last_healing
        );
    }
    let mut table = Table::new(["ORIGIN", "LOCAL", "SEEN ON TOPIC", "PRODUCED"]);
    for o in &r.origins {
        table.row(vec![
            o.origin.clone(),
            o.local_seq.to_string(),
            o.seen_seq.to_string(),
            o.produced_seq.to_string(),
        ]);
    }
    print!("{table}");
    if !r.partitions.is_empty() {
        let mut table = Table::new(["PARTITION", "NEXT OFFSET", "HIGH WATERMARK", "LAG"]);
        for p in &r.partitions {
            table.row(vec![
                p.partition.to_string(),
                p.next_offset.to_string(),
                unknown(p.high_watermark),
                unknown(p.lag),
            ]);
        }
        println!();
        print!("{table}");
    }
}

/// Asks ViewInfo and prints it.
pub async fn info(conn: &Connection, a: &InfoArgs, format: Format) -> Result<()> {
    let info = view_info(conn, a.at_position.unwrap_or(0)).await?;
    if format == Format::Json {
        print_json(&info_json(&info));
        return Ok(());
    }
    let total: u64 = info.counts.iter().map(|c| c.count).sum();
    let snapshot = match info.snapshot_position {
        0 => "none".to_owned(),
        p => format!("at position {p}"),
    };
    let mut fields = Table::fields();
    fields.field("position", info.position);
    fields.field("log head", info.log_head);
    fields.field("digest", &info.digest);
    fields.field(
        "events",
        format!(
            "{total} ({} ignored, {} of unknown kinds)",
            info.ignored, info.skipped_unknown
        ),
    );
    fields.field("snapshot", snapshot);
    fields.field(
        "entry keys",
        format!(
            "{} live, {} destroyed by erasure",
            info.entry_keys_live, info.entry_keys_destroyed
        ),
    );
    print!("{fields}");
    let mut origins = Table::new(["ORIGIN", "SEQ"]);
    for o in &info.origin_vector {
        origins.row(vec![o.origin.clone(), o.origin_seq.to_string()]);
    }
    let mut counts = Table::new(["KIND", "COUNT"]);
    for c in &info.counts {
        counts.row(vec![c.kind.clone(), c.count.to_string()]);
    }
    println!();
    print!("{origins}");
    println!();
    print!("{counts}");
    match &info.replication {
        None => println!("\nreplication  off (standalone node)"),
        Some(r) => {
            println!();
            print_replication(r);
        }
    }
    Ok(())
}
