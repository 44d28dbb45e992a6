//! Retention (PIPL art. 19 and 47): which entities of a node's own cities have served
//! their purpose long enough ago that their personal data is due for erasure, in every
//! family that holds personal data, and the erasure event to publish for each.
//!
//! An entity **ends** on the earlier of two days, whichever comes first:
//!
//! | family | ended early | ended by its dates |
//! |---|---|---|
//! | blacklist entry | revoked: the revocation's `effective_at` | `expires_at` |
//! | white-list entry | removed: the removal's `effective_at` | `valid_until` after every renewal |
//! | award | withdrawn or clawed back: `effective_at` | `funded_until` after every amendment |
//!
//! These are the days the entity's status leaves `ACTIVE` for good (`REVOKED`/`EXPIRED`,
//! `REMOVED`/`EXPIRED`, `WITHDRAWN`/`CLAWED_BACK`/`COMPLETED`). Suspension is no end: a
//! suspended blacklist entry may be reinstated. An entity is due once it ended more than
//! `retention_days` days before today and is not erased yet.

use std::collections::{BTreeMap, BTreeSet};

use hub_types::event::{AwardErased, EntryErased};
use hub_types::fold::{Award, BlacklistEntry, EntityKey, History, WhitelistEntry};
use hub_types::values::{ErasureReason, Text};
use hub_types::{Body, Date, LocalId, MemberId, StreamId};

use crate::View;

/// A stream whose retention has run out, with the erasure to publish on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueErasure {
    /// The entity's stream.
    pub stream: StreamId,
    /// The erasure, with reason `retention_ended` and no order reference.
    pub body: Body,
}

/// An entity that names a person: where it lives, whether its personal data is erased,
/// when it stopped serving its purpose, and the event that erases it.
pub(crate) trait PersonalEntity {
    /// The stream of entity `id` of `origin`.
    fn stream(origin: MemberId, id: LocalId) -> StreamId;
    /// True once the personal data is erased.
    fn is_erased(&self) -> bool;
    /// The day the entity ended (see the module's table), whatever today is.
    fn ended(&self) -> Date;
    /// The erasure of entity `id` because its retention ran out.
    fn retention_erasure(id: LocalId) -> Body;
}

impl PersonalEntity for BlacklistEntry {
    fn stream(origin: MemberId, id: LocalId) -> StreamId {
        StreamId::blacklist(origin, id)
    }

    fn is_erased(&self) -> bool {
        self.erased.is_some()
    }

    fn ended(&self) -> Date {
        match self.revocation() {
            Some((_, t)) => t.effective_at.min(self.added.expires_at),
            None => self.added.expires_at,
        }
    }

    fn retention_erasure(id: LocalId) -> Body {
        Body::BlacklistEntryErased(entry_erased(id))
    }
}

impl PersonalEntity for WhitelistEntry {
    fn stream(origin: MemberId, id: LocalId) -> StreamId {
        StreamId::whitelist(origin, id)
    }

    fn is_erased(&self) -> bool {
        self.erased.is_some()
    }

    fn ended(&self) -> Date {
        match &self.removed {
            Some(r) => r.effective_at.min(self.valid_until),
            None => self.valid_until,
        }
    }

    fn retention_erasure(id: LocalId) -> Body {
        Body::WhitelistEntryErased(entry_erased(id))
    }
}

impl PersonalEntity for Award {
    fn stream(origin: MemberId, id: LocalId) -> StreamId {
        StreamId::award(origin, id)
    }

    fn is_erased(&self) -> bool {
        self.erased.is_some()
    }

    fn ended(&self) -> Date {
        match &self.withdrawn {
            Some(w) => w.effective_at.min(self.terms.funded_until),
            None => self.terms.funded_until,
        }
    }

    fn retention_erasure(id: LocalId) -> Body {
        Body::AwardErased(AwardErased {
            award_id: id,
            reason: ErasureReason::RetentionEnded,
            order_ref: Text::default(),
        })
    }
}

fn entry_erased(id: LocalId) -> EntryErased {
    EntryErased {
        entry_id: id,
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    }
}

/// The streams of the erased entities among `entities`, in key order.
pub(crate) fn erased_streams<T: PersonalEntity>(
    entities: &BTreeMap<EntityKey, History<T>>,
) -> impl Iterator<Item = StreamId> + '_ {
    entities
        .iter()
        .filter(|(_, history)| history.current().is_erased())
        .map(|((origin, id), _)| T::stream(*origin, id.clone()))
}

/// Pushes the erasure of every entity of `origins` among `entities` that is not erased
/// and ended more than `retention_days` days before `today`.
fn push_due<T: PersonalEntity>(
    entities: &BTreeMap<EntityKey, History<T>>,
    origins: &BTreeSet<MemberId>,
    today: Date,
    retention_days: u32,
    due: &mut Vec<DueErasure>,
) {
    // In i64, so that no number of days wraps round to make everything due at once.
    let today = i64::from(today.days_since_epoch());
    for ((origin, id), history) in entities {
        let entity = history.current();
        if !origins.contains(origin) || entity.is_erased() {
            continue;
        }
        if i64::from(entity.ended().days_since_epoch()) + i64::from(retention_days) < today {
            due.push(DueErasure {
                stream: T::stream(*origin, id.clone()),
                body: T::retention_erasure(id.clone()),
            });
        }
    }
}

impl View {
    /// The erasures due on `today` among the entities of `origins`: blacklist entries,
    /// white-list entries and awards not erased yet that ended (see the module's table)
    /// more than `retention_days` days before, in that order of families and in key
    /// order within each.
    pub fn due_for_erasure(
        &self,
        origins: &BTreeSet<MemberId>,
        today: Date,
        retention_days: u32,
    ) -> Vec<DueErasure> {
        let inner = self.read();
        let s = &inner.state;
        let mut due = Vec::new();
        push_due(&s.entries, origins, today, retention_days, &mut due);
        push_due(&s.whitelist, origins, today, retention_days, &mut due);
        push_due(&s.awards, origins, today, retention_days, &mut due);
        due
    }
}
