//! The node's Prometheus metrics.
//!
//! Counters and histograms are updated where things happen (appends, group commits,
//! refused calls, cut-off subscribers); gauges of state that already lives elsewhere (log
//! head, view position, replication, vault, snapshot) are read from it when scraped, so
//! nothing on the append path pays for them.
//!
//! Label values are bounded: origins and members are roster cities (anything else is
//! `other`), results and reasons are fixed words.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_log::observe::{Commit, CommitObserver};
use hub_proto::pb;
use hub_types::roster::Roster;
use hub_types::MemberId;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tonic::{Code, Status};

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels1 = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];
type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric of one node.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Roster cities: the only origin and member label values besides `other`.
    roster: Vec<MemberId>,
    appends: Family<Labels2, Counter>,
    append_events: Family<Labels2, Counter>,
    append_seconds: Histogram,
    commit_events: Histogram,
    commit_calls: Histogram,
    commit_sync_seconds: Histogram,
    refused: Family<Labels2, Counter>,
    subscribers_cut_off: Family<Labels1, Counter>,
    subscribers: Gauge,
    log_head: Gauge,
    view_position: Gauge,
    view_lag: Gauge,
    origin_seq: Family<Labels1, Gauge>,
    origin_last_event_age: Family<Labels1, FloatGauge>,
    seen_seq: Family<Labels1, Gauge>,
    produced_seq: Family<Labels1, Gauge>,
    outbox_backlog: Family<Labels1, Gauge>,
    quarantined: Gauge,
    quarantine_dropped: Gauge,
    consumer_lag: Gauge,
    keys_rejected: Gauge,
    access_writes: Counter,
    entry_keys: Family<Labels1, Gauge>,
    snapshot_age: FloatGauge,
    events_since_snapshot: Gauge,
    data_dir_available: Gauge,
    data_dir_reserve: Gauge,
    ready: Gauge,
}

impl Metrics {
    /// Registers every metric; `roster` bounds the city labels.
    pub fn new(roster: &Roster) -> Self {
        let mut r = Registry::default();
        let mut m = Self {
            roster: roster.members.iter().map(|m| m.code).collect(),
            appends: Family::default(),
            append_events: Family::default(),
            // 50 µs .. ~3.3 s
            append_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 17)),
            commit_events: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            commit_calls: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            commit_sync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 17)),
            refused: Family::default(),
            subscribers_cut_off: Family::default(),
            subscribers: Gauge::default(),
            log_head: Gauge::default(),
            view_position: Gauge::default(),
            view_lag: Gauge::default(),
            origin_seq: Family::default(),
            origin_last_event_age: Family::default(),
            seen_seq: Family::default(),
            produced_seq: Family::default(),
            outbox_backlog: Family::default(),
            quarantined: Gauge::default(),
            quarantine_dropped: Gauge::default(),
            consumer_lag: Gauge::default(),
            keys_rejected: Gauge::default(),
            access_writes: Counter::default(),
            entry_keys: Family::default(),
            snapshot_age: FloatGauge::default(),
            events_since_snapshot: Gauge::default(),
            data_dir_available: Gauge::default(),
            data_dir_reserve: Gauge::default(),
            ready: Gauge::default(),
            registry: Registry::default(),
        };
        let p = "talenthub_";
        let name = |n: &str| format!("{p}{n}");
        r.register(
            name("appends"),
            "Append calls by stream origin and result",
            m.appends.clone(),
        );
        r.register(
            name("append_events"),
            "Events in append calls by stream origin and result",
            m.append_events.clone(),
        );
        r.register(
            name("append_duration_seconds"),
            "Time to answer an append call, durable sync included",
            m.append_seconds.clone(),
        );
        r.register(
            name("log_commit_group_events"),
            "Events stored by one durable group commit of the log",
            m.commit_events.clone(),
        );
        r.register(
            name("log_commit_group_calls"),
            "Append and ingest calls sharing one durable group commit",
            m.commit_calls.clone(),
        );
        r.register(
            name("log_fsync_duration_seconds"),
            "Time to write and fsync one group commit",
            m.commit_sync_seconds.clone(),
        );
        r.register(
            name("calls_refused"),
            "Calls refused with RESOURCE_EXHAUSTED by member and reason (rate_limited, shed)",
            m.refused.clone(),
        );
        r.register(
            name("subscribers_cut_off"),
            "Subscriptions ended and told to resume, by reason (lagging, shutdown)",
            m.subscribers_cut_off.clone(),
        );
        r.register(
            name("subscribers"),
            "Subscribe streams open now",
            m.subscribers.clone(),
        );
        r.register(
            name("log_head_position"),
            "Durable head position of the log",
            m.log_head.clone(),
        );
        r.register(
            name("view_position"),
            "Last log position folded into the view",
            m.view_position.clone(),
        );
        r.register(
            name("view_lag_events"),
            "Events in the log not folded into the view yet",
            m.view_lag.clone(),
        );
        r.register(
            name("origin_head_seq"),
            "Highest origin sequence stored locally, by origin",
            m.origin_seq.clone(),
        );
        r.register(
            name("origin_last_event_age_seconds"),
            "Time since this node stored the newest event of an origin",
            m.origin_last_event_age.clone(),
        );
        r.register(
            name("replication_seen_seq"),
            "Highest origin sequence seen on the topic, by origin",
            m.seen_seq.clone(),
        );
        r.register(
            name("replication_produced_seq"),
            "Highest own origin sequence delivered to the topic, by origin",
            m.produced_seq.clone(),
        );
        r.register(
            name("replication_outbox_backlog_events"),
            "Own events stored but not yet delivered to the topic, by origin",
            m.outbox_backlog.clone(),
        );
        r.register(
            name("replication_quarantined_events"),
            "Foreign events kept aside because they did not verify",
            m.quarantined.clone(),
        );
        r.register(
            name("replication_quarantine_dropped_events"),
            "Foreign events dropped because the quarantine was full (kafka.max_quarantined)",
            m.quarantine_dropped.clone(),
        );
        r.register(
            name("replication_consumer_lag_messages"),
            "Messages on the topic not consumed yet (-1 when unknown)",
            m.consumer_lag.clone(),
        );
        r.register(
            name("replication_entry_keys_rejected"),
            "Shared entry keys refused (bad signature, wrong wrapping key, conflict)",
            m.keys_rejected.clone(),
        );
        r.register(
            name("access_trail_writes"),
            "Entries written to the access trail of blacklist checks",
            m.access_writes.clone(),
        );
        r.register(
            name("entry_keys"),
            "Entry keys in the vault by state (live, destroyed)",
            m.entry_keys.clone(),
        );
        r.register(
            name("view_snapshot_age_seconds"),
            "Time since the view snapshot was written (-1 when there is none)",
            m.snapshot_age.clone(),
        );
        r.register(
            name("view_events_since_snapshot"),
            "Events folded since the last view snapshot",
            m.events_since_snapshot.clone(),
        );
        r.register(
            name("data_dir_available_bytes"),
            "Bytes free in the file system of the log's directory (-1 when unknown)",
            m.data_dir_available.clone(),
        );
        r.register(
            name("data_dir_reserve_bytes"),
            "Bytes the log keeps free there (node.min_free_bytes): appends are refused below it",
            m.data_dir_reserve.clone(),
        );
        r.register(
            name("ready"),
            "1 once the view has caught up with the log",
            m.ready.clone(),
        );
        m.registry = r;
        m
    }

    /// A bounded label value for a city code: the code of a roster city, else `other`.
    pub fn city(&self, code: &str) -> String {
        match code.parse::<MemberId>() {
            Ok(m) if self.roster.contains(&m) => m.to_string(),
            _ => "other".to_owned(),
        }
    }

    /// Records one answered append call of `req`.
    pub fn append_answered(
        &self,
        req: &pb::AppendRequest,
        result: &Result<pb::AppendResponse, Status>,
        took: Duration,
    ) {
        // The origin is the stream's second segment: `<family>/<origin>/…`.
        let origin = self.city(req.stream.split('/').nth(1).unwrap_or_default());
        let outcome = match result {
            Ok(r) if r.duplicate => "duplicate",
            Ok(_) => "ok",
            Err(s) => match s.code() {
                Code::InvalidArgument => "invalid",
                Code::FailedPrecondition | Code::Aborted => "conflict",
                Code::AlreadyExists => "id_reused",
                Code::PermissionDenied | Code::Unauthenticated => "denied",
                Code::ResourceExhausted => "refused",
                Code::Unavailable => "unavailable",
                _ => "error",
            },
        };
        self.append_observed(origin, outcome, req.events.len() as u64, took);
    }

    /// Records one append call of `events` events for `origin` (a label value) that ended
    /// with `outcome` after `took`.
    pub fn append_observed(&self, origin: String, outcome: &str, events: u64, took: Duration) {
        let labels = [("origin", origin), ("result", outcome.to_owned())];
        self.appends.get_or_create(&labels).inc();
        self.append_events.get_or_create(&labels).inc_by(events);
        self.append_seconds.observe(took.as_secs_f64());
    }

    /// Counts a call of `member` refused for `reason` (`rate_limited` or `shed`).
    pub fn refused(&self, member: MemberId, reason: &'static str) {
        let labels = [
            ("member", self.city(&member.to_string())),
            ("reason", reason.to_owned()),
        ];
        self.refused.get_or_create(&labels).inc();
    }

    /// Counts a subscription cut off for `reason` (`lagging` or `shutdown`).
    pub fn subscriber_cut_off(&self, reason: &'static str) {
        self.subscribers_cut_off
            .get_or_create(&[("reason", reason.to_owned())])
            .inc();
    }

    /// Sets the state-derived gauges from `readings` and renders everything in the
    /// Prometheus text format.
    pub fn render(&self, readings: &Readings) -> String {
        self.refresh(readings);
        let mut out = String::new();
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        out
    }

    fn refresh(&self, r: &Readings) {
        self.log_head.set(r.log_head as i64);
        self.view_position.set(r.view_position as i64);
        self.view_lag
            .set(r.log_head.saturating_sub(r.view_position) as i64);
        self.ready.set(i64::from(r.ready));
        self.subscribers.set(r.subscribers as i64);
        for origin in &r.origins {
            let labels = [("origin", self.city(&origin.origin.to_string()))];
            self.origin_seq
                .get_or_create(&labels)
                .set(origin.seq as i64);
            if let Some(age) = origin.last_event_age {
                self.origin_last_event_age
                    .get_or_create(&labels)
                    .set(age.as_secs_f64());
            }
        }
        if let Some(status) = &r.replication {
            for (origin, s) in &status.origins {
                let labels = [("origin", self.city(&origin.to_string()))];
                self.seen_seq.get_or_create(&labels).set(s.seen_seq as i64);
                self.produced_seq
                    .get_or_create(&labels)
                    .set(s.produced_seq as i64);
                if s.produced_seq > 0 || r.member == Some(*origin) {
                    self.outbox_backlog
                        .get_or_create(&labels)
                        .set(s.local_seq.saturating_sub(s.produced_seq) as i64);
                }
            }
            self.quarantined.set(status.quarantined as i64);
            self.quarantine_dropped
                .set(status.quarantine_dropped as i64);
            self.consumer_lag.set(status.consumer_lag);
            self.keys_rejected.set(status.keys_rejected as i64);
        }
        // The trail's length only grows: the counter follows it.
        let counted = self.access_writes.get();
        if r.access_entries_written > counted {
            self.access_writes
                .inc_by(r.access_entries_written - counted);
        }
        let (live, destroyed) = r.entry_keys;
        self.entry_keys
            .get_or_create(&[("state", "live".to_owned())])
            .set(live as i64);
        self.entry_keys
            .get_or_create(&[("state", "destroyed".to_owned())])
            .set(destroyed as i64);
        self.snapshot_age
            .set(r.snapshot_age.map_or(-1.0, |d| d.as_secs_f64()));
        self.events_since_snapshot
            .set(r.view_position.saturating_sub(r.snapshot_position) as i64);
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.data_dir_available
            .set(r.free_space.map_or(-1, |f| clamp(f.available)));
        self.data_dir_reserve
            .set(r.free_space.map_or(0, |f| clamp(f.reserve)));
    }
}

/// The node's state at one scrape: what the gauges show. The admin listener reads it from
/// the hub; the metrics themselves know nothing of the hub.
#[derive(Debug, Default)]
pub struct Readings {
    /// The log's durable head position.
    pub log_head: u64,
    /// The last position folded into the view.
    pub view_position: u64,
    /// The position of the view's last snapshot.
    pub snapshot_position: u64,
    /// Time since the snapshot was written; `None` when there is none.
    pub snapshot_age: Option<Duration>,
    /// Whether the node counts as ready.
    pub ready: bool,
    /// Subscribe streams open now.
    pub subscribers: usize,
    /// Each origin's head sequence and the age of its newest stored event.
    pub origins: Vec<OriginReading>,
    /// Replication's status; `None` for a standalone node.
    pub replication: Option<hub_replication::Status>,
    /// The node's own city, when it publishes.
    pub member: Option<MemberId>,
    /// Entries written to the access trail.
    pub access_entries_written: u64,
    /// Entry keys in the vault: (live, destroyed).
    pub entry_keys: (u64, u64),
    /// The free space of the log's file system and the reserve kept in it.
    pub free_space: Option<hub_log::FreeSpace>,
}

/// One origin's figures in [`Readings`].
#[derive(Debug)]
pub struct OriginReading {
    /// The origin.
    pub origin: MemberId,
    /// Its highest stored sequence.
    pub seq: u64,
    /// Time since this node stored its newest event.
    pub last_event_age: Option<Duration>,
}

/// Feeds the log's group commits into the histograms.
#[derive(Debug)]
pub struct CommitMetrics(pub Arc<Metrics>);

impl CommitObserver for CommitMetrics {
    fn committed(&self, commit: Commit) {
        self.0.commit_events.observe(commit.events as f64);
        self.0.commit_calls.observe(commit.calls as f64);
        self.0
            .commit_sync_seconds
            .observe(commit.sync.as_secs_f64());
    }
}

/// Times an append call and records its outcome.
pub async fn observe_append(
    metrics: &Metrics,
    req: &pb::AppendRequest,
    call: impl std::future::Future<Output = Result<pb::AppendResponse, Status>>,
) -> Result<pb::AppendResponse, Status> {
    let started = Instant::now();
    let result = call.await;
    metrics.append_answered(req, &result, started.elapsed());
    result
}
