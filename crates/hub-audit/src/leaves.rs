//! The tree's leaf hashes in a file, so that a node started again reads them instead of
//! reading and hashing its whole log again.
//!
//! Entry `i` (at byte `36 * i`) is leaf `i`'s hash (32 bytes) and the CRC32 of the index
//! (u64, big-endian) and the hash (u32, big-endian). The file is derived from the log, like
//! the log's own id index: it is appended as the tree grows, synced every [`SYNC_EVERY`]
//! entries rather than with each, and opening takes its entries up to the first that is
//! missing, torn or fails its check. The [`Ledger`](crate::Ledger) checks what it took
//! against the log before using it and reads the rest from the log. So a crash, a failed
//! write or a damaged entry costs a start some reading and hashing, never a wrong root;
//! failures are logged, not returned.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::merkle::Hash;

/// Bytes of one entry.
pub const ENTRY: usize = 36;
/// Entries written between two syncs: at most this many leaves are hashed again from the
/// log after a power loss.
const SYNC_EVERY: u64 = 1 << 16;
/// Entries read at a time when the file is opened.
const READ_BLOCK: usize = 1 << 15;

/// The most leaves room is made for before they are read: 2^26 leaves, 2 GiB of address
/// space (a log of more grows the list as it is read).
const MAX_ROOM: u64 = 1 << 26;

/// The open file of leaf hashes.
#[derive(Debug)]
pub struct LeafFile {
    file: File,
    path: PathBuf,
    /// Entries held: leaves `0..held`.
    held: u64,
    unsynced: u64,
    /// Whether the last write or sync failed (to log each change once).
    failing: bool,
}

impl LeafFile {
    /// Opens the file at `path` (created, with its directory, when missing) and reads its
    /// leaves up to the first entry that is not whole and checked. Whatever follows that
    /// entry is cut off, so that the file always holds one run of leaves from the first.
    pub fn open(path: &Path) -> std::io::Result<(Self, Vec<Hash>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let size = file.metadata()?.len();
        let whole = size / ENTRY as u64;
        // Room for the leaves the file's size names, up to a bound: a file whose size
        // is forged (a sparse one of a terabyte) reserves address space, not memory.
        let room = whole.min(MAX_ROOM);
        let mut leaves = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
        let mut block = vec![0u8; READ_BLOCK * ENTRY];
        'read: while (leaves.len() as u64) < whole {
            let at = leaves.len() as u64;
            let count = (whole - at).min(READ_BLOCK as u64) as usize;
            let bytes = &mut block[..count * ENTRY];
            file.read_exact_at(bytes, at * ENTRY as u64)?;
            for entry in bytes.chunks_exact(ENTRY) {
                match decode(leaves.len() as u64, entry) {
                    Some(leaf) => leaves.push(leaf),
                    None => break 'read,
                }
            }
        }
        let mut opened = Self {
            file,
            path: path.to_path_buf(),
            held: leaves.len() as u64,
            unsynced: 0,
            failing: false,
        };
        if size != opened.held * ENTRY as u64 {
            tracing::warn!(
                file = %path.display(),
                leaf = opened.held,
                "the audit tree's leaf file ends early or is damaged from this leaf; the rest is hashed again from the log"
            );
            opened.truncate(opened.held);
        }
        Ok((opened, leaves))
    }

    /// Leaves held.
    pub fn len(&self) -> u64 {
        self.held
    }

    /// True when the file holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `leaves`, the tree's leaves from index `first` on. Leaves the file holds
    /// already are skipped; leaves that would leave a gap are not written.
    pub fn append(&mut self, first: u64, leaves: &[Hash]) {
        let skip = self.held.saturating_sub(first);
        if first > self.held || skip >= leaves.len() as u64 {
            return;
        }
        let from = first + skip;
        let mut bytes = Vec::with_capacity((leaves.len() - skip as usize) * ENTRY);
        for (i, leaf) in leaves[skip as usize..].iter().enumerate() {
            bytes.extend_from_slice(&encode(from + i as u64, leaf));
        }
        let written = self.file.write_all_at(&bytes, from * ENTRY as u64);
        self.report(written.as_ref().err(), "write");
        if written.is_ok() {
            let count = (bytes.len() / ENTRY) as u64;
            self.held += count;
            self.unsynced += count;
            if self.unsynced >= SYNC_EVERY {
                self.sync();
            }
        }
    }

    /// Keeps the first `len` leaves only.
    pub fn truncate(&mut self, len: u64) {
        let cut = self.file.set_len(len * ENTRY as u64);
        self.report(cut.as_ref().err(), "truncate");
        if cut.is_ok() {
            self.held = self.held.min(len);
        }
    }

    /// Makes what is written durable.
    pub fn sync(&mut self) {
        let synced = self.file.sync_data();
        self.report(synced.as_ref().err(), "sync");
        if synced.is_ok() {
            self.unsynced = 0;
        }
    }

    /// Logs a failure once, and the next success once.
    fn report(&mut self, failure: Option<&std::io::Error>, action: &str) {
        match failure {
            Some(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(
                    file = %self.path.display(),
                    error = %e,
                    action,
                    "cannot keep the audit tree's leaf file; the next start hashes these leaves again from the log"
                );
            }
            Some(_) => {}
            None if self.failing => {
                self.failing = false;
                tracing::info!(file = %self.path.display(), "the audit tree's leaf file is written again");
            }
            None => {}
        }
    }
}

/// Entry `index` holding `leaf`.
fn encode(index: u64, leaf: &Hash) -> [u8; ENTRY] {
    let mut entry = [0u8; ENTRY];
    entry[..32].copy_from_slice(leaf);
    entry[32..].copy_from_slice(&check(index, leaf).to_be_bytes());
    entry
}

/// The leaf in `entry` if it is entry `index` whole and checked.
fn decode(index: u64, entry: &[u8]) -> Option<Hash> {
    let leaf: Hash = entry.get(..32)?.try_into().ok()?;
    let crc = u32::from_be_bytes(entry.get(32..ENTRY)?.try_into().ok()?);
    (crc == check(index, &leaf)).then_some(leaf)
}

fn check(index: u64, leaf: &Hash) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&index.to_be_bytes());
    crc.update(leaf);
    crc.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u64) -> Hash {
        crate::merkle::leaf_hash(&n.to_be_bytes())
    }

    fn leaves(range: std::ops::Range<u64>) -> Vec<Hash> {
        range.map(leaf).collect()
    }

    #[test]
    fn leaves_appended_are_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit/leaves");
        let (mut file, read) = LeafFile::open(&path).expect("open");
        assert!(read.is_empty() && file.is_empty());
        file.append(0, &leaves(0..10));
        file.append(10, &leaves(10..25));
        // Leaves held already are skipped; a gap is never written.
        file.append(20, &leaves(20..30));
        file.append(40, &leaves(40..41));
        assert_eq!(file.len(), 30);
        drop(file);
        let (file, read) = LeafFile::open(&path).expect("open again");
        assert_eq!(read, leaves(0..30));
        assert_eq!(file.len(), 30);
        assert_eq!(
            std::fs::metadata(&path).expect("size").len(),
            30 * ENTRY as u64
        );
    }

    #[test]
    fn a_damaged_or_torn_entry_ends_the_leaves_read_and_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves");
        let (mut file, _) = LeafFile::open(&path).expect("open");
        file.append(0, &leaves(0..20));
        drop(file);

        // A torn last entry.
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("tear");
        let (file, read) = LeafFile::open(&path).expect("open torn");
        assert_eq!(read, leaves(0..19));
        assert_eq!(file.len(), 19);
        drop(file);
        assert_eq!(
            std::fs::metadata(&path).expect("size").len(),
            19 * ENTRY as u64
        );

        // A flipped bit in the middle: the entries after it go too.
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[7 * ENTRY + 3] ^= 0x10;
        std::fs::write(&path, &bytes).expect("damage");
        let (mut file, read) = LeafFile::open(&path).expect("open damaged");
        assert_eq!(read, leaves(0..7));
        file.append(7, &leaves(7..9));
        drop(file);
        assert_eq!(LeafFile::open(&path).expect("open").1, leaves(0..9));

        // An entry moved to another index fails its check there.
        let mut bytes = std::fs::read(&path).expect("read");
        let first = bytes[..ENTRY].to_vec();
        bytes[2 * ENTRY..3 * ENTRY].copy_from_slice(&first);
        std::fs::write(&path, &bytes).expect("move");
        assert_eq!(LeafFile::open(&path).expect("open").1, leaves(0..2));
    }

    #[test]
    fn a_file_whose_size_is_forged_is_read_as_what_it_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves");
        let (mut file, _) = LeafFile::open(&path).expect("open");
        file.append(0, &leaves(0..3));
        drop(file);
        // A terabyte of holes after three leaves.
        let sparse = OpenOptions::new().write(true).open(&path).expect("open");
        sparse.set_len(1 << 40).expect("sparse");
        let (file, read) = LeafFile::open(&path).expect("open forged");
        assert_eq!(read, leaves(0..3));
        assert_eq!(file.len(), 3);
        assert_eq!(
            std::fs::metadata(&path).expect("size").len(),
            3 * ENTRY as u64
        );
    }

    #[test]
    fn truncating_keeps_the_first_leaves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leaves");
        let (mut file, _) = LeafFile::open(&path).expect("open");
        file.append(0, &leaves(0..12));
        file.truncate(5);
        assert_eq!(file.len(), 5);
        file.append(5, &leaves(100..102));
        drop(file);
        let mut expected = leaves(0..5);
        expected.extend(leaves(100..102));
        assert_eq!(LeafFile::open(&path).expect("open").1, expected);
    }
}
