//! Builds signed histories the way member nodes write them: events appended in batches,
//! each origin's batch signed once, on its last event.

#![allow(dead_code)] // each test binary uses a different part of the support module

use std::collections::BTreeMap;

use hub_audit::{
    record_leaf_hash, sign_chain_head, MerkleTree, SigningKey, TreeHead, VerifyingKey,
};
use hub_proto::pb;
use hub_proto::record::{record_hash, ZERO_HASH};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A member city writing its own chain.
pub struct Member {
    pub origin: String,
    pub key: SigningKey,
    seq: u64,
    prev: [u8; 32],
}

impl Member {
    pub fn new(origin: &str, seed: u8) -> Self {
        Self {
            origin: origin.to_owned(),
            key: SigningKey::from_bytes(&[seed; 32]),
            seq: 0,
            prev: ZERO_HASH,
        }
    }

    /// The next event of this member, unsigned.
    fn next_record(&mut self, rng: &mut StdRng) -> pb::EventRecord {
        self.seq += 1;
        let seq = self.seq;
        let body = pb::EventBody {
            kind: Some(pb::event_body::Kind::DemandSignalPublished(
                pb::DemandSignalPublished {
                    signal_id: format!("sig-{}", rng.gen::<u32>()),
                    occupation_code: "2-02-10-03".to_owned(),
                    level: "senior".to_owned(),
                    headcount: rng.gen_range(1..500),
                    period: "2025-Q3".to_owned(),
                    pay_band: Some(pb::PayBand {
                        min: 15_000,
                        max: 30_000,
                    }),
                    ..Default::default()
                },
            )),
        };
        pb::EventRecord {
            event_id: format!("{:032x}", rng.gen::<u128>()),
            origin: self.origin.clone(),
            origin_seq: seq,
            stream: format!("demand/{}/sig-{}", self.origin, seq % 17),
            stream_version: seq / 17 + 1,
            recorded_at: Some(prost_types::Timestamp {
                seconds: 1_750_000_000 + seq as i64,
                nanos: rng.gen_range(0..1_000_000_000),
            }),
            body: body.encode_to_vec(),
            prev_hash: self.prev.to_vec(),
            signature: Vec::new(),
        }
    }
}

/// Three member cities with fixed keys.
pub fn members() -> Vec<Member> {
    vec![
        Member::new("310000", 1),
        Member::new("330100", 2),
        Member::new("330400", 3),
    ]
}

/// Member id → public key.
pub fn roster(members: &[Member]) -> BTreeMap<String, VerifyingKey> {
    members
        .iter()
        .map(|m| (m.origin.clone(), m.key.verifying_key()))
        .collect()
}

/// Appends about `events` events in batches of `1..=max_batch` from random members; only
/// the last event of each batch is signed. Positions start at 1.
pub fn history(
    members: &mut [Member],
    events: usize,
    max_batch: usize,
    seed: u64,
) -> Vec<(u64, pb::EventRecord)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(events);
    while out.len() < events {
        let member_index = rng.gen_range(0..members.len());
        let member = &mut members[member_index];
        let batch = rng.gen_range(1..=max_batch).min(events - out.len());
        for i in 0..batch {
            let mut record = member.next_record(&mut rng);
            let hash = record_hash(&record);
            if i + 1 == batch {
                record.signature =
                    sign_chain_head(&member.key, &member.origin, record.origin_seq, &hash)
                        .expect("six-digit origin")
                        .to_vec();
            }
            member.prev = hash;
            out.push(((out.len() + 1) as u64, record));
        }
    }
    out
}

/// The Merkle tree over a history's stored records.
pub fn tree(history: &[(u64, pb::EventRecord)]) -> MerkleTree {
    MerkleTree::from_leaf_hashes(history.iter().map(|(_, r)| record_leaf_hash(r)))
}

/// An (unsigned) tree head for the first `size` events.
pub fn tree_head(history: &[(u64, pb::EventRecord)], size: u64) -> TreeHead {
    TreeHead {
        tree_size: size,
        root: tree(history).root(size).expect("size within history"),
        timestamp_micros: 1_750_000_000_000_000,
        node: "hub-hangzhou-1".to_owned(),
    }
}

/// Positions of the events of `origin`, in order.
pub fn positions_of(history: &[(u64, pb::EventRecord)], origin: &str) -> Vec<u64> {
    history
        .iter()
        .filter(|(_, r)| r.origin == origin)
        .map(|(p, _)| *p)
        .collect()
}
