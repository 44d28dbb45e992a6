//! Convergence: events of three origins, each written on its own city's log, replicated into
//! fresh logs through `Log::ingest` in different interleavings (each origin's order kept),
//! fold to views with the same digest, the same origin vector and the same answers.

mod support;

use hub_log::{Log, MemStore};
use hub_proto::pb;
use hub_types::values::{CloseReason, Industry};
use hub_types::{Body, MemberId};
use hub_view::{Cut, View};
use proptest::prelude::*;
use support::*;

const ORIGINS: [&str; 3] = [SHANGHAI, SUZHOU, JIAXING];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// splitmix64: a tiny deterministic generator, so an interleaving is named by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % bound as u64) as usize
    }
}

/// Each origin's events written on that origin's own log, as its node would; returns the
/// records of every origin in its order.
async fn origin_logs(events: &[(MemberId, hub_types::Body)]) -> Vec<Vec<pb::EventRecord>> {
    let mut out = Vec::new();
    for city in ORIGINS {
        let log = Log::in_memory();
        let own: Vec<_> = events
            .iter()
            .filter(|(origin, _)| *origin == m(city))
            .cloned()
            .collect();
        append_all(&log, &own).await;
        out.push(records(&log));
    }
    out
}

/// A fresh log holding every origin's records, taken in a random interleaving named by
/// `seed` (runs of 1–3 events of one origin) and ingested in batches of 1–4.
async fn replicate(per_origin: &[Vec<pb::EventRecord>], seed: u64) -> Log<MemStore> {
    let mut rng = Rng(seed);
    let mut next = vec![0; per_origin.len()];
    let mut order = Vec::new();
    loop {
        let open: Vec<usize> = (0..per_origin.len())
            .filter(|o| next[*o] < per_origin[*o].len())
            .collect();
        if open.is_empty() {
            break;
        }
        let o = open[rng.next(open.len())];
        for _ in 0..=rng.next(3) {
            if let Some(record) = per_origin[o].get(next[o]) {
                order.push(record.clone());
                next[o] += 1;
            }
        }
    }
    let log = Log::in_memory();
    let mut rest = order.as_slice();
    while !rest.is_empty() {
        let n = (1 + rng.next(4)).min(rest.len());
        ingest_all(&log, &rest[..n], n).await;
        rest = &rest[n..];
    }
    log
}

fn info(view: &View) -> pb::ViewInfoResponse {
    view.info(&pb::ViewInfoRequest::default())
        .expect("view info")
}

fn assert_same_view(a: &View, a_log: &Log<MemStore>, b: &View) {
    assert_eq!(a.digest(Cut::Newest), b.digest(Cut::Newest));
    let (ia, ib) = (info(a), info(b));
    assert_eq!(ia, ib);
    let vector: Vec<(String, u64)> = ia
        .origin_vector
        .iter()
        .map(|o| (o.origin.clone(), o.origin_seq))
        .collect();
    let expected: Vec<(String, u64)> = a_log
        .origin_vector()
        .into_iter()
        .map(|(origin, seq)| (origin.to_string(), seq.get()))
        .collect();
    assert_eq!(vector, expected, "the view's origin vector is the log's");
    let now = pb::TimeAxes::default();
    assert_eq!(battery(a, &now, &ORIGINS), battery(b, &now, &ORIGINS));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_interleaving_of_origins_folds_to_the_same_view(
        ops in ops(3, 1..80),
        seed_a in any::<u64>(),
        seed_b in any::<u64>(),
    ) {
        let events = script(&ORIGINS, &ops);
        runtime().block_on(async {
            let per_origin = origin_logs(&events).await;
            let (log_a, log_b) = (
                replicate(&per_origin, seed_a).await,
                replicate(&per_origin, seed_b).await,
            );
            assert_eq!(log_a.head(), events.len() as u64);
            assert_eq!(log_b.head(), events.len() as u64);
            let a = View::open(config(), &log_a).expect("open view a");
            let b = View::open(config(), &log_b).expect("open view b");
            assert_same_view(&a, &log_a, &b);

            // A node where every city appended directly is one more interleaving.
            let direct = Log::in_memory();
            append_all(&direct, &events).await;
            let c = View::open(config(), &direct).expect("open view c");
            assert_same_view(&c, &direct, &a);
        });
    }
}

#[tokio::test]
async fn opposite_orders_of_origins_give_other_positions_but_one_view() {
    let s = subject(9);
    let events = vec![
        (m(SHANGHAI), added("sh-1", &s, "2026-01-01", "2027-12-31")),
        (m(SHANGHAI), suspended("sh-1", "2026-03-01")),
        (
            m(SUZHOU),
            Body::DemandSignalPublished(terms(
                "sz-ic-1",
                Industry::IntegratedCircuits,
                "2-02-09-06",
                40,
                "2026-Q2",
                (20000, 30000),
            )),
        ),
        (
            m(SUZHOU),
            closed("sz-ic-1", CloseReason::Filled, 38, "2026-06-15"),
        ),
        (m(JIAXING), added("jx-1", &s, "2026-02-01", "2027-12-31")),
    ];
    let per_origin = origin_logs(&events).await;
    let forwards = Log::in_memory();
    let backwards = Log::in_memory();
    for records in &per_origin {
        ingest_all(&forwards, records, 10).await;
    }
    for records in per_origin.iter().rev() {
        ingest_all(&backwards, records, 1).await;
    }
    let first = |log: &Log<MemStore>| {
        log.get(hub_types::Position::FIRST)
            .expect("read")
            .expect("position 1")
            .record
            .origin
    };
    assert_eq!(first(&forwards), SHANGHAI);
    assert_eq!(first(&backwards), JIAXING);

    let a = View::open(config(), &forwards).expect("open");
    let b = View::open(config(), &backwards).expect("open");
    assert_same_view(&a, &forwards, &b);
    // Positions differ, so record-time answers differ at the same position …
    let at_2 = |v: &View| {
        v.check_subject(&pb::CheckSubjectRequest {
            time: on("2026-04-01", 2),
            subject_ref: s.clone(),
            ..Default::default()
        })
        .expect("check")
    };
    assert_eq!(
        at_2(&a).entries.len(),
        1,
        "Shanghai's two events came first"
    );
    assert_eq!(at_2(&b).entries.len(), 1, "Jiaxing's entry came first");
    assert_eq!(at_2(&a).entries[0].origin, SHANGHAI);
    assert_eq!(at_2(&b).entries[0].origin, JIAXING);
    // … while the newest answers agree, entries in key order whatever the arrival order.
    let now = |v: &View| {
        v.check_subject(&pb::CheckSubjectRequest {
            time: on("2026-04-01", 0),
            subject_ref: s.clone(),
            ..Default::default()
        })
        .expect("check")
    };
    assert_eq!(now(&a), now(&b));
    let origins: Vec<String> = now(&a).entries.into_iter().map(|e| e.origin).collect();
    assert_eq!(origins, [SHANGHAI, JIAXING]);
}
