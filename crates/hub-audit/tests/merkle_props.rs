//! Properties of the Merkle tree against a direct transcription of RFC 9162 §2.1: every
//! root, inclusion and consistency proof equals the reference, every proof verifies, and
//! any flipped bit in a proof, root or leaf makes verification fail.

use hub_audit::{
    leaf_hash, node_hash, verify_consistency, verify_inclusion, CompactTree, Hash, MerkleTree,
    EMPTY_ROOT,
};
use proptest::prelude::*;

/// MTH(D[n]) as RFC 9162 §2.1.1 defines it.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// PATH(m, D[n]), RFC 9162 §2.1.3.1.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        [path(m, &leaves[..k]), vec![mth(&leaves[k..])]].concat()
    } else {
        [path(m - k, &leaves[k..]), vec![mth(&leaves[..k])]].concat()
    }
}

/// SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1.
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = split(n);
    if m <= k {
        [subproof(m, &leaves[..k], complete), vec![mth(&leaves[k..])]].concat()
    } else {
        [
            subproof(m - k, &leaves[k..], false),
            vec![mth(&leaves[..k])],
        ]
        .concat()
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

#[test]
fn everything_matches_the_rfc_for_all_trees_up_to_64_leaves() {
    let all = leaves(64);
    let tree = MerkleTree::from_leaf_hashes(all.iter().copied());
    let mut compact = CompactTree::new();
    for size in 0..=64usize {
        let prefix = &all[..size];
        let root = mth(prefix);
        assert_eq!(tree.root(size as u64).unwrap(), root, "root {size}");
        assert_eq!(compact.root(), root, "compact root {size}");
        if size < 64 {
            compact.push(all[size]);
        }
        for (index, leaf) in prefix.iter().enumerate() {
            let proof = tree.inclusion_proof(index as u64, size as u64).unwrap();
            assert_eq!(proof, path(index, prefix), "path {index}/{size}");
            assert!(verify_inclusion(
                leaf,
                index as u64,
                size as u64,
                &proof,
                &root
            ));
        }
        for old in 1..=size {
            let proof = tree.consistency_proof(old as u64, size as u64).unwrap();
            let expected = if old == size {
                Vec::new()
            } else {
                subproof(old, prefix, true)
            };
            assert_eq!(proof, expected, "consistency {old}/{size}");
            assert!(verify_consistency(
                old as u64,
                size as u64,
                &mth(&all[..old]),
                &root,
                &proof
            ));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_any_flipped_bit_fails(
        len in 1usize..2000,
        size_pick in any::<prop::sample::Index>(),
        index_pick in any::<prop::sample::Index>(),
        element in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let all = leaves(len);
        let tree = MerkleTree::from_leaf_hashes(all.iter().copied());
        let size = size_pick.index(len) + 1;
        let index = index_pick.index(size);
        let root = tree.root(size as u64).unwrap();
        prop_assert_eq!(root, mth(&all[..size]));
        let proof = tree.inclusion_proof(index as u64, size as u64).unwrap();
        let leaf = all[index];
        let (i, s) = (index as u64, size as u64);
        prop_assert!(verify_inclusion(&leaf, i, s, &proof, &root));

        prop_assert!(!verify_inclusion(&flip(&leaf, bit), i, s, &proof, &root));
        prop_assert!(!verify_inclusion(&leaf, i, s, &proof, &flip(&root, bit)));
        if !proof.is_empty() {
            let mut wrong = proof.clone();
            let e = element.index(proof.len());
            wrong[e] = flip(&wrong[e], bit);
            prop_assert!(!verify_inclusion(&leaf, i, s, &wrong, &root));
        }
    }

    #[test]
    fn consistency_proofs_verify_and_any_flipped_bit_fails(
        len in 1usize..2000,
        new_pick in any::<prop::sample::Index>(),
        old_pick in any::<prop::sample::Index>(),
        element in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let all = leaves(len);
        let tree = MerkleTree::from_leaf_hashes(all.iter().copied());
        let new = new_pick.index(len) + 1;
        let old = old_pick.index(new) + 1;
        let (o, n) = (old as u64, new as u64);
        let old_root = tree.root(o).unwrap();
        let new_root = tree.root(n).unwrap();
        let proof = tree.consistency_proof(o, n).unwrap();
        prop_assert!(verify_consistency(o, n, &old_root, &new_root, &proof));
        prop_assert!(verify_consistency(0, n, &EMPTY_ROOT, &new_root, &[]));

        prop_assert!(!verify_consistency(o, n, &flip(&old_root, bit), &new_root, &proof));
        prop_assert!(!verify_consistency(o, n, &old_root, &flip(&new_root, bit), &proof));
        if !proof.is_empty() {
            let mut wrong = proof.clone();
            let e = element.index(proof.len());
            wrong[e] = flip(&wrong[e], bit);
            prop_assert!(!verify_consistency(o, n, &old_root, &new_root, &wrong));
        }
    }

    #[test]
    fn prefix_roots_agree_with_trees_built_to_that_size(len in 1usize..3000, cut in any::<prop::sample::Index>()) {
        let all = leaves(len);
        let size = cut.index(len + 1);
        let full = MerkleTree::from_leaf_hashes(all.iter().copied());
        let prefix = MerkleTree::from_leaf_hashes(all[..size].iter().copied());
        prop_assert_eq!(full.root(size as u64).unwrap(), prefix.current_root());
    }
}
