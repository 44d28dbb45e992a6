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
    /// A slot before the last fails its check and is not a torn erasure: the file was
    /// damaged, and the key it held (or its destruction) is unknown.
    #[error(
        "entry-key vault {path} is damaged: slot {slot} (bytes {offset}..{end}) fails its \
         check{}",
        stream.as_ref().map(|s| format!(" (it names stream {s})")).unwrap_or_default(),
        end = offset + SLOT as u64
    )]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// Index of the damaged slot.
        slot: u64,
        /// Where the slot starts in the file.
        offset: u64,
        /// The stream the slot names, when its name is still readable.
        stream: Option<String>,
    },
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
    /// Opens (or creates) the vault in `dir`, checking every slot.
    ///
    /// A crash can tear one write: a new key in the last slot, or the destruction of a key
    /// in place. A torn last slot is overwritten with zeros (its key belonged to an append
    /// that was never acknowledged); a torn destruction (its state or either end of its
    /// key already written over) is completed. Any other slot failing its check is damage
    /// ([`VaultError::Corrupt`]): the vault refuses to open rather than lose a key, or
    /// bring back a destroyed one, without a word.
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
        let last = bytes.len().div_ceil(SLOT).saturating_sub(1) as u64;
        for (index, raw) in bytes.chunks(SLOT).enumerate() {
            let index = index as u64;
            let offset = index * SLOT as u64;
            if let Some((stream, key)) = parse_slot(raw) {
                slots.insert(stream, Slot { index, key });
            } else if raw.iter().all(|b| *b == 0) {
                // A torn slot cleared at an earlier open; a part of one at the end is
                // completed to a whole slot, so that the file ends on a slot boundary.
                if raw.len() < SLOT {
                    file.write_all_at(&[0; SLOT], offset).map_err(io)?;
                }
            } else if index == last {
                torn += 1;
                file.write_all_at(&[0; SLOT], offset).map_err(io)?;
            } else if let Some(stream) = torn_destruction(raw) {
                torn += 1;
                let slot = encode_slot(&stream, None)?;
                file.write_all_at(&slot, offset).map_err(io)?;
                slots.insert(stream, Slot { index, key: None });
            } else {
                return Err(VaultError::Corrupt {
                    path,
                    slot: index,
                    offset,
                    stream: slot_stream(raw).map(|s| s.to_string()),
                });
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

/// The stream a slot names, if its name parses (whatever its check says).
fn slot_stream(raw: &[u8]) -> Option<StreamId> {
    let len = *raw.get(1)? as usize;
    if len > STREAM_MAX || raw.len() != SLOT {
        return None;
    }
    std::str::from_utf8(&raw[2..2 + len]).ok()?.parse().ok()
}

/// The stream of a slot torn while its key was being destroyed: part of the slot already
/// holds the destroyed state or the zeros written over the key. A live key never starts
/// or ends with eight zero bytes but once in 2^64.
fn torn_destruction(raw: &[u8]) -> Option<StreamId> {
    let key = raw.get(KEY_AT..CHECK_AT)?;
    let zeroed = |part: &[u8]| part.iter().all(|b| *b == 0);
    let destroying = raw[0] == DESTROYED || zeroed(&key[..8]) || zeroed(&key[24..]);
    destroying.then(|| slot_stream(raw)).flatten()
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
        // Tear the last slot (as a crash mid-write would).
        bytes[SLOT + KEY_AT] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        let vault = Vault::open(dir.path()).expect("reopen");
        assert!(matches!(vault.get(&stream("a")), KeyState::Live(k) if *k == *a));
        assert!(matches!(vault.get(&stream("b")), KeyState::Missing));
        vault.get_or_create(&stream("c")).expect("c");
        drop(vault);
        // Half a slot at the end is torn too.
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, &bytes).expect("write");
        let vault = Vault::open(dir.path()).expect("third open");
        assert!(matches!(vault.get(&stream("c")), KeyState::Live(_)));
        // New slots go after the cleared ones, which stay cleared.
        vault.get_or_create(&stream("d")).expect("d");
        drop(vault);
        let vault = Vault::open(dir.path()).expect("fourth open");
        assert!(matches!(vault.get(&stream("a")), KeyState::Live(k) if *k == *a));
        assert!(matches!(vault.get(&stream("d")), KeyState::Live(_)));
    }

    #[test]
    fn a_torn_destruction_is_completed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(dir.path()).expect("open");
        for id in ["a", "b", "c"] {
            vault.get_or_create(&stream(id)).expect("key");
        }
        drop(vault);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        // Only the second half of slot 0's destruction reached the disk, and only the
        // first byte of slot 1's.
        let destroyed = encode_slot(&stream("a"), None).expect("encode");
        bytes[64..SLOT].copy_from_slice(&destroyed[64..]);
        bytes[SLOT] = DESTROYED;
        std::fs::write(&path, &bytes).expect("write");
        let vault = Vault::open(dir.path()).expect("reopen");
        assert!(matches!(vault.get(&stream("a")), KeyState::Destroyed));
        assert!(matches!(vault.get(&stream("b")), KeyState::Destroyed));
        assert!(matches!(vault.get(&stream("c")), KeyState::Live(_)));
        drop(vault);
        let vault = Vault::open(dir.path()).expect("completed on disk");
        assert!(matches!(vault.get(&stream("a")), KeyState::Destroyed));
    }

    #[test]
    fn a_damaged_slot_before_the_last_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::open(dir.path()).expect("open");
        for id in ["a", "b", "c"] {
            vault.get_or_create(&stream(id)).expect("key");
        }
        drop(vault);
        let path = dir.path().join(FILE);
        let pristine = std::fs::read(&path).expect("read");
        // Every byte of slot 1 but the parts a destruction writes first.
        for at in (SLOT..2 * SLOT).filter(|i| *i != SLOT) {
            let mut bytes = pristine.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).expect("write");
            let err = Vault::open(dir.path()).expect_err("a damaged slot");
            let text = err.to_string();
            assert!(
                matches!(err, VaultError::Corrupt { slot: 1, offset, .. } if offset == SLOT as u64),
                "byte {at}: {text}"
            );
            assert!(text.contains("slot 1 (bytes 138..276)"), "{text}");
            if !(1..KEY_AT).contains(&(at - SLOT)) {
                assert!(text.contains("blacklist/310000/b"), "byte {at}: {text}");
            }
            let after = std::fs::read(&path).expect("read");
            assert_eq!(after, bytes, "a refused vault is left as it was");
        }
    }
}
