//! A real node driven past what it can serve.
//!
//! - Appends and questions at twice the rate the node served in a closed loop: every answer
//!   is OK or RESOURCE_EXHAUSTED and comes before the client's deadline, health answers
//!   SERVING throughout, resident memory stays under [`FLOOD_RSS_BOUND_MIB`], and afterwards
//!   requests are served again and exactly the acknowledged events are stored.
//! - 2,000 subscriptions of which half never read while events pile up: the readers get
//!   every event in order and are never cut off, the others are told where to resume (and
//!   resume there), they keep counting against `server.max_subscribers` until they have
//!   read that, and resident memory stays under [`SUBSCRIBERS_RSS_BOUND_MIB`].
//!
//! The node runs with small limits (set through `TALENT_HUB__…`), so overload is reached
//! cheaply on two cores; `hub-bench overload` runs the same flood for a minute against a
//! release build and reports the figures. No broker needed. The two tests take turns: each
//! needs the machine to itself to measure what the node can serve.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_proto::pb;
use hub_proto::pb::publisher_client::PublisherClient;
use hub_proto::pb::query_client::QueryClient;
use hub_proto::pb::streams_client::StreamsClient;
use hub_system_tests::client::{demand, Authed, Bearer};
use hub_system_tests::node::rss_kib;
use hub_system_tests::{eventually, Cluster, Node};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const SH: &str = "310000";
const MEMBER_TOKEN: &str = "dev-member-310000";
const OPERATOR_TOKEN: &str = "dev-operator";

/// Unary requests the node serves at once (`server.max_in_flight`).
const MAX_IN_FLIGHT: usize = 8;
/// HTTP/2 connections the flood is spread over.
const FLOOD_CONNECTIONS: usize = 8;
/// How long the closed loop that measures what the node serves runs.
const MEASURE: Duration = Duration::from_secs(3);
/// How long the flood runs.
const FLOOD: Duration = Duration::from_secs(15);
/// A request not answered within this is a hang (answers take milliseconds, shed or not).
const DEADLINE: Duration = Duration::from_secs(10);
/// The flood's memory bound: the node starts at about 20 MiB (debug build); in flight are at
/// most `MAX_IN_FLIGHT` small requests and whatever the transport holds of requests about to
/// be shed, which answers keep draining.
const FLOOD_RSS_BOUND_MIB: u64 = 128;

/// Subscriptions opened, half of which never read.
const SUBSCRIBERS: usize = 2000;
/// Subscriptions per HTTP/2 connection.
const PER_CONNECTION: usize = 100;
/// Events buffered per subscriber (`subscribe.buffer`).
const SUBSCRIBE_BUFFER: usize = 32;
/// How long a full buffer is tolerated (`subscribe.lag_timeout_ms`): long enough that a
/// reader on a busy machine always catches up in time.
const LAG_TIMEOUT_MS: u64 = 3000;
/// HTTP/2 stream window of the subscribers that never read: small, so that the transport
/// holds little of what they do not read and their buffers on the node fill.
const SLOW_WINDOW: u32 = 1024;
/// Events published: several times what a non-reader's buffer, the node's transport and
/// its window hold together.
const EVENTS: u64 = 300;
/// The subscribers' memory bound: per subscription a task, a channel of `SUBSCRIBE_BUFFER`
/// events (about 1 KiB each decoded) and HTTP/2 stream state, about 100 KiB at most, so
/// 2,000 of them take at most about 200 MiB above the node's own 20 MiB.
const SUBSCRIBERS_RSS_BOUND_MIB: u64 = 256;

/// Each test needs the machine to itself.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A channel of its own to `node`, as a separate client process would have.
async fn connect(node: &Node, stream_window: Option<u32>) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(node.endpoint())?
        .connect_timeout(Duration::from_secs(5))
        .initial_stream_window_size(stream_window)
        .connect()
        .await?)
}

/// Samples the resident memory of process `pid` every 50 ms until `stop`; returns the largest
/// in KiB.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut max = 0;
        while !stop.load(Ordering::Relaxed) {
            max = max.max(rss_kib(pid).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        max
    })
}

/// Asks the health service every 100 ms until `stop`, each time with [`DEADLINE`]; returns
/// how many answers were SERVING and what else came.
fn probe_health(
    channel: Channel,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(u64, Vec<String>)> {
    tokio::spawn(async move {
        let mut health = HealthClient::new(channel);
        let (mut serving, mut other) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let asked = tokio::time::timeout(DEADLINE, health.check(HealthCheckRequest::default()));
            match asked.await {
                Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => serving += 1,
                Ok(Ok(r)) => other.push(format!("status {}", r.get_ref().status)),
                Ok(Err(status)) => other.push(format!("{status:?}")),
                Err(_) => other.push(format!("no answer within {DEADLINE:?}")),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (serving, other)
    })
}

/// What one request of the flood got.
enum Answer {
    /// Served; an append names the event it stored.
    Served(Option<String>),
    /// Refused with RESOURCE_EXHAUSTED.
    Shed,
    /// Anything else: a failure of the test.
    Other(String),
}

/// The `n`th request of a load that alternates appends (each its own new signal) and
/// demand summaries.
async fn request(
    n: u64,
    publisher: &mut PublisherClient<Authed>,
    query: &mut QueryClient<Authed>,
) -> Answer {
    let (answer, appended) = if n.is_multiple_of(2) {
        let req = demand(SH, &format!("flood-{n}"), 1 + (n % 50) as u32);
        let id = req.events[0].event_id.clone();
        let answer = tokio::time::timeout(DEADLINE, publisher.append(req)).await;
        (answer.map(|r| r.map(drop)), Some(id))
    } else {
        let req = pb::DemandSummaryRequest {
            group_by: pb::GroupBy::Industry as i32,
            ..Default::default()
        };
        let answer = tokio::time::timeout(DEADLINE, query.demand_summary(req)).await;
        (answer.map(|r| r.map(drop)), None)
    };
    match answer {
        Ok(Ok(())) => Answer::Served(appended),
        Ok(Err(status)) if status.code() == Code::ResourceExhausted => Answer::Shed,
        Ok(Err(status)) => Answer::Other(format!("request {n}: {status:?}")),
        Err(_) => Answer::Other(format!("request {n}: no answer within {DEADLINE:?}")),
    }
}

/// What the flood's answers add up to.
#[derive(Default)]
struct Tally {
    served: u64,
    shed: u64,
    acked: BTreeSet<String>,
    other: Vec<String>,
}

impl Tally {
    fn count(&mut self, answer: Answer) {
        match answer {
            Answer::Served(id) => {
                self.served += 1;
                self.acked.extend(id);
            }
            Answer::Shed => self.shed += 1,
            Answer::Other(what) => self.other.push(what),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twice_the_load_it_can_serve_is_shed_while_health_and_memory_hold() -> anyhow::Result<()> {
    let _turn = SERIAL.lock().await;
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    let node = cluster.node_mut(SH);
    node.terminate(Duration::from_secs(30))?;
    node.set("server.max_in_flight", MAX_IN_FLIGHT);
    node.set("server.member_rate_per_second", 0);
    node.start().await?;
    let node = cluster.node(SH);
    let pid = node
        .pid()
        .ok_or_else(|| anyhow::anyhow!("the node is not running"))?;

    let stop = Arc::new(AtomicBool::new(false));
    let rss = sample_rss(pid, stop.clone());
    let health = probe_health(connect(node, None).await?, stop.clone());
    let mut clients = Vec::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let channel = connect(node, None).await?;
        clients.push((
            PublisherClient::with_interceptor(channel.clone(), Bearer::new(MEMBER_TOKEN)?),
            QueryClient::with_interceptor(channel, Bearer::new(MEMBER_TOKEN)?),
        ));
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(AtomicU64::new(0));

    // What the node serves: as many clients as it admits at once, in a closed loop.
    let began = Instant::now();
    let mut loops = JoinSet::new();
    for c in 0..MAX_IN_FLIGHT {
        let (mut p, mut q) = clients[c % FLOOD_CONNECTIONS].clone();
        let (tally, next) = (tally.clone(), next.clone());
        loops.spawn(async move {
            while began.elapsed() < MEASURE {
                let answer = request(next.fetch_add(1, Ordering::Relaxed), &mut p, &mut q).await;
                tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .count(answer);
            }
        });
    }
    while loops.join_next().await.transpose()?.is_some() {}
    let measured = tally.lock().unwrap_or_else(|e| e.into_inner()).served;
    let capacity = measured as f64 / began.elapsed().as_secs_f64();
    anyhow::ensure!(measured > 0, "nothing was served in the closed loop");

    // Twice that, whatever the answers: a new request every 1/rate seconds.
    let rate = 2.0 * capacity;
    let began = Instant::now();
    let mut flood = JoinSet::new();
    let mut issued = 0u64;
    while began.elapsed() < FLOOD {
        let due = (began.elapsed().as_secs_f64() * rate) as u64;
        while issued < due {
            let (mut p, mut q) = clients[issued as usize % FLOOD_CONNECTIONS].clone();
            let (tally, n) = (tally.clone(), next.fetch_add(1, Ordering::Relaxed));
            flood.spawn(async move {
                let answer = request(n, &mut p, &mut q).await;
                tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .count(answer);
            });
            issued += 1;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    while flood.join_next().await.transpose()?.is_some() {}
    let (served, shed, other) = {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        (t.served - measured, t.shed, t.other.clone())
    };

    // The load is gone: requests are served again, one after another.
    for i in 0..10u64 {
        let (p, q) = &mut clients[0];
        match request(next.fetch_add(1, Ordering::Relaxed), p, q).await {
            Answer::Served(id) => tally
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .acked
                .extend(id),
            Answer::Shed => anyhow::bail!("request {i} after the flood was shed"),
            Answer::Other(what) => anyhow::bail!("request {i} after the flood: {what}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (serving, unhealthy) = health.await?;
    let max_rss_mib = rss.await? / 1024;
    eprintln!(
        "flood: served {capacity:.0}/s in a closed loop of {MAX_IN_FLIGHT}; at {rate:.0}/s for \
         {FLOOD:?}: {issued} requests, {served} served, {shed} shed; {serving} health probes; \
         max RSS {max_rss_mib} MiB"
    );

    assert!(
        other.is_empty(),
        "answers other than OK and RESOURCE_EXHAUSTED: {:?}",
        &other[..other.len().min(10)]
    );
    assert!(
        shed > 0,
        "the flood was not shed: the node was never overloaded"
    );
    assert!(served > 0, "nothing was served during the flood");
    assert!(
        unhealthy.is_empty(),
        "health during the flood: {unhealthy:?}"
    );
    assert!(serving > 0, "health was never asked during the flood");
    assert!(
        max_rss_mib < FLOOD_RSS_BOUND_MIB,
        "resident memory reached {max_rss_mib} MiB, above {FLOOD_RSS_BOUND_MIB} MiB"
    );
    // Exactly the acknowledged events are stored: a shed append left nothing behind.
    let acked = std::mem::take(&mut tally.lock().unwrap_or_else(|e| e.into_inner()).acked);
    let stored: BTreeSet<String> = node
        .events()
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(stored.len(), acked.len(), "events stored vs acknowledged");
    assert!(
        stored == acked,
        "the stored events are not the acknowledged ones"
    );
    Ok(())
}

/// `talenthub_subscribers_cut_off_total{reason="lagging"}` of the node's admin listener.
async fn lagging_cut_off(admin: &str) -> Result<u64, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(admin)
        .await
        .map_err(|e| format!("cannot reach the admin listener: {e}"))?;
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    conn.read_to_string(&mut text)
        .await
        .map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("talenthub_subscribers_cut_off_total{reason=\"lagging\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

/// Subscribes from the beginning of the log.
async fn subscribe(
    client: &mut StreamsClient<Authed>,
    after: u64,
) -> Result<Streaming<pb::SubscribeResponse>, Status> {
    let req = pb::SubscribeRequest {
        after_position: after,
        ..Default::default()
    };
    Ok(client.subscribe(req).await?.into_inner())
}

/// Reads events' positions until `until` has arrived (then `Ok`, the stream left open) or
/// the stream ends (then the status, or `None` if it ended without one).
async fn read_until(
    sub: &mut Streaming<pb::SubscribeResponse>,
    until: u64,
    got: &mut Vec<u64>,
) -> Result<(), Option<Status>> {
    use pb::subscribe_response::Item;
    while got.last() != Some(&until) {
        match sub.message().await {
            Ok(Some(pb::SubscribeResponse {
                item: Some(Item::Event(e)),
            })) => got.push(e.position),
            Ok(Some(_)) => {}
            Ok(None) => return Err(None),
            Err(status) => return Err(Some(status)),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_of_two_thousand_subscribers_never_read_and_the_others_are_unaffected(
) -> anyhow::Result<()> {
    let _turn = SERIAL.lock().await;
    let admin = format!("127.0.0.1:{}", hub_system_tests::node::free_port()?);
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    let node = cluster.node_mut(SH);
    node.terminate(Duration::from_secs(30))?;
    node.set("server.max_subscribers", SUBSCRIBERS);
    node.set("subscribe.buffer", SUBSCRIBE_BUFFER);
    node.set("subscribe.lag_timeout_ms", LAG_TIMEOUT_MS);
    node.set("admin.listen", &admin);
    node.start().await?;
    let node = cluster.node(SH);
    let pid = node
        .pid()
        .ok_or_else(|| anyhow::anyhow!("the node is not running"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let rss = sample_rss(pid, stop.clone());

    // Half never read, on connections of their own with a small window.
    let half = SUBSCRIBERS / 2;
    let mut slow = Vec::new();
    let mut slow_clients = Vec::new();
    for _ in 0..half.div_ceil(PER_CONNECTION) {
        let channel = connect(node, Some(SLOW_WINDOW)).await?;
        slow_clients.push(StreamsClient::with_interceptor(
            channel,
            Bearer::new(OPERATOR_TOKEN)?,
        ));
    }
    for i in 0..half {
        slow.push(subscribe(&mut slow_clients[i / PER_CONNECTION], 0).await?);
    }
    // The other half read everything as it comes.
    let mut readers = JoinSet::new();
    for _ in 0..half.div_ceil(PER_CONNECTION) {
        let channel = connect(node, None).await?;
        let client = StreamsClient::with_interceptor(channel, Bearer::new(OPERATOR_TOKEN)?);
        for _ in 0..PER_CONNECTION {
            let mut sub = subscribe(&mut client.clone(), 0).await?;
            readers.spawn(async move {
                let mut got = Vec::new();
                let end = read_until(&mut sub, EVENTS, &mut got).await;
                (got, end, sub)
            });
        }
    }
    let refused = subscribe(&mut slow_clients[0], 0)
        .await
        .map(drop)
        .expect_err("one subscription more than the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    let mut publisher = node.publisher().await?;
    for i in 0..EVENTS {
        publisher
            .append(demand(SH, &format!("pile-{i}"), 1 + (i % 50) as u32))
            .await?;
    }

    // Every reader gets every event, in order, and is never cut off.
    let mut open = Vec::new();
    let all: Vec<u64> = (1..=EVENTS).collect();
    while let Some(reader) = readers.join_next().await {
        let (got, end, sub) = reader?;
        if let Err(end) = end {
            panic!(
                "a reader's stream ended after {} events: {end:?}",
                got.len()
            );
        }
        assert_eq!(got, all, "a reader's events");
        open.push(sub);
    }
    // Those that never read are cut off...
    eventually(
        Duration::from_secs(60),
        "every non-reader is cut off",
        || {
            let admin = admin.clone();
            async move {
                match lagging_cut_off(&admin).await? {
                    n if n >= half as u64 => Ok(n),
                    n => Err(format!("{n} cut off")),
                }
            }
        },
    )
    .await?;
    // ...but what they have not read still counts against the limit.
    let refused = subscribe(&mut slow_clients[0], 0)
        .await
        .map(drop)
        .expect_err("the non-readers still count until they have read their end");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    // When they read, they get the start of the log in order, then where to resume; and
    // they resume there, getting the rest.
    drop(open);
    let mut resumed = JoinSet::new();
    for (i, mut sub) in slow.into_iter().enumerate() {
        let client = slow_clients[i / PER_CONNECTION].clone();
        resumed.spawn(async move {
            let mut got = Vec::new();
            let status = match read_until(&mut sub, EVENTS, &mut got).await {
                Ok(()) => panic!("non-reader {i} got every event"),
                Err(None) => panic!("non-reader {i}'s stream ended without a status"),
                Err(Some(status)) => status,
            };
            drop(sub);
            assert_eq!(
                status.code(),
                Code::ResourceExhausted,
                "non-reader {i}: {status:?}"
            );
            let resume: u64 = status
                .metadata()
                .get("th-resume-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("non-reader {i}: no th-resume-after in {status:?}"));
            assert_eq!(
                got,
                (1..=resume).collect::<Vec<_>>(),
                "non-reader {i}'s events"
            );
            // Its place is given back once the stream has ended at both sides.
            let mut sub = eventually(Duration::from_secs(30), "resubscribe", || {
                let mut client = client.clone();
                async move {
                    subscribe(&mut client, resume)
                        .await
                        .map_err(|s| format!("{s:?}"))
                }
            })
            .await?;
            if let Err(end) = read_until(&mut sub, EVENTS, &mut got).await {
                panic!("non-reader {i} resumed after {resume}, then {end:?}");
            }
            assert_eq!(
                got,
                (1..=EVENTS).collect::<Vec<_>>(),
                "non-reader {i} after resuming"
            );
            anyhow::Ok(resume)
        });
    }
    let mut cut_at = Vec::new();
    while let Some(resume) = resumed.join_next().await {
        cut_at.push(resume??);
    }
    stop.store(true, Ordering::Relaxed);
    let max_rss_mib = rss.await? / 1024;
    eprintln!(
        "subscribers: non-readers cut off after {} to {} events",
        cut_at.iter().min().unwrap_or(&0),
        cut_at.iter().max().unwrap_or(&0)
    );
    eprintln!("subscribers: max RSS {max_rss_mib} MiB");
    assert!(
        max_rss_mib < SUBSCRIBERS_RSS_BOUND_MIB,
        "resident memory reached {max_rss_mib} MiB, above {SUBSCRIBERS_RSS_BOUND_MIB} MiB"
    );
    Ok(())
}
