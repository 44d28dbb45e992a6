//! Crash safety: a child process appends from many tasks and is SIGKILLed at a random
//! moment, again and again, on one growing log. After every kill the log must reopen and
//! hold every acknowledged append at its acknowledged position, whole batches only, and
//! gap-free positions, stream versions and origin chains.
//!
//! The child is this test binary run again with `crash_child_writer` as its only test. It
//! prints `READY` on stdout once its log is open, then one line per acknowledged append:
//!
//! ```text
//! ACK <cycle> <task> <batch> <size> <first> <last> <stream_version>
//! ```
//!
//! Event content is a pure function of `(cycle, task, batch, index, size)`, so the parent
//! recomputes the exact bytes of every event it finds, acknowledged or not, and can tell
//! which batch each belongs to. A kill can only lose what was not yet acknowledged, and
//! it can never tear an append (this catches lost acks, half batches and broken chains;
//! power loss, which would catch an ack given before `fdatasync`, is not simulated).
//!
//! `HUB_CRASH_CYCLES` sets the number of kills (default 20), `HUB_CRASH_SEED` the seed of
//! the kill delays.

#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use hub_log::Log;
use hub_proto::convert::body_to_bytes;
use hub_proto::record::ZERO_HASH;
use hub_types::event::DemandTerms;
use hub_types::values::{Education, Industry, PayBand, Text};
use hub_types::{
    Body, EventId, ExpectedVersion, MemberId, NewEvent, OriginSeq, Position, StreamId,
};
use rand::{Rng, SeedableRng};

/// Tells the helper test it runs as the crash child, and where the log lives.
const DIR_VAR: &str = "HUB_LOG_CRASH_DIR";
/// Which cycle the child runs; part of every event id so ids never repeat across cycles.
const CYCLE_VAR: &str = "HUB_LOG_CRASH_CYCLE";
/// Concurrent appending tasks in the child.
const TASKS: u16 = 8;
/// Origins the tasks write for, so that several hash chains interleave in the log.
const MEMBERS: [&str; 4] = ["330400", "310000", "320500", "110000"];
/// Bytes 14..16 of every event id the child makes, to spot anything else in the log.
const ID_MAGIC: [u8; 2] = [0xc5, 0x4a];
/// The signal number of SIGKILL on every unix.
const SIGKILL: i32 = 9;
/// Longest wait for the child to open the log before it is killed anyway.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Events read per call when scanning the log.
const PAGE: usize = 10_000;

/// One append of the child: batch `batch` of task `task` in cycle `cycle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct BatchKey {
    cycle: u32,
    task: u16,
    batch: u32,
}

/// What the child reported for one acknowledged append.
#[derive(Debug, Clone, Copy)]
struct Ack {
    key: BatchKey,
    size: u8,
    first: u64,
    last: u64,
    stream_version: u64,
}

impl Ack {
    fn line(&self) -> String {
        let k = self.key;
        format!(
            "ACK {} {} {} {} {} {} {}",
            k.cycle, k.task, k.batch, self.size, self.first, self.last, self.stream_version
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let numbers: Vec<u64> = line
            .strip_prefix("ACK ")?
            .split(' ')
            .map(|w| w.parse().ok())
            .collect::<Option<_>>()?;
        let [cycle, task, batch, size, first, last, stream_version] = numbers[..] else {
            return None;
        };
        Some(Self {
            key: BatchKey {
                cycle: cycle.try_into().ok()?,
                task: task.try_into().ok()?,
                batch: batch.try_into().ok()?,
            },
            size: size.try_into().ok()?,
            first,
            last,
            stream_version,
        })
    }
}

/// The one stream task `task` writes, across all cycles.
fn task_stream(task: u16) -> StreamId {
    let member = MEMBERS[usize::from(task) % MEMBERS.len()];
    format!("demand/{member}/t{task}")
        .parse()
        .expect("valid stream")
}

/// Size of a batch, 1..=5, varied but recomputable.
fn batch_size(key: BatchKey) -> u8 {
    let mix = key.cycle as u64 * 31 + u64::from(key.task) * 7 + u64::from(key.batch) * 3;
    1 + (mix % 5) as u8
}

/// The id of event `index` of a batch: the batch key, index and size in plain bytes, with
/// the version and variant bits of a UUIDv8.
fn event_id(key: BatchKey, index: u8, size: u8) -> EventId {
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&key.cycle.to_be_bytes());
    b[4..6].copy_from_slice(&key.task.to_be_bytes());
    b[6] = 0x80;
    b[7] = index;
    b[8] = 0x80;
    b[9..13].copy_from_slice(&key.batch.to_be_bytes());
    b[13] = size;
    b[14..16].copy_from_slice(&ID_MAGIC);
    EventId::from_bytes(b)
}

/// The batch key, index and size an event id of the child carries.
fn parse_event_id(id: &str) -> Option<(BatchKey, u8, u8)> {
    let id: EventId = id.parse().ok()?;
    let b = id.as_bytes();
    if b[6] != 0x80 || b[8] != 0x80 || b[14..16] != ID_MAGIC {
        return None;
    }
    let key = BatchKey {
        cycle: u32::from_be_bytes(b[0..4].try_into().ok()?),
        task: u16::from_be_bytes(b[4..6].try_into().ok()?),
        batch: u32::from_be_bytes(b[9..13].try_into().ok()?),
    };
    Some((key, b[7], b[13]))
}

/// The body of event `index` of a batch; the level names the batch and the headcount is
/// its size, so a batch is recognisable from its bodies alone.
fn event_body(key: BatchKey, index: u8, size: u8) -> Body {
    let stream = task_stream(key.task);
    let level = format!(
        "batch {}.{}.{} event {index} of {size}",
        key.cycle, key.task, key.batch
    );
    Body::DemandSignalPublished(DemandTerms {
        signal_id: stream.local().expect("a demand stream has an id").clone(),
        industry: Industry::IntegratedCircuits,
        occupation_code: "2-02-09-03".parse().expect("valid code"),
        level: Text::new(&level, 64, true).expect("valid level"),
        headcount: u32::from(size),
        period: "2026-Q1".parse().expect("valid period"),
        pay_band: PayBand::new(20_000, 40_000).expect("valid band"),
        education: Education::Master,
    })
}

fn batch(key: BatchKey) -> Vec<NewEvent> {
    let size = batch_size(key);
    (0..size)
        .map(|i| NewEvent {
            event_id: event_id(key, i, size),
            body: event_body(key, i, size),
        })
        .collect()
}

/// Child-process entry point of [`acknowledged_appends_survive_repeated_sigkill`], not a
/// test: without `HUB_LOG_CRASH_DIR` it returns at once. With it, it appends to the log
/// in that directory from [`TASKS`] tasks until it is killed, printing one `ACK` line per
/// acknowledged append.
#[test]
#[ignore = "child-process entry point of the crash test, run by it with HUB_LOG_CRASH_DIR"]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let cycle: u32 = std::env::var(CYCLE_VAR)
        .ok()
        .and_then(|c| c.parse().ok())
        .expect("HUB_LOG_CRASH_CYCLE holds the cycle number");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let log = match Log::open(&dir) {
            Ok(log) => log,
            Err(e) => die(&format!("child cannot open the log: {e}")),
        };
        report("READY");
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| tokio::spawn(append_forever(log.clone(), cycle, task)))
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// Appends batch after batch to the task's stream, reporting each acknowledgement.
async fn append_forever(log: Log, cycle: u32, task: u16) {
    let stream = task_stream(task);
    for batch_no in 0.. {
        let key = BatchKey {
            cycle,
            task,
            batch: batch_no,
        };
        let events = batch(key);
        let size = events.len() as u8;
        let appended = match log.append(&stream, ExpectedVersion::Any, events).await {
            Ok(a) => a,
            Err(e) => die(&format!("append of {key:?} failed: {e}")),
        };
        if appended.duplicate {
            die(&format!("fresh batch {key:?} was taken for a retry"));
        }
        let ack = Ack {
            key,
            size,
            first: appended.first.get(),
            last: appended.last.get(),
            stream_version: appended.stream_version,
        };
        report(&ack.line());
    }
}

/// Prints one line for the parent and flushes it. One write per line, well under
/// PIPE_BUF, so lines of concurrent tasks never mix.
fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        die("stdout is gone");
    }
}

/// Ends the child with a failure the parent reports (a panic in a task would go unseen).
fn die(why: &str) -> ! {
    eprintln!("crash child: {why}");
    std::process::exit(3)
}

#[test]
fn acknowledged_appends_survive_repeated_sigkill() -> anyhow::Result<()> {
    let cycles: u32 = match std::env::var("HUB_CRASH_CYCLES") {
        Ok(n) => n.parse().context("HUB_CRASH_CYCLES must be a number")?,
        Err(_) => 20,
    };
    let seed: u64 = match std::env::var("HUB_CRASH_SEED") {
        Ok(s) => s.parse().context("HUB_CRASH_SEED must be a number")?,
        Err(_) => rand::random(),
    };
    eprintln!("crash test: {cycles} cycles, HUB_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Only to await `close`, which lets go of the store before the next child opens it.
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let mut acked: BTreeMap<BatchKey, Ack> = BTreeMap::new();
    let mut idle_cycles = 0;
    for cycle in 0..cycles {
        let delay = Duration::from_millis(rng.gen_range(30..=300));
        // Mostly time the kill from the moment the child's log is open, so it lands among
        // appends however long opening a grown log takes; sometimes from the spawn, so it
        // can land in the middle of opening and recovery.
        let from = if rng.gen_bool(0.2) {
            KillFrom::Spawn
        } else {
            KillFrom::Ready
        };
        let acks = run_child(dir.path(), cycle, from, delay).with_context(|| {
            format!("cycle {cycle} (kill {delay:?} after {from:?}, seed {seed})")
        })?;
        if acks.is_empty() {
            idle_cycles += 1;
        }
        for ack in acks {
            ensure!(
                acked.insert(ack.key, ack).is_none(),
                "batch {:?} acknowledged twice",
                ack.key
            );
        }
        let checking = Instant::now();
        let log = Log::open(dir.path())
            .with_context(|| format!("reopen after the kill of cycle {cycle} (seed {seed})"))?;
        let checked = check_log(&log, &acked)
            .with_context(|| format!("log after the kill of cycle {cycle} (seed {seed})"));
        runtime.block_on(log.close());
        drop(log);
        let head = checked?;
        eprintln!(
            "crash test: cycle {cycle}: killed {delay:?} after {from:?}; {} batches acknowledged so far, head {head}, reopened and checked in {:?}",
            acked.len(),
            checking.elapsed()
        );
    }
    ensure!(
        idle_cycles < cycles,
        "no cycle acknowledged anything: the test checked nothing"
    );
    eprintln!(
        "crash test: {cycles} cycles in {:?}, {} acknowledged batches",
        started.elapsed(),
        acked.len()
    );
    Ok(())
}

/// What the kill delay of a cycle is measured from.
#[derive(Debug, Clone, Copy)]
enum KillFrom {
    /// The child's start: the kill may hit it while it opens and recovers the log.
    Spawn,
    /// The child's `READY` line, printed once its log is open.
    Ready,
}

/// Runs one child on `dir`, SIGKILLs it `delay` after `from` and returns what it
/// acknowledged.
fn run_child(dir: &Path, cycle: u32, from: KillFrom, delay: Duration) -> anyhow::Result<Vec<Ack>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["crash_child_writer", "--exact", "--ignored", "--nocapture"])
        .env(DIR_VAR, dir)
        .env(CYCLE_VAR, cycle.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn the crash child")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let stderr = child.stderr.take().context("child stderr")?;
    let (ready_tx, ready) = mpsc::channel();
    let acks = std::thread::spawn(move || read_acks(stdout, ready_tx));
    let errors: JoinHandle<String> = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    if let KillFrom::Ready = from {
        // No `READY` means the child died or hangs: either way kill it and report below.
        let _ = ready.recv_timeout(READY_TIMEOUT);
    }
    std::thread::sleep(delay);
    let exited_early = child.try_wait()?;
    // `Child::kill` sends SIGKILL on unix: no destructor, flush or atexit handler runs.
    child.kill()?;
    let status = child.wait()?;
    let acks = acks
        .join()
        .map_err(|_| anyhow::anyhow!("ack reader panicked"))??;
    let errors = errors.join().unwrap_or_default();
    if exited_early.is_some() || status.signal() != Some(SIGKILL) {
        bail!("the child exited by itself ({status}) before the kill; its stderr:\n{errors}");
    }
    Ok(acks)
}

/// Reads the child's stdout until it closes: signals `ready` at the `READY` line and
/// collects the `ACK` lines. A last line cut short by the kill is ignored: it reports an
/// acknowledgement only partly, so it promises nothing.
fn read_acks(stdout: impl Read, ready: mpsc::Sender<()>) -> anyhow::Result<Vec<Ack>> {
    let mut reader = BufReader::new(stdout);
    let mut acks = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(acks);
        }
        let Some(complete) = line.strip_suffix('\n') else {
            return Ok(acks);
        };
        if complete == "READY" {
            let _ = ready.send(());
        } else if complete.starts_with("ACK ") {
            let ack =
                Ack::parse(complete).with_context(|| format!("malformed ack line {complete:?}"))?;
            acks.push(ack);
        }
    }
}

/// Where an event of a batch was found.
#[derive(Debug, Clone, Copy)]
struct Found {
    index: u8,
    size: u8,
    position: u64,
    stream_version: u64,
}

/// Checks the reopened log against everything acknowledged so far; returns the head.
fn check_log(log: &Log, acked: &BTreeMap<BatchKey, Ack>) -> anyhow::Result<u64> {
    let head = log.head();
    let mut batches: BTreeMap<BatchKey, Vec<Found>> = BTreeMap::new();
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_stamp = (i64::MIN, i32::MIN);
    let mut expected_position = 1;
    loop {
        let page = log.read_all(Position::at_least_first(expected_position), PAGE)?;
        if page.is_empty() {
            break;
        }
        for event in page {
            let pos = event.position.get();
            ensure!(
                pos == expected_position,
                "positions jump from {} to {pos}",
                expected_position - 1
            );
            expected_position += 1;
            let r = &event.record;
            let (key, index, size) = parse_event_id(&r.event_id).with_context(|| {
                format!("position {pos} holds a foreign event id {}", r.event_id)
            })?;
            ensure!(
                index < size && size == batch_size(key),
                "position {pos}: event id {} names event {index} of a batch of {size}",
                r.event_id
            );
            let stream = task_stream(key.task);
            ensure!(
                r.stream == stream.to_string() && r.origin == stream.owner().to_string(),
                "position {pos}: stream {} origin {}, expected {stream}",
                r.stream,
                r.origin
            );
            ensure!(
                r.body == body_to_bytes(&event_body(key, index, size)),
                "position {pos}: body of {key:?} event {index} differs from what was appended"
            );
            let version = versions.entry(r.stream.clone()).or_insert(0);
            ensure!(
                r.stream_version == *version + 1,
                "position {pos}: stream {} jumps from version {version} to {}",
                r.stream,
                r.stream_version
            );
            *version = r.stream_version;
            let stamp = r
                .recorded_at
                .map(|t| (t.seconds, t.nanos))
                .with_context(|| format!("position {pos} has no recorded_at"))?;
            ensure!(
                stamp >= last_stamp,
                "position {pos}: recorded_at goes backwards"
            );
            last_stamp = stamp;
            batches.entry(key).or_default().push(Found {
                index,
                size,
                position: pos,
                stream_version: r.stream_version,
            });
        }
    }
    ensure!(
        expected_position == head + 1,
        "read_all ends at {} but the head is {head}",
        expected_position - 1
    );

    // Batches are atomic: all of a batch's events, at consecutive positions and versions.
    for (key, found) in &batches {
        let size = found[0].size;
        ensure!(
            found.len() == usize::from(size),
            "batch {key:?} is torn: {} of its {size} events are stored",
            found.len()
        );
        for (i, f) in found.iter().enumerate() {
            ensure!(
                usize::from(f.index) == i
                    && f.position == found[0].position + i as u64
                    && f.stream_version == found[0].stream_version + i as u64,
                "batch {key:?} is not stored in order at consecutive positions: {found:?}"
            );
        }
    }

    // A task appends one batch at a time, so its stored batches of a cycle are 0..=k, and
    // at most one of them (the one in flight at the kill) is unacknowledged.
    let mut per_task: BTreeMap<(u32, u16), BTreeSet<u32>> = BTreeMap::new();
    for key in batches.keys() {
        per_task
            .entry((key.cycle, key.task))
            .or_default()
            .insert(key.batch);
    }
    for ((cycle, task), stored) in &per_task {
        let count = stored.len() as u32;
        ensure!(
            stored.iter().copied().eq(0..count),
            "cycle {cycle} task {task}: stored batches are not a prefix: {stored:?}"
        );
        let acked_count = acked
            .range(
                BatchKey {
                    cycle: *cycle,
                    task: *task,
                    batch: 0,
                }..=BatchKey {
                    cycle: *cycle,
                    task: *task,
                    batch: u32::MAX,
                },
            )
            .count() as u32;
        ensure!(
            count <= acked_count + 1,
            "cycle {cycle} task {task}: {count} batches stored but only {acked_count} acknowledged"
        );
    }

    // Every acknowledged append is where and what the acknowledgement said.
    for (key, ack) in acked {
        let found = batches
            .get(key)
            .with_context(|| format!("acknowledged batch is lost: {}", ack.line()))?;
        let first = found[0];
        let last = found[found.len() - 1];
        ensure!(
            usize::from(ack.size) == found.len()
                && ack.first == first.position
                && ack.last == last.position
                && ack.stream_version == last.stream_version,
            "acknowledged as {} but stored at positions {}..={} version {}",
            ack.line(),
            first.position,
            last.position,
            last.stream_version
        );
    }

    for (stream, version) in &versions {
        let id: StreamId = stream.parse()?;
        ensure!(
            log.stream_version(&id)? == *version,
            "stream {stream}: stream_version disagrees with its last event"
        );
    }

    check_origins(log, head)?;
    Ok(head)
}

/// Every origin's events are sequence 1..=n, each linked to the previous one's hash, and
/// together they are the whole log.
fn check_origins(log: &Log, head: u64) -> anyhow::Result<()> {
    let heads = log.origin_heads();
    let mut total = 0;
    for (origin, origin_head) in &heads {
        let origin: MemberId = *origin;
        let mut prev = ZERO_HASH;
        let mut seq = 0;
        loop {
            let page = log.read_origin(origin, OriginSeq::after(seq), PAGE)?;
            if page.is_empty() {
                break;
            }
            for event in page {
                let r = &event.record;
                ensure!(
                    r.origin_seq == seq + 1,
                    "origin {origin} jumps from sequence {seq} to {} at position {}",
                    r.origin_seq,
                    event.position
                );
                ensure!(
                    r.prev_hash == prev,
                    "origin {origin} sequence {}: prev_hash is not the hash of sequence {seq}",
                    r.origin_seq
                );
                prev = hub_proto::record::record_hash(r);
                seq = r.origin_seq;
            }
        }
        ensure!(
            seq == origin_head.seq.get() && prev == origin_head.hash,
            "origin {origin}: chain ends at sequence {seq}, the log says {}",
            origin_head.seq
        );
        total += seq;
    }
    ensure!(
        total == head,
        "origins hold {total} events but the head is {head}"
    );
    Ok(())
}

#[test]
fn ack_lines_and_event_ids_round_trip() {
    let key = BatchKey {
        cycle: 7,
        task: 3,
        batch: 123_456,
    };
    let ack = Ack {
        key,
        size: 4,
        first: 10,
        last: 13,
        stream_version: 99,
    };
    let parsed = Ack::parse(&ack.line()).expect("own line parses");
    assert_eq!(
        (parsed.key, parsed.size, parsed.first, parsed.last),
        (key, 4, 10, 13)
    );
    assert_eq!(parsed.stream_version, 99);
    assert!(Ack::parse("ACK 1 2 3 4 5 6 7 8").is_none());
    assert!(Ack::parse("ACK 1 2 3 4 5 6").is_none());
    let id = event_id(key, 2, 4).to_string();
    assert_eq!(parse_event_id(&id), Some((key, 2, 4)));
    assert_eq!(parse_event_id(&EventId::new_random().to_string()), None);
}
