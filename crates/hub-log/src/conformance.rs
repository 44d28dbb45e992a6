//! The log's contract as tests: every [`Store`] must pass them. Each function builds what
//! it needs on a fresh log from `new_log` and panics on a violation.

use hub_types::event::DemandTerms;
use hub_types::values::{Education, Industry, PayBand, Text};
use hub_types::{Body, EventId, ExpectedVersion, NewEvent, OriginSeq, Position, StreamId};

use crate::{Direction, Error, Log, Store};

/// A valid demand event for `stream` (a `demand/<member>/<id>` stream).
pub fn demand_event(stream: &StreamId, headcount: u32) -> NewEvent {
    let signal_id = stream.local().expect("a demand stream has an id").clone();
    NewEvent {
        event_id: EventId::new_random(),
        body: Body::DemandSignalPublished(DemandTerms {
            signal_id,
            industry: Industry::IntegratedCircuits,
            occupation_code: "2-02-09-03".parse().expect("valid code"),
            level: Text::new("senior", 64, true).expect("valid text"),
            headcount,
            period: "2026-Q1".parse().expect("valid period"),
            pay_band: PayBand::new(20_000, 40_000).expect("valid band"),
            education: Education::Master,
        }),
    }
}

/// A demand stream of city `member`.
pub fn stream(member: &str, id: &str) -> StreamId {
    format!("demand/{member}/{id}")
        .parse()
        .expect("valid stream")
}

/// Runs every check of the contract.
pub async fn run_all<S: Store>(new_log: impl Fn() -> Log<S>) {
    positions_are_gap_free_and_streams_versioned(new_log()).await;
    expected_versions_are_enforced(new_log()).await;
    retries_are_idempotent_forever(new_log()).await;
    a_retry_must_repeat_the_stored_batch(new_log()).await;
    origins_are_hash_chained(new_log()).await;
    ingest_accepts_only_the_next_link(new_log()).await;
    reads_respect_direction_and_limits(new_log()).await;
    multi_event_appends_are_read_from_inside(new_log()).await;
    ingested_runs_are_read_from_inside(new_log()).await;
}

/// Positions are 1, 2, 3, … across streams; versions count per stream.
pub async fn positions_are_gap_free_and_streams_versioned<S: Store>(log: Log<S>) {
    let a = stream("330400", "a");
    let b = stream("310000", "b");
    let r1 = log
        .append(
            &a,
            ExpectedVersion::NoStream,
            vec![demand_event(&a, 1), demand_event(&a, 2)],
        )
        .await
        .expect("append a");
    assert_eq!(
        (r1.first.get(), r1.last.get(), r1.stream_version),
        (1, 2, 2)
    );
    let r2 = log
        .append(&b, ExpectedVersion::Any, vec![demand_event(&b, 3)])
        .await
        .expect("append b");
    assert_eq!(
        (r2.first.get(), r2.last.get(), r2.stream_version),
        (3, 3, 1)
    );
    assert_eq!(log.head(), 3);
    let all = log.read_all(Position::FIRST, 100).expect("read all");
    let positions: Vec<u64> = all.iter().map(|e| e.position.get()).collect();
    assert_eq!(positions, vec![1, 2, 3]);
    assert_eq!(log.stream_version(&a).expect("version"), 2);
    assert_eq!(
        log.stream_version(&stream("330400", "none"))
            .expect("version"),
        0
    );
}

/// Every kind of expectation admits and rejects as documented, writing nothing on rejection.
pub async fn expected_versions_are_enforced<S: Store>(log: Log<S>) {
    let s = stream("330400", "ev");
    let err = log
        .append(&s, ExpectedVersion::Exists, vec![demand_event(&s, 1)])
        .await
        .expect_err("exists on an empty stream");
    assert!(
        matches!(err, Error::WrongExpectedVersion { actual: 0, .. }),
        "{err}"
    );
    log.append(&s, ExpectedVersion::Exact(0), vec![demand_event(&s, 1)])
        .await
        .expect("exact(0) on an empty stream");
    let err = log
        .append(&s, ExpectedVersion::NoStream, vec![demand_event(&s, 1)])
        .await
        .expect_err("no_stream on an existing stream");
    assert!(
        matches!(err, Error::WrongExpectedVersion { actual: 1, .. }),
        "{err}"
    );
    let err = log
        .append(&s, ExpectedVersion::Exact(5), vec![demand_event(&s, 1)])
        .await
        .expect_err("stale exact");
    assert!(
        matches!(err, Error::WrongExpectedVersion { actual: 1, .. }),
        "{err}"
    );
    log.append(&s, ExpectedVersion::Exact(1), vec![demand_event(&s, 1)])
        .await
        .expect("exact(1)");
    log.append(&s, ExpectedVersion::Exists, vec![demand_event(&s, 1)])
        .await
        .expect("exists");
    assert_eq!(log.head(), 3, "rejected appends wrote nothing");
}

/// The same batch again returns the original positions; the same id with other content fails.
pub async fn retries_are_idempotent_forever<S: Store>(log: Log<S>) {
    let s = stream("330400", "idem");
    let batch = vec![demand_event(&s, 1), demand_event(&s, 2)];
    let first = log
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("first");
    for _ in 0..50 {
        let other = stream("310000", "filler");
        log.append(&other, ExpectedVersion::Any, vec![demand_event(&other, 1)])
            .await
            .expect("filler");
    }
    let again = log
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("retry");
    assert!(again.duplicate);
    assert_eq!((again.first, again.last), (first.first, first.last));
    let mut changed = batch.clone();
    changed[1] = NewEvent {
        event_id: batch[1].event_id,
        ..demand_event(&s, 99)
    };
    let err = log
        .append(&s, ExpectedVersion::Any, changed)
        .await
        .expect_err("same id, other content");
    assert!(matches!(err, Error::EventIdReused { .. }), "{err}");
    let partial = vec![batch[0].clone(), demand_event(&s, 3)];
    let err = log
        .append(&s, ExpectedVersion::Any, partial)
        .await
        .expect_err("partial retry");
    assert!(matches!(err, Error::PartialRetry { .. }), "{err}");
    assert_eq!(log.stream_version(&s).expect("version"), 2);
}

/// A retry answers the stored positions only when it repeats one stored batch exactly:
/// reordered, shortened or stitched-together retries are refused and change nothing.
pub async fn a_retry_must_repeat_the_stored_batch<S: Store>(log: Log<S>) {
    let filler = stream("310000", "filler");
    for i in 0..5 {
        log.append(
            &filler,
            ExpectedVersion::Any,
            vec![demand_event(&filler, i)],
        )
        .await
        .expect("filler");
    }
    let s = stream("330400", "order");
    let batch = vec![demand_event(&s, 1), demand_event(&s, 2)];
    let stored = log
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .expect("batch");
    assert_eq!(
        (stored.first.get(), stored.last.get(), stored.stream_version),
        (6, 7, 2)
    );
    let singles = stream("330400", "singles");
    let one = demand_event(&singles, 1);
    let two = demand_event(&singles, 2);
    for e in [&one, &two] {
        log.append(&singles, ExpectedVersion::Any, vec![e.clone()])
            .await
            .expect("single");
    }
    let head = log.head();

    let refused: [(&str, &StreamId, Vec<NewEvent>); 4] = [
        ("reordered", &s, vec![batch[1].clone(), batch[0].clone()]),
        ("first half", &s, vec![batch[0].clone()]),
        ("second half", &s, vec![batch[1].clone()]),
        (
            "two batches as one",
            &singles,
            vec![one.clone(), two.clone()],
        ),
    ];
    for (what, stream, events) in refused {
        let err = log
            .append(stream, ExpectedVersion::Any, events)
            .await
            .expect_err(what);
        assert!(
            matches!(err, Error::NotTheStoredBatch { .. }),
            "{what}: {err}"
        );
    }
    assert_eq!(log.head(), head, "refused retries wrote nothing");

    let again = log
        .append(&s, ExpectedVersion::Exact(0), batch)
        .await
        .expect("true retry");
    assert!(again.duplicate);
    assert_eq!(
        (again.first.get(), again.last.get(), again.stream_version),
        (6, 7, 2)
    );
    let again = log
        .append(&singles, ExpectedVersion::Any, vec![two])
        .await
        .expect("retry of a single");
    assert_eq!(
        (again.first.get(), again.last.get(), again.stream_version),
        (9, 9, 2)
    );
}

/// Each origin's events carry 1, 2, 3, … and link to the previous event's hash.
pub async fn origins_are_hash_chained<S: Store>(log: Log<S>) {
    for i in 0..5 {
        let s = stream("330400", &format!("c{i}"));
        log.append(
            &s,
            ExpectedVersion::Any,
            vec![demand_event(&s, 1), demand_event(&s, 2)],
        )
        .await
        .expect("append");
        let t = stream("310000", &format!("c{i}"));
        log.append(&t, ExpectedVersion::Any, vec![demand_event(&t, 1)])
            .await
            .expect("append");
    }
    let jx = "330400".parse().expect("member");
    let events = log.read_origin(jx, seq(1), 100).expect("read origin");
    assert_eq!(events.len(), 10);
    let mut prev = hub_proto::record::ZERO_HASH;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.record.origin_seq, i as u64 + 1);
        assert_eq!(e.record.prev_hash, prev.to_vec());
        prev = hub_proto::record::record_hash(&e.record);
    }
    assert_eq!(log.origin_vector().get(&jx), Some(&seq(10)));
    assert_eq!(log.origin_heads()[&jx].hash, prev);
}

/// Ingest takes the next link of a foreign chain, ignores what it has and refuses the rest.
pub async fn ingest_accepts_only_the_next_link<S: Store>(log: Log<S>) {
    let source = Log::in_memory();
    for i in 0..4 {
        let s = stream("320500", &format!("sz{i}"));
        source
            .append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
            .await
            .expect("source append");
    }
    let records: Vec<_> = source
        .read_all(Position::FIRST, 10)
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect();

    let results = log
        .ingest(parsed(vec![records[1].clone()]), vec![])
        .await
        .expect("ingest call");
    assert!(
        matches!(
            results[0],
            Err(Error::Gap {
                head: 0,
                got: 2,
                ..
            })
        ),
        "{:?}",
        results[0]
    );

    let mut tampered = records[0].clone();
    tampered.prev_hash = vec![1; 32];
    let results = log
        .ingest(parsed(vec![tampered]), vec![])
        .await
        .expect("ingest call");
    assert!(
        matches!(results[0], Err(Error::ChainBroken { .. })),
        "{:?}",
        results[0]
    );

    let results = log
        .ingest(
            parsed(vec![records[0].clone(), records[1].clone()]),
            vec![(b"offset".to_vec(), b"2".to_vec())],
        )
        .await
        .expect("ingest call");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(log.meta(b"offset").expect("meta"), Some(b"2".to_vec()));

    let results = log
        .ingest(parsed(records.clone()), vec![])
        .await
        .expect("ingest call");
    assert!(
        matches!(results[0], Ok(crate::Ingested::Duplicate(p)) if p.get() == 1),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(results[1], Ok(crate::Ingested::Duplicate(p)) if p.get() == 2),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Ok(crate::Ingested::Appended(p)) if p.get() == 3),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[3], Ok(crate::Ingested::Appended(p)) if p.get() == 4),
        "{:?}",
        results[3]
    );

    let mut forged = records[0].clone();
    forged.body.push(0);
    let results = log
        .ingest(parsed(vec![forged]), vec![])
        .await
        .expect("ingest call");
    assert!(results[0].is_err(), "an altered stored event is refused");
    assert_eq!(log.head(), 4);
    assert_eq!(log.origin_heads(), source.origin_heads());
}

/// Stream reads go both ways from a version and stop at the limit.
pub async fn reads_respect_direction_and_limits<S: Store>(log: Log<S>) {
    let s = stream("330400", "dir");
    for _ in 0..5 {
        log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
            .await
            .expect("append");
    }
    let versions = |events: Vec<crate::StoredEvent>| -> Vec<u64> {
        events.iter().map(|e| e.record.stream_version).collect()
    };
    let fwd = log
        .read_stream(&s, 2, Direction::Forwards, 2)
        .expect("read");
    assert_eq!(versions(fwd), vec![2, 3]);
    let back = log
        .read_stream(&s, 0, Direction::Backwards, 2)
        .expect("read");
    assert_eq!(versions(back), vec![5, 4]);
    let back = log
        .read_stream(&s, 3, Direction::Backwards, 10)
        .expect("read");
    assert_eq!(versions(back), vec![3, 2, 1]);
    assert!(log.read_all(pos(6), 10).expect("read").is_empty());
    assert_eq!(log.read_all(pos(2), 2).expect("read").len(), 2);
    let e = log.get(pos(3)).expect("get").expect("exists");
    assert_eq!(
        log.position_of(&e.record.event_id.parse().expect("id"))
            .expect("position"),
        Some(pos(3))
    );
}

/// Events appended together are found one by one: by position, and by stream or origin
/// reads that start inside an append, run across appends and go both ways.
pub async fn multi_event_appends_are_read_from_inside<S: Store>(log: Log<S>) {
    let a = stream("330400", "runs-a");
    let b = stream("330400", "runs-b");
    let batch = |s: &StreamId, n: u32| (1..=n).map(|i| demand_event(s, i)).collect::<Vec<_>>();
    log.append(&a, ExpectedVersion::NoStream, batch(&a, 5))
        .await
        .expect("a 1..=5");
    log.append(&b, ExpectedVersion::NoStream, batch(&b, 3))
        .await
        .expect("b 1..=3");
    log.append(&a, ExpectedVersion::Exact(5), batch(&a, 3))
        .await
        .expect("a 6..=8");
    // Large enough to fill several chunks of stored events.
    let big = log
        .append(&b, ExpectedVersion::Exact(3), batch(&b, 150))
        .await
        .expect("b 4..=153");
    assert_eq!(
        (big.first.get(), big.last.get(), big.stream_version),
        (12, 161, 153)
    );

    let versions = |events: &[crate::StoredEvent]| -> Vec<u64> {
        events.iter().map(|e| e.record.stream_version).collect()
    };
    let positions = |events: &[crate::StoredEvent]| -> Vec<u64> {
        events.iter().map(|e| e.position.get()).collect()
    };
    let fwd = log
        .read_stream(&a, 3, Direction::Forwards, 4)
        .expect("read");
    assert_eq!(versions(&fwd), vec![3, 4, 5, 6]);
    assert_eq!(positions(&fwd), vec![3, 4, 5, 9]);
    let fwd = log
        .read_stream(&a, 5, Direction::Forwards, 100)
        .expect("read");
    assert_eq!(versions(&fwd), vec![5, 6, 7, 8]);
    assert!(log
        .read_stream(&a, 9, Direction::Forwards, 100)
        .expect("read")
        .is_empty());
    let back = log
        .read_stream(&a, 7, Direction::Backwards, 4)
        .expect("read");
    assert_eq!(versions(&back), vec![7, 6, 5, 4]);
    assert_eq!(positions(&back), vec![10, 9, 5, 4]);
    let back = log
        .read_stream(&a, 1_000, Direction::Backwards, 100)
        .expect("read");
    assert_eq!(versions(&back), (1..=8).rev().collect::<Vec<_>>());
    let back = log
        .read_stream(&b, 0, Direction::Backwards, 152)
        .expect("read");
    assert_eq!(versions(&back), (2..=153).rev().collect::<Vec<_>>());
    let fwd = log
        .read_stream(&b, 2, Direction::Forwards, 100)
        .expect("read");
    assert_eq!(versions(&fwd), (2..=101).collect::<Vec<_>>());
    assert_eq!(log.stream_version(&a).expect("version"), 8);
    assert_eq!(log.stream_version(&b).expect("version"), 153);

    let jx = "330400".parse().expect("member");
    let seqs = |events: &[crate::StoredEvent]| -> Vec<u64> {
        events.iter().map(|e| e.record.origin_seq).collect()
    };
    let from_inside = log.read_origin(jx, seq(4), 5).expect("read origin");
    assert_eq!(seqs(&from_inside), vec![4, 5, 6, 7, 8]);
    let tail = log.read_origin(jx, seq(100), 1_000).expect("read origin");
    assert_eq!(seqs(&tail), (100..=161).collect::<Vec<_>>());
    assert!(log.read_origin(jx, seq(162), 10).expect("read").is_empty());

    let all = log.read_all(Position::FIRST, 1_000).expect("read all");
    assert_eq!(positions(&all), (1..=161).collect::<Vec<_>>());
    for page in [1, 7, 64] {
        let mut paged = Vec::new();
        let mut from = Position::FIRST;
        loop {
            let events = log.read_all(from, page).expect("read page");
            let Some(last) = events.last() else { break };
            from = last.position.next();
            paged.extend(events);
        }
        assert_eq!(paged, all, "pages of {page}");
    }
    for e in &all {
        let got = log.get(e.position).expect("get").expect("stored");
        assert_eq!(&got, e);
    }
    assert!(log.get(pos(162)).expect("get").is_none());
}

/// Foreign events ingested in one call are stored as runs that reads enter anywhere.
pub async fn ingested_runs_are_read_from_inside<S: Store>(log: Log<S>) {
    let source = Log::in_memory();
    let s = stream("320500", "runs");
    let t = stream("320500", "runs-t");
    source
        .append(
            &s,
            ExpectedVersion::Any,
            (1..=4).map(|i| demand_event(&s, i)).collect(),
        )
        .await
        .expect("source append");
    source
        .append(&t, ExpectedVersion::Any, vec![demand_event(&t, 1)])
        .await
        .expect("source append");
    source
        .append(&s, ExpectedVersion::Any, vec![demand_event(&s, 5)])
        .await
        .expect("source append");
    let records: Vec<_> = source
        .read_all(Position::FIRST, 10)
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect();
    let local = stream("330400", "local");
    log.append(&local, ExpectedVersion::Any, vec![demand_event(&local, 1)])
        .await
        .expect("local append");
    let results = log
        .ingest(parsed(records.clone()), vec![])
        .await
        .expect("ingest call");
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    let sz = "320500".parse().expect("member");
    let from_inside = log.read_origin(sz, seq(3), 10).expect("read origin");
    let got: Vec<_> = from_inside.iter().map(|e| e.record.clone()).collect();
    assert_eq!(got, records[2..].to_vec());
    assert_eq!(
        from_inside
            .iter()
            .map(|e| e.position.get())
            .collect::<Vec<_>>(),
        vec![4, 5, 6, 7]
    );
    let back = log
        .read_stream(&s, 0, Direction::Backwards, 3)
        .expect("read");
    let versions: Vec<u64> = back.iter().map(|e| e.record.stream_version).collect();
    assert_eq!(versions, vec![5, 4, 3]);
    assert_eq!(log.stream_version(&s).expect("version"), 5);
    let again = log
        .ingest(parsed(records), vec![])
        .await
        .expect("ingest call");
    assert!(
        matches!(again[..], [.., Ok(crate::Ingested::Duplicate(p))] if p.get() == 7),
        "{again:?}"
    );
}

/// Parses records for [`Log::ingest`], as the replication inbox does on arrival.
fn parsed(records: Vec<hub_proto::pb::EventRecord>) -> Vec<hub_proto::record::Record> {
    records
        .into_iter()
        .map(|r| hub_proto::record::Record::parse(r).expect("a well-formed record"))
        .collect()
}

fn pos(n: u64) -> Position {
    Position::new(n).expect("a position")
}

fn seq(n: u64) -> OriginSeq {
    OriginSeq::new(n).expect("an origin sequence")
}
