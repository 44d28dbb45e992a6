//! Known-answer tests from the Certificate Transparency reference suites: the eight-leaf
//! tree of google/certificate-transparency `cpp/merkletree/merkle_tree_test.cc`
//! (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs), whose vectors
//! transparency-dev/merkle `proof/verify_test.go` repeats and extends with the (6, 7)
//! consistency proof. The corruption probes mirror that file's `corruptInclusionProof`
//! and `corruptConsistencyProof`.

use hub_audit::{leaf_hash, verify_consistency, verify_inclusion, Hash, MerkleTree, EMPTY_ROOT};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path); the reference files number leaves from 1.
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, consistency proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// An arbitrary hash that is no node of the reference tree (from verify_test.go).
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn h(hex_hash: &str) -> Hash {
    let mut out = [0; 32];
    hex::decode_to_slice(hex_hash, &mut out).unwrap();
    out
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

fn leaf(i: usize) -> Hash {
    leaf_hash(&hex::decode(LEAVES[i]).unwrap())
}

fn root(size: u64) -> Hash {
    if size == 0 {
        return EMPTY_ROOT;
    }
    h(ROOTS[size as usize - 1])
}

fn reference_tree() -> MerkleTree {
    MerkleTree::from_leaf_hashes((0..8).map(leaf))
}

#[test]
fn roots_match_for_every_size_built_leaf_by_leaf() {
    let mut tree = MerkleTree::new();
    assert_eq!(
        hex::encode(tree.current_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (i, expected) in ROOTS.iter().enumerate() {
        tree.push(leaf(i));
        assert_eq!(tree.len(), i as u64 + 1);
        assert_eq!(hex::encode(tree.current_root()), *expected);
        for size in 0..=tree.len() {
            assert_eq!(tree.root(size).unwrap(), root(size), "size {size}");
        }
        assert!(tree.root(tree.len() + 1).is_err());
    }
}

#[test]
fn inclusion_proofs_match_the_reference_paths() {
    let tree = reference_tree();
    for (index, size, path) in INCLUSION {
        let proof = tree.inclusion_proof(index, size).unwrap();
        assert_eq!(proof, hashes(path), "leaf {index} in tree of {size}");
        assert!(verify_inclusion(
            &leaf(index as usize),
            index,
            size,
            &proof,
            &root(size)
        ));
    }
}

#[test]
fn consistency_proofs_match_the_reference_proofs() {
    let tree = reference_tree();
    for (old, new, expected) in CONSISTENCY {
        let proof = tree.consistency_proof(old, new).unwrap();
        assert_eq!(proof, hashes(expected), "{old} -> {new}");
        assert!(verify_consistency(old, new, &root(old), &root(new), &proof));
    }
}

/// Variations of a good inclusion proof that must all fail (`corruptInclusionProof`).
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: Hash,
    leaf: Hash,
) -> Vec<(String, u64, u64, Vec<Hash>, Hash, Hash)> {
    let p = proof.to_vec();
    let mut probes = vec![
        (
            "index - 1".into(),
            index.wrapping_sub(1),
            size,
            p.clone(),
            root,
            leaf,
        ),
        ("index + 1".into(), index + 1, size, p.clone(), root, leaf),
        ("index ^ 2".into(), index ^ 2, size, p.clone(), root, leaf),
        ("size * 2".into(), index, size * 2, p.clone(), root, leaf),
        ("size / 2".into(), index, size / 2, p.clone(), root, leaf),
        (
            "wrong leaf".into(),
            index,
            size,
            p.clone(),
            root,
            leaf_hash(b"WrongLeaf"),
        ),
        (
            "empty root".into(),
            index,
            size,
            p.clone(),
            EMPTY_ROOT,
            leaf,
        ),
        (
            "random root".into(),
            index,
            size,
            p.clone(),
            h(SOME_HASH),
            leaf,
        ),
        (
            "trailing root".into(),
            index,
            size,
            [p.clone(), vec![root]].concat(),
            root,
            leaf,
        ),
        (
            "preceding root".into(),
            index,
            size,
            [vec![root], p.clone()].concat(),
            root,
            leaf,
        ),
    ];
    for i in 0..p.len() {
        let mut wrong = p.clone();
        wrong[i][0] ^= 8;
        probes.push((format!("proof[{i}] bit 3"), index, size, wrong, root, leaf));
    }
    if !p.is_empty() {
        probes.push((
            "removed component".into(),
            index,
            size,
            p[..p.len() - 1].to_vec(),
            root,
            leaf,
        ));
    }
    if p.len() > 1 {
        let inserted = [vec![p[0], h(SOME_HASH)], p[1..].to_vec()].concat();
        probes.push((
            "inserted component".into(),
            index,
            size,
            inserted,
            root,
            leaf,
        ));
    }
    probes
}

#[test]
fn corrupted_reference_inclusion_proofs_fail() {
    for (index, size, path) in INCLUSION {
        let good = leaf(index as usize);
        for (what, i, s, proof, r, l) in
            corrupt_inclusion(index, size, &hashes(path), root(size), good)
        {
            assert!(
                !verify_inclusion(&l, i, s, &proof, &r),
                "leaf {index} of {size}: {what} verified"
            );
        }
    }
}

#[test]
fn degenerate_inclusion_probes_fail() {
    let some = h(SOME_HASH);
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        assert!(
            !verify_inclusion(&some, index, size, &[], &EMPTY_ROOT),
            "{index}/{size}"
        );
    }
    // A one-leaf tree's root is its leaf hash and its proof is empty.
    let data = leaf_hash(b"data");
    assert!(verify_inclusion(&data, 0, 1, &[], &data));
    assert!(!verify_inclusion(&data, 0, 1, &[], &EMPTY_ROOT));
}

#[test]
fn corrupted_reference_consistency_proofs_fail() {
    for (old, new, expected) in CONSISTENCY {
        let proof = hashes(expected);
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (root(old), root(new));
        let wrong_root = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("old - 1".into(), old - 1, new, r1, r2, proof.clone()),
            ("old + 1".into(), old + 1, new, r1, r2, proof.clone()),
            ("old ^ 2".into(), old ^ 2, new, r1, r2, proof.clone()),
            ("new * 2".into(), old, new * 2, r1, r2, proof.clone()),
            ("new / 2".into(), old, new / 2, r1, r2, proof.clone()),
            (
                "wrong old root".into(),
                old,
                new,
                wrong_root,
                r2,
                proof.clone(),
            ),
            (
                "wrong new root".into(),
                old,
                new,
                r1,
                wrong_root,
                proof.clone(),
            ),
            ("swapped roots".into(), old, new, r2, r1, proof.clone()),
            ("empty proof".into(), old, new, r1, r2, vec![]),
            (
                "trailing old root".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
            ),
            (
                "trailing new root".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r2]].concat(),
            ),
            (
                "preceding old root".into(),
                old,
                new,
                r1,
                r2,
                [vec![r1], proof.clone()].concat(),
            ),
            (
                "preceding new root".into(),
                old,
                new,
                r1,
                r2,
                [vec![r2], proof.clone()].concat(),
            ),
            (
                "preceding proof[0]".into(),
                old,
                new,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
            ),
            (
                "truncated".into(),
                old,
                new,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
            ),
        ];
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i][0] ^= 16;
            probes.push((format!("proof[{i}] bit 4"), old, new, r1, r2, wrong));
        }
        for (what, o, n, a, b, p) in probes {
            assert!(
                !verify_consistency(o, n, &a, &b, &p),
                "{old} -> {new}: {what} verified"
            );
        }
    }
}

#[test]
fn degenerate_consistency_cases() {
    let empty = EMPTY_ROOT;
    let (r1, r2) = (root(1), root(2));
    // Always consistent: an empty old tree, and a tree with itself.
    assert!(verify_consistency(0, 0, &empty, &empty, &[]));
    assert!(verify_consistency(0, 1, &empty, &r1, &[]));
    assert!(verify_consistency(1, 1, &r1, &r1, &[]));
    // Time travel to the past.
    assert!(!verify_consistency(1, 0, &r1, &empty, &[]));
    assert!(!verify_consistency(2, 1, &r2, &r1, &[]));
    // An empty proof between different sizes.
    assert!(!verify_consistency(1, 2, &r1, &r2, &[]));
    // Equal sizes with different roots.
    assert!(!verify_consistency(1, 1, &r1, &r2, &[]));
    assert!(!verify_consistency(0, 0, &empty, &r1, &[]));
    // Matching roots but a non-empty proof.
    assert!(!verify_consistency(0, 0, &empty, &empty, &[empty]));
    assert!(!verify_consistency(0, 1, &empty, &r1, &[empty]));
    assert!(!verify_consistency(1, 1, &r1, &r1, &[empty]));
    // Stricter than the reference: size 0 must come with the empty tree's root.
    assert!(!verify_consistency(0, 1, &r2, &r1, &[]));
}
