//! `ViewInfo`: the counts, origin vector and digest the view reports, and how events of
//! unknown kinds and ignored events are counted but not folded.

mod support;

use hub_log::Log;
use hub_proto::convert::timestamp_to_proto;
use hub_proto::pb;
use hub_types::values::CloseReason;
use hub_types::Timestamp;
use hub_view::{Cut, Error, View};
use support::query_fixture::*;
use support::*;

#[tokio::test]
async fn view_info_reports_counts_the_origin_vector_and_the_digest() {
    let f = fixture().await;
    let info = |at_position| {
        f.view
            .info(&pb::ViewInfoRequest { at_position })
            .expect("info")
    };
    let origins = |r: &pb::ViewInfoResponse| {
        r.origin_vector
            .iter()
            .map(|o| (o.origin.clone(), o.origin_seq))
            .collect::<Vec<_>>()
    };
    let counts = |r: &pb::ViewInfoResponse| {
        r.counts
            .iter()
            .map(|c| (c.kind.clone(), c.count))
            .collect::<Vec<_>>()
    };
    let now = info(0);
    assert_eq!(now.position, 30);
    assert_eq!(
        origins(&now),
        [
            (SHANGHAI.to_owned(), 15),
            (SUZHOU.to_owned(), 4),
            (HANGZHOU.to_owned(), 6),
            (JIAXING.to_owned(), 5)
        ]
    );
    let log_vector: Vec<(String, u64)> = f
        .log
        .origin_vector()
        .into_iter()
        .map(|(m, s)| (m.to_string(), s.get()))
        .collect();
    assert_eq!(origins(&now), log_vector);
    let kc = |k: &str, n: u64| (k.to_owned(), n);
    assert_eq!(
        counts(&now),
        [
            kc("credential_recognized", 8),
            kc("recognition_withdrawn", 1),
            kc("demand_signal_published", 7),
            kc("demand_signal_revised", 1),
            kc("demand_signal_closed", 3),
            kc("blacklist_entry_added", 5),
            kc("blacklist_entry_suspended", 2),
            kc("blacklist_entry_reinstated", 1),
            kc("blacklist_entry_revoked", 2),
        ]
    );
    assert_eq!(now.digest, hex::encode(f.view.digest(Cut::Newest)));
    assert_eq!(
        (now.skipped_unknown, now.ignored, now.snapshot_position),
        (0, 0, 0)
    );
    assert_eq!(info(30), now, "at the newest position, as now");

    let early = info(9);
    assert_eq!(early.position, 9);
    assert_eq!(
        origins(&early),
        [
            (SHANGHAI.to_owned(), 2),
            (HANGZHOU.to_owned(), 2),
            (JIAXING.to_owned(), 5)
        ]
    );
    assert_eq!(
        counts(&early),
        [
            kc("credential_recognized", 8),
            kc("recognition_withdrawn", 1)
        ]
    );
    assert_eq!(early.digest, hex::encode(f.view.digest(Cut::At(9))));
    assert_ne!(early.digest, now.digest);

    assert!(matches!(
        f.view.info(&pb::ViewInfoRequest { at_position: 31 }),
        Err(Error::NotYet {
            field: "at_position",
            requested: 31,
            position: 30
        })
    ));
}

#[tokio::test]
async fn events_of_unknown_kinds_and_ignored_events_are_counted_not_folded() {
    let log = Log::in_memory();
    append(
        &log,
        SHANGHAI,
        added("sh-1", &s1(), "2026-01-01", "2026-12-31"),
    )
    .await;
    let reference = View::open(config(), &log).expect("open");
    // Closing a signal that was never published makes no sense: ignored.
    append(
        &log,
        SHANGHAI,
        closed("sh-none", CloseReason::Filled, 1, "2026-01-01"),
    )
    .await;
    // A kind from a newer build: field 99 of `EventBody`, which this build does not know.
    let record = pb::EventRecord {
        event_id: hub_types::EventId::new_random().to_string(),
        origin: NANJING.into(),
        origin_seq: 1,
        stream: format!("recognition/{NANJING}"),
        stream_version: 1,
        recorded_at: Some(timestamp_to_proto(Timestamp(1_790_000_000_000_000))),
        body: vec![0x98, 0x06, 0x01],
        prev_hash: vec![0; 32],
        signature: Vec::new(),
    };
    ingest_all(&log, &[record], 1).await;
    let view = View::open(config(), &log).expect("open");
    let info = view.info(&pb::ViewInfoRequest::default()).expect("info");
    assert_eq!(info.position, 3);
    assert_eq!((info.skipped_unknown, info.ignored), (1, 1));
    assert!(info
        .counts
        .iter()
        .any(|c| c.kind == "unknown" && c.count == 1));
    assert!(info
        .origin_vector
        .iter()
        .any(|o| o.origin == NANJING && o.origin_seq == 1));
    assert_eq!(view.digest(Cut::Newest), reference.digest(Cut::Newest));
}

#[tokio::test]
async fn a_recent_digest_is_reused_while_young_and_the_exact_digest_never_is() {
    use std::time::Duration;
    let f = fixture().await;
    let (before_position, before) = f.view.recent_digest(Duration::from_secs(3600));
    assert_eq!(before_position, 30);
    append(
        &f.log,
        SHANGHAI,
        added("sh-digest", &s2(), "2026-01-01", "2026-12-31"),
    )
    .await;
    f.view.catch_up(&f.log).expect("catch up");
    assert_eq!(f.view.position(), 31);

    // Young enough: the digest of position 30 is given again, and says so.
    assert_eq!(
        f.view.recent_digest(Duration::from_secs(3600)),
        (30, before)
    );
    let (info, digest_position) = f.view.info_with_recent_digest(Duration::from_secs(3600));
    assert_eq!((info.position, digest_position), (31, 30));
    assert_eq!(info.digest, hex::encode(before));
    assert_eq!(info.origin_vector[0].origin_seq, 16, "the rest is of now");

    // The exact questions never take the remembered digest of another position.
    let replayed = View::open(config(), &f.log).expect("replay");
    let now = replayed.digest(Cut::Newest);
    assert_ne!(now, before);
    assert_eq!(f.view.digest(Cut::Newest), now);
    assert_eq!(
        f.view
            .info(&pb::ViewInfoRequest::default())
            .expect("info")
            .digest,
        hex::encode(now)
    );
    assert_eq!(f.view.digest(Cut::At(30)), before);
    assert_eq!(replayed.digest(Cut::At(30)), before);

    // Too old: computed afresh.
    assert_eq!(f.view.recent_digest(Duration::ZERO), (31, now));
}
