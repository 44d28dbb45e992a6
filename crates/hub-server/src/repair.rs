//! `RepairReplication`: an operator's rewind or re-publication, after a broker fault the
//! node could not see by itself.

use hub_proto::pb;

use crate::error::Refusal;
use crate::hub::Hub;

/// Carries out `action` (a `pb::RepairAction`) on `hub`'s replication and answers its
/// status; `FAILED_PRECONDITION` on a standalone node.
pub fn repair(hub: &Hub, action: i32) -> Result<pb::ReplicationInfo, Refusal> {
    let action = pb::RepairAction::try_from(action).map_err(|_| Refusal::BadField {
        field: "action",
        problem: format!("unknown repair action {action}"),
    })?;
    let done = match action {
        pb::RepairAction::Unspecified => {
            return Err(Refusal::BadField {
                field: "action",
                problem: "expected rewind or republish".into(),
            })
        }
        pb::RepairAction::Rewind => hub.with_replication(hub_replication::Replication::rewind),
        pb::RepairAction::Republish => {
            hub.with_replication(hub_replication::Replication::republish)
        }
    };
    if done.is_none() {
        return Err(Refusal::NotReplicating);
    }
    hub.replication_status()
        .map(crate::query::replication_info)
        .ok_or(Refusal::ReplicationStopped)
}
