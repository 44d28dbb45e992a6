//! The ordered key-value stores the log runs on: sled on disk, a map in memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Bound;
use std::path::Path;
use std::sync::RwLock;

use crate::error::Result;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered byte-key store with atomic multi-key writes. The log keeps all its state in
/// one store so that one batch commits events and their indexes together.
pub trait Store: Send + Sync + 'static {
    /// Returns the value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Returns up to `limit` entries with `from <= key < to`, ascending or descending.
    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>>;
    /// Writes all entries atomically: after a crash either all or none are visible.
    fn apply(&self, writes: Vec<Entry>) -> Result<()>;
    /// Makes every applied write durable before returning.
    fn sync(&self) -> Result<()>;
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
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    data_file: File,
}

/// How long opening waits for a lock held by a store closing in this process; a store
/// held by another process stays refused after that.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl SledStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
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
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let tree = db.open_tree("log")?;
        let data_file = File::open(dir.join("db"))?;
        // Make the directory entries of a fresh store durable too.
        File::open(dir)?.sync_all()?;
        Ok(Self {
            db,
            tree,
            data_file,
        })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn range(&self, from: &[u8], to: &[u8], descending: bool, limit: usize) -> Result<Vec<Entry>> {
        let iter = self.tree.range::<&[u8], _>(from..to);
        let collect = |it: &mut dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>| {
            it.take(limit)
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<sled::Result<Vec<_>>>()
        };
        let out = if descending {
            collect(&mut iter.rev())?
        } else {
            collect(&mut { iter })?
        };
        Ok(out)
    }

    fn apply(&self, writes: Vec<Entry>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            batch.insert(k, v);
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }
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
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(writes);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

// The log holds its store behind `Arc<dyn Store>`-free generics, but tools may want to
// pick a store at run time: keep the trait object safe.
const _: Option<&dyn Store> = None;
