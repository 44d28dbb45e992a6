//! Talent register questions: screen an application across every city, a subject's
//! white-list status, a city's awards, and the register's totals without personal data.

use std::collections::BTreeMap;

use hub_log::vault::{self, KeyState, Vault};
use hub_proto::budget::{fit, ByteBudget};
use hub_proto::convert::{
    award_category_from_proto, award_category_to_proto, award_level_from_proto,
    award_level_to_proto, category_to_proto, tier_to_proto,
};
use hub_proto::pb;
use hub_types::error::AtField;
use hub_types::event::{Personal, PersonalFields};
use hub_types::fold::{
    Award, AwardStatus, EntityKey, EntryStatus, History, WhitelistEntry, WhitelistStatus,
};
use hub_types::values::{self, AwardCategory, AwardLevel, BlacklistCategory};
use hub_types::{Date, MemberId, Position, StreamId, SubjectRef, ValidationError};
use serde::{Deserialize, Serialize};

use crate::axes::{resolve, Axes};
use crate::blacklist::entry_to_proto;
use crate::paging::{first_of, Listing, Pager};
use crate::{Inner, Result, View};

/// The alliance's duplicate-application rules (`[view.screening]`), shown in every
/// screening answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreeningRules {
    /// An overlapping award of the same category and level conflicts.
    pub same_category_and_level: bool,
    /// An overlapping award of the same category at any level conflicts.
    pub same_category: bool,
    /// The amount applied for plus the overlapping awards of the same category may not
    /// exceed this many CNY; 0 = no cap.
    pub amount_cap_cny: u64,
    /// Blacklist categories that bar an applicant; empty = every category.
    pub barring_categories: Vec<BlacklistCategory>,
}

impl Default for ScreeningRules {
    fn default() -> Self {
        Self {
            same_category_and_level: true,
            same_category: false,
            amount_cap_cny: 0,
            barring_categories: Vec::new(),
        }
    }
}

impl ScreeningRules {
    fn to_proto(&self) -> pb::ScreeningRules {
        pb::ScreeningRules {
            same_category_and_level: self.same_category_and_level,
            same_category: self.same_category,
            amount_cap_cny: self.amount_cap_cny,
            barring_categories: self
                .barring_categories
                .iter()
                .map(|c| category_to_proto(*c) as i32)
                .collect(),
        }
    }

    fn bars(&self, category: BlacklistCategory) -> bool {
        self.barring_categories.is_empty() || self.barring_categories.contains(&category)
    }
}

/// The personal fields of an entity as this node can show them: in the clear as sent,
/// opened with the entity's key, or why not.
pub(crate) fn open_personal(
    personal: &Personal,
    stream: &StreamId,
    erased: bool,
    vault: Option<&Vault>,
) -> (Option<PersonalFields>, pb::PersonalState) {
    if erased {
        return (None, pb::PersonalState::Erased);
    }
    let sealed = match personal {
        Personal::Plain(fields) => return (Some(fields.clone()), pb::PersonalState::Shown),
        Personal::Sealed(sealed) => sealed,
    };
    match vault.map(|v| v.get(stream)) {
        Some(KeyState::Live(key)) => match vault::open(&key, stream, sealed) {
            Some(fields) => (Some(fields), pb::PersonalState::Shown),
            None => {
                tracing::warn!(%stream, "the entity's key does not open its sealed fields");
                (None, pb::PersonalState::KeyMissing)
            }
        },
        Some(KeyState::Destroyed) => (None, pb::PersonalState::Erased),
        Some(KeyState::Missing) | None => (None, pb::PersonalState::KeyMissing),
    }
}

fn event_ref(stream: &StreamId, version: u64, position: Position) -> pb::EventRef {
    pb::EventRef {
        stream: stream.to_string(),
        stream_version: version,
        position: position.get(),
    }
}

fn whitelist_status_to_proto(s: WhitelistStatus) -> pb::WhitelistStatus {
    match s {
        WhitelistStatus::Pending => pb::WhitelistStatus::Pending,
        WhitelistStatus::Active => pb::WhitelistStatus::Active,
        WhitelistStatus::Expired => pb::WhitelistStatus::Expired,
        WhitelistStatus::Removed => pb::WhitelistStatus::Removed,
        WhitelistStatus::Erased => pb::WhitelistStatus::Erased,
    }
}

fn award_status_to_proto(s: AwardStatus) -> pb::AwardStatus {
    match s {
        AwardStatus::Pending => pb::AwardStatus::Pending,
        AwardStatus::Active => pb::AwardStatus::Active,
        AwardStatus::Completed => pb::AwardStatus::Completed,
        AwardStatus::Withdrawn => pb::AwardStatus::Withdrawn,
        AwardStatus::ClawedBack => pb::AwardStatus::ClawedBack,
        AwardStatus::Erased => pb::AwardStatus::Erased,
    }
}

fn whitelist_to_proto(
    e: &WhitelistEntry,
    position: Position,
    date: Date,
    vault: Option<&Vault>,
) -> pb::WhitelistEntryView {
    let a = &e.added;
    let stream = StreamId::whitelist(e.origin, a.entry_id.clone());
    let (fields, state) = open_personal(&a.personal, &stream, e.erased.is_some(), vault);
    pb::WhitelistEntryView {
        origin: e.origin.to_string(),
        entry_id: a.entry_id.to_string(),
        // An erased entry no longer names anyone, not even by reference.
        subject_ref: if e.erased.is_some() {
            String::new()
        } else {
            a.subject_ref.to_string()
        },
        subject_display: fields
            .map(|f| f.subject_display.to_string())
            .unwrap_or_default(),
        personal: state as i32,
        tier: tier_to_proto(a.tier) as i32,
        scheme: a.scheme.to_string(),
        valid_from: a.valid_from.to_string(),
        valid_until: e.valid_until.to_string(),
        basis_ref: e
            .renewals
            .last()
            .map_or(&a.basis_ref, |r| &r.basis_ref)
            .to_string(),
        status: whitelist_status_to_proto(e.status_on(date)) as i32,
        removed_at: e
            .removed
            .as_ref()
            .map(|r| r.effective_at.to_string())
            .unwrap_or_default(),
        removal_reason: e
            .removed
            .as_ref()
            .map(|r| r.reason.to_string())
            .unwrap_or_default(),
        source: Some(event_ref(&stream, e.version, position)),
    }
}

fn award_to_proto(
    a: &Award,
    position: Position,
    date: Date,
    vault: Option<&Vault>,
) -> pb::AwardView {
    let t = &a.terms;
    let stream = StreamId::award(a.origin, t.award_id.clone());
    let (fields, state) = open_personal(&t.personal, &stream, a.erased.is_some(), vault);
    pb::AwardView {
        origin: a.origin.to_string(),
        award_id: t.award_id.to_string(),
        subject_ref: if a.erased.is_some() {
            String::new()
        } else {
            t.subject_ref.to_string()
        },
        subject_display: fields
            .map(|f| f.subject_display.to_string())
            .unwrap_or_default(),
        personal: state as i32,
        programme_code: t.programme_code.to_string(),
        category: award_category_to_proto(t.category) as i32,
        level: award_level_to_proto(t.level) as i32,
        project_title: t.project_title.to_string(),
        amount_cny: t.amount_cny,
        funded_from: t.funded_from.to_string(),
        funded_until: t.funded_until.to_string(),
        decision_ref: t.decision_ref.to_string(),
        status: award_status_to_proto(a.status_on(date)) as i32,
        amendments: a.amendments,
        ended_at: a
            .withdrawn
            .as_ref()
            .map(|w| w.effective_at.to_string())
            .unwrap_or_default(),
        end_reason: a
            .withdrawn
            .as_ref()
            .map(|w| format!("{}: {}", w.outcome.as_str(), w.reason))
            .unwrap_or_default(),
        source: Some(event_ref(&stream, a.version, position)),
    }
}

/// The id every other id sorts at or after: ids start with a letter or digit, and `0`
/// is the smallest of those.
/// Parses a required subject reference.
fn subject(raw: &str) -> Result<SubjectRef, ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(
            "subject_ref",
            "must be set (or give national_id)",
        ));
    }
    raw.parse().at("subject_ref")
}

/// Parses a funding period; either end may be optional.
fn period(
    from: &str,
    until: &str,
    required: bool,
) -> Result<(Option<Date>, Option<Date>), ValidationError> {
    let day = |raw: &str, field: &str| -> Result<Option<Date>, ValidationError> {
        if raw.is_empty() {
            return if required {
                Err(ValidationError::new(field, "must be set (YYYY-MM-DD)"))
            } else {
                Ok(None)
            };
        }
        raw.parse().at(field).map(Some)
    };
    let first = day(from, "funded_from")?;
    let last = day(until, "funded_until")?;
    if let (Some(f), Some(l)) = (first, last) {
        if l < f {
            return Err(ValidationError::new(
                "funded_until",
                format!("must not be before funded_from {f}, got {l}"),
            ));
        }
    }
    Ok((first, last))
}

/// True if the funded days `(from, until)` meet the period `[first, last]`, either end
/// of which may be open.
fn overlaps(days: (Date, Date), first: Option<Date>, last: Option<Date>) -> bool {
    first.is_none_or(|f| days.1 >= f) && last.is_none_or(|l| days.0 <= l)
}

/// A subject's entities of one kind as of the cut, in the index's key order, each with
/// the position that made the version used.
fn by_subject<'a, T>(
    index: &BTreeMap<SubjectRef, Vec<EntityKey>>,
    entities: &'a BTreeMap<EntityKey, History<T>>,
    axes: &Axes,
    subject: &SubjectRef,
) -> Vec<(Position, &'a T)> {
    index
        .get(subject)
        .into_iter()
        .flatten()
        .filter_map(|k| entities.get(k))
        .filter_map(|h| axes.made(h))
        .collect()
}

/// The applicant's awards as of the cut, erased ones left out.
fn subject_awards<'a>(
    inner: &'a Inner,
    axes: &Axes,
    subject: &SubjectRef,
) -> Vec<(Position, &'a Award)> {
    let s = &inner.state;
    let mut awards = by_subject(&s.awards_by_subject, &s.awards, axes, subject);
    awards.retain(|(_, a)| a.erased.is_none());
    awards
}

/// The subject's white-list entries as of the cut, erased ones left out.
fn subject_whitelist<'a>(
    inner: &'a Inner,
    axes: &Axes,
    subject: &SubjectRef,
) -> Vec<(Position, &'a WhitelistEntry)> {
    let s = &inner.state;
    let mut entries = by_subject(&s.whitelist_by_subject, &s.whitelist, axes, subject);
    entries.retain(|(_, e)| e.erased.is_none());
    entries
}

fn reason(rule: &str, explanation: String, events: Vec<pb::EventRef>) -> pb::ScreeningReason {
    pb::ScreeningReason {
        rule: rule.to_owned(),
        explanation,
        events,
    }
}

fn award_ref(a: &Award, position: Position) -> pb::EventRef {
    event_ref(
        &StreamId::award(a.origin, a.terms.award_id.clone()),
        a.version,
        position,
    )
}

fn describe(a: &Award) -> String {
    format!(
        "{} award {} of {} ({} {}, {} CNY, {}..{})",
        a.origin,
        a.terms.award_id,
        a.terms.programme_code,
        a.terms.level.as_str(),
        a.terms.category.as_str(),
        a.terms.amount_cny,
        a.terms.funded_from,
        a.terms.funded_until
    )
}

/// What an application asks for.
struct Application {
    category: AwardCategory,
    level: AwardLevel,
    first: Date,
    last: Date,
    amount: u64,
}

impl View {
    /// The configured screening rules.
    pub fn screening_rules(&self) -> &ScreeningRules {
        &self.config().screening
    }

    /// Answers `ScreenApplication`: barred by an active blacklist entry, in conflict with an
    /// overlapping award under the configured rules, or clear; white-list entries in force
    /// are reported as a fast track. Every reason names the events behind it.
    pub fn screen_application(
        &self,
        req: &pb::ScreenApplicationRequest,
    ) -> Result<pb::ScreenApplicationResponse> {
        let subject = subject(&req.subject_ref)?;
        let category = award_category_from_proto(req.category).at("category")?;
        let level = award_level_from_proto(req.level).at("level")?;
        let (first, last) = match period(&req.funded_from, &req.funded_until, true)? {
            (Some(first), Some(last)) => (first, last),
            // `period` refuses a missing date when both are required.
            _ => return Err(ValidationError::new("funded_from", "must be set").into()),
        };
        let app = Application {
            category,
            level,
            first,
            last,
            amount: values::award_amount(req.amount_cny).at("amount_cny")?,
        };
        let rules = self.screening_rules();
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let vault = self.vault();
        let mut reasons = Vec::new();

        let mut barring = Vec::new();
        let s = &inner.state;
        for (position, e) in by_subject(&s.entries_by_subject, &s.entries, &axes, &subject) {
            if e.status_on(axes.date) != EntryStatus::Active || !rules.bars(e.added.category) {
                continue;
            }
            let stream = StreamId::blacklist(e.origin, e.added.entry_id.clone());
            reasons.push(reason(
                "blacklisted",
                format!(
                    "{} blacklist entry {} ({}) is active on {} until {}",
                    e.origin,
                    e.added.entry_id,
                    category_to_proto(e.added.category).as_str_name(),
                    axes.date,
                    e.added.expires_at
                ),
                vec![event_ref(&stream, e.version, position)],
            ));
            barring.push(entry_to_proto(e, axes.date, vault));
        }

        let overlapping: Vec<(Position, &Award)> = subject_awards(&inner, &axes, &subject)
            .into_iter()
            .filter(|(_, a)| {
                a.funded_days()
                    .is_some_and(|days| overlaps(days, Some(app.first), Some(app.last)))
            })
            .collect();
        let mut conflict = false;
        for (position, a) in &overlapping {
            let t = &a.terms;
            let rule = if t.category != app.category {
                continue;
            } else if t.level == app.level && rules.same_category_and_level {
                "same_category_and_level"
            } else if rules.same_category {
                "same_category"
            } else {
                continue;
            };
            conflict = true;
            reasons.push(reason(
                rule,
                format!(
                    "{} overlaps the period applied for, {}..{}",
                    describe(a),
                    app.first,
                    app.last
                ),
                vec![award_ref(a, *position)],
            ));
        }
        let same_category: Vec<&(Position, &Award)> = overlapping
            .iter()
            .filter(|(_, a)| a.terms.category == app.category)
            .collect();
        let total = app.amount
            + same_category
                .iter()
                .map(|(_, a)| a.terms.amount_cny)
                .sum::<u64>();
        if rules.amount_cap_cny > 0 && !same_category.is_empty() && total > rules.amount_cap_cny {
            conflict = true;
            reasons.push(reason(
                "amount_cap",
                format!(
                    "{} CNY applied for plus {} CNY of {} overlapping {} award(s) is {} CNY, \
                     over the cap of {} CNY",
                    app.amount,
                    total - app.amount,
                    same_category.len(),
                    app.category.as_str(),
                    total,
                    rules.amount_cap_cny
                ),
                same_category
                    .iter()
                    .map(|(p, a)| award_ref(a, *p))
                    .collect(),
            ));
        }

        let mut fast_track = Vec::new();
        for (position, e) in subject_whitelist(&inner, &axes, &subject) {
            if e.status_on(axes.date) != WhitelistStatus::Active {
                continue;
            }
            let view = whitelist_to_proto(e, position, axes.date, vault);
            reasons.push(reason(
                "whitelisted",
                format!(
                    "{} white-list entry {} (tier {}, {}) is in force on {} until {}",
                    e.origin,
                    e.added.entry_id,
                    e.added.tier.as_str().to_uppercase(),
                    e.added.scheme,
                    axes.date,
                    e.valid_until
                ),
                view.source.clone().into_iter().collect(),
            ));
            fast_track.push(view);
        }

        let verdict = if !barring.is_empty() {
            pb::Verdict::Barred
        } else if conflict {
            pb::Verdict::Conflict
        } else {
            pb::Verdict::Clear
        };
        let mut answer = pb::ScreenApplicationResponse {
            verdict: verdict as i32,
            reasons,
            barring,
            overlapping: overlapping
                .iter()
                .map(|(p, a)| award_to_proto(a, *p, axes.date, vault))
                .collect(),
            fast_track,
            rules: Some(rules.to_proto()),
            basis: Some(axes.basis()),
            truncated: false,
        };
        fit_screening(&mut answer, self.config().page_bytes);
        Ok(answer)
    }

    /// Answers `WhitelistStatus`: every city's white-list entries for the subject.
    pub fn whitelist_status(
        &self,
        req: &pb::WhitelistStatusRequest,
    ) -> Result<pb::WhitelistStatusResponse> {
        let subject = subject(&req.subject_ref)?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let mut entries: Vec<pb::WhitelistEntryView> = subject_whitelist(&inner, &axes, &subject)
            .into_iter()
            .map(|(p, e)| whitelist_to_proto(e, p, axes.date, self.vault()))
            .collect();
        let active = pb::WhitelistStatus::Active as i32;
        let any_active = entries.iter().any(|e| e.status == active);
        let found = entries.len();
        fit(&mut entries, self.config().page_bytes);
        Ok(pb::WhitelistStatusResponse {
            any_active,
            truncated: entries.len() < found,
            entries,
            basis: Some(axes.basis()),
        })
    }

    /// Answers `ListAwards`: one city's awards in award-id order, filtered.
    pub fn list_awards(&self, req: &pb::ListAwardsRequest) -> Result<pb::ListAwardsResponse> {
        if req.origin.is_empty() {
            return Err(ValidationError::new("origin", "must be set (a member code)").into());
        }
        let origin: MemberId = req.origin.parse().at("origin")?;
        let category = (req.category != 0)
            .then(|| award_category_from_proto(req.category).at("category"))
            .transpose()?;
        let level = (req.level != 0)
            .then(|| award_level_from_proto(req.level).at("level"))
            .transpose()?;
        let (first, last) = period(&req.funded_from, &req.funded_until, false)?;
        let listing = Listing::parse(
            req.page_size,
            &req.page_token,
            req.time.as_ref(),
            Some(origin),
        )?;
        let inner = self.read();
        let axes = resolve(listing.time.as_ref(), &inner)?;
        let mut awards = Vec::new();
        let mut page = Pager::new(listing.limit, self.config().page_bytes, axes.position);
        let keys = inner.state.awards.range(listing.start(first_of(origin)));
        for ((o, id), history) in keys.take_while(|((o, _), _)| *o == origin) {
            let Some((position, award)) = axes.made(history) else {
                continue;
            };
            let t = &award.terms;
            let wanted = (req.programme_code.is_empty()
                || t.programme_code.as_str() == req.programme_code)
                && category.is_none_or(|c| c == t.category)
                && level.is_none_or(|l| l == t.level)
                && overlaps((t.funded_from, t.funded_until), first, last);
            if !wanted {
                continue;
            }
            if !page.push(&mut awards, (*o, id), || {
                award_to_proto(award, position, axes.date, self.vault())
            }) {
                break;
            }
        }
        Ok(pb::ListAwardsResponse {
            awards,
            next_page_token: page.next_token(),
            basis: Some(axes.basis()),
        })
    }

    /// Answers `RegisterSummary`: counts and amounts only, no subject and no name.
    pub fn register_summary(
        &self,
        req: &pb::RegisterSummaryRequest,
    ) -> Result<pb::RegisterSummaryResponse> {
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let mut awards: BTreeMap<(MemberId, AwardLevel, i32), (u64, u64)> = BTreeMap::new();
        for ((origin, _), history) in &inner.state.awards {
            let Some(a) = axes.version(history) else {
                continue;
            };
            if a.withdrawn.is_some() {
                continue;
            }
            let year = a.terms.funded_from.ymd().0;
            let total = awards.entry((*origin, a.terms.level, year)).or_default();
            total.0 += 1;
            total.1 += a.terms.amount_cny;
        }
        let mut whitelist: BTreeMap<(MemberId, hub_types::values::WhitelistTier), u64> =
            BTreeMap::new();
        for ((origin, _), history) in &inner.state.whitelist {
            let Some(e) = axes.version(history) else {
                continue;
            };
            if e.status_on(axes.date) == WhitelistStatus::Active {
                *whitelist.entry((*origin, e.added.tier)).or_default() += 1;
            }
        }
        Ok(pb::RegisterSummaryResponse {
            awards: awards
                .into_iter()
                .map(|((origin, level, year), (n, amount))| pb::AwardTotal {
                    origin: origin.to_string(),
                    level: award_level_to_proto(level) as i32,
                    year: year as u32,
                    awards: n,
                    amount_cny: amount,
                })
                .collect(),
            whitelist: whitelist
                .into_iter()
                .map(|((origin, tier), n)| pb::WhitelistTotal {
                    origin: origin.to_string(),
                    tier: tier_to_proto(tier) as i32,
                    entries: n,
                })
                .collect(),
            basis: Some(axes.basis()),
        })
    }
}

/// Keeps a screening answer within `bytes` of listed items: the reasons first, then the
/// barring entries, the overlapping awards and the fast track, each list cut where the next
/// item would pass the budget. Marks the answer truncated when anything was left out; the
/// verdict, computed before, is untouched.
fn fit_screening(answer: &mut pb::ScreenApplicationResponse, bytes: usize) {
    fn keep<M: prost::Message>(items: &mut Vec<M>, budget: &mut ByteBudget) -> bool {
        let found = items.len();
        let fits = items
            .iter()
            .position(|item| !budget.admit(item))
            .unwrap_or(found);
        items.truncate(fits);
        fits < found
    }
    let mut budget = ByteBudget::new(bytes);
    let mut cut = keep(&mut answer.reasons, &mut budget);
    cut |= keep(&mut answer.barring, &mut budget);
    cut |= keep(&mut answer.overlapping, &mut budget);
    cut |= keep(&mut answer.fast_track, &mut budget);
    answer.truncated = cut;
}
