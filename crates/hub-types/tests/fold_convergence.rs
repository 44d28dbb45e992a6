//! The convergence property of the fold (every family, the talent register included): any interleaving of origins that keeps each
//! origin's order folds to the same view, and the digest as of a position equals a replay
//! of the prefix up to it.

mod support;

use hub_types::event::{DemandSignalClosed, EntryTransition, RecognitionWithdrawn};
use hub_types::fold::Applied;
use hub_types::values::{AwardEnd, CloseReason, ErasureReason, RevokeReason};
use hub_types::{Body, Date, MemberId, StreamId};
use proptest::prelude::*;
use support::*;

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
    WlAdd {
        entry: u8,
        subject: u8,
        from: i32,
        len: i32,
    },
    WlRenew {
        entry: u8,
        until: i32,
    },
    WlRemove {
        entry: u8,
        at: i32,
    },
    WlErase {
        entry: u8,
    },
    Grant {
        award: u8,
        subject: u8,
        from: i32,
        len: i32,
        amount: u64,
    },
    Amend {
        award: u8,
        from: i32,
        len: i32,
        amount: u64,
    },
    EndAward {
        award: u8,
        claw: bool,
        at: i32,
    },
    AwardErase {
        award: u8,
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
        register_op(),
        register_op(),
        Just(Op::Unknown),
    ]
}

fn register_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, 0u8..3, day(), 0i32..1500).prop_map(|(entry, subject, from, len)| {
            Op::WlAdd {
                entry,
                subject,
                from,
                len,
            }
        }),
        (0u8..3, day()).prop_map(|(entry, until)| Op::WlRenew { entry, until }),
        (0u8..3, day()).prop_map(|(entry, at)| Op::WlRemove { entry, at }),
        (0u8..3).prop_map(|entry| Op::WlErase { entry }),
        (0u8..3, 0u8..3, day(), 0i32..1500, 1u64..5_000_000).prop_map(
            |(award, subject, from, len, amount)| Op::Grant {
                award,
                subject,
                from,
                len,
                amount
            }
        ),
        (0u8..3, day(), 0i32..1500, 1u64..5_000_000).prop_map(|(award, from, len, amount)| {
            Op::Amend {
                award,
                from,
                len,
                amount,
            }
        }),
        (0u8..3, any::<bool>(), day()).prop_map(|(award, claw, at)| Op::EndAward {
            award,
            claw,
            at
        }),
        (0u8..3).prop_map(|award| Op::AwardErase { award }),
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
    let award = |n: u8| id(&format!("a{n}"));
    let whitelist = |n: u8| StreamId::whitelist(origin, entry(n));
    let award_stream = |n: u8| StreamId::award(origin, award(n));
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
        Op::WlAdd {
            entry: e,
            subject: subj,
            from,
            len,
        } => {
            let mut body = wl_added(entry(e).as_str(), subj, "2025-01-01", "2025-01-01");
            if let Body::WhitelistEntryAdded(a) = &mut body {
                a.valid_from = day_n(from);
                a.valid_until = day_n(from + len);
            }
            (whitelist(e), body)
        }
        Op::WlRenew { entry: e, until } => {
            let mut body = wl_renewed(entry(e).as_str(), "2025-01-01");
            if let Body::WhitelistEntryRenewed(r) = &mut body {
                r.valid_until = day_n(until);
            }
            (whitelist(e), body)
        }
        Op::WlRemove { entry: e, at } => {
            let mut body = wl_removed(entry(e).as_str(), "2025-01-01");
            if let Body::WhitelistEntryRemoved(r) = &mut body {
                r.effective_at = day_n(at);
            }
            (whitelist(e), body)
        }
        Op::WlErase { entry: e } => (whitelist(e), wl_erased(entry(e).as_str())),
        Op::Grant {
            award: a,
            subject: subj,
            from,
            len,
            amount,
        } => {
            let mut body = granted(award(a).as_str(), subj, "2025-01-01", "2025-01-01", amount);
            if let Body::AwardGranted(g) = &mut body {
                g.funded_from = day_n(from);
                g.funded_until = day_n(from + len);
            }
            (award_stream(a), body)
        }
        Op::Amend {
            award: a,
            from,
            len,
            amount,
        } => {
            let mut body = amended(award(a).as_str(), "2025-01-01", "2025-01-01", amount);
            if let Body::AwardAmended(x) = &mut body {
                x.funded_from = day_n(from);
                x.funded_until = day_n(from + len);
            }
            (award_stream(a), body)
        }
        Op::EndAward { award: a, claw, at } => {
            let outcome = if claw {
                AwardEnd::ClawedBack
            } else {
                AwardEnd::Withdrawn
            };
            let mut body = award_ended(award(a).as_str(), outcome, "2025-01-01");
            if let Body::AwardWithdrawn(w) = &mut body {
                w.effective_at = day_n(at);
            }
            (award_stream(a), body)
        }
        Op::AwardErase { award: a } => (award_stream(a), award_erased(award(a).as_str())),
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
        for (key, history) in &full.view.whitelist {
            prop_assert_eq!(
                history.at(at),
                prefix.view.whitelist.get(key).map(|h| h.current())
            );
        }
        for (key, history) in &full.view.awards {
            prop_assert_eq!(
                history.at(at),
                prefix.view.awards.get(key).map(|h| h.current())
            );
        }
    }
}
