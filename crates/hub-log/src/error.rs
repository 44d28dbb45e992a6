//! Errors of the event log.

use hub_types::{EventId, ExpectedVersion, MemberId, StreamId, ValidationError};

/// Why an append, ingest or read failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream was not at the expected version; nothing was written.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    WrongExpectedVersion {
        /// The stream appended to.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version (0 = empty).
        actual: u64,
    },
    /// An event id already stored names different content.
    #[error("event id {event_id} is already stored at position {position} with other content")]
    EventIdReused {
        /// The reused id.
        event_id: EventId,
        /// Where the original is.
        position: u64,
    },
    /// Some but not all events of a batch were stored before: not a clean retry.
    #[error("event id {event_id} was already appended but other events of this batch were not")]
    PartialRetry {
        /// The first id already stored.
        event_id: EventId,
    },
    /// Every event id of a batch is stored, but not as one stored batch in this order: a
    /// retry must repeat the batch exactly.
    #[error(
        "event id {event_id} is stored at position {position}, but this append does not repeat \
         its batch: a retry must send the same events in the same order, no more and no fewer"
    )]
    NotTheStoredBatch {
        /// The id whose stored place does not fit.
        event_id: EventId,
        /// Where that id is stored.
        position: u64,
    },
    /// A foreign event is not the next one of its origin.
    #[error("origin {origin} is at sequence {head}, event has sequence {got}")]
    Gap {
        /// The origin.
        origin: MemberId,
        /// Highest sequence stored.
        head: u64,
        /// Sequence of the offered event.
        got: u64,
    },
    /// A foreign event's `prev_hash` does not match the origin's chain.
    #[error("origin {origin} sequence {seq}: prev_hash does not match the stored chain")]
    ChainBroken {
        /// The origin.
        origin: MemberId,
        /// Sequence of the offered event.
        seq: u64,
    },
    /// A foreign event conflicts with what is stored (same sequence, other content).
    #[error("origin {origin} sequence {seq} conflicts with the stored event: {what}")]
    Conflict {
        /// The origin.
        origin: MemberId,
        /// The sequence.
        seq: u64,
        /// What differs.
        what: String,
    },
    /// Input failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store is damaged or inconsistent; it is not served.
    #[error("{}", describe_corrupt(*.position, what))]
    Corrupt {
        /// Where the problem was found (0 when not tied to one position).
        position: u64,
        /// What is wrong.
        what: String,
    },
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
    /// A file operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The data directory's file system has less free space than the log keeps in reserve:
    /// the write was refused before anything of it reached the store, and writes are taken
    /// again as soon as space is freed.
    #[error(
        "the data directory's file system is nearly full: {} free in {}, below the {} kept \
         free (node.min_free_bytes): nothing of this write was stored; free space and retry \
         (reads are served and every acknowledged event is kept)",
        bytes(*.free), dir.display(), bytes(*.reserve)
    )]
    DiskLow {
        /// The directory whose file system is nearly full.
        dir: std::path::PathBuf,
        /// Bytes available to the node.
        free: u64,
        /// Bytes the log keeps free.
        reserve: u64,
    },
    /// The log's writer stopped (at shutdown).
    #[error("the log is closed")]
    Closed,
    /// A group commit could not be made durable, so nothing of it was acknowledged. The log
    /// reopens its store, checks it as an open does and takes writes again (refusing them
    /// for a second first); when the store cannot be reopened, every later write fails
    /// with this error until the node restarts.
    #[error("{}", describe_write_failure(*.disk_full, cause))]
    WriteFailed {
        /// The file system holding the data directory is full (or a file-size limit was
        /// reached), rather than some other failure.
        disk_full: bool,
        /// The storage engine's error.
        cause: String,
    },
}

/// `n` bytes in the largest binary unit that keeps it at or above 1.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn describe_corrupt(position: u64, what: &str) -> String {
    if position == 0 {
        format!("the log store is corrupt: {what}")
    } else {
        format!("the log store is corrupt at position {position}: {what}")
    }
}

fn describe_write_failure(disk_full: bool, cause: &str) -> String {
    if disk_full {
        format!(
            "the data directory's file system is full ({cause}): nothing of this write was \
             stored; free space and retry (every acknowledged event is kept)"
        )
    } else {
        format!(
            "the log could not commit ({cause}): nothing of this write was stored; retry \
             (every acknowledged event is kept)"
        )
    }
}

impl Error {
    /// Names `position` as where a corruption found without one lies; other errors are
    /// returned unchanged.
    pub(crate) fn at_position(self, position: u64) -> Self {
        match self {
            Error::Corrupt { position: 0, what } => Error::Corrupt { position, what },
            other => other,
        }
    }

    /// The same failure of a write, for each further caller that shared it: a refusal for
    /// want of space or a closed log stays what it is; any other error becomes a
    /// [`Error::WriteFailed`] naming it.
    pub fn shared_failure(&self) -> Self {
        match self {
            Error::Closed => Error::Closed,
            Error::DiskLow { dir, free, reserve } => Error::DiskLow {
                dir: dir.clone(),
                free: *free,
                reserve: *reserve,
            },
            Error::WriteFailed { disk_full, cause } => Error::WriteFailed {
                disk_full: *disk_full,
                cause: cause.clone(),
            },
            other => Error::write_failed(other),
        }
    }

    /// The failure of a commit after which the store could not be reopened: the log takes
    /// no more writes until the node restarts.
    pub(crate) fn stopped_by(failure: Error, reopening: &Error) -> Self {
        match failure {
            Error::WriteFailed { disk_full, cause } => Error::WriteFailed {
                disk_full,
                cause: format!(
                    "{cause}; reopening the store failed ({reopening}), so the log takes no \
                     more writes until the node restarts"
                ),
            },
            other => other,
        }
    }

    /// The failure of a commit that was not made durable.
    pub fn write_failed(e: &Error) -> Self {
        use std::io::ErrorKind as K;
        let io = match e {
            Error::Io(io) => Some(io.kind()),
            Error::Storage(sled::Error::Io(io)) => Some(io.kind()),
            _ => None,
        };
        // sled shows its I/O errors with Rust's debug syntax: name the error itself.
        let cause = match e {
            Error::Storage(sled::Error::Io(io)) => format!("storage: {io}"),
            other => other.to_string(),
        };
        Error::WriteFailed {
            disk_full: matches!(
                io,
                Some(K::StorageFull | K::FileTooLarge | K::QuotaExceeded)
            ),
            cause,
        }
    }
}

/// Result of a log operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
