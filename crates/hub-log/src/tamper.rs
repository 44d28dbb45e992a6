//! Deliberate damage to a stored log, for tests that check the audit tools notice it. Works
//! on the sled files directly, as an attacker with disk access would; never used by the
//! node itself.

use std::path::Path;

use crate::error::Result;
use crate::keys;

/// One stored event as [`rewrite_events`] hands it to the editor: when the node stored it
/// (µs) and its `EventRecord` bytes.
pub type RawEvent = (i64, Vec<u8>);

/// Rewrites the stored events of the sled log in `dir` as `edit` says (flip bytes, drop,
/// swap, truncate…), renumbering positions from 1 and leaving every index as it was. The
/// durable head is rewritten to match, as an attacker covering their tracks would: what
/// remains to notice the damage is the chain, the indexes and the audit tools.
pub fn rewrite_events(dir: &Path, edit: impl FnOnce(&mut Vec<RawEvent>)) -> Result<()> {
    let db = sled::open(dir)?;
    let tree = db.open_tree("log")?;
    let mut events = Vec::new();
    let mut old_keys = Vec::new();
    for entry in tree.scan_prefix([keys::EVENT]) {
        let (k, v) = entry?;
        for e in keys::chunk_events(&v).flatten() {
            events.push((e.0, e.1.to_vec()));
        }
        old_keys.push(k);
    }
    edit(&mut events);
    let mut batch = sled::Batch::default();
    for k in old_keys {
        batch.remove(k);
    }
    for (i, (stored_at, record)) in events.iter().enumerate() {
        let mut chunk = Vec::new();
        keys::push_event(&mut chunk, *stored_at, record);
        batch.insert(keys::event(i as u64 + 1), chunk);
    }
    tree.apply_batch(batch)?;
    db.flush()?;
    std::fs::write(
        dir.join(crate::store::MARK_FILE),
        crate::store::encode_mark(events.len() as u64),
    )?;
    Ok(())
}
