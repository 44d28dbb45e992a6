//! Deliberate damage to a stored log, for tests that check the audit tools notice it. Works
//! on the store's files directly, as an attacker with disk access would; never used by the
//! node itself.

use std::path::Path;

use crate::error::Result;
use crate::keys;
use crate::store::{prefix_end, SledStore, Store};

/// One stored event as [`rewrite_events`] hands it to the editor: when the node stored it
/// (µs) and its `EventRecord` bytes.
pub type RawEvent = (i64, Vec<u8>);

/// Rewrites the stored events of the sled log in `dir` as `edit` says (flip bytes, drop,
/// swap, truncate…), renumbering positions from 1 and leaving every index as it was. The
/// durable head is rewritten to match, as an attacker covering their tracks would: what
/// remains to notice the damage is the chain, the indexes and the audit tools.
pub fn rewrite_events(dir: &Path, edit: impl FnOnce(&mut Vec<RawEvent>)) -> Result<()> {
    let store = SledStore::open(dir)?;
    let mut events = Vec::new();
    let mut writes = Vec::new();
    let prefix = [keys::EVENT];
    for (k, v) in store.range(&prefix, &prefix_end(&prefix), false, usize::MAX)? {
        for e in keys::chunk_events(&v).flatten() {
            events.push((e.0, e.1.to_vec()));
        }
        // Removed, unless written again below.
        writes.push((k, Vec::new()));
    }
    edit(&mut events);
    for (i, (stored_at, record)) in events.iter().enumerate() {
        let mut chunk = Vec::new();
        keys::push_event(&mut chunk, *stored_at, record);
        writes.push((keys::event(i as u64 + 1), chunk));
    }
    store.apply(writes)?;
    store.checkpoint()?;
    drop(store);
    std::fs::write(
        dir.join(crate::store::MARK_FILE),
        crate::store::encode_mark(events.len() as u64, 0),
    )?;
    Ok(())
}
