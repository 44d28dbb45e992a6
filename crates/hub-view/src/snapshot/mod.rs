//! Snapshots of the view, so a node starts without replaying its whole log.
//!
//! File `view.snapshot` in the configured directory: `THVIEW07` ‖ the header's length
//! (u32) ‖ the header's CRC32 (u32) ‖ the header ‖ the sections. The header is the bincode
//! of the log position the state holds, the record hash of the event there, and the
//! length and CRC32 of every section of the state (see [`sections`]); the sections follow
//! it in that order. A snapshot is used only if every check holds and the log still has
//! the same event at its position; otherwise the view is rebuilt by full replay, and a
//! warning says why.
//!
//! The checks catch damage at rest, as the CRC32 of the log's records and of sled's
//! messages do: the snapshot is a cache of what the log says, and whoever can rewrite it
//! can as well rewrite any unkeyed hash beside it, so a cryptographic hash would buy
//! nothing but time (the file's SHA-256 took a tenth of a start's CPU).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hub_log::{Log, Store};
use hub_proto::record::record_hash;
use hub_types::Position;

use crate::{Inner, View};
use sections::{Encoded, Header, Source};

mod sections;

/// Names the layout of [`Inner`]; bumped whenever it changes, so an older snapshot is
/// refused by its magic rather than misread.
/// 05: identifiers, dates and quarters in their compact binary form (`hub_types`).
/// 06: the state in sections that decode on several threads at once ([`sections`]).
/// 07: a header giving every section's length and CRC32, so that each is read and checked
/// on its own, in place of one SHA-256 over the whole file.
const MAGIC: &[u8; 8] = b"THVIEW07";
/// The magic, the header's length and the header's CRC32.
const PREFIX: usize = 16;
/// The longest header read: nine maps of at most 2^16 pieces, 12 bytes each, with room.
const MAX_HEADER: usize = 16 << 20;
const FILE: &str = "view.snapshot";

/// The snapshot file in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Writes the snapshot of a state encoded as `sections` (at `position`, where the log's
/// event has the record hash `log_hash`) to `out`.
fn write(
    out: &mut impl Write,
    position: u64,
    log_hash: [u8; 32],
    sections: &Encoded,
) -> Result<(), String> {
    let header = bincode::serialize(&sections.header(position, log_hash))
        .map_err(|e| format!("encode: {e}"))?;
    let len = u32::try_from(header.len())
        .ok()
        .filter(|len| *len as usize <= MAX_HEADER)
        .ok_or_else(|| format!("a header of {} bytes is too long", header.len()))?;
    let written = out
        .write_all(MAGIC)
        .and_then(|()| out.write_all(&len.to_be_bytes()))
        .and_then(|()| out.write_all(&crc32fast::hash(&header).to_be_bytes()))
        .and_then(|()| out.write_all(&header))
        .and_then(|()| sections.write_to(out));
    written.map_err(|e| e.to_string())
}

/// Reads, checks and decodes the snapshot in `source`.
fn decode(source: &dyn Source) -> Result<(u64, [u8; 32], Inner), String> {
    let size = source.size();
    let prefix = source
        .read(0, PREFIX.min(size as usize))
        .map_err(|e| format!("read: {e}"))?;
    if !prefix.starts_with(MAGIC) {
        return Err("not a view snapshot (bad magic)".into());
    }
    let (Some(len), Some(crc)) = (prefix.get(8..12), prefix.get(12..16)) else {
        return Err("truncated header".into());
    };
    let len = u32::from_be_bytes(len.try_into().map_err(|_| "truncated header")?) as usize;
    if len > MAX_HEADER || (PREFIX + len) as u64 > size {
        return Err(format!(
            "a header of {len} bytes is longer than {} or than the file",
            MAX_HEADER
        ));
    }
    let header = source
        .read(PREFIX as u64, len)
        .map_err(|e| format!("read: {e}"))?;
    if crc32fast::hash(&header).to_be_bytes() != crc {
        return Err("the header fails its check".into());
    }
    let header: Header = bincode::deserialize(&header).map_err(|e| format!("decode: {e}"))?;
    let inner = header.decode(source, (PREFIX + len) as u64)?;
    Ok((header.position, header.log_hash, inner))
}

/// A snapshot file read and decoded, not yet checked against the log: what a node can do
/// while it opens its log (see [`View::open_loaded`]).
pub struct Loaded {
    file: PathBuf,
    decoded: Result<(u64, [u8; 32], Inner), String>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("file", &self.file)
            .field("position", &self.decoded.as_ref().map(|d| d.0))
            .finish()
    }
}

/// Reads and decodes the snapshot in `config`'s directory; `None` when there is none to
/// read (none configured, none written yet, or unreadable: logged).
pub fn load(config: &crate::ViewConfig) -> Option<Loaded> {
    let dir = config.snapshot_dir.as_ref()?;
    let file = path(dir);
    let opened = match fs::File::open(&file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read view snapshot; replaying the log");
            return None;
        }
    };
    let decoded = decode(&opened);
    Some(Loaded { file, decoded })
}

impl View {
    /// Restores the configured snapshot if it is intact and matches `log`; returns whether
    /// it did. Any problem is logged and leaves the view empty for a full replay.
    pub fn restore<S: Store>(&self, log: &Log<S>) -> bool {
        match load(self.config()) {
            Some(loaded) => self.install(loaded, log),
            None => false,
        }
    }

    /// Installs a loaded snapshot if it is intact and matches `log`; returns whether it
    /// did. Any problem is logged and leaves the view empty for a full replay.
    pub(crate) fn install<S: Store>(&self, loaded: Loaded, log: &Log<S>) -> bool {
        let Loaded { file, decoded } = loaded;
        let check = decoded.and_then(|(position, hash, mut inner)| {
            if inner.position() != position {
                return Err("position does not match its content".into());
            }
            if let Ok(at) = Position::new(position) {
                let event = log
                    .get(at)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("the log has no position {position}"))?;
                if record_hash(&event.record) != hash {
                    return Err(format!(
                        "the log holds another event at position {position}"
                    ));
                }
            }
            inner.snapshot_position = position;
            Ok(inner)
        });
        match check {
            Ok(inner) => {
                let position = inner.position();
                *self.inner.write().unwrap_or_else(|e| e.into_inner()) = inner;
                // A digest remembered of the state just replaced no longer holds.
                *self.digest_memo.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.position.send_replace(position);
                tracing::info!(position, "view restored from snapshot");
                true
            }
            Err(why) => {
                tracing::warn!(file = %file.display(), %why, "view snapshot unusable; replaying the log");
                false
            }
        }
    }

    /// Writes a snapshot now (atomically: temp file, fsync, rename); returns its position.
    pub fn write_snapshot<S: Store>(&self, log: &Log<S>) -> std::io::Result<u64> {
        match self.capture(log)? {
            Some(captured) => self.store(captured),
            None => Ok(0),
        }
    }

    /// The state encoded for a snapshot, with the position it holds and the record hash
    /// of the log's event there; `None` when no snapshot directory is configured. The
    /// view's read lock is held while it encodes.
    fn capture<S: Store>(&self, log: &Log<S>) -> std::io::Result<Option<Captured>> {
        let Some(dir) = &self.config().snapshot_dir else {
            return Ok(None);
        };
        let inner = self.read();
        let position = inner.position();
        let stored = match Position::new(position) {
            Ok(at) => log.get(at),
            Err(_) => Ok(None),
        };
        let hash = match stored {
            Ok(Some(e)) => record_hash(&e.record),
            Ok(None) => [0; 32],
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let sections = Encoded::new(&inner).map_err(std::io::Error::other)?;
        Ok(Some(Captured {
            dir: dir.clone(),
            position,
            hash,
            sections,
        }))
    }

    /// Writes `captured` to the snapshot file (temp file, fsync, rename, fsync of the
    /// directory) unless a snapshot of a later position is there already; returns the
    /// position of the file's snapshot.
    fn store(&self, captured: Captured) -> std::io::Result<u64> {
        let Captured {
            dir,
            position,
            hash,
            sections,
        } = captured;
        // One writer of the temp file at a time, and never an older state over a newer.
        let mut written = self
            .snapshots
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *written > position {
            return Ok(*written);
        }
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!("{FILE}.tmp"));
        let mut f = std::io::BufWriter::new(fs::File::create(&tmp)?);
        write(&mut f, position, hash, &sections).map_err(std::io::Error::other)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        fs::rename(&tmp, path(&dir))?;
        fs::File::open(&dir)?.sync_all()?;
        *written = position;
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.snapshot_position = inner.snapshot_position.max(position);
        Ok(position)
    }

    /// Writes a snapshot when one is due: `every` events after the last, and not before
    /// the wait the busy share sets after the last one. With [`Writing::Aside`] the state
    /// is encoded here and the file written on a thread of its own, one at a time.
    pub(crate) fn maybe_snapshot<S: Store>(&self, log: &Log<S>, position: u64, writing: Writing) {
        let every = self.config().snapshot_every;
        if every == 0 || self.config().snapshot_dir.is_none() {
            return;
        }
        let last = self.read().snapshot_position;
        if position < last + every || self.snapshots.aside.load(Ordering::Acquire) {
            return;
        }
        let mut not_before = self
            .snapshots
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if not_before.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let started = Instant::now();
        let share = self.config().snapshot_busy_share;
        let captured = match writing {
            Writing::Later => return,
            Writing::Here => {
                match self.write_snapshot(log) {
                    Ok(p) => tracing::debug!(position = p, "view snapshot written"),
                    Err(e) => tracing::warn!(error = %e, "writing the view snapshot failed"),
                }
                None
            }
            Writing::Aside => match self.capture(log) {
                Ok(captured) => captured,
                Err(e) => {
                    tracing::warn!(error = %e, "encoding the view snapshot failed");
                    None
                }
            },
        };
        let Some(captured) = captured else {
            *not_before = Some(next_snapshot(started, started.elapsed(), share));
            return;
        };
        drop(not_before);
        self.snapshots.aside.store(true, Ordering::Release);
        let view = self.clone();
        let spawned = std::thread::Builder::new()
            .name("hub-view-snapshot".into())
            .spawn(move || {
                let _aside = Aside(&view.snapshots);
                match view.store(captured) {
                    Ok(p) => tracing::debug!(position = p, "view snapshot written"),
                    Err(e) => tracing::warn!(error = %e, "writing the view snapshot failed"),
                }
                *view
                    .snapshots
                    .not_before
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) =
                    Some(next_snapshot(started, started.elapsed(), share));
            });
        if let Err(e) = spawned {
            self.snapshots.aside.store(false, Ordering::Release);
            tracing::warn!(error = %e, "no thread to write the view snapshot on");
        }
    }
}

/// Where a snapshot that comes due during a fold is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writing {
    /// On the folding thread, before the fold goes on (a catch-up asked for).
    Here,
    /// Encoded on the folding thread, written on a thread of its own (the node's fold).
    Aside,
    /// Not during this fold (a view opening): the next fold writes it.
    Later,
}

/// The snapshots of one view: when the next may start, the position of the file's, and
/// whether one is being written aside.
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    /// When the next snapshot may start ([`crate::ViewConfig::snapshot_busy_share`]).
    not_before: Mutex<Option<Instant>>,
    /// The position of the snapshot last written to the file by this view; held while the
    /// file is written.
    written: Mutex<u64>,
    /// Set while a snapshot is written aside.
    aside: AtomicBool,
}

/// Clears [`Snapshots::aside`] when the writing thread ends, however it ends.
struct Aside<'a>(&'a Snapshots);

impl Drop for Aside<'_> {
    fn drop(&mut self) {
        self.0.aside.store(false, Ordering::Release);
    }
}

/// A state encoded for a snapshot, not yet written.
struct Captured {
    dir: PathBuf,
    position: u64,
    hash: [u8; 32],
    sections: Encoded,
}

/// Longest wait between two snapshots, whatever the share.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// When the snapshot after one that began at `started` and took `took` may begin, for a
/// view that spends at most `share` of its time writing them (a share outside (0, 1]
/// counts as 1: no wait).
fn next_snapshot(started: Instant, took: Duration, share: f64) -> Instant {
    let share = if share > 0.0 && share <= 1.0 {
        share
    } else {
        1.0
    };
    let wait = Duration::try_from_secs_f64(took.as_secs_f64() / share).unwrap_or(MAX_WAIT);
    started + wait.min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_snapshot_waits_for_its_share_of_time() {
        let t = Instant::now();
        let took = Duration::from_millis(300);
        let wait = |share: f64| next_snapshot(t, took, share).duration_since(t).as_millis();
        assert_eq!(wait(1.0), 300);
        assert_eq!(wait(0.1), 3_000);
        assert_eq!(wait(0.0), 300, "no share means no wait");
        assert_eq!(wait(f64::NAN), 300);
        assert_eq!(wait(2.0), 300);
        assert_eq!(wait(1e-300), MAX_WAIT.as_millis());
    }

    fn file() -> Vec<u8> {
        let mut out = Vec::new();
        let sections = Encoded::new(&Inner::default()).expect("encode");
        write(&mut out, 7, [3; 32], &sections).expect("write");
        out
    }

    fn refused(bytes: &[u8]) -> String {
        match decode(&bytes) {
            Ok(_) => panic!("a damaged snapshot decoded"),
            Err(e) => e,
        }
    }

    #[test]
    fn an_intact_file_decodes() {
        let (position, hash, inner) = decode(&file().as_slice()).expect("decode");
        assert_eq!((position, hash), (7, [3; 32]));
        assert_eq!(inner.position(), 0);
    }

    #[test]
    fn each_part_of_the_file_is_checked() {
        let intact = file();
        let header_len = u32::from_be_bytes(intact[8..12].try_into().expect("4 bytes")) as usize;
        let sections_at = PREFIX + header_len;
        assert!(
            intact.len() > sections_at,
            "the small section follows the header"
        );

        let mut long = intact.clone();
        long[8..12].copy_from_slice(&(MAX_HEADER as u32 + 1).to_be_bytes());
        assert!(refused(&long).contains("longer than"), "{}", refused(&long));
        let mut past_end = intact.clone();
        past_end[8..12].copy_from_slice(&(intact.len() as u32).to_be_bytes());
        assert!(refused(&past_end).contains("longer than"));

        let mut header = intact.clone();
        header[PREFIX + 3] ^= 1;
        assert_eq!(refused(&header), "the header fails its check");

        let mut section = intact.clone();
        *section.last_mut().expect("a byte") ^= 1;
        assert_eq!(
            refused(&section),
            format!(
                "the section at bytes {sections_at}..{} fails its check",
                intact.len()
            )
        );

        let mut longer = intact.clone();
        longer.push(0);
        assert_eq!(
            refused(&longer),
            format!(
                "the sections end at byte {}, the file at byte {}",
                intact.len(),
                intact.len() + 1
            )
        );
        let shorter = &intact[..intact.len() - 1];
        assert!(refused(shorter).contains("reach past the file's end"));
        assert_eq!(refused(&intact[..10]), "truncated header");
        assert_eq!(refused(b"THVIEW06"), "not a view snapshot (bad magic)");
    }
}
