//! The view digest the status page shows, computed off the request path.
//!
//! The digest serialises and hashes every entity: about a second at a million events. The
//! status page never waits for one. The first is computed on a blocking thread as soon as
//! the node has opened its view; after that the page shows the last one computed while it
//! is of the newest position or younger than [`DIGEST_MAX_AGE`], and otherwise still shows
//! it (naming its position) while a fresh one is computed in the background. A dozen open
//! consoles refreshing every few seconds next to a busy log thus cost at most one digest
//! per [`DIGEST_MAX_AGE`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_view::View;

/// How old the status page's digest may be while the view keeps moving before a fresh one
/// is computed.
pub const DIGEST_MAX_AGE: Duration = Duration::from_secs(15);

/// A digest computed for the status page.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// The position the digest is of.
    position: u64,
    digest: [u8; 32],
    /// When it was computed, to tell when it has grown old.
    at: Instant,
}

/// The status page's digest: the last one computed, and whether one is being computed.
#[derive(Debug, Default)]
pub struct StatusDigest {
    known: Mutex<Option<Known>>,
    /// Set while a blocking thread computes a digest, so that at most one does.
    computing: AtomicBool,
}

impl StatusDigest {
    /// The digest to show and the position it is of (`None` until the first is computed).
    /// Starts computing a fresh one in the background when the view has moved past the
    /// known one and it is older than [`DIGEST_MAX_AGE`], or when none is known.
    pub fn current(self: &Arc<Self>, view: &View) -> Option<(u64, [u8; 32])> {
        let known = *self.known.lock().unwrap_or_else(|e| e.into_inner());
        let stale =
            known.is_none_or(|k| k.position != view.position() && k.at.elapsed() >= DIGEST_MAX_AGE);
        if stale {
            self.refresh(view);
        }
        known.map(|k| (k.position, k.digest))
    }

    /// Computes the newest digest on a blocking thread, unless one is being computed.
    pub fn refresh(self: &Arc<Self>, view: &View) {
        if self.computing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (this, view) = (self.clone(), view.clone());
        tokio::task::spawn_blocking(move || {
            let done = Computing(&this.computing);
            let (position, digest) = view.recent_digest(Duration::ZERO);
            *this.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(Known {
                position,
                digest,
                at: Instant::now(),
            });
            drop(done);
        });
    }

    /// The last digest computed and the position it is of, without starting a new one.
    pub fn known(&self) -> Option<(u64, [u8; 32])> {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|k| (k.position, k.digest))
    }
}

/// Clears the computing flag when the computation ends, however it ends.
struct Computing<'a>(&'a AtomicBool);

impl Drop for Computing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
