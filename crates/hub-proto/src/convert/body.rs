//! Event bodies between the wire and the domain, with the personal fields of blacklist
//! entries in the clear or sealed.

use hub_types::error::{AtField, Result, ValidationError};
use hub_types::event::{
    BlacklistEntryAdded, CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased,
    EntryTransition, Personal, PersonalFields, RecognitionWithdrawn, Sealed,
};
use hub_types::values::{self, ErasureReason, PayBand, MAX_LABEL, MAX_MEASURES, MAX_TEXT};
use hub_types::Body;
use prost::Message;

use super::enums::*;
use super::register;
use super::{date, opt_date, parse, text};
use crate::pb::{self, event_body::Kind};

/// Length of a sealed nonce (XChaCha20-Poly1305).
pub const SEALED_NONCE_LEN: usize = 24;
/// Length of the authentication tag at the end of a sealed ciphertext.
pub const SEALED_TAG_LEN: usize = 16;
/// Longest sealed ciphertext: the longest plaintext fields plus framing and tag.
pub const MAX_SEALED_LEN: usize = 4096;

/// Validates the personal fields in the clear.
pub fn personal_fields_from_proto(
    subject_display: &str,
    decision_summary: &str,
) -> Result<PersonalFields> {
    Ok(PersonalFields {
        subject_display: parse(subject_display, "subject_display")?,
        decision_summary: text(decision_summary, "decision_summary", MAX_TEXT, false)?,
    })
}

/// Converts personal fields to the wire: (fields in the clear, sealed fields).
pub(super) fn personal_to_wire(p: &Personal) -> (pb::PersonalFields, Option<pb::SealedPersonal>) {
    match p {
        Personal::Plain(p) => (personal_fields_to_proto(p), None),
        Personal::Sealed(s) => (
            pb::PersonalFields::default(),
            Some(pb::SealedPersonal {
                nonce: s.nonce.clone(),
                ciphertext: s.ciphertext.clone(),
            }),
        ),
    }
}

/// Converts personal fields in the clear to the wire (the sealed plaintext).
pub fn personal_fields_to_proto(p: &PersonalFields) -> pb::PersonalFields {
    pb::PersonalFields {
        subject_display: p.subject_display.to_string(),
        decision_summary: p.decision_summary.to_string(),
    }
}

/// Validates the personal fields of an entry or award as sent: `sealed` alone (as stored
/// and replicated), or the fields in the clear (as a client sends them).
pub(super) fn personal_from_wire(
    sealed: Option<&pb::SealedPersonal>,
    subject_display: &str,
    decision_summary: &str,
) -> Result<Personal> {
    let Some(sealed) = sealed else {
        return personal_fields_from_proto(subject_display, decision_summary).map(Personal::Plain);
    };
    for (field, value) in [
        ("subject_display", subject_display),
        ("decision_summary", decision_summary),
    ] {
        if !value.is_empty() {
            return Err(ValidationError::new(
                field,
                "must be empty when sealed is set (it is inside the sealed fields)",
            ));
        }
    }
    if sealed.nonce.len() != SEALED_NONCE_LEN {
        return Err(ValidationError::new(
            "sealed.nonce",
            format!(
                "expected {SEALED_NONCE_LEN} bytes, got {}",
                sealed.nonce.len()
            ),
        ));
    }
    let n = sealed.ciphertext.len();
    if !(SEALED_TAG_LEN..=MAX_SEALED_LEN).contains(&n) {
        return Err(ValidationError::new(
            "sealed.ciphertext",
            format!("expected {SEALED_TAG_LEN}..={MAX_SEALED_LEN} bytes, got {n}"),
        ));
    }
    Ok(Personal::Sealed(Sealed {
        nonce: sealed.nonce.clone(),
        ciphertext: sealed.ciphertext.clone(),
    }))
}

fn erased(e: &pb::BlacklistEntryErased) -> Result<Body> {
    erasure(&e.entry_id, "entry_id", e.reason, &e.order_ref).map(Body::BlacklistEntryErased)
}

/// Validates an erasure's fields; `id_field` is the wire name of the entity's id.
pub(super) fn erasure(
    id: &str,
    id_field: &str,
    reason: i32,
    order_ref: &str,
) -> Result<EntryErased> {
    let reason = erasure_reason_from_proto(reason).at("reason")?;
    let order_ref = text(
        order_ref,
        "order_ref",
        MAX_LABEL,
        reason == ErasureReason::Order,
    )?;
    Ok(EntryErased {
        entry_id: parse(id, id_field)?,
        reason,
        order_ref,
    })
}

#[allow(clippy::too_many_arguments)] // mirrors the eight fields of the two demand messages
fn demand_terms(
    signal_id: &str,
    industry: i32,
    occupation_code: &str,
    level: &str,
    headcount: u32,
    period: &str,
    pay_band: Option<&pb::PayBand>,
    edu: i32,
) -> Result<DemandTerms> {
    let band = pay_band.ok_or_else(|| ValidationError::new("pay_band", "must be set"))?;
    Ok(DemandTerms {
        signal_id: parse(signal_id, "signal_id")?,
        industry: industry_from_proto(industry).at("industry")?,
        occupation_code: parse(occupation_code, "occupation_code")?,
        level: text(level, "level", MAX_LABEL, true)?,
        headcount: values::headcount(headcount).at("headcount")?,
        period: parse(period, "period")?,
        pay_band: PayBand::new(band.min, band.max).at("pay_band")?,
        education: education(edu).at("education")?,
    })
}

/// Validates the fields every lifecycle step shares. `note_field` is the wire name of the
/// note (`appeal_ref` in a suspension, `note` elsewhere), so errors name the field sent.
fn transition(
    entry_id: &str,
    note: &str,
    note_field: &str,
    effective_at: &str,
) -> Result<EntryTransition> {
    Ok(EntryTransition {
        entry_id: parse(entry_id, "entry_id")?,
        note: text(note, note_field, MAX_TEXT, false)?,
        effective_at: date(effective_at, "effective_at")?,
    })
}

/// Validates a wire body. A body with no kind set is an error here: a client must say what
/// happened. (Stored bodies of kinds unknown to this build go through [`body_from_bytes`].)
pub fn body_from_proto(body: &pb::EventBody) -> Result<Body> {
    let Some(kind) = &body.kind else {
        return Err(ValidationError::reason(
            "must set exactly one event kind (e.g. credential_recognized)",
        ));
    };
    match kind {
        Kind::CredentialRecognized(r) => recognized(r).at("credential_recognized"),
        Kind::RecognitionWithdrawn(w) => withdrawn(w).at("recognition_withdrawn"),
        Kind::DemandSignalPublished(p) => demand_terms(
            &p.signal_id,
            p.industry,
            &p.occupation_code,
            &p.level,
            p.headcount,
            &p.period,
            p.pay_band.as_ref(),
            p.education,
        )
        .map(Body::DemandSignalPublished)
        .at("demand_signal_published"),
        Kind::DemandSignalRevised(p) => demand_terms(
            &p.signal_id,
            p.industry,
            &p.occupation_code,
            &p.level,
            p.headcount,
            &p.period,
            p.pay_band.as_ref(),
            p.education,
        )
        .map(Body::DemandSignalRevised)
        .at("demand_signal_revised"),
        Kind::DemandSignalClosed(c) => closed(c).at("demand_signal_closed"),
        Kind::BlacklistEntryAdded(a) => blacklist_added(a).at("blacklist_entry_added"),
        Kind::BlacklistEntrySuspended(s) => {
            transition(&s.entry_id, &s.appeal_ref, "appeal_ref", &s.effective_at)
                .map(Body::BlacklistEntrySuspended)
                .at("blacklist_entry_suspended")
        }
        Kind::BlacklistEntryReinstated(r) => {
            transition(&r.entry_id, &r.note, "note", &r.effective_at)
                .map(Body::BlacklistEntryReinstated)
                .at("blacklist_entry_reinstated")
        }
        Kind::BlacklistEntryRevoked(r) => revoked(r).at("blacklist_entry_revoked"),
        Kind::BlacklistEntryErased(e) => erased(e).at("blacklist_entry_erased"),
        Kind::WhitelistEntryAdded(a) => register::whitelist_added(a).at("whitelist_entry_added"),
        Kind::WhitelistEntryRenewed(r) => {
            register::whitelist_renewed(r).at("whitelist_entry_renewed")
        }
        Kind::WhitelistEntryRemoved(r) => {
            register::whitelist_removed(r).at("whitelist_entry_removed")
        }
        Kind::WhitelistEntryErased(e) => erasure(&e.entry_id, "entry_id", e.reason, &e.order_ref)
            .map(Body::WhitelistEntryErased)
            .at("whitelist_entry_erased"),
        Kind::AwardGranted(g) => register::award_granted(g).at("award_granted"),
        Kind::AwardAmended(a) => register::award_amended(a).at("award_amended"),
        Kind::AwardWithdrawn(w) => register::award_withdrawn(w).at("award_withdrawn"),
        Kind::AwardErased(e) => register::award_erased(e).at("award_erased"),
    }
}

fn recognized(r: &pb::CredentialRecognized) -> Result<Body> {
    let credential = r
        .credential
        .as_ref()
        .ok_or_else(|| ValidationError::new("credential", "must be set"))
        .and_then(|c| credential_from_proto(c).at("credential"))?;
    let effective_from = date(&r.effective_from, "effective_from")?;
    let effective_until = opt_date(&r.effective_until, "effective_until")?;
    if effective_until.is_some_and(|until| until < effective_from) {
        return Err(ValidationError::new(
            "effective_until",
            format!(
                "must not be before effective_from {effective_from}, got {}",
                r.effective_until
            ),
        ));
    }
    Ok(Body::CredentialRecognized(CredentialRecognized {
        rule_id: parse(&r.rule_id, "rule_id")?,
        credential,
        issuer: parse(&r.issuer, "issuer")?,
        local_equivalent: text(&r.local_equivalent, "local_equivalent", MAX_LABEL, true)?,
        conditions: text(&r.conditions, "conditions", MAX_TEXT, false)?,
        effective_from,
        effective_until,
    }))
}

fn withdrawn(w: &pb::RecognitionWithdrawn) -> Result<Body> {
    Ok(Body::RecognitionWithdrawn(RecognitionWithdrawn {
        rule_id: parse(&w.rule_id, "rule_id")?,
        reason: text(&w.reason, "reason", MAX_TEXT, true)?,
        effective_at: date(&w.effective_at, "effective_at")?,
    }))
}

fn closed(c: &pb::DemandSignalClosed) -> Result<Body> {
    if c.filled > values::MAX_HEADCOUNT {
        return Err(ValidationError::new(
            "filled",
            format!(
                "expected at most {}, got {}",
                values::MAX_HEADCOUNT,
                c.filled
            ),
        ));
    }
    Ok(Body::DemandSignalClosed(DemandSignalClosed {
        signal_id: parse(&c.signal_id, "signal_id")?,
        reason: close_reason(c.reason).at("reason")?,
        filled: c.filled,
        closed_at: date(&c.closed_at, "closed_at")?,
    }))
}

fn revoked(r: &pb::BlacklistEntryRevoked) -> Result<Body> {
    Ok(Body::BlacklistEntryRevoked {
        transition: transition(&r.entry_id, &r.note, "note", &r.effective_at)?,
        reason: revoke_reason(r.reason).at("reason")?,
    })
}

fn blacklist_added(a: &pb::BlacklistEntryAdded) -> Result<Body> {
    let decided_at = date(&a.decided_at, "decided_at")?;
    let effective_from = date(&a.effective_from, "effective_from")?;
    let expires_at = date(&a.expires_at, "expires_at")?;
    if effective_from < decided_at {
        return Err(ValidationError::new(
            "effective_from",
            format!("must not be before decided_at {decided_at}, got {effective_from}"),
        ));
    }
    if expires_at < effective_from {
        return Err(ValidationError::new(
            "expires_at",
            format!("must not be before effective_from {effective_from}, got {expires_at}"),
        ));
    }
    if a.measures.len() > MAX_MEASURES {
        return Err(ValidationError::new(
            "measures",
            format!("expected at most {MAX_MEASURES}, got {}", a.measures.len()),
        ));
    }
    let measures = a
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| text(m, &format!("measures[{i}]"), MAX_TEXT, true))
        .collect::<Result<Vec<_>>>()?;
    Ok(Body::BlacklistEntryAdded(BlacklistEntryAdded {
        entry_id: parse(&a.entry_id, "entry_id")?,
        subject_ref: parse(&a.subject_ref, "subject_ref")?,
        personal: personal_from_wire(a.sealed.as_ref(), &a.subject_display, &a.decision_summary)?,
        category: category_from_proto(a.category).at("category")?,
        decision_ref: text(&a.decision_ref, "decision_ref", MAX_LABEL, true)?,
        decided_at,
        effective_from,
        expires_at,
        measures,
    }))
}

fn terms_to_parts(t: &DemandTerms) -> pb::DemandSignalPublished {
    pb::DemandSignalPublished {
        signal_id: t.signal_id.to_string(),
        industry: industry_to_proto(t.industry) as i32,
        occupation_code: t.occupation_code.to_string(),
        level: t.level.to_string(),
        headcount: t.headcount,
        period: t.period.to_string(),
        pay_band: Some(pb::PayBand {
            min: t.pay_band.min,
            max: t.pay_band.max,
        }),
        education: education_to_proto(t.education) as i32,
    }
}

/// Converts a body to the wire; `Unknown` becomes a body with no kind set.
pub fn body_to_proto(body: &Body) -> pb::EventBody {
    let kind = match body {
        Body::Unknown => None,
        Body::CredentialRecognized(r) => {
            Some(Kind::CredentialRecognized(pb::CredentialRecognized {
                rule_id: r.rule_id.to_string(),
                credential: Some(credential_to_proto(&r.credential)),
                issuer: r.issuer.to_string(),
                local_equivalent: r.local_equivalent.to_string(),
                conditions: r.conditions.to_string(),
                effective_from: r.effective_from.to_string(),
                effective_until: r.effective_until.map(|d| d.to_string()).unwrap_or_default(),
            }))
        }
        Body::RecognitionWithdrawn(w) => {
            Some(Kind::RecognitionWithdrawn(pb::RecognitionWithdrawn {
                rule_id: w.rule_id.to_string(),
                reason: w.reason.to_string(),
                effective_at: w.effective_at.to_string(),
            }))
        }
        Body::DemandSignalPublished(t) => Some(Kind::DemandSignalPublished(terms_to_parts(t))),
        Body::DemandSignalRevised(t) => {
            let p = terms_to_parts(t);
            Some(Kind::DemandSignalRevised(pb::DemandSignalRevised {
                signal_id: p.signal_id,
                industry: p.industry,
                occupation_code: p.occupation_code,
                level: p.level,
                headcount: p.headcount,
                period: p.period,
                pay_band: p.pay_band,
                education: p.education,
            }))
        }
        Body::DemandSignalClosed(c) => Some(Kind::DemandSignalClosed(pb::DemandSignalClosed {
            signal_id: c.signal_id.to_string(),
            reason: close_reason_to_proto(c.reason) as i32,
            filled: c.filled,
            closed_at: c.closed_at.to_string(),
        })),
        Body::BlacklistEntryAdded(a) => {
            let (plain, sealed) = personal_to_wire(&a.personal);
            Some(Kind::BlacklistEntryAdded(pb::BlacklistEntryAdded {
                entry_id: a.entry_id.to_string(),
                subject_ref: a.subject_ref.to_string(),
                subject_display: plain.subject_display,
                category: category_to_proto(a.category) as i32,
                decision_ref: a.decision_ref.to_string(),
                decided_at: a.decided_at.to_string(),
                effective_from: a.effective_from.to_string(),
                expires_at: a.expires_at.to_string(),
                measures: a.measures.iter().map(ToString::to_string).collect(),
                decision_summary: plain.decision_summary,
                sealed,
            }))
        }
        Body::BlacklistEntrySuspended(t) => {
            Some(Kind::BlacklistEntrySuspended(pb::BlacklistEntrySuspended {
                entry_id: t.entry_id.to_string(),
                appeal_ref: t.note.to_string(),
                effective_at: t.effective_at.to_string(),
            }))
        }
        Body::BlacklistEntryReinstated(t) => Some(Kind::BlacklistEntryReinstated(
            pb::BlacklistEntryReinstated {
                entry_id: t.entry_id.to_string(),
                note: t.note.to_string(),
                effective_at: t.effective_at.to_string(),
            },
        )),
        Body::BlacklistEntryRevoked { transition, reason } => {
            Some(Kind::BlacklistEntryRevoked(pb::BlacklistEntryRevoked {
                entry_id: transition.entry_id.to_string(),
                reason: revoke_reason_to_proto(*reason) as i32,
                note: transition.note.to_string(),
                effective_at: transition.effective_at.to_string(),
            }))
        }
        Body::BlacklistEntryErased(e) => {
            Some(Kind::BlacklistEntryErased(pb::BlacklistEntryErased {
                entry_id: e.entry_id.to_string(),
                reason: erasure_reason_to_proto(e.reason) as i32,
                order_ref: e.order_ref.to_string(),
            }))
        }
        Body::WhitelistEntryErased(_)
        | Body::WhitelistEntryAdded(_)
        | Body::WhitelistEntryRenewed(_)
        | Body::WhitelistEntryRemoved(_)
        | Body::AwardGranted(_)
        | Body::AwardAmended(_)
        | Body::AwardWithdrawn(_)
        | Body::AwardErased(_) => register::to_proto(body),
    };
    pb::EventBody { kind }
}

/// Decodes a stored body. Bytes that decode to no known kind (a kind added by a newer
/// build) give [`Body::Unknown`]; bytes that are not a body at all, or a known kind that
/// fails validation, are errors.
pub fn body_from_bytes(bytes: &[u8]) -> Result<Body> {
    let body = pb::EventBody::decode(bytes)
        .map_err(|e| ValidationError::new("body", format!("not an EventBody: {e}")))?;
    if body.kind.is_none() {
        return Ok(Body::Unknown);
    }
    body_from_proto(&body).at("body")
}

/// Encodes a body for storage.
pub fn body_to_bytes(body: &Body) -> Vec<u8> {
    body_to_proto(body).encode_to_vec()
}
