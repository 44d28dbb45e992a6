//! The Merkle tree over a node's log, kept in step with it: the node's tree heads and
//! proofs are answered from it. It reads the log through a function it is given, so the
//! crate stays free of storage. A node keeps the tree's leaves in a file as well
//! ([`crate::leaves`]), so that a start reads them rather than hashing its whole log.

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use hub_proto::pb::EventRecord;

use crate::leaves::LeafFile;
use crate::merkle::{Hash, MerkleTree};
use crate::verify::record_leaf_hash;

/// Records read per step.
const STEP: usize = 4096;
/// Leaves of a loaded file checked against the log besides the last one, spread evenly.
const CHECKED: u64 = 8;

/// The tree over a log, following it.
#[derive(Debug, Default)]
pub struct Ledger {
    tree: RwLock<MerkleTree>,
    /// The leaf file, when there is one; only locked while `tree` is locked for writing.
    leaves: Option<Mutex<Leaves>>,
}

/// Where the leaf file stands.
#[derive(Debug)]
enum Leaves {
    /// Not read yet: the first catch-up reads it.
    Unread(PathBuf),
    Open(LeafFile),
    /// It could not be opened; the tree is kept in memory only.
    Off,
}

impl Ledger {
    /// A tree that keeps its leaves in the file at `path` as well, and starts from the
    /// leaves the file holds at its first catch-up (see [`Ledger::catch_up`]).
    pub fn with_file(path: PathBuf) -> Self {
        Self {
            tree: RwLock::default(),
            leaves: Some(Mutex::new(Leaves::Unread(path))),
        }
    }

    /// Adds every record the tree does not hold yet. `read(from, limit)` gives up to
    /// `limit` records of the log from position `from` on, with their positions, and
    /// none past the log's end.
    ///
    /// With a leaf file, the first call takes the tree from the file: the leaves it holds
    /// are used if the log holds the same records at the last of them and at a few
    /// positions spread before it; otherwise the file is emptied and every leaf is
    /// hashed from the log again. The leaves added are appended to the file.
    pub fn catch_up<E>(
        &self,
        mut read: impl FnMut(u64, usize) -> Result<Vec<(u64, EventRecord)>, E>,
    ) -> Result<u64, E> {
        self.load(&mut read)?;
        loop {
            let records = read(self.len() + 1, STEP)?;
            if records.is_empty() {
                return Ok(self.len());
            }
            let mut tree = self.tree.write().unwrap_or_else(|e| e.into_inner());
            let held = tree.len();
            for (position, record) in records {
                // Positions are gap-free; another catch-up may have run meanwhile.
                if position == tree.len() + 1 {
                    tree.push(record_leaf_hash(&record));
                }
            }
            if let Some(Leaves::Open(file)) = self.leaves().as_deref_mut() {
                file.append(held, tree.leaves_from(held));
            }
        }
    }

    /// Takes the tree from the leaf file if it was not read yet.
    fn load<E>(
        &self,
        read: &mut impl FnMut(u64, usize) -> Result<Vec<(u64, EventRecord)>, E>,
    ) -> Result<(), E> {
        if !matches!(self.leaves().as_deref(), Some(Leaves::Unread(_))) {
            return Ok(());
        }
        let mut tree = self.tree.write().unwrap_or_else(|e| e.into_inner());
        let Some(mut leaves) = self.leaves() else {
            return Ok(());
        };
        let Leaves::Unread(path) = &*leaves else {
            return Ok(());
        };
        let (mut file, held) = match LeafFile::open(path) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot open the audit tree's leaf file; the tree is hashed from the log at each start");
                *leaves = Leaves::Off;
                return Ok(());
            }
        };
        let started = std::time::Instant::now();
        if let Some(position) = first_unlike(&held, read)? {
            tracing::warn!(
                file = %file.path().display(),
                position,
                "the audit tree's leaf file does not match the log; every leaf is hashed from the log again"
            );
            file.truncate(0);
        } else if tree.is_empty() && !held.is_empty() {
            let count = held.len();
            *tree = MerkleTree::from_leaves(held);
            tracing::info!(
                leaves = count,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "audit tree read from its leaf file"
            );
        }
        // The file follows the tree from here on (the tree is empty unless it was read).
        file.truncate(tree.len());
        *leaves = Leaves::Open(file);
        Ok(())
    }

    /// Makes the leaf file's leaves durable (as a node stops), so that the next start
    /// hashes none of them again after a power loss.
    pub fn sync(&self) {
        if let Some(Leaves::Open(file)) = self.leaves().as_deref_mut() {
            file.sync();
        }
    }

    fn leaves(&self) -> Option<std::sync::MutexGuard<'_, Leaves>> {
        let leaves = self.leaves.as_ref()?;
        Some(leaves.lock().unwrap_or_else(|e| e.into_inner()))
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

/// The first position, among the last of `leaves` and [`CHECKED`] spread before it, where
/// the log holds no record or one whose leaf hash is not the one in `leaves`.
fn first_unlike<E>(
    leaves: &[Hash],
    read: &mut impl FnMut(u64, usize) -> Result<Vec<(u64, EventRecord)>, E>,
) -> Result<Option<u64>, E> {
    let len = leaves.len() as u64;
    // The last first: a log that lost its end, or another log, most likely differs there.
    let mut positions = vec![len];
    positions.extend((0..CHECKED).map(|i| 1 + i * len / CHECKED));
    positions.dedup();
    for position in positions.into_iter().filter(|p| (1..=len).contains(p)) {
        let records = read(position, 1)?;
        let same = match records.first() {
            Some((at, record)) if *at == position => {
                record_leaf_hash(record) == leaves[position as usize - 1]
            }
            _ => false,
        };
        if !same {
            return Ok(Some(position));
        }
    }
    Ok(None)
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

    /// A log of `records`: a read function that counts the records it hands out.
    fn reader<'a>(
        log: &'a [EventRecord],
        handed: &'a mut u64,
    ) -> impl FnMut(u64, usize) -> Result<Vec<(u64, EventRecord)>, ()> + 'a {
        move |from, limit| {
            let read: Vec<_> = log
                .iter()
                .enumerate()
                .skip(from as usize - 1)
                .take(limit)
                .map(|(i, r)| (i as u64 + 1, r.clone()))
                .collect();
            *handed += read.len() as u64;
            Ok(read)
        }
    }

    fn root_of(log: &[EventRecord]) -> Hash {
        MerkleTree::from_leaf_hashes(log.iter().map(record_leaf_hash)).current_root()
    }

    fn caught_up(path: &std::path::Path, log: &[EventRecord]) -> (Hash, u64) {
        let ledger = Ledger::with_file(path.to_path_buf());
        let mut handed = 0;
        assert_eq!(
            ledger.catch_up(reader(log, &mut handed)),
            Ok(log.len() as u64)
        );
        (ledger.with_tree(MerkleTree::current_root), handed)
    }

    #[test]
    fn a_ledger_with_a_leaf_file_starts_from_its_leaves_and_hashes_only_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit/leaves");
        let log: Vec<EventRecord> = (1..=10_000).map(record).collect();
        assert_eq!(
            caught_up(&path, &log[..6_000]),
            (root_of(&log[..6_000]), 6_000)
        );
        // Nine records checked, and the 4 000 the file lacks.
        assert_eq!(caught_up(&path, &log), (root_of(&log), 4_009));
        assert_eq!(caught_up(&path, &log), (root_of(&log), 9));
    }

    #[test]
    fn a_leaf_file_that_does_not_match_the_log_is_hashed_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves");
        let log: Vec<EventRecord> = (1..=5_000).map(record).collect();
        caught_up(&path, &log);

        // Another record at the end: the last leaf is checked.
        let mut other = log.clone();
        other[4_999].origin_seq = 0;
        assert_eq!(caught_up(&path, &other), (root_of(&other), 1 + 5_000));
        // The file was written again from the log, and now matches it.
        assert_eq!(caught_up(&path, &other), (root_of(&other), 9));

        // Another record among the spread ones checked.
        let mut spread = other.clone();
        spread[625].origin_seq = 0;
        assert_eq!(caught_up(&path, &spread), (root_of(&spread), 3 + 5_000));

        // A log shorter than the file: the check of the last leaf finds no record.
        assert_eq!(
            caught_up(&path, &spread[..3_000]),
            (root_of(&spread[..3_000]), 3_000)
        );
        assert_eq!(
            std::fs::metadata(&path).expect("size").len(),
            3_000 * crate::leaves::ENTRY as u64
        );
    }

    #[test]
    fn a_damaged_leaf_file_is_used_up_to_the_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves");
        let log: Vec<EventRecord> = (1..=1_000).map(record).collect();
        caught_up(&path, &log);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[800 * crate::leaves::ENTRY + 10] ^= 1;
        std::fs::write(&path, bytes).expect("damage");
        // 800 leaves read, checked at nine positions; 200 hashed from the log.
        assert_eq!(caught_up(&path, &log), (root_of(&log), 9 + 200));
    }

    #[test]
    fn a_leaf_file_that_cannot_be_opened_leaves_the_tree_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log: Vec<EventRecord> = (1..=100).map(record).collect();
        // A directory where the file should be.
        assert_eq!(caught_up(dir.path(), &log), (root_of(&log), 100));
        assert_eq!(caught_up(dir.path(), &log), (root_of(&log), 100));
    }

    #[test]
    fn a_read_error_is_handed_back() {
        let ledger = Ledger::default();
        assert_eq!(ledger.catch_up(|_, _| Err("disk")), Err("disk"));
        assert!(ledger.is_empty());
    }
}
