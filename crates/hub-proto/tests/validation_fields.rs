//! Validation of the field rules every event family shares: dates and date ranges, enum
//! values, and text lengths, each checked in every kind that carries the field.

mod support;

use hub_proto::pb::event_body::Kind;
use support::{
    added, body_rejected, closed, published, recognized, reinstated, revised, revoked, suspended,
    withdrawn, ENTRY_STREAM, LIST_STREAM, SIGNAL_STREAM,
};

// ---------------------------------------------------------------------------------------
// Dates

#[test]
fn impossible_or_missing_dates_are_rejected() {
    for bad in [
        "2026-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-4-1",
        "",
        "1900-01-01",
    ] {
        let mut r = recognized();
        r.effective_from = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.effective_from",
        );

        let mut w = withdrawn();
        w.effective_at = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::RecognitionWithdrawn(w),
            "recognition_withdrawn.effective_at",
        );

        let mut c = closed();
        c.closed_at = bad.into();
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalClosed(c),
            "demand_signal_closed.closed_at",
        );

        for field in ["decided_at", "effective_from", "expires_at"] {
            let mut a = added();
            match field {
                "decided_at" => a.decided_at = bad.into(),
                "effective_from" => a.effective_from = bad.into(),
                _ => a.expires_at = bad.into(),
            }
            body_rejected(
                ENTRY_STREAM,
                Kind::BlacklistEntryAdded(a),
                &format!("blacklist_entry_added.{field}"),
            );
        }

        let mut s = suspended();
        s.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntrySuspended(s),
            "blacklist_entry_suspended.effective_at",
        );
        let mut r = reinstated();
        r.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryReinstated(r),
            "blacklist_entry_reinstated.effective_at",
        );
        let mut r = revoked();
        r.effective_at = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryRevoked(r),
            "blacklist_entry_revoked.effective_at",
        );
    }

    // An empty effective_until means open-ended; an impossible one is an error.
    let mut r = recognized();
    r.effective_until = "2026-02-30".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.effective_until",
    );
}

#[test]
fn date_ranges_must_be_in_order() {
    let mut r = recognized();
    r.effective_until = "2025-06-30".into();
    let reason = body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.effective_until",
    );
    assert!(reason.contains("effective_from 2025-07-01"), "{reason}");

    let mut a = added();
    a.expires_at = "2025-03-19".into();
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.expires_at",
    );

    let mut a = added();
    a.effective_from = "2025-03-09".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.effective_from",
    );
    assert!(reason.contains("decided_at 2025-03-10"), "{reason}");
}

// ---------------------------------------------------------------------------------------
// Enums

#[test]
fn unspecified_or_unknown_enum_values_are_rejected() {
    for raw in [0, 42, -1] {
        let mut r = recognized();
        if let Some(c) = r.credential.as_mut() {
            c.kind = raw;
        }
        let reason = body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.credential.kind",
        );
        let expected = if raw == 0 {
            "must be set"
        } else {
            "unknown value"
        };
        assert!(reason.contains(expected), "{raw}: {reason}");

        let mut p = published();
        p.industry = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.industry",
        );
        let mut p = published();
        p.education = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalPublished(p),
            "demand_signal_published.education",
        );
        let mut r = revised();
        r.industry = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalRevised(r),
            "demand_signal_revised.industry",
        );
        let mut c = closed();
        c.reason = raw;
        body_rejected(
            SIGNAL_STREAM,
            Kind::DemandSignalClosed(c),
            "demand_signal_closed.reason",
        );
        let mut a = added();
        a.category = raw;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.category",
        );
        let mut r = revoked();
        r.reason = raw;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryRevoked(r),
            "blacklist_entry_revoked.reason",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Text

#[test]
fn over_long_or_empty_required_text_is_rejected() {
    let mut r = recognized();
    r.local_equivalent = "字".repeat(65);
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.local_equivalent",
    );
    let mut r = recognized();
    r.local_equivalent = "  ".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.local_equivalent",
    );
    let mut r = recognized();
    r.conditions = "条".repeat(501);
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.conditions",
    );
    let mut w = withdrawn();
    w.reason = String::new();
    body_rejected(
        LIST_STREAM,
        Kind::RecognitionWithdrawn(w),
        "recognition_withdrawn.reason",
    );

    let mut p = published();
    p.level = "l".repeat(65);
    body_rejected(
        SIGNAL_STREAM,
        Kind::DemandSignalPublished(p),
        "demand_signal_published.level",
    );

    let mut a = added();
    a.decision_ref = "号".repeat(65);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.decision_ref",
    );
    let mut a = added();
    a.measures = vec!["ok".into(), " ".into()];
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures[1]",
    );
    let mut a = added();
    a.measures = vec!["m".repeat(501)];
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures[0]",
    );

    // Each lifecycle step names its note by the wire field it came in.
    let mut s = suspended();
    s.appeal_ref = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntrySuspended(s),
        "blacklist_entry_suspended.appeal_ref",
    );
    let mut r = reinstated();
    r.note = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryReinstated(r),
        "blacklist_entry_reinstated.note",
    );
    let mut r = revoked();
    r.note = "a".repeat(501);
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryRevoked(r),
        "blacklist_entry_revoked.note",
    );
}
