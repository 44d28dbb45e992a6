//! Snapshots of the view, so a node starts without replaying its whole log.
//!
//! File `view.snapshot` in the configured directory:
//! `THVIEW06` ‖ SHA-256(payload) ‖ payload, where payload is the bincode of (position,
//! record hash of the event at that position, the view's state in sections: see
//! [`sections`]). A snapshot is used only
//! if its checksum holds and the log still has the same event at its position; otherwise
//! the view is rebuilt by full replay, and a warning says why.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hub_log::{Log, Store};
use hub_proto::record::record_hash;
use hub_types::Position;
use sha2::{Digest, Sha256};

use crate::{Inner, View};
use sections::{Encoded, Layout};

mod sections;

/// Names the layout of [`Inner`]; bumped whenever it changes, so an older snapshot is
/// refused by its magic rather than misread.
/// 05: identifiers, dates and quarters in their compact binary form (`hub_types`).
/// 06: the state in sections that decode on several threads at once ([`sections`]).
const MAGIC: &[u8; 8] = b"THVIEW06";
/// The magic and the payload's SHA-256.
const HEADER: usize = 40;
const FILE: &str = "view.snapshot";

/// The snapshot file in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn encode(position: u64, log_hash: [u8; 32], inner: &Inner) -> Result<Vec<u8>, String> {
    let sections = Encoded::new(inner)?;
    let payload = (position, log_hash, sections.layout());
    let size = bincode::serialized_size(&payload).map_err(|e| format!("encode: {e}"))?;
    let mut out = Vec::with_capacity(HEADER + usize::try_from(size).map_err(|e| e.to_string())?);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0; 32]);
    bincode::serialize_into(&mut out, &payload).map_err(|e| format!("encode: {e}"))?;
    let sum = Sha256::digest(&out[HEADER..]);
    out[MAGIC.len()..HEADER].copy_from_slice(&sum);
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<(u64, [u8; 32], Inner), String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a view snapshot (bad magic)")?;
    let (sum, payload) = rest.split_at_checked(32).ok_or("truncated header")?;
    // The checksum is computed beside the decoding, as one of its tasks, and decides
    // before anything decoded is used. Decoding damaged bytes only fails: every length it
    // reads is checked against the bytes left.
    let mut intact = None;
    let mut check = || intact = Some(Sha256::digest(payload).as_slice() == sum);
    let decoded = match bincode::deserialize::<(u64, [u8; 32], Layout<'_>)>(payload) {
        Ok((position, hash, layout)) => layout
            .decode(Box::new(check))
            .map(|inner| (position, hash, inner)),
        Err(e) => {
            check();
            Err(format!("decode: {e}"))
        }
    };
    match intact {
        Some(true) => decoded,
        Some(false) => Err("checksum mismatch".into()),
        None => Err("the checksum could not be computed".into()),
    }
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
    let bytes = match fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read view snapshot; replaying the log");
            return None;
        }
    };
    let decoded = decode(&bytes);
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
        let Some(dir) = &self.config().snapshot_dir else {
            return Ok(0);
        };
        let (position, bytes) = {
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
            let bytes = encode(position, hash, &inner).map_err(std::io::Error::other)?;
            (position, bytes)
        };
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!("{FILE}.tmp"));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path(dir))?;
        fs::File::open(dir)?.sync_all()?;
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot_position = position;
        Ok(position)
    }

    pub(crate) fn maybe_snapshot<S: Store>(&self, log: &Log<S>, position: u64) {
        let every = self.config().snapshot_every;
        if every == 0 || self.config().snapshot_dir.is_none() {
            return;
        }
        let last = self.read().snapshot_position;
        if position < last + every {
            return;
        }
        match self.write_snapshot(log) {
            Ok(p) => tracing::debug!(position = p, "view snapshot written"),
            Err(e) => tracing::warn!(error = %e, "writing the view snapshot failed"),
        }
    }
}
