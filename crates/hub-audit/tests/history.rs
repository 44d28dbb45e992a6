//! The offline verifier over signed histories: a valid one passes, and each kind of
//! tampering is caught at the position where it happened.

mod support;

use std::collections::BTreeMap;

use hub_audit::{sign_chain_head, Error, Report, TreeHead, Verifier, VerifyingKey};
use hub_proto::pb::EventRecord;
use proptest::prelude::*;
use support::{history, members, positions_of, roster, tree, tree_head};

type History = Vec<(u64, EventRecord)>;

const EVENTS: usize = 300;

fn fixture() -> (History, BTreeMap<String, VerifyingKey>) {
    let mut members = members();
    let history = history(&mut members, EVENTS, 6, 7);
    (history, roster(&members))
}

fn verify(
    history: &History,
    keys: &BTreeMap<String, VerifyingKey>,
    head: Option<TreeHead>,
) -> Result<Report, Error> {
    let mut verifier = Verifier::new(keys).progress_every(0);
    if let Some(head) = head {
        verifier = verifier.with_tree_head(head);
    }
    verifier.verify(history.iter().cloned(), |_| {})
}

/// The position and message of the problem found.
fn problem(result: Result<Report, Error>) -> (u64, String) {
    match result {
        Err(Error::Problem { position, what }) => (position, what),
        other => panic!("expected a problem, got {other:?}"),
    }
}

fn index(position: u64) -> usize {
    usize::try_from(position - 1).unwrap()
}

fn is_signed(history: &History, position: u64) -> bool {
    !history[index(position)].1.signature.is_empty()
}

#[test]
fn valid_history_verifies_with_and_without_tree_heads() {
    let (history, keys) = fixture();
    let report = verify(&history, &keys, None).unwrap();
    assert_eq!(report.events, EVENTS as u64);
    assert_eq!(report.root, tree(&history).current_root());
    assert_eq!(report.origins.len(), 3);
    let signed = history
        .iter()
        .filter(|(_, r)| !r.signature.is_empty())
        .count();
    assert_eq!(report.signatures, signed as u64);
    assert!(signed < EVENTS / 2, "most events ride on a batch signature");
    for (origin, end) in &report.origins {
        let last = *positions_of(&history, origin).last().unwrap();
        assert_eq!(end.position, last);
        assert_eq!(
            end.head.seq.get(),
            positions_of(&history, origin).len() as u64
        );
    }

    for size in [0, 1, 150, 299, 300] {
        verify(&history, &keys, Some(tree_head(&history, size))).unwrap();
    }
}

#[test]
fn progress_is_reported_every_n_events_and_at_the_end() {
    let (history, keys) = fixture();
    let mut seen = Vec::new();
    Verifier::new(&keys)
        .progress_every(128)
        .verify(history.iter().cloned(), |done| seen.push(done))
        .unwrap();
    assert_eq!(seen, vec![128, 256, 300]);
}

#[test]
fn a_flipped_body_byte_is_located_at_the_altered_event() {
    let (history, keys) = fixture();
    let origin = "330100";
    let mine = positions_of(&history, origin);
    let unsigned_first = *mine.iter().find(|&&p| !is_signed(&history, p)).unwrap();
    let signed_middle = *mine[..mine.len() - 1]
        .iter()
        .find(|&&p| is_signed(&history, p))
        .unwrap();
    let last = *mine.last().unwrap();
    for position in [mine[0], unsigned_first, signed_middle, last, 1, 150, 300] {
        let mut tampered = history.clone();
        let body = &mut tampered[index(position)].1.body;
        let at = body.len() / 2;
        body[at] ^= 0x20;
        let (found, what) = problem(verify(&tampered, &keys, None));
        assert_eq!(found, position, "{what}");
    }
}

#[test]
fn a_dropped_event_is_located_where_it_is_missing() {
    let (history, keys) = fixture();
    let mut tampered = history.clone();
    tampered.remove(index(120));
    let (position, what) = problem(verify(&tampered, &keys, None));
    assert_eq!(
        (position, what.as_str()),
        (120, "position 120 missing (found 121)")
    );

    // Renumbered to hide the gap: the origin's chain skips a seq at its next event.
    let dropped = &history[index(120)].1;
    let next_of_origin = *positions_of(&history, &dropped.origin)
        .iter()
        .find(|&&p| p > 120)
        .unwrap();
    for (i, (position, _)) in tampered.iter_mut().enumerate() {
        *position = i as u64 + 1;
    }
    let (position, what) = problem(verify(&tampered, &keys, None));
    assert_eq!(position, next_of_origin - 1, "{what}");
    assert!(
        what.contains(&format!("follows seq {}", dropped.origin_seq - 1)),
        "{what}"
    );
}

#[test]
fn swapped_events_of_one_origin_are_located_at_the_first() {
    let (history, keys) = fixture();
    let mine = positions_of(&history, "310000");
    let (a, b) = (mine[10], mine[11]);
    let mut tampered = history.clone();
    let record_a = tampered[index(a)].1.clone();
    tampered[index(a)].1 = tampered[index(b)].1.clone();
    tampered[index(b)].1 = record_a;
    let (position, what) = problem(verify(&tampered, &keys, None));
    assert_eq!(position, a, "{what}");
    assert!(what.contains("origin 310000 seq"), "{what}");
}

#[test]
fn swapped_events_of_two_origins_change_only_the_root() {
    let (history, keys) = fixture();
    let a = (1..EVENTS as u64)
        .find(|&p| history[index(p)].1.origin != history[index(p + 1)].1.origin)
        .unwrap();
    let mut tampered = history.clone();
    tampered.swap(index(a), index(a + 1));
    tampered[index(a)].0 = a;
    tampered[index(a + 1)].0 = a + 1;
    // Each origin's chain is intact: only the node's log order changed.
    verify(&tampered, &keys, None).unwrap();
    let head = tree_head(&history, EVENTS as u64);
    let (position, what) = problem(verify(&tampered, &keys, Some(head)));
    assert_eq!(position, EVENTS as u64);
    assert!(what.starts_with("root mismatch at size 300"), "{what}");
}

#[test]
fn a_signature_by_another_key_is_located() {
    let (history, keys) = fixture();
    let intruder = hub_audit::generate();
    let signed: Vec<u64> = (1..=EVENTS as u64)
        .filter(|&p| is_signed(&history, p))
        .collect();
    for position in [signed[0], signed[signed.len() / 2], *signed.last().unwrap()] {
        let mut tampered = history.clone();
        let record = &mut tampered[index(position)].1;
        let hash = hub_proto::record::record_hash(record);
        record.signature = sign_chain_head(&intruder, &record.origin, record.origin_seq, &hash)
            .unwrap()
            .to_vec();
        let (found, what) = problem(verify(&tampered, &keys, None));
        assert_eq!(found, position, "{what}");
        assert!(
            what.starts_with("signature does not verify with the key of origin"),
            "{what}"
        );
    }
}

#[test]
fn a_forged_signature_among_many_batches_is_located() {
    let mut members = members();
    // Every event signed: several full signature batches.
    let history = history(&mut members, 1500, 1, 11);
    let keys = roster(&members);
    verify(&history, &keys, None).unwrap();
    for position in [1, 700, 1024, 1500] {
        let mut tampered = history.clone();
        tampered[index(position)].1.signature[5] ^= 0x01;
        let (found, what) = problem(verify(&tampered, &keys, None));
        assert_eq!(found, position, "{what}");
    }
}

#[test]
fn a_truncated_tail_is_caught_by_a_longer_tree_head() {
    let (history, keys) = fixture();
    let head = tree_head(&history, EVENTS as u64);
    let truncated: History = history[..280].to_vec();
    let (position, what) = problem(verify(&truncated, &keys, Some(head)));
    assert_eq!(position, 281, "{what}");
    assert!(what.contains("covers 300 events"), "{what}");
}

#[test]
fn a_wrong_tree_head_root_is_located_at_its_size() {
    let (history, keys) = fixture();
    let mut head = tree_head(&history, 200);
    head.root[31] ^= 0x80;
    let (position, what) = problem(verify(&history, &keys, Some(head)));
    assert_eq!(position, 200);
    assert!(what.starts_with("root mismatch at size 200"), "{what}");

    let off_by_one = TreeHead {
        tree_size: 200,
        ..tree_head(&history, 199)
    };
    assert_eq!(problem(verify(&history, &keys, Some(off_by_one))).0, 200);

    let empty = TreeHead {
        tree_size: 0,
        ..tree_head(&history, 1)
    };
    assert_eq!(problem(verify(&history, &keys, Some(empty))).0, 0);
}

#[test]
fn an_unsigned_tail_is_rejected() {
    let (history, keys) = fixture();
    let mine = positions_of(&history, "330400");
    let last = *mine.last().unwrap();
    let mut tampered = history.clone();
    tampered[index(last)].1.signature.clear();
    let previous_signed = *mine[..mine.len() - 1]
        .iter()
        .rev()
        .find(|&&p| is_signed(&history, p))
        .unwrap();
    let first_unsigned = *mine.iter().find(|&&p| p > previous_signed).unwrap();
    let signed_seq = history[index(previous_signed)].1.origin_seq;
    let (position, what) = problem(verify(&tampered, &keys, None));
    assert_eq!(position, first_unsigned);
    assert_eq!(
        what,
        format!("origin 330400 events after seq {signed_seq} are not signed")
    );
}

#[test]
fn an_altered_prev_hash_is_blamed_on_the_event_holding_it() {
    let (history, keys) = fixture();
    let mine = positions_of(&history, "330100");
    let unsigned = *mine[1..]
        .iter()
        .find(|&&p| !is_signed(&history, p))
        .unwrap();
    let signed = *mine[1..].iter().find(|&&p| is_signed(&history, p)).unwrap();
    for position in [unsigned, signed] {
        let mut tampered = history.clone();
        tampered[index(position)].1.prev_hash[0] ^= 1;
        let (found, what) = problem(verify(&tampered, &keys, None));
        assert_eq!(found, position, "{what}");
        assert!(
            what.starts_with("prev_hash does not match the previous event of origin 330100"),
            "{what}"
        );
    }
}

#[test]
fn unknown_origins_and_bad_positions_are_problems() {
    let (history, mut keys) = fixture();
    keys.remove("330400");
    let first = positions_of(&history, "330400")[0];
    let (position, what) = problem(verify(&history, &keys, None));
    assert_eq!(
        (position, what.as_str()),
        (first, "origin 330400 has no public key")
    );

    let (history, keys) = fixture();
    let mut duplicated = history.clone();
    duplicated.insert(10, history[9].clone());
    let (position, what) = problem(verify(&duplicated, &keys, None));
    assert_eq!(
        (position, what.as_str()),
        (10, "position 10 out of order (expected 11)")
    );

    let starts_late: History = history[1..].to_vec();
    assert_eq!(problem(verify(&starts_late, &keys, None)).0, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_flipped_body_bit_is_located_exactly(position in 1..=EVENTS as u64, byte in any::<prop::sample::Index>(), bit in 0..8u8) {
        let (history, keys) = fixture();
        let mut tampered = history.clone();
        let body = &mut tampered[index(position)].1.body;
        let at = byte.index(body.len());
        body[at] ^= 1 << bit;
        let (found, what) = problem(verify(&tampered, &keys, None));
        prop_assert_eq!(found, position, "{}", what);
    }
}
