//! Blacklist questions: check a subject across all cities, list a city's entries.

use std::collections::BTreeMap;

use hub_log::vault::Vault;
use hub_proto::budget::fit;
use hub_proto::convert::{category_to_proto, erasure_reason_to_proto};
use hub_proto::pb;
use hub_types::error::AtField;
use hub_types::event::PersonalFields;
use hub_types::fold::{BlacklistEntry, EntryStatus, Step};
use hub_types::values::RevokeReason;
use hub_types::{Date, MemberId, StreamId, SubjectRef, ValidationError};

use crate::axes::resolve;
use crate::paging::{first_of, Listing, Pager};
use crate::register::open_personal;
use crate::{Result, View};

/// How many entries each city has in each status.
pub type EntryCounts = BTreeMap<MemberId, BTreeMap<EntryStatus, u64>>;

/// Converts a status to the wire.
pub fn status_to_proto(s: EntryStatus) -> pb::EntryStatus {
    match s {
        EntryStatus::Pending => pb::EntryStatus::Pending,
        EntryStatus::Active => pb::EntryStatus::Active,
        EntryStatus::Suspended => pb::EntryStatus::Suspended,
        EntryStatus::Expired => pb::EntryStatus::Expired,
        EntryStatus::Revoked => pb::EntryStatus::Revoked,
        EntryStatus::Erased => pb::EntryStatus::Erased,
    }
}

fn revoke_to_proto(r: RevokeReason) -> pb::RevokeReason {
    match r {
        RevokeReason::AppealUpheld => pb::RevokeReason::AppealUpheld,
        RevokeReason::CreditRepaired => pb::RevokeReason::CreditRepaired,
        RevokeReason::Error => pb::RevokeReason::Error,
    }
}

/// The personal fields of an entry as this node can show them.
fn personal(
    e: &BlacklistEntry,
    vault: Option<&Vault>,
) -> (Option<PersonalFields>, pb::PersonalState) {
    let stream = StreamId::blacklist(e.origin, e.added.entry_id.clone());
    open_personal(&e.added.personal, &stream, e.erased.is_some(), vault)
}

pub(crate) fn entry_to_proto(
    e: &BlacklistEntry,
    date: Date,
    vault: Option<&Vault>,
) -> pb::BlacklistEntryView {
    let a = &e.added;
    let (fields, state) = personal(e, vault);
    let (subject_display, decision_summary) = fields
        .map(|f| {
            (
                f.subject_display.to_string(),
                f.decision_summary.to_string(),
            )
        })
        .unwrap_or_default();
    pb::BlacklistEntryView {
        origin: e.origin.to_string(),
        entry_id: a.entry_id.to_string(),
        // An erased entry no longer names anyone, not even by reference.
        subject_ref: if e.erased.is_some() {
            String::new()
        } else {
            a.subject_ref.to_string()
        },
        subject_display,
        decision_summary,
        personal: state as i32,
        category: category_to_proto(a.category) as i32,
        decision_ref: a.decision_ref.to_string(),
        decided_at: a.decided_at.to_string(),
        effective_from: a.effective_from.to_string(),
        expires_at: a.expires_at.to_string(),
        measures: a.measures.iter().map(ToString::to_string).collect(),
        status: status_to_proto(e.status_on(date)) as i32,
        revoke_reason: e.revocation().map_or(0, |(r, _)| revoke_to_proto(r) as i32),
        erasure_reason: e
            .erased
            .as_ref()
            .map_or(0, |x| erasure_reason_to_proto(x.reason) as i32),
        erasure_order_ref: e
            .erased
            .as_ref()
            .map(|x| x.order_ref.to_string())
            .unwrap_or_default(),
        history: e
            .steps
            .iter()
            .map(|(step, t)| {
                let what = match step {
                    Step::Suspended => "suspended".to_owned(),
                    Step::Reinstated => "reinstated".to_owned(),
                    Step::Revoked(r) => format!("revoked ({})", revoke_to_proto(*r).as_str_name()),
                };
                format!("{what} {}", t.effective_at)
            })
            .chain(e.erased.iter().map(|_| "erased".to_owned()))
            .collect(),
    }
}

fn status_filter(raw: i32) -> Result<Option<EntryStatus>, ValidationError> {
    Ok(match pb::EntryStatus::try_from(raw) {
        Ok(pb::EntryStatus::Unspecified) => None,
        Ok(pb::EntryStatus::Pending) => Some(EntryStatus::Pending),
        Ok(pb::EntryStatus::Active) => Some(EntryStatus::Active),
        Ok(pb::EntryStatus::Suspended) => Some(EntryStatus::Suspended),
        Ok(pb::EntryStatus::Expired) => Some(EntryStatus::Expired),
        Ok(pb::EntryStatus::Revoked) => Some(EntryStatus::Revoked),
        Ok(pb::EntryStatus::Erased) => Some(EntryStatus::Erased),
        Err(_) => {
            return Err(ValidationError::new(
                "status",
                format!("unknown value {raw}"),
            ))
        }
    })
}

impl View {
    /// Answers `CheckSubject`: every city's entries for the subject with their status on
    /// the date. Erased entries no longer name the subject and are left out.
    pub fn check_subject(&self, req: &pb::CheckSubjectRequest) -> Result<pb::CheckSubjectResponse> {
        if req.subject_ref.is_empty() {
            return Err(ValidationError::new("subject_ref", "must be set").into());
        }
        let subject: SubjectRef = req.subject_ref.parse().at("subject_ref")?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let mut entries: Vec<pb::BlacklistEntryView> = inner
            .state
            .entries_by_subject
            .get(&subject)
            .into_iter()
            .flatten()
            .filter_map(|k| inner.state.entries.get(k))
            .filter_map(|h| axes.version(h))
            .filter(|e| e.erased.is_none())
            .map(|e| entry_to_proto(e, axes.date, self.vault()))
            .collect();
        let active = pb::EntryStatus::Active as i32;
        let any_active = entries.iter().any(|e| e.status == active);
        let found = entries.len();
        fit(&mut entries, self.config().page_bytes);
        Ok(pb::CheckSubjectResponse {
            any_active,
            truncated: entries.len() < found,
            entries,
            basis: Some(axes.basis()),
        })
    }

    /// How many entries each city has in each status on the question's date: the
    /// blacklist as counts only. One pass over the entries that opens no personal field,
    /// so it costs far less than listing them.
    pub fn entry_status_counts(
        &self,
        time: Option<&pb::TimeAxes>,
    ) -> Result<(EntryCounts, pb::AnswerBasis)> {
        let inner = self.read();
        let axes = resolve(time, &inner)?;
        let mut counts = EntryCounts::new();
        for ((origin, _), history) in &inner.state.entries {
            if let Some(entry) = axes.version(history) {
                *counts
                    .entry(*origin)
                    .or_default()
                    .entry(entry.status_on(axes.date))
                    .or_default() += 1;
            }
        }
        Ok((counts, axes.basis()))
    }

    /// Answers `ListEntries`: one city's entries in entry-id order, optionally by status.
    pub fn list_entries(&self, req: &pb::ListEntriesRequest) -> Result<pb::ListEntriesResponse> {
        if req.origin.is_empty() {
            return Err(ValidationError::new("origin", "must be set (a member code)").into());
        }
        let origin: MemberId = req.origin.parse().at("origin")?;
        let status = status_filter(req.status)?;
        let listing = Listing::parse(
            req.page_size,
            &req.page_token,
            req.time.as_ref(),
            Some(origin),
        )?;
        let inner = self.read();
        let axes = resolve(listing.time.as_ref(), &inner)?;
        let mut entries = Vec::new();
        let mut page = Pager::new(listing.limit, self.config().page_bytes, axes.position);
        let keys = inner.state.entries.range(listing.start(first_of(origin)));
        for ((o, id), history) in keys.take_while(|((o, _), _)| *o == origin) {
            let Some(entry) = axes.version(history) else {
                continue;
            };
            if status.is_some_and(|s| s != entry.status_on(axes.date)) {
                continue;
            }
            if !page.push(&mut entries, (*o, id), || {
                entry_to_proto(entry, axes.date, self.vault())
            }) {
                break;
            }
        }
        Ok(pb::ListEntriesResponse {
            entries,
            next_page_token: page.next_token(),
            basis: Some(axes.basis()),
        })
    }
}
