//! `hub-bench scale`: what a node costs as its log grows.
//!
//! Builds a node's data directory holding `--events` events of the realistic mix of
//! `hub-bench view` (eight cities' recognition lists, demand signals, blacklist entries,
//! white-list entries and programme awards with their follow-ups), on disk, with every
//! append's chain head signed as a city node signs it. Then, each in a fresh process of its
//! own so that one phase's memory does not flatter or burden the next:
//!
//! 1. **replay**: opens the log and builds the view by replaying every event, as a node
//!    with no snapshot does, then writes the view's snapshot;
//! 2. **restart**: opens the log, then the view from that snapshot, one after the other,
//!    then asks three questions many times over and appends single events;
//! 3. **start**: opens the log and the view as a node starts: the snapshot read and decoded
//!    on a thread of its own while the log opens.
//!
//! Figures (all `scale.*`):
//!
//! - `build`: events per second appended while the log was built (windows of 4 096
//!   appends in flight, each durable before the next window);
//! - `log.record_bytes_per_event`: the records themselves, encoded as stored and
//!   replicated; `disk.log.bytes_per_event`: bytes the log's directory takes on disk
//!   (allocated blocks), per event, indexes and the storage engine's layout included; `disk.snapshot.bytes_per_event`: the view snapshot's size;
//! - `replay.open_ms`: opening the log (sled's recovery and the log's tail check);
//!   `replay.view_s` and `replay.rate`: folding every event into a fresh view;
//!   `replay.rss.bytes_per_event`: the growth of the process's resident memory across
//!   that replay, per event (the view, plus what the log's page cache took on the way);
//!   `snapshot.write_ms`;
//! - `restart.open_ms`: opening the log again; `restart.view_ms`: restoring the view from
//!   its snapshot and folding what came after it; `restart.ms` (the start phase): both,
//!   as a node overlaps them, what it needs before it serves; `view.rss.bytes_per_event`: the growth of resident
//!   memory across that restore, per event (the view's own cost: a restore reads one
//!   event of the log); `rss_mib`: the process's resident memory with log and view open;
//! - `query.<name>.p50` / `.p99`, in µs, for `CheckSubject`, `ScreenApplication` and
//!   `IsRecognized` asked of the view in-process;
//! - `append.p50` / `.p99`, in µs: a single-event durable append (the records file's
//!   `fdatasync`, then sled's) to the large log, one after another, each a new demand signal.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use hub_log::conformance::demand_event;
use hub_log::Log;
use hub_proto::pb;
use hub_server::keys::{dev_key, CitySigner};
use hub_types::{ExpectedVersion, MemberId, StreamId};
use hub_view::{View, ViewConfig};
use prost::Message;

use crate::figure::report;
use crate::harness::bench_parent;
use crate::view::mix::{Applicant, Mix, CITIES};
use crate::view::{build_in_windows, per_second, report_latency, time_each};

/// Appends in flight at once while the log is built.
const BUILD_WINDOW: usize = 4096;
/// Events above which `--large` must be given: the run then needs tens of GiB of disk and
/// memory and several minutes.
pub(crate) const LARGE: u64 = 1_000_000;

/// Options of `hub-bench scale`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the log.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Allow more than a million events (10^7 needs about 16 GB of disk, 13 GiB of memory
    /// and 20 minutes).
    #[arg(long)]
    large: bool,
    /// Directory the temporary data directory is made in [default: ./target]; it must be
    /// on the disk being measured.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Questions asked per latency figure.
    #[arg(long, default_value_t = 20_000)]
    queries: usize,
    /// Single-event appends timed on the large log.
    #[arg(long, default_value_t = 2_000)]
    appends: usize,
    /// Seed of the event and question generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the data directory afterwards (its path is printed), to look at its layout or
    /// to start a node on it.
    #[arg(long)]
    keep: bool,
    /// Internal: run one phase on an existing data directory.
    #[arg(long, hide = true, requires = "data")]
    phase: Option<Phase>,
    /// Internal: the data directory a phase works on.
    #[arg(long, hide = true)]
    data: Option<PathBuf>,
}

/// The phases run in processes of their own.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Phase {
    Replay,
    Restart,
    Start,
}

/// Builds the data directory, then runs each phase in a child process.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if let (Some(phase), Some(data)) = (args.phase, &args.data) {
        return match phase {
            Phase::Replay => replay(data, args.events).await,
            Phase::Restart => restart(data, &args).await,
            Phase::Start => start(data, args.events).await,
        };
    }
    ensure!(
        args.events >= 1_000,
        "--events must be at least 1000, got {}",
        args.events
    );
    ensure!(
        args.events <= LARGE || args.large,
        "--events {} is above {LARGE}: add --large (it needs about 1.6 KB of disk and 1.3 KB \
         of memory per event, and minutes)",
        args.events
    );
    ensure!(args.queries > 0, "--queries must be at least 1");
    ensure!(args.appends > 0, "--appends must be at least 1");
    let parent = bench_parent(args.dir.as_deref())?;
    let data = tempfile::Builder::new()
        .prefix("hub-bench-scale-")
        .tempdir_in(&parent)
        .with_context(|| format!("create a data directory under {}", parent.display()))?;

    let log = Log::open_signed(data.path().join("log"), signer()?)?;
    let mut mix = Mix::new(args.seed, args.events)?;
    let started = Instant::now();
    build_in_windows(&log, &mut mix, args.events, BUILD_WINDOW).await?;
    let elapsed = started.elapsed();
    eprintln!(
        "hub-bench scale: built {} events in {elapsed:.2?}",
        log.head()
    );
    report("scale.build", per_second(args.events, elapsed), "events/s");
    report(
        "scale.log.record_bytes_per_event",
        record_bytes(&log)? as f64 / args.events as f64,
        "bytes",
    );
    write_questions(&data.path().join("questions.bin"), &mut mix, args.queries)?;
    drop(mix);
    log.close().await;
    drop(log);
    let bytes = disk_bytes(&data.path().join("log"))?;
    report(
        "scale.disk.log.bytes_per_event",
        bytes as f64 / args.events as f64,
        "bytes",
    );

    for phase in ["replay", "restart", "start"] {
        let status = Command::new(std::env::current_exe()?)
            .args(["scale", "--phase", phase, "--data"])
            .arg(data.path())
            .args(["--events", &args.events.to_string()])
            .args(["--appends", &args.appends.to_string()])
            .status()
            .with_context(|| format!("run the {phase} phase"))?;
        ensure!(status.success(), "the {phase} phase failed: {status}");
    }
    let snapshot = std::fs::metadata(hub_view::snapshot::path(&data.path().join("view")))
        .context("the replay phase wrote no snapshot")?
        .len();
    report(
        "scale.disk.snapshot.bytes_per_event",
        snapshot as f64 / args.events as f64,
        "bytes",
    );
    if args.keep {
        let kept = data.keep();
        eprintln!(
            "hub-bench scale: the data directory is kept in {}",
            kept.display()
        );
    }
    Ok(())
}

/// Builds in `data` a node's data directory holding `events` events of the mix of `seed`:
/// the log, and the snapshot of a view of all of it, folded as a node of the built-in
/// roster folds it.
pub(crate) async fn build_node_data(data: &Path, events: u64, seed: u64) -> anyhow::Result<()> {
    let log = Log::open_signed(data.join("log"), signer()?)?;
    let mut mix = Mix::new(seed, events)?;
    build_in_windows(&log, &mut mix, events, BUILD_WINDOW).await?;
    drop(mix);
    let config = ViewConfig {
        roster: hub_types::roster::Roster::builtin(),
        snapshot_dir: Some(data.join("view")),
        ..ViewConfig::default()
    };
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        View::open(config, &log)?.write_snapshot(&log)?;
        Ok(())
    })?;
    log.close().await;
    Ok(())
}

/// Opens the log, folds all of it into a fresh view, writes the view's snapshot.
async fn replay(data: &Path, events: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let log = Log::open_signed(data.join("log"), signer()?)?;
    report("scale.replay.open_ms", ms(started), "ms");
    ensure!(
        log.head() == events,
        "the log holds {} events, not {events}",
        log.head()
    );
    let before = resident()?;
    let started = Instant::now();
    let view = tokio::task::block_in_place(|| View::open(config(data)?, &log).map_err(Into::into))
        as anyhow::Result<View>;
    let view = view?;
    let elapsed = started.elapsed();
    ensure!(
        view.position() == events,
        "the view folded {} of {events} events",
        view.position()
    );
    report("scale.replay.view_s", elapsed.as_secs_f64(), "s");
    report("scale.replay.rate", per_second(events, elapsed), "events/s");
    report(
        "scale.replay.rss.bytes_per_event",
        resident()?.saturating_sub(before) as f64 / events as f64,
        "bytes",
    );
    let started = Instant::now();
    tokio::task::block_in_place(|| view.write_snapshot(&log))?;
    report("scale.snapshot.write_ms", ms(started), "ms");
    log.close().await;
    Ok(())
}

/// Opens log and view as a restarting node does, then asks and appends.
async fn restart(data: &Path, args: &Args) -> anyhow::Result<()> {
    let events = args.events;
    let started = Instant::now();
    let log = Log::open_signed(data.join("log"), signer()?)?;
    let opened = ms(started);
    report("scale.restart.open_ms", opened, "ms");
    let before = resident()?;
    let started = Instant::now();
    let view = tokio::task::block_in_place(|| View::open(config(data)?, &log).map_err(Into::into))
        as anyhow::Result<View>;
    let view = view?;
    let restored = ms(started);
    ensure!(
        view.position() == events,
        "the view holds {} of {events} events",
        view.position()
    );
    report("scale.restart.view_ms", restored, "ms");
    let after = resident()?;
    report(
        "scale.view.rss.bytes_per_event",
        after.saturating_sub(before) as f64 / events as f64,
        "bytes",
    );
    report("scale.rss_mib", after as f64 / (1 << 20) as f64, "MiB");

    let questions = read_questions(&data.join("questions.bin"))?;
    let latencies = time_each(&questions.check_subject, |r| {
        view.check_subject(r).map(|a| a.entries.len())
    })?;
    report_latency("scale.query.check_subject", &latencies);
    let latencies = time_each(&questions.screen_application, |r| {
        view.screen_application(r).map(|a| a.reasons.len())
    })?;
    report_latency("scale.query.screen_application", &latencies);
    let latencies = time_each(&questions.is_recognized, |r| {
        view.is_recognized(r).map(|a| a.recognized)
    })?;
    report_latency("scale.query.is_recognized", &latencies);

    let city = MemberId::from_code(CITIES[0])?;
    let mut appends = Vec::with_capacity(args.appends);
    for i in 0..args.appends {
        let stream: StreamId = format!("demand/{city}/scale-{i}").parse()?;
        let event = demand_event(&stream, 1 + i as u32 % 50);
        let started = Instant::now();
        log.append(&stream, ExpectedVersion::NoStream, vec![event])
            .await?;
        appends.push(started.elapsed().as_nanos() as u64);
    }
    appends.sort_unstable();
    report_latency("scale.append", &appends);
    log.close().await;
    Ok(())
}

/// Opens the log and the view as a node starts: the snapshot is read and decoded on a
/// thread of its own while the log opens, then checked against the log and installed.
async fn start(data: &Path, events: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = config(data)?;
    let loading = {
        let config = config.clone();
        std::thread::spawn(move || hub_view::snapshot::load(&config))
    };
    let log = Log::open_signed(data.join("log"), signer()?)?;
    let loaded = loading
        .join()
        .map_err(|_| anyhow::anyhow!("loading the snapshot failed"))?;
    ensure!(loaded.is_some(), "the restart phase left no snapshot");
    let view = tokio::task::block_in_place(|| View::open_loaded(config, loaded, &log))?;
    let ready = ms(started);
    // The restart phase appended after the built events.
    ensure!(
        view.position() == log.head() && log.head() >= events,
        "the view holds {} of {} events",
        view.position(),
        log.head()
    );
    report("scale.restart.ms", ready, "ms");
    log.close().await;
    Ok(())
}

/// Signs chain heads for the eight cities of the mix with their development keys.
fn signer() -> anyhow::Result<Arc<CitySigner>> {
    let keys = CITIES
        .iter()
        .map(|c| {
            let city = MemberId::from_code(*c)?;
            let key = dev_key(city).with_context(|| format!("no development key for {city}"))?;
            Ok((city, key))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Arc::new(CitySigner::new(keys)))
}

/// The view's config as a node sets it: the eight cities, snapshots under `data/view`.
fn config(data: &Path) -> anyhow::Result<ViewConfig> {
    Ok(ViewConfig {
        snapshot_dir: Some(data.join("view")),
        ..crate::view::config()?
    })
}

/// The questions the restart phase asks, made by the parent from the mix it built the log
/// with.
#[derive(Debug, Default)]
struct Questions {
    check_subject: Vec<pb::CheckSubjectRequest>,
    screen_application: Vec<pb::ScreenApplicationRequest>,
    is_recognized: Vec<pb::IsRecognizedRequest>,
}

/// Writes `n` questions of each kind, length-delimited, kind after kind. Screenings are of
/// the register's people, the blacklist's and unknown people, three to one to one, as in
/// `hub-bench view`.
fn write_questions(file: &Path, mix: &mut Mix, n: usize) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(file)?);
    for _ in 0..n {
        put(&mut out, &mix.check_subject_request(0))?;
    }
    for i in 0..n {
        let who = match i % 5 {
            0..=2 => Applicant::Register,
            3 => Applicant::Listed,
            _ => Applicant::Unknown,
        };
        put(&mut out, &mix.screen_application_request(who, 0))?;
    }
    for _ in 0..n {
        put(&mut out, &mix.is_recognized_request(0))?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `m` length-delimited.
fn put(out: &mut impl Write, m: &impl Message) -> anyhow::Result<()> {
    out.write_all(&m.encode_length_delimited_to_vec())?;
    Ok(())
}

fn read_questions(file: &Path) -> anyhow::Result<Questions> {
    let mut bytes = Vec::new();
    BufReader::new(std::fs::File::open(file)?).read_to_end(&mut bytes)?;
    let mut buf = bytes.as_slice();
    let mut q = Questions::default();
    // The three kinds were written in equal numbers, one kind after the other.
    let mut all = Vec::new();
    while !buf.is_empty() {
        let len = prost::decode_length_delimiter(&mut buf)?;
        ensure!(len <= buf.len(), "questions file truncated");
        let (one, rest) = buf.split_at(len);
        all.push(one);
        buf = rest;
    }
    if all.len() % 3 != 0 || all.is_empty() {
        bail!("questions file holds {} messages", all.len());
    }
    let n = all.len() / 3;
    for m in &all[..n] {
        q.check_subject.push(pb::CheckSubjectRequest::decode(*m)?);
    }
    for m in &all[n..2 * n] {
        q.screen_application
            .push(pb::ScreenApplicationRequest::decode(*m)?);
    }
    for m in &all[2 * n..] {
        q.is_recognized.push(pb::IsRecognizedRequest::decode(*m)?);
    }
    Ok(q)
}

/// Bytes of every record in `log` as it is stored and replicated (encoded, signatures
/// and hashes included): what the log holds before its indexes and the storage engine's
/// own layout.
fn record_bytes<S: hub_log::Store>(log: &Log<S>) -> anyhow::Result<u64> {
    let mut total = 0;
    let mut after = 0;
    loop {
        let events = log.read_all(hub_types::Position::after(after), 4096)?;
        let Some(last) = events.last() else {
            return Ok(total);
        };
        after = last.position.get();
        total += events
            .iter()
            .map(|e| e.record.encoded_len() as u64)
            .sum::<u64>();
    }
}

/// Bytes the files under `dir` take on disk (allocated blocks, so sparse regions are not
/// counted and partly used blocks are).
fn disk_bytes(dir: &Path) -> anyhow::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}

/// The process's resident memory in bytes (Linux's `VmRSS`).
fn resident() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kib * 1024)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
