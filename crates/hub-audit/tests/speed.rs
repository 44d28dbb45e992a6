//! Throughput figures, ignored by default:
//! `cargo test --release -p hub-audit --test speed -- --ignored --nocapture`.

mod support;

use std::hint::black_box;
use std::time::Instant;

use hub_audit::{leaf_hash, verify_inclusion, MerkleTree, Verifier};
use rand::{Rng, SeedableRng};

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn measure_speed() {
    // History verification: 3 origins, batches of 1..=16 events, one signature per batch.
    let events = 200_000;
    let mut members = support::members();
    let history = support::history(&mut members, events, 16, 42);
    let keys = support::roster(&members);
    let signatures = history
        .iter()
        .filter(|(_, r)| !r.signature.is_empty())
        .count();
    let started = Instant::now();
    let report = Verifier::new(&keys)
        .with_tree_head(support::tree_head(&history, events as u64))
        .verify(history.iter().cloned(), |_| {})
        .expect("valid history");
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(report.events, events as u64);
    println!(
        "verify: {events} events ({signatures} signatures) in {elapsed:.3} s = {:.0} events/s",
        events as f64 / elapsed
    );

    // Every event signed: the signature-bound rate.
    let mut members = support::members();
    let signed = support::history(&mut members, 50_000, 1, 43);
    let keys = support::roster(&members);
    let started = Instant::now();
    Verifier::new(&keys)
        .verify(signed.iter().cloned(), |_| {})
        .expect("valid history");
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "verify, every event signed: {} events in {elapsed:.3} s = {:.0} events/s",
        signed.len(),
        signed.len() as f64 / elapsed
    );

    // Proofs at one million leaves.
    let leaves = 1_000_000u64;
    let started = Instant::now();
    let tree = MerkleTree::from_leaf_hashes((0..leaves).map(|i| leaf_hash(&i.to_be_bytes())));
    println!(
        "merkle: built {leaves} leaves in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let root = tree.current_root();
    let rounds = 20_000;
    let picks: Vec<u64> = (0..rounds).map(|_| rng.gen_range(0..leaves)).collect();
    let started = Instant::now();
    for &index in &picks {
        black_box(tree.inclusion_proof(index, leaves).expect("in range"));
    }
    let inclusion_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let started = Instant::now();
    for &old in &picks {
        black_box(
            tree.consistency_proof(old.max(1), leaves)
                .expect("in range"),
        );
    }
    let consistency_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let started = Instant::now();
    for &size in &picks {
        black_box(tree.root(size).expect("in range"));
    }
    let root_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let index = picks[0];
    let proof = tree.inclusion_proof(index, leaves).expect("in range");
    let leaf = tree.leaf(index).expect("held");
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(black_box(verify_inclusion(
            &leaf, index, leaves, &proof, &root
        )));
    }
    let verify_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!(
        "merkle at {leaves} leaves: inclusion proof {inclusion_us:.2} µs, consistency proof {consistency_us:.2} µs, prefix root {root_us:.2} µs, inclusion verify {verify_us:.2} µs"
    );
    assert!(inclusion_us < 1000.0);
}
