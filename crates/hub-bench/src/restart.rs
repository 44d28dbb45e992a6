//! `hub-bench restart`: a `talent-hub` process killed with SIGKILL under load, again and
//! again, and the time it takes to serve again.
//!
//! Builds a node's data directory holding `--events` events of the mix of `hub-bench
//! scale` (or takes one kept by `hub-bench scale --keep`, `--data`), with the view's
//! snapshot written at its end, as a node that has run for a while has one. Then, for
//! `--cycles` cycles: starts the node (standalone, the default config) on that directory,
//! and once it answers `grpc.health.v1.Health/Check` with SERVING, has `--clients` clients
//! append single events (each a new demand signal) until `--appends` are acknowledged,
//! then kills the node with SIGKILL while the clients are still appending, and starts it
//! again.
//!
//! Figures (all `restart.*`, in ms, over the cycles after the first start):
//!
//! - `serving.p50` / `.p99` / `.max`: from the kill to the first SERVING answer of the
//!   next start, as the "kill to health SERVING";
//! - `cpu.p50`: CPU time (user and system, all threads) the node used from its spawn to
//!   serving;
//! - `audit.p50` / `.p99`: from the kill to the first `GetTreeHead` of an auditor that
//!   covers every acknowledged event (after a start the audit tree is read from its leaf
//!   file, checked against the log, and caught up with the log);
//! - `since_snapshot.max`, in events: the most events a start had to fold after its
//!   snapshot;
//! - `lost`, in events: acknowledged events a start did not hold (expected 0).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_proto::pb;
use hub_proto::pb::audit_client::AuditClient;
use tokio::task::JoinSet;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::figure::report;
use crate::harness::{self, bench_parent, connect, demand_append, Bearer, Latencies};
use crate::overload::NodeProcess;

/// The city whose node restarts (the default config publishes for it).
const CITY: &str = "310000";
const TOKEN: &str = harness::SHANGHAI_TOKEN;
/// The auditor of the default config.
const AUDITOR: &str = "dev-auditor";
/// How long one start may take before the bench gives up.
const START_LIMIT: Duration = Duration::from_secs(300);
/// How often a starting node is asked whether it serves.
const PROBE_EVERY: Duration = Duration::from_millis(2);

/// Options of `hub-bench restart`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    node: crate::overload::NodeOptions,
    /// Events the data directory is built with.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// A data directory kept by `hub-bench scale --keep` to restart on instead of
    /// building one; it is used in place and grows by the appends of every cycle.
    #[arg(long, conflicts_with = "events")]
    data: Option<PathBuf>,
    /// Kills and starts measured.
    #[arg(long, default_value_t = 20)]
    cycles: usize,
    /// Events acknowledged in each cycle before the kill.
    #[arg(long, default_value_t = 2_000)]
    appends: u64,
    /// Clients appending at once.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seed of the event generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Builds or takes the data directory, then kills and starts a node on it.
pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.cycles > 0, "--cycles must be at least 1");
    ensure!(args.appends > 0, "--appends must be at least 1");
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(
        args.data.is_some() || (1_000..=crate::scale::LARGE).contains(&args.events),
        "--events must be 1000 to {}, got {} (for more, build with `hub-bench scale --keep` \
         and pass --data)",
        crate::scale::LARGE,
        args.events
    );
    let binary = crate::overload::node_binary(args.node.binary)?;
    let parent = bench_parent(args.node.dir.as_deref())?;
    let built;
    let data = match &args.data {
        Some(data) => {
            ensure!(
                data.join("log").is_dir(),
                "--data {}: no log directory in it",
                data.display()
            );
            data.clone()
        }
        None => {
            built = tempfile::Builder::new()
                .prefix("hub-bench-restart-")
                .tempdir_in(&parent)?;
            let started = Instant::now();
            crate::scale::build_node_data(built.path(), args.events, args.seed).await?;
            eprintln!(
                "hub-bench restart: built {} events and their snapshot in {:.2?}",
                args.events,
                started.elapsed()
            );
            built.path().to_path_buf()
        }
    };

    let mut serving = Vec::new();
    let mut cpus = Vec::new();
    let mut audited = Vec::new();
    let mut since_snapshot = 0;
    let mut lost = 0;
    // The last acknowledged position before the kill, and when the kill was.
    let mut killed: Option<(u64, Instant)> = None;
    for cycle in 0..=args.cycles {
        let mut node = NodeProcess::spawn(&binary, &data, 8192, None)?;
        let spawned = Instant::now();
        wait_serving(&mut node, &data).await?;
        let up = Instant::now();
        let cpu = node.cpu();
        if let Some((acked, at)) = killed {
            serving.push(harness::micros_between(at, up));
            cpus.push(cpu.as_micros() as u64);
            let covered = wait_audited(&node.endpoint, acked).await?;
            audited.push(harness::micros_between(at, covered));
            let info = harness::query(&node.endpoint, TOKEN)
                .await?
                .view_info(pb::ViewInfoRequest::default())
                .await?
                .into_inner();
            lost += acked.saturating_sub(info.log_head);
            since_snapshot = since_snapshot.max(info.log_head - info.snapshot_position);
            eprintln!(
                "hub-bench restart: cycle {cycle}: serving {:.0} ms after the kill ({:.0} ms \
                 after the spawn, {:.0} ms of CPU), audit tree whole after {:.0} ms, {} \
                 events since the snapshot",
                (up - at).as_secs_f64() * 1e3,
                (up - spawned).as_secs_f64() * 1e3,
                cpu.as_secs_f64() * 1e3,
                (covered - at).as_secs_f64() * 1e3,
                info.log_head - info.snapshot_position
            );
        }
        if cycle == args.cycles {
            break;
        }
        let load = load_until(&node.endpoint, args.clients, args.appends, cycle).await?;
        // SIGKILL, while the clients still append.
        let at = Instant::now();
        node.kill_now().context("kill the node")?;
        load.stop.store(true, Ordering::Relaxed);
        let last = load.finish().await;
        killed = Some((last, at));
    }
    let serving = Latencies::new(serving);
    let audited = Latencies::new(audited);
    let cpus = Latencies::new(cpus);
    report("restart.serving.p50", serving.ms(0.50), "ms");
    report("restart.serving.p99", serving.ms(0.99), "ms");
    report("restart.serving.max", serving.ms(1.0), "ms");
    report("restart.cpu.p50", cpus.ms(0.50), "ms");
    report("restart.audit.p50", audited.ms(0.50), "ms");
    report("restart.audit.p99", audited.ms(0.99), "ms");
    report(
        "restart.since_snapshot.max",
        since_snapshot as f64,
        "events",
    );
    report("restart.lost", lost as f64, "events");
    ensure!(lost == 0, "{lost} acknowledged events were lost");
    Ok(())
}

/// Asks `node` whether it serves every `PROBE_EVERY` until it does.
async fn wait_serving(node: &mut NodeProcess, data: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_LIMIT;
    loop {
        // A refused connection answers at once; a connection is made anew each time, as
        // a load balancer's probe does.
        if let Ok(channel) = connect(&node.endpoint).await {
            let mut health = HealthClient::new(channel);
            loop {
                match health.check(HealthCheckRequest::default()).await {
                    Ok(r) if r.get_ref().status() == ServingStatus::Serving => return Ok(()),
                    Ok(_) => tokio::time::sleep(PROBE_EVERY).await,
                    Err(_) => break,
                }
            }
        }
        node.exited(data)?;
        ensure!(
            Instant::now() < deadline,
            "talent-hub not serving within {START_LIMIT:?}"
        );
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

/// Asks the node at `endpoint` for its tree head until it covers position `acked`;
/// answers when.
async fn wait_audited(endpoint: &str, acked: u64) -> anyhow::Result<Instant> {
    let mut audit = AuditClient::with_interceptor(connect(endpoint).await?, Bearer::new(AUDITOR)?);
    let deadline = Instant::now() + START_LIMIT;
    loop {
        let head = audit
            .get_tree_head(pb::GetTreeHeadRequest::default())
            .await
            .context("GetTreeHead")?;
        if head.get_ref().tree_size >= acked {
            return Ok(Instant::now());
        }
        ensure!(
            Instant::now() < deadline,
            "the audit tree did not reach {acked} within {START_LIMIT:?}"
        );
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

/// Clients appending until told to stop.
struct Load {
    stop: Arc<AtomicBool>,
    last: Arc<AtomicU64>,
    clients: JoinSet<()>,
}

impl Load {
    /// Waits for the clients; answers the last position acknowledged.
    async fn finish(mut self) -> u64 {
        while self.clients.join_next().await.is_some() {}
        self.last.load(Ordering::Relaxed)
    }
}

/// Starts `clients` clients appending single events to the node at `endpoint`, and
/// returns once `appends` are acknowledged, with the clients still appending.
async fn load_until(
    endpoint: &str,
    clients: usize,
    appends: u64,
    cycle: usize,
) -> anyhow::Result<Load> {
    let stop = Arc::new(AtomicBool::new(false));
    let last = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicU64::new(clients as u64));
    let mut set = JoinSet::new();
    for c in 0..clients {
        let mut publisher = harness::publisher(endpoint, TOKEN).await?;
        let (stop, last, acked, running) =
            (stop.clone(), last.clone(), acked.clone(), running.clone());
        set.spawn(async move {
            let _running = Running(running);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let signal = format!("restart-{cycle}-{c}-{n}");
                n += 1;
                match publisher
                    .append(demand_append(CITY, &signal, 1, true))
                    .await
                {
                    Ok(r) => {
                        last.fetch_max(r.get_ref().last_position, Ordering::Relaxed);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    // The node was killed, or refuses for another reason: stop.
                    Err(_) => return,
                }
            }
        });
    }
    let deadline = Instant::now() + START_LIMIT;
    while acked.load(Ordering::Relaxed) < appends {
        ensure!(
            running.load(Ordering::Relaxed) > 0 && Instant::now() < deadline,
            "the clients stopped after {} of {appends} appends",
            acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(Load {
        stop,
        last,
        clients: set,
    })
}

/// Counts a client as running until it returns.
struct Running(Arc<AtomicU64>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
