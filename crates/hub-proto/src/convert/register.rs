//! White-list entries and programme awards between the wire and the domain.

use hub_types::error::{AtField, Result, ValidationError};
use hub_types::event::{
    AwardAmended, AwardErased, AwardGranted, AwardWithdrawn, WhitelistEntryAdded,
    WhitelistEntryRemoved, WhitelistEntryRenewed,
};
use hub_types::values::{
    self, AwardCategory, AwardEnd, AwardLevel, WhitelistTier, MAX_LABEL, MAX_TEXT,
};
use hub_types::{Body, Date, SubjectRef};

use super::body::{erasure, personal_from_wire, personal_to_wire};
use super::enums::erasure_reason_to_proto;
use super::{date, enum_value, parse, text};
use crate::pb::{self, event_body::Kind};

/// Validates a wire white-list tier.
pub fn tier_from_proto(raw: i32) -> Result<WhitelistTier> {
    Ok(match enum_value(raw, "")? {
        pb::WhitelistTier::A => WhitelistTier::A,
        pb::WhitelistTier::B => WhitelistTier::B,
        pb::WhitelistTier::C => WhitelistTier::C,
        pb::WhitelistTier::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts a white-list tier to its wire value.
pub fn tier_to_proto(t: WhitelistTier) -> pb::WhitelistTier {
    match t {
        WhitelistTier::A => pb::WhitelistTier::A,
        WhitelistTier::B => pb::WhitelistTier::B,
        WhitelistTier::C => pb::WhitelistTier::C,
    }
}

/// Validates a wire award category.
pub fn award_category_from_proto(raw: i32) -> Result<AwardCategory> {
    Ok(match enum_value(raw, "")? {
        pb::AwardCategory::TalentProgramme => AwardCategory::TalentProgramme,
        pb::AwardCategory::ResearchProject => AwardCategory::ResearchProject,
        pb::AwardCategory::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts an award category to its wire value.
pub fn award_category_to_proto(c: AwardCategory) -> pb::AwardCategory {
    match c {
        AwardCategory::TalentProgramme => pb::AwardCategory::TalentProgramme,
        AwardCategory::ResearchProject => pb::AwardCategory::ResearchProject,
    }
}

/// Validates a wire award level.
pub fn award_level_from_proto(raw: i32) -> Result<AwardLevel> {
    Ok(match enum_value(raw, "")? {
        pb::AwardLevel::National => AwardLevel::National,
        pb::AwardLevel::Provincial => AwardLevel::Provincial,
        pb::AwardLevel::Municipal => AwardLevel::Municipal,
        pb::AwardLevel::District => AwardLevel::District,
        pb::AwardLevel::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts an award level to its wire value.
pub fn award_level_to_proto(l: AwardLevel) -> pb::AwardLevel {
    match l {
        AwardLevel::National => pb::AwardLevel::National,
        AwardLevel::Provincial => pb::AwardLevel::Provincial,
        AwardLevel::Municipal => pb::AwardLevel::Municipal,
        AwardLevel::District => pb::AwardLevel::District,
    }
}

fn outcome_from_proto(raw: i32) -> Result<AwardEnd> {
    Ok(match enum_value(raw, "")? {
        pb::AwardOutcome::Withdrawn => AwardEnd::Withdrawn,
        pb::AwardOutcome::ClawedBack => AwardEnd::ClawedBack,
        pb::AwardOutcome::Unspecified => unreachable!("rejected by enum_value"),
    })
}

fn outcome_to_proto(e: AwardEnd) -> pb::AwardOutcome {
    match e {
        AwardEnd::Withdrawn => pb::AwardOutcome::Withdrawn,
        AwardEnd::ClawedBack => pb::AwardOutcome::ClawedBack,
    }
}

/// The subject of a new entry or award: `subject_ref`, since the receiving hub has turned
/// any `national_id` into it before validation.
fn subject(subject_ref: &str, national_id: &str) -> Result<SubjectRef> {
    if !national_id.is_empty() {
        return Err(ValidationError::new(
            "national_id",
            "is turned into subject_ref by the receiving hub and is never stored",
        ));
    }
    if subject_ref.is_empty() {
        return Err(ValidationError::new(
            "subject_ref",
            "must be set (or give national_id)",
        ));
    }
    parse(subject_ref, "subject_ref")
}

/// Two dates in order: `until` must not come before `from`.
fn span(from: &str, from_field: &str, until: &str, until_field: &str) -> Result<(Date, Date)> {
    let first = date(from, from_field)?;
    let last = date(until, until_field)?;
    if last < first {
        return Err(ValidationError::new(
            until_field,
            format!("must not be before {from_field} {first}, got {last}"),
        ));
    }
    Ok((first, last))
}

fn amount(n: u64) -> Result<u64> {
    values::award_amount(n).at("amount_cny")
}

pub(super) fn whitelist_added(a: &pb::WhitelistEntryAdded) -> Result<Body> {
    let (valid_from, valid_until) =
        span(&a.valid_from, "valid_from", &a.valid_until, "valid_until")?;
    Ok(Body::WhitelistEntryAdded(WhitelistEntryAdded {
        entry_id: parse(&a.entry_id, "entry_id")?,
        subject_ref: subject(&a.subject_ref, &a.national_id)?,
        personal: personal_from_wire(a.sealed.as_ref(), &a.subject_display, "")?,
        tier: tier_from_proto(a.tier).at("tier")?,
        scheme: text(&a.scheme, "scheme", MAX_LABEL, true)?,
        valid_from,
        valid_until,
        basis_ref: text(&a.basis_ref, "basis_ref", MAX_LABEL, true)?,
    }))
}

pub(super) fn whitelist_renewed(r: &pb::WhitelistEntryRenewed) -> Result<Body> {
    Ok(Body::WhitelistEntryRenewed(WhitelistEntryRenewed {
        entry_id: parse(&r.entry_id, "entry_id")?,
        valid_until: date(&r.valid_until, "valid_until")?,
        basis_ref: text(&r.basis_ref, "basis_ref", MAX_LABEL, true)?,
    }))
}

pub(super) fn whitelist_removed(r: &pb::WhitelistEntryRemoved) -> Result<Body> {
    Ok(Body::WhitelistEntryRemoved(WhitelistEntryRemoved {
        entry_id: parse(&r.entry_id, "entry_id")?,
        reason: text(&r.reason, "reason", MAX_TEXT, true)?,
        effective_at: date(&r.effective_at, "effective_at")?,
    }))
}

pub(super) fn award_granted(g: &pb::AwardGranted) -> Result<Body> {
    let (funded_from, funded_until) = span(
        &g.funded_from,
        "funded_from",
        &g.funded_until,
        "funded_until",
    )?;
    Ok(Body::AwardGranted(AwardGranted {
        award_id: parse(&g.award_id, "award_id")?,
        subject_ref: subject(&g.subject_ref, &g.national_id)?,
        personal: personal_from_wire(g.sealed.as_ref(), &g.subject_display, "")?,
        programme_code: text(&g.programme_code, "programme_code", MAX_LABEL, true)?,
        category: award_category_from_proto(g.category).at("category")?,
        level: award_level_from_proto(g.level).at("level")?,
        project_title: text(&g.project_title, "project_title", MAX_TEXT, true)?,
        amount_cny: amount(g.amount_cny)?,
        funded_from,
        funded_until,
        decision_ref: text(&g.decision_ref, "decision_ref", MAX_LABEL, true)?,
    }))
}

pub(super) fn award_amended(a: &pb::AwardAmended) -> Result<Body> {
    let (funded_from, funded_until) = span(
        &a.funded_from,
        "funded_from",
        &a.funded_until,
        "funded_until",
    )?;
    Ok(Body::AwardAmended(AwardAmended {
        award_id: parse(&a.award_id, "award_id")?,
        project_title: text(&a.project_title, "project_title", MAX_TEXT, true)?,
        amount_cny: amount(a.amount_cny)?,
        funded_from,
        funded_until,
        decision_ref: text(&a.decision_ref, "decision_ref", MAX_LABEL, true)?,
    }))
}

pub(super) fn award_withdrawn(w: &pb::AwardWithdrawn) -> Result<Body> {
    Ok(Body::AwardWithdrawn(AwardWithdrawn {
        award_id: parse(&w.award_id, "award_id")?,
        outcome: outcome_from_proto(w.outcome).at("outcome")?,
        reason: text(&w.reason, "reason", MAX_TEXT, true)?,
        effective_at: date(&w.effective_at, "effective_at")?,
    }))
}

pub(super) fn award_erased(e: &pb::AwardErased) -> Result<Body> {
    let x = erasure(&e.award_id, "award_id", e.reason, &e.order_ref)?;
    Ok(Body::AwardErased(AwardErased {
        award_id: x.entry_id,
        reason: x.reason,
        order_ref: x.order_ref,
    }))
}

/// Converts a white-list or award body to the wire; `None` for the other families.
pub(super) fn to_proto(body: &Body) -> Option<Kind> {
    Some(match body {
        Body::WhitelistEntryAdded(a) => {
            let (plain, sealed) = personal_to_wire(&a.personal);
            Kind::WhitelistEntryAdded(pb::WhitelistEntryAdded {
                entry_id: a.entry_id.to_string(),
                subject_ref: a.subject_ref.to_string(),
                national_id: String::new(),
                subject_display: plain.subject_display,
                tier: tier_to_proto(a.tier) as i32,
                scheme: a.scheme.to_string(),
                valid_from: a.valid_from.to_string(),
                valid_until: a.valid_until.to_string(),
                basis_ref: a.basis_ref.to_string(),
                sealed,
            })
        }
        Body::WhitelistEntryRenewed(r) => Kind::WhitelistEntryRenewed(pb::WhitelistEntryRenewed {
            entry_id: r.entry_id.to_string(),
            valid_until: r.valid_until.to_string(),
            basis_ref: r.basis_ref.to_string(),
        }),
        Body::WhitelistEntryRemoved(r) => Kind::WhitelistEntryRemoved(pb::WhitelistEntryRemoved {
            entry_id: r.entry_id.to_string(),
            reason: r.reason.to_string(),
            effective_at: r.effective_at.to_string(),
        }),
        Body::WhitelistEntryErased(e) => Kind::WhitelistEntryErased(pb::WhitelistEntryErased {
            entry_id: e.entry_id.to_string(),
            reason: erasure_reason_to_proto(e.reason) as i32,
            order_ref: e.order_ref.to_string(),
        }),
        Body::AwardGranted(g) => {
            let (plain, sealed) = personal_to_wire(&g.personal);
            Kind::AwardGranted(pb::AwardGranted {
                award_id: g.award_id.to_string(),
                subject_ref: g.subject_ref.to_string(),
                national_id: String::new(),
                subject_display: plain.subject_display,
                programme_code: g.programme_code.to_string(),
                category: award_category_to_proto(g.category) as i32,
                level: award_level_to_proto(g.level) as i32,
                project_title: g.project_title.to_string(),
                amount_cny: g.amount_cny,
                funded_from: g.funded_from.to_string(),
                funded_until: g.funded_until.to_string(),
                decision_ref: g.decision_ref.to_string(),
                sealed,
            })
        }
        Body::AwardAmended(a) => Kind::AwardAmended(pb::AwardAmended {
            award_id: a.award_id.to_string(),
            project_title: a.project_title.to_string(),
            amount_cny: a.amount_cny,
            funded_from: a.funded_from.to_string(),
            funded_until: a.funded_until.to_string(),
            decision_ref: a.decision_ref.to_string(),
        }),
        Body::AwardWithdrawn(w) => Kind::AwardWithdrawn(pb::AwardWithdrawn {
            award_id: w.award_id.to_string(),
            outcome: outcome_to_proto(w.outcome) as i32,
            reason: w.reason.to_string(),
            effective_at: w.effective_at.to_string(),
        }),
        Body::AwardErased(e) => Kind::AwardErased(pb::AwardErased {
            award_id: e.award_id.to_string(),
            reason: erasure_reason_to_proto(e.reason) as i32,
            order_ref: e.order_ref.to_string(),
        }),
        _ => return None,
    })
}
