//! Validation of the talent register: every field of white-list entries and awards that
//! can be wrong is rejected at its exact path, and valid messages are accepted.

mod support;

use hub_proto::pb::{self, event_body::Kind};
use hub_types::event::Personal;
use hub_types::Body;
use support::{accepted, body_rejected, request};

const WL_STREAM: &str = "whitelist/310000/sh-wl-2025-001";
const AWARD_STREAM: &str = "award/320500/sz-2025-017";
const SUBJECT: &str = "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549";

fn wl_added() -> pb::WhitelistEntryAdded {
    pb::WhitelistEntryAdded {
        entry_id: "sh-wl-2025-001".into(),
        subject_ref: SUBJECT.into(),
        national_id: String::new(),
        subject_display: "李*".into(),
        tier: pb::WhitelistTier::A as i32,
        scheme: "shanghai-overseas-high-end".into(),
        valid_from: "2025-07-01".into(),
        valid_until: "2028-06-30".into(),
        basis_ref: "沪人才办〔2025〕3号".into(),
        sealed: None,
    }
}

fn granted() -> pb::AwardGranted {
    pb::AwardGranted {
        award_id: "sz-2025-017".into(),
        subject_ref: SUBJECT.into(),
        national_id: String::new(),
        subject_display: "王*".into(),
        programme_code: "js-shuangchuang".into(),
        category: pb::AwardCategory::TalentProgramme as i32,
        level: pb::AwardLevel::Provincial as i32,
        project_title: "高端医疗影像设备".into(),
        amount_cny: 1_000_000,
        funded_from: "2025-09-01".into(),
        funded_until: "2028-08-31".into(),
        decision_ref: "苏人才〔2025〕21号".into(),
        sealed: None,
    }
}

fn amended() -> pb::AwardAmended {
    pb::AwardAmended {
        award_id: "sz-2025-017".into(),
        project_title: "高端医疗影像设备（二期）".into(),
        amount_cny: 1_200_000,
        funded_from: "2025-09-01".into(),
        funded_until: "2029-08-31".into(),
        decision_ref: "苏人才〔2026〕4号".into(),
    }
}

fn withdrawn() -> pb::AwardWithdrawn {
    pb::AwardWithdrawn {
        award_id: "sz-2025-017".into(),
        outcome: pb::AwardOutcome::ClawedBack as i32,
        reason: "重复申报".into(),
        effective_at: "2026-03-01".into(),
    }
}

/// Breaks one field of a valid message.
type Breaks<M> = Box<dyn Fn(&mut M)>;

#[track_caller]
fn one_body(stream: &str, kind: Kind) -> Body {
    let (_, _, mut events) = accepted(&request(stream, vec![kind]));
    events.remove(0).body
}

#[test]
fn valid_register_events_are_accepted() {
    let Body::WhitelistEntryAdded(a) = one_body(WL_STREAM, Kind::WhitelistEntryAdded(wl_added()))
    else {
        panic!("a white-list entry");
    };
    assert!(matches!(a.personal, Personal::Plain(ref p) if p.subject_display.to_string() == "李*"));
    for kind in [
        Kind::WhitelistEntryRenewed(pb::WhitelistEntryRenewed {
            entry_id: "sh-wl-2025-001".into(),
            valid_until: "2031-06-30".into(),
            basis_ref: "沪人才办〔2028〕1号".into(),
        }),
        Kind::WhitelistEntryRemoved(pb::WhitelistEntryRemoved {
            entry_id: "sh-wl-2025-001".into(),
            reason: "调离".into(),
            effective_at: "2026-01-01".into(),
        }),
        Kind::WhitelistEntryErased(pb::WhitelistEntryErased {
            entry_id: "sh-wl-2025-001".into(),
            reason: pb::ErasureReason::RetentionEnded as i32,
            order_ref: String::new(),
        }),
    ] {
        one_body(WL_STREAM, kind);
    }
    for kind in [
        Kind::AwardGranted(granted()),
        Kind::AwardAmended(amended()),
        Kind::AwardWithdrawn(withdrawn()),
        Kind::AwardErased(pb::AwardErased {
            award_id: "sz-2025-017".into(),
            reason: pb::ErasureReason::Order as i32,
            order_ref: "（2026）苏05行终3号".into(),
        }),
    ] {
        one_body(AWARD_STREAM, kind);
    }
}

#[test]
fn every_bad_whitelist_field_is_named() {
    let cases: Vec<(&str, Breaks<pb::WhitelistEntryAdded>)> = vec![
        ("entry_id", Box::new(|a| a.entry_id = "bad id".into())),
        ("subject_ref", Box::new(|a| a.subject_ref = String::new())),
        ("subject_ref", Box::new(|a| a.subject_ref = "ABC".into())),
        (
            "national_id",
            Box::new(|a| a.national_id = "11010519491231002X".into()),
        ),
        (
            "subject_display",
            Box::new(|a| a.subject_display = "李四".into()),
        ),
        ("tier", Box::new(|a| a.tier = 0)),
        ("tier", Box::new(|a| a.tier = 9)),
        ("scheme", Box::new(|a| a.scheme = String::new())),
        ("scheme", Box::new(|a| a.scheme = "x".repeat(65))),
        (
            "valid_from",
            Box::new(|a| a.valid_from = "2025-13-01".into()),
        ),
        ("valid_until", Box::new(|a| a.valid_until = String::new())),
        (
            "valid_until",
            Box::new(|a| a.valid_until = "2025-06-30".into()),
        ),
        ("basis_ref", Box::new(|a| a.basis_ref = " ".into())),
        (
            "sealed.nonce",
            Box::new(|a| {
                a.subject_display = String::new();
                a.sealed = Some(pb::SealedPersonal {
                    nonce: vec![1; 3],
                    ciphertext: vec![2; 40],
                });
            }),
        ),
        (
            "subject_display",
            Box::new(|a| {
                a.sealed = Some(pb::SealedPersonal {
                    nonce: vec![1; 24],
                    ciphertext: vec![2; 40],
                });
            }),
        ),
    ];
    for (field, break_it) in cases {
        let mut a = wl_added();
        break_it(&mut a);
        body_rejected(
            WL_STREAM,
            Kind::WhitelistEntryAdded(a),
            &format!("whitelist_entry_added.{field}"),
        );
    }
    let renewed = |until: &str, basis: &str| {
        Kind::WhitelistEntryRenewed(pb::WhitelistEntryRenewed {
            entry_id: "sh-wl-2025-001".into(),
            valid_until: until.into(),
            basis_ref: basis.into(),
        })
    };
    body_rejected(
        WL_STREAM,
        renewed("2031-02-30", "ref"),
        "whitelist_entry_renewed.valid_until",
    );
    body_rejected(
        WL_STREAM,
        renewed("2031-01-30", ""),
        "whitelist_entry_renewed.basis_ref",
    );
    body_rejected(
        WL_STREAM,
        Kind::WhitelistEntryRemoved(pb::WhitelistEntryRemoved {
            entry_id: "sh-wl-2025-001".into(),
            reason: String::new(),
            effective_at: "2026-01-01".into(),
        }),
        "whitelist_entry_removed.reason",
    );
    body_rejected(
        WL_STREAM,
        Kind::WhitelistEntryErased(pb::WhitelistEntryErased {
            entry_id: "sh-wl-2025-001".into(),
            reason: pb::ErasureReason::Order as i32,
            order_ref: String::new(),
        }),
        "whitelist_entry_erased.order_ref",
    );
}

#[test]
fn every_bad_award_field_is_named() {
    let cases: Vec<(&str, Breaks<pb::AwardGranted>)> = vec![
        ("award_id", Box::new(|g| g.award_id = "-x".into())),
        ("subject_ref", Box::new(|g| g.subject_ref = String::new())),
        (
            "national_id",
            Box::new(|g| g.national_id = "11010519491231002X".into()),
        ),
        (
            "subject_display",
            Box::new(|g| g.subject_display = String::new()),
        ),
        (
            "programme_code",
            Box::new(|g| g.programme_code = String::new()),
        ),
        ("category", Box::new(|g| g.category = 0)),
        ("category", Box::new(|g| g.category = 7)),
        ("level", Box::new(|g| g.level = 0)),
        ("level", Box::new(|g| g.level = 5)),
        (
            "project_title",
            Box::new(|g| g.project_title = "题".repeat(501)),
        ),
        ("amount_cny", Box::new(|g| g.amount_cny = 0)),
        ("amount_cny", Box::new(|g| g.amount_cny = 10_000_000_001)),
        (
            "funded_from",
            Box::new(|g| g.funded_from = "yesterday".into()),
        ),
        (
            "funded_until",
            Box::new(|g| g.funded_until = "2025-08-31".into()),
        ),
        ("decision_ref", Box::new(|g| g.decision_ref = String::new())),
    ];
    for (field, break_it) in cases {
        let mut g = granted();
        break_it(&mut g);
        body_rejected(
            AWARD_STREAM,
            Kind::AwardGranted(g),
            &format!("award_granted.{field}"),
        );
    }
    let mut a = amended();
    a.amount_cny = 0;
    body_rejected(
        AWARD_STREAM,
        Kind::AwardAmended(a),
        "award_amended.amount_cny",
    );
    let mut a = amended();
    a.funded_until = "2024-01-01".into();
    body_rejected(
        AWARD_STREAM,
        Kind::AwardAmended(a),
        "award_amended.funded_until",
    );
    let mut w = withdrawn();
    w.outcome = 0;
    body_rejected(
        AWARD_STREAM,
        Kind::AwardWithdrawn(w),
        "award_withdrawn.outcome",
    );
    let mut w = withdrawn();
    w.effective_at = String::new();
    body_rejected(
        AWARD_STREAM,
        Kind::AwardWithdrawn(w),
        "award_withdrawn.effective_at",
    );
    body_rejected(
        AWARD_STREAM,
        Kind::AwardErased(pb::AwardErased {
            award_id: "sz-2025-017".into(),
            reason: 0,
            order_ref: String::new(),
        }),
        "award_erased.reason",
    );
}

#[test]
fn register_events_must_match_their_stream() {
    // A white-list event on an award stream, and an id other than the stream's.
    body_rejected(
        AWARD_STREAM,
        Kind::WhitelistEntryAdded(wl_added()),
        "whitelist_entry_added",
    );
    let mut g = granted();
    g.award_id = "sz-2025-018".into();
    body_rejected(
        AWARD_STREAM,
        Kind::AwardGranted(g),
        "award_granted.award_id",
    );
    let mut a = wl_added();
    a.entry_id = "sh-wl-2025-002".into();
    body_rejected(
        WL_STREAM,
        Kind::WhitelistEntryAdded(a),
        "whitelist_entry_added.entry_id",
    );
}
