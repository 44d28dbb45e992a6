//! The worked examples of `docs/protocol.md` section 8, recomputed with this crate's own
//! code from the inputs the document names and compared with the hex it prints, so that
//! the document and the code cannot drift apart.

use std::path::PathBuf;

use hub_proto::pb;
use hub_proto::record::record_hash;
use prost::Message;

use crate::keys::load_signing_key;
use crate::merkle::{leaf_hash, node_hash, Hash};
use crate::sign::{chain_head_message, TreeHead};
use crate::sign::{entry_key_message, sign_chain_head, sign_entry_key, sign_tree_head};
use crate::trail::{entry_hash, TRAIL_START};
use crate::SigningKey;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The hex the document prints on its line `<name> = <hex>`.
fn documented(name: &str) -> String {
    let text = std::fs::read_to_string(repo().join("docs/protocol.md")).expect("protocol.md");
    let prefix = format!("{name} = ");
    let mut lines = text.lines().filter_map(|l| l.strip_prefix(prefix.as_str()));
    let hex = lines
        .next()
        .unwrap_or_else(|| panic!("docs/protocol.md has no line {name} = …"));
    assert!(lines.next().is_none(), "{name} is documented twice");
    hex.trim().to_owned()
}

fn assert_documented(name: &str, bytes: &[u8]) {
    assert_eq!(hex::encode(bytes), documented(name), "{name}");
}

fn dev_key(member: &str) -> SigningKey {
    load_signing_key(repo().join(format!("config/keys/dev-{member}.key"))).expect("dev key")
}

/// The record of section 8.1, unsigned.
fn example_record() -> pb::EventRecord {
    let body = pb::EventBody {
        kind: Some(pb::event_body::Kind::RecognitionWithdrawn(
            pb::RecognitionWithdrawn {
                rule_id: "jx-pt-sh-eng".into(),
                reason: "superseded".into(),
                effective_at: "2026-07-01".into(),
            },
        )),
    };
    assert_documented("body", &body.encode_to_vec());
    pb::EventRecord {
        event_id: "0f4c2a6e-8d3b-4c1e-9a57-2b6d8e1f3c90".into(),
        origin: "330400".into(),
        origin_seq: 1,
        stream: "recognition/330400".into(),
        stream_version: 1,
        recorded_at: Some(prost_types::Timestamp {
            seconds: 1_767_600_000,
            nanos: 123_456_000,
        }),
        body: body.encode_to_vec(),
        prev_hash: vec![0; 32],
        signature: Vec::new(),
    }
}

/// The record of section 8.2: the example record with its chain-head signature.
fn example_signed_record() -> pb::EventRecord {
    let record = example_record();
    let signature = sign_chain_head(&dev_key("330400"), "330400", 1, &record_hash(&record))
        .expect("chain head");
    pb::EventRecord {
        signature: signature.to_vec(),
        ..record
    }
}

#[test]
fn the_record_hash_example_is_what_the_code_computes() {
    let record = example_record();
    assert_documented("record_unsigned", &record.encode_to_vec());
    assert_documented("record_hash", &record_hash(&record));
}

#[test]
fn the_chain_head_example_is_what_the_code_signs() {
    let record = example_record();
    let hash = record_hash(&record);
    assert_documented(
        "chain_head_message",
        &chain_head_message("330400", 1, &hash).expect("message"),
    );
    let signed = example_signed_record();
    assert_documented("chain_head_signature", &signed.signature);
    assert_documented("record_signed", &signed.encode_to_vec());
    assert_eq!(record_hash(&signed), hash, "the signature is not hashed");
}

/// The three leaves of section 8.3 and the root over them.
fn example_tree() -> (Hash, Hash, Hash, Hash) {
    let leaf0 = leaf_hash(&example_signed_record().encode_to_vec());
    let leaf1 = leaf_hash(b"leaf 1");
    let leaf2 = leaf_hash(b"leaf 2");
    let root = node_hash(&node_hash(&leaf0, &leaf1), &leaf2);
    (leaf0, leaf1, leaf2, root)
}

#[test]
fn the_merkle_example_is_what_the_code_computes() {
    let (leaf0, leaf1, leaf2, root) = example_tree();
    assert_documented("leaf_hash", &leaf0);
    assert_documented("leaf1", &leaf1);
    assert_documented("leaf2", &leaf2);
    assert_documented("node_hash_0_1", &node_hash(&leaf0, &leaf1));
    assert_documented("root_3", &root);
    let tree = crate::MerkleTree::from_leaf_hashes([leaf0, leaf1, leaf2]);
    assert_eq!(tree.current_root(), root);
    assert_eq!(
        tree.inclusion_proof(0, 3).expect("proof"),
        vec![leaf1, leaf2]
    );
    assert_eq!(
        tree.inclusion_proof(2, 3).expect("proof"),
        vec![node_hash(&leaf0, &leaf1)]
    );
    assert_eq!(tree.consistency_proof(2, 3).expect("proof"), vec![leaf2]);
}

#[test]
fn the_tree_head_example_is_what_the_code_signs() {
    let (_, _, _, root) = example_tree();
    let head = TreeHead {
        tree_size: 3,
        root,
        timestamp_micros: 1_767_600_000_123_456,
        node: "310000".into(),
    };
    assert_documented("tree_head_message", &head.message());
    assert_documented(
        "tree_head_signature",
        &sign_tree_head(&dev_key("310000"), &head),
    );
    assert_documented("timestamp_minus_2", &(-2i64).to_be_bytes());
}

#[test]
fn the_access_trail_example_is_what_the_code_chains() {
    let subject = documented("subject_ref");
    let first = pb::AccessEntry {
        seq: 1,
        at_micros: 1_767_600_000_123_456,
        caller_member: "330400".into(),
        caller_role: "member".into(),
        subject_ref: subject.clone(),
        results: 1,
        prev_hash: TRAIL_START.to_vec(),
        hash: Vec::new(),
    };
    let first_hash = entry_hash(&first);
    assert_documented("access_entry_1", &first_hash);
    let second = pb::AccessEntry {
        seq: 2,
        at_micros: 1_767_600_060_000_000,
        caller_member: "310000".into(),
        caller_role: "auditor".into(),
        subject_ref: subject,
        results: 0,
        prev_hash: first_hash.to_vec(),
        hash: Vec::new(),
    };
    assert_documented("access_entry_2", &entry_hash(&second));
}

#[test]
fn the_entry_key_example_is_what_the_code_signs() {
    let wrapped: Vec<u8> = (0x00..=0x17u8).chain(0xa0..=0xcf).collect();
    assert_documented("wrapped", &wrapped);
    let stream = "blacklist/330400/jx-2026-0003";
    assert_documented(
        "entry_key_message",
        &entry_key_message(stream, &wrapped).expect("message"),
    );
    let key = dev_key("330400");
    let signature = sign_entry_key(&key, stream, &wrapped).expect("signature");
    assert_documented("entry_key_signature", &signature);
    crate::verify_entry_key(&key.verifying_key(), stream, &wrapped, &signature).expect("verifies");
}
