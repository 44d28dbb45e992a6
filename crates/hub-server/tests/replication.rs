//! Replication between city nodes through librdkafka's mock cluster.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::kafka::{foreign_records, mock_cluster, produce};
use common::*;
use hub_proto::pb;
use hub_replication::{KafkaConfig, DEFAULT_TOPIC};
use hub_server::RunningNode;
use prost::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

async fn city(dir: &std::path::Path, member: &str, brokers: &str) -> RunningNode {
    let member = member.to_owned();
    let brokers = brokers.to_owned();
    start(dir, move |c| {
        c.node.member = Some(member.parse().expect("member code"));
        c.kafka = Some(KafkaConfig {
            brokers,
            topic: DEFAULT_TOPIC.into(),
            group: String::new(),
            keys_topic: String::new(),
            properties: BTreeMap::new(),
            max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
            max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
        });
    })
    .await
}

async fn info(node: &RunningNode) -> pb::ViewInfoResponse {
    let mut q = query(node, Some("dev-operator")).await;
    q.view_info(pb::ViewInfoRequest::default())
        .await
        .expect("view info")
        .into_inner()
}

fn vector(info: &pb::ViewInfoResponse) -> BTreeMap<String, u64> {
    info.origin_vector
        .iter()
        .map(|o| (o.origin.clone(), o.origin_seq))
        .collect()
}

/// Waits until `node`'s view holds `expected` per origin.
async fn converge(node: &RunningNode, expected: &BTreeMap<String, u64>) -> pb::ViewInfoResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let i = info(node).await;
        if &vector(&i) == expected {
            return i;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "did not converge: have {:?}, want {expected:?}, replication {:?}",
            vector(&i),
            i.replication
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn publish(node: &RunningNode, member: &str, prefix: &str, n: usize) {
    let mut client = publisher(node, Some(&format!("dev-member-{member}"))).await;
    for i in 0..n {
        let (stream, event) = demand(member, &format!("{prefix}-{i}"), 1 + i as u32);
        client
            .append(append_one(&stream, event))
            .await
            .expect("append");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_cities_converge_to_the_same_view() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let members = ["310000", "330100", "330400"];
    let mut nodes = Vec::new();
    for (dir, m) in dirs.iter().zip(members) {
        nodes.push(city(dir.path(), m, &brokers).await);
    }
    let mut writers = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let endpoint_node = &nodes[i];
        let mut client = publisher(endpoint_node, Some(&format!("dev-member-{m}"))).await;
        let m = m.to_string();
        writers.push(tokio::spawn(async move {
            for j in 0..40 {
                let (stream, event) = demand(&m, &format!("c-{j}"), 1 + j);
                client
                    .append(append_one(&stream, event))
                    .await
                    .expect("append");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let expected: BTreeMap<String, u64> = members.iter().map(|m| (m.to_string(), 40)).collect();
    let mut digests = Vec::new();
    for node in &nodes {
        let i = converge(node, &expected).await;
        assert_eq!(i.log_head, 120, "each event stored once");
        digests.push(i.digest);
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
    let r = info(&nodes[0]).await.replication.expect("replication info");
    assert_eq!(r.quarantined, 0);
    let own = r
        .origins
        .iter()
        .find(|o| o.origin == "310000")
        .expect("own origin");
    assert_eq!(own.produced_seq, 40);
    for node in nodes {
        node.stop().await.expect("stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up_without_loss_or_duplicate() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let (da, db) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let a = city(da.path(), "310000", &brokers).await;
    let b = city(db.path(), "330400", &brokers).await;
    publish(&a, "310000", "one", 20).await;
    publish(&b, "330400", "one", 5).await;
    let both = |sh, jx| BTreeMap::from([("310000".to_string(), sh), ("330400".to_string(), jx)]);
    converge(&b, &both(20, 5)).await;
    b.stop().await.expect("stop b");

    publish(&a, "310000", "two", 30).await;
    let b = city(db.path(), "330400", &brokers).await;
    publish(&b, "330400", "two", 5).await;
    let ib = converge(&b, &both(50, 10)).await;
    let ia = converge(&a, &both(50, 10)).await;
    assert_eq!(
        (ia.log_head, ib.log_head),
        (60, 60),
        "nothing applied twice"
    );
    assert_eq!(ia.digest, ib.digest);
    a.stop().await.expect("stop a");
    b.stop().await.expect("stop b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_apply_once_and_bad_events_are_quarantined_while_honest_ones_flow() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = city(dir.path(), "330400", &brokers).await;
    let sz = foreign_records("320500", 6).await;
    let vector_of = |n| BTreeMap::from([("320500".to_string(), n)]);

    // 1, 2, then 2 again and 1 again: duplicates are no-ops.
    produce(
        &brokers,
        &[sz[0].clone(), sz[1].clone(), sz[1].clone(), sz[0].clone()],
    )
    .await;
    let i = converge(&node, &vector_of(2)).await;
    assert_eq!(i.log_head, 2);

    // 4 before 3: out of order, quarantined, applied once 3 arrives.
    produce(&brokers, &[sz[3].clone()]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while info(&node)
        .await
        .replication
        .expect("replication")
        .quarantined
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gap not quarantined"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        vector(&info(&node).await),
        vector_of(2),
        "a gap is never applied"
    );
    produce(&brokers, &[sz[2].clone()]).await;
    converge(&node, &vector_of(4)).await;

    // A forged 5 (its body altered, so its signature no longer verifies), an unsigned
    // impostor and an unknown origin are quarantined; the honest 5 and 6 still flow.
    let mut forged = sz[4].clone();
    forged.body.push(0);
    let mut stranger = sz[4].clone();
    stranger.origin = "110000".into();
    produce(&brokers, &[forged, stranger, sz[4].clone(), sz[5].clone()]).await;
    let i = converge(&node, &vector_of(6)).await;
    assert_eq!(i.log_head, 6);
    let r = i.replication.expect("replication");
    assert_eq!(r.quarantined, 2, "{r:?}");
    assert!(
        r.last_quarantine.contains("roster") || r.last_quarantine.contains("signature"),
        "{r:?}"
    );
    assert!(!r.last_quarantine.is_empty());
    node.stop().await.expect("stop");
}

/// Signed records of city `member` (no node here) for `events`, each appended to its
/// stream by an in-memory log that, unlike a publishing node, holds no entity rules.
async fn foreign_events(member: &str, events: &[(&str, pb::Event)]) -> Vec<pb::EventRecord> {
    let city: hub_types::MemberId = member.parse().expect("member");
    let key = hub_server::keys::dev_key(city).expect("development key");
    let signer = hub_server::keys::CitySigner::new([(city, key)].into());
    let log = hub_log::Log::in_memory_signed(std::sync::Arc::new(signer));
    for (stream, event) in events {
        let stream: hub_types::StreamId = stream.parse().expect("stream");
        let event = hub_proto::convert::new_event_from_proto(event, &stream).expect("event");
        log.append(&stream, hub_types::ExpectedVersion::Any, vec![event])
            .await
            .expect("append");
    }
    log.read_all(hub_types::Position::FIRST, events.len())
        .expect("read")
        .into_iter()
        .map(|e| e.record)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_changes_of_unknown_entities_are_stored_and_ignored_by_the_fold() {
    use pb::event_body::Kind;
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = city(dir.path(), "330400", &brokers).await;
    let event = |kind| pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    };
    // Suzhou withdraws a rule and closes a signal it never created: its own node would
    // refuse both, but what arrives by replication was accepted by its origin. Then it
    // publishes a real signal.
    let (real, published) = demand("320500", "real", 4);
    let records = foreign_events(
        "320500",
        &[
            (
                "recognition/320500",
                event(Kind::RecognitionWithdrawn(pb::RecognitionWithdrawn {
                    rule_id: "ghost-rule".into(),
                    reason: "superseded".into(),
                    effective_at: "2026-04-01".into(),
                })),
            ),
            (
                "demand/320500/ghost-signal",
                event(Kind::DemandSignalClosed(pb::DemandSignalClosed {
                    signal_id: "ghost-signal".into(),
                    reason: pb::CloseReason::Filled as i32,
                    filled: 1,
                    closed_at: "2026-03-01".into(),
                })),
            ),
            (real.as_str(), published),
        ],
    )
    .await;
    produce(&brokers, &records).await;
    let i = converge(&node, &BTreeMap::from([("320500".to_string(), 3)])).await;
    assert_eq!(i.log_head, 3, "every event is stored");
    assert_eq!(
        i.ignored, 2,
        "the changes of unknown entities are ignored by the fold"
    );
    let r = i.replication.expect("replication");
    assert_eq!(r.quarantined, 0, "nothing is refused: {r:?}");
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_catches_up_after_the_broker_comes_back() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let (da, db) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let a = city(da.path(), "310000", &brokers).await;
    let b = city(db.path(), "330400", &brokers).await;
    publish(&a, "310000", "before", 5).await;
    let sh = |n| BTreeMap::from([("310000".to_string(), n)]);
    converge(&b, &sh(5)).await;

    cluster.broker_down(1).expect("down");
    publish(&a, "310000", "during", 10).await;
    // Both nodes notice the outage (their topic probes fail) before anything is checked,
    // and Shanghai holds events it has not delivered.
    for node in [&a, &b] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let r = info(node).await.replication.expect("replication");
            if r.topic_state.starts_with("unreachable") {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "outage not seen: {r:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let r = info(&a).await.replication.expect("replication");
    let own = r
        .origins
        .iter()
        .find(|o| o.origin == "310000")
        .expect("own");
    assert_eq!((own.local_seq, own.produced_seq), (15, 5), "{r:?}");
    assert_eq!(
        vector(&info(&b).await),
        sh(5),
        "nothing flows while the broker is down"
    );
    cluster.broker_up(1).expect("up");
    let i = converge(&b, &sh(15)).await;
    assert_eq!(i.log_head, 15);
    a.stop().await.expect("stop a");
    b.stop().await.expect("stop b");
}

/// Waits until `check` holds for `node`'s entries of Shanghai.
async fn entries_until(
    node: &RunningNode,
    check: impl Fn(&[pb::BlacklistEntryView]) -> bool,
) -> Vec<pb::BlacklistEntryView> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let entries = query(node, Some(JX))
            .await
            .list_entries(pb::ListEntriesRequest {
                origin: "310000".into(),
                ..Default::default()
            })
            .await
            .expect("list entries")
            .into_inner()
            .entries;
        if check(&entries) {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out; last answer: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every payload on `topic`, from the beginning.
fn payloads(brokers: &str, topic: &str) -> Vec<Vec<u8>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message as _;

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("scan-{topic}"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => out.push(m.payload().unwrap_or_default().to_vec()),
            Some(Err(e)) => panic!("kafka: {e}"),
            None if !out.is_empty() => return out,
            None => assert!(std::time::Instant::now() < deadline, "nothing on {topic}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_destroys_the_key_in_every_city_and_leaves_no_personal_data_behind() {
    capture_logs();
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let (da, db) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let a = city(da.path(), "310000", &brokers).await;
    let b = city(db.path(), "330400", &brokers).await;
    let (stream, event) = blacklist_entry(&a, "310000", "sh-9");
    publisher(&a, Some(SH))
        .await
        .append(append_one(&stream, event))
        .await
        .expect("append");
    // The event and its key reach Jiaxing, which shows the fields to its members.
    let shown = entries_until(&b, |e| {
        e.first()
            .is_some_and(|e| e.personal == pb::PersonalState::Shown as i32)
    })
    .await;
    assert_eq!(shown[0].subject_display, DISPLAY);
    assert_eq!(shown[0].decision_summary, SUMMARY);
    let key = live_key(&a, &stream).expect("key in shanghai");
    assert_eq!(live_key(&b, &stream), Some(key));
    // A check by ID number on the receiving city.
    let found = query(&b, Some(JX))
        .await
        .check_subject(pb::CheckSubjectRequest {
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(found.entries.len(), 1);

    publisher(&a, Some(SH))
        .await
        .append(append_one(&stream, erasure("sh-9", "沪高法〔2026〕3号")))
        .await
        .expect("erase");
    let erased = entries_until(&b, |e| {
        e.first()
            .is_some_and(|e| e.status == pb::EntryStatus::Erased as i32)
    })
    .await;
    assert_eq!(erased[0].personal, pb::PersonalState::Erased as i32);
    assert_eq!(live_key(&b, &stream), None);
    assert_eq!(live_key(&a, &stream), None);
    let i = info(&b).await;
    assert_eq!((i.entry_keys_live, i.entry_keys_destroyed), (0, 1));
    a.stop().await.expect("stop a");
    b.stop().await.expect("stop b");

    let mut secrets = personal_secrets();
    secrets.push(("destroyed entry key", key.to_vec()));
    let events = payloads(&brokers, DEFAULT_TOPIC);
    assert!(events.len() >= 2);
    let keys = payloads(&brokers, &format!("{DEFAULT_TOPIC}.keys"));
    assert!(!keys.is_empty());
    for payload in events.iter().chain(&keys) {
        for (what, secret) in &secrets {
            assert!(
                !contains(payload, secret),
                "a kafka payload holds the {what}"
            );
        }
    }
    for dir in [da.path(), db.path()] {
        assert_nowhere_under(dir, &secrets);
    }
    let logs = captured_logs();
    assert!(!logs.is_empty(), "the logs are captured");
    for (what, secret) in &secrets {
        assert!(!contains(&logs, secret), "the logs hold the {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_entry_keys_are_refused_and_counted() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let db = tempfile::tempdir().expect("b");
    let b = city(db.path(), "330400", &brokers).await;
    let stream = "blacklist/310000/sh-forged";
    // Wrapped correctly but signed by a key that is not Shanghai's.
    let wrap_key = b.hub.alliance_key().derive(hub_log::vault::WRAP_KEY_LABEL);
    let wrapped = hub_log::vault::wrap(&wrap_key, &stream.parse().expect("stream"), &[7; 32]);
    let signature = hub_audit::sign_entry_key(&hub_audit::generate(), stream, &wrapped)
        .expect("sign")
        .to_vec();
    let forged = pb::EntryKey {
        stream: stream.into(),
        wrapped,
        signature,
    };
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    let topic = format!("{DEFAULT_TOPIC}.keys");
    for payload in [forged.encode_to_vec(), b"not a key".to_vec()] {
        producer
            .send(
                FutureRecord::to(&topic).key(stream).payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .expect("produce");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = info(&b).await.replication.expect("replication info");
        if r.keys_rejected >= 2 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "not refused: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.keys_rejected, 2);
    assert!(
        r.last_key_rejection.contains("EntryKey"),
        "{}",
        r.last_key_rejection
    );
    assert_eq!(live_key(&b, stream), None);
    assert_eq!(info(&b).await.entry_keys_live, 0);

    // A key naming no stream is refused with a short quote of what it names.
    let long = format!("blacklist/310000/{}", "x".repeat(300));
    let unnamed = pb::EntryKey {
        stream: long.clone(),
        ..forged
    };
    producer
        .send(
            FutureRecord::to(&topic)
                .key(stream)
                .payload(&unnamed.encode_to_vec()),
            Duration::from_secs(5),
        )
        .await
        .expect("produce");
    let r = loop {
        let r = info(&b).await.replication.expect("replication info");
        if r.keys_rejected >= 3 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "not refused: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        r.last_key_rejection.contains("(317 characters)") && !r.last_key_rejection.contains(&long),
        "{}",
        r.last_key_rejection
    );
    b.stop().await.expect("stop b");
}

/// Screens the person with [`NATIONAL_ID`] on `node` until `done` holds for the answer.
async fn screen_until(
    node: &RunningNode,
    done: impl Fn(&pb::ScreenApplicationResponse) -> bool,
) -> pb::ScreenApplicationResponse {
    let mut q = query(node, Some(JX)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = q
            .screen_application(pb::ScreenApplicationRequest {
                national_id: NATIONAL_ID.into(),
                category: pb::AwardCategory::TalentProgramme as i32,
                level: pb::AwardLevel::Municipal as i32,
                funded_from: "2026-07-01".into(),
                funded_until: "2028-06-30".into(),
                amount_cny: 800_000,
                time: Some(pb::TimeAxes {
                    on_date: "2026-06-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("screen")
            .into_inner();
        if done(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "screening never reached the expected answer: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jiaxing_screening_sees_a_shanghai_award_and_a_suzhou_blacklist_entry() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let sh = city(dirs[0].path(), "310000", &brokers).await;
    let sz = city(dirs[1].path(), "320500", &brokers).await;
    let jx = city(dirs[2].path(), "330400", &brokers).await;

    let granted = pb::AwardGranted {
        award_id: "sh-pj-2026-01".into(),
        national_id: NATIONAL_ID.into(),
        subject_display: DISPLAY.into(),
        programme_code: "sh-pujiang".into(),
        category: pb::AwardCategory::TalentProgramme as i32,
        level: pb::AwardLevel::Municipal as i32,
        project_title: "量子传感芯片".into(),
        amount_cny: 1_000_000,
        funded_from: "2026-01-01".into(),
        funded_until: "2027-12-31".into(),
        decision_ref: "沪科〔2026〕8号".into(),
        ..Default::default()
    };
    let award_stream = "award/310000/sh-pj-2026-01";
    publisher(&sh, Some(SH))
        .await
        .append(append_one(
            award_stream,
            pb::Event {
                event_id: uuid::Uuid::new_v4().to_string(),
                body: Some(pb::EventBody {
                    kind: Some(pb::event_body::Kind::AwardGranted(granted)),
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("award");
    let (stream, entry) = blacklist_entry(&sz, "320500", "sz-bl-2026-3");
    publisher(&sz, Some("dev-member-320500"))
        .await
        .append(append_one(&stream, entry))
        .await
        .expect("blacklist entry");

    // Both arrive in Jiaxing, the award's display name with its key.
    let answer = screen_until(&jx, |a| {
        a.verdict == pb::Verdict::Barred as i32
            && a.overlapping.len() == 1
            && a.overlapping[0].personal == pb::PersonalState::Shown as i32
    })
    .await;
    let rules: Vec<&str> = answer.reasons.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, vec!["blacklisted", "same_category_and_level"]);
    assert_eq!(answer.reasons[0].events[0].stream, stream);
    assert_eq!(answer.reasons[1].events[0].stream, award_stream);
    assert_eq!(answer.overlapping[0].subject_display, DISPLAY);
    assert_eq!(answer.barring[0].origin, "320500");

    // Shanghai erases the award: the key is destroyed in Jiaxing too, and the award no
    // longer names the applicant there.
    let erase = pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody {
            kind: Some(pb::event_body::Kind::AwardErased(pb::AwardErased {
                award_id: "sh-pj-2026-01".into(),
                reason: pb::ErasureReason::Order as i32,
                order_ref: "沪高法〔2026〕9号".into(),
            })),
        }),
        ..Default::default()
    };
    publisher(&sh, Some(SH))
        .await
        .append(append_one(award_stream, erase))
        .await
        .expect("erase");
    let answer = screen_until(&jx, |a| a.overlapping.is_empty()).await;
    assert_eq!(answer.verdict, pb::Verdict::Barred as i32);
    assert_eq!(live_key(&jx, award_stream), None);
    for node in [sh, sz, jx] {
        node.stop().await.expect("stop");
    }
}
