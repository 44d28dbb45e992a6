//! The access trail's hash chain: every check of a person made on a node (who, when,
//! which subject, how many entries were returned), chained so that a removed or altered
//! entry is evident to an auditor reading it back.
//!
//! Entry `n` has `hash = SHA-256(prev_hash ‖ n ‖ at ‖ member ‖ 0 ‖ role ‖ 0 ‖ subject_ref
//! ‖ 0 ‖ results)` (integers big-endian) and `prev_hash` = the hash of entry `n - 1`
//! (32 zero bytes for the first).

use hub_proto::pb::AccessEntry;
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The `prev_hash` of the first entry.
pub const TRAIL_START: Hash = [0; 32];

/// The hash of an entry from its fields and `prev_hash`.
pub fn entry_hash(e: &AccessEntry) -> Hash {
    let mut h = Sha256::new();
    h.update(&e.prev_hash);
    h.update(e.seq.to_be_bytes());
    h.update(e.at_micros.to_be_bytes());
    for field in [&e.caller_member, &e.caller_role, &e.subject_ref] {
        h.update(field.as_bytes());
        h.update([0]);
    }
    h.update(e.results.to_be_bytes());
    h.finalize().into()
}

/// Where a trail's chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailBreak {
    /// The entry of sequence `expected` is not where it should be.
    #[error("entry {expected} is missing (found {found})")]
    Missing {
        /// The sequence due.
        expected: u64,
        /// The sequence found in its place.
        found: u64,
    },
    /// The entry does not link to the one before.
    #[error("entry {0}: prev_hash does not match the previous entry")]
    Unlinked(u64),
    /// The entry's hash is not the hash of its content.
    #[error("entry {0}: hash does not match the entry's content")]
    Altered(u64),
}

impl TrailBreak {
    /// The sequence where the chain breaks.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Missing { expected, .. } => *expected,
            Self::Unlinked(seq) | Self::Altered(seq) => *seq,
        }
    }
}

/// Checks that `entries`, consecutive after the entry of sequence `seq` whose hash is
/// `prev` (`0` and [`TRAIL_START`] for a trail read from its start), form an unbroken chain.
pub fn verify_trail(
    entries: &[AccessEntry],
    mut prev: Hash,
    mut seq: u64,
) -> Result<(), TrailBreak> {
    for e in entries {
        seq += 1;
        if e.seq != seq {
            return Err(TrailBreak::Missing {
                expected: seq,
                found: e.seq,
            });
        }
        if e.prev_hash != prev {
            return Err(TrailBreak::Unlinked(seq));
        }
        let hash = entry_hash(e);
        if e.hash != hash {
            return Err(TrailBreak::Altered(seq));
        }
        prev = hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AccessEntry> {
        let mut prev = TRAIL_START;
        (1..=n)
            .map(|seq| {
                let mut e = AccessEntry {
                    seq,
                    at_micros: 1_700_000_000_000_000 + seq as i64,
                    caller_member: "330400".into(),
                    caller_role: "member".into(),
                    subject_ref: format!("{seq:064x}"),
                    results: (seq % 3) as u32,
                    prev_hash: prev.to_vec(),
                    hash: Vec::new(),
                };
                prev = entry_hash(&e);
                e.hash = prev.to_vec();
                e
            })
            .collect()
    }

    #[test]
    fn an_unbroken_trail_verifies_whole_and_from_any_entry() {
        let entries = chain(5);
        assert_eq!(verify_trail(&entries, TRAIL_START, 0), Ok(()));
        let prev: Hash = entries[1].hash.as_slice().try_into().expect("32 bytes");
        assert_eq!(verify_trail(&entries[2..], prev, 2), Ok(()));
    }

    #[test]
    fn each_break_names_its_entry() {
        let mut gap = chain(5);
        gap.remove(2);
        assert_eq!(
            verify_trail(&gap, TRAIL_START, 0),
            Err(TrailBreak::Missing {
                expected: 3,
                found: 4
            })
        );
        let mut altered = chain(5);
        altered[3].results += 1;
        assert_eq!(
            verify_trail(&altered, TRAIL_START, 0),
            Err(TrailBreak::Altered(4))
        );
        let mut rechained = chain(5);
        rechained[3].results += 1;
        rechained[3].hash = entry_hash(&rechained[3]).to_vec();
        assert_eq!(
            verify_trail(&rechained, TRAIL_START, 0),
            Err(TrailBreak::Unlinked(5))
        );
        assert_eq!(TrailBreak::Unlinked(5).seq(), 5);
    }
}
