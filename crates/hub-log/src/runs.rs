//! The stream and origin indexes: at which position each stream version and each origin
//! sequence is stored.
//!
//! A stream's versions and an origin's sequences count from 1 in position order (the log's
//! contract), so each index is a list of *runs* per stream or origin: a run says that the
//! events numbered `first`, `first + 1`, … `first + count - 1` are at positions `position`,
//! `position + 1`, …. An append's events are consecutive in all three, so one run describes
//! it, and a run that continues the one before is merged into it.
//!
//! The runs live in memory, backed by [`RUNS_FILE`]: one frame per commit group, appended
//! after the group is committed and never rewritten. Like the event-id index
//! ([`crate::ids`]), the file is derived from the records: it is not synced with each
//! commit (every [`SYNC_EVERY`] bytes and at close), and opening takes its frames up to the
//! first one that is torn, fails its check or does not continue the frames before it, then
//! reads the runs of the events after that from the log itself. So a crash, a torn write or
//! a damaged frame costs a rebuild from there on, never a wrong answer; the log's open
//! checks the runs of its last events against the events as well (see `recovery`).
//!
//! The runs used to be keys in sled, about 80 bytes of key and value for every append,
//! which sled's log-structured pages made about 300 bytes an event on disk. Stores written
//! then still hold those keys, unread; their first open builds the file from the log.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::{Mutex, RwLock};

use hub_types::{Family, LocalId, MemberId, StreamId};
use prost::encoding::{decode_varint, encode_varint};

use crate::derived::DerivedFile;
use crate::error::Result;
use crate::read::{self, corrupt};
use crate::store::Store;

/// The file beside the log's other files holding the runs, one frame per commit group:
/// the body's length and CRC32 (u32 each, big-endian), then the body, in varints except
/// where said: the first position the frame indexes (it follows the previous frame's
/// last), how many more it indexes, the number of stream runs and of origin runs; each
/// stream run: the stream's family (u8, [`Family::code`]), owner (u32 code) and local id
/// (u8 length, 0 for none, and its text), then the run; each origin run: the origin (u32
/// code), then the run. A run is its first version or sequence, its first position less
/// the frame's first, and its count.
pub const RUNS_FILE: &str = "runs";
/// Bytes written between two syncs of the file: at most this much is read again from the
/// log after a power loss.
const SYNC_EVERY: u64 = 4 << 20;
/// Largest frame body believed when the file is read (a group of the largest appends and
/// the longest stream names stays far below it).
const MAX_FRAME: usize = 256 << 20;
/// Bytes of a frame before its body: length and CRC32.
const FRAME_HEADER: usize = 8;
/// Events read at a time while the index catches up with the log.
const CATCH_UP_PAGE: usize = 4096;

/// Events at consecutive positions carrying consecutive numbers (stream versions or origin
/// sequences).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Number of the first event.
    pub(crate) first: u64,
    /// Position of the first event.
    pub(crate) position: u64,
    /// How many events; at least 1.
    pub(crate) count: u64,
}

impl Run {
    /// Number of the last event.
    pub(crate) fn last(&self) -> u64 {
        self.first + self.count - 1
    }

    /// Position of the last event.
    pub(crate) fn last_position(&self) -> u64 {
        self.position + self.count - 1
    }

    /// Position of the event numbered `n`, if the run holds it.
    pub(crate) fn position_of(&self, n: u64) -> Option<u64> {
        (self.first..=self.last())
            .contains(&n)
            .then(|| self.position + (n - self.first))
    }

    /// Extends the run by the event numbered `n` at `position` if that event directly
    /// follows it in both; returns whether it did.
    pub(crate) fn extend(&mut self, n: u64, position: u64) -> bool {
        let follows = n == self.first + self.count && position == self.position + self.count;
        if follows {
            self.count += 1;
        }
        follows
    }
}

/// Adds the event numbered `n` at `position` to the last of `runs`, or starts a new run.
pub(crate) fn extend_runs(runs: &mut Vec<Run>, n: u64, position: u64) {
    if !runs.last_mut().is_some_and(|r| r.extend(n, position)) {
        runs.push(Run {
            first: n,
            position,
            count: 1,
        });
    }
}

/// The runs of every stream and every origin with events at some positions, in order.
#[derive(Debug, Default)]
pub(crate) struct Added {
    pub(crate) streams: HashMap<StreamId, Vec<Run>>,
    pub(crate) origins: HashMap<MemberId, Vec<Run>>,
}

impl Added {
    /// Adds the event at `position`, version `version` of `stream` and sequence `seq` of
    /// `origin`; events come in position order.
    pub(crate) fn push(
        &mut self,
        stream: &StreamId,
        version: u64,
        origin: MemberId,
        seq: u64,
        position: u64,
    ) {
        match self.streams.get_mut(stream) {
            Some(runs) => extend_runs(runs, version, position),
            None => {
                let run = Run {
                    first: version,
                    position,
                    count: 1,
                };
                self.streams.insert(stream.clone(), vec![run]);
            }
        }
        extend_runs(self.origins.entry(origin).or_default(), seq, position);
    }

    /// The position of number `n` of `origin`, if these runs hold it.
    pub(crate) fn origin_position(&self, origin: MemberId, n: u64) -> Option<u64> {
        self.origins
            .get(&origin)?
            .iter()
            .find_map(|r| r.position_of(n))
    }
}

/// Which index: a stream's or an origin's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    Stream(&'a StreamId),
    Origin(MemberId),
}

/// The runs of every stream and origin.
#[derive(Debug, Default, Clone)]
struct Index {
    streams: Streams,
    origins: BTreeMap<MemberId, Vec<Run>>,
    /// Every event up to this position is indexed.
    through: u64,
}

impl Index {
    /// Adds the runs of the events at `from..=through`, which must follow the events
    /// indexed so far, each run following the last of its stream or origin and the runs
    /// covering every position once. When they do not, returns the lowest position where
    /// they do not (the index may then hold part of them).
    fn add<'a>(
        &mut self,
        from: u64,
        through: u64,
        streams: impl Iterator<Item = (Cow<'a, StreamId>, Run)>,
        origins: impl Iterator<Item = (MemberId, Run)>,
    ) -> std::result::Result<(), u64> {
        self.add_with(from, through, streams, origins, |index, stream, run| {
            index.streams.follow(stream, run)
        })
    }

    /// [`Index::add`], with each stream run that lies within the positions given to
    /// `follow`, which adds it (or keeps it for later) and says whether it follows.
    fn add_with<'a>(
        &mut self,
        from: u64,
        through: u64,
        streams: impl Iterator<Item = (Cow<'a, StreamId>, Run)>,
        origins: impl Iterator<Item = (MemberId, Run)>,
        mut follow_stream: impl FnMut(&mut Self, Cow<'a, StreamId>, Run) -> bool,
    ) -> std::result::Result<(), u64> {
        if from != self.through + 1 || through < from {
            return Err(from);
        }
        let within = |run: &Run| {
            run.count > 0
                && run.position >= from
                && run.position.checked_add(run.count - 1) <= Some(through)
                && run.first.checked_add(run.count).is_some()
        };
        let events = through - from + 1;
        // The lowest position of a run that does not follow, if any.
        let mut wrong: Option<u64> = None;
        let mut note = |position: u64| wrong = Some(wrong.map_or(position, |w| w.min(position)));
        let mut covered = 0u64;
        for (stream, run) in streams {
            covered = covered.saturating_add(run.count);
            let follows = within(&run) && follow_stream(self, stream, run);
            if !follows {
                note(run.position);
            }
        }
        if covered != events {
            note(from);
        }
        covered = 0;
        for (origin, run) in origins {
            covered = covered.saturating_add(run.count);
            if !within(&run) || !follow(self.origins.entry(origin).or_default(), run) {
                note(run.position);
            }
        }
        if covered != events {
            note(from);
        }
        match wrong {
            Some(position) => Err(position),
            None => {
                self.through = through;
                Ok(())
            }
        }
    }
}

/// The runs of every stream: those the file held at open, grouped by a keyed hash of the
/// stream in one counting sort, and those of the streams first appended to since, in a
/// hash map. Adding each stream of the file to a hash map instead took a sixth of a
/// node's start at 10^6 events, in lookups and inserts into a table that kept growing.
#[derive(Debug, Default, Clone)]
struct Streams {
    loaded: Grouped,
    added: HashMap<StreamId, StreamRuns, foldhash::fast::RandomState>,
}

impl Streams {
    fn get(&self, stream: &StreamId) -> Option<&StreamRuns> {
        self.loaded.get(stream).or_else(|| self.added.get(stream))
    }

    /// Adds `run` after the runs of `stream`, as [`follow`] does. A stream given away is
    /// looked up once.
    fn follow(&mut self, stream: Cow<'_, StreamId>, run: Run) -> bool {
        use std::collections::hash_map::Entry;
        if let Some(runs) = self.loaded.get_mut(&stream) {
            return runs.follow(run);
        }
        let entry = match stream {
            Cow::Owned(stream) => self.added.entry(stream),
            Cow::Borrowed(stream) => match self.added.get_mut(stream) {
                Some(runs) => return runs.follow(run),
                None => self.added.entry(stream.clone()),
            },
        };
        match entry {
            Entry::Occupied(mut runs) => runs.get_mut().follow(run),
            Entry::Vacant(place) if run.first == 1 => {
                place.insert(StreamRuns::One(run));
                true
            }
            Entry::Vacant(_) => false,
        }
    }
}

/// Streams and their runs, grouped into buckets by a keyed hash of the stream (so that
/// callers naming streams cannot make one bucket long): bucket `b` is
/// `entries[starts[b]..starts[b + 1]]`.
#[derive(Debug, Default, Clone)]
struct Grouped {
    hasher: foldhash::fast::RandomState,
    /// How far a hash is shifted right to give its bucket.
    shift: u32,
    starts: Vec<usize>,
    entries: Vec<(StreamId, StreamRuns)>,
}

impl Grouped {
    /// Groups the runs of `pending`, in the order given, by stream, each run following
    /// the one before of its stream as [`follow`] has it; `None` when one does not.
    fn new(pending: Vec<(StreamId, Run)>) -> Option<Self> {
        let hasher = foldhash::fast::RandomState::default();
        // About one stream in a bucket when each stream has two runs; at least two
        // buckets, so that the shift stays below 64.
        let buckets = (pending.len() / 2).next_power_of_two().max(2);
        let shift = u64::BITS - buckets.trailing_zeros();
        let bucket = |stream: &StreamId| (hasher.hash_one(stream) >> shift) as usize;
        let of: Vec<u32> = pending.iter().map(|(s, _)| bucket(s) as u32).collect();
        let mut next = vec![0usize; buckets + 1];
        for &b in &of {
            next[b as usize + 1] += 1;
        }
        for b in 1..next.len() {
            next[b] += next[b - 1];
        }
        // A counting sort by bucket, keeping the order of each stream's runs, and each
        // run's bucket so that no stream is hashed again.
        let mut sorted: Vec<Option<(u32, StreamId, Run)>> = Vec::new();
        sorted.resize_with(pending.len(), || None);
        for ((stream, run), b) in pending.into_iter().zip(of) {
            let at = &mut next[b as usize];
            sorted[*at] = Some((b, stream, run));
            *at += 1;
        }
        drop(next);
        let mut grouped = Self {
            hasher,
            shift,
            starts: vec![0; buckets + 1],
            // Room for a stream per run: the pages past the streams are never touched.
            entries: Vec::with_capacity(sorted.len()),
        };
        let mut held = 0;
        for (b, stream, run) in sorted.into_iter().flatten() {
            let b = b as usize;
            // Buckets come in order: close those before this one.
            while held < b {
                held += 1;
                grouped.starts[held] = grouped.entries.len();
            }
            let from = grouped.starts[b];
            let follows = match grouped.entries[from..]
                .iter_mut()
                .find(|(s, _)| *s == stream)
            {
                Some((_, runs)) => runs.follow(run),
                None if run.first == 1 => {
                    grouped.entries.push((stream, StreamRuns::One(run)));
                    true
                }
                None => false,
            };
            if !follows {
                return None;
            }
        }
        while held < buckets {
            held += 1;
            grouped.starts[held] = grouped.entries.len();
        }
        Some(grouped)
    }

    fn bucket(&self, stream: &StreamId) -> usize {
        // A shift of 64 or more (an empty table) gives bucket 0.
        self.hasher
            .hash_one(stream)
            .checked_shr(self.shift)
            .unwrap_or(0) as usize
    }

    /// Where `stream`'s entry is, if it has one.
    fn find(&self, stream: &StreamId) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let b = self.bucket(stream);
        let (from, to) = (*self.starts.get(b)?, *self.starts.get(b + 1)?);
        let at = self
            .entries
            .get(from..to)?
            .iter()
            .position(|(s, _)| s == stream)?;
        Some(from + at)
    }

    fn get(&self, stream: &StreamId) -> Option<&StreamRuns> {
        Some(&self.entries[self.find(stream)?].1)
    }

    fn get_mut(&mut self, stream: &StreamId) -> Option<&mut StreamRuns> {
        let at = self.find(stream)?;
        Some(&mut self.entries[at].1)
    }
}

/// Adds `run` after `runs`, merged into the last when it continues it; false, adding
/// nothing, when it does not take up the next number after a later position.
fn follow(runs: &mut Vec<Run>, run: Run) -> bool {
    match runs.last_mut() {
        None if run.first == 1 => {
            runs.push(run);
            true
        }
        None => false,
        Some(last) => match Follows::after(last, &run) {
            Follows::Not => false,
            Follows::Merged => true,
            Follows::Apart => {
                runs.push(run);
                true
            }
        },
    }
}

/// How a run comes after the last run of its stream or origin.
enum Follows {
    /// It does not take up the next number after a later position.
    Not,
    /// It continues the last run, which now holds it.
    Merged,
    /// It takes up the next number at a later position: a run of its own.
    Apart,
}

impl Follows {
    fn after(last: &mut Run, run: &Run) -> Self {
        if run.first != last.last() + 1 || run.position <= last.last_position() {
            Self::Not
        } else if run.position == last.last_position() + 1 {
            last.count += run.count;
            Self::Merged
        } else {
            Self::Apart
        }
    }
}

/// A stream's runs. Most streams have one, kept without an allocation of its own: a
/// million streams at open are a million `malloc` calls fewer.
#[derive(Debug, Clone)]
enum StreamRuns {
    One(Run),
    Many(Vec<Run>),
}

impl StreamRuns {
    fn as_slice(&self) -> &[Run] {
        match self {
            Self::One(run) => std::slice::from_ref(run),
            Self::Many(runs) => runs,
        }
    }

    /// Adds `run` after the runs, as [`follow`] does.
    fn follow(&mut self, run: Run) -> bool {
        match self {
            Self::One(last) => match Follows::after(last, &run) {
                Follows::Not => false,
                Follows::Merged => true,
                Follows::Apart => {
                    *self = Self::Many(vec![*last, run]);
                    true
                }
            },
            Self::Many(runs) => follow(runs, run),
        }
    }
}

/// The stream and origin indexes.
#[derive(Debug)]
pub(crate) struct Runs {
    index: RwLock<Index>,
    /// The file, for logs on disk.
    file: Option<Mutex<RunsFile>>,
}

/// The open [`RUNS_FILE`].
#[derive(Debug)]
struct RunsFile {
    out: DerivedFile,
    /// Where the next frame goes: the end of the last whole frame.
    end: u64,
    /// Whether a write failed: later frames would not follow the ones before, so none is
    /// written until the next open, which reads what the file lacks from the log.
    broken: bool,
}

impl Runs {
    /// An empty index kept in memory only.
    pub(crate) fn in_memory() -> Self {
        Self {
            index: RwLock::default(),
            file: None,
        }
    }

    /// Loads the index of the log whose files are in `dir`: every frame of its
    /// [`RUNS_FILE`] (created when missing) up to the first that is not whole, checked and
    /// following the ones before; the rest of the file is cut. [`Runs::catch_up`] then adds
    /// the runs of the events after them from the log.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let out = DerivedFile::open(dir, RUNS_FILE, "the stream and origin index", SYNC_EVERY)?;
        let (file, path) = (&out.file, &out.path);
        let len = file.metadata()?.len();
        let mut index = Index::default();
        let mut end = 0u64;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut body = Vec::new();
        let mut frame = Frame::default();
        // Every stream run of the frames, in order, grouped by stream once all are read.
        // Reserved for a run in every 20 bytes of the file (a stream run takes 9 bytes
        // and more, a frame and its origin runs more), so that it seldom grows: the pages
        // it leaves untouched cost nothing.
        let mut pending = Vec::with_capacity(usize::try_from(len / 20).unwrap_or(0));
        let mut stop = loop {
            let mut header = [0u8; FRAME_HEADER];
            if len - end < FRAME_HEADER as u64 || reader.read_exact(&mut header).is_err() {
                break None;
            }
            let size = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_be_bytes(header[4..].try_into().expect("4 bytes"));
            if size > MAX_FRAME || (len - end - FRAME_HEADER as u64) < size as u64 {
                break Some("torn");
            }
            body.resize(size, 0);
            if reader.read_exact(&mut body).is_err() || crc32fast::hash(&body) != crc {
                break Some("damaged");
            }
            if decode(&body, &mut frame).is_none() {
                break Some("malformed");
            }
            if frame.from != index.through + 1 {
                break Some("does not follow the frames before");
            }
            if !frame.add_to(&mut index, &mut pending) {
                // Part of the frame may be in the index: start over from the log.
                index = Index::default();
                pending.clear();
                end = 0;
                break Some("disagrees with the frames before");
            }
            end += (FRAME_HEADER + size) as u64;
        };
        match Grouped::new(pending) {
            Some(loaded) => index.streams.loaded = loaded,
            None => {
                // A stream's runs do not follow each other: start over from the log.
                index = Index::default();
                end = 0;
                stop = Some("disagrees with the frames before");
            }
        }
        if end < len {
            tracing::warn!(
                file = %path.display(),
                from = index.through + 1,
                why = stop.unwrap_or("torn"),
                "the stream and origin index ends early or is damaged; the runs from this position on are read again from the log"
            );
            file.set_len(end)?;
        }
        Ok(Self {
            index: RwLock::new(index),
            file: Some(Mutex::new(RunsFile {
                out,
                end,
                broken: false,
            })),
        })
    }

    /// Every event up to this position is indexed.
    pub(crate) fn through(&self) -> u64 {
        self.read().through
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f` with the runs of `key`, in order (none when it has no events).
    pub(crate) fn with<R>(&self, key: Key<'_>, f: impl FnOnce(&[Run]) -> R) -> R {
        let index = self.read();
        let runs = match key {
            Key::Stream(stream) => index.streams.get(stream).map(StreamRuns::as_slice),
            Key::Origin(origin) => index.origins.get(&origin).map(Vec::as_slice),
        };
        f(runs.unwrap_or_default())
    }

    /// The last run of every origin.
    pub(crate) fn origin_heads(&self) -> Vec<(MemberId, Run)> {
        self.read()
            .origins
            .iter()
            .filter_map(|(origin, runs)| Some((*origin, *runs.last()?)))
            .collect()
    }

    /// Adds the runs of the events at `from..=through` (just committed), and appends them
    /// to the file. When they do not follow the index, returns the lowest position where
    /// they do not (the index may then hold part of them). A failed write of the file is
    /// logged, not returned: the events are durable, the index in memory holds them, and
    /// the next open reads whatever the file lacks from the log.
    pub(crate) fn add(
        &self,
        from: u64,
        through: u64,
        added: &Added,
    ) -> std::result::Result<(), u64> {
        let streams = || {
            added
                .streams
                .iter()
                .flat_map(|(s, runs)| runs.iter().map(move |r| (s, *r)))
        };
        let origins = || {
            added
                .origins
                .iter()
                .flat_map(|(o, runs)| runs.iter().map(move |r| (*o, *r)))
        };
        let added = self.index.write().unwrap_or_else(|e| e.into_inner()).add(
            from,
            through,
            streams().map(|(s, r)| (Cow::Borrowed(s), r)),
            origins(),
        );
        let Some(file) = &self.file else {
            return added;
        };
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        if added.is_err() || file.broken {
            file.broken = true;
            return added;
        }
        let frame = encode(from, through, streams(), origins());
        let at = file.end;
        if file.out.write_at(&frame, at) {
            file.end += frame.len() as u64;
        } else {
            file.broken = true;
        }
        added
    }

    /// Brings the index to the log in `store`, whose last event is at `head`: adds the runs
    /// of the events its file lacks (or held damaged), read from the store. An index
    /// reaching beyond the head (the log lost events the index had) is built again.
    pub(crate) fn catch_up<S: Store>(&self, store: &S, head: u64) -> Result<()> {
        if self.through() > head {
            tracing::warn!(
                indexed = self.through(),
                head,
                "the stream and origin index reaches beyond the log's head; it is read again from the log"
            );
            self.reset()?;
        }
        let from = self.through() + 1;
        let mut next = from;
        while next <= head {
            let events = read::events(store, next, head, CATCH_UP_PAGE)?;
            if events.is_empty() {
                return Err(corrupt(next, "event is missing"));
            }
            let mut added = Added::default();
            for event in &events {
                let position = event.position.get();
                let record = &event.record;
                let stream: StreamId = record.stream.parse().map_err(|e| {
                    corrupt(position, format!("the record's stream is invalid: {e}"))
                })?;
                let origin: MemberId = record.origin.parse().map_err(|e| {
                    corrupt(position, format!("the record's origin is invalid: {e}"))
                })?;
                added.push(
                    &stream,
                    record.stream_version,
                    origin,
                    record.origin_seq,
                    position,
                );
            }
            let through = next + events.len() as u64 - 1;
            self.add(next, through, &added).map_err(|position| {
                corrupt(
                    position,
                    "its stream version or origin sequence does not follow the one before",
                )
            })?;
            next = through + 1;
        }
        if next > from {
            self.sync();
            tracing::info!(
                from,
                events = next - from,
                "read stream versions and origin sequences from the log into their index"
            );
        }
        Ok(())
    }

    /// Empties the index and its file.
    fn reset(&self) -> Result<()> {
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = Index::default();
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            file.out.file.set_len(0)?;
            file.end = 0;
            file.broken = false;
        }
        Ok(())
    }

    /// Syncs the file when [`SYNC_EVERY`] bytes were written since it last was.
    pub(crate) fn sync_now_and_then(&self) {
        if let Some(file) = &self.file {
            file.lock()
                .unwrap_or_else(|e| e.into_inner())
                .out
                .sync_if_due();
        }
    }

    /// Makes the file's frames durable (at close, after catching up), so that the next
    /// open has nothing to read again.
    pub(crate) fn sync(&self) {
        if let Some(file) = &self.file {
            file.lock().unwrap_or_else(|e| e.into_inner()).out.sync();
        }
    }
}

/// A frame of the file, decoded.
#[derive(Default)]
struct Frame {
    from: u64,
    through: u64,
    streams: Vec<(StreamId, Run)>,
    origins: Vec<(MemberId, Run)>,
}

impl Frame {
    /// Adds the frame's origin runs to `index`, and its stream runs, given away, to
    /// `pending` for [`Grouped::new`] to group; false when the frame does not follow the
    /// ones before or its runs do not cover its positions.
    fn add_to(&mut self, index: &mut Index, pending: &mut Vec<(StreamId, Run)>) -> bool {
        index
            .add_with(
                self.from,
                self.through,
                self.streams.drain(..).map(|(s, r)| (Cow::Owned(s), r)),
                self.origins.iter().copied(),
                |_, stream, run| {
                    pending.push((stream.into_owned(), run));
                    true
                },
            )
            .is_ok()
    }
}

/// The frame of the runs of the events at `from..=through`; every run lies within them.
fn encode<'a>(
    from: u64,
    through: u64,
    streams: impl Iterator<Item = (&'a StreamId, Run)> + Clone,
    origins: impl Iterator<Item = (MemberId, Run)> + Clone,
) -> Vec<u8> {
    let mut body = Vec::new();
    encode_varint(from, &mut body);
    encode_varint(through - from, &mut body);
    encode_varint(streams.clone().count() as u64, &mut body);
    encode_varint(origins.clone().count() as u64, &mut body);
    for (stream, run) in streams {
        body.push(stream.family().code());
        body.extend_from_slice(&stream.owner().code().to_be_bytes());
        let local = stream.local().map_or("", LocalId::as_str);
        // A local id holds 1 to 64 characters.
        body.push(local.len() as u8);
        body.extend_from_slice(local.as_bytes());
        push_run(&mut body, from, run);
    }
    for (origin, run) in origins {
        body.extend_from_slice(&origin.code().to_be_bytes());
        push_run(&mut body, from, run);
    }
    let mut frame = Vec::with_capacity(FRAME_HEADER + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

fn push_run(body: &mut Vec<u8>, from: u64, run: Run) {
    encode_varint(run.first, body);
    encode_varint(run.position - from, body);
    encode_varint(run.count, body);
}

/// Reads a frame's body into `frame`; `None` when it is malformed.
fn decode(body: &[u8], frame: &mut Frame) -> Option<()> {
    frame.streams.clear();
    frame.origins.clear();
    let mut r = Reader(body);
    let from = r.varint()?;
    let through = from.checked_add(r.varint()?)?;
    let (streams, origins) = (r.varint()?, r.varint()?);
    for _ in 0..streams {
        let family = Family::from_code(r.u8()?)?;
        let owner = MemberId::from_code(r.u32()?).ok()?;
        let local = match usize::from(r.u8()?) {
            0 => None,
            len => Some(std::str::from_utf8(r.take(len)?).ok()?.parse().ok()?),
        };
        let stream = StreamId::from_parts(family, owner, local).ok()?;
        frame.streams.push((stream, r.run(from)?));
    }
    for _ in 0..origins {
        let origin = MemberId::from_code(r.u32()?).ok()?;
        frame.origins.push((origin, r.run(from)?));
    }
    frame.from = from;
    frame.through = through;
    r.0.is_empty().then_some(())
}

/// Reads the parts of a frame off the front of its bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn varint(&mut self) -> Option<u64> {
        decode_varint(&mut self.0).ok()
    }

    /// A run of a frame whose first position is `from`.
    fn run(&mut self, from: u64) -> Option<Run> {
        Some(Run {
            first: self.varint()?,
            position: from.checked_add(self.varint()?)?,
            count: self.varint()?,
        })
    }
}

/// The run holding number `n`, if any.
pub(crate) fn holding(runs: &[Run], n: u64) -> Option<Run> {
    let at = runs.partition_point(|r| r.last() < n);
    runs.get(at).copied().filter(|r| r.first <= n)
}

/// The position of the event numbered `n`, if stored.
pub(crate) fn position_of(runs: &[Run], n: u64) -> Option<u64> {
    holding(runs, n)?.position_of(n)
}

/// The number of the last event at a position up to `head`, if any.
pub(crate) fn last_number(runs: &[Run], head: u64) -> Option<u64> {
    let run = runs[..runs.partition_point(|r| r.position <= head)].last()?;
    Some(run.first + (run.last_position().min(head) - run.position))
}

/// Positions of the events numbered `from` (at least 1) and up, at most `limit` and none
/// above `head`, as ascending `(first position, count)` spans.
pub(crate) fn spans_forwards(runs: &[Run], from: u64, head: u64, limit: usize) -> Vec<(u64, u64)> {
    let from = from.max(1);
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut left = limit as u64;
    let start = runs.partition_point(|r| r.last() < from);
    for run in &runs[start..] {
        if left == 0 {
            break;
        }
        let first = run.position + (from.max(run.first) - run.first);
        if first > head {
            break;
        }
        let count = (run.last_position().min(head) - first + 1).min(left);
        match spans.last_mut() {
            // Runs at adjacent positions are read in one go.
            Some((at, n)) if *at + *n == first => *n += count,
            _ => spans.push((first, count)),
        }
        left -= count;
    }
    spans
}

/// Positions of the events numbered `from` and down (0: from the last), at most `limit`
/// and skipping those above `head`, as `(first position, count)` spans in descending
/// order.
pub(crate) fn spans_backwards(runs: &[Run], from: u64, head: u64, limit: usize) -> Vec<(u64, u64)> {
    let top = if from == 0 { u64::MAX } else { from };
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut left = limit as u64;
    let end = runs.partition_point(|r| r.first <= top);
    for run in runs[..end].iter().rev() {
        if left == 0 {
            break;
        }
        let last = (run.position + (top.min(run.last()) - run.first)).min(head);
        if last < run.position {
            // Not yet durable: earlier runs may be.
            continue;
        }
        let count = (last - run.position + 1).min(left);
        let first = last + 1 - count;
        match spans.last_mut() {
            // Runs at adjacent positions are read in one go.
            Some((at, n)) if last + 1 == *at => {
                *at = first;
                *n += count;
            }
            _ => spans.push((first, count)),
        }
        left -= count;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(first: u64, position: u64, count: u64) -> Run {
        Run {
            first,
            position,
            count,
        }
    }

    fn stream(name: &str) -> StreamId {
        format!("demand/330400/{name}").parse().expect("stream")
    }

    #[test]
    fn runs_map_numbers_to_positions() {
        let mut built = run(4, 10, 1);
        assert!(built.extend(5, 11));
        assert!(!built.extend(6, 13), "a gap in positions starts a new run");
        assert!(!built.extend(7, 12), "a gap in numbers starts a new run");
        assert_eq!((built.last(), built.last_position()), (5, 11));
        assert_eq!(built.position_of(3), None);
        assert_eq!(built.position_of(5), Some(11));
        assert_eq!(built.position_of(6), None);
    }

    #[test]
    fn spans_follow_the_runs_and_stop_at_the_head() {
        let runs = [run(1, 3, 2), run(3, 5, 1), run(4, 10, 3)];
        assert_eq!(spans_forwards(&runs, 0, 100, 10), vec![(3, 3), (10, 3)]);
        assert_eq!(spans_forwards(&runs, 2, 100, 2), vec![(4, 2)]);
        assert_eq!(spans_forwards(&runs, 5, 11, 10), vec![(11, 1)]);
        assert_eq!(spans_forwards(&runs, 4, 9, 10), vec![]);
        assert_eq!(spans_forwards(&runs, 7, 100, 10), vec![]);
        assert_eq!(spans_backwards(&runs, 0, 100, 10), vec![(10, 3), (3, 3)]);
        assert_eq!(spans_backwards(&runs, 0, 11, 3), vec![(10, 2), (5, 1)]);
        assert_eq!(spans_backwards(&runs, 2, 100, 10), vec![(3, 2)]);
        assert_eq!(last_number(&runs, 11), Some(5));
        assert_eq!(last_number(&runs, 9), Some(3));
        assert_eq!(last_number(&runs, 2), None);
        assert_eq!(position_of(&runs, 3), Some(5));
        assert_eq!(position_of(&runs, 7), None);
        assert_eq!(holding(&runs, 0), None);
    }

    #[test]
    fn runs_must_follow_each_other_and_cover_every_position() {
        let a = stream("a");
        let origin: MemberId = "330400".parse().expect("member");
        let mut index = Index::default();
        let add = |index: &mut Index, from, through, s: &[Run], o: &[Run]| {
            index
                .add(
                    from,
                    through,
                    s.iter().map(|r| (Cow::Borrowed(&a), *r)),
                    o.iter().map(|r| (origin, *r)),
                )
                .is_ok()
        };
        assert!(add(&mut index, 1, 2, &[run(1, 1, 2)], &[run(1, 1, 2)]));
        assert!(add(&mut index, 3, 3, &[run(3, 3, 1)], &[run(3, 3, 1)]));
        assert_eq!(
            index.streams.get(&a).expect("a").as_slice(),
            [run(1, 1, 3)],
            "merged"
        );
        // A gap in positions, a version skipped, a position not covered, one beyond.
        assert!(!add(
            &mut index.clone(),
            5,
            5,
            &[run(4, 5, 1)],
            &[run(4, 5, 1)]
        ));
        assert!(!add(
            &mut index.clone(),
            4,
            4,
            &[run(5, 4, 1)],
            &[run(4, 4, 1)]
        ));
        assert!(!add(
            &mut index.clone(),
            4,
            5,
            &[run(4, 4, 1)],
            &[run(4, 4, 2)]
        ));
        assert!(!add(
            &mut index.clone(),
            4,
            4,
            &[run(4, 4, 2)],
            &[run(4, 4, 1)]
        ));
        assert!(add(&mut index, 4, 4, &[run(4, 4, 1)], &[run(4, 4, 1)]));
        // A run apart from the last: the stream holds two.
        let b = stream("b");
        let added = index.add(
            5,
            6,
            [
                (Cow::Borrowed(&b), run(1, 5, 1)),
                (Cow::Borrowed(&a), run(5, 6, 1)),
            ]
            .into_iter(),
            [(origin, run(5, 5, 2))].into_iter(),
        );
        assert_eq!(added, Ok(()));
        assert_eq!(
            index.streams.get(&a).expect("a").as_slice(),
            [run(1, 1, 4), run(5, 6, 1)]
        );
        assert_eq!(index.origins[&origin], [run(1, 1, 6)]);
        // A stream's first run must start at version 1.
        let c = stream("c");
        let added = index.add(
            7,
            7,
            [(Cow::Borrowed(&c), run(2, 7, 1))].into_iter(),
            [(origin, run(7, 7, 1))].into_iter(),
        );
        assert_eq!(added, Err(7));
    }

    #[test]
    fn frames_round_trip_and_refuse_damage() {
        let a = stream("a");
        let origin: MemberId = "310000".parse().expect("member");
        let list: StreamId = "recognition/310000".parse().expect("stream");
        let streams = [(&a, run(1, 7, 2)), (&list, run(300, 9, 1))];
        let origins = [(origin, run(5, 7, 3))];
        let frame = encode(
            7,
            9,
            streams.iter().map(|(s, r)| (*s, *r)),
            origins.iter().copied(),
        );
        let body = &frame[FRAME_HEADER..];
        let mut decoded = Frame::default();
        decode(body, &mut decoded).expect("decodes");
        assert_eq!((decoded.from, decoded.through), (7, 9));
        assert_eq!(
            decoded.streams,
            vec![(a.clone(), run(1, 7, 2)), (list, run(300, 9, 1))]
        );
        assert_eq!(decoded.origins, vec![(origin, run(5, 7, 3))]);
        assert!(
            decode(&body[..body.len() - 1], &mut decoded).is_none(),
            "cut"
        );
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(decode(&longer, &mut decoded).is_none(), "trailing bytes");
    }

    #[test]
    fn loaded_runs_are_grouped_by_stream_in_order() {
        let streams: Vec<StreamId> = (0..50).map(|i| stream(&format!("s-{i}"))).collect();
        // Each stream: versions 1-2 at one place, then 3 right after (merged), then 4
        // further on (a run of its own); the streams interleaved.
        let mut pending = Vec::new();
        for (i, s) in streams.iter().enumerate() {
            pending.push((s.clone(), run(1, 10 * i as u64 + 1, 2)));
        }
        for (i, s) in streams.iter().enumerate() {
            pending.push((s.clone(), run(3, 10 * i as u64 + 3, 1)));
        }
        for (i, s) in streams.iter().enumerate() {
            pending.push((s.clone(), run(4, 1000 + i as u64, 1)));
        }
        let grouped = Grouped::new(pending).expect("every run follows");
        assert_eq!(grouped.entries.len(), streams.len());
        for (i, s) in streams.iter().enumerate() {
            let runs = grouped.get(s).expect("each stream").as_slice();
            let at = 10 * i as u64 + 1;
            assert_eq!(runs, [run(1, at, 3), run(4, 1000 + i as u64, 1)], "{s}");
        }
        assert!(grouped.get(&stream("other")).is_none());
        assert!(Grouped::new(Vec::new())
            .expect("empty")
            .get(&streams[0])
            .is_none());

        let a = stream("a");
        let gap = vec![(a.clone(), run(1, 1, 1)), (a.clone(), run(3, 2, 1))];
        assert!(Grouped::new(gap).is_none(), "a version skipped");
        let late = vec![(a.clone(), run(2, 1, 1))];
        assert!(Grouped::new(late).is_none(), "a stream not starting at 1");
        let back = vec![(a.clone(), run(1, 5, 1)), (a, run(2, 3, 1))];
        assert!(
            Grouped::new(back).is_none(),
            "a run before the one it follows"
        );
    }

    #[test]
    fn a_file_whose_stream_runs_do_not_follow_is_read_again_from_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (stream("a"), stream("b"));
        let origin: MemberId = "330400".parse().expect("member");
        let frames = [
            encode(
                1,
                2,
                [(&a, run(1, 1, 1)), (&b, run(1, 2, 1))].into_iter(),
                [(origin, run(1, 1, 2))].into_iter(),
            ),
            // Version 3 of `a` where 2 is due: each frame on its own is well formed.
            encode(
                3,
                3,
                [(&a, run(3, 3, 1))].into_iter(),
                [(origin, run(3, 3, 1))].into_iter(),
            ),
        ];
        std::fs::write(dir.path().join(RUNS_FILE), frames.concat()).expect("write");
        let runs = Runs::load(dir.path()).expect("load");
        assert_eq!(runs.through(), 0, "nothing is taken from the file");
        assert!(runs.read().streams.get(&b).is_none());
        assert!(runs.origin_heads().is_empty());
        let len = std::fs::metadata(dir.path().join(RUNS_FILE))
            .expect("file")
            .len();
        assert_eq!(len, 0, "the file is cut, to be written again from the log");

        // The first frame alone is taken.
        std::fs::write(dir.path().join(RUNS_FILE), &frames[0]).expect("write");
        let runs = Runs::load(dir.path()).expect("load");
        assert_eq!(runs.through(), 2);
        let got = runs.with(Key::Stream(&b), <[Run]>::to_vec);
        assert_eq!(got, [run(1, 2, 1)]);
    }
}
