//! Stories with a real broker process (tansu) and real `talent-hub` processes.
//!
//! Skipped, with one printed line, when `tansu` is not installed (see the README).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hub_proto::pb;
use hub_system_tests::broker::tansu_or_skip;
use hub_system_tests::client::{self, blacklist_entry, demand, erasure};
use hub_system_tests::cluster::TOPIC;
use hub_system_tests::{eventually, Cluster};

const SUITE: &str = "the broker system tests (tests/tests/broker.rs)";
const SH: &str = "310000";
const HZ: &str = "330100";
const JX: &str = "330400";
/// The bound within which a network heals after the broker lost everything: the topic is
/// probed every 2 s, statistics arrive every second, librdkafka reconnects within 1 s.
const HEAL_BOUND: Duration = Duration::from_secs(60);
/// Generous: a loaded 2-core machine.
const CONVERGE: Duration = Duration::from_secs(60);

fn want(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(m, n)| (m.to_string(), *n)).collect()
}

/// Appends `n` demand signals to `member`'s node, one call each; returns the event ids.
async fn publish(
    cluster: &Cluster,
    member: &str,
    prefix: &str,
    n: u32,
) -> anyhow::Result<Vec<String>> {
    let mut p = cluster.node(member).publisher().await?;
    let mut ids = Vec::new();
    for i in 0..n {
        let req = demand(member, &format!("{prefix}-{i}"), 1 + i);
        ids.push(req.events[0].event_id.clone());
        p.append(req).await?;
    }
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_cities_publish_concurrently_and_converge() -> anyhow::Result<()> {
    let Some(tansu) = tansu_or_skip(SUITE) else {
        return Ok(());
    };
    let cluster = Cluster::builder()
        .cities([SH, HZ, JX])
        .broker(tansu)
        .start()
        .await?;

    // Every city publishes 40 signals at the same time, on its own node.
    let mut writers = Vec::new();
    for m in [SH, HZ, JX] {
        let mut p = cluster.node(m).publisher().await?;
        writers.push(tokio::spawn(async move {
            for i in 0..40 {
                p.append(demand(m, &format!("c-{i}"), 1 + i)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }

    // Every node ends with every city's 40 events, once, and the same view.
    let infos = cluster
        .converged(&want(&[(SH, 40), (HZ, 40), (JX, 40)]), CONVERGE)
        .await?;
    for info in &infos {
        assert_eq!(info.log_head, 120, "each event stored once");
        let r = info.replication.as_ref().expect("replication info");
        assert_eq!(r.quarantined, 0, "{r:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_killed_mid_stream_restarts_without_loss_or_duplicate() -> anyhow::Result<()> {
    let Some(tansu) = tansu_or_skip(SUITE) else {
        return Ok(());
    };
    let mut cluster = Cluster::builder()
        .cities([SH, JX])
        .broker(tansu)
        .start()
        .await?;

    // Shanghai publishes without pause; it is killed after some 30 acknowledgements.
    let mut p = cluster.node(SH).publisher().await?;
    let writer = tokio::spawn(async move {
        let mut acked = Vec::new();
        for i in 0.. {
            let req = demand(SH, &format!("k-{i}"), 1);
            let id = req.events[0].event_id.clone();
            match p.append(req).await {
                Ok(_) => acked.push(id),
                Err(_) => return acked,
            }
        }
        acked
    });
    eventually(CONVERGE, "shanghai acknowledges 30 events", || async {
        let info = cluster.node(SH).info().await.map_err(|e| e.to_string())?;
        (info.log_head >= 30)
            .then_some(())
            .ok_or(format!("head {}", info.log_head))
    })
    .await?;
    cluster.node_mut(SH).kill();
    let acked = writer.await?;
    assert!(acked.len() >= 30, "{} acknowledged", acked.len());

    // Restarted, it goes on publishing; Jiaxing ends with everything, once.
    cluster.node_mut(SH).start().await?;
    let later = publish(&cluster, SH, "after", 10).await?;
    let head = cluster.node(SH).info().await?.log_head;
    assert!(head >= (acked.len() + later.len()) as u64);
    cluster.converged(&want(&[(SH, head)]), CONVERGE).await?;
    for node in cluster.nodes() {
        let events = node.events().await?;
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "{}: an event stored twice",
            node.member()
        );
        for id in acked.iter().chain(&later) {
            assert!(
                unique.contains(id.as_str()),
                "{}: acknowledged {id} lost",
                node.member()
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_paused_then_restarted_empty_heals_without_wiping_a_node() -> anyhow::Result<()> {
    let Some(tansu) = tansu_or_skip(SUITE) else {
        return Ok(());
    };
    let mut cluster = Cluster::builder()
        .cities([SH, HZ, JX])
        .broker(tansu)
        .start()
        .await?;
    publish(&cluster, SH, "before", 10).await?;
    publish(&cluster, HZ, "before", 5).await?;
    cluster
        .converged(&want(&[(SH, 10), (HZ, 5)]), CONVERGE)
        .await?;

    // Paused: the nodes keep accepting their own events; all flows once it is back.
    cluster.broker().pause()?;
    publish(&cluster, SH, "paused", 10).await?;
    publish(&cluster, JX, "paused", 3).await?;
    cluster.broker().resume()?;
    cluster
        .converged(&want(&[(SH, 20), (HZ, 5), (JX, 3)]), CONVERGE)
        .await?;

    // Killed and started again with empty storage; an operator recreates the topics. The
    // topic lost everything, the nodes lost nothing: they notice, rewind, re-publish.
    cluster.broker().restart_empty()?;
    cluster.broker().create_topics(TOPIC)?;
    publish(&cluster, HZ, "after", 5).await?;
    let infos = cluster
        .converged(&want(&[(SH, 20), (HZ, 10), (JX, 3)]), HEAL_BOUND)
        .await?;
    for info in &infos {
        assert_eq!(info.log_head, 33, "nothing applied twice");
    }
    // The healed topic holds every event again: a city joining now would get them all.
    let mut on_topic = BTreeSet::new();
    for payload in scan(&cluster.broker().bootstrap(), TOPIC)? {
        let r = <pb::EventRecord as prost::Message>::decode(payload.as_slice())?;
        on_topic.insert((r.origin, r.origin_seq));
    }
    assert_eq!(on_topic.len(), 33, "the origins re-published their events");
    for node in cluster.nodes() {
        let r = node.info().await?.replication.expect("replication");
        assert!(
            r.rewinds + r.republishes > 0,
            "{}: healing not reported: {r:?}",
            node.member()
        );
        assert!(!r.last_healing.is_empty(), "{r:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_the_broker_stopped_ends_within_the_grace_period() -> anyhow::Result<()> {
    let Some(tansu) = tansu_or_skip(SUITE) else {
        return Ok(());
    };
    let grace = Duration::from_millis(3000);
    let mut cluster = Cluster::builder()
        .cities([SH, JX])
        .broker(tansu)
        .grace_ms(grace.as_millis() as u64)
        .start()
        .await?;
    publish(&cluster, SH, "first", 1).await?;
    cluster.converged(&want(&[(SH, 1)]), CONVERGE).await?;

    // The broker stops answering; Shanghai accepts an event it cannot deliver.
    cluster.broker().pause()?;
    publish(&cluster, SH, "stuck", 1).await?;
    let (status, took) = cluster
        .node_mut(SH)
        .terminate(grace + Duration::from_secs(2))?;
    assert!(status.success(), "{status}");
    eprintln!("shutdown with the broker stopped took {took:?} (grace {grace:?})");

    // Nothing was lost: once the broker is back, the restarted node delivers it.
    cluster.broker().resume()?;
    cluster.node_mut(SH).start().await?;
    cluster.converged(&want(&[(SH, 2)]), CONVERGE).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_reaches_every_city_and_personal_data_stays_out_of_topics_disks_and_logs(
) -> anyhow::Result<()> {
    let Some(tansu) = tansu_or_skip(SUITE) else {
        return Ok(());
    };
    let mut cluster = Cluster::builder()
        .cities([SH, HZ, JX])
        .broker(tansu)
        .start()
        .await?;
    let entry = "sh-sys-1";
    cluster
        .node(SH)
        .publisher()
        .await?
        .append(blacklist_entry(SH, entry))
        .await?;

    // Every city sees the personal fields (the key travelled on the keys topic).
    let shown = |state: pb::PersonalState| {
        let cluster = &cluster;
        async move {
            for node in cluster.nodes() {
                eventually(
                    CONVERGE,
                    &format!("{}: entry {state:?}", node.member()),
                    || async {
                        let mut q = client::query(
                            &node.endpoint(),
                            &format!("dev-member-{}", node.member()),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                        let entries = q
                            .list_entries(pb::ListEntriesRequest {
                                origin: SH.into(),
                                ..Default::default()
                            })
                            .await
                            .map_err(|e| e.to_string())?
                            .into_inner()
                            .entries;
                        match entries.first() {
                            Some(e) if e.personal == state as i32 => Ok(e.clone()),
                            other => Err(format!("{other:?}")),
                        }
                    },
                )
                .await?;
            }
            anyhow::Ok(())
        }
    };
    shown(pb::PersonalState::Shown).await?;
    cluster
        .node(SH)
        .publisher()
        .await?
        .append(erasure(SH, entry))
        .await?;
    shown(pb::PersonalState::Erased).await?;
    for node in cluster.nodes() {
        let info = node.info().await?;
        assert_eq!(
            (info.entry_keys_live, info.entry_keys_destroyed),
            (0, 1),
            "{}",
            node.member()
        );
    }

    // What the broker holds: both topics, read from the beginning.
    let bootstrap = cluster.broker().bootstrap();
    let mut payloads = scan(&bootstrap, TOPIC)?;
    payloads.extend(scan(&bootstrap, &format!("{TOPIC}.keys"))?);
    assert!(
        payloads.len() >= 2,
        "the topics hold the entry and its erasure"
    );
    for m in [SH, HZ, JX] {
        cluster.node_mut(m).terminate(Duration::from_secs(20))?;
    }
    let secrets = client::personal_secrets();
    for (what, secret) in &secrets {
        for p in &payloads {
            assert!(
                !client::contains(p, secret),
                "a kafka payload holds the {what}"
            );
        }
        for file in files_under(cluster.root()) {
            let bytes = std::fs::read(&file)?;
            assert!(
                !client::contains(&bytes, secret),
                "{} holds the {what}",
                file.display()
            );
        }
    }
    // The scan covered the node logs too.
    assert!(cluster.nodes().iter().all(|n| n.log_file().exists()));
    Ok(())
}

/// Every payload on `topic`, from the beginning (a consumer of its own, no group offsets).
fn scan(bootstrap: &str, topic: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message as _;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("scan-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut list = rdkafka::TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            list.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning)?;
        }
    }
    consumer.assign(&list)?;
    let mut out = Vec::new();
    let mut idle = 0;
    // Until the consumer has been idle for 3 s in a row.
    while idle < 6 {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                idle = 0;
                out.push(m.payload().unwrap_or_default().to_vec());
            }
            Some(Err(e)) => anyhow::bail!("reading {topic}: {e}"),
            None => idle += 1,
        }
    }
    Ok(out)
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
