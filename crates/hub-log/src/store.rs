//! The ordered key-value stores the log runs on: sled on disk, a map in memory.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered byte-key store with atomic multi-key writes. The log keeps all its state in
/// one store so that one batch commits events and their indexes together.
pub trait Store: Send + Sync + 'static {
    /// Returns the value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Returns up to `limit` entries with `from <= key < to`, ascending or descending.
    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>>;
    /// Writes all entries atomically: after a crash either all or none are visible. An
    /// entry with an empty value removes its key (the log never stores an empty value).
    fn apply(&self, writes: Vec<Entry>) -> Result<()>;
    /// Makes every applied write durable before returning: in the store's engine, or, for
    /// events and their indexes, recoverable from what is durable when the store opens
    /// again (see [`Store::take_unindexed`]).
    fn sync(&self) -> Result<()>;
    /// Records, outside the storage engine, that every event up to `head` is durable, so
    /// that opening can tell a store that lost acknowledged events; with `sync` the record
    /// itself is made durable. A store that cannot lose what it acknowledged keeps none.
    fn mark_durable(&self, _head: u64, _sync: bool) -> Result<()> {
        Ok(())
    }
    /// The head last recorded by [`Store::mark_durable`], if any.
    fn durable_mark(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// The directory holding the store's files, for stores on disk: the log keeps free
    /// space in its file system (see [`crate::Log::keep_free`]).
    fn dir(&self) -> Option<&Path> {
        None
    }
    /// Chunks of events the store holds but whose indexes it may have lost, found when it
    /// opened (first position and chunk, in position order): a store whose index engine
    /// makes its writes durable later than its events (see [`SledStore`]). The log calls
    /// [`Store::apply`], which also records where the chunks lie, then
    /// [`Store::checkpoint`]; its own indexes read the chunks' events as they catch up with
    /// the log. Each is handed out once.
    fn take_unindexed(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        Ok(Vec::new())
    }
    /// Makes every applied write durable in the index engine too, so that opening has no
    /// index to rebuild: at a clean close, and after a rebuild.
    fn checkpoint(&self) -> Result<()> {
        self.sync()
    }
    /// Closes and opens the store's files again, after a write failed and left the
    /// storage engine refusing every later one (sled does). Returns false when the store
    /// cannot be reopened (it keeps no files); the log then stops taking writes.
    fn reopen(&self) -> Result<bool> {
        Ok(false)
    }
}

/// Bytes of `dir`'s file system available to this process (`statvfs`'s `f_bavail`, so
/// blocks kept for root are not counted), or `None` when it cannot be told.
pub(crate) fn available_space(dir: &Path) -> Option<u64> {
    fs2::available_space(dir).ok()
}

/// Opens the file at `path` for reading and writing, created when missing and keeping
/// what it holds: the log's own files beside sled's.
pub(crate) fn open_kept(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Returns the last entry whose key starts with `prefix`.
pub(crate) fn last_with_prefix<S: Store + ?Sized>(
    store: &S,
    prefix: &[u8],
) -> Result<Option<Entry>> {
    Ok(store
        .range(prefix, &prefix_end(prefix), true, 1)?
        .into_iter()
        .next())
}

/// The smallest key greater than every key starting with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// sled on disk, with the event chunks in a file of their own. `sync` flushes sled and then
/// `fdatasync`s its data file, because sled's own flush uses `sync_file_range`, which does
/// not flush the device's write cache.
///
/// The chunks of events (`E` keys, see [`crate::keys`]) are most of the bytes the log
/// writes, and a B-tree is the wrong place for them: sled rewrites a leaf whole when it
/// consolidates or splits it, and keeps a segment until most of it is stale, so each
/// chunk was written several times and kept about four times over. They go to
/// [`RECORDS_FILE`] instead, appended once, each as a frame with its first position and a
/// CRC32; sled keeps, under the chunk's key, where its frame is (a [`POINTER_LEN`]-byte
/// value: every chunk stored in sled itself is longer, so stores written before hold both
/// kinds and read both). A write makes its frames durable before sled holds their
/// pointers, so no pointer that sled recovers can point to bytes a crash lost. Bytes after
/// the last frame pointed to (a write that failed or crashed) are never read.
///
/// sled checks a CRC32 on every message it reads from its files, so a flipped byte is
/// reported as an error rather than read as data. But when it recovers its files at open,
/// a message failing its check ends the recovery there: sled then opens without a word,
/// holding only what came before, or panics on the half-rebuilt state. So the store keeps
/// the durable head in a small file of its own ([`MARK_FILE`], written after every sync)
/// for recovery to compare with, and turns sled's panics and checksum failures into
/// [`Error::Corrupt`].
#[derive(Debug)]
pub struct SledStore {
    /// The open files; `None` only while [`Store::reopen`] replaces them (or after it
    /// failed to).
    open: RwLock<Option<Open>>,
    /// The sled directory, for naming it in errors.
    dir: PathBuf,
}

/// What an open [`SledStore`] holds.
#[derive(Debug)]
struct Open {
    db: sled::Db,
    tree: sled::Tree,
    data_file: File,
    /// The durable-head file.
    mark: File,
    /// The event chunks' frames ([`RECORDS_FILE`]).
    records: File,
    records_tail: Mutex<RecordsTail>,
    /// What sled holds that it has not made durable.
    unflushed: Mutex<Unflushed>,
    /// Chunks found at open beyond what sled indexes: handed to the log once
    /// ([`Store::take_unindexed`]), and their pointers written with the next batch.
    unindexed: Mutex<Unindexed>,
}

/// What sled holds that it has not made durable yet.
#[derive(Debug)]
struct Unflushed {
    /// A caller's entry or a removal: only sled holds those, so it must make them durable
    /// before the write is acknowledged.
    meta: bool,
    /// When sled last made everything durable.
    since: std::time::Instant,
    /// The first position of the last chunk sled holds.
    chunk: u64,
    /// The same, when sled last made everything durable.
    durable_chunk: u64,
}

impl Unflushed {
    /// After sled made everything durable.
    fn flushed(&mut self) {
        self.meta = false;
        self.since = std::time::Instant::now();
        self.durable_chunk = self.chunk;
    }
}

/// Chunks found at open in the records file beyond the last one sled points to.
#[derive(Debug, Default)]
struct Unindexed {
    /// First position and chunk, for the log to rebuild their indexes.
    chunks: Vec<(u64, Vec<u8>)>,
    /// Their `E` keys and pointers, written with the next batch.
    pointers: Vec<Entry>,
}

/// How long sled may hold index writes that it has not made durable. Events are durable
/// in the records file before they are acknowledged; their indexes (and where their chunks
/// lie) are rebuilt from it at open when sled lost them, so a crash costs at most this
/// long's worth of events to index again.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// The largest chunk a frame is believed to hold when the records file is scanned at open.
const MAX_SCANNED_CHUNK: usize = 256 << 20;

/// The most the records file is written with zeros ahead of its frames at once. The
/// zeros are dirty pages of the file, so the `fdatasync` of the group that grows it writes
/// them out too: a step of 64 MiB held that group for a fifth of a second on a disk of
/// 300 MB/s, and every append waiting behind it.
const MAX_ZEROS_AHEAD: u64 = 4 << 20;

/// Where the records file's frames end, and how far it is already written with zeros.
/// Writing into bytes the file already holds changes no metadata, so the `fdatasync` after
/// each write flushes data alone; the file grows in steps, written with zeros ahead.
#[derive(Debug, Clone, Copy)]
struct RecordsTail {
    /// Where the next frame goes: the end of the frame of the last chunk sled points to
    /// (what lies after it was written by a write that failed, or is zeros).
    end: u64,
    /// The file's length.
    len: u64,
}

/// What [`RecordsTail::find`] finds.
struct Scanned {
    tail: RecordsTail,
    /// Chunks beyond the last one sled points to: first position and chunk.
    chunks: Vec<(u64, Vec<u8>)>,
    /// The last position they reach (at least).
    head: u64,
}

impl Scanned {
    /// When the last chunk sled points to is damaged: reading it says so.
    fn damaged(tail: RecordsTail, head: u64) -> Self {
        Self {
            tail,
            chunks: Vec::new(),
            head,
        }
    }
}

impl RecordsTail {
    /// The tail of `records`, the chunks it holds beyond the last one sled's `tree` points
    /// to, and the last position they reach (at least): events made durable whose indexes sled lost in a crash, or wrote only
    /// to its cache. Such chunks follow each other from the end of the last chunk sled
    /// points to (or from the file's start when sled points to none), each at the position
    /// after the one before; the first frame that is not such a chunk (zeros, a torn
    /// write, a frame of a write that failed) ends them.
    fn find(tree: &sled::Tree, records: &File) -> Result<Scanned> {
        let len = records.metadata()?.len();
        let mut last = tree.range::<&[u8], _>(&[keys::EVENT][..]..&[keys::EVENT + 1][..]);
        let (mut end, mut next) = match last.next_back().transpose()? {
            Some((k, v)) if v.len() == POINTER_LEN => {
                let first = keys::u64_at_end(&k).unwrap_or_default();
                let (offset, chunk) = pointer(&v);
                let end = offset + (FRAME_HEADER + chunk) as u64;
                if end > len {
                    // Damaged: reading it says so.
                    return Ok(Scanned::damaged(Self { end: len, len }, first));
                }
                let next = match read_frame(records, offset, first, Some(chunk)) {
                    Some(chunk) => first + keys::chunk_events(&chunk).count() as u64,
                    // Damaged: reading it says so.
                    None => return Ok(Scanned::damaged(Self { end, len }, first)),
                };
                (end, next)
            }
            Some((k, v)) => {
                let first = keys::u64_at_end(&k).unwrap_or_default();
                (0, first + keys::chunk_events(&v).count() as u64)
            }
            None => (0, 1),
        };
        let mut found = Vec::new();
        while let Some(chunk) = read_frame(records, end, next, None) {
            let count = keys::chunk_events(&chunk).count() as u64;
            if count == 0 || keys::chunk_events(&chunk).any(|e| e.is_err()) {
                break;
            }
            end += (FRAME_HEADER + chunk.len()) as u64;
            found.push((next, chunk));
            next += count;
        }
        Ok(Scanned {
            tail: Self { end, len },
            chunks: found,
            head: next - 1,
        })
    }

    /// How far the file is written with zeros ahead of a write that needs it.
    fn grown(&self, needed: u64) -> u64 {
        let step = (self.len / 16).clamp(1 << 20, MAX_ZEROS_AHEAD);
        needed + step
    }
}

/// The first position of the last chunk `tree` holds (0 when none).
fn last_chunk(tree: &sled::Tree) -> Result<u64> {
    let mut chunks = tree.range::<&[u8], _>(&[keys::EVENT][..]..&[keys::EVENT + 1][..]);
    Ok(chunks
        .next_back()
        .transpose()?
        .and_then(|(k, _)| keys::u64_at_end(&k))
        .unwrap_or(0))
}

/// The frame offset and chunk length in sled's value for a chunk in the records file.
fn pointer(value: &[u8]) -> (u64, usize) {
    let offset = value.get(..8).and_then(|b| b.try_into().ok());
    let len = value.get(8..12).and_then(|b| b.try_into().ok());
    (
        u64::from_be_bytes(offset.unwrap_or_default()),
        u32::from_be_bytes(len.unwrap_or_default()) as usize,
    )
}

/// The file in the sled directory holding the event chunks, one frame each: the chunk's
/// first position (u64), its length (u32), the CRC32 of those 12 bytes and the chunk
/// (u32), then the chunk; all big-endian.
pub const RECORDS_FILE: &str = "records";
const FRAME_HEADER: usize = 16;
/// Length of sled's value for a chunk in the records file: the frame's offset (u64) and
/// the chunk's length (u32), big-endian.
const POINTER_LEN: usize = 12;

/// Appends the frame of the chunk starting at `first` to `out`, which the records file
/// will hold from `offset` on; returns the value sled keeps for the chunk, pointing at the
/// frame.
fn push_frame(out: &mut Vec<u8>, offset: u64, first: u64, chunk: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(chunk.len()).map_err(|_| {
        Error::Io(std::io::Error::other(format!(
            "an event chunk of {} bytes is too large for the records file",
            chunk.len()
        )))
    })?;
    let at = offset + out.len() as u64;
    let mut head = [0u8; 12];
    head[..8].copy_from_slice(&first.to_be_bytes());
    head[8..].copy_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&frame_check(&head, chunk).to_be_bytes());
    out.extend_from_slice(chunk);
    let mut pointer = Vec::with_capacity(POINTER_LEN);
    pointer.extend_from_slice(&at.to_be_bytes());
    pointer.extend_from_slice(&len.to_be_bytes());
    Ok(pointer)
}

/// The chunk in the frame at `offset` of `records`, if a whole frame is there holding the
/// chunk from position `first` (of `len` bytes, when known) and passing its check.
fn read_frame(records: &File, offset: u64, first: u64, len: Option<usize>) -> Option<Vec<u8>> {
    let mut head = [0u8; FRAME_HEADER];
    records.read_exact_at(&mut head, offset).ok()?;
    let chunk_len = u32::from_be_bytes(head[8..12].try_into().ok()?) as usize;
    if head[..8] != first.to_be_bytes()
        || len.is_some_and(|l| l != chunk_len)
        || chunk_len == 0
        || chunk_len > MAX_SCANNED_CHUNK
    {
        return None;
    }
    let mut chunk = vec![0u8; chunk_len];
    records
        .read_exact_at(&mut chunk, offset + FRAME_HEADER as u64)
        .ok()?;
    (frame_check(&head[..12], &chunk).to_be_bytes() == head[12..]).then_some(chunk)
}

fn frame_check(head: &[u8], chunk: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    crc.update(chunk);
    crc.finalize()
}

/// The file in the sled directory holding the durable head: [`MARK_MAGIC`], the head
/// (u64, big-endian), the first position of the last chunk sled had made durable at its
/// last flush (u64, big-endian), and the first 8 bytes of the SHA-256 of those 24 bytes.
/// Stores written before kept only the head (`THHEAD01`, 24 bytes), which is still read.
pub const MARK_FILE: &str = "durable-head";
const MARK_MAGIC: &[u8; 8] = b"THHEAD02";
const MARK_LEN: usize = 32;
const MARK_V1_MAGIC: &[u8; 8] = b"THHEAD01";
const MARK_V1_LEN: usize = 24;

/// What the durable-head file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Every event up to here was acknowledged.
    head: u64,
    /// The first position of the last chunk sled had made durable (0: not known).
    indexed: u64,
}

pub(crate) fn encode_mark(head: u64, indexed: u64) -> [u8; MARK_LEN] {
    let mut out = [0u8; MARK_LEN];
    out[..8].copy_from_slice(MARK_MAGIC);
    out[8..16].copy_from_slice(&head.to_be_bytes());
    out[16..24].copy_from_slice(&indexed.to_be_bytes());
    let check = Sha256::digest(&out[..24]);
    out[24..].copy_from_slice(&check[..8]);
    out
}

fn decode_mark(bytes: &[u8]) -> Option<Mark> {
    let u64_at = |at: usize| Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let checked = |len: usize| Sha256::digest(&bytes[..len - 8])[..8] == bytes[len - 8..];
    match bytes.len() {
        MARK_LEN if &bytes[..8] == MARK_MAGIC && checked(MARK_LEN) => Some(Mark {
            head: u64_at(8)?,
            indexed: u64_at(16)?,
        }),
        MARK_V1_LEN if &bytes[..8] == MARK_V1_MAGIC && checked(MARK_V1_LEN) => Some(Mark {
            head: u64_at(8)?,
            indexed: 0,
        }),
        _ => None,
    }
}

/// Reads the durable-head file `file` (in `dir`) of a store.
fn read_mark(file: &File, dir: &Path) -> Result<Option<Mark>> {
    let mut bytes = vec![0u8; MARK_LEN + 1];
    let len = read_up_to(file, &mut bytes)?;
    if len == 0 {
        return Ok(None);
    }
    decode_mark(&bytes[..len])
        .map(Some)
        .ok_or_else(|| Error::Corrupt {
            position: 0,
            what: format!(
                "{} is damaged (expected {MARK_LEN} bytes: {}, the head, the last chunk \
                 indexed and their check)",
                dir.join(MARK_FILE).display(),
                String::from_utf8_lossy(MARK_MAGIC)
            ),
        })
}

/// The text of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// How long opening waits for a lock held by a store closing in this process; a store
/// held by another process stays refused after that.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl SledStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self {
            open: RwLock::new(Some(Open::files_in(dir)?)),
            dir: dir.to_path_buf(),
        })
    }

    /// Runs `op` on the open files.
    fn with<T>(&self, op: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        match open.as_ref() {
            Some(files) => op(files),
            None => Err(Error::Io(std::io::Error::other(format!(
                "the store in {} is not open: reopening it failed",
                self.dir.display()
            )))),
        }
    }

    /// Runs a read of sled, turning its checksum failures and panics into
    /// [`Error::Corrupt`] (without a position: the caller knows which one it was reading).
    fn read<T>(&self, read: impl FnOnce(&sled::Tree) -> sled::Result<T>) -> Result<T> {
        let damaged = |what: String| Error::Corrupt {
            position: 0,
            what: format!("sled files in {} are damaged: {what}", self.dir.display()),
        };
        self.with(
            |files| match std::panic::catch_unwind(AssertUnwindSafe(|| read(&files.tree))) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e @ sled::Error::Corruption { .. })) => Err(damaged(e.to_string())),
                Ok(Err(e)) => Err(e.into()),
                Err(panic) => Err(damaged(panic_text(panic.as_ref()))),
            },
        )
    }
}

impl Open {
    /// Opens sled in `dir`, with the files the store keeps beside it.
    fn files_in(dir: &Path) -> Result<Self> {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            // The writer flushes and syncs every group itself; a timer flush would only
            // compete with it for sled's log.
            .flush_every_ms(None);
        // A store just closed in this process may still be locked for a moment: sled's
        // background threads let go of the file lock shortly after the last handle drops.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let damaged = |what: String| Error::Corrupt {
            position: 0,
            what: format!("sled cannot recover {}: {what}", dir.display()),
        };
        let db = loop {
            // sled panics on some damage it meets while recovering its files.
            let opened = std::panic::catch_unwind(AssertUnwindSafe(|| config.open()))
                .map_err(|panic| damaged(panic_text(panic.as_ref())))?;
            match opened {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e @ sled::Error::Corruption { .. }) => return Err(damaged(e.to_string())),
                other => break other?,
            }
        };
        let tree = db.open_tree("log")?;
        let data_file = File::open(dir.join("db"))?;
        let mark = open_kept(&dir.join(MARK_FILE))?;
        let records = open_kept(&dir.join(RECORDS_FILE))?;
        let Scanned {
            tail: records_tail,
            chunks,
            head: records_head,
        } = std::panic::catch_unwind(AssertUnwindSafe(|| RecordsTail::find(&tree, &records)))
            .map_err(|panic| damaged(panic_text(panic.as_ref())))??;
        // sled may open without a word holding less than it made durable (when a damaged
        // message cuts its recovery short): the records file would hide that for events,
        // whose indexes are rebuilt from it, but not for what only sled holds. (When the
        // records end short of the acknowledged head too, opening the log says so.)
        let sled_chunk = std::panic::catch_unwind(AssertUnwindSafe(|| last_chunk(&tree)))
            .map_err(|panic| damaged(panic_text(panic.as_ref())))??;
        if let Some(marked) = read_mark(&mark, dir)? {
            if sled_chunk < marked.indexed && records_head >= marked.head {
                return Err(Error::Corrupt {
                    position: marked.indexed,
                    what: format!(
                        "sled's files in {} end at the chunk from position {sled_chunk}, but \
                         they had made the chunk from position {} durable: sled lost part of \
                         its files",
                        dir.display(),
                        marked.indexed
                    ),
                });
            }
        }
        let mut unindexed = Unindexed::default();
        let mut offset = records_tail.end;
        for (first, chunk) in chunks.iter().rev() {
            offset -= (FRAME_HEADER + chunk.len()) as u64;
            let mut pointer = Vec::with_capacity(POINTER_LEN);
            pointer.extend_from_slice(&offset.to_be_bytes());
            pointer.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            unindexed.pointers.push((keys::event(*first), pointer));
        }
        unindexed.chunks = chunks;
        // Make the directory entries of a fresh store durable too.
        File::open(dir)?.sync_all()?;
        Ok(Self {
            db,
            tree,
            data_file,
            mark,
            records,
            records_tail: Mutex::new(records_tail),
            unflushed: Mutex::new(Unflushed {
                meta: false,
                since: std::time::Instant::now(),
                chunk: sled_chunk,
                durable_chunk: sled_chunk,
            }),
            unindexed: Mutex::new(unindexed),
        })
    }
}

impl SledStore {
    /// The value of `key` as the log wrote it: a chunk pointed to in the records file is
    /// read from there and checked.
    fn resolve(&self, key: &[u8], value: sled::IVec) -> Result<Vec<u8>> {
        if key.first() != Some(&keys::EVENT) || value.len() != POINTER_LEN {
            return Ok(value.to_vec());
        }
        let (offset, len) = pointer(&value);
        let first = keys::u64_at_end(key).unwrap_or_default();
        let path = self.dir.join(RECORDS_FILE);
        let end = offset.saturating_add((FRAME_HEADER + len) as u64);
        let damaged = |why: &str| Error::Corrupt {
            position: 0,
            what: format!(
                "{} is damaged: the frame of the chunk from position {first} (bytes \
                 {offset}..{end}) {why}",
                path.display()
            ),
        };
        let mut frame = Vec::new();
        self.with(|files| {
            if end
                > files
                    .records_tail
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .end
            {
                return Err(damaged("lies past the file's end"));
            }
            frame.resize(FRAME_HEADER + len, 0);
            match files.records.read_exact_at(&mut frame, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    Err(damaged("lies past the file's end"))
                }
                other => Ok(other?),
            }
        })?;
        let (head, rest) = frame.split_at(12);
        let (check, chunk) = rest.split_at(4);
        if head[..8] != first.to_be_bytes() || head[8..] != value[8..] {
            return Err(damaged("is another chunk's"));
        }
        if frame_check(head, chunk).to_be_bytes() != check {
            return Err(damaged("fails its check"));
        }
        frame.drain(..FRAME_HEADER);
        Ok(frame)
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.read(|tree| tree.get(key))?;
        value.map(|v| self.resolve(key, v)).transpose()
    }

    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>> {
        let entries = self.read(|tree| {
            let iter = tree.range::<&[u8], _>(from..to);
            let collect = |it: &mut dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>| {
                it.take(limit).collect::<sled::Result<Vec<_>>>()
            };
            if descending {
                collect(&mut iter.rev())
            } else {
                collect(&mut { iter })
            }
        })?;
        entries
            .into_iter()
            .map(|(k, v)| {
                let value = self.resolve(&k, v)?;
                Ok((k.to_vec(), value))
            })
            .collect()
    }

    fn apply(&self, writes: Vec<Entry>) -> Result<()> {
        self.with(|files| {
            let mut tail = files.records_tail.lock().unwrap_or_else(|e| e.into_inner());
            let mut frames = Vec::new();
            let mut batch = sled::Batch::default();
            let mut meta = false;
            // Where the chunks found at open lie, with the indexes the log rebuilt of them.
            let found = std::mem::take(
                &mut files
                    .unindexed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pointers,
            );
            let mut chunk = None;
            for (k, v) in found {
                chunk = chunk.max(keys::u64_at_end(&k));
                batch.insert(k, v);
            }
            for (k, v) in writes {
                if v.is_empty() {
                    meta = true;
                    batch.remove(k);
                } else if k.first() == Some(&keys::EVENT) {
                    let first = keys::u64_at_end(&k).unwrap_or_default();
                    chunk = chunk.max(Some(first));
                    let pointer = push_frame(&mut frames, tail.end, first, &v)?;
                    batch.insert(k, pointer);
                } else {
                    meta = true;
                    batch.insert(k, v);
                }
            }
            let start = tail.end;
            if !frames.is_empty() {
                let end = tail.end + frames.len() as u64;
                if end > tail.len {
                    let len = tail.grown(end);
                    write_zeros(&files.records, tail.len, len)?;
                    tail.len = len;
                }
                files.records.write_all_at(&frames, tail.end)?;
                // Durable before sled may hold a pointer to them.
                files.records.sync_data()?;
                tail.end = end;
            }
            if let Err(e) = files.tree.apply_batch(batch) {
                // Frames that sled will never point to must not be taken at the next open
                // for events whose indexes it lost.
                if write_zeros(&files.records, start, tail.end)
                    .and_then(|()| files.records.sync_data())
                    .is_ok()
                {
                    tail.end = start;
                }
                return Err(e.into());
            }
            let mut unflushed = files.unflushed.lock().unwrap_or_else(|e| e.into_inner());
            unflushed.meta |= meta;
            if let Some(chunk) = chunk {
                unflushed.chunk = unflushed.chunk.max(chunk);
            }
            Ok(())
        })
    }

    /// Events are durable once applied (their frames are synced first), and their indexes
    /// can be rebuilt from them: sled is made durable only when it holds a caller's entry
    /// or a removal, which exist nowhere else, and at least every [`CHECKPOINT_EVERY`].
    fn sync(&self) -> Result<()> {
        self.with(|files| {
            let mut unflushed = files.unflushed.lock().unwrap_or_else(|e| e.into_inner());
            if unflushed.meta || unflushed.since.elapsed() >= CHECKPOINT_EVERY {
                flush(files)?;
                unflushed.flushed();
            }
            Ok(())
        })
    }

    fn checkpoint(&self) -> Result<()> {
        self.with(|files| {
            let mut unflushed = files.unflushed.lock().unwrap_or_else(|e| e.into_inner());
            flush(files)?;
            unflushed.flushed();
            Ok(())
        })
    }

    fn take_unindexed(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        self.with(|files| {
            Ok(std::mem::take(
                &mut files
                    .unindexed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .chunks,
            ))
        })
    }

    fn mark_durable(&self, head: u64, sync: bool) -> Result<()> {
        // One write within the file's first sector: never torn. Not synced after every
        // group (that would double the syncs): a crash of the process keeps it, and a power
        // loss can only leave it lower than the head sled holds, never higher.
        self.with(|files| {
            let indexed = files
                .unflushed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .durable_chunk;
            files.mark.write_all_at(&encode_mark(head, indexed), 0)?;
            if sync {
                files.mark.sync_data()?;
            }
            Ok(())
        })
    }

    fn dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn reopen(&self) -> Result<bool> {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        // sled lets go of its files (and their lock) only once the old handles are gone.
        *open = None;
        *open = Some(Open::files_in(&self.dir)?);
        Ok(true)
    }

    fn durable_mark(&self) -> Result<Option<u64>> {
        let mark = self.with(|files| read_mark(&files.mark, &self.dir))?;
        Ok(mark.map(|m| m.head))
    }
}

/// Makes everything sled holds durable: its own flush, then `fdatasync` of its data file
/// (sled's flush uses `sync_file_range`, which does not flush the device's write cache).
fn flush(files: &Open) -> Result<()> {
    files.db.flush()?;
    files.data_file.sync_data()?;
    Ok(())
}

/// Writes zeros into `file` from `from` to `to`.
fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    while at < to {
        let n = (to - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Reads from the start of `file` into `buf` until it is full or the file ends.
fn read_up_to(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match file.read_at(&mut buf[len..], len as u64)? {
            0 => break,
            n => len += n,
        }
    }
    Ok(len)
}

/// An in-memory store: the same log semantics without durability, for tests and tools.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned())
    }

    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let range = map.range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)));
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if descending {
            range.rev().take(limit).map(clone).collect()
        } else {
            range.take(limit).map(clone).collect()
        })
    }

    fn apply(&self, writes: Vec<Entry>) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        for (k, v) in writes {
            if v.is_empty() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

// The log holds its store behind `Arc<dyn Store>`-free generics, but tools may want to
// pick a store at run time: keep the trait object safe.
const _: Option<&dyn Store> = None;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hub_types::{ExpectedVersion, Position};

    use crate::conformance::{demand_event, stream};
    use crate::{Error, Log, StoredEvent};

    /// The zeros written ahead grow with the file, so a small log stays small, but never
    /// past a bound: the group that grows the file flushes them in its `fdatasync`.
    #[test]
    fn the_records_file_grows_by_bounded_steps_of_zeros() {
        for len in [0, 1 << 20, 32 << 20, 64 << 20, 1 << 30, 100 << 30] {
            let tail = super::RecordsTail { end: len, len };
            let step = tail.grown(len + 6144) - (len + 6144);
            assert!(
                (1 << 20..=super::MAX_ZEROS_AHEAD).contains(&step),
                "a file of {len} bytes grows by {step}"
            );
            assert!(
                step >= (len / 16).min(super::MAX_ZEROS_AHEAD),
                "{len}: {step}"
            );
        }
    }

    /// Appends `count` single-event appends to the sled log in `dir` (one commit each, so
    /// sled's files hold many messages), closes it and returns what it stored.
    async fn fill(dir: &Path, from: u32, count: u32) -> Vec<StoredEvent> {
        let log = Log::open(dir).expect("open");
        let s = stream("330400", "a");
        for i in from..from + count {
            log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, i)])
                .await
                .expect("append");
        }
        log.close().await;
        let all = log
            .read_all(Position::FIRST, usize::MAX)
            .expect("read back");
        drop(log);
        all
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }

    #[tokio::test]
    async fn a_store_that_lost_acknowledged_events_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, older) = (tmp.path().join("log"), tmp.path().join("older"));
        fill(&dir, 0, 20).await;
        copy_dir(&dir, &older);
        fill(&dir, 20, 10).await;
        // sled's files as they were at position 20, a consistent older state: what sled
        // opens after a damaged message cuts its recovery short.
        for file in std::fs::read_dir(&dir).expect("read dir") {
            let file = file.expect("entry");
            if file.file_name() != super::MARK_FILE && file.file_type().expect("type").is_file() {
                std::fs::remove_file(file.path()).expect("remove");
            }
        }
        for file in std::fs::read_dir(&older).expect("read dir") {
            let file = file.expect("entry");
            if file.file_name() != super::MARK_FILE && file.file_type().expect("type").is_file() {
                std::fs::copy(file.path(), dir.join(file.file_name())).expect("copy");
            }
        }
        let err = Log::open(&dir).expect_err("a store missing acknowledged events");
        let text = err.to_string();
        assert!(matches!(err, Error::Corrupt { position: 21, .. }), "{text}");
        assert!(
            text.contains("events up to position 30 were made durable")
                && text.contains("ends at position 20"),
            "{text}"
        );

        // A damaged durable-head file is named, not ignored.
        std::fs::write(dir.join(super::MARK_FILE), b"THHEAD01 damaged").expect("write");
        let text = Log::open(&dir).expect_err("a damaged mark").to_string();
        assert!(text.contains(super::MARK_FILE), "{text}");
    }

    /// Flips a byte at many offsets of sled's data file of a closed log: every open either
    /// fails with [`Error::Corrupt`] or holds every event, and every read either returns
    /// the stored event or fails with [`Error::Corrupt`]. Never a panic, never fewer
    /// events, never other bytes.
    #[tokio::test]
    async fn flipped_bytes_in_sled_files_are_refused_never_served() {
        const EVENTS: u32 = 800;
        const OFFSETS: u64 = 48;
        let tmp = tempfile::tempdir().expect("tempdir");
        let pristine = tmp.path().join("pristine");
        let stored = fill(&pristine, 0, EVENTS).await;
        assert_eq!(stored.len(), EVENTS as usize);
        // The used part of the data file: sled pre-sizes segments with zeros.
        let data = std::fs::read(pristine.join("db")).expect("read db");
        let used = data.iter().rposition(|b| *b != 0).expect("data") as u64 + 1;
        let (mut refused_at_open, mut refused_reads, mut harmless) = (0, 0, 0);
        for step in 0..OFFSETS {
            let offset = used * step / OFFSETS + 7;
            let dir = tmp.path().join(format!("flip-{step}"));
            copy_dir(&pristine, &dir);
            let mut bytes = std::fs::read(dir.join("db")).expect("read");
            bytes[offset as usize] ^= 0x5a;
            std::fs::write(dir.join("db"), &bytes).expect("write");
            let log = match Log::open(&dir) {
                Err(Error::Corrupt { position, what }) => {
                    // It names the place: a position, the directory, an origin's
                    // sequence, a stream's index or a damaged key (which offsets hit
                    // what depends on sled's layout).
                    assert!(
                        position > 0
                            || what.contains(&dir.display().to_string())
                            || what.contains("position")
                            || what.contains("origin")
                            || what.contains("stream")
                            || what.contains("key"),
                        "offset {offset}: {what}"
                    );
                    refused_at_open += 1;
                    continue;
                }
                Err(e) => panic!("offset {offset}: not reported as corruption: {e}"),
                Ok(log) => log,
            };
            assert_eq!(log.head(), EVENTS as u64, "offset {offset}: events lost");
            let mut refused = false;
            for event in &stored {
                match log.get(event.position) {
                    Ok(Some(read)) => {
                        assert_eq!(&read, event, "offset {offset}: other bytes served")
                    }
                    Ok(None) => panic!("offset {offset}: position {} vanished", event.position),
                    Err(Error::Corrupt { position, .. }) => {
                        assert_eq!(position, event.position.get(), "offset {offset}");
                        refused = true;
                    }
                    Err(e) => panic!("offset {offset}: not reported as corruption: {e}"),
                }
            }
            if refused {
                refused_reads += 1;
            } else {
                harmless += 1;
            }
            log.close().await;
        }
        eprintln!(
            "{OFFSETS} flips: {refused_at_open} refused at open, {refused_reads} refused on \
             read, {harmless} in bytes sled no longer uses"
        );
        assert!(refused_at_open > 0, "some flips hit what recovery reads");

        // sled's other files and the records file (its config, and its page-table snapshot when it wrote one):
        // refused at open, or harmless.
        for file in std::fs::read_dir(&pristine).expect("read dir") {
            let file = file.expect("entry");
            let name = file.file_name().to_string_lossy().into_owned();
            if name == "db"
                || name == super::MARK_FILE
                || !file.file_type().expect("type").is_file()
            {
                continue;
            }
            let len = file.metadata().expect("metadata").len();
            for offset in [0, len / 2, len - 1] {
                let dir = tmp.path().join(format!("flip-{name}-{offset}"));
                copy_dir(&pristine, &dir);
                let mut bytes = std::fs::read(dir.join(&name)).expect("read");
                bytes[offset as usize] ^= 0x5a;
                std::fs::write(dir.join(&name), &bytes).expect("write");
                match Log::open(&dir) {
                    Err(Error::Corrupt { .. }) => {}
                    Err(e) => panic!("{name} offset {offset}: not reported as corruption: {e}"),
                    Ok(log) => {
                        assert_eq!(
                            log.read_all(Position::FIRST, usize::MAX).expect("read"),
                            stored,
                            "{name} offset {offset}"
                        );
                        log.close().await;
                    }
                }
            }
        }
    }

    /// Flips a byte at offsets spread over the records file of a closed log whose events
    /// all lie in the tail that opening checks: every open fails with [`Error::Corrupt`]
    /// naming the file and the chunk's place.
    #[tokio::test]
    async fn flipped_bytes_in_the_records_file_tail_are_refused_at_open() {
        const OFFSETS: u64 = 24;
        let tmp = tempfile::tempdir().expect("tempdir");
        let pristine = tmp.path().join("pristine");
        fill(&pristine, 0, 200).await;
        // The part in use: the file grows in steps written with zeros ahead.
        let bytes = std::fs::read(pristine.join(super::RECORDS_FILE)).expect("records file");
        let len = bytes.iter().rposition(|b| *b != 0).expect("frames") as u64 + 1;
        assert!(len > 100 * 200, "the chunks are in the records file");
        for step in 0..OFFSETS {
            let offset = len * step / OFFSETS + 3;
            let dir = tmp.path().join(format!("flip-{step}"));
            copy_dir(&pristine, &dir);
            let file = flip(&dir, offset);
            match Log::open(&dir) {
                Err(Error::Corrupt { position, what }) => assert!(
                    position > 0
                        && what.contains(&format!(
                            "{} is damaged: the frame of the chunk from position",
                            file.display()
                        )),
                    "offset {offset}: {position} {what}"
                ),
                Err(e) => panic!("offset {offset}: not reported as corruption: {e}"),
                Ok(_) => panic!("offset {offset}: opened a damaged tail"),
            }
        }
    }

    /// Flips a byte in the first chunks of the records file of a log longer than the tail
    /// that opening checks: the log opens, and every read of the damaged chunk's events
    /// fails with [`Error::Corrupt`] naming the position read, while every other event is
    /// served as stored. Never other bytes.
    #[tokio::test]
    async fn flipped_bytes_in_the_records_file_are_refused_on_read_never_served() {
        const EVENTS: u32 = 10_400;
        const READ: usize = 400;
        let tmp = tempfile::tempdir().expect("tempdir");
        let pristine = tmp.path().join("pristine");
        {
            let log = Log::open(&pristine).expect("open");
            let s = stream("330400", "a");
            for batch in 0..EVENTS / 200 {
                let events = (batch * 200..(batch + 1) * 200)
                    .map(|i| demand_event(&s, i))
                    .collect();
                log.append(&s, ExpectedVersion::Any, events)
                    .await
                    .expect("append");
            }
            log.close().await;
        }
        let stored = {
            let log = Log::open(&pristine).expect("reopen");
            let stored = log.read_all(Position::FIRST, READ).expect("read");
            log.close().await;
            stored
        };
        for offset in [3, 2_000, 5_000, 9_000, 20_000] {
            let dir = tmp.path().join(format!("flip-{offset}"));
            copy_dir(&pristine, &dir);
            let file = flip(&dir, offset);
            let log = Log::open(&dir).expect("the damage lies before the tail");
            assert_eq!(
                log.head(),
                u64::from(EVENTS),
                "offset {offset}: events lost"
            );
            let mut refused = Vec::new();
            for event in &stored {
                match log.get(event.position) {
                    Ok(read) => assert_eq!(read.as_ref(), Some(event), "offset {offset}"),
                    Err(Error::Corrupt { position, what }) => {
                        assert_eq!(position, event.position.get(), "offset {offset}");
                        assert!(
                            what.contains(&file.display().to_string()),
                            "offset {offset}: {what}"
                        );
                        refused.push(position);
                    }
                    Err(e) => panic!("offset {offset}: not reported as corruption: {e}"),
                }
            }
            // Exactly one chunk's events, and a chunk holds several.
            assert!(refused.len() > 1, "offset {offset}: {refused:?}");
            assert!(
                refused.windows(2).all(|w| w[1] == w[0] + 1),
                "offset {offset}: {refused:?}"
            );
            log.close().await;
        }
    }

    /// Flips the byte at `offset` of the records file in `dir`; returns the file's path.
    fn flip(dir: &Path, offset: u64) -> std::path::PathBuf {
        let file = dir.join(super::RECORDS_FILE);
        let mut bytes = std::fs::read(&file).expect("read");
        bytes[offset as usize] ^= 0x5a;
        std::fs::write(&file, &bytes).expect("write");
        file
    }

    /// A store written before the records file held its chunks in sled: opened now, it
    /// reads them there, and its new chunks go to the records file.
    #[tokio::test]
    async fn chunks_kept_in_sled_by_an_older_store_are_read_beside_new_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("log");
        let older = fill(&dir, 0, 10).await;
        move_chunks_into_sled(&dir);
        std::fs::write(dir.join(super::RECORDS_FILE), b"").expect("empty records file");
        let newer = fill(&dir, 10, 5).await;
        assert_eq!(&newer[..10], &older[..], "the older chunks read from sled");
        assert_eq!(newer.len(), 15);
        assert!(
            std::fs::metadata(dir.join(super::RECORDS_FILE))
                .expect("records")
                .len()
                > 0,
            "new chunks in the records file"
        );
    }

    /// Puts every chunk of the closed log in `dir` back into sled itself, as stores kept
    /// them before the records file.
    fn move_chunks_into_sled(dir: &Path) {
        let records = std::fs::read(dir.join(super::RECORDS_FILE)).expect("records");
        // The closed store's sled lets go of its lock shortly after.
        let deadline = std::time::Instant::now() + super::LOCK_WAIT;
        let db = loop {
            match sled::open(dir) {
                Ok(db) => break db,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("open sled: {e}"),
            }
        };
        let tree = db.open_tree("log").expect("tree");
        for entry in tree.scan_prefix([crate::keys::EVENT]) {
            let (k, v) = entry.expect("entry");
            assert_eq!(v.len(), super::POINTER_LEN, "a pointer");
            let offset = u64::from_be_bytes(v[..8].try_into().expect("offset")) as usize;
            let len = u32::from_be_bytes(v[8..].try_into().expect("length")) as usize;
            let chunk = records[offset + super::FRAME_HEADER..][..len].to_vec();
            tree.insert(k, chunk).expect("insert");
        }
        db.flush().expect("flush");
    }

    /// A copy of a log's directory taken while it runs holds what a crash leaves: every
    /// acknowledged event in the records file, and sled's files without the indexes it had
    /// not made durable. Opened, the copy indexes those events again: it serves them by
    /// position, by id, by stream and by origin, takes a retry of one as a duplicate, and
    /// goes on from there.
    #[tokio::test]
    async fn events_whose_indexes_sled_had_not_made_durable_are_indexed_again_at_open() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, copy) = (tmp.path().join("log"), tmp.path().join("copy"));
        let log = Log::open(&dir).expect("open");
        let s = stream("330400", "a");
        let mut sent = Vec::new();
        for i in 0..20 {
            let event = demand_event(&s, i);
            sent.push(event.clone());
            log.append(&s, ExpectedVersion::Any, vec![event])
                .await
                .expect("append");
        }
        copy_dir(&dir, &copy);
        let stored = log.read_all(Position::FIRST, usize::MAX).expect("read");
        log.close().await;

        let unindexed = super::SledStore::open(&copy)
            .and_then(|store| super::Store::take_unindexed(&store))
            .expect("open the copy's store");
        assert!(
            !unindexed.is_empty(),
            "sled had made every index durable: nothing to rebuild"
        );
        let reopened = Log::open(&copy).expect("open the copy");
        assert_eq!(
            reopened
                .read_all(Position::FIRST, usize::MAX)
                .expect("read"),
            stored
        );
        for (event, stored) in sent.iter().zip(&stored) {
            assert_eq!(
                reopened.position_of(&event.event_id).expect("by id"),
                Some(stored.position)
            );
        }
        let by_stream = reopened
            .read_stream(&s, 1, crate::Direction::Forwards, usize::MAX)
            .expect("by stream");
        assert_eq!(by_stream, stored);
        let origin = hub_types::MemberId::from_code(330400).expect("origin");
        let by_origin = reopened
            .read_origin(origin, hub_types::OriginSeq::FIRST, usize::MAX)
            .expect("by origin");
        assert_eq!(by_origin, stored);
        let retry = reopened
            .append(&s, ExpectedVersion::Any, vec![sent[7].clone()])
            .await
            .expect("retry");
        assert!(retry.duplicate, "a retry is a duplicate");
        assert_eq!(retry.first, stored[7].position);
        assert_eq!(reopened.head(), 20);
        let next = reopened
            .append(&s, ExpectedVersion::Exact(20), vec![demand_event(&s, 99)])
            .await
            .expect("next append");
        assert_eq!(next.first.get(), 21);
        reopened.close().await;
        drop(reopened);
        // Closed cleanly, it has nothing left to rebuild.
        let store = super::SledStore::open(&copy).expect("open again");
        assert!(super::Store::take_unindexed(&store)
            .expect("take")
            .is_empty());
    }
}
