//! The Merkle tree over a node's log, kept in step with it: the node's tree heads and
//! proofs are answered from it. It reads the log through a function it is given, so the
//! crate stays free of storage.

use std::sync::RwLock;

use hub_proto::pb::EventRecord;

use crate::merkle::MerkleTree;
use crate::verify::record_leaf_hash;

/// The tree over a log, following it.
#[derive(Debug, Default)]
pub struct Ledger {
    tree: RwLock<MerkleTree>,
}

impl Ledger {
    /// Adds every record the tree does not hold yet. `read(from, limit)` gives up to
    /// `limit` records of the log from position `from` on, with their positions, and
    /// none past the log's end.
    pub fn catch_up<E>(
        &self,
        mut read: impl FnMut(u64, usize) -> Result<Vec<(u64, EventRecord)>, E>,
    ) -> Result<u64, E> {
        /// Records read per step.
        const STEP: usize = 4096;
        loop {
            let records = read(self.len() + 1, STEP)?;
            if records.is_empty() {
                return Ok(self.len());
            }
            let mut tree = self.tree.write().unwrap_or_else(|e| e.into_inner());
            for (position, record) in records {
                // Positions are gap-free; another catch-up may have run meanwhile.
                if position == tree.len() + 1 {
                    tree.push(record_leaf_hash(&record));
                }
            }
        }
    }

    /// Leaves in the tree.
    pub fn len(&self) -> u64 {
        self.tree.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers `f` from the tree as it is now.
    pub fn with_tree<T>(&self, f: impl FnOnce(&MerkleTree) -> T) -> T {
        f(&self.tree.read().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64) -> EventRecord {
        EventRecord {
            origin_seq: n,
            ..Default::default()
        }
    }

    #[test]
    fn catching_up_adds_each_record_once_in_steps() {
        let log: Vec<EventRecord> = (1..=10_000).map(record).collect();
        let ledger = Ledger::default();
        let mut reads = 0;
        let read = |from: u64, limit: usize| -> Result<_, ()> {
            reads += 1;
            Ok(log
                .iter()
                .enumerate()
                .skip(from as usize - 1)
                .take(limit)
                .map(|(i, r)| (i as u64 + 1, r.clone()))
                .collect())
        };
        assert_eq!(ledger.catch_up(read), Ok(10_000));
        assert_eq!(reads, 4, "three full steps and the empty read that ends it");
        let mut expected = MerkleTree::default();
        for r in &log {
            expected.push(record_leaf_hash(r));
        }
        let root = |t: &MerkleTree| t.root(10_000).expect("root");
        assert_eq!(ledger.with_tree(root), root(&expected));
        assert_eq!(ledger.catch_up(|_, _| Ok::<_, ()>(Vec::new())), Ok(10_000));
    }

    #[test]
    fn a_read_error_is_handed_back() {
        let ledger = Ledger::default();
        assert_eq!(ledger.catch_up(|_, _| Err("disk")), Err("disk"));
        assert!(ledger.is_empty());
    }
}
