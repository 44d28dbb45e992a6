//! The ordered key-value stores the log runs on: sled on disk, a map in memory.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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
    /// Makes every applied write durable before returning.
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

/// sled on disk. `sync` flushes sled and then `fdatasync`s its data file, because sled's
/// own flush uses `sync_file_range`, which does not flush the device's write cache.
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
}

/// The file in the sled directory holding the durable head: [`MARK_MAGIC`], the head
/// (u64, big-endian), and the first 8 bytes of the SHA-256 of those 16 bytes.
pub const MARK_FILE: &str = "durable-head";
const MARK_MAGIC: &[u8; 8] = b"THHEAD01";
const MARK_LEN: usize = 24;

pub(crate) fn encode_mark(head: u64) -> [u8; MARK_LEN] {
    let mut out = [0u8; MARK_LEN];
    out[..8].copy_from_slice(MARK_MAGIC);
    out[8..16].copy_from_slice(&head.to_be_bytes());
    let check = Sha256::digest(&out[..16]);
    out[16..].copy_from_slice(&check[..8]);
    out
}

fn decode_mark(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != MARK_LEN
        || &bytes[..8] != MARK_MAGIC
        || Sha256::digest(&bytes[..16])[..8] != bytes[16..]
    {
        return None;
    }
    Some(u64::from_be_bytes(bytes[8..16].try_into().ok()?))
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
        let mark = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(MARK_FILE))?;
        // Make the directory entries of a fresh store durable too.
        File::open(dir)?.sync_all()?;
        Ok(Self {
            db,
            tree,
            data_file,
            mark,
        })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(|tree| Ok(tree.get(key)?.map(|v| v.to_vec())))
    }

    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>> {
        self.read(|tree| {
            let iter = tree.range::<&[u8], _>(from..to);
            let collect = |it: &mut dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>| {
                it.take(limit)
                    .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                    .collect::<sled::Result<Vec<_>>>()
            };
            if descending {
                collect(&mut iter.rev())
            } else {
                collect(&mut { iter })
            }
        })
    }

    fn apply(&self, writes: Vec<Entry>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            if v.is_empty() {
                batch.remove(k);
            } else {
                batch.insert(k, v);
            }
        }
        self.with(|files| Ok(files.tree.apply_batch(batch)?))
    }

    fn sync(&self) -> Result<()> {
        self.with(|files| {
            files.db.flush()?;
            files.data_file.sync_data()?;
            Ok(())
        })
    }

    fn mark_durable(&self, head: u64, sync: bool) -> Result<()> {
        // One write within the file's first sector: never torn. Not synced after every
        // group (that would double the syncs): a crash of the process keeps it, and a power
        // loss can only leave it lower than the head sled holds, never higher.
        self.with(|files| {
            files.mark.write_all_at(&encode_mark(head), 0)?;
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
        let mut bytes = vec![0u8; MARK_LEN + 1];
        let len = self.with(|files| Ok(read_up_to(&files.mark, &mut bytes)?))?;
        if len == 0 {
            return Ok(None);
        }
        decode_mark(&bytes[..len])
            .map(Some)
            .ok_or_else(|| Error::Corrupt {
                position: 0,
                what: format!(
                    "{} is damaged (expected {MARK_LEN} bytes: {}, the head and its check)",
                    self.dir.join(MARK_FILE).display(),
                    String::from_utf8_lossy(MARK_MAGIC)
                ),
            })
    }
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

        // sled's other files (its config, and its page-table snapshot when it wrote one):
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
}
