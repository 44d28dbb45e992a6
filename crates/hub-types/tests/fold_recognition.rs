//! Lifecycle tests of the fold for credential recognition: when a rule is in force, what it
//! covers, revisions and withdrawals, and which recognizer owns a rule id.

mod support;

use hub_types::values::CredentialKind;
use hub_types::{Body, LocalId, MemberId};
use support::*;

fn rule_key(recognizer: &str, rule: &str) -> (MemberId, LocalId) {
    (member(recognizer), id(rule))
}

#[test]
fn recognition_is_in_force_from_effective_from_to_effective_until_inclusive() {
    let mut log = Log::default();
    let mut terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2026-01-01");
    terms.effective_until = Some(d("2026-06-30"));
    log.changed(JX_LIST, Body::CredentialRecognized(terms));

    let rule = log.view.rules[&rule_key(JIAXING, "r1")].current();
    assert_eq!(rule.recognizer, member(JIAXING));
    assert!(!rule.in_force(d("2025-12-31")));
    assert!(rule.in_force(d("2026-01-01")));
    assert!(rule.in_force(d("2026-06-30")));
    assert!(!rule.in_force(d("2026-07-01")));
}

#[test]
fn open_ended_recognition_stays_in_force() {
    let mut log = Log::default();
    let terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2026-01-01");
    log.apply(JX_LIST, Body::CredentialRecognized(terms));
    let rule = log.view.rules[&rule_key(JIAXING, "r1")].current();
    assert!(rule.in_force(d("2199-12-31")));
}

#[test]
fn recognition_covers_the_same_level_from_the_named_issuer_or_any() {
    let mut log = Log::default();
    let named = recognized("named", title("senior_deputy"), SHANGHAI, "2026-01-01");
    let any = recognized("any", title("senior_full"), "*", "2026-01-01");
    log.apply(JX_LIST, Body::CredentialRecognized(named));
    log.apply(JX_LIST, Body::CredentialRecognized(any));

    let named = log.view.rules[&rule_key(JIAXING, "named")].current();
    assert!(named.covers(&title("senior_deputy"), member(SHANGHAI)));
    assert!(!named.covers(&title("senior_deputy"), member(HANGZHOU)));
    assert!(!named.covers(&title("senior_full"), member(SHANGHAI)));

    let any = log.view.rules[&rule_key(JIAXING, "any")].current();
    assert!(any.covers(&title("senior_full"), member(SHANGHAI)));
    assert!(any.covers(&title("senior_full"), member(HANGZHOU)));
    assert!(!any.covers(&title("intermediate"), member(HANGZHOU)));

    let index_key = (
        member(JIAXING),
        CredentialKind::ProfessionalTitle,
        "engineering".to_owned(),
        "senior_full".to_owned(),
    );
    assert_eq!(
        log.view.rules_by_credential[&index_key],
        vec![rule_key(JIAXING, "any")]
    );
}

#[test]
fn withdrawal_ends_a_rule_from_its_effective_date() {
    let mut log = Log::default();
    let terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2025-07-01");
    log.apply(JX_LIST, Body::CredentialRecognized(terms));
    let before_withdrawal = log.position();
    log.changed(JX_LIST, withdrawn("r1", "2026-04-01"));

    let history = &log.view.rules[&rule_key(JIAXING, "r1")];
    let rule = history.current();
    assert!(rule.in_force(d("2026-03-31")));
    assert!(!rule.in_force(d("2026-04-01")));
    assert!(!rule.in_force(d("2027-01-01")));
    assert_eq!(
        rule.withdrawn.as_ref().map(|w| w.effective_at),
        Some(d("2026-04-01"))
    );

    // What the hub knew before the withdrawal was recorded: still in force in April.
    let then = history.at(Some(before_withdrawal)).expect("rule existed");
    assert!(then.withdrawn.is_none());
    assert!(then.in_force(d("2026-04-01")));
}

#[test]
fn withdrawal_dated_before_the_rule_started_means_it_never_was_in_force() {
    let mut log = Log::default();
    let terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2026-07-01");
    log.apply(JX_LIST, Body::CredentialRecognized(terms));
    log.apply(JX_LIST, withdrawn("r1", "2026-05-01"));
    let rule = log.view.rules[&rule_key(JIAXING, "r1")].current();
    for day in ["2026-04-30", "2026-05-01", "2026-07-01", "2026-12-31"] {
        assert!(!rule.in_force(d(day)), "{day}");
    }
}

#[test]
fn revision_by_the_same_rule_id_replaces_the_terms() {
    let mut log = Log::default();
    let first = recognized("r1", title("senior_deputy"), SHANGHAI, "2025-07-01");
    log.apply(JX_LIST, Body::CredentialRecognized(first.clone()));
    let first_position = log.position();
    let mut second = recognized("r1", title("senior_deputy"), SHANGHAI, "2025-07-01");
    second.conditions = text("two years of local social insurance");
    second.effective_until = Some(d("2026-12-31"));
    log.changed(JX_LIST, Body::CredentialRecognized(second.clone()));

    assert_eq!(log.view.rules.len(), 1);
    let history = &log.view.rules[&rule_key(JIAXING, "r1")];
    assert_eq!(history.current().terms, second);
    assert_eq!(
        history.at(Some(first_position)).map(|r| &r.terms),
        Some(&first)
    );
    assert_eq!(history.created_at(), first_position);
    assert!(!history.current().in_force(d("2027-01-01")));
}

#[test]
fn withdrawing_an_unknown_or_already_withdrawn_rule_is_ignored() {
    let mut log = Log::default();
    log.ignored(JX_LIST, withdrawn("nope", "2026-01-01"));
    assert!(log.view.rules.is_empty());

    let terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2025-07-01");
    log.apply(JX_LIST, Body::CredentialRecognized(terms));
    log.changed(JX_LIST, withdrawn("r1", "2026-01-01"));
    log.ignored(JX_LIST, withdrawn("r1", "2026-02-01"));
    // The first withdrawal stands.
    let rule = log.view.rules[&rule_key(JIAXING, "r1")].current();
    assert_eq!(
        rule.withdrawn.as_ref().map(|w| w.effective_at),
        Some(d("2026-01-01"))
    );
    assert_eq!(log.view.ignored, 2);
    assert_eq!(log.view.event_count(), 4);
}

#[test]
fn a_rule_id_belongs_to_its_recognizer() {
    let mut log = Log::default();
    let terms = recognized("r1", title("senior_deputy"), SHANGHAI, "2025-07-01");
    log.apply(JX_LIST, Body::CredentialRecognized(terms));
    // Hangzhou cannot withdraw Jiaxing's rule by naming the same id in its own list.
    log.ignored("recognition/330100", withdrawn("r1", "2026-01-01"));
    assert!(log.view.rules[&rule_key(JIAXING, "r1")]
        .current()
        .withdrawn
        .is_none());
}
