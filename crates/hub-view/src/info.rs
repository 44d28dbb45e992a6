//! `ViewInfo`: where the view is, what it holds, and its digest.

use hub_proto::pb;

use crate::axes::Cut;
use crate::{Error, Result, View};

impl View {
    /// Answers `ViewInfo` as of `at_position` (0 = now): origin vector, digest and event
    /// counts are all exact for that position.
    pub fn info(&self, req: &pb::ViewInfoRequest) -> Result<pb::ViewInfoResponse> {
        let position = self.position();
        let at = match req.at_position {
            0 => position,
            p if p > position => {
                return Err(Error::NotYet {
                    requested: p,
                    position,
                })
            }
            p => p,
        };
        let cut = if req.at_position == 0 {
            Cut::Newest
        } else {
            Cut::At(at)
        };
        let digest = hex::encode(self.digest(cut));
        let inner = self.read();
        let upto = |positions: &Vec<u64>| positions.partition_point(|p| *p <= at) as u64;
        let origin_vector = inner
            .origin_positions
            .iter()
            .map(|(origin, positions)| pb::OriginHeadInfo {
                origin: origin.to_string(),
                origin_seq: upto(positions),
            })
            .filter(|o| o.origin_seq > 0)
            .collect();
        let counts: Vec<pb::KindCount> = inner
            .kind_positions
            .iter()
            .map(|(kind, positions)| pb::KindCount {
                kind: kind.as_str().to_owned(),
                count: upto(positions),
            })
            .filter(|c| c.count > 0)
            .collect();
        let skipped_unknown = counts
            .iter()
            .find(|c| c.kind == hub_types::EventKind::Unknown.as_str())
            .map_or(0, |c| c.count);
        // The vault only knows the present: its counts are the newest whatever `at` says.
        let (entry_keys_live, entry_keys_destroyed) = self.vault().map_or((0, 0), |v| v.counts());
        Ok(pb::ViewInfoResponse {
            position: at,
            origin_vector,
            digest,
            counts,
            skipped_unknown,
            ignored: upto(&inner.ignored_positions),
            snapshot_position: inner.snapshot_position,
            log_head: 0,
            replication: None,
            entry_keys_live,
            entry_keys_destroyed,
        })
    }
}
