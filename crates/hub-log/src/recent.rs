//! The event ids of the last groups the writer committed.
//!
//! Every append must check its event ids against all ids ever stored (idempotency forever),
//! and a store lookup per id costs the single writer as much as an insert. So callers look
//! their ids up before queueing an append, noting the head the store had reached; the
//! writer then only needs the ids stored since, which this window holds. When an append
//! waited longer than the window reaches back, the writer looks its ids up again itself.

use std::collections::{HashMap, VecDeque};

use hub_types::EventId;

/// Most ids kept; a few large groups' worth, so that an append that waited behind one
/// group still finds its window.
const MAX_IDS: usize = 65_536;

/// The ids stored at positions `from` and above, with their positions.
#[derive(Debug)]
pub(crate) struct Recent {
    ids: HashMap<EventId, u64>,
    /// Lowest position whose id is still held: every id stored at or above it is.
    from: u64,
    /// The first position and ids of each group held, oldest first, for dropping whole
    /// groups.
    groups: VecDeque<(u64, Vec<EventId>)>,
}

impl Recent {
    /// An empty window for a log whose next position is `next`.
    pub(crate) fn new(next: u64) -> Self {
        Self {
            ids: HashMap::new(),
            from: next,
            groups: VecDeque::new(),
        }
    }

    /// Adds the ids of a committed group, dropping the oldest groups beyond [`MAX_IDS`].
    /// `next` is the position after the group.
    pub(crate) fn add(&mut self, ids: HashMap<EventId, u64>, next: u64) {
        if ids.is_empty() {
            return;
        }
        let first = ids.values().copied().min().unwrap_or(next);
        debug_assert!(first >= self.from, "groups are added in position order");
        self.groups
            .push_back((first, ids.keys().copied().collect()));
        self.ids.extend(ids);
        while self.ids.len() > MAX_IDS && self.groups.len() > 1 {
            let Some((_, dropped)) = self.groups.pop_front() else {
                break;
            };
            for id in dropped {
                self.ids.remove(&id);
            }
            self.from = self.groups.front().map_or(next, |(first, _)| *first);
        }
    }

    /// Where `id` is stored, if it was stored above `checked`; `Err(())` when the window
    /// no longer reaches back to `checked`, so the store must be asked.
    pub(crate) fn lookup(&self, id: &EventId, checked: u64) -> Result<Option<u64>, ()> {
        if checked.saturating_add(1) < self.from {
            return Err(());
        }
        Ok(self.ids.get(id).copied().filter(|p| *p > checked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(first: u64, n: u64) -> HashMap<EventId, u64> {
        (first..first + n)
            .map(|p| (EventId::new_random(), p))
            .collect()
    }

    #[test]
    fn the_window_answers_for_ids_above_a_checked_head_it_still_reaches() {
        let mut recent = Recent::new(1);
        let old = group(1, 10);
        let old_id = *old.keys().next().expect("ids");
        recent.add(old, 11);
        assert!(matches!(recent.lookup(&old_id, 0), Ok(Some(p)) if (1..=10).contains(&p)));
        assert_eq!(
            recent.lookup(&old_id, 10),
            Ok(None),
            "stored at or below checked"
        );
        assert_eq!(recent.lookup(&EventId::new_random(), 0), Ok(None));
        let mut next = 11;
        while recent.from == 1 {
            recent.add(group(next, 10_000), next + 10_000);
            next += 10_000;
        }
        assert!(recent.ids.len() <= MAX_IDS);
        assert_eq!(
            recent.lookup(&old_id, 0),
            Err(()),
            "the window moved past it"
        );
        assert_eq!(recent.lookup(&old_id, recent.from - 1), Ok(None));
    }
}
