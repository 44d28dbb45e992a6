//! `hub-bench overload`: a `talent-hub` process driven at twice what it serves.
//!
//! The node runs as a process of its own (so that its resident memory and CPU time are its
//! alone), standalone, with `server.max_in_flight = --max-in-flight` and no per-member rate
//! limit. The load alternates single-event appends (each a new demand signal) and
//! questions, spread over `--connections` HTTP/2 connections. The question is
//! `IsRecognized` (`--question recognized`), whose cost does not grow with the events the
//! flood appends, or `DemandSummary` (`--question summary`), which folds every signal and
//! so grows slower as the flood adds signals.
//!
//! With `--node-cpus`, the node runs on those CPUs only (`taskset`); run `hub-bench` itself
//! on the others (`taskset -c 1 hub-bench overload --node-cpus 0`), so that the load
//! generator has cores of its own and can offer twice what the node serves.
//!
//! 1. `--max-in-flight` clients in a closed loop for `--measure-seconds`: what the node
//!    serves, `overload.capacity`.
//! 2. For `--seconds`, a new request every 1/(`--factor` × capacity) seconds whatever the
//!    answers (an open loop), each with a `--deadline`: `overload.offered`, `.served` and
//!    `.shed` (RESOURCE_EXHAUSTED) per second, `.other` (any other answer or none within
//!    the deadline: expected 0), the p50/p99 of served requests, the node's resident
//!    memory at the start and at most (`overload.rss.*`, `VmRSS`), its CPU (`overload.cpu`,
//!    in cores), and `grpc.health.v1.Health/Check` asked every 50 ms on a connection of
//!    its own (`overload.health.*`, `.failed`: not SERVING or not answered).
//! 3. When the flood stops, requests one at a time until ten in a row are served:
//!    `overload.recovery`, the time from the last request of the flood to the first of
//!    those ten.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_proto::pb;
use hub_proto::pb::publisher_client::PublisherClient;
use hub_proto::pb::query_client::QueryClient;
use tokio::task::JoinSet;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::figure::report;
use crate::harness::{self, connect, demand_append, micros_between, Authed, Bearer, Latencies};

/// The city whose node is measured (the default config publishes for it).
const CITY: &str = "310000";
const TOKEN: &str = harness::SHANGHAI_TOKEN;
/// How long the node may take to serve normally again before the bench gives up.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);

/// Which `talent-hub` binary a bench runs, and where its data directory is made.
#[derive(Debug, clap::Args)]
pub struct NodeOptions {
    /// The `talent-hub` binary [default: `talent-hub` beside `hub-bench`].
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Directory the node's temporary data directory is made in [default: ./target]; it
    /// must be on the disk being measured (a tmpfs makes fsync free).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Options of `hub-bench overload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    node: NodeOptions,
    /// Seconds the flood runs.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Seconds of the closed loop that measures what the node serves.
    #[arg(long, default_value_t = 5.0)]
    measure_seconds: f64,
    /// The flood's rate, as a multiple of what the node served in the closed loop.
    #[arg(long, default_value_t = 2.0)]
    factor: f64,
    /// `server.max_in_flight` of the node, and the clients of the closed loop: small, so
    /// that twice what the node serves stays within what the load generator can send.
    #[arg(long, default_value_t = 8)]
    max_in_flight: usize,
    /// HTTP/2 connections the load is spread over.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds a request may take before it counts as unanswered.
    #[arg(long, default_value_t = 10.0)]
    deadline: f64,
    /// Requests of the flood awaiting their answer at most; when the load generator itself
    /// falls this far behind, the requests due are not sent but counted as
    /// `overload.unsent`, so that a queue in the generator is not taken for the node's.
    #[arg(long, default_value_t = 2048)]
    max_outstanding: usize,
    /// CPUs the node runs on (a `taskset -c` list, e.g. `0`) [default: any].
    #[arg(long)]
    node_cpus: Option<String>,
    /// The question alternating with the appends.
    #[arg(long, value_enum, default_value_t = Question::Recognized)]
    question: Question,
}

/// The question of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Question {
    /// `IsRecognized`: a lookup whose cost stays the same as the flood appends.
    Recognized,
    /// `DemandSummary` by industry: folds every demand signal, so each costs more as the
    /// flood appends new signals.
    Summary,
}

/// A `talent-hub` process, killed when dropped.
pub(crate) struct NodeProcess {
    pub(crate) child: Child,
    pub(crate) endpoint: String,
}

impl NodeProcess {
    /// Starts `binary` on free loopback ports with its data in `data`, its output in
    /// `data/../node.log`, and waits until it answers.
    async fn start(
        binary: &PathBuf,
        data: &std::path::Path,
        max_in_flight: usize,
        cpus: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut node = Self::spawn(binary, data, max_in_flight, cpus)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut q) = harness::query(&node.endpoint, TOKEN).await {
                if q.view_info(pb::ViewInfoRequest::default()).await.is_ok() {
                    return Ok(node);
                }
            }
            node.exited(data)?;
            ensure!(
                Instant::now() < deadline,
                "talent-hub not ready within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts `binary` on a free loopback port with its data in `data` and its output
    /// appended to `data/../<data's name>.log`, without waiting for it.
    pub(crate) fn spawn(
        binary: &PathBuf,
        data: &std::path::Path,
        max_in_flight: usize,
        cpus: Option<&str>,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))?;
        let mut command = match cpus {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.args(["-c", list]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .env("TALENT_HUB__NODE__DATA_DIR", data)
            .env("TALENT_HUB__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("TALENT_HUB__ADMIN__LISTEN", "")
            .env(
                "TALENT_HUB__SERVER__MAX_IN_FLIGHT",
                max_in_flight.to_string(),
            )
            .env("TALENT_HUB__SERVER__MEMBER_RATE_PER_SECOND", "0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// An error if the process has exited, naming its output file.
    pub(crate) fn exited(&mut self, data: &std::path::Path) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => anyhow::bail!(
                "talent-hub exited ({status}); see {}",
                data.with_extension("log").display()
            ),
            None => Ok(()),
        }
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    pub(crate) fn kill_now(&mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(drop)
    }

    /// `VmRSS` in KiB now.
    fn rss_kib(pid: u32) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time used so far (user + system), from `/proc/<pid>/stat`, assuming 100 ticks
    /// per second.
    pub(crate) fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `binary`, or `talent-hub` beside `hub-bench`; an error if it is not there.
pub(crate) fn node_binary(binary: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let binary = match binary {
        Some(b) => b,
        None => std::env::current_exe()?
            .with_file_name(format!("talent-hub{}", std::env::consts::EXE_SUFFIX)),
    };
    ensure!(
        binary.exists(),
        "no talent-hub at {}: build it (cargo build --release -p hub-server --bin talent-hub) or pass --binary",
        binary.display()
    );
    Ok(binary)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind port 0")?;
    Ok(listener.local_addr()?.port())
}

/// One request of the load: appends (each a new signal) and questions, alternating.
#[derive(Clone)]
struct Client {
    publisher: PublisherClient<Authed>,
    query: QueryClient<Authed>,
    deadline: Duration,
    question: Question,
}

/// What a request got.
enum Answer {
    Served(u64),
    Shed,
    Other(String),
}

impl Client {
    async fn call(&mut self, n: u64) -> Answer {
        let started = Instant::now();
        let answer = if n.is_multiple_of(2) {
            let req = demand_append(CITY, &format!("overload-{n}"), 1, true);
            tokio::time::timeout(self.deadline, self.publisher.append(req))
                .await
                .map(|r| r.map(drop))
        } else if self.question == Question::Recognized {
            let req = crate::grpc::question();
            tokio::time::timeout(self.deadline, self.query.is_recognized(req))
                .await
                .map(|r| r.map(drop))
        } else {
            let req = pb::DemandSummaryRequest {
                group_by: pb::GroupBy::Industry as i32,
                ..Default::default()
            };
            tokio::time::timeout(self.deadline, self.query.demand_summary(req))
                .await
                .map(|r| r.map(drop))
        };
        match answer {
            Ok(Ok(())) => Answer::Served(micros_between(started, Instant::now())),
            Ok(Err(s)) if s.code() == Code::ResourceExhausted => Answer::Shed,
            Ok(Err(s)) => Answer::Other(format!("{:?}: {}", s.code(), s.message())),
            Err(_) => Answer::Other(format!("no answer within {:?}", self.deadline)),
        }
    }
}

/// What a phase's answers add up to.
#[derive(Default)]
struct Tally {
    served: Vec<u64>,
    shed: u64,
    other: Vec<String>,
}

impl Tally {
    fn count(&mut self, answer: Answer) {
        match answer {
            Answer::Served(us) => self.served.push(us),
            Answer::Shed => self.shed += 1,
            Answer::Other(what) => self.other.push(what),
        }
    }
}

/// Runs the three phases against a fresh node.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let flood = harness::seconds(args.seconds)?;
    let measure = harness::seconds(args.measure_seconds)?;
    let deadline = harness::seconds(args.deadline)?;
    ensure!(
        args.factor > 0.0,
        "--factor must be positive, got {}",
        args.factor
    );
    ensure!(
        args.max_in_flight > 0 && args.connections > 0,
        "--max-in-flight and --connections must be at least 1"
    );
    let binary = node_binary(args.node.binary)?;
    let parent = crate::harness::bench_parent(args.node.dir.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("hub-bench-overload-")
        .tempdir_in(&parent)?;
    let node = NodeProcess::start(
        &binary,
        &dir.path().join("data"),
        args.max_in_flight,
        args.node_cpus.as_deref(),
    )
    .await?;
    let pid = node.child.id();
    eprintln!("hub-bench overload: node {pid} on {}", node.endpoint);

    let mut clients = Vec::new();
    for _ in 0..args.connections {
        let channel = connect(&node.endpoint).await?;
        clients.push(Client {
            publisher: PublisherClient::with_interceptor(channel.clone(), Bearer::new(TOKEN)?),
            query: QueryClient::with_interceptor(channel, Bearer::new(TOKEN)?),
            deadline,
            question: args.question,
        });
    }

    // 1. What the node serves.
    let tally = Arc::new(Mutex::new(Tally::default()));
    let began = Instant::now();
    let mut loops = JoinSet::new();
    for c in 0..args.max_in_flight {
        let mut client = clients[c % clients.len()].clone();
        let tally = tally.clone();
        loops.spawn(async move {
            let mut n = c as u64;
            while began.elapsed() < measure {
                let answer = client.call(n).await;
                tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .count(answer);
                n += 1 << 32;
            }
        });
    }
    while loops.join_next().await.transpose()?.is_some() {}
    let closed = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    let capacity = closed.served.len() as f64 / began.elapsed().as_secs_f64();
    ensure!(
        capacity > 0.0,
        "nothing was served in the closed loop: {:?}",
        closed.other.first()
    );
    let baseline = Latencies::new(closed.served);
    report("overload.capacity", capacity, "requests/s");
    report("overload.capacity.p99", baseline.ms(0.99), "ms");

    // 2. The flood, with health asked and memory sampled throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let rss_start = NodeProcess::rss_kib(pid);
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut max = 0;
            while !stop.load(Ordering::Relaxed) {
                max = max.max(NodeProcess::rss_kib(pid));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            max
        })
    };
    let prober = {
        let stop = stop.clone();
        let mut health = HealthClient::new(connect(&node.endpoint).await?);
        tokio::spawn(async move {
            let (mut took, mut failed) = (Vec::new(), 0u64);
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                match tokio::time::timeout(deadline, health.check(HealthCheckRequest::default()))
                    .await
                {
                    Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => {
                        took.push(micros_between(t0, Instant::now()));
                    }
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (Latencies::new(took), failed)
        })
    };
    let rate = args.factor * capacity;
    let cpu_before = node.cpu();
    let began = Instant::now();
    let mut flood_tasks = JoinSet::new();
    let (mut issued, mut unsent) = (0u64, 0u64);
    let outstanding = Arc::new(AtomicUsize::new(0));
    while began.elapsed() < flood {
        let due = (began.elapsed().as_secs_f64() * rate) as u64;
        while issued + unsent < due {
            if outstanding.load(Ordering::Relaxed) >= args.max_outstanding {
                unsent += 1;
                continue;
            }
            let mut client = clients[issued as usize % clients.len()].clone();
            let (tally, outstanding) = (tally.clone(), outstanding.clone());
            let n = (1 << 40) + issued;
            outstanding.fetch_add(1, Ordering::Relaxed);
            flood_tasks.spawn(async move {
                let answer = client.call(n).await;
                tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .count(answer);
                outstanding.fetch_sub(1, Ordering::Relaxed);
            });
            issued += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let flood_end = Instant::now();
    let wall = flood_end.duration_since(began);
    let cpu = node.cpu().saturating_sub(cpu_before);

    // 3. Back to normal: one request at a time until ten in a row are served.
    let mut client = clients[0].clone();
    let mut n = 1 << 48;
    let mut first_of_run = None;
    let mut run = 0;
    while run < 10 {
        ensure!(
            flood_end.elapsed() < Duration::from_secs(120),
            "not back to normal within 120 s"
        );
        let sent = Instant::now();
        match client.call(n).await {
            Answer::Served(_) => {
                first_of_run.get_or_insert(sent);
                run += 1;
            }
            _ => {
                first_of_run = None;
                run = 0;
            }
        }
        n += 1;
    }
    let recovery = first_of_run
        .filter(|_| run == 10)
        .map(|t| t.saturating_duration_since(flood_end));
    while flood_tasks.join_next().await.transpose()?.is_some() {}
    stop.store(true, Ordering::Relaxed);
    let rss_max = sampler.await?;
    let (health, health_failed) = prober.await?;
    let t = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    let secs = wall.as_secs_f64();
    eprintln!(
        "hub-bench overload: {issued} requests at {rate:.0}/s for {wall:.1?}: {} served, {} shed, {} other{}",
        t.served.len(),
        t.shed,
        t.other.len(),
        t.other.first().map(|o| format!(" (first: {o})")).unwrap_or_default()
    );
    report("overload.offered", issued as f64 / secs, "requests/s");
    report("overload.unsent", unsent as f64, "requests");
    report(
        "overload.served",
        t.served.len() as f64 / secs,
        "requests/s",
    );
    report("overload.shed", t.shed as f64 / secs, "requests/s");
    report("overload.other", t.other.len() as f64, "requests");
    let served = Latencies::new(t.served);
    report("overload.served.p50", served.ms(0.50), "ms");
    report("overload.served.p99", served.ms(0.99), "ms");
    report("overload.cpu", cpu.as_secs_f64() / secs, "cores");
    report("overload.rss.start", rss_start as f64 / 1024.0, "MiB");
    report("overload.rss.max", rss_max as f64 / 1024.0, "MiB");
    report("overload.health.p50", health.ms(0.50), "ms");
    report("overload.health.p99", health.ms(0.99), "ms");
    report("overload.health.failed", health_failed as f64, "probes");
    drop(node);
    let recovery =
        recovery.with_context(|| format!("not back to normal within {RECOVERY_LIMIT:?}"))?;
    report("overload.recovery", recovery.as_secs_f64() * 1000.0, "ms");
    Ok(())
}
