//! `ViewInfo`: where the view is, what it holds, and its digest.

use std::time::Duration;

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
                    field: "at_position",
                    requested: p,
                    position,
                })
            }
            p => p,
        };
        // Now means the position the digest is of: the view may move on meanwhile.
        let (at, digest) = match req.at_position {
            0 => self.newest_digest(None),
            _ => (at, self.digest(Cut::At(at))),
        };
        Ok(self.describe(at, hex::encode(digest)))
    }

    /// Like [`View::info`] for now, with the digest of [`View::recent_digest`]: up to
    /// `max_age` old while the view keeps moving. Returns the position the digest is of
    /// beside the answer, whose other figures are of the newest position.
    pub fn info_with_recent_digest(&self, max_age: Duration) -> (pb::ViewInfoResponse, u64) {
        let (digest_position, digest) = self.recent_digest(max_age);
        let info = self.describe(self.position(), hex::encode(digest));
        (info, digest_position)
    }

    /// Like [`View::info`] for now, without the digest (left empty): for a display that
    /// keeps a digest of its own rather than wait for one.
    pub fn info_without_digest(&self) -> pb::ViewInfoResponse {
        self.describe(self.position(), String::new())
    }

    /// The answer for position `at` (at most the view's), with `digest` given.
    fn describe(&self, at: u64, digest: String) -> pb::ViewInfoResponse {
        let inner = self.read();
        let at = at.min(inner.position());
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
        pb::ViewInfoResponse {
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
        }
    }
}
