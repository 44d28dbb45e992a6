//! Validation of blacklist entries: masked display names, subject refs, personal fields in
//! the clear or sealed, erasures and measures, accepted or rejected at the exact path.

mod support;

use hub_proto::pb::{self, event_body::Kind};
use hub_types::event::{EntryErased, Personal, PersonalFields, Sealed};
use hub_types::values::{ErasureReason, Text};
use hub_types::Body;
use support::{accepted, added, body_rejected, on_entry, ENTRY_STREAM, SIGNAL_STREAM};

// ---------------------------------------------------------------------------------------
// Valid entry messages only these tests break

/// An order erasure of the Shanghai entry, with its court reference.
fn erased() -> pb::BlacklistEntryErased {
    pb::BlacklistEntryErased {
        entry_id: "sh-2025-0012".into(),
        reason: pb::ErasureReason::Order as i32,
        order_ref: "（2026）沪01行终12号".into(),
    }
}

/// An entry as the hub stores it: the personal fields sealed, the clear ones empty.
fn sealed_added() -> pb::BlacklistEntryAdded {
    pb::BlacklistEntryAdded {
        subject_display: String::new(),
        decision_summary: String::new(),
        sealed: Some(pb::SealedPersonal {
            nonce: vec![7; 24],
            ciphertext: vec![9; 80],
        }),
        ..added()
    }
}

/// `sealed_added` with the sealed fields replaced.
fn with_sealed(nonce: Vec<u8>, ciphertext: Vec<u8>) -> Kind {
    Kind::BlacklistEntryAdded(pb::BlacklistEntryAdded {
        sealed: Some(pb::SealedPersonal { nonce, ciphertext }),
        ..sealed_added()
    })
}

/// The body of a single accepted event on the entry stream.
#[track_caller]
fn accepted_body(kind: Kind) -> Body {
    let (_, _, mut events) = accepted(&on_entry(kind));
    assert_eq!(events.len(), 1);
    events.remove(0).body
}

// ---------------------------------------------------------------------------------------
// Blacklist values

#[test]
fn display_names_must_be_masked() {
    for name in ["张三", "王小明", "*", "张*1", "欧阳小*明", "", "Zhang San"] {
        let mut a = added();
        a.subject_display = name.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.subject_display",
        );
    }
}

#[test]
fn subject_refs_must_be_64_lowercase_hex() {
    let good = added().subject_ref;
    for bad in [
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("g{}", &good[1..]),
        "11010519491231002X".to_owned(),
        String::new(),
    ] {
        let mut a = added();
        a.subject_ref = bad;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.subject_ref",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Personal fields: in the clear or sealed

#[test]
fn personal_fields_in_the_clear_are_accepted() {
    let body = accepted_body(Kind::BlacklistEntryAdded(added()));
    let Body::BlacklistEntryAdded(a) = body else {
        panic!("expected an entry, got {body:?}");
    };
    assert_eq!(
        a.personal,
        Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("masked"),
            decision_summary: Text::new("以伪造的职称证书申报人才计划", 500, false).expect("text"),
        })
    );

    // The summary may be empty, up to 500 characters, and not hold control characters.
    let mut a = added();
    a.decision_summary = String::new();
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));
    let mut a = added();
    a.decision_summary = "述".repeat(500);
    accepted(&on_entry(Kind::BlacklistEntryAdded(a)));
    for bad in ["述".repeat(501), "伪造\u{7}证书".to_owned()] {
        let mut a = added();
        a.decision_summary = bad;
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryAdded(a),
            "blacklist_entry_added.decision_summary",
        );
    }
}

#[test]
fn a_sealed_entry_is_accepted() {
    let body = accepted_body(Kind::BlacklistEntryAdded(sealed_added()));
    let Body::BlacklistEntryAdded(a) = body else {
        panic!("expected an entry, got {body:?}");
    };
    assert_eq!(
        a.personal,
        Personal::Sealed(Sealed {
            nonce: vec![7; 24],
            ciphertext: vec![9; 80],
        })
    );
    assert_eq!(a.entry_id.as_str(), "sh-2025-0012");

    // The ciphertext's bounds: the bare tag, and the longest.
    for n in [16, 4096] {
        accepted(&on_entry(with_sealed(vec![0; 24], vec![1; n])));
    }
}

#[test]
fn sealed_and_clear_personal_fields_together_are_rejected() {
    let mut a = sealed_added();
    a.subject_display = "张*".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.subject_display",
    );
    assert!(reason.contains("must be empty when sealed"), "{reason}");

    let mut a = sealed_added();
    a.decision_summary = "以伪造的职称证书申报人才计划".into();
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.decision_summary",
    );
    assert!(reason.contains("must be empty when sealed"), "{reason}");

    // Both set: the display name is named first.
    let a = pb::BlacklistEntryAdded {
        sealed: sealed_added().sealed,
        ..added()
    };
    body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.subject_display",
    );
}

#[test]
fn sealed_nonces_must_be_24_bytes() {
    for n in [0, 1, 12, 23, 25, 32] {
        let reason = body_rejected(
            ENTRY_STREAM,
            with_sealed(vec![0; n], vec![1; 80]),
            "blacklist_entry_added.sealed.nonce",
        );
        assert!(
            reason.contains(&format!("expected 24 bytes, got {n}")),
            "{n}: {reason}"
        );
    }
}

#[test]
fn sealed_ciphertexts_must_be_16_to_4096_bytes() {
    for n in [0, 1, 15, 4097, 10_000] {
        let reason = body_rejected(
            ENTRY_STREAM,
            with_sealed(vec![0; 24], vec![1; n]),
            "blacklist_entry_added.sealed.ciphertext",
        );
        assert!(reason.contains(&format!("got {n}")), "{n}: {reason}");
    }
}

// ---------------------------------------------------------------------------------------
// Erasure

#[test]
fn a_retention_erasure_without_an_order_ref_is_accepted() {
    let e = pb::BlacklistEntryErased {
        reason: pb::ErasureReason::RetentionEnded as i32,
        order_ref: String::new(),
        ..erased()
    };
    assert_eq!(
        accepted_body(Kind::BlacklistEntryErased(e)),
        Body::BlacklistEntryErased(EntryErased {
            entry_id: "sh-2025-0012".parse().expect("id"),
            reason: ErasureReason::RetentionEnded,
            order_ref: Text::default(),
        })
    );

    // An order erasure with its reference, at the longest.
    let mut e = erased();
    e.order_ref = "号".repeat(64);
    match accepted_body(Kind::BlacklistEntryErased(e)) {
        Body::BlacklistEntryErased(e) => {
            assert_eq!(e.reason, ErasureReason::Order);
            assert_eq!(e.order_ref.as_str(), "号".repeat(64));
        }
        other => panic!("expected an erasure, got {other:?}"),
    }
}

#[test]
fn an_unspecified_or_unknown_erasure_reason_is_rejected() {
    for (raw, expected) in [
        (0, "must be set"),
        (3, "unknown value 3"),
        (-1, "unknown value -1"),
    ] {
        let mut e = erased();
        e.reason = raw;
        let reason = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.reason",
        );
        assert!(reason.contains(expected), "{raw}: {reason}");
    }
}

#[test]
fn an_order_erasure_needs_an_order_ref() {
    for blank in ["", "   "] {
        let mut e = erased();
        e.order_ref = blank.into();
        let reason = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.order_ref",
        );
        assert!(reason.contains("must not be empty"), "{blank:?}: {reason}");
    }
}

#[test]
fn order_refs_are_at_most_64_characters() {
    for reason in [pb::ErasureReason::Order, pb::ErasureReason::RetentionEnded] {
        let e = pb::BlacklistEntryErased {
            reason: reason as i32,
            order_ref: "号".repeat(65),
            ..erased()
        };
        let why = body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.order_ref",
        );
        assert!(why.contains("at most 64"), "{reason:?}: {why}");
    }
}

#[test]
fn an_erasure_names_the_entry_of_its_stream() {
    body_rejected(
        "blacklist/310000/sh-2025-0013",
        Kind::BlacklistEntryErased(erased()),
        "blacklist_entry_erased.entry_id",
    );
    for bad in ["", "-x", "has space"] {
        let mut e = erased();
        e.entry_id = bad.into();
        body_rejected(
            ENTRY_STREAM,
            Kind::BlacklistEntryErased(e),
            "blacklist_entry_erased.entry_id",
        );
    }
    let reason = body_rejected(
        SIGNAL_STREAM,
        Kind::BlacklistEntryErased(erased()),
        "blacklist_entry_erased",
    );
    assert!(reason.contains("demand stream"), "{reason}");
}

// ---------------------------------------------------------------------------------------
// Measures

#[test]
fn too_many_measures_are_rejected() {
    let mut a = added();
    a.measures = vec!["measure".into(); 17];
    let reason = body_rejected(
        ENTRY_STREAM,
        Kind::BlacklistEntryAdded(a),
        "blacklist_entry_added.measures",
    );
    assert!(reason.contains("at most 16"), "{reason}");
}
