//! `hub-bench replication`: two city nodes in this process replicating through
//! librdkafka's in-process mock cluster (one broker, the topic in three partitions).
//! Shanghai's node (310000) publishes at each of `--rates` events per second for
//! `--seconds`, paced (a batch every 2 ms or so, without waiting for the previous one);
//! Jiaxing's node (330400) receives. Per event:
//!
//! - `replication.lag.rate<R>.*`: from the append's acknowledgement at Shanghai's node to
//!   the moment Jiaxing's view has folded it, i.e. it is queryable there (the view's
//!   position is watched in-process; the event's position there comes from a subscription
//!   on Jiaxing's node filtered to Shanghai's events);
//! - `replication.stored.rate<R>.*`: from the same acknowledgement to the event's receipt
//!   by that subscription, which delivers only what Jiaxing's log has stored;
//! - `replication.publish.rate<R>`: the rate the publisher achieved.
//!
//! Both nodes' consumers poll with `fetch.wait.max.ms` = 10 unless `--kafka-property`
//! says otherwise: the mock broker answers a fetch that finds no data only after the whole
//! wait (500 ms by default) even when data arrives meanwhile, where a real broker answers
//! as soon as it does, so the default would measure the mock rather than the pipeline.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use hub_proto::pb;
use hub_proto::pb::subscribe_response::Item;
use hub_replication::{KafkaConfig, DEFAULT_TOPIC};
use hub_server::RunningNode;
use rdkafka::mocking::MockCluster;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::figure::report;
use crate::harness::{self, demand_append, micros_between, publisher, streams, Latencies};

/// The publishing city and its token.
const SHANGHAI: &str = "310000";
const SHANGHAI_TOKEN: &str = harness::SHANGHAI_TOKEN;
/// The receiving city and its token.
const JIAXING: &str = "330400";
const JIAXING_TOKEN: &str = "dev-member-330400";
/// Roughly how often the publisher appends a batch.
const TICK: Duration = Duration::from_millis(2);
/// How long the first event may take to cross (the consumer joins the topic first).
const WARM_UP: Duration = Duration::from_secs(60);
/// How long the receiving node may take to receive a phase's last event.
const DRAIN: Duration = Duration::from_secs(60);
/// The consumers' longest fetch wait, which the mock broker always sits out when a fetch
/// finds nothing (see the module docs).
const MOCK_FETCH_WAIT: (&str, &str) = ("fetch.wait.max.ms", "10");

/// Options of `hub-bench replication`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory the nodes' temporary data directories are made in [default: ./target].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds each rate is published for.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Events per second to publish, comma-separated; one phase each.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    rates: Vec<u64>,
    /// A librdkafka property `key=value` for both nodes' producer and consumer
    /// (repeatable), e.g. `fetch.wait.max.ms=500` to measure the mock broker's default
    /// fetch wait.
    #[arg(long = "kafka-property")]
    kafka_properties: Vec<String>,
}

/// An event as Jiaxing's subscription delivered it: its id, its position there, when.
type Received = (u128, u64, Instant);

/// Starts the mock cluster and both nodes, then measures each rate.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let period = harness::seconds(args.seconds)?;
    ensure!(
        !args.rates.is_empty() && args.rates.iter().all(|r| *r > 0),
        "--rates must be positive, got {:?}",
        args.rates
    );
    let mut properties = BTreeMap::new();
    for p in &args.kafka_properties {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--kafka-property must be key=value, got {p:?}"))?;
        properties.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    let (key, value) = MOCK_FETCH_WAIT;
    properties
        .entry(key.to_owned())
        .or_insert_with(|| value.to_owned());
    let parent = crate::harness::bench_parent(args.dir.as_deref())?;
    let temp = |city: &str| {
        tempfile::Builder::new()
            .prefix(&format!("hub-bench-replication-{city}-"))
            .tempdir_in(&parent)
    };
    let (dir_a, dir_b) = (temp(SHANGHAI)?, temp(JIAXING)?);

    let cluster = MockCluster::new(1).context("start the mock kafka cluster")?;
    cluster
        .create_topic(DEFAULT_TOPIC, 3, 1)
        .context("create the topic")?;
    cluster
        .create_topic(&format!("{DEFAULT_TOPIC}.keys"), 3, 1)
        .context("create the keys topic")?;
    let kafka = KafkaConfig {
        brokers: cluster.bootstrap_servers(),
        topic: DEFAULT_TOPIC.into(),
        group: String::new(),
        keys_topic: String::new(),
        properties,
        max_unsigned_per_origin: hub_replication::DEFAULT_MAX_UNSIGNED,
        max_quarantined: hub_replication::DEFAULT_MAX_QUARANTINED,
    };
    let start = |dir: &std::path::Path, member: &str| {
        let mut config = harness::load_config(dir);
        config.node.member = Some(member.parse().expect("a roster city code"));
        config.kafka = Some(kafka.clone());
        RunningNode::start(config)
    };
    let a = start(dir_a.path(), SHANGHAI).await?;
    let b = start(dir_b.path(), JIAXING).await?;
    eprintln!(
        "hub-bench replication: {SHANGHAI} on {}, {JIAXING} on {}, kafka {}",
        a.addr, b.addr, kafka.brokers
    );

    let folded = watch_view(&b);
    let (mut received, subscription) = subscribe(&b).await?;
    if let Err(e) = warm_up(&a, &mut received).await {
        let status = |n: &RunningNode| format!("{:?}", n.hub.replication_status());
        bail!(
            "{e:#}; replication at {SHANGHAI}: {}; at {JIAXING}: {}",
            status(&a),
            status(&b)
        );
    }
    for &rate in &args.rates {
        phase(&a, &b, rate, period, &mut received, &folded).await?;
    }

    subscription.abort();
    a.stop().await?;
    b.stop().await?;
    drop(cluster);
    Ok(())
}

/// When the view of `node` reached each position, recorded from now on.
fn watch_view(node: &RunningNode) -> Arc<Mutex<Vec<(u64, Instant)>>> {
    let folded = Arc::new(Mutex::new(Vec::new()));
    let record = folded.clone();
    let mut position = node.hub.view().watch();
    tokio::spawn(async move {
        while position.changed().await.is_ok() {
            let p = *position.borrow_and_update();
            record
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((p, Instant::now()));
        }
    });
    folded
}

/// A live subscription on `node` to Shanghai's events, forwarding each with its receipt
/// time.
async fn subscribe(
    node: &RunningNode,
) -> anyhow::Result<(
    mpsc::UnboundedReceiver<Received>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let mut client = streams(&node.endpoint(), JIAXING_TOKEN).await?;
    let mut stream = client
        .subscribe(pb::SubscribeRequest {
            from_head: true,
            filter: Some(pb::SubscribeFilter {
                origins: vec![SHANGHAI.into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    loop {
        match stream.message().await? {
            Some(pb::SubscribeResponse {
                item: Some(Item::CaughtUp(_)),
            }) => break,
            Some(_) => {}
            None => bail!("the subscription ended before it was live"),
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let _client = client;
        while let Some(m) = stream.message().await? {
            if let Some(Item::Event(e)) = m.item {
                let at = Instant::now();
                let id = uuid::Uuid::parse_str(&e.event_id)
                    .with_context(|| format!("event id {:?}", e.event_id))?
                    .as_u128();
                if tx.send((id, e.position, at)).is_err() {
                    break;
                }
            }
        }
        anyhow::Ok(())
    });
    Ok((rx, task))
}

/// Publishes one event and waits for it to cross, so that the phases measure a running
/// pipeline rather than the consumer joining the topic.
async fn warm_up(
    a: &RunningNode,
    received: &mut mpsc::UnboundedReceiver<Received>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut client = publisher(&a.endpoint(), SHANGHAI_TOKEN).await?;
    client
        .append(demand_append(SHANGHAI, "warm-up", 1, true))
        .await?;
    tokio::time::timeout(WARM_UP, received.recv())
        .await
        .context("the first event did not replicate")?
        .context("the subscription ended")?;
    eprintln!(
        "hub-bench replication: the first event crossed in {:.2?}",
        started.elapsed()
    );
    Ok(())
}

/// Publishes at `rate` for `period` and reports the lag of every event.
async fn phase(
    a: &RunningNode,
    b: &RunningNode,
    rate: u64,
    period: Duration,
    received: &mut mpsc::UnboundedReceiver<Received>,
    folded: &Mutex<Vec<(u64, Instant)>>,
) -> anyhow::Result<()> {
    let batch = ((rate as f64 * TICK.as_secs_f64()).round() as usize).max(1);
    let tick = Duration::from_secs_f64(batch as f64 / rate as f64);
    let client = publisher(&a.endpoint(), SHANGHAI_TOKEN).await?;
    let mut appends = JoinSet::new();
    let mut ticks = tokio::time::interval(tick);
    let started = Instant::now();
    let mut k = 0u64;
    while started.elapsed() < period {
        ticks.tick().await;
        let request = demand_append(SHANGHAI, &format!("r{rate}-{k}"), batch, true);
        k += 1;
        let ids = request
            .events
            .iter()
            .map(|e| Ok(uuid::Uuid::parse_str(&e.event_id)?.as_u128()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut client = client.clone();
        appends.spawn(async move {
            client.append(request).await?;
            anyhow::Ok((ids, Instant::now()))
        });
    }
    let mut acked = HashMap::new();
    while let Some(done) = appends.join_next().await {
        let (ids, at) = done.context("append task")??;
        acked.extend(ids.into_iter().map(|id| (id, at)));
    }
    let published = started.elapsed();
    let events = acked.len();

    // Every event must arrive; its position at Jiaxing leads to when it became queryable.
    let mut stored = Vec::with_capacity(events);
    let mut positions = Vec::with_capacity(events);
    let deadline = tokio::time::Instant::now() + DRAIN;
    while stored.len() < events {
        let (id, position, at) = tokio::time::timeout_at(deadline, received.recv())
            .await
            .with_context(|| {
                format!(
                    "{JIAXING} received {} of {events} events within {DRAIN:?}",
                    stored.len()
                )
            })?
            .context("the subscription ended")?;
        if let Some(ack) = acked.get(&id) {
            stored.push(micros_between(*ack, at));
            positions.push((position, *ack));
        }
    }
    let last = positions.iter().map(|(p, _)| *p).max().unwrap_or(0);
    ensure!(
        b.hub.view().wait_for(last, DRAIN).await,
        "{JIAXING}'s view did not fold position {last}"
    );
    // The watcher records the fold a moment after it happens.
    let deadline = Instant::now() + Duration::from_secs(5);
    let folded = loop {
        let folded = folded.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if folded.last().is_some_and(|(p, _)| *p >= last) || Instant::now() > deadline {
            break folded;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let queryable: Vec<u64> = positions
        .iter()
        .filter_map(|(position, ack)| {
            let i = folded.partition_point(|(p, _)| p < position);
            folded.get(i).map(|(_, at)| micros_between(*ack, *at))
        })
        .collect();
    ensure!(
        queryable.len() == events,
        "saw {JIAXING}'s view fold {} of {events} events",
        queryable.len()
    );

    eprintln!(
        "hub-bench replication: rate {rate}: {events} events in batches of {batch} over \
         {published:.2?}"
    );
    let (stored, queryable) = (Latencies::new(stored), Latencies::new(queryable));
    report(
        &format!("replication.publish.rate{rate}"),
        events as f64 / published.as_secs_f64().max(1e-9),
        "events/s",
    );
    for (what, l) in [("lag", &queryable), ("stored", &stored)] {
        report(
            &format!("replication.{what}.rate{rate}.p50"),
            l.ms(0.50),
            "ms",
        );
        report(
            &format!("replication.{what}.rate{rate}.p99"),
            l.ms(0.99),
            "ms",
        );
    }
    Ok(())
}
