//! `hubctl replication`: the replication status, and an operator's repairs after a broker
//! fault (rewind the topic, re-publish the node's own events from its log).

use clap::Subcommand;
use hub_proto::pb;

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{print_json, Format};
use crate::query::{print_replication, replication_json, view_info};

/// `replication …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ReplicationCmd {
    /// Per origin and per partition: stored, seen, produced, lag; topic state; last repair.
    Status,
    /// Read the events topic again from the beginning (operators); stored events are
    /// dropped as duplicates.
    Rewind,
    /// Produce this node's own events and entry keys again from its log (operators).
    Republish,
}

/// Runs `action` and prints the replication status.
pub async fn run(conn: &Connection, action: &ReplicationCmd, format: Format) -> Result<()> {
    let info = match action {
        ReplicationCmd::Status => view_info(conn, 0).await?.replication,
        ReplicationCmd::Rewind => Some(repair(conn, pb::RepairAction::Rewind).await?),
        ReplicationCmd::Republish => Some(repair(conn, pb::RepairAction::Republish).await?),
    };
    match (info, format) {
        (None, Format::Json) => print_json(&serde_json::Value::Null),
        (None, Format::Text) => println!("replication  off (standalone node)"),
        (Some(r), Format::Json) => print_json(&replication_json(&r)),
        (Some(r), Format::Text) => print_replication(&r),
    }
    Ok(())
}

async fn repair(conn: &Connection, action: pb::RepairAction) -> Result<pb::ReplicationInfo> {
    conn.query()
        .repair_replication(pb::RepairReplicationRequest {
            action: action as i32,
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| CliError::status("replication repair", &s))
}
