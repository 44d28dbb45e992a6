//! What auditors ask and check: tree sizes and positions of proof requests, proofs from a
//! node, and a downloaded history.

use hub_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash, MerkleTree};
use hub_audit::Verifier;
use hub_proto::pb;
use hub_proto::record::Record;
use prost::Message;

use crate::fixtures::roster_keys;

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks of 32"))
        .collect()
}

/// Proof requests against a tree of up to 255 leaves (the first byte): the second byte
/// picks an inclusion or a consistency proof, the rest is the request (`tree_size` 0 = the
/// whole tree, as a node answers). A proof the tree gives verifies against its roots and
/// no other; a proof from outside (the request's bytes after the message, in 32-byte
/// hashes) verifies only if it is the tree's own.
pub fn audit_proofs(data: &[u8]) {
    let [n, which, rest @ ..] = data else {
        return;
    };
    let tree =
        MerkleTree::from_leaf_hashes((0..u64::from(*n)).map(|i| leaf_hash(&i.to_be_bytes())));
    let len = tree.len();
    let (req, outside) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], hashes(&rest[at + 1..])),
        None => (rest, Vec::new()),
    };
    if which % 2 == 0 {
        let Ok(req) = pb::GetInclusionProofRequest::decode(req) else {
            return;
        };
        let size = if req.tree_size == 0 {
            len
        } else {
            req.tree_size
        };
        let index = req.position.wrapping_sub(1);
        let Ok(proof) = tree.inclusion_proof(index, size) else {
            return;
        };
        assert!(index < size && size <= len, "a proof outside the tree");
        let root = tree.root(size).expect("the proof's size is in the tree");
        let leaf = tree.leaf(index).expect("the proof's leaf is in the tree");
        assert!(
            verify_inclusion(&leaf, index, size, &proof, &root),
            "own proof fails"
        );
        if index + 1 < size {
            assert!(!verify_inclusion(&leaf, index + 1, size, &proof, &root));
        }
        if let Some(first) = proof.first() {
            let mut bad = proof.clone();
            bad[0] = leaf_hash(first);
            assert!(
                !verify_inclusion(&leaf, index, size, &bad, &root),
                "bad proof passes"
            );
        }
        if verify_inclusion(&leaf, index, size, &outside, &root) {
            assert_eq!(outside, proof, "another inclusion proof passes");
        }
    } else {
        let Ok(req) = pb::GetConsistencyProofRequest::decode(req) else {
            return;
        };
        let new = if req.new_size == 0 { len } else { req.new_size };
        let old = req.old_size;
        let Ok(proof) = tree.consistency_proof(old, new) else {
            return;
        };
        assert!(old <= new && new <= len, "a proof outside the tree");
        let old_root = tree.root(old).expect("old is in the tree");
        let new_root = tree.root(new).expect("new is in the tree");
        assert!(
            verify_consistency(old, new, &old_root, &new_root, &proof),
            "own consistency proof fails"
        );
        if old > 0 && old < new {
            let other = tree.root(old - 1).expect("old - 1 is in the tree");
            assert!(!verify_consistency(old, new, &other, &new_root, &proof));
        }
        if old > 0 && verify_consistency(old, new, &old_root, &new_root, &outside) {
            assert_eq!(outside, proof, "another consistency proof passes");
        }
    }
}

/// A history an auditor downloaded (`ReadRecords` pages), verified against the roster's
/// keys: never a panic; a history that verifies is one where every record parses and
/// follows its origin's chain, and the report counts them all.
pub fn audit_verify(data: &[u8]) {
    let Ok(page) = pb::ReadRecordsResponse::decode(data) else {
        return;
    };
    let records: Vec<(u64, pb::EventRecord)> = page
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    let Ok(report) = Verifier::new(roster_keys()).verify(records.clone(), |_| {}) else {
        return;
    };
    assert_eq!(report.events, records.len() as u64);
    let mut heads = std::collections::BTreeMap::new();
    for (position, raw) in records {
        let record = Record::parse(raw)
            .unwrap_or_else(|e| panic!("position {position} verified but does not parse: {e}"));
        let head = heads.get(&record.origin());
        assert!(
            record.follows(head),
            "position {position} verified off its chain"
        );
        heads.insert(record.origin(), record.head());
    }
    assert_eq!(report.origins.len(), heads.len());
}
