//! The shared view: a projection that follows the log, folds events with
//! [`hub_types::fold`], and answers the `talenthub.v1.Query` questions on both time axes.
//!
//! - [`View`]: the materialised state behind a lock, fed by [`View::follow`] or
//!   [`View::catch_up`], read by the query methods (one file per family:
//!   `recognition.rs`, `demand.rs`, `blacklist.rs`, `register.rs`, plus `info.rs`), and
//!   by the node's retention sweep (`retention.rs`: what is due for erasure).
//! - Record time: every entity keeps its versions tagged with positions, and the view keeps
//!   each position's local storage time, so an as-of answer costs a binary search per
//!   entity, never a replay.
//! - Valid time: the question's `on_date` is evaluated against the dates inside events.
//! - [`snapshot`]: the state is written every N events and restored on start; a missing
//!   or damaged snapshot falls back to a full replay.
//! - Personal data: the view opens an entry's sealed fields with its key from the
//!   [`hub_log::vault`] when answering, and destroys the key as it folds the entry's
//!   erasure (before the lock is released, so no later answer can still open them).

mod axes;
mod blacklist;
mod demand;
mod info;
mod paging;
mod recognition;
mod register;
mod retention;
pub mod snapshot;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use hub_log::vault::Vault;
use hub_log::{Log, Store, StoredEvent};
use hub_proto::convert::event_from_record;
use hub_types::fold::{Applied, ViewState};
use hub_types::roster::Roster;
use hub_types::{Body, EventKind, MemberId, Position, StreamId, ValidationError};
use serde::{Deserialize, Serialize};

use retention::erased_streams;

pub use axes::{today, Axes, Cut};
pub use blacklist::{status_to_proto, EntryCounts};
pub use register::ScreeningRules;
pub use retention::DueErasure;

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is invalid; the error names it.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The question asks about a position the view has not reached.
    #[error("{field}: {requested} is beyond the view's position {position}")]
    NotYet {
        /// The request's field path that names the position (`time.at_position`, `at_position`).
        field: &'static str,
        /// The position asked for.
        requested: u64,
        /// The view's position.
        position: u64,
    },
    /// Reading the log failed.
    #[error(transparent)]
    Log(#[from] hub_log::Error),
}

/// Result of a view operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// When the demand questions raise a shortage alert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Alert when demand grows by at least this fraction over the previous period (0.25 = 25 %).
    pub growth: f64,
    /// Alert when the next-period forecast exceeds this period's demand by this fraction.
    pub forecast_growth: f64,
    /// Ignore groups demanding fewer than this many people in the period.
    pub min_headcount: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            growth: 0.25,
            forecast_growth: 0.2,
            min_headcount: 20,
        }
    }
}

/// How the view is set up.
#[derive(Debug, Clone)]
pub struct ViewConfig {
    /// The alliance's members (the recognition matrix expands `*` issuers to them).
    pub roster: Roster,
    /// Shortage thresholds.
    pub thresholds: Thresholds,
    /// Duplicate-application rules of `ScreenApplication`.
    pub screening: ScreeningRules,
    /// Where snapshots are written; `None` disables them.
    pub snapshot_dir: Option<PathBuf>,
    /// Write a snapshot every this many events (0 = never).
    pub snapshot_every: u64,
    /// Most of its time the view spends writing snapshots, in (0, 1]: a write that took
    /// `d` is followed by the next one no sooner than `d / snapshot_busy_share` after it
    /// began. A snapshot holds the whole view, so its cost grows with the log; without
    /// this, a fixed `snapshot_every` would make a long burst of appends spend ever more
    /// of its time rewriting it. 1 = no wait.
    pub snapshot_busy_share: f64,
    /// The entry keys: the view opens sealed personal fields with them and destroys an
    /// entry's key when it folds the entry's erasure. `None` (offline verification, tools)
    /// shows personal fields as missing and destroys nothing.
    pub vault: Option<Arc<Vault>>,
    /// Encoded bytes of items one page of a listing may carry, so that answers stay below
    /// the message limit (see [`hub_proto::budget::page_bytes`]).
    pub page_bytes: usize,
}

impl Default for ViewConfig {
    fn default() -> Self {
        Self {
            roster: Roster::default(),
            thresholds: Thresholds::default(),
            screening: ScreeningRules::default(),
            snapshot_dir: None,
            snapshot_every: 0,
            snapshot_busy_share: 1.0,
            vault: None,
            page_bytes: hub_proto::budget::page_bytes(4 << 20),
        }
    }
}

/// Everything the view holds, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// The folded entities.
    pub(crate) state: ViewState,
    /// Local storage time (µs) of position `i + 1`, for as-of-time questions.
    pub(crate) stored_at: Vec<i64>,
    /// Positions of each origin's events, in order: the origin vector at any position.
    pub(crate) origin_positions: BTreeMap<MemberId, Vec<u64>>,
    /// Positions of each kind's events: event counts at any position.
    pub(crate) kind_positions: BTreeMap<EventKind, Vec<u64>>,
    /// Positions of the events the fold ignored: the ignored count at any position.
    pub(crate) ignored_positions: Vec<u64>,
    /// Events whose stored body could not be decoded (never expected; counted, skipped).
    pub(crate) undecodable: u64,
    /// Position of the last snapshot written or restored.
    pub(crate) snapshot_position: u64,
}

impl Inner {
    /// The last position folded (0 = none).
    pub(crate) fn position(&self) -> u64 {
        self.stored_at.len() as u64
    }

    /// Folds one event; returns the stream whose key must be destroyed if it is an erasure.
    fn apply(&mut self, decoded: Decoded) -> Option<StreamId> {
        let pos = decoded.position;
        debug_assert_eq!(
            pos,
            self.position() + 1,
            "the view folds positions in order"
        );
        self.stored_at.push(decoded.stored_at);
        match decoded.event {
            Ok(event) => {
                self.origin_positions
                    .entry(event.origin)
                    .or_default()
                    .push(pos);
                self.kind_positions
                    .entry(event.body.kind())
                    .or_default()
                    .push(pos);
                if self.state.apply(&event) == Applied::Ignored {
                    self.ignored_positions.push(pos);
                }
                matches!(
                    event.body,
                    Body::BlacklistEntryErased(_)
                        | Body::WhitelistEntryErased(_)
                        | Body::AwardErased(_)
                )
                .then_some(event.stream)
            }
            Err(e) => {
                tracing::warn!(position = pos, error = %e, "stored event does not decode; skipped");
                self.undecodable += 1;
                None
            }
        }
    }
}

/// An event of the log made ready to fold: its record decoded into the domain's terms,
/// which needs nothing of the view, so that it can be done beside the fold.
struct Decoded {
    position: u64,
    /// When this node stored it (µs).
    stored_at: i64,
    event: hub_types::Result<hub_types::Event>,
}

/// Decodes the records of `events` for the fold.
fn decode(events: Vec<StoredEvent>) -> Vec<Decoded> {
    events
        .into_iter()
        .map(|stored| Decoded {
            position: stored.position.get(),
            stored_at: stored.stored_at.micros(),
            event: event_from_record(&stored.record, stored.position),
        })
        .collect()
}

/// Reads and decodes the events of `log` after position `after`, [`FOLD_BATCH`] at a
/// time, into `batches`, until the log has no more or the receiver is gone.
fn read_ahead<S: Store>(log: &Log<S>, mut after: u64, batches: SyncSender<Result<Vec<Decoded>>>) {
    loop {
        let read = log.read_all(Position::after(after), FOLD_BATCH);
        let batch = match read {
            Ok(events) => match events.last() {
                Some(last) => {
                    after = last.position.get();
                    Ok(decode(events))
                }
                None => return,
            },
            Err(e) => Err(e.into()),
        };
        let failed = batch.is_err();
        if batches.send(batch).is_err() || failed {
            return;
        }
    }
}

fn destroy_key(vault: &Vault, stream: &StreamId) {
    match vault.destroy(stream) {
        Ok(true) => tracing::info!(%stream, "entry key destroyed: personal data erased"),
        Ok(false) => {}
        // The erasure stays in the log and is retried when the view is next opened.
        Err(e) => tracing::error!(%stream, error = %e, "cannot destroy an erased entry's key"),
    }
}

/// The last digest computed of the newest view, so that asking again costs nothing while
/// the view has not moved.
#[derive(Debug, Clone, Copy)]
struct DigestMemo {
    /// The position the digest is of.
    position: u64,
    digest: [u8; 32],
    /// When it was computed.
    at: Instant,
}

/// The shared view. Cheap to clone: clones share one state.
#[derive(Debug, Clone)]
pub struct View {
    inner: Arc<RwLock<Inner>>,
    config: Arc<ViewConfig>,
    position: Arc<tokio::sync::watch::Sender<u64>>,
    /// The digest is a pass over every entity (a second or so at a million events): the
    /// last one is kept. Held while a digest is computed, so concurrent askers wait for
    /// it rather than compute it again.
    digest_memo: Arc<Mutex<Option<DigestMemo>>>,
    /// When the next snapshot may start, and which is being written.
    snapshots: Arc<snapshot::Snapshots>,
}

/// How many events the projection folds per lock acquisition.
const FOLD_BATCH: usize = 2048;

impl View {
    /// An empty view; restore a snapshot with [`View::restore`] before catching up.
    pub fn new(config: ViewConfig) -> Self {
        Self {
            inner: Arc::default(),
            config: Arc::new(config),
            position: Arc::new(tokio::sync::watch::channel(0).0),
            digest_memo: Arc::default(),
            snapshots: Arc::default(),
        }
    }

    /// Builds a view of `log`: restores the snapshot if one is configured and valid, then
    /// replays the rest.
    pub fn open<S: Store>(config: ViewConfig, log: &Log<S>) -> Result<Self> {
        let loaded = snapshot::load(&config);
        Self::open_loaded(config, loaded, log)
    }

    /// Like [`View::open`], with the snapshot already loaded by [`snapshot::load`]: a node
    /// loads it while it opens its log. It is still checked against `log` before use.
    pub fn open_loaded<S: Store>(
        config: ViewConfig,
        loaded: Option<snapshot::Loaded>,
        log: &Log<S>,
    ) -> Result<Self> {
        let view = Self::new(config);
        if let Some(loaded) = loaded {
            view.install(loaded, log);
        }
        // No snapshot is written while the view opens: a node serves sooner, and its
        // follower writes one that came due on a thread of its own (see `fold`).
        view.fold(log, snapshot::Writing::Later)?;
        view.destroy_erased_keys();
        Ok(view)
    }

    /// Destroys the key of every erased entry, in case a crash came between folding an
    /// erasure and destroying its key, or the erasure was folded into a snapshot before
    /// this node held a vault.
    fn destroy_erased_keys(&self) {
        let Some(vault) = &self.config.vault else {
            return;
        };
        let inner = self.read();
        let s = &inner.state;
        let erased = erased_streams(&s.entries)
            .chain(erased_streams(&s.whitelist))
            .chain(erased_streams(&s.awards));
        for stream in erased {
            destroy_key(vault, &stream);
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration.
    pub fn config(&self) -> &ViewConfig {
        &self.config
    }

    /// The entry-key vault, if the view has one.
    pub fn vault(&self) -> Option<&Vault> {
        self.config.vault.as_deref()
    }

    /// The last position folded.
    pub fn position(&self) -> u64 {
        self.read().position()
    }

    /// Folds every event of `log` not folded yet, and writes a snapshot that is due
    /// before it returns; returns how many events were folded.
    pub fn catch_up<S: Store>(&self, log: &Log<S>) -> Result<u64> {
        self.fold(log, snapshot::Writing::Here)
    }

    /// [`View::catch_up`], writing a snapshot that comes due as `writing` says.
    ///
    /// A fold of more than one batch (a replay, a start's catch-up, a follower behind a
    /// burst) reads and decodes the next batches on a thread of its own while this one
    /// applies them.
    fn fold<S: Store>(&self, log: &Log<S>, writing: snapshot::Writing) -> Result<u64> {
        let mut events = log.read_all(Position::after(self.position()), FOLD_BATCH)?;
        if events.is_empty() {
            // One may have come due without a fold: while the view opened.
            self.maybe_snapshot(log, self.position(), writing);
            return Ok(0);
        }
        let mut folded = 0;
        while events.len() < FOLD_BATCH {
            folded += self.fold_batch(decode(events), log, writing);
            events = log.read_all(Position::after(self.position()), FOLD_BATCH)?;
            if events.is_empty() {
                return Ok(folded);
            }
        }
        let after = events.last().map_or(0, |e| e.position.get());
        std::thread::scope(|s| {
            let (tx, batches) = std::sync::mpsc::sync_channel(2);
            s.spawn(move || read_ahead(log, after, tx));
            folded += self.fold_batch(decode(events), log, writing);
            for batch in batches {
                folded += self.fold_batch(batch?, log, writing);
            }
            Ok(folded)
        })
    }

    /// Applies `batch` under one write lock, publishes the new position and writes a
    /// snapshot that is due as `writing` says; returns how many events it folded.
    fn fold_batch<S: Store>(
        &self,
        batch: Vec<Decoded>,
        log: &Log<S>,
        writing: snapshot::Writing,
    ) -> u64 {
        let count = batch.len() as u64;
        let position = {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            for decoded in batch {
                // The key goes before the lock is released: no answer after the
                // erasure is folded can still open the entry's fields.
                if let (Some(stream), Some(vault)) = (inner.apply(decoded), &self.config.vault) {
                    destroy_key(vault, &stream);
                }
            }
            inner.position()
        };
        self.position.send_replace(position);
        self.maybe_snapshot(log, position, writing);
        count
    }

    /// Follows `log` until it closes: folds new events as the head moves, then returns
    /// (dropping its handle of the log). A snapshot that comes due (one that came due
    /// while the view opened, at the first fold) is encoded here and written to its file
    /// on a thread of its own, so that the fold waits only for the encoding, not for the
    /// file's write and sync.
    pub async fn follow<S: Store>(self, log: Log<S>) {
        let mut head = log.watch();
        loop {
            let view = self.clone();
            let log2 = log.clone();
            let caught =
                tokio::task::spawn_blocking(move || view.fold(&log2, snapshot::Writing::Aside))
                    .await;
            match caught {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "view projection failed to read the log"),
                Err(e) => tracing::error!(error = %e, "view projection task failed"),
            }
            if log.is_closed() || head.changed().await.is_err() || log.is_closed() {
                return;
            }
        }
    }

    /// Waits until the view has folded `position`, for read-your-writes; false on timeout.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.position.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The first of `bodies` (a batch for a stream of `owner`) that changes a rule, signal
    /// or entry the view does not hold and the batch does not create; see
    /// [`ViewState::unknown_reference`]. Answers for the view's current position: wait for
    /// the log's head first.
    pub fn unknown_reference<'a>(
        &self,
        owner: hub_types::MemberId,
        bodies: impl IntoIterator<Item = &'a hub_types::Body>,
    ) -> Option<hub_types::fold::UnknownReference> {
        self.read().state.unknown_reference(owner, bodies)
    }

    /// Position of the last snapshot written or restored (0 = none).
    pub fn snapshot_position(&self) -> u64 {
        self.read().snapshot_position
    }

    /// A receiver that changes whenever the view's position moves.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.position.subscribe()
    }

    /// SHA-256 of the view's canonical content as of `cut`. The digest of the newest view
    /// is remembered: asking again before the view moves costs nothing.
    pub fn digest(&self, cut: Cut) -> [u8; 32] {
        match cut {
            Cut::Newest => self.newest_digest(None).1,
            Cut::At(0) => ViewState::default().digest(None),
            Cut::At(p) => {
                let mut memo = self.digest_memo.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(m) = memo.as_ref().filter(|m| m.position == p) {
                    return m.digest;
                }
                let inner = self.read();
                let digest = inner.state.digest(hub_types::Position::new(p).ok());
                if p == inner.position() {
                    *memo = Some(DigestMemo {
                        position: p,
                        digest,
                        at: Instant::now(),
                    });
                }
                digest
            }
        }
    }

    /// The digest of a recent view and the position it is of: the remembered one while it
    /// is younger than `max_age`, even if the view has moved since, otherwise the newest.
    /// For displays refreshed every few seconds next to a busy log, where computing the
    /// digest at every refresh would cost more than the digest is worth.
    pub fn recent_digest(&self, max_age: Duration) -> (u64, [u8; 32]) {
        self.newest_digest(Some(max_age))
    }

    /// The newest digest, or the remembered one if it is younger than `max_age`.
    fn newest_digest(&self, max_age: Option<Duration>) -> (u64, [u8; 32]) {
        let mut memo = self.digest_memo.lock().unwrap_or_else(|e| e.into_inner());
        let inner = self.read();
        let position = inner.position();
        if let Some(m) = memo.as_ref() {
            let fresh = max_age.is_some_and(|age| m.at.elapsed() < age);
            if m.position == position || fresh {
                return (m.position, m.digest);
            }
        }
        let digest = inner.state.digest(None);
        *memo = Some(DigestMemo {
            position,
            digest,
            at: Instant::now(),
        });
        (position, digest)
    }
}
