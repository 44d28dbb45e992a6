//! The RFC 6962 / RFC 9162 Merkle tree over a node's log.
//!
//! Leaves are hashed as `SHA-256(0x00 || data)`, interior nodes as
//! `SHA-256(0x01 || left || right)`, and the empty tree's root is `SHA-256("")`. The tree of
//! `n` leaves splits at `k`, the largest power of two below `n`:
//!
//! ```text
//!                 MTH(D[0:7])
//!                /           \
//!        MTH(D[0:4])        MTH(D[4:7])        7 leaves: k = 4
//!         /      \           /      \
//!      [0:2]   [2:4]      [4:6]     d6         [6:7] is a lone leaf
//!      /  \    /  \       /  \
//!     d0  d1  d2  d3     d4  d5
//! ```
//!
//! [`MerkleTree`] stores the hash of every complete subtree (`levels[h][i]` covers leaves
//! `i * 2^h .. (i + 1) * 2^h`), about two hashes per leaf. Any node of any prefix tree is
//! either such a complete subtree or the fold of at most `log2 n` of them along its right
//! edge, so roots and proofs for any size cost O(log n) hash operations.
//! [`CompactTree`] keeps only the right edge (O(log n) memory) for one pass over a log.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A SHA-256 digest: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// Root of the empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hashes a leaf's data: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// Hashes two children into their parent: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 9162 splits a tree.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A Merkle tree that grows by appending leaf hashes and answers for every prefix of itself.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    /// `levels[h][i]` is the hash of the complete subtree over leaves
    /// `i * 2^h .. (i + 1) * 2^h`; `levels[0]` holds the leaf hashes, and
    /// `levels[h].len() == len >> h` always.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// Creates an empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a tree from leaf hashes in log order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Builds a tree from leaf hashes in log order, a level at a time: one hash per
    /// interior node, and no copy of the leaves.
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        if leaves.is_empty() {
            return Self::new();
        }
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|level| level.len() >= 2) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The leaf hashes from index `from` on.
    pub fn leaves_from(&self, from: u64) -> &[Hash] {
        let leaves = self.levels.first().map_or(&[][..], Vec::as_slice);
        let from = usize::try_from(from).map_or(leaves.len(), |f| f.min(leaves.len()));
        &leaves[from..]
    }

    /// Number of leaves held.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// True when the tree holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`, if held.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }

    /// Appends a leaf hash (see [`leaf_hash`]); costs one hash per subtree it completes.
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut index = self.levels[0].len() - 1;
        let mut level = 0;
        // Each odd index closes a complete subtree one level up.
        while index & 1 == 1 {
            let parent = node_hash(&self.levels[level][index - 1], &self.levels[level][index]);
            level += 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(parent);
            index >>= 1;
        }
    }

    /// Root of the tree made of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        Ok(self.subtree(0, size))
    }

    /// Root of the whole tree.
    pub fn current_root(&self) -> Hash {
        if self.is_empty() {
            return EMPTY_ROOT;
        }
        self.subtree(0, self.len())
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162
    /// §2.1.3.1), ordered from the leaf's sibling up to the root's child.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        if index >= size {
            return Err(Error::LeafIndex { index, size });
        }
        let mut proof = Vec::with_capacity(64);
        let (mut start, mut end) = (0, size);
        while end - start > 1 {
            let mid = start + split_point(end - start);
            if index < mid {
                proof.push(self.subtree(mid, end));
                end = mid;
            } else {
                proof.push(self.subtree(start, mid));
                start = mid;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// Consistency proof between the trees of the first `old` and `new` leaves (RFC 9162
    /// §2.1.4.1); empty when `old` is 0 or equals `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        if old > new {
            return Err(Error::ConsistencyRange { old, new });
        }
        if old == 0 || old == new {
            return Ok(Vec::new());
        }
        let mut proof = Vec::with_capacity(64);
        let (mut start, mut end) = (0, new);
        // False once the old tree's root is no longer a node the verifier already holds.
        let mut old_root_known = true;
        loop {
            if old == end {
                if !old_root_known {
                    proof.push(self.subtree(start, end));
                }
                break;
            }
            let mid = start + split_point(end - start);
            if old <= mid {
                proof.push(self.subtree(mid, end));
                end = mid;
            } else {
                proof.push(self.subtree(start, mid));
                start = mid;
                old_root_known = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.len() {
            return Err(Error::TreeSize {
                size,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// `MTH(D[start:end])` for a node of some prefix tree: `start` is aligned to the
    /// smallest power of two `>= end - start`, as every node RFC 9162 splits off is.
    fn subtree(&self, start: u64, end: u64) -> Hash {
        debug_assert!(start < end && end <= self.len());
        debug_assert!(start & ((end - start).next_power_of_two() - 1) == 0);
        // The range is complete subtrees of decreasing size; fold them from the right.
        let mut remaining = end - start;
        let mut right_end = end;
        let mut acc: Option<Hash> = None;
        while remaining > 0 {
            let height = remaining.trailing_zeros();
            let chunk_start = right_end - (1 << height);
            let chunk = self.levels[height as usize][(chunk_start >> height) as usize];
            acc = Some(match acc {
                None => chunk,
                Some(right) => node_hash(&chunk, &right),
            });
            right_end = chunk_start;
            remaining &= remaining - 1;
        }
        acc.expect("invariant: a non-empty range has at least one chunk")
    }
}

/// The right edge of a Merkle tree: enough to append and compute the current root in one
/// pass over a log, in O(log n) memory.
#[derive(Debug, Clone, Default)]
pub struct CompactTree {
    /// Roots of the complete subtrees the tree decomposes into, largest (leftmost) first:
    /// one per set bit of `len`.
    peaks: Vec<Hash>,
    /// Number of leaves appended.
    len: u64,
}

impl CompactTree {
    /// Creates an empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no leaf was appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut n = self.len;
        while n & 1 == 1 {
            let left = self
                .peaks
                .pop()
                .expect("invariant: one peak per set bit of len");
            hash = node_hash(&left, &hash);
            n >>= 1;
        }
        self.peaks.push(hash);
        self.len += 1;
    }

    /// Root of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return EMPTY_ROOT;
        };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// Checks an inclusion proof of `leaf` (a [`leaf_hash`]) at `index` in the tree of `size`
/// leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// Checks a consistency proof between the tree of `old_size` leaves with root `old_root`
/// and the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need equal roots and an empty proof; an empty old tree needs the empty
/// root and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty()
            && *old_root == EMPTY_ROOT
            && (new_size > 0 || new_root == old_root);
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if proof.is_empty() {
        return false;
    }
    // A balanced old tree is a node of the new one: its root starts the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let digest: Hash = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, digest);
        assert_eq!(MerkleTree::new().root(0).unwrap(), EMPTY_ROOT);
        assert_eq!(CompactTree::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn levels_hold_len_shifted_by_height() {
        let mut tree = MerkleTree::new();
        for i in 0u64..100 {
            tree.push(leaf_hash(&i.to_be_bytes()));
            for (h, level) in tree.levels.iter().enumerate() {
                assert_eq!(level.len() as u64, tree.len() >> h);
            }
        }
    }

    #[test]
    fn a_tree_built_from_its_leaves_is_the_tree_grown_leaf_by_leaf() {
        let mut grown = MerkleTree::new();
        for n in 0u64..70 {
            let built = MerkleTree::from_leaves(grown.leaves_from(0).to_vec());
            assert_eq!(built.levels, grown.levels, "{n} leaves");
            let mut more = built;
            more.push(leaf_hash(&[1]));
            grown.push(leaf_hash(&[1]));
            assert_eq!(more.levels, grown.levels, "{n} leaves and one pushed");
            grown.push(leaf_hash(&n.to_be_bytes()));
        }
        assert_eq!(grown.leaves_from(138).len(), 2);
        assert!(grown.leaves_from(u64::MAX).is_empty());
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let tree = MerkleTree::from_leaf_hashes((0u8..5).map(|i| leaf_hash(&[i])));
        assert!(matches!(
            tree.root(6),
            Err(Error::TreeSize { size: 6, len: 5 })
        ));
        assert!(matches!(
            tree.inclusion_proof(5, 5),
            Err(Error::LeafIndex { index: 5, size: 5 })
        ));
        assert!(matches!(
            tree.inclusion_proof(0, 6),
            Err(Error::TreeSize { .. })
        ));
        assert!(matches!(
            tree.consistency_proof(4, 3),
            Err(Error::ConsistencyRange { old: 4, new: 3 })
        ));
        assert!(matches!(
            tree.consistency_proof(1, 6),
            Err(Error::TreeSize { .. })
        ));
    }

    #[test]
    fn compact_tree_agrees_with_full_tree() {
        let mut full = MerkleTree::new();
        let mut compact = CompactTree::new();
        for i in 0u64..300 {
            let leaf = leaf_hash(&i.to_le_bytes());
            full.push(leaf);
            compact.push(leaf);
            assert_eq!(compact.root(), full.current_root(), "size {}", i + 1);
            assert_eq!(compact.len(), full.len());
        }
    }
}
