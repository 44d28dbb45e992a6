//! `RepairReplication`: an operator's rewind or re-publication, after a broker fault the
//! node could not see by itself; and the replication status as the API shows it.

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
        .map(replication_info)
        .ok_or(Refusal::ReplicationStopped)
}

/// The replication status as the API shows it.
pub(crate) fn replication_info(status: hub_replication::Status) -> pb::ReplicationInfo {
    pb::ReplicationInfo {
        origins: status
            .origins
            .into_iter()
            .map(|(origin, o)| pb::OriginReplication {
                origin: origin.to_string(),
                local_seq: o.local_seq,
                seen_seq: o.seen_seq,
                produced_seq: o.produced_seq,
            })
            .collect(),
        quarantined: status.quarantined,
        quarantine_dropped: status.quarantine_dropped,
        consumer_lag: status.consumer_lag,
        last_quarantine: status.last_quarantine.unwrap_or_default(),
        keys_rejected: status.keys_rejected,
        last_key_rejection: status.last_key_rejection.unwrap_or_default(),
        partitions: status
            .partitions
            .into_iter()
            .map(|(partition, p)| pb::PartitionReplication {
                partition,
                next_offset: p.next_offset,
                high_watermark: p.high_watermark,
                lag: p.lag,
            })
            .collect(),
        rewinds: status.rewinds,
        republishes: status.republishes,
        last_healing: status.last_healing.unwrap_or_default(),
        topic_state: status.topic_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_shows_every_counter_of_the_quarantine() {
        let info = replication_info(hub_replication::Status {
            quarantined: 10_000,
            quarantine_dropped: 7,
            last_quarantine: Some("gap after seq 4".into()),
            ..Default::default()
        });
        assert_eq!(info.quarantined, 10_000);
        assert_eq!(info.quarantine_dropped, 7);
        assert_eq!(info.last_quarantine, "gap after seq 4");
    }
}
