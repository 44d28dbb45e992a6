//! `hub-bench view`: how fast the shared view folds the log, and how fast it answers.
//!
//! Builds a log of `--events` events published by eight member cities in a realistic mix
//! (recognition lists with revisions and withdrawals; demand signals of which many are
//! revised and most are closed; blacklist entries of which some are suspended, reinstated
//! or revoked, with some people listed by more than one city), then measures:
//!
//! - `view.replay`, `view.replay.median`: events per second that `View::catch_up` folds
//!   into a fresh view from the prebuilt log on one thread (reading and decoding the stored
//!   records included), best and median of `--replays` runs; `view.replay.cpu.median` counts
//!   only the time the replaying thread was on a core (Linux), so other load on the
//!   machine does not lower it;
//! - `view.is_recognized.*`, `view.check_subject.*`: in-process latency of single
//!   questions to the full view, p50 and p99;
//! - `view.record_time.*`: questions answered as of the log's middle position.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_log::{Log, Store};
use hub_proto::convert::credential_to_proto;
use hub_proto::pb;
use hub_types::event::{
    BlacklistEntryAdded, CredentialRecognized, DemandSignalClosed, DemandTerms, EntryTransition,
    Personal, PersonalFields, RecognitionWithdrawn,
};
use hub_types::roster::{Member, Roster};
use hub_types::values::{
    BlacklistCategory, CloseReason, Credential, CredentialKind, Education, Industry, Issuer,
    PayBand, RevokeReason, Text, MAX_LABEL, MAX_TEXT, TITLE_LEVELS,
};
use hub_types::{
    Body, Date, EventId, ExpectedVersion, LocalId, MemberId, NewEvent, Period, StreamId, SubjectRef,
};
use hub_view::{View, ViewConfig};
use tokio::task::JoinSet;

use crate::figure::report;

/// The eight cities that publish, in roster order.
const CITIES: [u32; 8] = [
    310000, 320100, 320500, 330100, 330200, 330400, 340100, 320200,
];
/// Occupation codes the demand signals draw from.
const OCCUPATIONS: [&str; 8] = [
    "2-02-09-06",
    "2-02-10-09",
    "6-25-02-03",
    "2-05-01-01",
    "6-31-01-03",
    "2-02-07-08",
    "4-04-05-01",
    "2-02-22-01",
];
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
        "hub-bench view: built a log of {} events ({} rules, {} signals, {} entries) in {:.2?}",
        log.head(),
        mix.rules.iter().map(Vec::len).sum::<usize>(),
        mix.signals,
        mix.entries,
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
            let cpu = thread_cpu_time();
            let started = Instant::now();
            let folded = fresh.catch_up(&log);
            let elapsed = started.elapsed();
            // The kernel brings the figure up to date only every few milliseconds, so it
            // is trusted only for runs much longer than that.
            let cpu = cpu
                .zip(thread_cpu_time())
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
    log.close().await;
    personal_data(args)?;
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
fn config() -> anyhow::Result<ViewConfig> {
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
async fn build<S: Store>(log: &Log<S>, mix: &mut Mix, events: u64) -> anyhow::Result<()> {
    let mut left = events;
    let mut report_at = 250_000;
    while left > 0 {
        let mut window = JoinSet::new();
        let mut streams = HashSet::new();
        while window.len() < WINDOW && left > 0 {
            let (stream, mut bodies) = mix.next_append();
            if !streams.insert(stream.clone()) {
                mix.defer(stream, bodies);
                break;
            }
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
            eprintln!("hub-bench view: {} events appended", log.head());
            report_at += 250_000;
        }
    }
    Ok(())
}

/// Times `ask` on every request, after a warm-up; latencies in nanoseconds, sorted.
fn time_each<R, T>(
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

fn report_latency(name: &str, sorted_ns: &[u64]) {
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

/// CPU time the calling thread has run so far, from Linux's schedstat (`None` elsewhere):
/// the replay's rate per second on a core, whatever else the machine is doing.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn axes(date: &str, at_position: u64) -> pb::TimeAxes {
    pb::TimeAxes {
        on_date: date.to_owned(),
        at_position,
        as_of: None,
    }
}

/// splitmix64: small, fast and reproducible from `--seed`.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The generator of the event mix: what each city has published so far, and the
/// follow-ups (revisions, closures, lifecycle steps) it still owes.
#[derive(Debug)]
struct Mix {
    rng: Rng,
    cities: Vec<MemberId>,
    credentials: Vec<Credential>,
    /// People who may be listed; a pool smaller than the number of entries, so that some
    /// are listed more than once, by one city or several.
    subjects: Vec<SubjectRef>,
    /// Rule ids of each city, for revisions and withdrawals.
    rules: Vec<Vec<LocalId>>,
    signals: u64,
    entries: u64,
    /// Later events of streams already started, appended in random order.
    pending: Vec<(StreamId, Vec<Body>)>,
    text: Text,
    conditions: Text,
    level: Text,
    display: hub_types::values::MaskedName,
}

impl Mix {
    fn new(seed: u64, events: u64) -> anyhow::Result<Self> {
        let cities = CITIES
            .iter()
            .map(|c| MemberId::from_code(*c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut credentials = Vec::new();
        for series in [
            "engineering",
            "health",
            "economics",
            "education",
            "agriculture",
        ] {
            for level in TITLE_LEVELS {
                credentials.push(Credential::new(
                    CredentialKind::ProfessionalTitle,
                    series,
                    level,
                )?);
            }
        }
        for code in OCCUPATIONS {
            for level in ["1", "2", "3", "4", "5"] {
                credentials.push(Credential::new(CredentialKind::SkillLevel, code, level)?);
            }
        }
        for scheme in [
            "shanghai-talent",
            "nanjing-talent",
            "suzhou-talent",
            "hangzhou-talent",
        ] {
            for level in ["A", "B", "C", "D", "E"] {
                credentials.push(Credential::new(CredentialKind::TalentTier, scheme, level)?);
            }
        }
        for licence in ["registered-structural-engineer", "licensed-pharmacist"] {
            credentials.push(Credential::new(CredentialKind::Licence, licence, "")?);
        }
        let mut rng = Rng(seed);
        let pool = (events / 25).max(100);
        let subjects = (0..pool)
            .map(|_| {
                let mut bytes = [0u8; 32];
                for chunk in bytes.chunks_mut(8) {
                    chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
                }
                SubjectRef::from_bytes(bytes)
            })
            .collect();
        Ok(Self {
            rng,
            rules: vec![Vec::new(); cities.len()],
            cities,
            credentials,
            subjects,
            signals: 0,
            entries: 0,
            pending: Vec::new(),
            text: Text::new("recorded by the city's talent office", MAX_TEXT, true)?,
            conditions: Text::new("须在本市缴纳社会保险满一年", MAX_TEXT, false)?,
            level: Text::new("senior", MAX_LABEL, true)?,
            display: "张*".parse()?,
        })
    }

    /// Puts an append back to be made later.
    fn defer(&mut self, stream: StreamId, bodies: Vec<Body>) {
        self.pending.push((stream, bodies));
    }

    /// The next append: a follow-up owed by an earlier stream, or a new story.
    fn next_append(&mut self) -> (StreamId, Vec<Body>) {
        if !self.pending.is_empty() && self.rng.chance(0.45) {
            let i = self.rng.below(self.pending.len());
            return self.pending.swap_remove(i);
        }
        let city = self.rng.below(self.cities.len());
        let roll = self.rng.below(100);
        if roll < 3 {
            self.recognition(city)
        } else if roll < 58 {
            self.demand(city)
        } else {
            self.blacklist(city)
        }
    }

    fn date(&mut self) -> Date {
        // 2024-01-01 plus up to four years.
        Date::from_days_since_epoch(19_723 + self.rng.below(1461) as i32)
    }

    fn local_id(prefix: &str, n: u64) -> LocalId {
        format!("{prefix}-{n}")
            .parse()
            .expect("generated ids are well formed")
    }

    /// A batch of changes to one city's recognition list. As in the alliance's lists, a
    /// city has at most one rule per credential and issuing city (or `*`), named after
    /// them; recognising the same pair again revises that rule. Some changes withdraw one.
    fn recognition(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        let n = 1 + self.rng.below(6);
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            let existing = self.rules[city].len();
            if existing > 0 && self.rng.chance(0.05) {
                let rule_id = self.rules[city][self.rng.below(existing)].clone();
                bodies.push(Body::RecognitionWithdrawn(RecognitionWithdrawn {
                    rule_id,
                    reason: self.text.clone(),
                    effective_at: self.date(),
                }));
                continue;
            }
            let credential = self.rng.below(self.credentials.len());
            let issuer = if self.rng.chance(0.1) {
                Issuer::Any
            } else {
                // Another city: a city does not recognise its own credentials.
                let other = (city + 1 + self.rng.below(self.cities.len() - 1)) % self.cities.len();
                Issuer::Member(self.cities[other])
            };
            let rule_id = match issuer {
                Issuer::Any => Self::local_id(&format!("c{credential}"), 0),
                Issuer::Member(m) => Self::local_id(&format!("c{credential}"), u64::from(m.code())),
            };
            if !self.rules[city].contains(&rule_id) {
                self.rules[city].push(rule_id.clone());
            }
            let effective_from = self.date();
            let effective_until = self
                .rng
                .chance(0.3)
                .then(|| Date::from_days_since_epoch(effective_from.days_since_epoch() + 730));
            bodies.push(Body::CredentialRecognized(CredentialRecognized {
                rule_id,
                credential: self.credentials[credential].clone(),
                issuer,
                local_equivalent: self.level.clone(),
                conditions: if self.rng.chance(0.5) {
                    self.conditions.clone()
                } else {
                    Text::default()
                },
                effective_from,
                effective_until,
            }));
        }
        (StreamId::recognition(self.cities[city]), bodies)
    }

    fn terms(&mut self, signal_id: &LocalId) -> DemandTerms {
        let min = 5_000 + 500 * self.rng.below(40) as u32;
        DemandTerms {
            signal_id: signal_id.clone(),
            industry: *self.rng.pick(&Industry::ALL),
            occupation_code: self
                .rng
                .pick(&OCCUPATIONS)
                .parse()
                .expect("listed codes are valid"),
            level: self.level.clone(),
            headcount: 1 + self.rng.below(200) as u32,
            period: Period::new(2024 + self.rng.below(4) as u16, 1 + self.rng.below(4) as u8)
                .expect("periods in range"),
            pay_band: PayBand::new(min, min + 2_000 + 500 * self.rng.below(20) as u32)
                .expect("bands in range"),
            education: *self.rng.pick(&[
                Education::Any,
                Education::Vocational,
                Education::Bachelor,
                Education::Master,
                Education::Doctorate,
            ]),
        }
    }

    /// A new signal; later, perhaps a revision, and usually a closure.
    fn demand(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.signals += 1;
        let id = Self::local_id("s", self.signals);
        let stream = StreamId::demand(self.cities[city], id.clone());
        let terms = self.terms(&id);
        let mut later = Vec::new();
        if self.rng.chance(0.3) {
            let mut revised = self.terms(&id);
            revised.period = terms.period;
            later.push(Body::DemandSignalRevised(revised));
        }
        if self.rng.chance(0.65) {
            let reason = *self.rng.pick(&[
                CloseReason::Filled,
                CloseReason::Filled,
                CloseReason::Cancelled,
                CloseReason::Expired,
            ]);
            let filled = match reason {
                CloseReason::Cancelled => 0,
                _ => self.rng.below(terms.headcount as usize + 1) as u32,
            };
            later.push(Body::DemandSignalClosed(DemandSignalClosed {
                signal_id: id,
                reason,
                filled,
                closed_at: self.date(),
            }));
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        (stream, vec![Body::DemandSignalPublished(terms)])
    }

    /// A new entry; later, perhaps an appeal (suspension, then reinstatement or
    /// revocation) or a revocation outright.
    fn blacklist(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.entries += 1;
        let id = Self::local_id("e", self.entries);
        let stream = StreamId::blacklist(self.cities[city], id.clone());
        let decided_at = self.date();
        let effective_from =
            Date::from_days_since_epoch(decided_at.days_since_epoch() + self.rng.below(30) as i32);
        let expires_at = Date::from_days_since_epoch(
            effective_from.days_since_epoch() + 365 + self.rng.below(730) as i32,
        );
        // Each step takes effect 30 to 180 days after the one before.
        let mut day = effective_from.days_since_epoch();
        let mut step = |rng: &mut Rng, text: &Text| {
            day += 30 + rng.below(150) as i32;
            EntryTransition {
                entry_id: id.clone(),
                note: text.clone(),
                effective_at: Date::from_days_since_epoch(day),
            }
        };
        let mut later = Vec::new();
        let roll = self.rng.below(100);
        if roll < 25 {
            later.push(Body::BlacklistEntrySuspended(step(
                &mut self.rng,
                &self.text,
            )));
            if self.rng.chance(0.5) {
                later.push(Body::BlacklistEntryReinstated(step(
                    &mut self.rng,
                    &self.text,
                )));
            } else if self.rng.chance(0.6) {
                later.push(Body::BlacklistEntryRevoked {
                    transition: step(&mut self.rng, &self.text),
                    reason: RevokeReason::AppealUpheld,
                });
            }
        } else if roll < 35 {
            let reason = *self
                .rng
                .pick(&[RevokeReason::CreditRepaired, RevokeReason::Error]);
            later.push(Body::BlacklistEntryRevoked {
                transition: step(&mut self.rng, &self.text),
                reason,
            });
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        let added = BlacklistEntryAdded {
            entry_id: id,
            subject_ref: *self.rng.pick(&self.subjects),
            // Plain: this bench measures the fold and lookups, not the vault.
            personal: Personal::Plain(PersonalFields {
                subject_display: self.display.clone(),
                decision_summary: self.text.clone(),
            }),
            category: *self.rng.pick(&[
                BlacklistCategory::ApplicationFraud,
                BlacklistCategory::AcademicMisconduct,
                BlacklistCategory::CredentialForgery,
                BlacklistCategory::ContractBreach,
                BlacklistCategory::FundingMisuse,
            ]),
            decision_ref: self.level.clone(),
            decided_at,
            effective_from,
            expires_at,
            measures: vec![self.text.clone()],
        };
        (stream, vec![Body::BlacklistEntryAdded(added)])
    }

    fn date_text(&mut self) -> String {
        self.date().to_string()
    }

    /// A random `IsRecognized` question between two cities.
    fn is_recognized_request(&mut self, at_position: u64) -> pb::IsRecognizedRequest {
        pb::IsRecognizedRequest {
            time: Some(axes(&self.date_text(), at_position)),
            recognizer: self.rng.pick(&self.cities).to_string(),
            credential: Some(credential_to_proto(self.rng.pick(&self.credentials))),
            issuer: self.rng.pick(&self.cities).to_string(),
        }
    }

    /// A random `CheckSubject` question: mostly people in the pool, some never listed.
    fn check_subject_request(&mut self, at_position: u64) -> pb::CheckSubjectRequest {
        let subject = if self.rng.chance(0.9) {
            self.rng.pick(&self.subjects).to_string()
        } else {
            format!("{:016x}", self.rng.next_u64()).repeat(4)
        };
        pb::CheckSubjectRequest {
            time: Some(axes(&self.date_text(), at_position)),
            subject_ref: subject,
            ..Default::default()
        }
    }
}
