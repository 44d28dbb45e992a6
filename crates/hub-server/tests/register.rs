//! The talent register through a real node: white-list entries and awards published with a
//! national ID (turned into the subject reference, sealed display names), screening with
//! every verdict and the events behind it, white-list status, award listing, the summary
//! without personal data, the access trail, roles, and erasure.

mod common;

use std::time::Duration;

use common::*;
use hub_proto::pb::{self, event_body::Kind};
use hub_server::RunningNode;
use tonic::Code;

const SZ: &str = "dev-member-320500";
const HZ: &str = "dev-member-330100";
const WL_DISPLAY: &str = "司马*";

/// Every roster city publishes on this node (the development sandbox).
fn sandbox(c: &mut hub_server::config::Config) {
    c.node.sandbox = true;
}

fn event(kind: Kind) -> pb::Event {
    pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

/// An award of the person with [`NATIONAL_ID`], named by the number itself.
fn award(
    id: &str,
    level: pb::AwardLevel,
    from: &str,
    until: &str,
    amount: u64,
) -> pb::AwardGranted {
    pb::AwardGranted {
        award_id: id.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: DISPLAY.into(),
        programme_code: "sh-pujiang".into(),
        category: pb::AwardCategory::TalentProgramme as i32,
        level: level as i32,
        project_title: "量子传感芯片".into(),
        amount_cny: amount,
        funded_from: from.into(),
        funded_until: until.into(),
        decision_ref: "沪科〔2025〕88号".into(),
        ..Default::default()
    }
}

fn whitelist_entry(id: &str) -> pb::WhitelistEntryAdded {
    pb::WhitelistEntryAdded {
        entry_id: id.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: WL_DISPLAY.into(),
        tier: pb::WhitelistTier::A as i32,
        scheme: "hangzhou-west-lake-talent".into(),
        valid_from: "2025-01-01".into(),
        valid_until: "2030-12-31".into(),
        basis_ref: "杭人才〔2025〕1号".into(),
        ..Default::default()
    }
}

async fn append(node: &RunningNode, token: &str, stream: &str, kind: Kind) -> u64 {
    let r = publisher(node, Some(token))
        .await
        .append(append_one(stream, event(kind)))
        .await
        .unwrap_or_else(|s| panic!("append to {stream}: {s:?}"))
        .into_inner();
    assert!(
        node.hub
            .view()
            .wait_for(r.last_position, Duration::from_secs(5))
            .await
    );
    r.last_position
}

fn screening(level: pb::AwardLevel, amount: u64) -> pb::ScreenApplicationRequest {
    pb::ScreenApplicationRequest {
        national_id: NATIONAL_ID.into(),
        category: pb::AwardCategory::TalentProgramme as i32,
        level: level as i32,
        funded_from: "2026-01-01".into(),
        funded_until: "2027-12-31".into(),
        amount_cny: amount,
        time: Some(pb::TimeAxes {
            on_date: "2026-06-01".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn screen(
    node: &RunningNode,
    req: pb::ScreenApplicationRequest,
) -> pb::ScreenApplicationResponse {
    query(node, Some(JX))
        .await
        .screen_application(req)
        .await
        .expect("screen")
        .into_inner()
}

fn rules(answer: &pb::ScreenApplicationResponse) -> Vec<&str> {
    answer.reasons.iter().map(|r| r.rule.as_str()).collect()
}

#[tokio::test]
async fn screening_finds_awards_whitelist_and_blacklist_across_cities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| {
        c.node.sandbox = true;
        c.view.screening.amount_cap_cny = 3_000_000;
    })
    .await;

    // Nothing known yet: clear, with the rules shown.
    let answer = screen(&node, screening(pb::AwardLevel::Municipal, 500_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Clear as i32);
    assert!(answer.reasons.is_empty());
    let shown = answer.rules.expect("rules");
    assert!(shown.same_category_and_level && !shown.same_category);
    assert_eq!(shown.amount_cap_cny, 3_000_000);

    // Shanghai funds the person at municipal level for 2025-2027.
    let granted_at = append(
        &node,
        SH,
        "award/310000/sh-2025-017",
        Kind::AwardGranted(award(
            "sh-2025-017",
            pb::AwardLevel::Municipal,
            "2025-09-01",
            "2027-08-31",
            1_500_000,
        )),
    )
    .await;

    // Same category and level, overlapping: a conflict naming the Shanghai award's event.
    let answer = screen(&node, screening(pb::AwardLevel::Municipal, 500_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Conflict as i32, "{answer:?}");
    assert_eq!(rules(&answer), vec!["same_category_and_level"]);
    let source = &answer.reasons[0].events[0];
    assert_eq!(source.stream, "award/310000/sh-2025-017");
    assert_eq!(source.stream_version, 1);
    assert_eq!(source.position, granted_at);
    assert_eq!(answer.overlapping.len(), 1);
    assert_eq!(answer.overlapping[0].subject_display, DISPLAY);
    // Another level is clear under the default rules, unless the amounts pass the cap.
    let answer = screen(&node, screening(pb::AwardLevel::National, 1_000_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Clear as i32, "{answer:?}");
    let answer = screen(&node, screening(pb::AwardLevel::National, 2_000_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Conflict as i32);
    assert_eq!(rules(&answer), vec!["amount_cap"]);
    // A period that does not overlap is clear.
    let mut later = screening(pb::AwardLevel::Municipal, 500_000);
    later.funded_from = "2027-09-01".into();
    later.funded_until = "2029-08-31".into();
    assert_eq!(
        screen(&node, later).await.verdict,
        pb::Verdict::Clear as i32
    );

    // Hangzhou's white list fast-tracks the person; the verdict stays a conflict.
    append(
        &node,
        HZ,
        "whitelist/330100/hz-wl-1",
        Kind::WhitelistEntryAdded(whitelist_entry("hz-wl-1")),
    )
    .await;
    let answer = screen(&node, screening(pb::AwardLevel::Municipal, 500_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Conflict as i32);
    assert_eq!(
        rules(&answer),
        vec!["same_category_and_level", "whitelisted"]
    );
    assert_eq!(answer.fast_track[0].subject_display, WL_DISPLAY);

    // Suzhou blacklists the person: barred, whatever the awards.
    let (stream, entry) = blacklist_entry(&node, "320500", "sz-bl-1");
    let r = publisher(&node, Some(SZ))
        .await
        .append(append_one(&stream, entry))
        .await
        .expect("blacklist")
        .into_inner();
    assert!(
        node.hub
            .view()
            .wait_for(r.last_position, Duration::from_secs(5))
            .await
    );
    let answer = screen(&node, screening(pb::AwardLevel::Municipal, 500_000)).await;
    assert_eq!(answer.verdict, pb::Verdict::Barred as i32);
    assert_eq!(
        rules(&answer),
        vec!["blacklisted", "same_category_and_level", "whitelisted"]
    );
    assert_eq!(answer.barring.len(), 1);
    assert_eq!(
        answer.reasons[0].events[0].stream,
        "blacklist/320500/sz-bl-1"
    );

    // As of before the blacklist entry, the answer is what it was.
    let mut before = screening(pb::AwardLevel::Municipal, 500_000);
    before.time.as_mut().expect("time").at_position = r.last_position - 1;
    assert_eq!(
        screen(&node, before).await.verdict,
        pb::Verdict::Conflict as i32
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn the_national_id_never_reaches_disk_and_names_are_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    append(
        &node,
        SH,
        "award/310000/sh-1",
        Kind::AwardGranted(award(
            "sh-1",
            pb::AwardLevel::District,
            "2025-01-01",
            "2025-12-31",
            100_000,
        )),
    )
    .await;
    append(
        &node,
        HZ,
        "whitelist/330100/hz-wl-1",
        Kind::WhitelistEntryAdded(whitelist_entry("hz-wl-1")),
    )
    .await;
    let stored = read_everything(&mut streams(&node, Some(SH)).await).await;
    let subject = node
        .hub
        .alliance_key()
        .subject_ref(NATIONAL_ID)
        .expect("subject")
        .to_string();
    for e in &stored {
        match e.body.as_ref().and_then(|b| b.kind.as_ref()) {
            Some(Kind::AwardGranted(g)) => {
                assert_eq!(g.subject_ref, subject);
                assert!(g.national_id.is_empty() && g.subject_display.is_empty());
                assert!(g.sealed.is_some());
            }
            Some(Kind::WhitelistEntryAdded(a)) => {
                assert_eq!(a.subject_ref, subject);
                assert!(a.national_id.is_empty() && a.subject_display.is_empty());
                assert!(a.sealed.is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    node.stop().await.expect("stop");
    assert_nowhere_under(
        dir.path(),
        &[
            ("raw ID number", NATIONAL_ID.as_bytes().to_vec()),
            ("display name", DISPLAY.as_bytes().to_vec()),
            ("display name", WL_DISPLAY.as_bytes().to_vec()),
        ],
    );
}

#[tokio::test]
async fn bad_subjects_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    let mut both = award(
        "sh-1",
        pb::AwardLevel::District,
        "2025-01-01",
        "2025-12-31",
        1,
    );
    both.subject_ref = "a".repeat(64);
    let mut bad_id = award(
        "sh-1",
        pb::AwardLevel::District,
        "2025-01-01",
        "2025-12-31",
        1,
    );
    bad_id.national_id = "110105194912310021".into();
    for (a, field) in [
        (both, "events[0].body.award_granted.national_id"),
        (bad_id, "events[0].body.award_granted.national_id"),
    ] {
        let status = publisher(&node, Some(SH))
            .await
            .append(append_one(
                "award/310000/sh-1",
                event(Kind::AwardGranted(a)),
            ))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{}", status.message());
        assert!(
            !status.message().contains("11010519491231002"),
            "the number is never echoed"
        );
    }
    // A step for an award that does not exist is refused before it is stored.
    let status = publisher(&node, Some(SH))
        .await
        .append(append_one(
            "award/310000/sh-none",
            event(Kind::AwardWithdrawn(pb::AwardWithdrawn {
                award_id: "sh-none".into(),
                outcome: pb::AwardOutcome::Withdrawn as i32,
                reason: "重复".into(),
                effective_at: "2026-01-01".into(),
            })),
        ))
        .await
        .expect_err("unknown award");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("sh-none"), "{}", status.message());

    let mut q = query(&node, Some(JX)).await;
    let mut req = screening(pb::AwardLevel::Municipal, 1);
    req.funded_until = "2025-01-01".into();
    let status = q.screen_application(req).await.expect_err("period");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("funded_until"),
        "{}",
        status.message()
    );
    let mut req = screening(pb::AwardLevel::Municipal, 0);
    req.level = 0;
    let status = q.screen_application(req).await.expect_err("level");
    assert!(
        status.message().starts_with("level"),
        "{}",
        status.message()
    );
    let req = screening(pb::AwardLevel::Municipal, 0);
    let status = q.screen_application(req).await.expect_err("amount");
    assert!(
        status.message().starts_with("amount_cny"),
        "{}",
        status.message()
    );
    let status = q
        .whitelist_status(pb::WhitelistStatusRequest::default())
        .await
        .expect_err("no subject");
    assert!(
        status.message().starts_with("subject_ref"),
        "{}",
        status.message()
    );
    let status = q
        .list_awards(pb::ListAwardsRequest::default())
        .await
        .expect_err("no origin");
    assert!(
        status.message().starts_with("origin"),
        "{}",
        status.message()
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn subject_questions_are_logged_and_closed_to_operators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    screen(&node, screening(pb::AwardLevel::Municipal, 1)).await;
    query(&node, Some("dev-auditor"))
        .await
        .whitelist_status(pb::WhitelistStatusRequest {
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect("auditors may ask");
    let mut op = query(&node, Some("dev-operator")).await;
    let denied = [
        op.screen_application(screening(pb::AwardLevel::Municipal, 1))
            .await
            .map(|_| ()),
        op.whitelist_status(pb::WhitelistStatusRequest {
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .map(|_| ()),
        op.list_awards(pb::ListAwardsRequest {
            origin: "310000".into(),
            ..Default::default()
        })
        .await
        .map(|_| ()),
    ];
    for answer in denied {
        assert_eq!(answer.expect_err("denied").code(), Code::PermissionDenied);
    }
    // Operators see the totals, which hold no person.
    op.register_summary(pb::RegisterSummaryRequest::default())
        .await
        .expect("operators read the summary");
    let (entries, total) = node.hub.access().list(1, 100).expect("trail");
    assert_eq!(total, 2);
    let subject = node
        .hub
        .alliance_key()
        .subject_ref(NATIONAL_ID)
        .expect("subject")
        .to_string();
    assert!(entries.iter().all(|e| e.subject_ref == subject));
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn awards_are_listed_by_filter_and_page_and_summed_without_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    for (i, level) in [
        pb::AwardLevel::National,
        pb::AwardLevel::Municipal,
        pb::AwardLevel::Municipal,
        pb::AwardLevel::District,
        pb::AwardLevel::Municipal,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("sh-{i}");
        let year = 2024 + i as u32 % 2;
        append(
            &node,
            SH,
            &format!("award/310000/{id}"),
            Kind::AwardGranted(award(
                &id,
                level,
                &format!("{year}-03-01"),
                &format!("{year}-12-31"),
                100_000 * (i as u64 + 1),
            )),
        )
        .await;
    }
    append(
        &node,
        SH,
        "award/310000/sh-4",
        Kind::AwardWithdrawn(pb::AwardWithdrawn {
            award_id: "sh-4".into(),
            outcome: pb::AwardOutcome::ClawedBack as i32,
            reason: "重复申报".into(),
            effective_at: "2024-06-01".into(),
        }),
    )
    .await;

    let mut q = query(&node, Some(JX)).await;
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = q
            .list_awards(pb::ListAwardsRequest {
                origin: "310000".into(),
                level: pb::AwardLevel::Municipal as i32,
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        ids.extend(page.awards.iter().map(|a| a.award_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids, vec!["sh-1", "sh-2", "sh-4"]);
    let in_2025 = q
        .list_awards(pb::ListAwardsRequest {
            origin: "310000".into(),
            funded_from: "2025-01-01".into(),
            funded_until: "2025-12-31".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = in_2025.awards.iter().map(|a| a.award_id.as_str()).collect();
    assert_eq!(ids, vec!["sh-1", "sh-3"]);
    let clawed = q
        .list_awards(pb::ListAwardsRequest {
            origin: "310000".into(),
            programme_code: "sh-pujiang".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .awards
        .into_iter()
        .find(|a| a.award_id == "sh-4")
        .expect("sh-4");
    assert_eq!(clawed.status, pb::AwardStatus::ClawedBack as i32);
    assert_eq!(clawed.source.expect("source").stream_version, 2);

    let summary = q
        .register_summary(pb::RegisterSummaryRequest::default())
        .await
        .expect("summary")
        .into_inner();
    let rows: Vec<(String, i32, u32, u64, u64)> = summary
        .awards
        .iter()
        .map(|t| (t.origin.clone(), t.level, t.year, t.awards, t.amount_cny))
        .collect();
    let m = pb::AwardLevel::Municipal as i32;
    assert_eq!(
        rows,
        vec![
            (
                "310000".into(),
                pb::AwardLevel::National as i32,
                2024,
                1,
                100_000
            ),
            ("310000".into(), m, 2024, 1, 300_000),
            ("310000".into(), m, 2025, 1, 200_000),
            (
                "310000".into(),
                pb::AwardLevel::District as i32,
                2025,
                1,
                400_000
            ),
        ]
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn an_erased_award_and_entry_no_longer_name_the_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    append(
        &node,
        SH,
        "award/310000/sh-1",
        Kind::AwardGranted(award(
            "sh-1",
            pb::AwardLevel::Municipal,
            "2026-01-01",
            "2027-12-31",
            100_000,
        )),
    )
    .await;
    append(
        &node,
        HZ,
        "whitelist/330100/hz-wl-1",
        Kind::WhitelistEntryAdded(whitelist_entry("hz-wl-1")),
    )
    .await;
    assert!(live_key(&node, "award/310000/sh-1").is_some());
    assert_eq!(
        screen(&node, screening(pb::AwardLevel::Municipal, 1))
            .await
            .verdict,
        pb::Verdict::Conflict as i32
    );
    append(
        &node,
        SH,
        "award/310000/sh-1",
        Kind::AwardErased(pb::AwardErased {
            award_id: "sh-1".into(),
            reason: pb::ErasureReason::Order as i32,
            order_ref: "（2026）沪01行终12号".into(),
        }),
    )
    .await;
    append(
        &node,
        HZ,
        "whitelist/330100/hz-wl-1",
        Kind::WhitelistEntryErased(pb::WhitelistEntryErased {
            entry_id: "hz-wl-1".into(),
            reason: pb::ErasureReason::RetentionEnded as i32,
            order_ref: String::new(),
        }),
    )
    .await;
    assert!(
        live_key(&node, "award/310000/sh-1").is_none(),
        "key destroyed"
    );
    assert!(live_key(&node, "whitelist/330100/hz-wl-1").is_none());
    let answer = screen(&node, screening(pb::AwardLevel::Municipal, 1)).await;
    assert_eq!(answer.verdict, pb::Verdict::Clear as i32, "{answer:?}");
    assert!(answer.overlapping.is_empty() && answer.fast_track.is_empty());
    let listed = query(&node, Some(JX))
        .await
        .list_awards(pb::ListAwardsRequest {
            origin: "310000".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .awards;
    assert_eq!(listed[0].status, pb::AwardStatus::Erased as i32);
    assert!(listed[0].subject_ref.is_empty() && listed[0].subject_display.is_empty());
    assert_eq!(listed[0].personal, pb::PersonalState::Erased as i32);
    // The erased award takes no more events.
    let status = publisher(&node, Some(SH))
        .await
        .append(append_one(
            "award/310000/sh-1",
            event(Kind::AwardAmended(pb::AwardAmended {
                award_id: "sh-1".into(),
                project_title: "x".into(),
                amount_cny: 1,
                funded_from: "2026-01-01".into(),
                funded_until: "2026-12-31".into(),
                decision_ref: "x".into(),
            })),
        ))
        .await
        .expect_err("erased");
    assert_eq!(status.code(), Code::FailedPrecondition);
    // The history still verifies: the audit chain is intact.
    let verified = audit(&node, Some("dev-auditor"))
        .await
        .verify_range(pb::VerifyRangeRequest::default())
        .await
        .expect("verify")
        .into_inner();
    assert!(verified.ok, "{verified:?}");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_listing_and_status_requests_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), sandbox).await;
    for (i, code) in ["310000", "320500"].into_iter().enumerate() {
        let token = format!("dev-member-{code}");
        for n in 0..2 {
            let id = format!("a{i}{n}");
            append(
                &node,
                &token,
                &format!("award/{code}/{id}"),
                Kind::AwardGranted(award(
                    &id,
                    pb::AwardLevel::District,
                    "2025-01-01",
                    "2025-12-31",
                    1,
                )),
            )
            .await;
        }
    }
    let mut q = query(&node, Some(JX)).await;
    let first = q
        .list_awards(pb::ListAwardsRequest {
            origin: "310000".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let bad: Vec<(pb::ListAwardsRequest, &str)> = vec![
        (
            pb::ListAwardsRequest {
                origin: "320500".into(),
                page_token: first.next_page_token.clone(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                page_token: "not-a-token".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListAwardsRequest {
                origin: "31000".into(),
                ..Default::default()
            },
            "origin",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                category: 9,
                ..Default::default()
            },
            "category",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                level: 9,
                ..Default::default()
            },
            "level",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                funded_from: "2026-01-01".into(),
                funded_until: "2025-01-01".into(),
                ..Default::default()
            },
            "funded_until",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                funded_from: "2026-02-30".into(),
                ..Default::default()
            },
            "funded_from",
        ),
        (
            pb::ListAwardsRequest {
                origin: "310000".into(),
                page_size: 1001,
                ..Default::default()
            },
            "page_size",
        ),
    ];
    for (req, field) in bad {
        let status = q.list_awards(req).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let status = q
        .whitelist_status(pb::WhitelistStatusRequest {
            subject_ref: "a".repeat(64),
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect_err("both");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("national_id"),
        "{}",
        status.message()
    );
    let status = q
        .whitelist_status(pb::WhitelistStatusRequest {
            subject_ref: "A".repeat(64),
            ..Default::default()
        })
        .await
        .expect_err("upper case");
    assert!(
        status.message().starts_with("subject_ref"),
        "{}",
        status.message()
    );
    node.stop().await.expect("stop");
}
