//! `talenthub.v1.Audit`: the node's Merkle tree over its log (RFC 6962 / RFC 9162
//! hashing; leaf `i` is the stored record at position `i + 1`), signed tree heads,
//! inclusion and consistency proofs, range verification and the access trail.

use std::sync::Arc;

use hub_audit::{Ledger, TreeHead};
use hub_log::Log;
use hub_proto::budget::fit;
use hub_proto::pb;
use hub_proto::pb::audit_server::Audit;
use hub_types::Position;
use tonic::{Request, Response, Status};

use crate::auth::Action;
use crate::error::Refusal;
use crate::hub::Hub;
use crate::status::from_log;

/// Keeps `ledger` in step with `log` until the log closes.
pub async fn follow(ledger: Arc<Ledger>, log: Log) {
    let mut head = log.watch();
    loop {
        let (l, g) = (log.clone(), ledger.clone());
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || catch_up(&g, &l)).await {
            tracing::error!(error = %e, "the audit tree could not read the log");
        }
        if log.is_closed() || head.changed().await.is_err() || log.is_closed() {
            return;
        }
    }
}

/// Adds every stored record `ledger` does not hold yet; answers its size.
pub fn catch_up(ledger: &Ledger, log: &Log) -> hub_log::Result<u64> {
    ledger.catch_up(|from, limit| {
        Ok(log
            .read_all(Position::at_least_first(from), limit)?
            .into_iter()
            .map(|e| (e.position.get(), e.record))
            .collect())
    })
}

/// The Audit service.
#[derive(Debug, Clone)]
pub struct AuditService {
    hub: Arc<Hub>,
}

impl AuditService {
    /// Serves audit questions on `hub`.
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }

    fn allow<T>(&self, request: &Request<T>) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        let (caller, _) = self.hub.auth().authorize(request, Action::Audit)?;
        Ok(self.hub.admit(caller.member)?)
    }

    /// The tree size a request names in its `field` (0 = current), after catching up with
    /// the log. The catch-up runs on the blocking pool: after a start the tree is rebuilt
    /// from the whole log, and that must not hold up the requests sharing this worker.
    async fn size(&self, requested: u64, field: &'static str) -> Result<u64, Status> {
        let (ledger, log) = (self.hub.ledger().clone(), self.hub.log().clone());
        let len = tokio::task::spawn_blocking(move || catch_up(&ledger, &log))
            .await
            .map_err(|e| Refusal::TaskFailed(e.to_string()))?
            .map_err(from_log)?;
        match requested {
            0 => Ok(len),
            n if n > len => Err(Refusal::BeyondLog {
                field,
                requested: n,
                len,
            }
            .into()),
            n => Ok(n),
        }
    }

    /// A signed tree head of `size` leaves.
    pub fn tree_head(&self, size: u64) -> Result<pb::SignedTreeHead, Status> {
        let root = self
            .hub
            .ledger()
            .with_tree(|t| t.root(size))
            .map_err(Refusal::TreeBehind)?;
        let keys = self.hub.audit_keys();
        let head = TreeHead {
            tree_size: size,
            root,
            timestamp_micros: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
            node: keys.node.clone(),
        };
        let signature = hub_audit::sign_tree_head(&keys.node_key, &head);
        Ok(pb::SignedTreeHead {
            tree_size: size,
            root_hash: root.to_vec(),
            timestamp_micros: head.timestamp_micros,
            node: head.node,
            signature: signature.to_vec(),
            public_key: hub_audit::public_key_hex(&keys.node_key.verifying_key()),
        })
    }
}

#[tonic::async_trait]
impl Audit for AuditService {
    async fn get_tree_head(
        &self,
        request: Request<pb::GetTreeHeadRequest>,
    ) -> Result<Response<pb::SignedTreeHead>, Status> {
        let _permit = self.allow(&request)?;
        let size = self.size(request.get_ref().tree_size, "tree_size").await?;
        self.tree_head(size).map(Response::new)
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let _permit = self.allow(&request)?;
        let req = request.get_ref();
        let size = self.size(req.tree_size, "tree_size").await?;
        if req.position == 0 || req.position > size {
            return Err(Refusal::BadField {
                field: "position",
                problem: format!("expected 1..={size}, got {}", req.position),
            }
            .into());
        }
        let path = self
            .hub
            .ledger()
            .with_tree(|t| t.inclusion_proof(req.position - 1, size))
            .map_err(|source| Refusal::Unprovable {
                field: "position",
                source,
            })?;
        let stored = self
            .hub
            .log()
            .get(Position::at_least_first(req.position))
            .map_err(from_log)?
            .ok_or(Refusal::NoSuchPosition(req.position))?;
        Ok(Response::new(pb::InclusionProof {
            position: req.position,
            tree_size: size,
            path: path.iter().map(|h| h.to_vec()).collect(),
            leaf_hash: hub_audit::record_leaf_hash(&stored.record).to_vec(),
            record: Some(stored.record),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let _permit = self.allow(&request)?;
        let req = request.get_ref();
        let new = self.size(req.new_size, "new_size").await?;
        if req.old_size > new {
            return Err(Refusal::BadField {
                field: "old_size",
                problem: format!("{} is larger than new_size {new}", req.old_size),
            }
            .into());
        }
        let path = self
            .hub
            .ledger()
            .with_tree(|t| t.consistency_proof(req.old_size, new))
            .map_err(|source| Refusal::Unprovable {
                field: "old_size",
                source,
            })?;
        Ok(Response::new(pb::ConsistencyProof {
            old_size: req.old_size,
            new_size: new,
            path: path.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn verify_range(
        &self,
        request: Request<pb::VerifyRangeRequest>,
    ) -> Result<Response<pb::VerifyRangeResponse>, Status> {
        let _permit = self.allow(&request)?;
        let size = self
            .size(request.get_ref().to_position, "to_position")
            .await?;
        let root = self
            .hub
            .ledger()
            .with_tree(|t| t.root(size))
            .map_err(Refusal::TreeBehind)?;
        let hub = self.hub.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let head = TreeHead {
                tree_size: size,
                root,
                timestamp_micros: 0,
                node: String::new(),
            };
            let verifier = hub_audit::Verifier::new(&hub.audit_keys().roster).with_tree_head(head);
            let records = LogRecords {
                log: hub.log(),
                next: 1,
                end: size,
                buffer: Vec::new().into_iter(),
            };
            verifier.verify(records, |_| {})
        })
        .await
        .map_err(|e| Refusal::TaskFailed(e.to_string()))?;
        Ok(Response::new(match outcome {
            Ok(report) => pb::VerifyRangeResponse {
                ok: true,
                verified: report.events,
                bad_position: 0,
                problem: String::new(),
            },
            Err(hub_audit::Error::Problem { position, what }) => pb::VerifyRangeResponse {
                ok: false,
                verified: position.saturating_sub(1),
                bad_position: position,
                problem: what,
            },
            Err(e) => pb::VerifyRangeResponse {
                ok: false,
                verified: 0,
                bad_position: 0,
                problem: e.to_string(),
            },
        }))
    }

    async fn list_access(
        &self,
        request: Request<pb::ListAccessRequest>,
    ) -> Result<Response<pb::ListAccessResponse>, Status> {
        let _permit = self.allow(&request)?;
        let req = request.get_ref();
        let limit = match req.limit {
            0 => 1000,
            n => (n as usize).min(5000),
        };
        let (mut entries, total) = self
            .hub
            .access()
            .list(req.from_seq, limit)
            .map_err(from_log)?;
        fit(&mut entries, self.hub.view().config().page_bytes);
        Ok(Response::new(pb::ListAccessResponse { entries, total }))
    }

    async fn read_records(
        &self,
        request: Request<pb::ReadRecordsRequest>,
    ) -> Result<Response<pb::ReadRecordsResponse>, Status> {
        let _permit = self.allow(&request)?;
        let req = request.get_ref();
        let limit = match req.limit {
            0 => 1000,
            n if n > 5000 => {
                return Err(Refusal::BadField {
                    field: "limit",
                    problem: format!("expected at most 5000, got {n}"),
                }
                .into())
            }
            n => n as usize,
        };
        let from = Position::at_least_first(req.from_position);
        let events = self.hub.log().read_all(from, limit).map_err(from_log)?;
        let first_position = events.first().map_or(0, |e| e.position.get());
        let mut records: Vec<pb::EventRecord> = events.into_iter().map(|e| e.record).collect();
        fit(&mut records, self.hub.view().config().page_bytes);
        Ok(Response::new(pb::ReadRecordsResponse {
            first_position,
            records,
            head_position: self.hub.log().head(),
        }))
    }
}

/// Stored records `next..=end` in order, read in steps.
/// Records read at a time while a range is verified.
const STEP: usize = 4096;

struct LogRecords<'a> {
    log: &'a Log,
    next: u64,
    end: u64,
    buffer: std::vec::IntoIter<hub_log::StoredEvent>,
}

impl Iterator for LogRecords<'_> {
    type Item = (u64, pb::EventRecord);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.buffer.next() {
            return Some((e.position.get(), e.record));
        }
        if self.next > self.end {
            return None;
        }
        let want = (self.end - self.next + 1).min(STEP as u64) as usize;
        let events = self
            .log
            .read_all(Position::at_least_first(self.next), want)
            .ok()?;
        self.next += events.len() as u64;
        if events.is_empty() {
            return None;
        }
        self.buffer = events.into_iter();
        self.buffer.next().map(|e| (e.position.get(), e.record))
    }
}
