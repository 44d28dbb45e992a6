//! The talent register: white-list entries and programme awards, folded like blacklist
//! entries (one stream per entity, single writer, nonsensical steps ignored).

use serde::{Deserialize, Serialize};

use super::{Applied, EntityKey, History, ViewState};
use crate::event::{
    AwardAmended, AwardErased, AwardGranted, AwardWithdrawn, EntryErased, WhitelistEntryAdded,
    WhitelistEntryRemoved, WhitelistEntryRenewed,
};
use crate::ids::{MemberId, Position, SubjectRef};
use crate::time::Date;
use crate::values::AwardEnd;

/// Where a white-list entry stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhitelistStatus {
    /// Not in force yet (before `valid_from`).
    Pending,
    /// In force: the holder is fast-tracked.
    Active,
    /// Past its last day.
    Expired,
    /// Removed by its city.
    Removed,
    /// The personal data is erased; the entry no longer names anyone.
    Erased,
}

impl WhitelistStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Removed => "removed",
            Self::Erased => "erased",
        }
    }
}

/// A white-list entry of one city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhitelistEntry {
    /// The certifying city.
    pub origin: MemberId,
    /// The certification as added.
    pub added: WhitelistEntryAdded,
    /// The last day in force after every renewal.
    pub valid_until: Date,
    /// Renewals in stream order.
    pub renewals: Vec<WhitelistEntryRenewed>,
    /// Set once the entry is removed.
    pub removed: Option<WhitelistEntryRemoved>,
    /// Set once the personal data is erased; nothing changes the entry after that.
    pub erased: Option<EntryErased>,
    /// The stream version of the event that made this version of the entry.
    pub version: u64,
}

impl WhitelistEntry {
    /// The entry's status on `date`: erasure wins whatever the date, then removal in
    /// force, then the certification's period.
    pub fn status_on(&self, date: Date) -> WhitelistStatus {
        if self.erased.is_some() {
            return WhitelistStatus::Erased;
        }
        if self
            .removed
            .as_ref()
            .is_some_and(|r| r.effective_at <= date)
        {
            return WhitelistStatus::Removed;
        }
        if date < self.added.valid_from {
            return WhitelistStatus::Pending;
        }
        if date > self.valid_until {
            return WhitelistStatus::Expired;
        }
        WhitelistStatus::Active
    }
}

/// Where an award stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardStatus {
    /// Funding has not started.
    Pending,
    /// Funded.
    Active,
    /// The funding period is over.
    Completed,
    /// Withdrawn early.
    Withdrawn,
    /// Clawed back as a sanction.
    ClawedBack,
    /// The personal data is erased; the award no longer names anyone.
    Erased,
}

impl AwardStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Withdrawn => "withdrawn",
            Self::ClawedBack => "clawed_back",
            Self::Erased => "erased",
        }
    }
}

/// A programme award of one city, with its amendments applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Award {
    /// The granting city.
    pub origin: MemberId,
    /// The grant with every amendment applied (title, amount, period, decision).
    pub terms: AwardGranted,
    /// How many times it was amended.
    pub amendments: u32,
    /// Set once the award is withdrawn or clawed back.
    pub withdrawn: Option<AwardWithdrawn>,
    /// Set once the personal data is erased; nothing changes the award after that.
    pub erased: Option<AwardErased>,
    /// The stream version of the event that made this version of the award.
    pub version: u64,
}

impl Award {
    /// The award's status on `date`: erasure wins whatever the date, then an early end in
    /// force, then the funding period.
    pub fn status_on(&self, date: Date) -> AwardStatus {
        if self.erased.is_some() {
            return AwardStatus::Erased;
        }
        if let Some(w) = self.withdrawn.as_ref().filter(|w| w.effective_at <= date) {
            return match w.outcome {
                AwardEnd::Withdrawn => AwardStatus::Withdrawn,
                AwardEnd::ClawedBack => AwardStatus::ClawedBack,
            };
        }
        if date < self.terms.funded_from {
            return AwardStatus::Pending;
        }
        if date > self.terms.funded_until {
            return AwardStatus::Completed;
        }
        AwardStatus::Active
    }

    /// The days the award funds, first and last, or `None` if it funds none: a clawed-back
    /// award is void from its start, a withdrawn one ends the day before it is withdrawn.
    pub fn funded_days(&self) -> Option<(Date, Date)> {
        let from = self.terms.funded_from;
        let mut until = self.terms.funded_until;
        if let Some(w) = &self.withdrawn {
            match w.outcome {
                AwardEnd::ClawedBack => return None,
                AwardEnd::Withdrawn => {
                    let last = Date::from_days_since_epoch(w.effective_at.days_since_epoch() - 1);
                    until = until.min(last);
                }
            }
        }
        (from <= until).then_some((from, until))
    }
}

/// Inserts `key` into a subject index kept in key order, so every node lists a subject's
/// entities alike whatever the interleaving of origins.
fn index(
    map: &mut std::collections::BTreeMap<SubjectRef, Vec<EntityKey>>,
    subject: SubjectRef,
    key: &EntityKey,
) {
    let keys = map.entry(subject).or_default();
    let at = keys.partition_point(|k| k < key);
    keys.insert(at, key.clone());
}

/// Pushes a changed copy of an entity's newest version, unless `change` refuses it.
fn step<T: Clone>(
    history: Option<&mut History<T>>,
    pos: Position,
    change: impl FnOnce(&mut T) -> bool,
) -> Applied {
    let Some(history) = history else {
        return Applied::Ignored;
    };
    let mut next = history.current().clone();
    if !change(&mut next) {
        return Applied::Ignored;
    }
    history.push(pos, next);
    Applied::Changed
}

impl ViewState {
    pub(super) fn whitelist_added(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        added: &WhitelistEntryAdded,
    ) -> Applied {
        let key = (owner, added.entry_id.clone());
        if self.whitelist.contains_key(&key) {
            return Applied::Ignored;
        }
        index(&mut self.whitelist_by_subject, added.subject_ref, &key);
        let entry = WhitelistEntry {
            origin: owner,
            added: added.clone(),
            valid_until: added.valid_until,
            renewals: Vec::new(),
            removed: None,
            erased: None,
            version,
        };
        self.whitelist.insert(key, History::new(pos, entry));
        Applied::Changed
    }

    pub(super) fn whitelist_renewed(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        r: &WhitelistEntryRenewed,
    ) -> Applied {
        // A renewal extends: one that does not move the last day later is ignored.
        step(
            self.whitelist.get_mut(&(owner, r.entry_id.clone())),
            pos,
            |e| {
                let open = e.erased.is_none() && e.removed.is_none();
                if !open || r.valid_until <= e.valid_until {
                    return false;
                }
                e.valid_until = r.valid_until;
                e.renewals.push(r.clone());
                e.version = version;
                true
            },
        )
    }

    pub(super) fn whitelist_removed(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        r: &WhitelistEntryRemoved,
    ) -> Applied {
        step(
            self.whitelist.get_mut(&(owner, r.entry_id.clone())),
            pos,
            |e| {
                if e.erased.is_some() || e.removed.is_some() {
                    return false;
                }
                e.removed = Some(r.clone());
                e.version = version;
                true
            },
        )
    }

    pub(super) fn whitelist_erased(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        x: &EntryErased,
    ) -> Applied {
        step(
            self.whitelist.get_mut(&(owner, x.entry_id.clone())),
            pos,
            |e| {
                if e.erased.is_some() {
                    return false;
                }
                e.erased = Some(x.clone());
                e.version = version;
                true
            },
        )
    }

    pub(super) fn award_granted(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        granted: &AwardGranted,
    ) -> Applied {
        let key = (owner, granted.award_id.clone());
        if self.awards.contains_key(&key) {
            return Applied::Ignored;
        }
        index(&mut self.awards_by_subject, granted.subject_ref, &key);
        let award = Award {
            origin: owner,
            terms: granted.clone(),
            amendments: 0,
            withdrawn: None,
            erased: None,
            version,
        };
        self.awards.insert(key, History::new(pos, award));
        Applied::Changed
    }

    pub(super) fn award_amended(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        a: &AwardAmended,
    ) -> Applied {
        step(
            self.awards.get_mut(&(owner, a.award_id.clone())),
            pos,
            |award| {
                if award.erased.is_some() || award.withdrawn.is_some() {
                    return false;
                }
                let t = &mut award.terms;
                t.project_title = a.project_title.clone();
                t.amount_cny = a.amount_cny;
                t.funded_from = a.funded_from;
                t.funded_until = a.funded_until;
                t.decision_ref = a.decision_ref.clone();
                award.amendments += 1;
                award.version = version;
                true
            },
        )
    }

    pub(super) fn award_withdrawn(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        w: &AwardWithdrawn,
    ) -> Applied {
        step(
            self.awards.get_mut(&(owner, w.award_id.clone())),
            pos,
            |award| {
                if award.erased.is_some() || award.withdrawn.is_some() {
                    return false;
                }
                award.withdrawn = Some(w.clone());
                award.version = version;
                true
            },
        )
    }

    pub(super) fn award_erased(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        x: &AwardErased,
    ) -> Applied {
        step(
            self.awards.get_mut(&(owner, x.award_id.clone())),
            pos,
            |award| {
                if award.erased.is_some() {
                    return false;
                }
                award.erased = Some(x.clone());
                award.version = version;
                true
            },
        )
    }
}
