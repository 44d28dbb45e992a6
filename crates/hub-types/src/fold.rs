//! The pure fold from events to the shared view, with every entity versioned by the log
//! position that changed it, so record-time ("as of position P") answers need no replay.
//!
//! Rules that keep the fold convergent: an event only touches entities of its own stream,
//! and every stream has a single writer (its origin). So any interleaving of origins that
//! keeps each origin's order folds to the same state. Events that make no sense for the
//! entity's current state (revising a closed signal, suspending a revoked entry, …) are
//! ignored and counted, deterministically, never fatal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::{
    AwardAmended, AwardErased, AwardWithdrawn, BlacklistEntryAdded, Body, CredentialRecognized,
    DemandSignalClosed, DemandTerms, EntryErased, EntryTransition, Event, EventKind,
    RecognitionWithdrawn, WhitelistEntryRemoved, WhitelistEntryRenewed,
};
use crate::ids::{LocalId, MemberId, Position, SubjectRef};
use crate::time::Date;
use crate::values::{Credential, CredentialKind, RevokeReason};

mod register;

pub use register::{Award, AwardStatus, WhitelistEntry, WhitelistStatus};

/// Every version of one entity, oldest first, each tagged with the position that made it.
/// Never empty: a decoded history without a version (from a damaged or forged snapshot)
/// is refused rather than left to fail when asked for its newest version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct History<T> {
    #[serde(deserialize_with = "at_least_one_version")]
    versions: Vec<(Position, T)>,
}

fn at_least_one_version<'de, D, T>(d: D) -> Result<Vec<(Position, T)>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let versions = Vec::<(Position, T)>::deserialize(d)?;
    if versions.is_empty() {
        return Err(serde::de::Error::custom(
            "an entity's history holds no version",
        ));
    }
    Ok(versions)
}

impl<T> History<T> {
    fn new(position: Position, value: T) -> Self {
        Self {
            versions: vec![(position, value)],
        }
    }

    /// The newest version.
    pub fn current(&self) -> &T {
        &self.versions[self.versions.len() - 1].1
    }

    /// The version the log held at `at` (inclusive); `None` if the entity did not exist yet.
    /// `None` for `at` means the newest.
    pub fn at(&self, at: Option<Position>) -> Option<&T> {
        self.made_at(at).map(|(_, value)| value)
    }

    /// As [`History::at`], with the position of the event that made that version.
    pub fn made_at(&self, at: Option<Position>) -> Option<(Position, &T)> {
        let n = match at {
            Some(at) => self.versions.partition_point(|(p, _)| *p <= at),
            None => self.versions.len(),
        };
        n.checked_sub(1).map(|i| {
            let (p, value) = &self.versions[i];
            (*p, value)
        })
    }

    /// The position that created the entity.
    pub fn created_at(&self) -> Position {
        self.versions[0].0
    }

    fn push(&mut self, position: Position, value: T) {
        debug_assert!(self.versions.last().is_some_and(|(p, _)| *p < position));
        self.versions.push((position, value));
    }
}

/// A recognition rule of one city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecognitionRule {
    /// The recognising city.
    pub recognizer: MemberId,
    /// The rule's terms (the latest `CredentialRecognized` for its id).
    pub terms: CredentialRecognized,
    /// Set once the rule is withdrawn.
    pub withdrawn: Option<RecognitionWithdrawn>,
}

impl RecognitionRule {
    /// True if the rule is in force on `date`.
    pub fn in_force(&self, date: Date) -> bool {
        let started = self.terms.effective_from <= date;
        let not_ended = self.terms.effective_until.is_none_or(|until| date <= until);
        let not_withdrawn = self
            .withdrawn
            .as_ref()
            .is_none_or(|w| date < w.effective_at);
        started && not_ended && not_withdrawn
    }

    /// True if the rule covers `credential` issued by `issuer`. Recognition is level for
    /// level, so kind, code and level must all match.
    pub fn covers(&self, credential: &Credential, issuer: MemberId) -> bool {
        self.terms.credential == *credential && self.terms.issuer.covers(issuer)
    }
}

/// A demand signal of one city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandSignal {
    /// The publishing city.
    pub origin: MemberId,
    /// The current terms.
    pub terms: DemandTerms,
    /// How many times the terms were revised.
    pub revisions: u32,
    /// Set once the signal is closed.
    pub closed: Option<DemandSignalClosed>,
}

impl DemandSignal {
    /// True if the signal is open on `date`.
    pub fn open_on(&self, date: Date) -> bool {
        self.closed.as_ref().is_none_or(|c| date < c.closed_at)
    }
}

/// Where a blacklist entry stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Not in force yet (before `effective_from`).
    Pending,
    /// In force.
    Active,
    /// An appeal is pending.
    Suspended,
    /// Past `expires_at`.
    Expired,
    /// Revoked for good.
    Revoked,
    /// The personal data is erased; the entry no longer names anyone.
    Erased,
}

impl EntryStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Erased => "erased",
        }
    }
}

/// A lifecycle step of a blacklist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Appeal pending.
    Suspended,
    /// Appeal failed.
    Reinstated,
    /// Revoked, with the reason.
    Revoked(RevokeReason),
}

/// A blacklist entry of one city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlacklistEntry {
    /// The deciding city.
    pub origin: MemberId,
    /// The decision.
    pub added: BlacklistEntryAdded,
    /// Lifecycle steps in stream order.
    pub steps: Vec<(Step, EntryTransition)>,
    /// Set once the personal data is erased; nothing changes the entry after that.
    pub erased: Option<EntryErased>,
    /// The stream version of the event that made this version of the entry.
    pub version: u64,
}

impl BlacklistEntry {
    /// The entry's status on `date`: erasure wins whatever the date, then revocation, then
    /// the entry's period, then the last suspension or reinstatement in force on that date.
    pub fn status_on(&self, date: Date) -> EntryStatus {
        if self.erased.is_some() {
            return EntryStatus::Erased;
        }
        let in_force = |t: &EntryTransition| t.effective_at <= date;
        if self
            .steps
            .iter()
            .any(|(s, t)| matches!(s, Step::Revoked(_)) && in_force(t))
        {
            return EntryStatus::Revoked;
        }
        if date < self.added.effective_from {
            return EntryStatus::Pending;
        }
        if date > self.added.expires_at {
            return EntryStatus::Expired;
        }
        let last = self
            .steps
            .iter()
            .rev()
            .find(|(s, t)| !matches!(s, Step::Revoked(_)) && in_force(t));
        match last {
            Some((Step::Suspended, _)) => EntryStatus::Suspended,
            _ => EntryStatus::Active,
        }
    }

    /// The revocation, if any, whatever its date.
    pub fn revocation(&self) -> Option<(RevokeReason, &EntryTransition)> {
        self.steps.iter().find_map(|(s, t)| match s {
            Step::Revoked(r) => Some((*r, t)),
            _ => None,
        })
    }

    /// The lifecycle state regardless of dates: what the next step may be.
    fn lifecycle(&self) -> Option<Step> {
        self.steps.last().map(|(s, _)| *s)
    }
}

/// How an event changed the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The view changed.
    Changed,
    /// The event's kind is unknown to this build; stored but skipped.
    SkippedUnknown,
    /// The event made no sense for its entity's state (e.g. revising a closed signal).
    Ignored,
}

/// Key of a recognition rule: recognising city and rule id.
pub type RuleKey = (MemberId, LocalId);
/// Key of a demand signal, blacklist or white-list entry or award: origin and local id.
pub type EntityKey = (MemberId, LocalId);

/// Key of the recognition index: recognising city and credential kind, code and level.
pub type CredentialKey = (MemberId, CredentialKind, String, String);

/// The shared view: every entity of the four families, versioned by position.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ViewState {
    /// Recognition rules by (recognizer, rule id).
    pub rules: BTreeMap<RuleKey, History<RecognitionRule>>,
    /// Demand signals by (origin, signal id).
    pub signals: BTreeMap<EntityKey, History<DemandSignal>>,
    /// Blacklist entries by (origin, entry id).
    pub entries: BTreeMap<EntityKey, History<BlacklistEntry>>,
    /// Rules by the credential they name (every version's credential; filter on lookup).
    pub rules_by_credential: BTreeMap<CredentialKey, Vec<RuleKey>>,
    /// Entries by subject, each list in key order (origin, then entry id).
    pub entries_by_subject: BTreeMap<SubjectRef, Vec<EntityKey>>,
    /// White-list entries by (origin, entry id).
    pub whitelist: BTreeMap<EntityKey, History<WhitelistEntry>>,
    /// White-list entries by subject, each list in key order.
    pub whitelist_by_subject: BTreeMap<SubjectRef, Vec<EntityKey>>,
    /// Awards by (origin, award id).
    pub awards: BTreeMap<EntityKey, History<Award>>,
    /// Awards by subject, each list in key order.
    pub awards_by_subject: BTreeMap<SubjectRef, Vec<EntityKey>>,
    /// Events folded, per kind (unknown kinds included).
    pub counts: BTreeMap<EventKind, u64>,
    /// Events ignored because they made no sense for their entity's state.
    pub ignored: u64,
    /// Position of the last event folded.
    pub position: Option<Position>,
}

/// An event of a batch that names a rule, signal or entry that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownReference {
    /// The event's index in its batch.
    pub index: usize,
    /// The body field holding the id, relative to `body`, e.g. `recognition_withdrawn.rule_id`.
    pub field: String,
    /// What the id should name, e.g. `recognition rule`.
    pub what: &'static str,
    /// The id named.
    pub id: LocalId,
}

impl ViewState {
    /// The first of `bodies` (a batch for one stream of `owner`) that changes a rule,
    /// signal or entry neither folded here nor created earlier in the batch. The publishing
    /// node refuses such a batch; the fold itself ignores such events when they arrive by
    /// replication.
    pub fn unknown_reference<'a>(
        &self,
        owner: MemberId,
        bodies: impl IntoIterator<Item = &'a Body>,
    ) -> Option<UnknownReference> {
        let mut created: Vec<&LocalId> = Vec::new();
        for (index, body) in bodies.into_iter().enumerate() {
            let (id, field, what, exists) = match body {
                Body::CredentialRecognized(r) => {
                    created.push(&r.rule_id);
                    continue;
                }
                Body::DemandSignalPublished(t) => {
                    created.push(&t.signal_id);
                    continue;
                }
                Body::BlacklistEntryAdded(a) => {
                    created.push(&a.entry_id);
                    continue;
                }
                Body::WhitelistEntryAdded(a) => {
                    created.push(&a.entry_id);
                    continue;
                }
                Body::AwardGranted(a) => {
                    created.push(&a.award_id);
                    continue;
                }
                Body::WhitelistEntryRenewed(WhitelistEntryRenewed { entry_id: id, .. })
                | Body::WhitelistEntryRemoved(WhitelistEntryRemoved { entry_id: id, .. })
                | Body::WhitelistEntryErased(EntryErased { entry_id: id, .. }) => (
                    id,
                    "entry_id",
                    "white-list entry",
                    self.whitelist.contains_key(&(owner, id.clone())),
                ),
                Body::AwardAmended(AwardAmended { award_id: id, .. })
                | Body::AwardWithdrawn(AwardWithdrawn { award_id: id, .. })
                | Body::AwardErased(AwardErased { award_id: id, .. }) => (
                    id,
                    "award_id",
                    "award",
                    self.awards.contains_key(&(owner, id.clone())),
                ),
                Body::RecognitionWithdrawn(w) => (
                    &w.rule_id,
                    "rule_id",
                    "recognition rule",
                    self.rules.contains_key(&(owner, w.rule_id.clone())),
                ),
                Body::DemandSignalRevised(DemandTerms { signal_id: id, .. })
                | Body::DemandSignalClosed(DemandSignalClosed { signal_id: id, .. }) => (
                    id,
                    "signal_id",
                    "demand signal",
                    self.signals.contains_key(&(owner, id.clone())),
                ),
                Body::BlacklistEntrySuspended(EntryTransition { entry_id: id, .. })
                | Body::BlacklistEntryReinstated(EntryTransition { entry_id: id, .. })
                | Body::BlacklistEntryRevoked {
                    transition: EntryTransition { entry_id: id, .. },
                    ..
                }
                | Body::BlacklistEntryErased(EntryErased { entry_id: id, .. }) => (
                    id,
                    "entry_id",
                    "blacklist entry",
                    self.entries.contains_key(&(owner, id.clone())),
                ),
                Body::Unknown => continue,
            };
            if !exists && !created.contains(&id) {
                return Some(UnknownReference {
                    index,
                    field: format!("{}.{field}", body.kind().as_str()),
                    what,
                    id: id.clone(),
                });
            }
        }
        None
    }

    /// Folds one event into the view. Events must come in log order (positions rising).
    pub fn apply(&mut self, event: &Event) -> Applied {
        debug_assert!(self.position.is_none_or(|p| p < event.position));
        self.position = Some(event.position);
        *self.counts.entry(event.body.kind()).or_default() += 1;
        let applied = self.apply_body(event);
        if applied == Applied::Ignored {
            self.ignored += 1;
        }
        applied
    }

    fn apply_body(&mut self, event: &Event) -> Applied {
        let owner = event.stream.owner();
        let pos = event.position;
        let version = event.stream_version;
        match &event.body {
            Body::Unknown => Applied::SkippedUnknown,
            Body::CredentialRecognized(terms) => {
                let key = (owner, terms.rule_id.clone());
                let rule = RecognitionRule {
                    recognizer: owner,
                    terms: terms.clone(),
                    withdrawn: None,
                };
                let index_key = (
                    owner,
                    terms.credential.kind,
                    terms.credential.code.clone(),
                    terms.credential.level.clone(),
                );
                let keys = self.rules_by_credential.entry(index_key).or_default();
                if !keys.contains(&key) {
                    keys.push(key.clone());
                }
                match self.rules.get_mut(&key) {
                    Some(history) => history.push(pos, rule),
                    None => {
                        self.rules.insert(key, History::new(pos, rule));
                    }
                }
                Applied::Changed
            }
            Body::RecognitionWithdrawn(w) => {
                let Some(history) = self.rules.get_mut(&(owner, w.rule_id.clone())) else {
                    return Applied::Ignored;
                };
                if history.current().withdrawn.is_some() {
                    return Applied::Ignored;
                }
                let mut rule = history.current().clone();
                rule.withdrawn = Some(w.clone());
                history.push(pos, rule);
                Applied::Changed
            }
            Body::DemandSignalPublished(terms) => {
                let key = (owner, terms.signal_id.clone());
                if self.signals.contains_key(&key) {
                    return Applied::Ignored;
                }
                let signal = DemandSignal {
                    origin: owner,
                    terms: terms.clone(),
                    revisions: 0,
                    closed: None,
                };
                self.signals.insert(key, History::new(pos, signal));
                Applied::Changed
            }
            Body::DemandSignalRevised(terms) => {
                self.update_signal(owner, &terms.signal_id, pos, |s| {
                    s.terms = terms.clone();
                    s.revisions += 1;
                })
            }
            Body::DemandSignalClosed(c) => self.update_signal(owner, &c.signal_id, pos, |s| {
                s.closed = Some(c.clone());
            }),
            Body::BlacklistEntryAdded(added) => {
                let key = (owner, added.entry_id.clone());
                if self.entries.contains_key(&key) {
                    return Applied::Ignored;
                }
                // Kept in key order, not arrival order: entries of different origins arrive
                // in any interleaving, and every node must list a subject's entries alike.
                let keys = self
                    .entries_by_subject
                    .entry(added.subject_ref)
                    .or_default();
                let at = keys.partition_point(|k| *k < key);
                keys.insert(at, key.clone());
                let entry = BlacklistEntry {
                    origin: owner,
                    added: added.clone(),
                    steps: Vec::new(),
                    erased: None,
                    version,
                };
                self.entries.insert(key, History::new(pos, entry));
                Applied::Changed
            }
            Body::BlacklistEntrySuspended(t) => {
                self.step_entry(owner, pos, version, t, Step::Suspended, |last| {
                    matches!(last, None | Some(Step::Reinstated))
                })
            }
            Body::BlacklistEntryReinstated(t) => {
                self.step_entry(owner, pos, version, t, Step::Reinstated, |last| {
                    last == Some(Step::Suspended)
                })
            }
            Body::BlacklistEntryRevoked { transition, reason } => self.step_entry(
                owner,
                pos,
                version,
                transition,
                Step::Revoked(*reason),
                |last| !matches!(last, Some(Step::Revoked(_))),
            ),
            Body::WhitelistEntryAdded(a) => self.whitelist_added(owner, pos, version, a),
            Body::WhitelistEntryRenewed(r) => self.whitelist_renewed(owner, pos, version, r),
            Body::WhitelistEntryRemoved(r) => self.whitelist_removed(owner, pos, version, r),
            Body::WhitelistEntryErased(x) => self.whitelist_erased(owner, pos, version, x),
            Body::AwardGranted(g) => self.award_granted(owner, pos, version, g),
            Body::AwardAmended(a) => self.award_amended(owner, pos, version, a),
            Body::AwardWithdrawn(w) => self.award_withdrawn(owner, pos, version, w),
            Body::AwardErased(x) => self.award_erased(owner, pos, version, x),
            Body::BlacklistEntryErased(erased) => {
                let Some(history) = self.entries.get_mut(&(owner, erased.entry_id.clone())) else {
                    return Applied::Ignored;
                };
                if history.current().erased.is_some() {
                    return Applied::Ignored;
                }
                let mut entry = history.current().clone();
                entry.erased = Some(erased.clone());
                entry.version = version;
                history.push(pos, entry);
                Applied::Changed
            }
        }
    }

    fn update_signal(
        &mut self,
        owner: MemberId,
        id: &LocalId,
        pos: Position,
        change: impl FnOnce(&mut DemandSignal),
    ) -> Applied {
        let Some(history) = self.signals.get_mut(&(owner, id.clone())) else {
            return Applied::Ignored;
        };
        if history.current().closed.is_some() {
            return Applied::Ignored;
        }
        let mut signal = history.current().clone();
        change(&mut signal);
        history.push(pos, signal);
        Applied::Changed
    }

    fn step_entry(
        &mut self,
        owner: MemberId,
        pos: Position,
        version: u64,
        transition: &EntryTransition,
        step: Step,
        allowed_after: impl FnOnce(Option<Step>) -> bool,
    ) -> Applied {
        let Some(history) = self.entries.get_mut(&(owner, transition.entry_id.clone())) else {
            return Applied::Ignored;
        };
        if history.current().erased.is_some() || !allowed_after(history.current().lifecycle()) {
            return Applied::Ignored;
        }
        let mut entry = history.current().clone();
        entry.steps.push((step, transition.clone()));
        entry.version = version;
        history.push(pos, entry);
        Applied::Changed
    }

    /// Total events folded.
    pub fn event_count(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Events skipped because their kind is unknown.
    pub fn skipped_unknown(&self) -> u64 {
        self.counts.get(&EventKind::Unknown).copied().unwrap_or(0)
    }

    /// SHA-256 over the canonical content of the view as of `at` (the newest when `None`):
    /// every entity's state in key order, without positions, so two nodes holding the same
    /// events in any interleaving of origins agree.
    pub fn digest(&self, at: Option<Position>) -> [u8; 32] {
        let mut hasher = Sha256::new();
        digest_section(&mut hasher, b"rules", &self.rules, at);
        digest_section(&mut hasher, b"signals", &self.signals, at);
        digest_section(&mut hasher, b"entries", &self.entries, at);
        // Sections added after the first release count only once they hold something as
        // of `at`, so a view without them keeps the digest older builds compute.
        if self.whitelist.values().any(|h| h.at(at).is_some()) {
            digest_section(&mut hasher, b"whitelist", &self.whitelist, at);
        }
        if self.awards.values().any(|h| h.at(at).is_some()) {
            digest_section(&mut hasher, b"awards", &self.awards, at);
        }
        hasher.finalize().into()
    }
}

fn digest_section<K: Serialize, T: Serialize>(
    hasher: &mut Sha256,
    tag: &[u8],
    map: &BTreeMap<K, History<T>>,
    at: Option<Position>,
) {
    hasher.update(tag);
    for (key, history) in map {
        let Some(value) = history.at(at) else {
            continue;
        };
        // Serializing plain data types with derived impls cannot fail.
        let bytes = serde_json::to_vec(&(key, value)).expect("view entities serialize");
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_without_a_version_is_refused_when_decoded() {
        let empty: Vec<(Position, u32)> = Vec::new();
        let bytes = bincode::serialize(&empty).expect("encode");
        let refused = bincode::deserialize::<History<u32>>(&bytes).expect_err("empty");
        assert!(
            refused.to_string().contains("holds no version"),
            "{refused}"
        );
        let one = History::new(Position::FIRST, 7u32);
        let bytes = bincode::serialize(&one).expect("encode");
        let back: History<u32> = bincode::deserialize(&bytes).expect("one version");
        assert_eq!(*back.current(), 7);
    }
}
