//! `hub-bench grpc`: a real node serving real gRPC on loopback over a sled log in a
//! temporary directory, measured from clients in the same process, each on its own
//! HTTP/2 connection:
//!
//! - `grpc.append.clients<C>`: durable single-event appends per second of `--clients`
//!   concurrent clients, each appending to its own stream with `ExpectedVersion::Any`, with
//!   the p50/p99 latency of an append;
//! - `grpc.append.batch<B>.clients<C>`: events per second appended in batches of `--batch`
//!   by `--batch-clients` clients, with the latency of a batch;
//! - `grpc.query.is_recognized.clients<C>`: `IsRecognized` questions per second to a small
//!   loaded view, beside `grpc.echo.health_check.clients<C>`: `grpc.health.v1.Health/Check`
//!   of a server holding nothing but that service, called with the same client setup in
//!   the same run (the two alternate in halves, so drift on the machine hits both), and
//!   `grpc.query.vs_echo.ratio`, the first rate over the second;
//! - `grpc.subscribe.catch_up`: events per second a subscription from the beginning
//!   delivers until it is caught up, after `--events` more events were appended;
//! - `grpc.fanout.subscribers<S>.*`: `--subscribers` subscriptions from the head while a
//!   publisher appends `--rate` events per second (a batch every 2 ms or so, without
//!   waiting for the previous one): the time from the append's acknowledgement at the
//!   publisher to the event's receipt at each subscriber, and from the append's send.
//!
//! - `grpc.query.screen_application.clients<C>`: `ScreenApplication` questions per second
//!   of `--clients` clients, with p50/p99, to a node of its own whose log holds
//!   `--register-events` events of the realistic mix of `hub-bench view` (every family,
//!   eight cities), built directly as `hub-bench console` does; the applicants are drawn
//!   as in `hub-bench view` (the register's people, the blacklist's, unknown people).
//!   Every answer is access-logged durably, as `CheckSubject`'s are, so beside it
//!   `grpc.query.check_subject.clients<C>` asks `CheckSubject` of the same node.
//!
//! With `--tcp-nodelay` the same node's services are served from a listener of the
//! bench's own with `TCP_NODELAY` set on every connection (the node's listener leaves
//! Nagle's algorithm on), the echo server likewise, and every figure is named
//! `grpc.nodelay.*` instead of `grpc.*`.

mod register;
mod subscribe;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_proto::pb;
use hub_proto::pb::publisher_server::PublisherServer;
use hub_proto::pb::query_server::QueryServer;
use hub_server::hub::Hub;
use hub_server::publisher::PublisherService;
use hub_server::query::QueryService;
use hub_server::streams::StreamsRouter;
use hub_server::RunningNode;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tonic::transport::server::{Router, TcpIncoming};
use tonic_health::pb::health_client::HealthClient;

use crate::figure::report;
use crate::harness::{
    self, connect, demand_append, micros_between, publisher, query, Bearer, Latencies,
    SHANGHAI_TOKEN,
};

/// The city whose node is measured (the default config publishes for it).
const CITY: &str = "310000";
/// Events per append while the catch-up log is built (the server's largest append).
const LOAD_BATCH: usize = 1000;

/// Options of `hub-bench grpc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory the node's temporary data directory is made in [default: ./target]; it
    /// must be on the disk being measured (a tmpfs makes fsync free).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds each phase runs (the query and echo phases each take this long).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Events appended before the catch-up subscription.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Concurrent clients of the single-event append and the query phases.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Concurrent clients of the batched append phase.
    #[arg(long, default_value_t = 16)]
    batch_clients: usize,
    /// Events per append in the batched phase.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Live subscribers of the fan-out phase.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Events per second published during the fan-out phase.
    #[arg(long, default_value_t = 5000)]
    rate: u64,
    /// Events of the realistic mix of `hub-bench view` (every family, eight cities) in the
    /// log of the node that the register phase screens applications against.
    #[arg(long, default_value_t = 200_000)]
    register_events: u64,
    /// Serve the node's services (and the echo service) from a listener that sets
    /// `TCP_NODELAY`, and name the figures `grpc.nodelay.*`.
    #[arg(long)]
    tcp_nodelay: bool,
}

/// Where the phases send their calls.
#[derive(Debug)]
struct Target {
    /// The node's state, for what the bench checks in-process.
    hub: Arc<Hub>,
    /// `http://` address of the node's services.
    endpoint: String,
    /// Whether the services (and the echo service) are served with `TCP_NODELAY`.
    nodelay: bool,
    /// What every figure's name starts with.
    prefix: &'static str,
}

impl Target {
    /// Where to reach `node`: its own listener, or with `nodelay` a listener of the
    /// bench's own that sets `TCP_NODELAY` and serves the same services of the same node
    /// (returned with the target, to be stopped after it).
    async fn serve(node: &RunningNode, nodelay: bool) -> anyhow::Result<(Self, Option<Served>)> {
        let served = if nodelay {
            let hub = node.hub.clone();
            let router = tonic::transport::Server::builder()
                .add_service(PublisherServer::new(PublisherService::new(hub.clone())))
                .add_service(QueryServer::new(QueryService::new(hub.clone())))
                .add_service(StreamsRouter::new(hub, usize::MAX));
            Some(Served::start(router, true).await?)
        } else {
            None
        };
        let target = Self {
            hub: node.hub.clone(),
            endpoint: served
                .as_ref()
                .map_or_else(|| node.endpoint(), |s| s.endpoint.clone()),
            nodelay,
            prefix: if nodelay { "grpc.nodelay" } else { "grpc" },
        };
        Ok((target, served))
    }
}

/// A gRPC server of the bench's own on a loopback port.
#[derive(Debug)]
struct Served {
    endpoint: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Served {
    /// Serves `router` on a free loopback port, with `TCP_NODELAY` on its connections
    /// if `nodelay`.
    async fn start(router: Router, nodelay: bool) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(nodelay));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            endpoint,
            stop,
            task,
        })
    }

    /// Stops serving and waits until the server let go of its services.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("server task")??;
        Ok(())
    }
}

/// What a closed-loop phase measured.
#[derive(Debug)]
struct Closed {
    /// Calls completed.
    calls: u64,
    elapsed: Duration,
    latencies: Latencies,
}

impl Closed {
    fn per_second(&self, per_call: u64) -> f64 {
        (self.calls * per_call) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Starts the node, runs the phases in order, stops the node.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let period = harness::seconds(args.seconds)?;
    ensure!(
        args.clients > 0 && args.batch_clients > 0 && args.subscribers > 0,
        "--clients, --batch-clients and --subscribers must be at least 1"
    );
    ensure!(
        (1..=LOAD_BATCH).contains(&args.batch),
        "--batch must be between 1 and {LOAD_BATCH}, got {}",
        args.batch
    );
    ensure!(args.rate > 0, "--rate must be at least 1");
    ensure!(
        args.register_events >= 100,
        "--register-events must be at least 100, got {}",
        args.register_events
    );
    let parent = crate::harness::bench_parent(args.dir.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("hub-bench-grpc-")
        .tempdir_in(&parent)?;
    let node = RunningNode::start(harness::load_config(dir.path())).await?;
    let (target, nodelay) = Target::serve(&node, args.tcp_nodelay).await?;
    eprintln!(
        "hub-bench grpc: node on {} with data under {}",
        target.endpoint,
        dir.path().display()
    );
    let t = &target;

    let name = format!("{}.append.clients{}", t.prefix, args.clients);
    let m = append_phase(t, args.clients, 1, period, "single").await?;
    report_closed(&name, &m, m.per_second(1), "events/s");

    let name = format!(
        "{}.append.batch{}.clients{}",
        t.prefix, args.batch, args.batch_clients
    );
    let m = append_phase(t, args.batch_clients, args.batch, period, "batch").await?;
    report_closed(&name, &m, m.per_second(args.batch as u64), "events/s");

    query_vs_echo(t, args.clients, period).await?;
    subscribe::catch_up(t, args.events).await?;
    settle(t).await?;
    subscribe::fanout(t, args.subscribers, args.rate, period).await?;

    drop(target);
    if let Some(served) = nodelay {
        served.stop().await?;
    }
    node.stop().await?;

    // The register on a node of its own, so that its large log weighs on no other phase.
    register::screen(
        &parent,
        args.register_events,
        args.clients,
        period,
        args.tcp_nodelay,
    )
    .await
}

/// Writes the view's snapshot now, so that the one the catch-up phase's bulk append put
/// off (`view.snapshot_busy_share`) is not written in the middle of the fan-out phase: a
/// snapshot holds the view's lock while it is encoded (about 0.4 s at a million events),
/// and appends that wait for the view wait for it (docs/performance.md).
async fn settle(target: &Target) -> anyhow::Result<()> {
    let hub = target.hub.clone();
    tokio::task::spawn_blocking(move || hub.view().write_snapshot(hub.log()))
        .await
        .context("snapshot task")??;
    Ok(())
}

fn report_closed(name: &str, m: &Closed, rate: f64, unit: &str) {
    eprintln!(
        "hub-bench grpc: {name}: {} calls in {:.2?}",
        m.calls, m.elapsed
    );
    report(name, rate, unit);
    report(&format!("{name}.p50"), m.latencies.us(0.50), "us");
    report(&format!("{name}.p99"), m.latencies.us(0.99), "us");
}

/// Runs `clients` closed loops of `call` for `period`, each loop on a client of its own.
async fn closed_loop<C, F, Fut>(
    clients: Vec<C>,
    period: Duration,
    call: F,
) -> anyhow::Result<Closed>
where
    C: Send + 'static,
    F: Fn(&mut C, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + period;
    let mut tasks = JoinSet::new();
    for mut client in clients {
        let call = call.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                // The closure builds the request before returning its future, so the
                // clock covers only the call.
                let call = call(&mut client, n);
                let t0 = Instant::now();
                call.await?;
                latencies.push(micros_between(t0, Instant::now()));
                n += 1;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.context("client task")??);
    }
    Ok(Closed {
        calls: all.len() as u64,
        elapsed: started.elapsed(),
        latencies: Latencies::new(all),
    })
}

/// `clients` clients append `batch` events at a time, each to a stream of its own.
async fn append_phase(
    target: &Target,
    clients: usize,
    batch: usize,
    period: Duration,
    tag: &str,
) -> anyhow::Result<Closed> {
    let mut all = Vec::with_capacity(clients);
    for i in 0..clients {
        let client = publisher(&target.endpoint, SHANGHAI_TOKEN).await?;
        all.push((client, format!("{tag}-{i}")));
    }
    closed_loop(all, period, move |(client, signal), n| {
        let request = demand_append(CITY, signal, batch, n == 0);
        let mut client = client.clone();
        async move {
            client.append(request).await?;
            Ok(())
        }
    })
    .await
}

/// Recognition rules of the node's city for a few title series, from named issuers and
/// from any, so that a question matches two rules among a few dozen.
fn recognition_rules() -> pb::AppendRequest {
    use pb::event_body::Kind;
    let series = ["engineering", "economics", "health", "education"];
    let levels = ["senior_full", "senior_deputy", "intermediate"];
    let issuers = ["*", "320100", "330100"];
    let mut events = Vec::new();
    for s in series {
        for l in levels {
            for i in issuers {
                let rule_id = format!("r-{s}-{l}-{}", i.replace('*', "any")).replace('_', "-");
                events.push(pb::Event {
                    event_id: uuid::Uuid::new_v4().to_string(),
                    body: Some(pb::EventBody {
                        kind: Some(Kind::CredentialRecognized(pb::CredentialRecognized {
                            rule_id,
                            credential: Some(pb::Credential {
                                kind: pb::CredentialKind::ProfessionalTitle as i32,
                                code: s.into(),
                                level: l.into(),
                            }),
                            issuer: i.into(),
                            local_equivalent: l.into(),
                            conditions: "two years of local social insurance".into(),
                            effective_from: "2020-01-01".into(),
                            effective_until: String::new(),
                        })),
                    }),
                    ..Default::default()
                });
            }
        }
    }
    pb::AppendRequest {
        stream: format!("recognition/{CITY}"),
        expected_version: None,
        events,
    }
}

/// The question every query client asks.
pub(crate) fn question() -> pb::IsRecognizedRequest {
    pb::IsRecognizedRequest {
        time: None,
        recognizer: CITY.into(),
        credential: Some(pb::Credential {
            kind: pb::CredentialKind::ProfessionalTitle as i32,
            code: "engineering".into(),
            level: "senior_full".into(),
        }),
        issuer: "320100".into(),
    }
}

/// `IsRecognized` against the node beside `Health/Check` against the echo server, in two
/// alternating halves each.
async fn query_vs_echo(target: &Target, clients: usize, period: Duration) -> anyhow::Result<()> {
    let mut loader = publisher(&target.endpoint, SHANGHAI_TOKEN).await?;
    let appended = loader.append(recognition_rules()).await?.into_inner();
    ensure!(
        target
            .hub
            .view()
            .wait_for(appended.last_position, Duration::from_secs(10))
            .await,
        "the view did not fold the recognition rules"
    );
    let answer = query(&target.endpoint, SHANGHAI_TOKEN)
        .await?
        .is_recognized(question())
        .await?
        .into_inner();
    ensure!(
        answer.matching_rules.len() == 2,
        "expected the question to match 2 rules, got {}",
        answer.matching_rules.len()
    );

    // The echo server: nothing but the health service, served like the node.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let echo = Served::start(
        tonic::transport::Server::builder().add_service(health),
        target.nodelay,
    )
    .await?;
    let mut queries = Vec::with_capacity(clients);
    let mut echoes = Vec::with_capacity(clients);
    for _ in 0..clients {
        queries.push(query(&target.endpoint, SHANGHAI_TOKEN).await?);
        echoes.push(HealthClient::with_interceptor(
            connect(&echo.endpoint).await?,
            Bearer::new(SHANGHAI_TOKEN)?,
        ));
    }
    let half = period / 2;
    let (mut q, mut e) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        e.push(
            closed_loop(echoes.clone(), half, |client, _| {
                let mut client = client.clone();
                async move {
                    client
                        .check(tonic_health::pb::HealthCheckRequest::default())
                        .await?;
                    Ok(())
                }
            })
            .await?,
        );
        q.push(
            closed_loop(queries.clone(), half, |client, _| {
                let mut client = client.clone();
                async move {
                    client.is_recognized(question()).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    echo.stop().await?;
    let (q, e) = (merge(q), merge(e));
    let (q_rate, e_rate) = (q.per_second(1), e.per_second(1));
    report_closed(
        &format!("{}.query.is_recognized.clients{clients}", target.prefix),
        &q,
        q_rate,
        "queries/s",
    );
    report_closed(
        &format!("{}.echo.health_check.clients{clients}", target.prefix),
        &e,
        e_rate,
        "calls/s",
    );
    report(
        &format!("{}.query.vs_echo.ratio", target.prefix),
        q_rate / e_rate.max(1e-9),
        "ratio",
    );
    Ok(())
}

/// Sums the runs of one kind.
fn merge(runs: Vec<Closed>) -> Closed {
    let mut calls = 0;
    let mut elapsed = Duration::ZERO;
    let mut all = Vec::new();
    for r in runs {
        calls += r.calls;
        elapsed += r.elapsed;
        all.extend(r.latencies.into_micros());
    }
    Closed {
        calls,
        elapsed,
        latencies: Latencies::new(all),
    }
}
