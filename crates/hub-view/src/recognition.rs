//! Recognition questions: is a credential recognised, the rule lists, the city matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use hub_proto::convert::{credential_from_proto, credential_kind_from_proto, credential_to_proto};
use hub_proto::pb;
use hub_types::error::AtField;
use hub_types::fold::RecognitionRule;
use hub_types::values::{Credential, Issuer};
use hub_types::{Date, MemberId, ValidationError};

use crate::axes::resolve;
use crate::paging::{Listing, Pager};
use crate::{Result, View};

fn rule_to_proto(rule: &RecognitionRule, date: Date) -> pb::RecognitionRule {
    let t = &rule.terms;
    pb::RecognitionRule {
        recognizer: rule.recognizer.to_string(),
        rule_id: t.rule_id.to_string(),
        credential: Some(credential_to_proto(&t.credential)),
        issuer: t.issuer.to_string(),
        local_equivalent: t.local_equivalent.to_string(),
        conditions: t.conditions.to_string(),
        effective_from: t.effective_from.to_string(),
        effective_until: t.effective_until.map(|d| d.to_string()).unwrap_or_default(),
        withdrawn_at: rule
            .withdrawn
            .as_ref()
            .map(|w| w.effective_at.to_string())
            .unwrap_or_default(),
        withdrawn_reason: rule
            .withdrawn
            .as_ref()
            .map(|w| w.reason.to_string())
            .unwrap_or_default(),
        in_force: rule.in_force(date),
    }
}

fn member(s: &str, field: &str) -> Result<MemberId, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::new(field, "must be set (a member code)"));
    }
    s.parse::<MemberId>().at(field)
}

fn opt_member(s: &str, field: &str) -> Result<Option<MemberId>, ValidationError> {
    if s.is_empty() {
        return Ok(None);
    }
    member(s, field).map(Some)
}

impl View {
    /// Answers `IsRecognized`: the rules of `recognizer` in force on the date that cover
    /// the credential from `issuer`, a named issuer before `*`.
    pub fn is_recognized(&self, req: &pb::IsRecognizedRequest) -> Result<pb::IsRecognizedResponse> {
        let recognizer = member(&req.recognizer, "recognizer")?;
        let issuer = member(&req.issuer, "issuer")?;
        let credential: Credential = req
            .credential
            .as_ref()
            .ok_or_else(|| ValidationError::new("credential", "must be set"))
            .and_then(|c| credential_from_proto(c).at("credential"))?;
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let key = (
            recognizer,
            credential.kind,
            credential.code.clone(),
            credential.level.clone(),
        );
        let mut matching: Vec<&RecognitionRule> = inner
            .state
            .rules_by_credential
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|k| inner.state.rules.get(k))
            .filter_map(|h| axes.version(h))
            .filter(|r| r.in_force(axes.date) && r.covers(&credential, issuer))
            .collect();
        matching.sort_by_key(|r| (r.terms.issuer == Issuer::Any, r.terms.rule_id.clone()));
        Ok(pb::IsRecognizedResponse {
            recognized: !matching.is_empty(),
            matching_rules: matching
                .into_iter()
                .map(|r| rule_to_proto(r, axes.date))
                .collect(),
            basis: Some(axes.basis()),
        })
    }

    /// Answers `ListRecognitions`, paginated in (recognizer, rule id) order.
    pub fn list_recognitions(
        &self,
        req: &pb::ListRecognitionsRequest,
    ) -> Result<pb::ListRecognitionsResponse> {
        let recognizer = opt_member(&req.recognizer, "recognizer")?;
        let issuer = opt_member(&req.issuer, "issuer")?;
        let listing = Listing::parse(req.page_size, &req.page_token, req.time.as_ref(), None)?;
        let inner = self.read();
        let axes = resolve(listing.time.as_ref(), &inner)?;
        let mut rules = Vec::new();
        let mut page = Pager::new(listing.limit, self.config().page_bytes, axes.position);
        let keys = inner.state.rules.range(listing.start(Bound::Unbounded));
        for ((rec, id), history) in keys {
            if recognizer.is_some_and(|r| r != *rec) {
                if recognizer.is_some_and(|r| r < *rec) {
                    break;
                }
                continue;
            }
            let Some(rule) = axes.version(history) else {
                continue;
            };
            if issuer.is_some_and(|i| !rule.terms.issuer.covers(i)) {
                continue;
            }
            if !req.include_inactive && !rule.in_force(axes.date) {
                continue;
            }
            if !page.push(&mut rules, (*rec, id), || rule_to_proto(rule, axes.date)) {
                break;
            }
        }
        Ok(pb::ListRecognitionsResponse {
            rules,
            next_page_token: page.next_token(),
            basis: Some(axes.basis()),
        })
    }

    /// Answers `RecognitionMatrix`: per (recognizer, issuer) the distinct credentials
    /// recognised on the date; `*` rules count for every other roster member.
    pub fn recognition_matrix(
        &self,
        req: &pb::RecognitionMatrixRequest,
    ) -> Result<pb::RecognitionMatrixResponse> {
        let kind = match req.kind {
            0 => None,
            k => Some(credential_kind_from_proto(k)?),
        };
        let inner = self.read();
        let axes = resolve(req.time.as_ref(), &inner)?;
        let members: Vec<MemberId> = self
            .config()
            .roster
            .members
            .iter()
            .map(|m| m.code)
            .collect();
        let mut pairs: BTreeMap<(MemberId, MemberId), BTreeSet<&Credential>> = BTreeMap::new();
        for history in inner.state.rules.values() {
            let Some(rule) = axes.version(history) else {
                continue;
            };
            let c = &rule.terms.credential;
            if kind.is_some_and(|k| k != c.kind) || !rule.in_force(axes.date) {
                continue;
            }
            let issuers = match rule.terms.issuer {
                Issuer::Member(m) => vec![m],
                Issuer::Any => members.clone(),
            };
            for issuer in issuers.into_iter().filter(|i| *i != rule.recognizer) {
                pairs
                    .entry((rule.recognizer, issuer))
                    .or_default()
                    .insert(c);
            }
        }
        let cells = pairs
            .iter()
            .map(|((rec, iss), creds)| {
                let mutual = pairs
                    .get(&(*iss, *rec))
                    .is_some_and(|back| creds.intersection(back).next().is_some());
                pb::MatrixCell {
                    recognizer: rec.to_string(),
                    issuer: iss.to_string(),
                    recognized: creds.len() as u32,
                    mutual,
                }
            })
            .collect();
        Ok(pb::RecognitionMatrixResponse {
            cells,
            basis: Some(axes.basis()),
        })
    }
}
