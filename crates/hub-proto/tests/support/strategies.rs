//! Proptest strategies for valid domain values, up to a body of every kind.

use hub_types::event::{
    AwardAmended, AwardErased, AwardGranted, AwardWithdrawn, BlacklistEntryAdded,
    CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased, EntryTransition, Personal,
    PersonalFields, RecognitionWithdrawn, Sealed, WhitelistEntryAdded, WhitelistEntryRemoved,
    WhitelistEntryRenewed,
};
use hub_types::values::{
    AwardCategory, AwardEnd, AwardLevel, BlacklistCategory, CloseReason, Credential,
    CredentialKind, Education, ErasureReason, Industry, Issuer, MaskedName, OccupationCode,
    PayBand, RevokeReason, Text, WhitelistTier, MAX_AWARD_CNY, MAX_HEADCOUNT, MAX_LABEL,
    MAX_MEASURES, MAX_MONTHLY_PAY, MAX_TEXT, TITLE_LEVELS,
};
use hub_types::{Body, Date, LocalId, MemberId, Period, SubjectRef};
use proptest::prelude::*;

pub fn local_id() -> impl Strategy<Value = LocalId> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}".prop_map(|s| s.parse().expect("matches the grammar"))
}

pub fn member() -> impl Strategy<Value = MemberId> {
    prop::sample::select(vec![
        "310000", "320100", "320500", "330100", "330400", "340100", "110000", "440300",
    ])
    .prop_map(|s| s.parse().expect("member code"))
}

/// Text of at most `max` characters: no control characters but newlines, and not blank
/// when `required`.
pub fn text(max: usize, required: bool) -> impl Strategy<Value = Text> {
    let rest = format!("(\\PC|\n){{0,{}}}", max.min(80) - 1);
    let rest = proptest::string::string_regex(&rest).expect("valid regex");
    let first = if required { "[a-z\\p{Han}]" } else { "\\PC?" };
    (first, rest).prop_map(move |(a, b)| {
        let s: String = format!("{a}{b}").chars().take(max).collect();
        Text::new(&s, max, required).expect("generated text is valid")
    })
}

/// Full-length text, so the limits themselves round trip.
pub fn text_at_limit(max: usize) -> impl Strategy<Value = Text> {
    prop::char::range('\u{4e00}', '\u{9fa5}')
        .prop_map(move |c| Text::new(&c.to_string().repeat(max), max, true).expect("at limit"))
}

pub fn label() -> impl Strategy<Value = Text> {
    prop_oneof![4 => text(MAX_LABEL, true), 1 => text_at_limit(MAX_LABEL)]
}

pub fn long_text(required: bool) -> impl Strategy<Value = Text> {
    prop_oneof![4 => text(MAX_TEXT, required), 1 => text_at_limit(MAX_TEXT)]
}

/// Days since 1970-01-01 from 1949-01-01 to 2200-12-31.
pub fn date() -> impl Strategy<Value = Date> {
    (-7670i32..84_000).prop_map(Date::from_days_since_epoch)
}

/// Two dates, the second not before the first, early enough that a further 4000 days
/// stay within the hub's years.
pub fn date_range() -> impl Strategy<Value = (Date, Date)> {
    (-7670i32..76_000, 0i32..4000).prop_map(|(from, len)| {
        (
            Date::from_days_since_epoch(from),
            Date::from_days_since_epoch(from + len),
        )
    })
}

pub fn occupation() -> impl Strategy<Value = OccupationCode> {
    "[1-8]-(0[1-9]|[1-9][0-9])-[0-9]{2}-[0-9]{2}".prop_map(|s| s.parse().expect("occupation"))
}

pub fn credential() -> impl Strategy<Value = Credential> {
    let slug = "[a-z][a-z0-9_-]{0,47}";
    prop_oneof![
        (slug, prop::sample::select(TITLE_LEVELS.to_vec())).prop_map(|(c, l)| (
            CredentialKind::ProfessionalTitle,
            c,
            l.to_owned()
        )),
        (occupation(), 1u8..=5).prop_map(|(c, l)| (
            CredentialKind::SkillLevel,
            c.to_string(),
            l.to_string()
        )),
        (slug, prop::sample::select(vec!["A", "B", "C", "D", "E"])).prop_map(|(c, l)| (
            CredentialKind::TalentTier,
            c,
            l.to_owned()
        )),
        (slug, prop_oneof![Just(String::new()), slug]).prop_map(|(c, l)| (
            CredentialKind::Licence,
            c,
            l
        )),
    ]
    .prop_map(|(kind, code, level)| Credential::new(kind, &code, &level).expect("valid"))
}

pub fn issuer() -> impl Strategy<Value = Issuer> {
    prop_oneof![Just(Issuer::Any), member().prop_map(Issuer::Member)]
}

pub fn period() -> impl Strategy<Value = Period> {
    (1949u16..=2200, 1u8..=4).prop_map(|(y, q)| Period::new(y, q).expect("period"))
}

pub fn pay_band() -> impl Strategy<Value = PayBand> {
    (0..=MAX_MONTHLY_PAY, 0..=MAX_MONTHLY_PAY)
        .prop_map(|(a, b)| PayBand::new(a.min(b), a.max(b)).expect("ordered"))
}

pub fn demand_terms() -> impl Strategy<Value = DemandTerms> {
    (
        local_id(),
        prop::sample::select(Industry::ALL.to_vec()),
        occupation(),
        label(),
        1..=MAX_HEADCOUNT,
        period(),
        pay_band(),
        prop::sample::select(vec![
            Education::Any,
            Education::Vocational,
            Education::Bachelor,
            Education::Master,
            Education::Doctorate,
        ]),
    )
        .prop_map(
            |(
                signal_id,
                industry,
                occupation_code,
                level,
                headcount,
                period,
                pay_band,
                education,
            )| {
                DemandTerms {
                    signal_id,
                    industry,
                    occupation_code,
                    level,
                    headcount,
                    period,
                    pay_band,
                    education,
                }
            },
        )
}

pub fn masked_name() -> impl Strategy<Value = MaskedName> {
    prop_oneof![
        "\\p{Han}\\*{1,3}",
        "\\p{Han}\\*\\p{Han}",
        "[A-Z]\\*{1,14}",
        "\\*{2,16}",
    ]
    .prop_map(|s| s.parse().expect("masked"))
}

pub fn transition() -> impl Strategy<Value = EntryTransition> {
    (local_id(), long_text(false), date()).prop_map(|(entry_id, note, effective_at)| {
        EntryTransition {
            entry_id,
            note,
            effective_at,
        }
    })
}

pub fn body() -> impl Strategy<Value = Body> {
    let recognized = (
        local_id(),
        credential(),
        issuer(),
        label(),
        long_text(false),
        date_range(),
        any::<bool>(),
    )
        .prop_map(
            |(rule_id, credential, issuer, local, conditions, (from, until), open)| {
                Body::CredentialRecognized(CredentialRecognized {
                    rule_id,
                    credential,
                    issuer,
                    local_equivalent: local,
                    conditions,
                    effective_from: from,
                    effective_until: (!open).then_some(until),
                })
            },
        );
    let withdrawn = (local_id(), long_text(true), date()).prop_map(|(rule_id, reason, at)| {
        Body::RecognitionWithdrawn(RecognitionWithdrawn {
            rule_id,
            reason,
            effective_at: at,
        })
    });
    let closed = (
        local_id(),
        prop::sample::select(vec![
            CloseReason::Filled,
            CloseReason::Cancelled,
            CloseReason::Expired,
        ]),
        0..=MAX_HEADCOUNT,
        date(),
    )
        .prop_map(|(signal_id, reason, filled, closed_at)| {
            Body::DemandSignalClosed(DemandSignalClosed {
                signal_id,
                reason,
                filled,
                closed_at,
            })
        });
    let personal = prop_oneof![
        (masked_name(), long_text(false)).prop_map(|(subject_display, decision_summary)| {
            Personal::Plain(PersonalFields {
                subject_display,
                decision_summary,
            })
        }),
        (
            prop::collection::vec(any::<u8>(), 24),
            prop::collection::vec(any::<u8>(), 16..=600)
        )
            .prop_map(|(nonce, ciphertext)| Personal::Sealed(Sealed { nonce, ciphertext })),
    ];
    let added = (
        local_id(),
        any::<[u8; 32]>(),
        personal,
        prop::sample::select(vec![
            BlacklistCategory::ApplicationFraud,
            BlacklistCategory::AcademicMisconduct,
            BlacklistCategory::CredentialForgery,
            BlacklistCategory::ContractBreach,
            BlacklistCategory::FundingMisuse,
        ]),
        label(),
        (date_range(), 0i32..4000),
        prop::collection::vec(long_text(true), 0..=MAX_MEASURES),
    )
        .prop_map(
            |(
                entry_id,
                subject,
                personal,
                category,
                decision_ref,
                ((decided, from), len),
                measures,
            )| {
                Body::BlacklistEntryAdded(BlacklistEntryAdded {
                    entry_id,
                    subject_ref: SubjectRef::from_bytes(subject),
                    personal,
                    category,
                    decision_ref,
                    decided_at: decided,
                    effective_from: from,
                    expires_at: Date::from_days_since_epoch(from.days_since_epoch() + len),
                    measures,
                })
            },
        );
    let revoked = (
        transition(),
        prop::sample::select(vec![
            RevokeReason::AppealUpheld,
            RevokeReason::CreditRepaired,
            RevokeReason::Error,
        ]),
    )
        .prop_map(|(transition, reason)| Body::BlacklistEntryRevoked { transition, reason });
    let erased = (
        local_id(),
        prop::sample::select(vec![ErasureReason::RetentionEnded, ErasureReason::Order]),
        label(),
    )
        .prop_map(|(entry_id, reason, order_ref)| {
            Body::BlacklistEntryErased(EntryErased {
                entry_id,
                reason,
                order_ref,
            })
        });
    let three_families = prop_oneof![
        recognized,
        withdrawn,
        demand_terms().prop_map(Body::DemandSignalPublished),
        demand_terms().prop_map(Body::DemandSignalRevised),
        closed,
        added,
        transition().prop_map(Body::BlacklistEntrySuspended),
        transition().prop_map(Body::BlacklistEntryReinstated),
        revoked,
        erased,
    ];
    prop_oneof![10 => three_families, 8 => register_body()]
}

/// Personal fields of a white-list entry or award: a display name alone, or sealed.
fn register_personal() -> impl Strategy<Value = Personal> {
    prop_oneof![
        masked_name().prop_map(|subject_display| Personal::Plain(PersonalFields {
            subject_display,
            decision_summary: Text::default(),
        })),
        (
            prop::collection::vec(any::<u8>(), 24),
            prop::collection::vec(any::<u8>(), 16..=600)
        )
            .prop_map(|(nonce, ciphertext)| Personal::Sealed(Sealed { nonce, ciphertext })),
    ]
}

fn erasure_reason() -> impl Strategy<Value = ErasureReason> {
    prop::sample::select(vec![ErasureReason::RetentionEnded, ErasureReason::Order])
}

/// A valid body of the talent register (white list and awards), any kind.
pub fn register_body() -> impl Strategy<Value = Body> {
    let added = (
        local_id(),
        any::<[u8; 32]>(),
        register_personal(),
        prop::sample::select(WhitelistTier::ALL.to_vec()),
        label(),
        date_range(),
        label(),
    )
        .prop_map(
            |(entry_id, subject, personal, tier, scheme, (from, until), basis_ref)| {
                Body::WhitelistEntryAdded(WhitelistEntryAdded {
                    entry_id,
                    subject_ref: SubjectRef::from_bytes(subject),
                    personal,
                    tier,
                    scheme,
                    valid_from: from,
                    valid_until: until,
                    basis_ref,
                })
            },
        );
    let renewed = (local_id(), date(), label()).prop_map(|(entry_id, valid_until, basis_ref)| {
        Body::WhitelistEntryRenewed(WhitelistEntryRenewed {
            entry_id,
            valid_until,
            basis_ref,
        })
    });
    let removed = (local_id(), long_text(true), date()).prop_map(|(entry_id, reason, at)| {
        Body::WhitelistEntryRemoved(WhitelistEntryRemoved {
            entry_id,
            reason,
            effective_at: at,
        })
    });
    let wl_erased =
        (local_id(), erasure_reason(), label()).prop_map(|(entry_id, reason, order_ref)| {
            Body::WhitelistEntryErased(EntryErased {
                entry_id,
                reason,
                order_ref,
            })
        });
    let granted = (
        (local_id(), any::<[u8; 32]>(), register_personal(), label()),
        (
            prop::sample::select(AwardCategory::ALL.to_vec()),
            prop::sample::select(AwardLevel::ALL.to_vec()),
        ),
        (long_text(true), 1..=MAX_AWARD_CNY, date_range(), label()),
    )
        .prop_map(
            |(
                (award_id, subject, personal, programme_code),
                (category, level),
                (project_title, amount_cny, (from, until), decision_ref),
            )| {
                Body::AwardGranted(AwardGranted {
                    award_id,
                    subject_ref: SubjectRef::from_bytes(subject),
                    personal,
                    programme_code,
                    category,
                    level,
                    project_title,
                    amount_cny,
                    funded_from: from,
                    funded_until: until,
                    decision_ref,
                })
            },
        );
    let amended = (
        local_id(),
        long_text(true),
        1..=MAX_AWARD_CNY,
        date_range(),
        label(),
    )
        .prop_map(
            |(award_id, project_title, amount_cny, (from, until), decision_ref)| {
                Body::AwardAmended(AwardAmended {
                    award_id,
                    project_title,
                    amount_cny,
                    funded_from: from,
                    funded_until: until,
                    decision_ref,
                })
            },
        );
    let withdrawn = (
        local_id(),
        prop::sample::select(vec![AwardEnd::Withdrawn, AwardEnd::ClawedBack]),
        long_text(true),
        date(),
    )
        .prop_map(|(award_id, outcome, reason, effective_at)| {
            Body::AwardWithdrawn(AwardWithdrawn {
                award_id,
                outcome,
                reason,
                effective_at,
            })
        });
    let award_erased =
        (local_id(), erasure_reason(), label()).prop_map(|(award_id, reason, order_ref)| {
            Body::AwardErased(AwardErased {
                award_id,
                reason,
                order_ref,
            })
        });
    prop_oneof![
        added,
        renewed,
        removed,
        wl_erased,
        granted,
        amended,
        withdrawn,
        award_erased,
    ]
}
