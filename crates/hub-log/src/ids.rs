//! The event-id index: where each stored event id is, for idempotency forever.
//!
//! Every append looks all its event ids up, and every stored event adds one. The ids are
//! random (callers choose them), so a B-tree ordered by id takes one random insert per
//! event: in sled that was most of the writer's work and most of sled's bytes. The index
//! is in memory instead, backed by [`IDS_FILE`]: one entry per position, in position
//! order, appended after each commit and never rewritten.
//!
//! In memory, the ids the file held at open are a [`Grouped`] table: sorted by a keyed
//! hash into buckets of one or two ids, in one pass over the file and one counting sort.
//! Inserting each into a hash map instead cost a random write into a table that kept
//! growing: a sixth of a node's start at 10^6 events. The ids stored since the open go
//! into a hash map beside it.
//!
//! The file is derived from the records, like the view: it is not synced with each commit
//! (every [`SYNC_EVERY`] entries and at close), and opening takes its entries up to the
//! first one that is missing, torn or fails its check, and reads the ids of the events
//! after that from the log itself. So a crash, a torn write or a damaged entry costs a
//! rebuild of the ids from there on, never a wrong answer; the log's open checks the ids of
//! its last events against the index as well (see `recovery`).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use hub_types::EventId;

use crate::derived::DerivedFile;
use crate::error::Result;
use crate::read::{self, corrupt};
use crate::store::Store;

/// The file beside the log's other files holding the id of the event at each position:
/// entry `p - 1` (at byte `20 * (p - 1)`) is position `p`'s id (16 bytes) and the CRC32 of
/// the position (u64, big-endian) and the id (u32, big-endian).
pub const IDS_FILE: &str = "ids";
/// Bytes of one entry of [`IDS_FILE`].
const ENTRY: usize = 20;
/// Entries written between two syncs of the file: at most this many ids are read again
/// from the log after a power loss.
const SYNC_EVERY: u64 = 1 << 16;
/// Entries read from the file at a time when it is loaded.
const LOAD_BLOCK: usize = 1 << 16;
/// Events read at a time while the index catches up with the log.
const CATCH_UP_PAGE: usize = 4096;

/// The index: every stored event id and its position.
#[derive(Debug)]
pub(crate) struct Ids {
    map: RwLock<Map>,
    /// The file, for logs on disk.
    file: Option<Mutex<IdsFile>>,
}

/// Every id the index holds: those of the file at open, and those added since.
#[derive(Debug, Default)]
struct Map {
    loaded: Grouped,
    added: HashMap<EventId, u64, foldhash::fast::RandomState>,
}

impl Map {
    fn get(&self, id: &EventId) -> Option<u64> {
        self.added.get(id).copied().or_else(|| self.loaded.get(id))
    }

    fn len(&self) -> usize {
        self.loaded.entries.len() + self.added.len()
    }
}

/// Ids and their positions, grouped into buckets by a keyed hash of the id (so that
/// callers choosing ids cannot make one bucket long): bucket `b` is
/// `entries[starts[b]..starts[b + 1]]`, and there are about half as many buckets as ids.
#[derive(Debug, Default)]
struct Grouped {
    hasher: foldhash::fast::RandomState,
    /// How far a hash is shifted right to give its bucket.
    shift: u32,
    starts: Vec<usize>,
    entries: Vec<(EventId, u64)>,
}

impl Grouped {
    /// Groups `len` entries, the `i`th of which `entry(i)` gives, by a counting sort.
    fn new(len: usize, entry: impl Fn(usize) -> (EventId, u64)) -> Self {
        let hasher = foldhash::fast::RandomState::default();
        // At least two buckets, so that the shift stays below 64.
        let buckets = (len / 2).next_power_of_two().max(2);
        let shift = u64::BITS - buckets.trailing_zeros();
        let bucket = |id: &EventId| (hasher.hash_one(id) >> shift) as usize;
        let mut starts = vec![0usize; buckets + 1];
        for i in 0..len {
            starts[bucket(&entry(i).0) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut entries = vec![(EventId::from_bytes([0; 16]), 0u64); len];
        for i in 0..len {
            let (id, position) = entry(i);
            let at = &mut next[bucket(&id)];
            entries[*at] = (id, position);
            *at += 1;
        }
        Self {
            hasher,
            shift,
            starts,
            entries,
        }
    }

    fn get(&self, id: &EventId) -> Option<u64> {
        if self.entries.is_empty() {
            return None;
        }
        let b = usize::try_from(self.hasher.hash_one(id).checked_shr(self.shift)?).ok()?;
        let (from, to) = (*self.starts.get(b)?, *self.starts.get(b + 1)?);
        self.entries
            .get(from..to)?
            .iter()
            .find(|(held, _)| held == id)
            .map(|(_, position)| *position)
    }
}

/// The open [`IDS_FILE`].
#[derive(Debug)]
struct IdsFile {
    out: DerivedFile,
    /// Entries held: positions `1..=entries`.
    entries: u64,
}

impl Ids {
    /// An empty index kept in memory only.
    pub(crate) fn in_memory() -> Self {
        Self {
            map: RwLock::default(),
            file: None,
        }
    }

    /// Loads the index of the log whose files are in `dir`: every entry of its
    /// [`IDS_FILE`] (created when missing) up to the first that is not whole and checked.
    /// [`Ids::catch_up`] then adds the rest from the log.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let out = DerivedFile::open(
            dir,
            IDS_FILE,
            "the event-id index",
            SYNC_EVERY * ENTRY as u64,
        )?;
        let (file, path) = (&out.file, &out.path);
        let whole = file.metadata()?.len() / ENTRY as u64;
        let mut ids = Vec::with_capacity(usize::try_from(whole).unwrap_or(0));
        let mut entries = 0;
        // Read a block at a time rather than the whole file (200 MB at 10^7 events).
        let mut block = vec![0u8; LOAD_BLOCK * ENTRY];
        'read: while entries < whole {
            let count = (whole - entries).min(LOAD_BLOCK as u64) as usize;
            let bytes = &mut block[..count * ENTRY];
            file.read_exact_at(bytes, entries * ENTRY as u64)?;
            for entry in bytes.chunks_exact(ENTRY) {
                let position = entries + 1;
                let Some(id) = decode(position, entry) else {
                    break 'read;
                };
                ids.push(id);
                entries = position;
            }
        }
        if entries < whole {
            tracing::warn!(
                file = %path.display(),
                position = entries + 1,
                "the event-id index ends early or is damaged from this position; its ids are read again from the log"
            );
        }
        let map = Map {
            loaded: Grouped::new(ids.len(), |i| (ids[i], i as u64 + 1)),
            added: HashMap::default(),
        };
        Ok(Self {
            map: RwLock::new(map),
            file: Some(Mutex::new(IdsFile { out, entries })),
        })
    }

    /// Where the event with `id` is stored, if it is.
    pub(crate) fn get(&self, id: &EventId) -> Option<u64> {
        self.map.read().unwrap_or_else(|e| e.into_inner()).get(id)
    }

    /// Brings the index to the log in `store`, whose last event is at `head`: adds the ids
    /// of the events its file lacks (or held damaged), read from the store, and drops
    /// entries beyond the head.
    pub(crate) fn catch_up<S: Store>(&self, store: &S, head: u64) -> Result<()> {
        let held = self.held();
        if held > head {
            self.truncate(head)?;
        }
        let mut next = held.min(head) + 1;
        let from = next;
        while next <= head {
            let events = read::events(store, next, head, CATCH_UP_PAGE)?;
            if events.is_empty() {
                return Err(corrupt(next, "event is missing"));
            }
            let mut ids = Vec::with_capacity(events.len());
            for event in &events {
                let position = event.position.get();
                let id = event.record.event_id.parse().map_err(|e| {
                    corrupt(position, format!("the record's event_id is invalid: {e}"))
                })?;
                ids.push(id);
            }
            self.add(next, &ids);
            next += ids.len() as u64;
        }
        if next > from {
            self.sync();
            tracing::info!(
                from,
                events = next - from,
                "read event ids from the log into the event-id index"
            );
        }
        Ok(())
    }

    /// Adds the ids of the events at positions `first`, `first + 1`, … (just committed),
    /// and appends them to the file. A failed write of the file is logged, not returned:
    /// the events are durable, the index in memory holds them, and the next open reads
    /// whatever the file lacks from the log.
    pub(crate) fn add(&self, first: u64, ids: &[EventId]) {
        if ids.is_empty() {
            return;
        }
        {
            let added = &mut self.map.write().unwrap_or_else(|e| e.into_inner()).added;
            added.reserve(ids.len());
            for (i, id) in ids.iter().enumerate() {
                added.insert(*id, first + i as u64);
            }
        }
        let Some(file) = &self.file else {
            return;
        };
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        let mut bytes = Vec::with_capacity(ids.len() * ENTRY);
        for (i, id) in ids.iter().enumerate() {
            bytes.extend_from_slice(&encode(first + i as u64, id));
        }
        let written = file.out.write_at(&bytes, (first - 1) * ENTRY as u64);
        if written && first == file.entries + 1 {
            file.entries += ids.len() as u64;
        }
    }

    /// Syncs the file when [`SYNC_EVERY`] entries were written since it last was.
    pub(crate) fn sync_now_and_then(&self) {
        if let Some(file) = &self.file {
            file.lock()
                .unwrap_or_else(|e| e.into_inner())
                .out
                .sync_if_due();
        }
    }

    /// Makes the file's entries durable (at close, after catching up), so that the next
    /// open has nothing to read again.
    pub(crate) fn sync(&self) {
        if let Some(file) = &self.file {
            file.lock().unwrap_or_else(|e| e.into_inner()).out.sync();
        }
    }

    /// Entries the file holds (all of the index, for an index in memory only).
    fn held(&self) -> u64 {
        match &self.file {
            Some(file) => file.lock().unwrap_or_else(|e| e.into_inner()).entries,
            None => self.map.read().unwrap_or_else(|e| e.into_inner()).len() as u64,
        }
    }

    /// Drops the entries of positions beyond `head`.
    fn truncate(&self, head: u64) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.added.retain(|_, position| *position <= head);
        let kept: Vec<_> = (map.loaded.entries.iter())
            .filter(|(_, position)| *position <= head)
            .copied()
            .collect();
        map.loaded = Grouped::new(kept.len(), |i| kept[i]);
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            file.out.file.set_len(head * ENTRY as u64)?;
            file.entries = head;
        }
        Ok(())
    }
}

/// The file's entry for `id` at `position`.
fn encode(position: u64, id: &EventId) -> [u8; ENTRY] {
    let mut entry = [0u8; ENTRY];
    entry[..16].copy_from_slice(id.as_bytes());
    entry[16..].copy_from_slice(&check(position, id.as_bytes()).to_be_bytes());
    entry
}

/// The id in the file's entry for `position`, if the entry passes its check.
fn decode(position: u64, entry: &[u8]) -> Option<EventId> {
    let id: [u8; 16] = entry.get(..16)?.try_into().ok()?;
    let stored = u32::from_be_bytes(entry.get(16..ENTRY)?.try_into().ok()?);
    (check(position, &id) == stored).then(|| EventId::from_bytes(id))
}

fn check(position: u64, id: &[u8; 16]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&position.to_be_bytes());
    crc.update(id);
    crc.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_against_their_position() {
        let id = EventId::new_random();
        let entry = encode(7, &id);
        assert_eq!(decode(7, &entry), Some(id));
        assert_eq!(
            decode(8, &entry),
            None,
            "an entry moved to another position"
        );
        assert_eq!(decode(7, &[0; ENTRY]), None, "zeros are no entry");
        let mut flipped = entry;
        flipped[3] ^= 1;
        assert_eq!(decode(7, &flipped), None);
        assert_eq!(decode(7, &entry[..ENTRY - 1]), None, "a torn entry");
    }

    #[test]
    fn grouped_ids_are_found_at_their_positions_and_no_others() {
        for len in [0, 1, 2, 3, 17, 1000] {
            let ids: Vec<EventId> = (0..len).map(|_| EventId::new_random()).collect();
            let grouped = Grouped::new(len, |i| (ids[i], 10 + i as u64));
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(grouped.get(id), Some(10 + i as u64), "{len} ids, the {i}th");
            }
            assert_eq!(grouped.get(&EventId::new_random()), None, "{len} ids");
            assert_eq!(grouped.entries.len(), len);
            assert!(grouped.starts.len() >= 3 && grouped.starts.len() > len / 2);
        }
        assert_eq!(Grouped::default().get(&EventId::new_random()), None);
    }

    #[test]
    fn ids_loaded_and_added_since_are_found_and_cut_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ids: Vec<EventId> = (0..300).map(|_| EventId::new_random()).collect();
        let index = Ids::load(dir.path()).expect("load");
        index.add(1, &ids[..200]);
        index.sync();
        drop(index);
        let index = Ids::load(dir.path()).expect("reload");
        index.add(201, &ids[200..]);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(i as u64 + 1));
        }
        assert_eq!(index.map.read().expect("map").len(), 300);
        index.truncate(150).expect("truncate");
        for (i, id) in ids.iter().enumerate() {
            let expected = (i < 150).then_some(i as u64 + 1);
            assert_eq!(index.get(id), expected, "the {i}th after the cut");
        }
        assert_eq!(index.held(), 150);
    }

    #[test]
    fn a_file_longer_than_a_block_is_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let total = LOAD_BLOCK + LOAD_BLOCK / 2;
        let ids: Vec<EventId> = (0..total).map(|_| EventId::new_random()).collect();
        let index = Ids::load(dir.path()).expect("load");
        for (i, batch) in ids.chunks(10_000).enumerate() {
            index.add(i as u64 * 10_000 + 1, batch);
        }
        index.sync();
        drop(index);
        let index = Ids::load(dir.path()).expect("reload");
        assert_eq!(index.held(), total as u64);
        assert_eq!(index.get(&ids[total - 1]), Some(total as u64));

        let path = dir.path().join(IDS_FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        let damaged = LOAD_BLOCK + 100;
        bytes[damaged * ENTRY] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let index = Ids::load(dir.path()).expect("reload damaged");
        assert_eq!(
            index.held(),
            damaged as u64,
            "up to the damage, in the second block"
        );
    }

    #[test]
    fn a_file_is_read_up_to_its_first_bad_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ids: Vec<EventId> = (0..5).map(|_| EventId::new_random()).collect();
        let index = Ids::load(dir.path()).expect("load");
        index.add(1, &ids[..2]);
        index.add(3, &ids[2..]);
        index.sync();
        drop(index);
        assert_eq!(
            std::fs::metadata(dir.path().join(IDS_FILE))
                .expect("file")
                .len(),
            5 * ENTRY as u64
        );
        let index = Ids::load(dir.path()).expect("reload");
        assert_eq!(index.held(), 5);
        assert_eq!(index.get(&ids[4]), Some(5));

        let path = dir.path().join(IDS_FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[2 * ENTRY + 5] ^= 0x40;
        std::fs::write(&path, &bytes).expect("write");
        let index = Ids::load(dir.path()).expect("reload damaged");
        assert_eq!(
            index.held(),
            2,
            "entries from the damaged one on are not taken"
        );
        assert_eq!(index.get(&ids[1]), Some(2));
        assert_eq!(index.get(&ids[2]), None);
        assert_eq!(index.get(&ids[4]), None, "nor any after it");
    }
}
