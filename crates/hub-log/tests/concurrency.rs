//! Many writers racing on one stream: optimistic concurrency picks exactly one winner per
//! version, and positions stay gap-free.

use std::collections::BTreeSet;

use hub_log::conformance::{demand_event, stream};
use hub_log::{Error, Log};
use hub_types::ExpectedVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exact_version_races_have_one_winner_per_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path()).expect("open");
    let s = stream("330400", "race");
    let tasks = 32;
    let rounds = 8;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let log = log.clone();
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            let mut conflicts = 0;
            let mut expected = 0;
            while wins.len() < rounds && expected < (tasks * rounds) as u64 {
                match log
                    .append(
                        &s,
                        ExpectedVersion::Exact(expected),
                        vec![demand_event(&s, 1)],
                    )
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.stream_version, expected + 1);
                        wins.push(r.stream_version);
                        expected += 1;
                    }
                    Err(Error::WrongExpectedVersion { actual, .. }) => {
                        assert!(actual > expected, "a conflict reports the newer version");
                        conflicts += 1;
                        expected = actual;
                    }
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (wins, conflicts)
        }));
    }
    let mut all_wins = Vec::new();
    let mut total_conflicts = 0;
    for h in handles {
        let (wins, conflicts) = h.await.expect("task");
        all_wins.extend(wins);
        total_conflicts += conflicts;
    }
    let unique: BTreeSet<u64> = all_wins.iter().copied().collect();
    assert_eq!(unique.len(), all_wins.len(), "no version was won twice");
    let version = log.stream_version(&s).expect("version");
    assert_eq!(
        unique,
        (1..=version).collect(),
        "every version has exactly one winner"
    );
    assert!(total_conflicts > 0, "the race produced conflicts");
    let positions: Vec<u64> = log
        .read_all(hub_types::Position::FIRST, 100_000)
        .expect("read")
        .iter()
        .map(|e| e.position.get())
        .collect();
    assert_eq!(positions, (1..=log.head()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_to_many_streams_are_all_durable_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let log = Log::open(dir.path()).expect("open");
        let mut handles = Vec::new();
        for t in 0..16 {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                let s = stream("310000", &format!("w{t}"));
                for _ in 0..20 {
                    log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
                        .await
                        .expect("append");
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        assert_eq!(log.head(), 320);
        log.close().await;
    }
    let log = Log::open(dir.path()).expect("reopen");
    assert_eq!(log.head(), 320);
    assert_eq!(
        log.origin_vector()
            .values()
            .map(|s| s.get())
            .collect::<Vec<_>>(),
        vec![320]
    );
    let err = log
        .append(
            &stream("310000", "w0"),
            ExpectedVersion::Exact(3),
            vec![demand_event(&stream("310000", "w0"), 1)],
        )
        .await
        .expect_err("stale");
    assert!(
        matches!(err, Error::WrongExpectedVersion { actual: 20, .. }),
        "{err}"
    );
}
