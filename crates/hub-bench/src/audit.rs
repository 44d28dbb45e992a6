//! `hub-bench audit`: how fast a history verifies (signatures checked in batches, chains,
//! the Merkle root) and how long proofs take on a large tree.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use hub_audit::{leaf_hash, MerkleTree, TreeHead, Verifier};
use hub_log::conformance::demand_event;
use hub_log::Log;
use hub_server::keys::{dev_key, CitySigner};
use hub_types::{ExpectedVersion, MemberId, StreamId};

use crate::figure::report;

/// Flags of `hub-bench audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the verified history.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Leaves of the tree the proofs are made on.
    #[arg(long, default_value_t = 1_000_000)]
    leaves: u64,
    /// Proofs timed.
    #[arg(long, default_value_t = 10_000)]
    proofs: usize,
}

/// Runs the benchmark.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let cities: Vec<MemberId> = ["310000", "330100", "330400"]
        .iter()
        .map(|c| c.parse())
        .collect::<Result<_, _>>()?;
    let keys: BTreeMap<_, _> = cities
        .iter()
        .map(|c| dev_key(*c).map(|k| (*c, k)))
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow::anyhow!("no development key"))?;
    let roster = keys
        .iter()
        .map(|(c, k)| (c.to_string(), k.verifying_key()))
        .collect::<BTreeMap<_, _>>();
    let log = Log::in_memory_signed(Arc::new(CitySigner::new(keys)));
    eprintln!("building a signed history of {} events…", args.events);
    let mut appended = 0u64;
    let mut batch = 1usize;
    while appended < args.events {
        let city = cities[(appended as usize) % cities.len()];
        let stream: StreamId = format!("demand/{city}/s{}", appended % 997).parse()?;
        let n = batch.min((args.events - appended) as usize);
        let events = (0..n).map(|_| demand_event(&stream, 5)).collect();
        log.append(&stream, ExpectedVersion::Any, events).await?;
        appended += n as u64;
        batch = batch % 16 + 1;
    }
    let history: Vec<_> = log
        .read_all(hub_types::Position::FIRST, args.events as usize)?
        .into_iter()
        .map(|e| (e.position.get(), e.record))
        .collect();
    let tree =
        MerkleTree::from_leaf_hashes(history.iter().map(|(_, r)| hub_audit::record_leaf_hash(r)));
    let head = TreeHead {
        tree_size: tree.len(),
        root: tree.current_root(),
        timestamp_micros: 0,
        node: String::new(),
    };
    let started = Instant::now();
    let verified = Verifier::new(&roster)
        .with_tree_head(head)
        .verify(history, |_| {})?;
    let secs = started.elapsed().as_secs_f64();
    report(
        "audit.verify.rate",
        verified.events as f64 / secs,
        "events/s",
    );
    report(
        "audit.verify.signatures",
        verified.signatures as f64,
        "signatures",
    );

    eprintln!("building a tree of {} leaves…", args.leaves);
    let tree = MerkleTree::from_leaf_hashes((0..args.leaves).map(|i| leaf_hash(&i.to_be_bytes())));
    let size = tree.len();
    let mut inclusion = Vec::with_capacity(args.proofs);
    let mut consistency = Vec::with_capacity(args.proofs);
    for i in 0..args.proofs as u64 {
        let index = (i.wrapping_mul(2_654_435_761)) % size;
        let started = Instant::now();
        std::hint::black_box(tree.inclusion_proof(index, size)?);
        inclusion.push(started.elapsed().as_secs_f64() * 1e6);
        let old = 1 + index % (size - 1);
        let started = Instant::now();
        std::hint::black_box(tree.consistency_proof(old, size)?);
        consistency.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p) as usize]
    };
    report("audit.inclusion_proof.p50", pct(&mut inclusion, 0.5), "us");
    report("audit.inclusion_proof.p99", pct(&mut inclusion, 0.99), "us");
    report(
        "audit.consistency_proof.p50",
        pct(&mut consistency, 0.5),
        "us",
    );
    report(
        "audit.consistency_proof.p99",
        pct(&mut consistency, 0.99),
        "us",
    );
    Ok(())
}
