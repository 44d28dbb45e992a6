//! `hub-bench log`: durable appends per second of the sled event log for a grid of batch
//! sizes and concurrent writers, the latency of those appends, and a naive baseline that
//! fsyncs a plain file once per event.
//!
//! Every point runs on a fresh log in its own temporary directory. Each writer is a tokio
//! task appending to its own `recognition/<member>` stream with `ExpectedVersion::Any`,
//! one append at a time, with fresh random event ids as a client would send them.
//!
//! With `--metrics` each point instead compares throughput with the node's metrics
//! recording off and on, in alternating runs (`log.metrics.{off,on}.*`,
//! `log.metrics_cost.*` in %), and reports what recording costs per append apart from the
//! disk (`log.metrics.record_per_append`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_log::Log;
use hub_proto::convert::body_to_bytes;
use hub_server::metrics::{CommitMetrics, Metrics};
use hub_types::event::CredentialRecognized;
use hub_types::values::{Credential, CredentialKind, Issuer, Text, MAX_TEXT};
use hub_types::{Body, Date, EventId, ExpectedVersion, MemberId, NewEvent, StreamId};

use crate::figure::report;

/// Encoded size each event body is padded to.
const BODY_BYTES: usize = 500;
/// Province prefixes used to make one member city, hence one stream, per writer.
const PROVINCES: [u32; 8] = [33, 32, 31, 44, 11, 37, 42, 51];

/// Options of `hub-bench log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory the temporary logs are made in [default: ./target]; it must be on the
    /// disk being measured (a tmpfs makes fsync free).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds each point runs.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Run each point until this many events are acknowledged instead of for `--seconds`.
    #[arg(long)]
    events: Option<u64>,
    /// Concurrent writers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    writers: Vec<usize>,
    /// Events per append, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    batches: Vec<usize>,
    /// Skip the fsync-per-event baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Measure what recording the node's metrics (per-append counters and latency,
    /// group-commit histograms) costs: each point runs `--rounds` times with recording off
    /// and as often with it on, alternating (off, on, on, off, …) so that drift on the
    /// machine hits both alike, and the medians are compared.
    #[arg(long)]
    metrics: bool,
    /// Runs of each kind per point with `--metrics`.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
}

/// When a point stops.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// After this long.
    Time(Duration),
    /// Once this many events are acknowledged, spread over the writers.
    Events(u64),
}

/// What one point measured.
#[derive(Debug)]
struct Measured {
    events: u64,
    elapsed: Duration,
    /// Latency of every append, in microseconds, sorted.
    latencies_us: Vec<u64>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The nearest-rank percentile `p` (0..=1) of the append latencies.
    fn latency_us(&self, p: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1] as f64
    }
}

/// Runs the grid and the baseline, printing one figure per line.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let budget = match args.events {
        Some(n) => {
            ensure!(n > 0, "--events must be at least 1, got {n}");
            Budget::Events(n)
        }
        None => Budget::Time(
            Duration::try_from_secs_f64(args.seconds)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| {
                    format!("--seconds must be a positive number, got {}", args.seconds)
                })?,
        ),
    };
    ensure!(
        args.writers
            .iter()
            .all(|w| (1..=PROVINCES.len() * 99).contains(w)),
        "--writers must be between 1 and {}, got {:?}",
        PROVINCES.len() * 99,
        args.writers
    );
    ensure!(
        args.batches.iter().all(|b| *b > 0),
        "--batches must be at least 1, got {:?}",
        args.batches
    );
    ensure!(
        !args.metrics || args.rounds > 0,
        "--rounds must be at least 1, got {}",
        args.rounds
    );
    let parent = crate::harness::bench_parent(args.dir.as_deref())?;
    let template = body_template()?;
    eprintln!(
        "hub-bench log: bodies of {} bytes, logs under {}",
        body_to_bytes(&template).len(),
        parent.display()
    );

    for &batch in &args.batches {
        for &writers in &args.writers {
            let name = format!("log.append.batch{batch}.writers{writers}");
            if args.metrics {
                metrics_point(&parent, &template, batch, writers, budget, args.rounds).await?;
                continue;
            }
            eprintln!("hub-bench log: {name} ...");
            let m = append_point(&parent, &template, batch, writers, budget, None).await?;
            eprintln!(
                "hub-bench log: {name}: {} events in {:.2?}, {} appends",
                m.events,
                m.elapsed,
                m.latencies_us.len()
            );
            report(&name, m.per_second(), "events/s");
            report(&format!("{name}.p50"), m.latency_us(0.50), "us");
            report(&format!("{name}.p99"), m.latency_us(0.99), "us");
        }
    }

    if args.metrics {
        // What recording costs per append, without the disk's noise: one append's
        // counters and latency plus one group commit's histograms.
        let roster = hub_server::Config::defaults().roster()?;
        let metrics = Metrics::new(&roster);
        let observer = CommitMetrics(Arc::new(Metrics::new(&roster)));
        let n = 1_000_000u32;
        let started = Instant::now();
        for i in 0..n {
            let took = Duration::from_micros(u64::from(i % 5000));
            metrics.append_observed(metrics.city("310000"), "ok", 100, took);
            hub_log::observe::CommitObserver::committed(
                &observer,
                hub_log::observe::Commit {
                    events: 100,
                    calls: 1,
                    sync: took,
                },
            );
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(n);
        report("log.metrics.record_per_append", ns, "ns");
    }

    if !args.no_baseline {
        eprintln!("hub-bench log: log.baseline.fsync_per_event ...");
        let bytes = body_to_bytes(&template);
        let dir = tempfile::Builder::new()
            .prefix("hub-bench-baseline-")
            .tempdir_in(&parent)?;
        let path = dir.path().join("events");
        let m = tokio::task::spawn_blocking(move || fsync_per_event(&path, &bytes, budget))
            .await
            .context("baseline thread")??;
        report("log.baseline.fsync_per_event", m.per_second(), "events/s");
        report("log.baseline.fsync_per_event.p50", m.latency_us(0.50), "us");
        report("log.baseline.fsync_per_event.p99", m.latency_us(0.99), "us");
    }
    Ok(())
}

/// Runs one point `rounds` times with metrics recording off and `rounds` times with it on,
/// alternating in the pattern off, on, on, off, off, on, … (each pair swaps the order of
/// the one before, so a machine that speeds up or slows down during the run favours
/// neither), and reports both medians, their ratio, and what recording costs in percent
/// of the throughput without it (0 when the runs with recording were as fast or faster:
/// the cost is within the noise).
async fn metrics_point(
    parent: &Path,
    template: &Body,
    batch: usize,
    writers: usize,
    budget: Budget,
    rounds: usize,
) -> anyhow::Result<()> {
    let point = format!("batch{batch}.writers{writers}");
    let roster = hub_server::Config::defaults().roster()?;
    let mut off = Vec::with_capacity(rounds);
    let mut on = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for recording in order {
            // Off is the node with no commit observer and no per-append counters: what a
            // build without metrics would do.
            let metrics = recording.then(|| Arc::new(Metrics::new(&roster)));
            let m = append_point(parent, template, batch, writers, budget, metrics).await?;
            let state = if recording { "on" } else { "off" };
            eprintln!(
                "hub-bench log: {point} metrics {state} (round {}/{rounds}): {:.0} events/s",
                round + 1,
                m.per_second()
            );
            if recording {
                on.push(m.per_second());
            } else {
                off.push(m.per_second());
            }
        }
    }
    let off = median(&mut off);
    let on = median(&mut on);
    report(&format!("log.metrics.off.{point}"), off, "events/s");
    report(&format!("log.metrics.on.{point}"), on, "events/s");
    let ratio = on / off.max(1e-9);
    report(&format!("log.metrics.on_over_off.{point}"), ratio, "ratio");
    report(
        &format!("log.metrics_cost.{point}"),
        100.0 * (1.0 - ratio),
        "%",
    );
    Ok(())
}

/// The median of `values` (the upper one of an even count's middle pair).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A credential recognition whose conditions pad its encoding to [`BODY_BYTES`].
fn body_template() -> anyhow::Result<Body> {
    let make = |conditions_len: usize| -> anyhow::Result<Body> {
        let conditions: String = "with two years of local social insurance; "
            .chars()
            .cycle()
            .take(conditions_len)
            .collect();
        Ok(Body::CredentialRecognized(CredentialRecognized {
            rule_id: "bench-rule".parse()?,
            credential: Credential::new(
                CredentialKind::ProfessionalTitle,
                "engineering",
                "senior_full",
            )?,
            issuer: Issuer::Any,
            local_equivalent: Text::new("senior engineer", 64, true)?,
            conditions: Text::new(&conditions, MAX_TEXT, false)?,
            effective_from: Date::from_ymd(2026, 1, 1)?,
            effective_until: None,
        }))
    };
    // The length prefix of `conditions` grows with it, so settle the size by search.
    let mut len = 0;
    while len < MAX_TEXT && body_to_bytes(&make(len + 1)?).len() <= BODY_BYTES {
        len += 1;
    }
    make(len)
}

/// The stream of writer `w`: the recognition list of a member city of its own.
fn writer_stream(w: usize) -> anyhow::Result<StreamId> {
    let province = PROVINCES[w / 99];
    let city = (w % 99 + 1) as u32;
    Ok(StreamId::recognition(MemberId::from_code(
        province * 10_000 + city * 100,
    )?))
}

/// Measures `writers` concurrent writers appending batches of `batch` events.
async fn append_point(
    parent: &Path,
    template: &Body,
    batch: usize,
    writers: usize,
    budget: Budget,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<Measured> {
    let dir = tempfile::Builder::new()
        .prefix("hub-bench-log-")
        .tempdir_in(parent)?;
    let log = Log::open(dir.path())?;
    if let Some(m) = &metrics {
        log.observe_commits(Arc::new(CommitMetrics(m.clone())));
    }
    let appends_per_writer = match budget {
        Budget::Time(_) => u64::MAX,
        Budget::Events(n) => n.div_ceil((writers * batch) as u64),
    };
    let deadline = match budget {
        Budget::Time(d) => Some(Instant::now() + d),
        Budget::Events(_) => None,
    };
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let log = log.clone();
        let stream = writer_stream(w)?;
        let template = template.clone();
        let metrics = metrics.clone();
        let origin = stream.owner().to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..appends_per_writer {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let events = (0..batch)
                    .map(|_| NewEvent {
                        event_id: EventId::new_random(),
                        body: template.clone(),
                    })
                    .collect();
                let t0 = Instant::now();
                log.append(&stream, ExpectedVersion::Any, events).await?;
                let took = t0.elapsed();
                if let Some(m) = &metrics {
                    // What the gRPC path records per append.
                    m.append_observed(m.city(&origin), "ok", batch as u64, took);
                }
                latencies.push(took.as_micros() as u64);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.context("writer task")??);
    }
    let elapsed = started.elapsed();
    let events = latencies_us.len() as u64 * batch as u64;
    ensure!(
        log.head() == events,
        "the log holds {} events but {events} were acknowledged",
        log.head()
    );
    log.close().await;
    latencies_us.sort_unstable();
    Ok(Measured {
        events,
        elapsed,
        latencies_us,
    })
}

/// The naive way to make events durable: append each to a plain file and `fdatasync` it.
fn fsync_per_event(path: &Path, bytes: &[u8], budget: Budget) -> anyhow::Result<Measured> {
    let mut file = std::fs::OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    let started = Instant::now();
    let mut latencies_us = Vec::new();
    loop {
        let done = match budget {
            Budget::Time(d) => started.elapsed() >= d,
            Budget::Events(n) => latencies_us.len() as u64 >= n,
        };
        if done {
            break;
        }
        let t0 = Instant::now();
        file.write_all(bytes)?;
        file.sync_data()?;
        latencies_us.push(t0.elapsed().as_micros() as u64);
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Ok(Measured {
        events: latencies_us.len() as u64,
        elapsed,
        latencies_us,
    })
}
