//! The admin listener of a real node: probes, and `/metrics` after a known workload.

mod common;
mod http;

use std::collections::BTreeMap;
use std::time::Duration;

use common::kafka::{foreign_records, mock_cluster, produce};
use common::*;
use hub_proto::pb;
use hub_replication::{KafkaConfig, DEFAULT_TOPIC};
use hub_server::RunningNode;

async fn scrape(node: &RunningNode) -> BTreeMap<String, f64> {
    let url = format!("{}/metrics", node.admin_url().expect("admin listener"));
    let (status, body) = http::get(&url).await;
    assert_eq!(status, 200, "{body}");
    http::parse_metrics(&body)
}

fn value(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or_else(|| {
        let near: Vec<_> = m
            .keys()
            .filter(|k| k.starts_with(key.split('{').next().unwrap_or(key)))
            .collect();
        panic!("no metric {key}; have {near:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_workload_and_a_forged_event() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.admin.listen = "127.0.0.1:0".into();
    let c_reserve = 64 << 20;
    c.node.min_free_bytes = c_reserve;
    c.kafka = Some(KafkaConfig {
        brokers: brokers.clone(),
        topic: DEFAULT_TOPIC.into(),
        group: String::new(),
        keys_topic: String::new(),
        properties: BTreeMap::new(),
        max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
        max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
    });
    let node = RunningNode::start_with_admin(c).await.expect("node starts");
    let admin = node.admin_url().expect("admin listener");
    assert_eq!(http::get(&format!("{admin}/livez")).await.0, 200);
    let (status, body) = http::get(&format!("{admin}/readyz")).await;
    assert_eq!(status, 200, "{body}");

    // Five single-event appends, one retry of the first, one bad period, one append for
    // a city this node does not publish for.
    let mut sh = publisher(&node, Some(SH)).await;
    let (stream, first) = demand("310000", "m-first", 5);
    sh.append(append_one(&stream, first.clone()))
        .await
        .expect("append");
    append_n(&mut sh, "m", 4).await;
    let retry = sh
        .append(append_one(&stream, first))
        .await
        .expect("retry")
        .into_inner();
    assert!(retry.duplicate);
    let (stream, mut bad) = demand("310000", "m-bad", 5);
    if let Some(pb::event_body::Kind::DemandSignalPublished(d)) =
        bad.body.as_mut().and_then(|b| b.kind.as_mut())
    {
        d.period = "2026-Q5".into();
    }
    sh.append(append_one(&stream, bad))
        .await
        .expect_err("bad period");
    let (stream, foreign) = demand("330400", "m-jx", 5);
    publisher(&node, Some(JX))
        .await
        .append(append_one(&stream, foreign))
        .await
        .expect_err("not this node's city");

    // Two honest events of Suzhou and a forged third arrive over Kafka.
    let sz = foreign_records("320500", 3).await;
    let mut forged = sz[2].clone();
    forged.body.push(0);
    produce(&brokers, &[sz[0].clone(), sz[1].clone(), forged]).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let m = loop {
        let m = scrape(&node).await;
        let ingested = m.get("talenthub_origin_head_seq{origin=\"320500\"}") == Some(&2.0);
        let quarantined = m.get("talenthub_replication_quarantined_events") == Some(&1.0);
        if ingested && quarantined {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replication did not show up in the metrics: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let ok = "{origin=\"310000\",result=\"ok\"}";
    assert_eq!(value(&m, &format!("talenthub_appends_total{ok}")), 5.0);
    assert_eq!(
        value(&m, &format!("talenthub_append_events_total{ok}")),
        5.0
    );
    assert_eq!(
        value(
            &m,
            "talenthub_appends_total{origin=\"310000\",result=\"duplicate\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "talenthub_appends_total{origin=\"310000\",result=\"invalid\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "talenthub_appends_total{origin=\"330400\",result=\"denied\"}"
        ),
        1.0
    );
    assert_eq!(value(&m, "talenthub_append_duration_seconds_count"), 8.0);
    // Every stored event went through exactly one group commit: five own, two ingested.
    assert_eq!(value(&m, "talenthub_log_commit_group_events_sum"), 7.0);
    assert!(value(&m, "talenthub_log_fsync_duration_seconds_count") >= 2.0);
    assert_eq!(
        value(&m, "talenthub_origin_head_seq{origin=\"310000\"}"),
        5.0
    );
    assert_eq!(value(&m, "talenthub_log_head_position"), 7.0);
    assert_eq!(value(&m, "talenthub_ready"), 1.0);
    // The data directory's free space, as the file system tells it, and the reserve.
    assert_eq!(
        value(&m, "talenthub_data_dir_reserve_bytes"),
        c_reserve as f64
    );
    assert!(value(&m, "talenthub_data_dir_available_bytes") > 0.0);
    assert!(value(&m, "talenthub_replication_seen_seq{origin=\"320500\"}") >= 2.0);
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn the_admin_listener_is_off_when_empty_and_refused_beyond_loopback_without_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.admin.listen = String::new();
    let err = RunningNode::start_with_admin(c.clone())
        .await
        .expect_err("off");
    assert!(err.to_string().contains("admin.listen is off"), "{err}");
    c.admin.listen = "0.0.0.0:0".into();
    let err = c.validate().expect_err("beyond loopback");
    assert!(err.to_string().contains("admin.listen"), "{err}");
}
