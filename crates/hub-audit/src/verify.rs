//! Offline verification of a node's stored history.
//!
//! [`Verifier::verify`] replays the events of one node in log order and checks, in one pass:
//!
//! - positions are 1, 2, 3, … without gaps;
//! - per origin, `origin_seq` is 1, 2, 3, … and `prev_hash` is the
//!   [`record_hash`](hub_proto::record::record_hash) of the
//!   origin's previous event (32 zero bytes for its first);
//! - every non-empty `signature` is the origin's signature over its chain head (checked in
//!   batches), and each origin's last event is signed, so every event is vouched for;
//! - with a tree head, the Merkle root over the first `tree_size` leaves
//!   ([`record_leaf_hash`], the full stored record) equals the tree head's root.
//!
//! The answer names the first bad position. A `prev_hash` that does not link cannot say by
//! itself which side was altered, so the verifier looks at the next evidence (the later
//! event's signature, or the origin's following event) before naming one.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use hub_proto::pb::EventRecord;
use hub_proto::record::{encode_and_hash, OriginHead, ZERO_HASH};
use hub_types::OriginSeq;
use prost::Message;

use crate::merkle::{leaf_hash, CompactTree, Hash, EMPTY_ROOT};
use crate::sign::{
    chain_head_message, verify_chain_head, verify_chain_heads_batch, TreeHead, CHAIN_HEAD_DOMAIN,
    CHAIN_HEAD_LEN,
};
use crate::{Error, Result};

/// Signatures checked per ed25519 batch: large enough that batching pays off, small enough
/// that locating a bad one by re-checking the batch stays cheap.
const SIGNATURE_BATCH: usize = 256;

/// Merkle leaf hash of a stored record: [`leaf_hash`] of its full protobuf encoding,
/// signature included.
pub fn record_leaf_hash(record: &EventRecord) -> Hash {
    leaf_hash(&record.encode_to_vec())
}

/// Where one origin's chain ends in the verified history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainEnd {
    /// The origin's last sequence and its chain hash.
    pub head: OriginHead,
    /// The log position of that event.
    pub position: u64,
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Number of events verified.
    pub events: u64,
    /// Number of signatures verified.
    pub signatures: u64,
    /// Merkle root over all events verified.
    pub root: Hash,
    /// Chain head of every origin seen.
    pub origins: BTreeMap<String, ChainEnd>,
}

/// Checks a node's stored history against the member keys and, optionally, a tree head.
#[derive(Debug, Clone)]
pub struct Verifier<'a> {
    /// Member id → public key; an origin without a key fails verification.
    keys: &'a BTreeMap<String, VerifyingKey>,
    /// A tree head whose root the history must reproduce at its size.
    tree_head: Option<TreeHead>,
    /// Calls the progress callback after every this many events (0: only at the end).
    progress_every: u64,
}

impl<'a> Verifier<'a> {
    /// Creates a verifier trusting `keys` (member id → public key).
    pub fn new(keys: &'a BTreeMap<String, VerifyingKey>) -> Self {
        Self {
            keys,
            tree_head: None,
            progress_every: 10_000,
        }
    }

    /// Also checks that the first `head.tree_size` events have Merkle root `head.root`.
    ///
    /// Only the root is checked here: check the head's signature with
    /// [`SignedTreeHead::verify`](crate::SignedTreeHead::verify) first.
    pub fn with_tree_head(mut self, head: TreeHead) -> Self {
        self.tree_head = Some(head);
        self
    }

    /// Sets how often (in events) the progress callback is called; 0 calls it only at the end.
    pub fn progress_every(mut self, events: u64) -> Self {
        self.progress_every = events;
        self
    }

    /// Verifies `(position, record)` pairs in log order, calling `progress(done)` every
    /// `progress_every` events and once at the end; fails with [`Error::Problem`] naming
    /// the first bad position.
    pub fn verify<I, F>(&self, events: I, mut progress: F) -> Result<Report>
    where
        I: IntoIterator<Item = (u64, EventRecord)>,
        F: FnMut(u64),
    {
        let mut run = Run::new(self);
        let mut since_progress = 0;
        for (position, record) in events {
            if let Err(found) = run.step(position, record) {
                return Err(run.fail(found).into());
            }
            since_progress += 1;
            if since_progress == self.progress_every {
                progress(run.next - 1);
                since_progress = 0;
            }
        }
        if since_progress > 0 || run.next == 1 {
            progress(run.next - 1);
        }
        run.finish().map_err(Error::from)
    }
}

/// A problem found at a position; becomes [`Error::Problem`].
#[derive(Debug)]
struct Found {
    position: u64,
    what: String,
}

impl Found {
    fn new(position: u64, what: impl Into<String>) -> Self {
        Self {
            position,
            what: what.into(),
        }
    }
}

impl From<Found> for Error {
    fn from(found: Found) -> Self {
        Error::Problem {
            position: found.position,
            what: found.what,
        }
    }
}

/// Per-origin state while replaying.
#[derive(Debug)]
struct OriginState {
    /// The origin's member key.
    key: VerifyingKey,
    /// Last `origin_seq` seen (0 before the first event).
    seq: u64,
    /// Chain hash of the last event ([`ZERO_HASH`] before the first).
    hash: Hash,
    /// Position of the last event (0 before the first).
    position: u64,
    /// Last `origin_seq` that carried a signature.
    signed_seq: u64,
    /// Position of the first event after the last signed one: the start of an unsigned tail.
    unsigned_from: Option<u64>,
}

/// A `prev_hash` that does not link: either the earlier event's content or the later
/// event was altered, and the next evidence of the origin tells which.
#[derive(Debug)]
struct Mismatch {
    origin: String,
    earlier: u64,
    later: u64,
}

impl Mismatch {
    fn blame_earlier(&self) -> Found {
        Found::new(
            self.earlier,
            format!(
                "event does not hash to the prev_hash held by the next event of origin {} at position {}",
                self.origin, self.later
            ),
        )
    }

    fn blame_later(&self) -> Found {
        Found::new(
            self.later,
            format!(
                "prev_hash does not match the previous event of origin {} at position {}",
                self.origin, self.earlier
            ),
        )
    }
}

/// One pass of a [`Verifier`] over a history.
struct Run<'a> {
    keys: &'a BTreeMap<String, VerifyingKey>,
    tree_head: Option<&'a TreeHead>,
    /// The next position expected.
    next: u64,
    /// Merkle tree over the leaves seen.
    tree: CompactTree,
    origins: BTreeMap<String, OriginState>,
    /// Signatures waiting for the next batch check, with their positions alongside.
    batch: Vec<(VerifyingKey, [u8; CHAIN_HEAD_LEN], Signature)>,
    batch_positions: Vec<u64>,
    /// A link failure waiting for the evidence that tells which side to blame.
    mismatch: Option<Mismatch>,
    signatures: u64,
}

impl<'a> Run<'a> {
    fn new(verifier: &'a Verifier<'a>) -> Self {
        Self {
            keys: verifier.keys,
            tree_head: verifier.tree_head.as_ref(),
            next: 1,
            tree: CompactTree::new(),
            origins: BTreeMap::new(),
            batch: Vec::with_capacity(SIGNATURE_BATCH),
            batch_positions: Vec::with_capacity(SIGNATURE_BATCH),
            mismatch: None,
            signatures: 0,
        }
    }

    fn step(&mut self, position: u64, mut record: EventRecord) -> Result<(), Found> {
        if position != self.next {
            let next = self.next;
            return Err(if position > next {
                Found::new(next, format!("position {next} missing (found {position})"))
            } else {
                Found::new(
                    position,
                    format!("position {position} out of order (expected {next})"),
                )
            });
        }
        self.next += 1;
        // The chain hash without the signature, the leaf hash with it: one encoding each.
        let signature = std::mem::take(&mut record.signature);
        let (_, hash) = encode_and_hash(&record);
        record.signature = signature;
        self.tree.push(record_leaf_hash(&record));
        self.check_chain(position, &record, hash)?;
        if let Some(head) = self.tree_head {
            if self.tree.len() == head.tree_size {
                check_root(head, &self.tree.root())?;
            }
        }
        Ok(())
    }

    fn check_chain(
        &mut self,
        position: u64,
        record: &EventRecord,
        hash: Hash,
    ) -> Result<(), Found> {
        let origin = record.origin.as_str();
        if !self.origins.contains_key(origin) {
            let key = self.first_event_key(position, origin)?;
            self.origins.insert(
                origin.to_owned(),
                OriginState {
                    key,
                    seq: 0,
                    hash: ZERO_HASH,
                    position: 0,
                    signed_seq: 0,
                    unsigned_from: None,
                },
            );
        }
        let state = self
            .origins
            .get_mut(origin)
            .expect("invariant: inserted above");

        let expected = state.seq + 1;
        if record.origin_seq != expected {
            let seq = record.origin_seq;
            let what = if state.seq == 0 {
                format!("origin {origin} starts at seq {seq} (expected 1)")
            } else {
                format!(
                    "origin {origin} seq {seq} follows seq {} (expected {expected})",
                    state.seq
                )
            };
            return Err(Found::new(position, what));
        }

        let links = record.prev_hash.as_slice() == state.hash.as_slice();
        if let Some(mismatch) = self.mismatch.take_if(|m| m.origin == origin) {
            // This event follows the later side of the broken link: if it links to it,
            // the later event is intact and the earlier one was altered.
            return Err(if links {
                mismatch.blame_earlier()
            } else {
                mismatch.blame_later()
            });
        }
        if !links {
            if state.seq == 0 {
                return Err(Found::new(
                    position,
                    format!("prev_hash of the first event of origin {origin} is not zero"),
                ));
            }
            let mismatch = Mismatch {
                origin: origin.to_owned(),
                earlier: state.position,
                later: position,
            };
            if !record.signature.is_empty() {
                // A valid signature vouches for this event's prev_hash, so the earlier
                // event is the altered one.
                return Err(
                    match verify_chain_head(
                        &state.key,
                        origin,
                        record.origin_seq,
                        &hash,
                        &record.signature,
                    ) {
                        Ok(()) => mismatch.blame_earlier(),
                        Err(_) => mismatch.blame_later(),
                    },
                );
            }
            if self.mismatch.is_some() {
                // Another origin's broken link came first; it is the answer.
                return Err(mismatch.blame_later());
            }
            self.mismatch = Some(mismatch);
        }

        state.seq = record.origin_seq;
        state.hash = hash;
        state.position = position;
        if record.signature.is_empty() {
            state.unsigned_from.get_or_insert(position);
            return Ok(());
        }
        let signature = Signature::from_slice(&record.signature).map_err(|_| {
            Found::new(
                position,
                format!(
                    "signature is {} bytes (expected 64)",
                    record.signature.len()
                ),
            )
        })?;
        let message = chain_head_message(origin, record.origin_seq, &hash)
            .map_err(|e| Found::new(position, e.to_string()))?;
        state.signed_seq = record.origin_seq;
        state.unsigned_from = None;
        self.batch.push((state.key, message, signature));
        self.batch_positions.push(position);
        self.signatures += 1;
        if self.batch.len() >= SIGNATURE_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// The key of an origin seen for the first time.
    fn first_event_key(&self, position: u64, origin: &str) -> Result<VerifyingKey, Found> {
        if origin.len() != 6 || !origin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Found::new(
                position,
                format!(
                    "origin {} is not a six-digit member id",
                    hub_types::Quoted(origin)
                ),
            ));
        }
        self.keys
            .get(origin)
            .copied()
            .ok_or_else(|| Found::new(position, format!("origin {origin} has no public key")))
    }

    /// Checks the pending signatures.
    fn flush(&mut self) -> Result<(), Found> {
        let result = verify_chain_heads_batch(&self.batch);
        let found = result.err().map(|err| {
            let index = match err {
                Error::BatchSignature { index } => index,
                _ => 0,
            };
            let message = &self.batch[index].1;
            let origin = String::from_utf8_lossy(&message[CHAIN_HEAD_DOMAIN.len()..][..6]);
            Found::new(
                self.batch_positions[index],
                format!("signature does not verify with the key of origin {origin}"),
            )
        });
        self.batch.clear();
        self.batch_positions.clear();
        found.map_or(Ok(()), Err)
    }

    /// The earliest problem, given that `found` was just found: a pending link failure or
    /// a pending bad signature may sit at an earlier position.
    fn fail(&mut self, found: Found) -> Found {
        let mut best = found;
        if let Some(mismatch) = self.mismatch.take() {
            let earlier = mismatch.blame_earlier();
            if earlier.position < best.position {
                best = earlier;
            }
        }
        if let Err(bad) = self.flush() {
            if bad.position <= best.position {
                best = bad;
            }
        }
        best
    }

    fn finish(mut self) -> Result<Report, Found> {
        if let Err(found) = self.flush() {
            return Err(self.fail(found));
        }
        if let Some(mismatch) = self.mismatch.take() {
            return Err(mismatch.blame_earlier());
        }
        let events = self.next - 1;
        if let Some(head) = self.tree_head {
            if head.tree_size == 0 {
                check_root(head, &EMPTY_ROOT)?;
            }
            if head.tree_size > events {
                let missing = events + 1;
                return Err(Found::new(
                    missing,
                    format!(
                        "position {missing} missing: the tree head covers {} events",
                        head.tree_size
                    ),
                ));
            }
        }
        let unsigned = self
            .origins
            .iter()
            .filter_map(|(origin, state)| {
                state.unsigned_from.map(|p| (p, origin, state.signed_seq))
            })
            .min();
        if let Some((position, origin, signed_seq)) = unsigned {
            return Err(Found::new(
                position,
                format!("origin {origin} events after seq {signed_seq} are not signed"),
            ));
        }
        Ok(Report {
            events,
            signatures: self.signatures,
            root: self.tree.root(),
            origins: self
                .origins
                .into_iter()
                .filter_map(|(origin, s)| {
                    let end = ChainEnd {
                        head: OriginHead {
                            seq: OriginSeq::new(s.seq).ok()?,
                            hash: s.hash,
                        },
                        position: s.position,
                    };
                    Some((origin, end))
                })
                .collect(),
        })
    }
}

fn check_root(head: &TreeHead, root: &Hash) -> Result<(), Found> {
    if *root == head.root {
        return Ok(());
    }
    Err(Found::new(
        head.tree_size,
        format!(
            "root mismatch at size {}: the events hash to {}, the tree head says {}",
            head.tree_size,
            hex::encode(root),
            hex::encode(head.root)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_hash_covers_the_signature_and_the_chain_hash_does_not() {
        let mut record = EventRecord {
            event_id: "e1".to_owned(),
            origin: "330400".to_owned(),
            origin_seq: 1,
            stream: "demand/330400/s1".to_owned(),
            stream_version: 1,
            recorded_at: None,
            body: vec![1, 2, 3],
            prev_hash: ZERO_HASH.to_vec(),
            signature: Vec::new(),
        };
        let unsigned_hash = hub_proto::record::record_hash(&record);
        let unsigned_leaf = record_leaf_hash(&record);
        record.signature = vec![9; 64];
        assert_eq!(hub_proto::record::record_hash(&record), unsigned_hash);
        assert_ne!(record_leaf_hash(&record), unsigned_leaf);
        assert_eq!(
            record_leaf_hash(&record),
            leaf_hash(&record.encode_to_vec())
        );
    }

    #[test]
    fn a_bad_origin_is_quoted_short() {
        let keys = BTreeMap::new();
        let record = EventRecord {
            origin: "3".repeat(200),
            origin_seq: 1,
            ..Default::default()
        };
        let err = Verifier::new(&keys)
            .verify([(1, record)], |_| {})
            .expect_err("a bad origin")
            .to_string();
        assert!(
            err.contains("(200 characters) is not a six-digit member id"),
            "{err}"
        );
        assert!(err.len() < 200, "{err}");
    }
}
