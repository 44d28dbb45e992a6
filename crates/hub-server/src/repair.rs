//! `RepairReplication`: an operator's rewind or re-publication, after a broker fault the
//! node could not see by itself.

use hub_proto::pb;
use tonic::Status;

use crate::hub::Hub;

/// Carries out `action` (a `pb::RepairAction`) on `hub`'s replication and answers its
/// status; `FAILED_PRECONDITION` on a standalone node.
pub fn repair(hub: &Hub, action: i32) -> Result<pb::ReplicationInfo, Status> {
    let action = pb::RepairAction::try_from(action)
        .map_err(|_| Status::invalid_argument(format!("action: unknown repair action {action}")))?;
    let done = match action {
        pb::RepairAction::Unspecified => {
            return Err(Status::invalid_argument(
                "action: expected rewind or republish",
            ))
        }
        pb::RepairAction::Rewind => hub.with_replication(hub_replication::Replication::rewind),
        pb::RepairAction::Republish => {
            hub.with_replication(hub_replication::Replication::republish)
        }
    };
    if done.is_none() {
        return Err(Status::failed_precondition(
            "this node does not replicate (no [kafka] section)",
        ));
    }
    hub.replication_status()
        .map(crate::query::replication_info)
        .ok_or_else(|| Status::failed_precondition("replication stopped"))
}
