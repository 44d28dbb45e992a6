//! Lifecycle tests of the fold for demand signals: publishing, revising and closing, and
//! the out-of-order steps it ignores.

mod support;

use hub_types::values::{CloseReason, Education, PayBand};
use hub_types::{Body, EventKind};
use support::*;

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
