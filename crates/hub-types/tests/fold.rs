//! Lifecycle tests of the fold (`ViewState::apply`) for each family, record-time versions
//! (`History::at`), and the convergence property: any interleaving of origins that keeps
//! each origin's order folds to the same view.

use std::collections::BTreeMap;

use hub_types::event::{
    BlacklistEntryAdded, CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased,
    EntryTransition, Personal, PersonalFields, RecognitionWithdrawn,
};
use hub_types::fold::{Applied, EntryStatus, Step, ViewState};
use hub_types::values::{
    BlacklistCategory, CloseReason, Credential, CredentialKind, Education, ErasureReason, Industry,
    Issuer, PayBand, RevokeReason, Text,
};
use hub_types::{
    Body, Date, Event, EventId, EventKind, LocalId, MemberId, OriginSeq, Position, StreamId,
    SubjectRef, Timestamp,
};
use proptest::prelude::*;

const SHANGHAI: &str = "310000";
const SUZHOU: &str = "320500";
const HANGZHOU: &str = "330100";
const JIAXING: &str = "330400";

fn d(s: &str) -> Date {
    s.parse().expect("test date")
}

fn id(s: &str) -> LocalId {
    s.parse().expect("test local id")
}

fn member(s: &str) -> MemberId {
    s.parse().expect("test member")
}

fn text(s: &str) -> Text {
    Text::new(s, 500, false).expect("test text")
}

fn pos(n: u64) -> Position {
    Position::new(n).expect("positions start at 1")
}

/// Folds events one by one, stamping positions 1, 2, 3, … and per-origin / per-stream
/// counters the way a node would.
#[derive(Default)]
struct Log {
    view: ViewState,
    next: u64,
    seqs: BTreeMap<MemberId, u64>,
    versions: BTreeMap<StreamId, u64>,
}

impl Log {
    fn event(&mut self, stream: &StreamId, body: Body) -> Event {
        self.next += 1;
        let seq = self.seqs.entry(stream.owner()).or_default();
        *seq += 1;
        let version = self.versions.entry(stream.clone()).or_default();
        *version += 1;
        Event {
            event_id: EventId::new_random(),
            origin: stream.owner(),
            origin_seq: OriginSeq::new(*seq).expect("counted from 1"),
            stream: stream.clone(),
            stream_version: *version,
            recorded_at: Timestamp(1_760_000_000_000_000 + self.next as i64),
            body,
            position: pos(self.next),
        }
    }

    fn apply_to(&mut self, stream: &StreamId, body: Body) -> Applied {
        let event = self.event(stream, body);
        self.view.apply(&event)
    }

    fn apply(&mut self, stream: &str, body: Body) -> Applied {
        self.apply_to(&stream.parse().expect("test stream"), body)
    }

    /// Applies an event that must change the view.
    #[track_caller]
    fn changed(&mut self, stream: &str, body: Body) {
        assert_eq!(self.apply(stream, body), Applied::Changed);
    }

    /// Applies an event that must be ignored, leaving the view's entities as they were.
    #[track_caller]
    fn ignored(&mut self, stream: &str, body: Body) {
        let before = self.view.digest(None);
        assert_eq!(self.apply(stream, body), Applied::Ignored);
        assert_eq!(
            self.view.digest(None),
            before,
            "an ignored event changed the view"
        );
    }

    fn position(&self) -> Position {
        pos(self.next)
    }
}

// ---------------------------------------------------------------------------------------
// Body builders

fn title(level: &str) -> Credential {
    Credential::new(CredentialKind::ProfessionalTitle, "engineering", level).expect("title")
}

fn recognized(
    rule: &str,
    credential: Credential,
    issuer: &str,
    from: &str,
) -> CredentialRecognized {
    CredentialRecognized {
        rule_id: id(rule),
        credential,
        issuer: issuer.parse::<Issuer>().expect("issuer"),
        local_equivalent: text("senior_deputy"),
        conditions: text(""),
        effective_from: d(from),
        effective_until: None,
    }
}

fn withdrawn(rule: &str, at: &str) -> Body {
    Body::RecognitionWithdrawn(RecognitionWithdrawn {
        rule_id: id(rule),
        reason: text("superseded by the alliance catalogue"),
        effective_at: d(at),
    })
}

fn terms(signal: &str, headcount: u32) -> DemandTerms {
    DemandTerms {
        signal_id: id(signal),
        industry: Industry::IntegratedCircuits,
        occupation_code: "2-02-09-06".parse().expect("occupation"),
        level: text("senior"),
        headcount,
        period: "2026-Q1".parse().expect("period"),
        pay_band: PayBand::new(20_000, 35_000).expect("pay band"),
        education: Education::Master,
    }
}

fn closed(signal: &str, reason: CloseReason, filled: u32, at: &str) -> Body {
    Body::DemandSignalClosed(DemandSignalClosed {
        signal_id: id(signal),
        reason,
        filled,
        closed_at: d(at),
    })
}

fn subject(byte: u8) -> SubjectRef {
    SubjectRef::from_bytes([byte; 32])
}

fn added(entry: &str, subject_byte: u8, from: &str, expires: &str) -> Body {
    Body::BlacklistEntryAdded(BlacklistEntryAdded {
        entry_id: id(entry),
        subject_ref: subject(subject_byte),
        personal: Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("test display name"),
            decision_summary: Text::default(),
        }),
        category: BlacklistCategory::ApplicationFraud,
        decision_ref: text("沪人社信〔2025〕12号"),
        decided_at: d(from),
        effective_from: d(from),
        expires_at: d(expires),
        measures: vec![text("barred from talent programmes for three years")],
    })
}

fn transition(entry: &str, at: &str) -> EntryTransition {
    EntryTransition {
        entry_id: id(entry),
        note: text("appeal 2025-21"),
        effective_at: d(at),
    }
}

fn suspended(entry: &str, at: &str) -> Body {
    Body::BlacklistEntrySuspended(transition(entry, at))
}

fn reinstated(entry: &str, at: &str) -> Body {
    Body::BlacklistEntryReinstated(transition(entry, at))
}

fn revoked(entry: &str, at: &str, reason: RevokeReason) -> Body {
    Body::BlacklistEntryRevoked {
        transition: transition(entry, at),
        reason,
    }
}

fn erased(entry: &str, reason: ErasureReason, order_ref: &str) -> Body {
    Body::BlacklistEntryErased(EntryErased {
        entry_id: id(entry),
        reason,
        order_ref: text(order_ref),
    })
}

// ---------------------------------------------------------------------------------------
// Recognition

const JX_LIST: &str = "recognition/330400";

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

// ---------------------------------------------------------------------------------------
// Demand

const SIGNAL: &str = "demand/310000/sh-ic-2026q1-01";
const SIGNAL_ID: &str = "sh-ic-2026q1-01";

fn signal_key() -> (MemberId, LocalId) {
    (member(SHANGHAI), id(SIGNAL_ID))
}

#[test]
fn publishing_opens_a_signal() {
    let mut log = Log::default();
    log.changed(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    let signal = log.view.signals[&signal_key()].current();
    assert_eq!(signal.origin, member(SHANGHAI));
    assert_eq!(signal.terms, terms(SIGNAL_ID, 150));
    assert_eq!(signal.revisions, 0);
    assert!(signal.closed.is_none());
    assert!(signal.open_on(d("2026-01-01")));
}

#[test]
fn publishing_the_same_signal_twice_is_ignored() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    log.ignored(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 999)));
    assert_eq!(
        log.view.signals[&signal_key()].current().terms.headcount,
        150
    );
}

#[test]
fn revisions_replace_the_terms_and_are_counted() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    let published_at = log.position();
    let mut revised = terms(SIGNAL_ID, 170);
    revised.pay_band = PayBand::new(25_000, 42_000).expect("pay band");
    revised.education = Education::Doctorate;
    log.changed(SIGNAL, Body::DemandSignalRevised(revised.clone()));
    log.changed(SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 180)));

    let history = &log.view.signals[&signal_key()];
    assert_eq!(history.current().terms, terms(SIGNAL_ID, 180));
    assert_eq!(history.current().revisions, 2);
    let first_revision = history
        .at(Some(pos(published_at.get() + 1)))
        .expect("exists");
    assert_eq!(first_revision.terms, revised);
    assert_eq!(first_revision.revisions, 1);
    assert_eq!(history.at(Some(published_at)).expect("exists").revisions, 0);
}

#[test]
fn a_closed_signal_is_open_until_its_closing_day() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    log.changed(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Filled, 140, "2026-03-20"),
    );
    let signal = log.view.signals[&signal_key()].current();
    assert!(signal.open_on(d("2026-03-19")));
    assert!(!signal.open_on(d("2026-03-20")));
    assert!(!signal.open_on(d("2026-12-31")));
    let close = signal.closed.as_ref().expect("closed");
    assert_eq!((close.reason, close.filled), (CloseReason::Filled, 140));
}

#[test]
fn revising_or_closing_a_closed_signal_is_ignored() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    log.apply(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Cancelled, 0, "2026-02-01"),
    );
    let before = log.view.signals[&signal_key()].current().clone();
    log.ignored(SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 300)));
    log.ignored(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Filled, 150, "2026-03-01"),
    );
    assert_eq!(log.view.signals[&signal_key()].current(), &before);
    assert_eq!(log.view.ignored, 2);
}

#[test]
fn revising_or_closing_an_unknown_signal_is_ignored() {
    let mut log = Log::default();
    log.ignored(SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 300)));
    log.ignored(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Expired, 0, "2026-03-01"),
    );
    assert!(log.view.signals.is_empty());
    assert_eq!(log.view.counts[&EventKind::DemandSignalRevised], 1);
    assert_eq!(log.view.counts[&EventKind::DemandSignalClosed], 1);
}

// ---------------------------------------------------------------------------------------
// Blacklist

const ENTRY_STREAM: &str = "blacklist/330100/hz-2025-0007";
const ENTRY: &str = "hz-2025-0007";

fn entry_key() -> (MemberId, LocalId) {
    (member(HANGZHOU), id(ENTRY))
}

fn status(log: &Log, day: &str) -> EntryStatus {
    log.view.entries[&entry_key()].current().status_on(d(day))
}

#[test]
fn an_entry_is_pending_then_active_then_expired() {
    let mut log = Log::default();
    log.changed(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    assert_eq!(status(&log, "2025-06-14"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-06-15"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-14"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-15"), EntryStatus::Expired);
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry.origin, member(HANGZHOU));
    assert!(entry.steps.is_empty());
    assert!(entry.revocation().is_none());
}

#[test]
fn a_suspended_entry_is_active_again_once_reinstated() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.changed(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    let suspended_at = log.position();
    log.changed(ENTRY_STREAM, reinstated(ENTRY, "2026-01-20"));

    assert_eq!(status(&log, "2025-06-01"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-11-02"), EntryStatus::Active);
    assert_eq!(status(&log, "2025-11-03"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-01-19"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-01-20"), EntryStatus::Active);
    assert_eq!(status(&log, "2027-06-15"), EntryStatus::Expired);

    // Before the reinstatement was recorded, the hub answered "suspended" for February.
    let then = log.view.entries[&entry_key()]
        .at(Some(suspended_at))
        .expect("entry existed");
    assert_eq!(then.status_on(d("2026-02-01")), EntryStatus::Suspended);

    // A second appeal after reinstatement is allowed.
    log.changed(ENTRY_STREAM, suspended(ENTRY, "2026-05-01"));
    assert_eq!(status(&log, "2026-04-30"), EntryStatus::Active);
    assert_eq!(status(&log, "2026-05-01"), EntryStatus::Suspended);
}

#[test]
fn an_upheld_appeal_revokes_the_entry_from_its_date() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    log.changed(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-03-15", RevokeReason::AppealUpheld),
    );

    assert_eq!(status(&log, "2025-08-09"), EntryStatus::Pending);
    assert_eq!(status(&log, "2025-11-30"), EntryStatus::Active);
    assert_eq!(status(&log, "2025-12-01"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-03-14"), EntryStatus::Suspended);
    assert_eq!(status(&log, "2026-03-15"), EntryStatus::Revoked);
    // Revocation wins over the end of the period.
    assert_eq!(status(&log, "2028-08-10"), EntryStatus::Revoked);

    let entry = log.view.entries[&entry_key()].current();
    let (reason, t) = entry.revocation().expect("revoked");
    assert_eq!(reason, RevokeReason::AppealUpheld);
    assert_eq!(t.effective_at, d("2026-03-15"));
    assert_eq!(
        entry.steps.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![Step::Suspended, Step::Revoked(RevokeReason::AppealUpheld)]
    );
}

#[test]
fn nothing_follows_a_revocation() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-01-01", RevokeReason::Error),
    );
    let before = log.view.entries[&entry_key()].current().clone();
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2026-02-01"));
    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2026-02-01"));
    log.ignored(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-02-01", RevokeReason::CreditRepaired),
    );
    assert_eq!(log.view.entries[&entry_key()].current(), &before);
    assert_eq!(log.view.ignored, 3);
}

#[test]
fn steps_out_of_lifecycle_order_are_ignored() {
    let mut log = Log::default();
    // Unknown entry.
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    // Adding the same entry again.
    log.ignored(ENTRY_STREAM, added(ENTRY, 2, "2025-08-10", "2028-08-09"));
    // Reinstating what was never suspended.
    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2025-12-01"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-12-01"));
    // Suspending twice.
    log.ignored(ENTRY_STREAM, suspended(ENTRY, "2025-12-02"));
    assert_eq!(log.view.ignored, 4);
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry.added.subject_ref, subject(1));
    assert_eq!(entry.steps.len(), 1);
}

#[test]
fn entries_are_indexed_by_subject_across_cities() {
    let mut log = Log::default();
    log.apply(
        "blacklist/310000/sh-2025-0012",
        added("sh-2025-0012", 7, "2025-03-20", "2028-03-19"),
    );
    log.apply(
        "blacklist/320500/sz-2026-0002",
        added("sz-2026-0002", 7, "2026-02-10", "2027-02-09"),
    );
    log.apply(ENTRY_STREAM, added(ENTRY, 8, "2025-06-15", "2027-06-14"));
    assert_eq!(
        log.view.entries_by_subject[&subject(7)],
        vec![
            (member(SHANGHAI), id("sh-2025-0012")),
            (member(SUZHOU), id("sz-2026-0002"))
        ]
    );
    assert_eq!(log.view.entries_by_subject[&subject(8)], vec![entry_key()]);
}

// ---------------------------------------------------------------------------------------
// Erasure

const SH_ENTRY_STREAM: &str = "blacklist/310000/sh-2025-0012";
const SH_ENTRY: &str = "sh-2025-0012";

const ORDER_REF: &str = "（2026）浙0106民初1号";

#[test]
fn an_erased_entry_is_erased_on_every_date() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    let before_erasure = log.position();
    log.changed(
        ENTRY_STREAM,
        erased(ENTRY, ErasureReason::RetentionEnded, ""),
    );

    // Before, during and after the period, suspended or not: erased.
    for day in [
        "2000-01-01",
        "2025-06-14",
        "2025-06-15",
        "2025-11-02",
        "2025-11-03",
        "2027-06-14",
        "2027-06-15",
        "2199-12-31",
    ] {
        assert_eq!(status(&log, day), EntryStatus::Erased, "{day}");
    }
    let history = &log.view.entries[&entry_key()];
    let entry = history.current();
    assert_eq!(
        entry.erased,
        Some(EntryErased {
            entry_id: id(ENTRY),
            reason: ErasureReason::RetentionEnded,
            order_ref: Text::default(),
        })
    );
    // The entry stays in the view, its decision and steps with it.
    assert_eq!(entry.added.subject_ref, subject(1));
    assert_eq!(
        entry.steps.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![Step::Suspended]
    );
    assert_eq!(log.view.entries_by_subject[&subject(1)], vec![entry_key()]);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryErased], 1);
    assert_eq!(log.view.ignored, 0);

    // What the hub knew before the erasure was recorded: the old statuses.
    let then = history.at(Some(before_erasure)).expect("entry existed");
    assert!(then.erased.is_none());
    assert_eq!(then.status_on(d("2025-06-14")), EntryStatus::Pending);
    assert_eq!(then.status_on(d("2025-11-02")), EntryStatus::Active);
    assert_eq!(then.status_on(d("2025-11-03")), EntryStatus::Suspended);
    assert_eq!(then.status_on(d("2027-06-15")), EntryStatus::Expired);
    assert_eq!(history.at(Some(log.position())), Some(entry));
    assert_ne!(
        log.view.digest(Some(before_erasure)),
        log.view.digest(None),
        "the erasure is part of the digest"
    );
}

#[test]
fn erasure_wins_over_a_revocation() {
    let mut log = Log::default();
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-08-10", "2028-08-09"));
    log.apply(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-01-01", RevokeReason::Error),
    );
    let revoked_at = log.position();
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));

    for day in ["2025-08-09", "2025-12-31", "2026-01-01", "2028-08-10"] {
        assert_eq!(status(&log, day), EntryStatus::Erased, "{day}");
    }
    let history = &log.view.entries[&entry_key()];
    let erasure = history.current().erased.as_ref().expect("erased");
    assert_eq!(erasure.reason, ErasureReason::Order);
    assert_eq!(erasure.order_ref, text(ORDER_REF));
    // The revocation is still recorded.
    assert_eq!(
        history.current().revocation().map(|(r, _)| r),
        Some(RevokeReason::Error)
    );
    let then = history.at(Some(revoked_at)).expect("entry existed");
    assert_eq!(then.status_on(d("2026-01-01")), EntryStatus::Revoked);
    assert_eq!(then.status_on(d("2025-12-31")), EntryStatus::Active);
}

#[test]
fn nothing_follows_an_erasure() {
    let mut log = Log::default();
    // Suspended, then erased: a reinstatement or a revocation would be allowed otherwise.
    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.apply(ENTRY_STREAM, suspended(ENTRY, "2025-11-03"));
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    // Erased with no step: a suspension would be allowed otherwise.
    log.apply(
        SH_ENTRY_STREAM,
        added(SH_ENTRY, 2, "2025-03-20", "2028-03-19"),
    );
    log.changed(
        SH_ENTRY_STREAM,
        erased(SH_ENTRY, ErasureReason::RetentionEnded, ""),
    );
    let hz_before = log.view.entries[&entry_key()].current().clone();
    let sh_key = (member(SHANGHAI), id(SH_ENTRY));
    let sh_before = log.view.entries[&sh_key].current().clone();
    assert_eq!(log.view.ignored, 0);

    log.ignored(ENTRY_STREAM, reinstated(ENTRY, "2026-01-20"));
    log.ignored(
        ENTRY_STREAM,
        revoked(ENTRY, "2026-02-01", RevokeReason::AppealUpheld),
    );
    log.ignored(SH_ENTRY_STREAM, suspended(SH_ENTRY, "2026-02-01"));
    log.ignored(
        SH_ENTRY_STREAM,
        revoked(SH_ENTRY, "2026-02-01", RevokeReason::CreditRepaired),
    );

    assert_eq!(log.view.entries[&entry_key()].current(), &hz_before);
    assert_eq!(log.view.entries[&sh_key].current(), &sh_before);
    assert_eq!(status(&log, "2026-03-01"), EntryStatus::Erased);
    assert_eq!(log.view.ignored, 4);
    assert_eq!(log.view.event_count(), 9);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryReinstated], 1);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryRevoked], 2);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntrySuspended], 2);
}

#[test]
fn erasing_twice_or_an_unknown_entry_is_ignored() {
    let mut log = Log::default();
    // No such entry yet.
    log.ignored(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    assert!(log.view.entries.is_empty());

    log.apply(ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14"));
    log.changed(ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF));
    let first = log.view.entries[&entry_key()].current().clone();
    // Erasing it again, for another reason.
    log.ignored(
        ENTRY_STREAM,
        erased(ENTRY, ErasureReason::RetentionEnded, ""),
    );
    // Another city cannot erase Hangzhou's entry by naming the same id in its own stream.
    log.ignored(
        "blacklist/310000/hz-2025-0007",
        erased(ENTRY, ErasureReason::Order, ORDER_REF),
    );

    // The first erasure stands.
    let entry = log.view.entries[&entry_key()].current();
    assert_eq!(entry, &first);
    assert_eq!(
        entry.erased.as_ref().map(|e| e.reason),
        Some(ErasureReason::Order)
    );
    assert_eq!(log.view.entries.len(), 1);
    assert_eq!(log.view.ignored, 3);
    assert_eq!(log.view.counts[&EventKind::BlacklistEntryErased], 4);
    assert_eq!(log.view.event_count(), 5);
}

#[test]
fn an_erasure_folds_alike_before_or_after_another_origins_events() {
    // Hangzhou adds and erases its entry; Shanghai adds, suspends and revokes an entry
    // about the same person.
    let hangzhou = [
        (ENTRY_STREAM, added(ENTRY, 7, "2025-06-15", "2027-06-14")),
        (ENTRY_STREAM, erased(ENTRY, ErasureReason::Order, ORDER_REF)),
    ];
    let shanghai = [
        (
            SH_ENTRY_STREAM,
            added(SH_ENTRY, 7, "2025-03-20", "2028-03-19"),
        ),
        (SH_ENTRY_STREAM, suspended(SH_ENTRY, "2025-06-01")),
        (
            SH_ENTRY_STREAM,
            revoked(SH_ENTRY, "2025-08-01", RevokeReason::AppealUpheld),
        ),
    ];
    let fold = |order: &[&(&str, Body)]| {
        let mut log = Log::default();
        for (stream, body) in order {
            log.changed(stream, body.clone());
        }
        log
    };
    let [hz_add, hz_erase] = &hangzhou;
    let [sh_add, sh_suspend, sh_revoke] = &shanghai;
    // The erasure before Shanghai's events, and after them.
    let erased_first = fold(&[hz_add, hz_erase, sh_add, sh_suspend, sh_revoke]);
    let erased_last = fold(&[sh_add, hz_add, sh_suspend, sh_revoke, hz_erase]);
    let erased_between = fold(&[hz_add, sh_add, sh_suspend, hz_erase, sh_revoke]);
    for other in [&erased_last, &erased_between] {
        assert_eq!(other.view.digest(None), erased_first.view.digest(None));
        assert_eq!(observable(&other.view), observable(&erased_first.view));
    }

    // The erasure counts in the digest: the same events without it differ.
    let unerased = fold(&[hz_add, sh_add, sh_suspend, sh_revoke]);
    assert_ne!(unerased.view.digest(None), erased_first.view.digest(None));

    // Hangzhou's entry is erased, Shanghai's is revoked, both still indexed by subject.
    let view = &erased_last.view;
    assert_eq!(
        view.entries[&entry_key()]
            .current()
            .status_on(d("2026-01-01")),
        EntryStatus::Erased
    );
    let sh_key = (member(SHANGHAI), id(SH_ENTRY));
    let sh = view.entries[&sh_key].current();
    assert!(sh.erased.is_none());
    assert_eq!(sh.status_on(d("2026-01-01")), EntryStatus::Revoked);
    assert_eq!(
        view.entries_by_subject[&subject(7)],
        vec![sh_key, entry_key()]
    );
}

// ---------------------------------------------------------------------------------------
// Unknown kinds, counts, record time

#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let mut log = Log::default();
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 150)));
    let digest = log.view.digest(None);
    assert_eq!(log.apply(SIGNAL, Body::Unknown), Applied::SkippedUnknown);
    assert_eq!(log.apply(JX_LIST, Body::Unknown), Applied::SkippedUnknown);

    assert_eq!(log.view.skipped_unknown(), 2);
    assert_eq!(log.view.counts[&EventKind::Unknown], 2);
    assert_eq!(log.view.event_count(), 3);
    assert_eq!(log.view.ignored, 0);
    assert_eq!(log.view.position, Some(pos(3)));
    assert_eq!(log.view.digest(None), digest);
}

#[test]
fn history_answers_what_the_log_held_at_a_position() {
    let mut log = Log::default();
    log.apply(JX_LIST, withdrawn("other", "2026-01-01")); // 1: ignored
    log.apply(SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 100))); // 2
    log.apply(JX_LIST, Body::Unknown); // 3
    log.apply(SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 200))); // 4
    log.apply(
        SIGNAL,
        closed(SIGNAL_ID, CloseReason::Filled, 200, "2026-03-01"),
    ); // 5

    let history = &log.view.signals[&signal_key()];
    assert!(history.at(Some(pos(1))).is_none());
    let headcount = |p: u64| history.at(Some(pos(p))).map(|s| s.terms.headcount);
    assert_eq!(headcount(2), Some(100));
    assert_eq!(headcount(3), Some(100));
    assert_eq!(headcount(4), Some(200));
    assert!(history.at(Some(pos(4))).expect("exists").closed.is_none());
    assert!(history.at(Some(pos(5))).expect("exists").closed.is_some());
    assert!(history.at(Some(pos(99))).expect("exists").closed.is_some());
    assert_eq!(history.at(None), Some(history.current()));
    assert_eq!(history.created_at(), pos(2));
}

#[test]
fn digest_as_of_a_position_equals_a_fresh_replay_up_to_it() {
    let bodies: Vec<(&str, Body)> = vec![
        (
            JX_LIST,
            Body::CredentialRecognized(recognized(
                "r1",
                title("senior_deputy"),
                SHANGHAI,
                "2025-07-01",
            )),
        ),
        (SIGNAL, Body::DemandSignalPublished(terms(SIGNAL_ID, 100))),
        (ENTRY_STREAM, added(ENTRY, 1, "2025-06-15", "2027-06-14")),
        (JX_LIST, withdrawn("r1", "2026-04-01")),
        (SIGNAL, Body::DemandSignalRevised(terms(SIGNAL_ID, 120))),
        (ENTRY_STREAM, suspended(ENTRY, "2025-11-03")),
    ];
    let mut full = Log::default();
    for (stream, body) in &bodies {
        full.apply(stream, body.clone());
    }
    let mut digests = std::collections::BTreeSet::new();
    for cut in 0..=bodies.len() {
        let mut prefix = Log::default();
        for (stream, body) in &bodies[..cut] {
            prefix.apply(stream, body.clone());
        }
        if cut > 0 {
            let at = Some(pos(cut as u64));
            assert_eq!(full.view.digest(at), prefix.view.digest(None), "cut {cut}");
        }
        digests.insert(prefix.view.digest(None));
    }
    // Every event changed the view, so every prefix has its own digest.
    assert_eq!(digests.len(), bodies.len() + 1);
    assert_eq!(full.view.digest(None), full.view.digest(Some(pos(6))));
}

// ---------------------------------------------------------------------------------------
// Convergence: any interleaving of origins gives the same view

/// One step an origin takes; entity numbers are small so that steps collide on the same
/// entities and exercise every lifecycle rule, the ignored ones included.
#[derive(Debug, Clone)]
enum Op {
    Recognize {
        rule: u8,
        level: u8,
        from: i32,
        span: Option<i32>,
    },
    Withdraw {
        rule: u8,
        at: i32,
    },
    Publish {
        signal: u8,
        headcount: u32,
    },
    Revise {
        signal: u8,
        headcount: u32,
    },
    Close {
        signal: u8,
        filled: u32,
        at: i32,
    },
    Add {
        entry: u8,
        subject: u8,
        from: i32,
        len: i32,
    },
    Suspend {
        entry: u8,
        at: i32,
    },
    Reinstate {
        entry: u8,
        at: i32,
    },
    Revoke {
        entry: u8,
        at: i32,
    },
    Erase {
        entry: u8,
        order: bool,
    },
    Unknown,
}

/// Days since 1970-01-01 around 2025–2026.
fn day() -> impl Strategy<Value = i32> {
    20_000i32..20_800
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, 0u8..5, day(), prop::option::of(0i32..400)).prop_map(
            |(rule, level, from, span)| Op::Recognize {
                rule,
                level,
                from,
                span
            }
        ),
        (0u8..3, day()).prop_map(|(rule, at)| Op::Withdraw { rule, at }),
        (0u8..3, 1u32..500).prop_map(|(signal, headcount)| Op::Publish { signal, headcount }),
        (0u8..3, 1u32..500).prop_map(|(signal, headcount)| Op::Revise { signal, headcount }),
        (0u8..3, 0u32..500, day()).prop_map(|(signal, filled, at)| Op::Close {
            signal,
            filled,
            at
        }),
        (0u8..3, 0u8..3, day(), 0i32..1500).prop_map(|(entry, subject, from, len)| Op::Add {
            entry,
            subject,
            from,
            len
        }),
        (0u8..3, day()).prop_map(|(entry, at)| Op::Suspend { entry, at }),
        (0u8..3, day()).prop_map(|(entry, at)| Op::Reinstate { entry, at }),
        (0u8..3, day()).prop_map(|(entry, at)| Op::Revoke { entry, at }),
        (0u8..3, any::<bool>()).prop_map(|(entry, order)| Op::Erase { entry, order }),
        Just(Op::Unknown),
    ]
}

fn day_n(n: i32) -> Date {
    Date::from_days_since_epoch(n)
}

/// The stream and body of `op` taken by `origin`.
fn materialise(origin: MemberId, op: &Op) -> (StreamId, Body) {
    let rule = |n: u8| id(&format!("r{n}"));
    let signal = |n: u8| id(&format!("s{n}"));
    let entry = |n: u8| id(&format!("e{n}"));
    let list = StreamId::recognition(origin);
    let demand = |n: u8| StreamId::demand(origin, signal(n));
    let blacklist = |n: u8| StreamId::blacklist(origin, entry(n));
    let step = |n: u8, at: i32| EntryTransition {
        entry_id: entry(n),
        note: text("step"),
        effective_at: day_n(at),
    };
    match *op {
        Op::Recognize {
            rule: r,
            level,
            from,
            span,
        } => {
            let level = hub_types::values::TITLE_LEVELS[usize::from(level)];
            let mut terms = recognized("x", title(level), SHANGHAI, "2025-01-01");
            terms.rule_id = rule(r);
            terms.effective_from = day_n(from);
            terms.effective_until = span.map(|s| day_n(from + s));
            (list, Body::CredentialRecognized(terms))
        }
        Op::Withdraw { rule: r, at } => (
            list,
            Body::RecognitionWithdrawn(RecognitionWithdrawn {
                rule_id: rule(r),
                reason: text("withdrawn"),
                effective_at: day_n(at),
            }),
        ),
        Op::Publish {
            signal: s,
            headcount,
        } => (
            demand(s),
            Body::DemandSignalPublished(terms(signal(s).as_str(), headcount)),
        ),
        Op::Revise {
            signal: s,
            headcount,
        } => (
            demand(s),
            Body::DemandSignalRevised(terms(signal(s).as_str(), headcount)),
        ),
        Op::Close {
            signal: s,
            filled,
            at,
        } => (
            demand(s),
            Body::DemandSignalClosed(DemandSignalClosed {
                signal_id: signal(s),
                reason: CloseReason::Filled,
                filled,
                closed_at: day_n(at),
            }),
        ),
        Op::Add {
            entry: e,
            subject: subj,
            from,
            len,
        } => {
            let mut body = added(entry(e).as_str(), subj, "2025-01-01", "2025-01-01");
            if let Body::BlacklistEntryAdded(a) = &mut body {
                a.decided_at = day_n(from);
                a.effective_from = day_n(from);
                a.expires_at = day_n(from + len);
            }
            (blacklist(e), body)
        }
        Op::Suspend { entry: e, at } => (blacklist(e), Body::BlacklistEntrySuspended(step(e, at))),
        Op::Reinstate { entry: e, at } => {
            (blacklist(e), Body::BlacklistEntryReinstated(step(e, at)))
        }
        Op::Revoke { entry: e, at } => (
            blacklist(e),
            Body::BlacklistEntryRevoked {
                transition: step(e, at),
                reason: RevokeReason::AppealUpheld,
            },
        ),
        Op::Erase { entry: e, order } => {
            let (reason, order_ref) = if order {
                (ErasureReason::Order, "order")
            } else {
                (ErasureReason::RetentionEnded, "")
            };
            (blacklist(e), erased(entry(e).as_str(), reason, order_ref))
        }
        Op::Unknown => (list, Body::Unknown),
    }
}

const ORIGINS: [&str; 4] = [SHANGHAI, SUZHOU, HANGZHOU, JIAXING];

/// Per-origin sequences for 3 or 4 origins, and an interleaving of them: a shuffled list
/// naming, for each slot of the merged log, which origin's next event goes there.
fn origins_and_interleaving() -> impl Strategy<Value = (Vec<Vec<Op>>, Vec<usize>)> {
    (3usize..=4)
        .prop_flat_map(|n| prop::collection::vec(prop::collection::vec(op(), 0..30), n))
        .prop_flat_map(|per_origin| {
            let slots: Vec<usize> = per_origin
                .iter()
                .enumerate()
                .flat_map(|(i, ops)| std::iter::repeat_n(i, ops.len()))
                .collect();
            (Just(per_origin), Just(slots).prop_shuffle())
        })
}

/// Folds the merged log that `slots` describes, with positions in merged order.
fn fold_interleaved(per_origin: &[Vec<Op>], slots: &[usize]) -> (Log, Vec<Applied>) {
    let mut log = Log::default();
    let mut next = vec![0usize; per_origin.len()];
    let mut applied = Vec::new();
    for &origin in slots {
        let op = &per_origin[origin][next[origin]];
        next[origin] += 1;
        let (stream, body) = materialise(member(ORIGINS[origin]), op);
        applied.push(log.apply_to(&stream, body));
    }
    (log, applied)
}

/// Everything a query could observe of the current view, positions aside.
fn observable(view: &ViewState) -> impl PartialEq + std::fmt::Debug {
    let rules: Vec<_> = view
        .rules
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let signals: Vec<_> = view
        .signals
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let entries: Vec<_> = view
        .entries
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    (
        rules,
        signals,
        entries,
        view.rules_by_credential.clone(),
        view.entries_by_subject.clone(),
        view.counts.clone(),
        view.ignored,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_interleaving_of_origins_folds_to_the_same_view(
        (per_origin, slots) in origins_and_interleaving()
    ) {
        // The reference order: each origin's events one origin after the other.
        let sequential: Vec<usize> = per_origin
            .iter()
            .enumerate()
            .flat_map(|(i, ops)| std::iter::repeat_n(i, ops.len()))
            .collect();
        let (reference, _) = fold_interleaved(&per_origin, &sequential);
        let (shuffled, applied) = fold_interleaved(&per_origin, &slots);

        prop_assert_eq!(reference.view.digest(None), shuffled.view.digest(None));
        prop_assert_eq!(observable(&reference.view), observable(&shuffled.view));
        prop_assert_eq!(
            applied.iter().filter(|a| **a == Applied::Ignored).count() as u64,
            shuffled.view.ignored
        );
    }

    #[test]
    fn as_of_digest_equals_replaying_the_prefix(
        ((per_origin, slots), cut) in (origins_and_interleaving(), 0.0f64..1.0)
    ) {
        prop_assume!(!slots.is_empty());
        let cut = 1 + ((slots.len() - 1) as f64 * cut) as usize;
        let (full, _) = fold_interleaved(&per_origin, &slots);
        let (prefix, _) = fold_interleaved(&per_origin, &slots[..cut]);
        let at = Some(pos(cut as u64));
        prop_assert_eq!(full.view.digest(at), prefix.view.digest(None));
        for (key, history) in &full.view.signals {
            prop_assert_eq!(
                history.at(at),
                prefix.view.signals.get(key).map(|h| h.current())
            );
        }
        for (key, history) in &full.view.entries {
            prop_assert_eq!(
                history.at(at),
                prefix.view.entries.get(key).map(|h| h.current())
            );
        }
    }
}
