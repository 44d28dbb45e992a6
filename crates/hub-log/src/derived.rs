//! The file of an index derived from the log's records (the event ids, the stream and
//! origin runs): written after each commit, synced now and then rather than with each
//! commit, and read again from the log at open wherever it falls short. So a failed write
//! or sync costs the next open some reading, never an answer, and is logged, not returned.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::store;

/// An open file of a derived index.
#[derive(Debug)]
pub(crate) struct DerivedFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    /// What the file holds, for messages (`the event-id index`).
    what: &'static str,
    /// Bytes written since the last sync.
    unsynced: u64,
    /// Bytes written between two syncs: at most this much is read again from the log after
    /// a power loss.
    sync_every: u64,
    /// Whether the last write or sync failed (to log each change once).
    failing: bool,
}

impl DerivedFile {
    /// Opens the file `name` in `dir`, created when missing and keeping what it holds.
    pub(crate) fn open(
        dir: &Path,
        name: &str,
        what: &'static str,
        sync_every: u64,
    ) -> Result<Self> {
        let path = dir.join(name);
        Ok(Self {
            file: store::open_kept(&path)?,
            path,
            what,
            unsynced: 0,
            sync_every,
            failing: false,
        })
    }

    /// Writes `bytes` at `offset`; returns whether they were written.
    pub(crate) fn write_at(&mut self, bytes: &[u8], offset: u64) -> bool {
        let written = self.file.write_all_at(bytes, offset);
        self.report(written.as_ref().err(), "write");
        if written.is_ok() {
            self.unsynced += bytes.len() as u64;
        }
        written.is_ok()
    }

    /// Syncs the file when `sync_every` bytes were written since it last was.
    pub(crate) fn sync_if_due(&mut self) {
        if self.unsynced >= self.sync_every {
            self.sync();
        }
    }

    /// Makes what is written durable (at close, after catching up), so that the next open
    /// has nothing to read again.
    pub(crate) fn sync(&mut self) {
        let synced = self.file.sync_data();
        self.report(synced.as_ref().err(), "sync");
        if synced.is_ok() {
            self.unsynced = 0;
        }
    }

    /// Logs a failed write or sync once, and the next write that succeeds once.
    fn report(&mut self, failure: Option<&std::io::Error>, action: &str) {
        match failure {
            Some(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(
                    file = %self.path.display(),
                    error = %e,
                    "could not {action} {}; the next open reads what it lacks from the log",
                    self.what
                );
            }
            None if self.failing && action == "write" => {
                self.failing = false;
                tracing::info!(file = %self.path.display(), "{} is written again", self.what);
            }
            _ => {}
        }
    }
}
