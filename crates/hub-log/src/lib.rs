//! The node's durable event log: the source of truth every other part is derived from.
//!
//! ```text
//!   append(stream, expected, events)        ingest(foreign records)
//!                  \                         /
//!                   v                       v
//!            [ single writer: validate, stamp, group ]
//!                              |
//!               one atomic batch + one durable sync per group
//!                              |
//!    E:1 [1..=6]  E:7 [7..=12] ... head   (chunks of events in `records`; event ids
//!                                          in `ids`, stream and origin runs in `runs`)
//!                              |
//!                 watch(head) wakes readers and subscribers
//! ```
//!
//! # Contract
//!
//! - **Positions** are node-global, start at 1 and have no gaps: position `p` is the `p`-th
//!   event this node accepted. They are local: another node holds the same events at other
//!   positions. Readers never see a position above the durable head.
//! - **Ordering**: within a stream, versions are 1, 2, 3, … in position order; within an
//!   origin, `origin_seq` is 1, 2, 3, … in position order and every record's `prev_hash`
//!   is the [`record_hash`](hub_proto::record::record_hash) of the origin's previous record (32 zero bytes for the first).
//! - **Atomicity**: an append's events are all stored or none are; they get consecutive
//!   positions.
//! - **Durability**: `append` and `ingest` return only after their batch is on disk
//!   (flush plus `fdatasync`). Concurrent calls share one sync (group commit).
//! - **Optimistic concurrency**: an append is checked against [`ExpectedVersion`] and fails
//!   with the stream's actual version, writing nothing.
//! - **Idempotency forever**: an event id, once stored, names that content for good:
//!   re-appending the same batch returns the original positions with `duplicate = true`;
//!   the same id with other content is [`Error::EventIdReused`].
//! - **Signatures**: with a [`ChainSigner`], the newest event of each origin in every
//!   commit (and every 1 000th of a longer unsigned run) carries the origin's signature
//!   over its chain head (excluded from [`record_hash`](hub_proto::record::record_hash)),
//!   which vouches for every earlier event of the origin through the `prev_hash` links.
//! - **Ingest** accepts an event stamped by another origin only as the next `origin_seq`
//!   of that origin with a matching `prev_hash`; an already stored one is a no-op.
//!
//! [`Log`] is generic over its [`Store`]: [`SledStore`] on disk, [`MemStore`] for tests; the
//! `conformance` suite states the contract as tests any store must pass.
//!
//! The `testing` feature adds what tests need and the node never does: `conformance` (the
//! contract as tests, and the events it makes) and `tamper` (deliberate damage to a stored
//! log, for the audit tools' tests). Only dev-dependencies and the benchmarks enable it.
//!
//! Beside the log, [`vault`] keeps the one thing that must be destroyable: the per-entry
//! keys that seal the personal fields of blacklist entries (crypto-shredding).

#[cfg(feature = "testing")]
pub mod conformance;
mod derived;
mod error;
mod ids;
mod keys;
pub mod observe;
mod read;
mod recovery;
mod runs;
mod store;
#[cfg(feature = "testing")]
pub mod tamper;
pub mod vault;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, RwLock};

use hub_proto::pb::EventRecord;
use hub_proto::record::{Hash, OriginHead, Record};
use hub_types::{EventId, ExpectedVersion, MemberId, NewEvent, OriginSeq, Position, StreamId};
use tokio::sync::{oneshot, watch};

pub use error::{Error, Result};
pub use ids::IDS_FILE;
pub use runs::RUNS_FILE;
pub use store::{Entry, MemStore, SledStore, Store, MARK_FILE};

use ids::Ids;
use runs::{Key, Runs};

use writer::{Command, WriterState};

/// Signs chain heads for the origins whose keys this node holds.
pub trait ChainSigner: Send + Sync + 'static {
    /// The signature over the chain head (`origin`, `seq`, `record_hash`), or `None` when
    /// this node holds no key for `origin`.
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &Hash) -> Option<Vec<u8>>;
}

// Held as `Arc<dyn ChainSigner>`: keep it object safe.
const _: Option<&dyn ChainSigner> = None;

/// Result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Position of the first event.
    pub first: Position,
    /// Position of the last event.
    pub last: Position,
    /// The stream's version after the append.
    pub stream_version: u64,
    /// True when the batch was already stored (an idempotent retry).
    pub duplicate: bool,
}

/// Result of ingesting one foreign record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Stored at this position.
    Appended(Position),
    /// Already stored at this position; nothing written.
    Duplicate(Position),
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// This node's position of the event.
    pub position: Position,
    /// When this node stored it: equal to `recorded_at` for its own events, later for
    /// events replicated from other origins. Record-time queries ("what did the hub know
    /// at T") go by this.
    pub stored_at: hub_types::Timestamp,
    /// The record as stored and replicated.
    pub record: EventRecord,
}

/// Which way [`Log::read_stream`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Rising versions.
    Forwards,
    /// Falling versions.
    Backwards,
}

/// The free space of the log's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// Bytes available to the node.
    pub available: u64,
    /// Bytes the log keeps free ([`Log::keep_free`]); writes are refused below it.
    pub reserve: u64,
}

/// The indexes kept beside the store, derived from its events: whatever they lack at open
/// is read again from the log.
pub(crate) struct Indexes {
    /// Where each stored event id is.
    pub(crate) ids: Ids,
    /// Where each stream version and origin sequence is.
    pub(crate) runs: Runs,
}

impl Indexes {
    fn in_memory() -> Self {
        Self {
            ids: Ids::in_memory(),
            runs: Runs::in_memory(),
        }
    }

    /// Loads the indexes of the log whose files are in `dir`, each on a thread of its own.
    fn load(dir: &Path) -> Result<Self> {
        std::thread::scope(|s| {
            let ids = s.spawn(|| Ids::load(dir));
            let runs = Runs::load(dir)?;
            let ids = ids
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok(Self { ids, runs })
        })
    }
}

/// State shared by the log's handles and its writer thread.
struct Shared<S> {
    store: S,
    indexes: Indexes,
    /// Durable head position; readers never look past it.
    head: watch::Sender<u64>,
    /// Durable head of every origin.
    origins: RwLock<BTreeMap<MemberId, OriginHead>>,
    closed: AtomicBool,
    /// Why the writer stopped, when a commit failed: every later write fails with it.
    failure: std::sync::OnceLock<(bool, String)>,
    /// Told of every group commit (metrics), when set.
    observer: observe::ObserverSlot,
    /// Bytes the writer keeps free in the store's file system (0 = no reserve).
    reserve: AtomicU64,
}

impl<S> Shared<S> {
    fn publish(&self, head: u64, origins: &BTreeMap<MemberId, OriginHead>) {
        *self.origins.write().unwrap_or_else(|e| e.into_inner()) = origins.clone();
        self.head.send_replace(head);
    }

    fn mark_closed(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

impl<S: Store> Shared<S> {
    fn free_space(&self) -> Option<FreeSpace> {
        let dir = self.store.dir()?;
        Some(FreeSpace {
            available: store::available_space(dir)?,
            reserve: self.reserve.load(Ordering::Relaxed),
        })
    }

    /// The refusal of a group of writes when the store's file system has less free space
    /// than the reserve.
    fn space_refusal(&self) -> Option<Error> {
        // Without a reserve, the file system need not be asked on every group.
        if self.reserve.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let space = self.free_space()?;
        (space.available < space.reserve).then(|| Error::DiskLow {
            dir: self.store.dir().map(Path::to_path_buf).unwrap_or_default(),
            free: space.available,
            reserve: space.reserve,
        })
    }
}

impl<S> Shared<S> {
    /// Records why the writer stops after a failed commit.
    fn set_failure(&self, e: Error) {
        if let Error::WriteFailed { disk_full, cause } = e {
            let _ = self.failure.set((disk_full, cause));
        }
    }

    /// The error of a write to a closed log: the commit failure that stopped it, if any.
    fn closed_error(&self) -> Error {
        match self.failure.get() {
            Some((disk_full, cause)) => Error::WriteFailed {
                disk_full: *disk_full,
                cause: cause.clone(),
            },
            None => Error::Closed,
        }
    }
}

/// The event log. Cheap to clone: clones share one store and one writer.
pub struct Log<S: Store = SledStore> {
    shared: Arc<Shared<S>>,
    tx: mpsc::Sender<Command>,
}

impl<S: Store> Clone for Log<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

impl Log<SledStore> {
    /// Opens the log in `dir` (created if missing), checking the integrity of its tail.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_in(dir.as_ref(), None)
    }

    /// Opens the log in `dir`, signing with `signer` the chain head of each origin's newest
    /// record in every commit (and of every 1 000th record of a longer unsigned run).
    pub fn open_signed(dir: impl AsRef<Path>, signer: Arc<dyn ChainSigner>) -> Result<Self> {
        Self::open_in(dir.as_ref(), Some(signer))
    }

    /// Opens sled and loads the indexes at once, on three threads.
    fn open_in(dir: &Path, signer: Option<Arc<dyn ChainSigner>>) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (store, indexes) = std::thread::scope(|s| {
            let indexes = s.spawn(|| Indexes::load(dir));
            let store = SledStore::open(dir);
            let indexes = indexes
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (store, indexes)
        });
        Self::with_parts(store?, indexes?, signer)
    }
}

impl Log<MemStore> {
    /// A fresh log in memory.
    pub fn in_memory() -> Self {
        Self::with_store(MemStore::default()).expect("an empty store is consistent")
    }

    /// A fresh log in memory that signs its appends with `signer`.
    pub fn in_memory_signed(signer: Arc<dyn ChainSigner>) -> Self {
        Self::with_store_signed(MemStore::default(), Some(signer))
            .expect("an empty store is consistent")
    }
}

impl<S: Store> Log<S> {
    /// Opens a log on `store`: checks the tail, loads the origin heads and starts the writer.
    pub fn with_store(store: S) -> Result<Self> {
        Self::with_store_signed(store, None)
    }

    /// Like [`Log::with_store`], signing chain heads with `signer` as [`Log::open_signed`] does.
    pub fn with_store_signed(store: S, signer: Option<Arc<dyn ChainSigner>>) -> Result<Self> {
        let indexes = match store.dir() {
            Some(dir) => Indexes::load(dir)?,
            None => Indexes::in_memory(),
        };
        Self::with_parts(store, indexes, signer)
    }

    fn with_parts(
        store: S,
        indexes: Indexes,
        signer: Option<Arc<dyn ChainSigner>>,
    ) -> Result<Self> {
        let recovered = recovery::recover(&store, &indexes)?;
        // From now on the check covers this head, even for a store written before the
        // durable head was recorded.
        store.mark_durable(recovered.head, true)?;
        let state = WriterState {
            next_position: recovered.head + 1,
            origins: recovered.origins.clone(),
            last_recorded_micros: recovered.last_recorded_micros,
            signer,
        };
        let (head, _) = watch::channel(recovered.head);
        let shared = Arc::new(Shared {
            store,
            indexes,
            head,
            origins: RwLock::new(recovered.origins),
            closed: AtomicBool::new(false),
            failure: std::sync::OnceLock::new(),
            observer: Default::default(),
            reserve: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let writer_shared = shared.clone();
        std::thread::Builder::new()
            .name("hub-log-writer".into())
            .spawn(move || {
                if let Some(reply) = writer::run(writer_shared, state, rx) {
                    let _ = reply.send(());
                }
            })?;
        Ok(Self { shared, tx })
    }

    /// Appends `events` to `stream` atomically, after checking `expected`; returns once the
    /// events are durable. The origin is the stream's owner.
    pub async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended> {
        if events.is_empty() {
            return Err(
                hub_types::ValidationError::new("events", "must hold at least one event").into(),
            );
        }
        let (reply, rx) = oneshot::channel();
        self.send(Command::Append {
            stream: stream.clone(),
            expected,
            events,
            reply,
        })?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }

    /// Stores events stamped by other origins, each checked as the next of its origin's
    /// chain, and writes `meta` entries (e.g. consumer offsets) in the same atomic batch.
    /// Returns one result per record; failed records are not stored, the others are.
    pub async fn ingest(
        &self,
        records: Vec<Record>,
        meta: Vec<Entry>,
    ) -> Result<Vec<Result<Ingested>>> {
        let meta = meta.into_iter().map(|(k, v)| (keys::meta(&k), v)).collect();
        let (reply, rx) = oneshot::channel();
        self.send(Command::Ingest {
            records,
            meta,
            reply,
        })?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }

    fn send(&self, cmd: Command) -> Result<()> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(self.shared.closed_error());
        }
        self.tx.send(cmd).map_err(|_| self.shared.closed_error())
    }

    /// Why the log takes no more writes after a failed commit: (disk full, cause).
    pub fn write_failure(&self) -> Option<(bool, String)> {
        self.shared.failure.get().cloned()
    }

    /// Tells `observer` of every group commit from now on; returns false (and changes
    /// nothing) when an observer is already set.
    pub fn observe_commits(&self, observer: Arc<dyn observe::CommitObserver>) -> bool {
        self.shared.observer.set(observer)
    }

    /// Keeps `bytes` free in the file system of the store's directory: a group of writes
    /// that finds less free space is refused whole ([`Error::DiskLow`]) before anything of
    /// it reaches the store, so the store never meets a full disk in the middle of a commit
    /// (which would stop the log), and writes are taken again once space is freed. 0 (the
    /// default) keeps no reserve; stores without a directory keep none either.
    pub fn keep_free(&self, bytes: u64) {
        self.shared.reserve.store(bytes, Ordering::Relaxed);
    }

    /// The free space of the store's file system and the reserve kept in it, for stores on
    /// disk whose file system can be asked.
    pub fn free_space(&self) -> Option<FreeSpace> {
        self.shared.free_space()
    }

    /// True once the log was closed (or its writer stopped after a storage failure).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// The durable head position (0 when empty).
    pub fn head(&self) -> u64 {
        *self.shared.head.borrow()
    }

    /// A receiver that changes whenever the durable head moves, and once when the log
    /// closes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.shared.head.subscribe()
    }

    /// Highest `origin_seq` stored per origin.
    pub fn origin_vector(&self) -> BTreeMap<MemberId, OriginSeq> {
        self.origin_heads()
            .into_iter()
            .map(|(m, h)| (m, h.seq))
            .collect()
    }

    /// The head of every origin's chain.
    pub fn origin_heads(&self) -> BTreeMap<MemberId, OriginHead> {
        self.shared
            .origins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads up to `limit` events from position `from`.
    pub fn read_all(&self, from: Position, limit: usize) -> Result<Vec<StoredEvent>> {
        read::events(&self.shared.store, from.get(), self.head(), limit)
    }

    /// Returns the event at `position`, if it exists.
    pub fn get(&self, position: Position) -> Result<Option<StoredEvent>> {
        if position.get() > self.head() {
            return Ok(None);
        }
        read::event_at(&self.shared.store, position.get()).map(Some)
    }

    /// Position of the event with this id, if stored.
    pub fn position_of(&self, id: &EventId) -> Result<Option<Position>> {
        let pos = self.shared.indexes.ids.get(id);
        Ok(pos
            .filter(|p| *p <= self.head())
            .and_then(|p| Position::new(p).ok()))
    }

    /// Reads up to `limit` events of `stream` from `from_version` in `direction`; version 0
    /// means the first (forwards) or the last (backwards).
    pub fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let head = self.head();
        let runs = &self.shared.indexes.runs;
        match direction {
            Direction::Forwards => {
                let spans = runs.with(Key::Stream(stream), |r| {
                    runs::spans_forwards(r, from_version, head, limit)
                });
                self.spans_to_events(spans, false)
            }
            Direction::Backwards => {
                let spans = runs.with(Key::Stream(stream), |r| {
                    runs::spans_backwards(r, from_version, head, limit)
                });
                self.spans_to_events(spans, true)
            }
        }
    }

    /// The stream's durable version (0 when it has no events).
    pub fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        let head = self.head();
        let runs = &self.shared.indexes.runs;
        Ok(runs
            .with(Key::Stream(stream), |r| runs::last_number(r, head))
            .unwrap_or(0))
    }

    /// Reads up to `limit` events of `origin` from sequence `from`.
    pub fn read_origin(
        &self,
        origin: MemberId,
        from: OriginSeq,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let head = self.head();
        let spans = self.shared.indexes.runs.with(Key::Origin(origin), |r| {
            runs::spans_forwards(r, from.get(), head, limit)
        });
        self.spans_to_events(spans, false)
    }

    /// Durably stores `meta` entries (e.g. progress markers) without events; an entry with
    /// an empty value removes its key.
    pub async fn put_meta(&self, meta: Vec<Entry>) -> Result<()> {
        self.ingest(Vec::new(), meta).await.map(|_| ())
    }

    /// Every meta entry whose key starts with `prefix`, keys without the log's tag.
    pub fn meta_with_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>> {
        let from = keys::meta(prefix);
        let to = store::prefix_end(&from);
        Ok(self
            .shared
            .store
            .range(&from, &to, false, usize::MAX)?
            .into_iter()
            .map(|(k, v)| (k[1..].to_vec(), v))
            .collect())
    }

    /// Up to `limit` meta entries whose keys start with `prefix` and sort at or after
    /// `from` (a key with that prefix), in key order, keys without the log's tag: a bounded
    /// walk where [`Log::meta_with_prefix`] reads them all.
    pub fn meta_page(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Entry>> {
        let to = store::prefix_end(&keys::meta(prefix));
        let from = keys::meta(from.max(prefix));
        Ok(self
            .shared
            .store
            .range(&from, &to, false, limit)?
            .into_iter()
            .map(|(k, v)| (k[1..].to_vec(), v))
            .collect())
    }

    /// Reads a value stored with [`Log::ingest`]'s `meta`.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.shared.store.get(&keys::meta(key))
    }

    /// The events of `(first position, count)` spans, each span read in one go; with
    /// `reverse`, every span's events come last first.
    fn spans_to_events(&self, spans: Vec<(u64, u64)>, reverse: bool) -> Result<Vec<StoredEvent>> {
        let mut out = Vec::new();
        for (first, count) in spans {
            let last = first + count - 1;
            let mut events = read::events(&self.shared.store, first, last, count as usize)?;
            if events.len() as u64 != count {
                return Err(Error::Corrupt {
                    position: first,
                    what: "an index points at missing events".into(),
                });
            }
            if reverse {
                events.reverse();
            }
            out.append(&mut events);
        }
        Ok(out)
    }

    /// Stops the writer once the appends queued before this call are durable. Every
    /// handle of this log fails with [`Error::Closed`] afterwards.
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Close { reply }).is_ok() {
            let _ = rx.await;
        }
    }
}
