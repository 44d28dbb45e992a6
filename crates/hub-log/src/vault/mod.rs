//! The entry-key vault: one random key per blacklist entry, kept outside the immutable log
//! so that destroying it erases the entry's personal fields everywhere while the log, its
//! hashes and its signatures stay intact (crypto-shredding).
//!
//! # File
//!
//! `entry-keys` in the vault directory is an array of fixed 138-byte slots:
//!
//! ```text
//!   state(1) | stream length(1) | stream(96, zero padded) | key(32) | check(8)
//! ```
//!
//! `state` is 1 for a live key and 2 for a destroyed one; `check` is the first 8 bytes of
//! SHA-256 over the slot's first 130 bytes. A new key is written in a new slot; destroying
//! a key overwrites its slot in place with state 2 and 32 zero bytes, then syncs. The slot
//! of a destroyed key stays as a marker, so a key arriving late from another node is
//! refused. Every write is synced before the call returns.
//!
//! Overwriting in place destroys the bytes on file systems that write in place (ext4,
//! xfs); copy-on-write file systems and SSD wear levelling may keep old blocks, so the
//! vault directory belongs on storage that is itself encrypted.
//!
//!
//! [`seal`] and [`open`] encrypt and decrypt an entry's personal fields under its key;
//! [`wrap`] and [`unwrap`] carry a key to the other nodes.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hub_types::StreamId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use zeroize::Zeroizing;

mod seal;

pub use seal::{open, seal, unwrap, wrap, WRAP_KEY_LABEL};

/// An entry's 32-byte key; zeroed when dropped.
pub type EntryKey = Zeroizing<[u8; 32]>;

const SLOT: usize = 138;
const STREAM_MAX: usize = 96;
const KEY_AT: usize = 2 + STREAM_MAX;
const CHECK_AT: usize = KEY_AT + 32;
const LIVE: u8 = 1;
const DESTROYED: u8 = 2;
const FILE: &str = "entry-keys";

/// Why the vault failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Reading or writing the key file failed.
    #[error("entry-key vault {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The entry's key was destroyed: its personal data is erased for good.
    #[error("the personal data of {0} is erased: its key is destroyed")]
    Erased(StreamId),
    /// A stream name too long for a slot.
    #[error("stream {0} is longer than {STREAM_MAX} bytes")]
    StreamTooLong(StreamId),
}

/// What the vault holds for a stream.
#[derive(Debug, Clone)]
pub enum KeyState {
    /// The key.
    Live(EntryKey),
    /// The key was destroyed.
    Destroyed,
    /// The vault never held a key for the stream.
    Missing,
}

/// What [`Vault::insert`] did with a key from another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored.
    New,
    /// The same key was already there.
    Held,
    /// The stream's key was destroyed; the key was dropped.
    Refused,
    /// Another key is held for the stream; the offered one was dropped.
    Conflict,
}

/// A change to the vault, for whoever forwards keys to other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key was created or received.
    Stored(StreamId),
    /// A key was destroyed.
    Destroyed(StreamId),
}

#[derive(Debug)]
struct Slot {
    index: u64,
    key: Option<EntryKey>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    slots: HashMap<StreamId, Slot>,
    next: u64,
}

/// The entry-key vault of one node.
#[derive(Debug)]
pub struct Vault {
    path: PathBuf,
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Change>,
}

impl Vault {
    /// Opens (or creates) the vault in `dir`. Slots that fail their check (a write torn
    /// by a crash) are overwritten with zeros: a torn new key belonged to an append that
    /// was never acknowledged, and a torn destruction leaves no key behind either.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, VaultError> {
        let dir = dir.as_ref();
        let path = dir.join(FILE);
        let io = |source| VaultError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut slots = HashMap::new();
        let mut torn = 0;
        for (index, raw) in bytes.chunks(SLOT).enumerate() {
            let index = index as u64;
            match parse_slot(raw) {
                Some((stream, key)) => {
                    slots.insert(stream, Slot { index, key });
                }
                None => {
                    torn += 1;
                    file.write_all_at(&[0; SLOT], index * SLOT as u64)
                        .map_err(io)?;
                }
            }
        }
        if torn > 0 {
            tracing::warn!(torn, path = %path.display(), "cleared torn entry-key slots");
        }
        file.sync_all().map_err(io)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        let next = bytes.len().div_ceil(SLOT) as u64;
        Ok(Self {
            path,
            inner: Mutex::new(Inner { file, slots, next }),
            changes: broadcast::channel(1024).0,
        })
    }

    /// What the vault holds for `stream`.
    pub fn get(&self, stream: &StreamId) -> KeyState {
        match self.lock().slots.get(stream) {
            Some(Slot { key: Some(k), .. }) => KeyState::Live(k.clone()),
            Some(Slot { key: None, .. }) => KeyState::Destroyed,
            None => KeyState::Missing,
        }
    }

    /// The key of `stream`, created (and synced) if the vault has none; refused if it was
    /// destroyed.
    pub fn get_or_create(&self, stream: &StreamId) -> Result<EntryKey, VaultError> {
        let mut inner = self.lock();
        match inner.slots.get(stream) {
            Some(Slot { key: Some(k), .. }) => return Ok(k.clone()),
            Some(Slot { key: None, .. }) => return Err(VaultError::Erased(stream.clone())),
            None => {}
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        self.write_new(&mut inner, stream, Some(key.clone()))?;
        drop(inner);
        let _ = self.changes.send(Change::Stored(stream.clone()));
        Ok(key)
    }

    /// Stores a key received from another node, unless the stream's key was destroyed
    /// or another key is held.
    pub fn insert(&self, stream: &StreamId, key: EntryKey) -> Result<Inserted, VaultError> {
        let mut inner = self.lock();
        match inner.slots.get(stream) {
            Some(Slot { key: Some(k), .. }) if **k == *key => return Ok(Inserted::Held),
            Some(Slot { key: Some(_), .. }) => return Ok(Inserted::Conflict),
            Some(Slot { key: None, .. }) => return Ok(Inserted::Refused),
            None => {}
        }
        self.write_new(&mut inner, stream, Some(key))?;
        drop(inner);
        let _ = self.changes.send(Change::Stored(stream.clone()));
        Ok(Inserted::New)
    }

    /// Destroys the key of `stream`: its slot is overwritten and synced before this
    /// returns. A stream without a key gets a destroyed marker, so that its key is refused
    /// if it arrives later. Returns true if a live key was destroyed.
    pub fn destroy(&self, stream: &StreamId) -> Result<bool, VaultError> {
        let mut inner = self.lock();
        let destroyed = match inner.slots.get(stream) {
            Some(Slot { key: None, .. }) => return Ok(false),
            Some(Slot { index, .. }) => {
                let index = *index;
                let slot = encode_slot(stream, None)?;
                inner
                    .file
                    .write_all_at(&slot, index * SLOT as u64)
                    .and_then(|()| inner.file.sync_data())
                    .map_err(|source| self.io(source))?;
                if let Some(s) = inner.slots.get_mut(stream) {
                    s.key = None;
                }
                true
            }
            None => {
                self.write_new(&mut inner, stream, None)?;
                false
            }
        };
        drop(inner);
        let _ = self.changes.send(Change::Destroyed(stream.clone()));
        Ok(destroyed)
    }

    /// Every stream the vault knows, with its key (`None` when destroyed).
    pub fn entries(&self) -> Vec<(StreamId, Option<EntryKey>)> {
        let inner = self.lock();
        let mut all: Vec<_> = inner
            .slots
            .iter()
            .map(|(s, slot)| (s.clone(), slot.key.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// How many keys are live and how many destroyed.
    pub fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        let live = inner.slots.values().filter(|s| s.key.is_some()).count() as u64;
        (live, inner.slots.len() as u64 - live)
    }

    /// Changes from now on. A receiver that lags far behind misses changes and should
    /// re-read [`Vault::entries`].
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_new(
        &self,
        inner: &mut Inner,
        stream: &StreamId,
        key: Option<EntryKey>,
    ) -> Result<(), VaultError> {
        let slot = encode_slot(stream, key.as_deref())?;
        let index = inner.next;
        inner
            .file
            .write_all_at(&slot, index * SLOT as u64)
            .and_then(|()| inner.file.sync_data())
            .map_err(|source| self.io(source))?;
        inner.next += 1;
        inner.slots.insert(stream.clone(), Slot { index, key });
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> VaultError {
        VaultError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock guards plain data updated after each successful write; a panic while
        // holding it cannot leave it half-changed.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn encode_slot(
    stream: &StreamId,
    key: Option<&[u8; 32]>,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let name = stream.to_string();
    if name.len() > STREAM_MAX {
        return Err(VaultError::StreamTooLong(stream.clone()));
    }
    let mut slot = Zeroizing::new(vec![0u8; SLOT]);
    slot[0] = if key.is_some() { LIVE } else { DESTROYED };
    slot[1] = name.len() as u8;
    slot[2..2 + name.len()].copy_from_slice(name.as_bytes());
    if let Some(key) = key {
        slot[KEY_AT..CHECK_AT].copy_from_slice(key);
    }
    let check = Sha256::digest(&slot[..CHECK_AT]);
    slot[CHECK_AT..].copy_from_slice(&check[..8]);
    Ok(slot)
}

fn parse_slot(raw: &[u8]) -> Option<(StreamId, Option<EntryKey>)> {
    if raw.len() != SLOT || Sha256::digest(&raw[..CHECK_AT])[..8] != raw[CHECK_AT..] {
        return None;
    }
    let len = raw[1] as usize;
    if len > STREAM_MAX {
        return None;
    }
    let stream: StreamId = std::str::from_utf8(&raw[2..2 + len]).ok()?.parse().ok()?;
    match raw[0] {
        LIVE => {
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&raw[KEY_AT..CHECK_AT]);
            Some((stream, Some(key)))
        }
        DESTROYED => Some((stream, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str) -> StreamId {
        format!("blacklist/310000/{id}").parse().expect("stream")
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn keys_survive_reopen_and_destroyed_keys_leave_no_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(dir.path()).expect("open");
        let a = vault.get_or_create(&stream("a")).expect("a");
        let b = vault.get_or_create(&stream("b")).expect("b");
        assert_ne!(*a, *b);
        assert_eq!(*vault.get_or_create(&stream("a")).expect("again"), *a);
        assert!(vault.destroy(&stream("a")).expect("destroy"));
        assert!(!vault.destroy(&stream("a")).expect("twice"));
        drop(vault);

        let bytes = std::fs::read(dir.path().join(FILE)).expect("read");
        assert!(!contains(&bytes, a.as_ref()), "destroyed key still on disk");
        assert!(contains(&bytes, b.as_ref()));

        let vault = Vault::open(dir.path()).expect("reopen");
        assert!(matches!(vault.get(&stream("a")), KeyState::Destroyed));
        assert!(matches!(vault.get(&stream("b")), KeyState::Live(k) if *k == *b));
        assert!(matches!(vault.get(&stream("c")), KeyState::Missing));
        assert!(matches!(
            vault.get_or_create(&stream("a")),
            Err(VaultError::Erased(_))
        ));
        assert_eq!(
            vault.insert(&stream("a"), a.clone()).expect("insert"),
            Inserted::Refused
        );
        assert_eq!(
            vault.insert(&stream("b"), b.clone()).expect("insert"),
            Inserted::Held
        );
        assert_eq!(
            vault.insert(&stream("b"), a.clone()).expect("insert"),
            Inserted::Conflict
        );
    }

    #[test]
    fn a_key_destroyed_before_it_arrives_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(dir.path()).expect("open");
        let mut changes = vault.subscribe();
        assert!(!vault.destroy(&stream("late")).expect("destroy"));
        let key = Zeroizing::new([9u8; 32]);
        assert_eq!(
            vault.insert(&stream("late"), key).expect("insert"),
            Inserted::Refused
        );
        assert_eq!(
            changes.try_recv().expect("change"),
            Change::Destroyed(stream("late"))
        );
        drop(vault);
        let vault = Vault::open(dir.path()).expect("reopen");
        assert!(matches!(vault.get(&stream("late")), KeyState::Destroyed));
    }

    #[test]
    fn torn_slots_are_cleared_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(dir.path()).expect("open");
        let a = vault.get_or_create(&stream("a")).expect("a");
        vault.get_or_create(&stream("b")).expect("b");
        drop(vault);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        // Tear the second slot (as a crash mid-write would) and leave half a third one.
        bytes[SLOT + KEY_AT] ^= 0xff;
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, &bytes).expect("write");
        let vault = Vault::open(dir.path()).expect("reopen");
        assert!(matches!(vault.get(&stream("a")), KeyState::Live(k) if *k == *a));
        assert!(matches!(vault.get(&stream("b")), KeyState::Missing));
        // New slots go after the partial one, which stays cleared.
        vault.get_or_create(&stream("c")).expect("c");
        drop(vault);
        let vault = Vault::open(dir.path()).expect("third open");
        assert!(matches!(vault.get(&stream("c")), KeyState::Live(_)));
    }
}
