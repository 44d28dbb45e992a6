//! The access trail's storage: every check of a person made on this node (who, when,
//! which subject, how many entries were returned), chained as [`hub_audit::trail`] says
//! and readable by auditors through `Audit.ListAccess`. Entries are stored in the log's
//! local metadata, never replicated. A check is answered only once its entry is durable.

use hub_audit::entry_hash;
use hub_log::Log;
use hub_proto::pb;
use prost::Message;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use crate::identity::Caller;

/// Meta key of the trail's head: the last entry's sequence (u64, big-endian) and hash.
const HEAD: &[u8] = b"access-head";

/// The meta key of trail entry `seq`: `access/` and the sequence in 20 decimal digits, so
/// byte order is sequence order. The key stays text, byte for byte as nodes have written
/// it, because data directories hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryKey(pub u64);

impl EntryKey {
    /// Prefix of every entry key.
    pub const PREFIX: &'static [u8] = b"access/";

    /// Digits of the sequence.
    const DIGITS: usize = 20;

    /// The meta key's bytes.
    pub fn encode(self) -> Vec<u8> {
        let mut key = Self::PREFIX.to_vec();
        key.extend_from_slice(format!("{:020}", self.0).as_bytes());
        key
    }

    /// Reads a key written by [`EntryKey::encode`]; `None` for anything else.
    pub fn decode(key: &[u8]) -> Option<Self> {
        let digits = key.strip_prefix(Self::PREFIX)?;
        if digits.len() != Self::DIGITS || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok().map(Self)
    }
}

/// The node's access trail.
///
/// Checks are written in groups: each caller queues its entry, and whoever then holds the
/// head writes every queued entry in one durable write, so concurrent checks share one
/// `fsync` instead of waiting for each other's. The write runs as a task of its own, so a
/// caller that goes away mid-write neither stops it nor lets another writer in before it
/// ends.
#[derive(Debug)]
pub struct AccessTrail {
    log: Log,
    /// Checks waiting to be written, in arrival order. Bounded by the requests admitted at
    /// once (`server.max_in_flight`): each waits here at most for one group.
    pending: std::sync::Mutex<Vec<Pending>>,
    /// Sequence and hash of the last durable entry; held by the group being written.
    head: Arc<Mutex<(u64, [u8; 32])>>,
    /// Entries durable so far, readable without waiting for a group.
    written: Arc<AtomicU64>,
    /// Groups written since the node started.
    groups: Arc<AtomicU64>,
    /// Where the groups' writes run.
    tasks: crate::tasks::Tasks,
}

/// A check waiting for its group.
#[derive(Debug)]
struct Pending {
    caller: Caller,
    subject_ref: String,
    results: u32,
    /// Told once the entry is durable, or why it is not.
    done: oneshot::Sender<hub_log::Result<()>>,
}

impl AccessTrail {
    /// Opens the trail stored in `log`.
    pub fn open(log: Log, tasks: crate::tasks::Tasks) -> hub_log::Result<Self> {
        let head = match log.meta(HEAD)? {
            Some(v) if v.len() == 40 => {
                let seq = u64::from_be_bytes(v[..8].try_into().unwrap_or_default());
                let mut hash = [0; 32];
                hash.copy_from_slice(&v[8..]);
                (seq, hash)
            }
            _ => (0, [0; 32]),
        };
        Ok(Self {
            log,
            pending: std::sync::Mutex::default(),
            written: Arc::new(AtomicU64::new(head.0)),
            groups: Arc::default(),
            head: Arc::new(Mutex::new(head)),
            tasks,
        })
    }

    /// Entries written so far.
    pub fn entries_written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Durable writes of groups of entries since the node started (each one sync).
    pub fn groups_written(&self) -> u64 {
        self.groups.load(Ordering::Acquire)
    }

    /// Records one check durably; returns once its entry is stored.
    pub async fn record(
        &self,
        caller: Caller,
        subject_ref: &str,
        results: u32,
    ) -> hub_log::Result<()> {
        let (done, mut stored) = oneshot::channel();
        self.queue().push(Pending {
            caller,
            subject_ref: subject_ref.to_owned(),
            results,
            done,
        });
        // Whoever gets the head writes everything queued. A check whose entry another
        // group wrote meanwhile stops waiting for the head at once: waiting for it anyway
        // would hold the answer until the next group's write too, and the checks queued
        // behind it one write each.
        tokio::select! {
            biased;
            written = &mut stored => return written.unwrap_or(Err(hub_log::Error::Closed)),
            head = self.head.clone().lock_owned() => {
                // Empty when an earlier group took this entry: that group has ended, since
                // its task held the head until then.
                let group = std::mem::take(&mut *self.queue());
                if !group.is_empty() {
                    self.groups.fetch_add(1, Ordering::AcqRel);
                    self.tasks.spawn(write_group(
                        self.log.clone(),
                        head,
                        group,
                        self.written.clone(),
                    ));
                }
            }
        }
        stored.await.unwrap_or(Err(hub_log::Error::Closed))
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `limit` entries from `from_seq` (1-based), and the trail's length.
    pub fn list(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> hub_log::Result<(Vec<pb::AccessEntry>, u64)> {
        // A bounded walk from the first entry asked for: the trail grows with every
        // check, a page must not cost more as it does.
        let from = EntryKey(from_seq.max(1)).encode();
        let entries = self
            .log
            .meta_page(EntryKey::PREFIX, &from, limit)?
            .into_iter()
            .filter(|(k, _)| EntryKey::decode(k).is_some())
            .filter_map(|(_, v)| pb::AccessEntry::decode(v.as_slice()).ok())
            .collect();
        Ok((entries, self.entries_written()))
    }
}

/// Chains `group` onto `head`, stores it in one write and tells each check how it went.
async fn write_group(
    log: Log,
    mut head: OwnedMutexGuard<(u64, [u8; 32])>,
    group: Vec<Pending>,
    written: Arc<AtomicU64>,
) {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let (mut seq, mut prev) = *head;
    let mut meta = Vec::with_capacity(group.len() + 1);
    for check in &group {
        seq += 1;
        let mut entry = pb::AccessEntry {
            seq,
            at_micros: at,
            caller_member: check.caller.member.to_string(),
            caller_role: check.caller.role.as_str().to_owned(),
            subject_ref: check.subject_ref.clone(),
            results: check.results,
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        prev = entry_hash(&entry);
        entry.hash = prev.to_vec();
        meta.push((EntryKey(seq).encode(), entry.encode_to_vec()));
    }
    let mut head_value = seq.to_be_bytes().to_vec();
    head_value.extend_from_slice(&prev);
    meta.push((HEAD.to_vec(), head_value));
    match log.put_meta(meta).await {
        Ok(()) => {
            *head = (seq, prev);
            written.store(seq, Ordering::Release);
            drop(head);
            for check in group {
                // A caller that went away no longer waits for its answer.
                let _ = check.done.send(Ok(()));
            }
        }
        Err(e) => {
            drop(head);
            let mut group = group.into_iter();
            if let Some(first) = group.next() {
                for check in group {
                    let _ = check.done.send(Err(e.shared_failure()));
                }
                let _ = first.done.send(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keys_round_trip() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(
                EntryKey::decode(&EntryKey(seq).encode()),
                Some(EntryKey(seq))
            );
        }
    }

    #[test]
    fn entry_keys_keep_the_layout_stored_trails_have() {
        assert_eq!(
            EntryKey(7).encode(),
            b"access/00000000000000000007".to_vec()
        );
        assert!(EntryKey(9).encode() < EntryKey(10).encode());
        assert!(!EntryKey(1).encode().starts_with(HEAD));
    }

    #[test]
    fn other_keys_are_not_entry_keys() {
        for key in [
            &b"access-head"[..],
            b"access/",
            b"access/7",
            b"access/0000000000000000000x",
            b"access/000000000000000000007",
            b"replication/outbox/310000",
        ] {
            assert_eq!(
                EntryKey::decode(key),
                None,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
    }
}
