//! `hub-bench view`: how fast the shared view folds the log, and how fast it answers.
//!
//! Builds a log of `--events` events published by eight member cities in a realistic mix
//! (recognition lists with revisions and withdrawals; demand signals of which many are
//! revised and most are closed; blacklist entries of which some are suspended, reinstated
//! or revoked, with some people listed by more than one city; white-list entries renewed
//! or removed and programme awards amended, withdrawn or clawed back, given to the
//! blacklist's people and others, some funded several times by several cities), then
//! measures:
//!
//! - `view.replay`, `view.replay.median`: events per second that `View::catch_up` folds
//!   into a fresh view from the prebuilt log (reading and decoding the stored records
//!   included, on a thread beside the fold's), best and median of `--replays` runs;
//!   `view.replay.cpu.median` counts the CPU time the process used meanwhile (its CPU
//!   clock: every thread, the fold's and the reader's), events per second of a core, so
//!   other load on the machine does not lower it;
//! - `view.is_recognized.*`, `view.check_subject.*`: in-process latency of single
//!   questions to the full view, p50 and p99;
//! - `view.screen_application.*`: in-process latency of `ScreenApplication`, p50 and p99,
//!   over every applicant and for each kind apart (`.register`: the register's people,
//!   often funded before; `.listed`: people on the blacklist's pool; `.unknown`: people
//!   the hub has never heard of); `view.screen_application.fastest_of_3.*`: the same
//!   questions, each timed in three passes and its fastest kept, so that time the thread
//!   spent off its core (other load on the machine) is left out; `view.whitelist_status.*`, `view.list_awards.*` (a
//!   city's first page, unfiltered or filtered) and `view.register_summary.*` likewise;
//! - `view.record_time.*`: questions answered as of the log's middle position.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_log::{Log, Store};
use hub_proto::pb;
use hub_types::event::PersonalFields;
use hub_types::roster::{Member, Roster};
use hub_types::values::{Text, MAX_TEXT};
use hub_types::{EventId, ExpectedVersion, MemberId, NewEvent, StreamId};
use hub_view::{View, ViewConfig};
use tokio::task::JoinSet;

use crate::figure::report;

pub(crate) mod mix;

use mix::{Applicant, Mix, CITIES};

/// Appends in flight at once while the log is built (the writer groups them).
const WINDOW: usize = 256;

/// Options of `hub-bench view`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Questions asked per latency figure.
    #[arg(long, default_value_t = 100_000)]
    queries: usize,
    /// Build the log on sled in a temporary directory under this path (which must exist)
    /// instead of in memory.
    #[arg(long)]
    sled: Option<PathBuf>,
    /// Times the log is replayed into a fresh view; the best and the median rate are
    /// reported.
    #[arg(long, default_value_t = 3)]
    replays: u32,
    /// Seed of the event and question generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Builds the log, then measures the view on it.
pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(
        args.events >= 100,
        "--events must be at least 100, got {}",
        args.events
    );
    ensure!(args.queries > 0, "--queries must be at least 1");
    ensure!(args.replays > 0, "--replays must be at least 1");
    match &args.sled {
        Some(parent) => {
            let dir = tempfile::Builder::new()
                .prefix("hub-bench-view-")
                .tempdir_in(parent)
                .with_context(|| format!("create a temporary log under {}", parent.display()))?;
            let log = Log::open(dir.path())?;
            measure(log, &args).await
        }
        None => measure(Log::in_memory(), &args).await,
    }
}

async fn measure<S: Store>(log: Log<S>, args: &Args) -> anyhow::Result<()> {
    let mut mix = Mix::new(args.seed, args.events)?;
    let started = Instant::now();
    build(&log, &mut mix, args.events).await?;
    eprintln!(
        "hub-bench view: built a log of {} events ({} rules, {} signals, {} entries, \
         {} white-list entries, {} awards) in {:.2?}",
        log.head(),
        mix.rules.iter().map(Vec::len).sum::<usize>(),
        mix.signals,
        mix.entries,
        mix.whitelisted,
        mix.awards,
        started.elapsed()
    );

    // The fold: a fresh view replays the whole prebuilt log, a few times, since other
    // work on the machine only ever slows a run down; the best run is reported.
    let mut rates = Vec::new();
    let mut cpu_rates = Vec::new();
    let mut view = None;
    for _ in 0..args.replays {
        drop(view.take());
        let fresh = View::new(config()?);
        let (folded, elapsed, cpu) = tokio::task::block_in_place(|| {
            let cpu = process_cpu_time();
            let started = Instant::now();
            let folded = fresh.catch_up(&log);
            let elapsed = started.elapsed();
            // Trusted only for runs long enough that the bench's other threads, mostly
            // idle, weigh little in it.
            let cpu = cpu
                .zip(process_cpu_time())
                .map(|(a, b)| b.saturating_sub(a))
                .filter(|_| elapsed >= Duration::from_millis(500));
            folded.map(|n| (n, elapsed, cpu))
        })?;
        ensure!(
            folded == args.events,
            "folded {folded} of {} events",
            args.events
        );
        let on_cpu = cpu.map_or_else(String::new, |cpu| format!(", {cpu:.2?} on a core"));
        eprintln!("hub-bench view: replayed {folded} events in {elapsed:.2?}{on_cpu}");
        rates.push(per_second(folded, elapsed));
        cpu_rates.extend(cpu.map(|cpu| per_second(folded, cpu)));
        view = Some(fresh);
    }
    let view = view.context("no replay ran")?;
    rates.sort_by(f64::total_cmp);
    report("view.replay", rates[rates.len() - 1], "events/s");
    report("view.replay.median", rates[rates.len() / 2], "events/s");
    if !cpu_rates.is_empty() {
        cpu_rates.sort_by(f64::total_cmp);
        report(
            "view.replay.cpu.median",
            cpu_rates[cpu_rates.len() / 2],
            "events/s",
        );
    }

    let recognized: Vec<pb::IsRecognizedRequest> = (0..args.queries)
        .map(|_| mix.is_recognized_request(0))
        .collect();
    let latencies = time_each(&recognized, |r| view.is_recognized(r).map(|a| a.recognized))?;
    let hits = recognized
        .iter()
        .filter(|r| view.is_recognized(r).is_ok_and(|a| a.recognized))
        .count();
    eprintln!(
        "hub-bench view: is_recognized: {hits} of {} recognised",
        recognized.len()
    );
    report_latency("view.is_recognized", &latencies);

    let checks: Vec<pb::CheckSubjectRequest> = (0..args.queries)
        .map(|_| mix.check_subject_request(0))
        .collect();
    let latencies = time_each(&checks, |r| view.check_subject(r).map(|a| a.entries.len()))?;
    report_latency("view.check_subject", &latencies);
    register(&view, &mut mix, args)?;

    // Record time: what the hub knew halfway through.
    let middle = args.events / 2;
    let summary = pb::DemandSummaryRequest {
        time: Some(axes("2026-06-30", middle)),
        group_by: pb::GroupBy::Industry as i32,
        filter: None,
    };
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        black_box(view.demand_summary(&summary)?);
        runs.push(started.elapsed());
    }
    runs.sort_unstable();
    report(
        "view.record_time.demand_summary",
        runs[runs.len() / 2].as_secs_f64() * 1e3,
        "ms",
    );
    let checks: Vec<pb::CheckSubjectRequest> = (0..args.queries.min(20_000))
        .map(|_| mix.check_subject_request(middle))
        .collect();
    let latencies = time_each(&checks, |r| view.check_subject(r).map(|a| a.entries.len()))?;
    report(
        "view.record_time.check_subject.p99",
        percentile_us(&latencies, 0.99),
        "us",
    );
    let screens: Vec<pb::ScreenApplicationRequest> = (0..args.queries.min(20_000))
        .map(|_| mix.screen_application_request(Applicant::Register, middle))
        .collect();
    let latencies = time_each(&screens, |r| {
        view.screen_application(r).map(|a| a.reasons.len())
    })?;
    report(
        "view.record_time.screen_application.p99",
        percentile_us(&latencies, 0.99),
        "us",
    );
    log.close().await;
    personal_data(args)?;
    Ok(())
}

/// The talent register's questions: screening applications of the register's people (drawn
/// as awards are, so often funded before), of people on the blacklist's pool and of people
/// the hub has never heard of; white-list status; a city's first page of awards; the
/// totals of the joint report.
fn register(view: &View, mix: &mut Mix, args: &Args) -> anyhow::Result<()> {
    // Three in five applicants from the register, one from the blacklist's pool, one
    // unknown.
    let classes = [
        (Applicant::Register, "register", args.queries * 3 / 5),
        (Applicant::Listed, "listed", args.queries / 5),
        (Applicant::Unknown, "unknown", args.queries / 5),
    ];
    let mut all = Vec::with_capacity(args.queries);
    let mut every = Vec::with_capacity(args.queries);
    for (who, name, n) in classes {
        let screens: Vec<pb::ScreenApplicationRequest> = (0..n.max(1))
            .map(|_| mix.screen_application_request(who, 0))
            .collect();
        let latencies = time_each(&screens, |r| {
            view.screen_application(r).map(|a| a.reasons.len())
        })?;
        let mut verdicts = [0usize; 4];
        let (mut overlapping, mut fast_tracked) = (0, 0);
        for r in &screens {
            let a = view.screen_application(r)?;
            verdicts[a.verdict.clamp(0, 3) as usize] += 1;
            overlapping += a.overlapping.len();
            fast_tracked += usize::from(!a.fast_track.is_empty());
        }
        eprintln!(
            "hub-bench view: screen_application of {name} applicants: {} barred, {} in \
             conflict, {} clear; {overlapping} overlapping awards, {fast_tracked} fast-tracked",
            verdicts[pb::Verdict::Barred as usize],
            verdicts[pb::Verdict::Conflict as usize],
            verdicts[pb::Verdict::Clear as usize],
        );
        report_latency(&format!("view.screen_application.{name}"), &latencies);
        all.extend(latencies);
        every.extend(screens);
    }
    all.sort_unstable();
    report_latency("view.screen_application", &all);
    let latencies = time_fastest(&every, 3, |r| {
        view.screen_application(r).map(|a| a.reasons.len())
    })?;
    report_latency("view.screen_application.fastest_of_3", &latencies);

    let statuses: Vec<pb::WhitelistStatusRequest> = (0..args.queries)
        .map(|_| mix.whitelist_status_request(0))
        .collect();
    let latencies = time_each(&statuses, |r| {
        view.whitelist_status(r).map(|a| a.entries.len())
    })?;
    report_latency("view.whitelist_status", &latencies);

    let lists: Vec<pb::ListAwardsRequest> = (0..args.queries.min(20_000))
        .map(|_| mix.list_awards_request(0))
        .collect();
    let latencies = time_each(&lists, |r| view.list_awards(r).map(|a| a.awards.len()))?;
    report_latency("view.list_awards", &latencies);

    // The totals walk every award and entry: fewer runs.
    let summaries: Vec<pb::RegisterSummaryRequest> = (0..args.queries.min(200))
        .map(|_| mix.register_summary_request(0))
        .collect();
    let latencies = time_each(&summaries, |r| {
        view.register_summary(r).map(|a| a.awards.len())
    })?;
    report_latency("view.register_summary", &latencies);
    Ok(())
}

/// What sealed personal fields add: a durable key per new entry, and opening the fields
/// of each entry in an answer.
fn personal_data(args: &Args) -> anyhow::Result<()> {
    use hub_log::vault::{self, Vault};

    // On disk even when the log is in memory: creating and destroying a key is a sync.
    let parent = args.sled.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("hub-bench-vault-")
        .tempdir_in(&parent)
        .with_context(|| format!("create a temporary vault under {}", parent.display()))?;
    let keys = Vault::open(dir.path())?;
    let fields = PersonalFields {
        subject_display: "欧阳*".parse()?,
        decision_summary: Text::new(&"以伪造的学位证书申报人才计划。".repeat(8), MAX_TEXT, false)?,
    };
    let n = 200;
    let mut create = Vec::with_capacity(n);
    let mut sealed = Vec::with_capacity(n);
    for i in 0..n {
        let stream: StreamId = format!("blacklist/310000/bench-{i}").parse()?;
        let started = Instant::now();
        let key = keys.get_or_create(&stream)?;
        create.push(started.elapsed().as_nanos() as u64);
        sealed.push((
            stream.clone(),
            key.clone(),
            vault::seal(&key, &stream, &fields),
        ));
    }
    create.sort_unstable();
    report_latency("vault.create_key", &create);
    let opens: Vec<usize> = (0..args.queries.min(100_000)).map(|i| i % n).collect();
    let latencies = time_each(&opens, |&i| {
        let (stream, key, s) = &sealed[i];
        vault::open(key, stream, s).ok_or_else(|| {
            hub_view::Error::Invalid(hub_types::ValidationError::reason("does not open"))
        })
    })?;
    report_latency("view.personal_open", &latencies);
    let mut destroy = Vec::with_capacity(n);
    for (stream, _, _) in &sealed {
        let started = Instant::now();
        keys.destroy(stream)?;
        destroy.push(started.elapsed().as_nanos() as u64);
    }
    destroy.sort_unstable();
    report_latency("vault.destroy_key", &destroy);
    Ok(())
}

/// The roster of the eight cities.
pub(crate) fn config() -> anyhow::Result<ViewConfig> {
    let members = CITIES
        .iter()
        .map(|c| {
            Ok(Member {
                code: MemberId::from_code(*c)?,
                name: format!("city {c}"),
                public_key: String::new(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ViewConfig {
        roster: Roster::new(members)?,
        ..ViewConfig::default()
    })
}

/// Appends the mix until the log holds `events` events. Appends run `WINDOW` at a time,
/// never two of one stream in one window, so each stream's events keep their order.
pub(crate) async fn build<S: Store>(
    log: &Log<S>,
    mix: &mut Mix,
    events: u64,
) -> anyhow::Result<()> {
    build_in_windows(log, mix, events, WINDOW).await
}

/// [`build`] with `window` appends in flight at once: a wider window puts more appends in
/// each group commit.
pub(crate) async fn build_in_windows<S: Store>(
    log: &Log<S>,
    mix: &mut Mix,
    events: u64,
    window_size: usize,
) -> anyhow::Result<()> {
    let mut left = events;
    let mut report_at = 250_000;
    while left > 0 {
        let mut window = JoinSet::new();
        let mut streams = HashSet::new();
        // A stream already in the window waits for the next one; a few in a row close it.
        let mut repeats = 0;
        while window.len() < window_size && left > 0 && repeats < 8 {
            let (stream, mut bodies) = mix.next_append();
            if !streams.insert(stream.clone()) {
                mix.defer(stream, bodies);
                repeats += 1;
                continue;
            }
            repeats = 0;
            bodies.truncate(left as usize);
            left -= bodies.len() as u64;
            let log = log.clone();
            window.spawn(async move {
                let batch = bodies
                    .into_iter()
                    .map(|body| NewEvent {
                        event_id: EventId::new_random(),
                        body,
                    })
                    .collect();
                log.append(&stream, ExpectedVersion::Any, batch).await
            });
        }
        while let Some(done) = window.join_next().await {
            done.context("append task")??;
        }
        if log.head() >= report_at {
            eprintln!("hub-bench: {} events appended", log.head());
            report_at += if events > 2_000_000 {
                1_000_000
            } else {
                250_000
            };
        }
    }
    Ok(())
}

/// Times `ask` on every request, after a warm-up; latencies in nanoseconds, sorted.
pub(crate) fn time_each<R, T>(
    requests: &[R],
    ask: impl Fn(&R) -> Result<T, hub_view::Error>,
) -> anyhow::Result<Vec<u64>> {
    for r in requests.iter().take(1000) {
        black_box(ask(r)?);
    }
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let started = Instant::now();
        black_box(ask(black_box(r))?);
        out.push(started.elapsed().as_nanos() as u64);
    }
    out.sort_unstable();
    Ok(out)
}

/// Times every request once in each of `passes` passes over the whole set and keeps each
/// one's fastest time: what a question costs when nothing else takes the core in the middle
/// of it, which on a busy machine is most of what a single pass's p99 measures.
/// Nanoseconds, sorted.
fn time_fastest<R, T>(
    requests: &[R],
    passes: usize,
    ask: impl Fn(&R) -> Result<T, hub_view::Error>,
) -> anyhow::Result<Vec<u64>> {
    let mut fastest = vec![u64::MAX; requests.len()];
    for _ in 0..passes {
        for (r, best) in requests.iter().zip(&mut fastest) {
            let started = Instant::now();
            black_box(ask(black_box(r))?);
            *best = (*best).min(started.elapsed().as_nanos() as u64);
        }
    }
    fastest.sort_unstable();
    Ok(fastest)
}

pub(crate) fn report_latency(name: &str, sorted_ns: &[u64]) {
    report(&format!("{name}.p50"), percentile_us(sorted_ns, 0.50), "us");
    report(&format!("{name}.p99"), percentile_us(sorted_ns, 0.99), "us");
}

/// The nearest-rank percentile `p` of sorted nanoseconds, in microseconds.
fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    let n = sorted_ns.len();
    if n == 0 {
        return 0.0;
    }
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted_ns[rank - 1] as f64 / 1e3
}

/// CPU time every thread of this process has used so far, those that ended included
/// (`CLOCK_PROCESS_CPUTIME_ID`): the replay's rate per second on a core, whatever else
/// the machine is doing.
fn process_cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

pub(crate) fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn axes(date: &str, at_position: u64) -> pb::TimeAxes {
    pb::TimeAxes {
        on_date: date.to_owned(),
        at_position,
        as_of: None,
    }
}
