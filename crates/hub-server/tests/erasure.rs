//! Personal data of blacklist entries: sealed under a per-entry key on arrival, shown to
//! members, erased for good by destroying the key, with the history still verifying.

mod common;

use std::time::Duration;

use common::*;
use hub_proto::pb;
use hub_server::RunningNode;
use tonic::Code;

const STREAM: &str = "blacklist/310000/sh-erase-1";
const ENTRY: &str = "sh-erase-1";

/// Appends `req` as Shanghai and waits until the view has folded it; returns the last
/// position.
async fn append_folded(node: &RunningNode, req: pb::AppendRequest) -> u64 {
    append_folded_as(node, SH, req).await
}

/// Appends `req` with `token` and waits until the view has folded it; returns the last
/// position.
async fn append_folded_as(node: &RunningNode, token: &str, req: pb::AppendRequest) -> u64 {
    let r = publisher(node, Some(token))
        .await
        .append(req)
        .await
        .expect("append")
        .into_inner();
    assert!(
        node.hub
            .view()
            .wait_for(r.last_position, Duration::from_secs(5))
            .await
    );
    r.last_position
}

async fn publish_entry(node: &RunningNode) -> u64 {
    let (stream, event) = blacklist_entry(node, "310000", ENTRY);
    append_folded(node, append_one(&stream, event)).await
}

async fn check(node: &RunningNode, at_position: u64) -> pb::CheckSubjectResponse {
    query(node, Some(JX))
        .await
        .check_subject(pb::CheckSubjectRequest {
            national_id: NATIONAL_ID.into(),
            time: Some(pb::TimeAxes {
                on_date: "2026-06-01".into(),
                at_position,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("check subject")
        .into_inner()
}

async fn list(node: &RunningNode) -> Vec<pb::BlacklistEntryView> {
    query(node, Some(JX))
        .await
        .list_entries(pb::ListEntriesRequest {
            origin: "310000".into(),
            time: Some(pb::TimeAxes {
                on_date: "2026-06-01".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("list entries")
        .into_inner()
        .entries
}

#[tokio::test]
async fn personal_fields_are_stored_sealed_and_shown_to_members() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    publish_entry(&node).await;

    let answer = check(&node, 0).await;
    assert_eq!(answer.entries.len(), 1);
    let e = &answer.entries[0];
    assert_eq!(e.subject_display, DISPLAY);
    assert_eq!(e.decision_summary, SUMMARY);
    assert_eq!(e.personal, pb::PersonalState::Shown as i32);
    assert_eq!(e.status, pb::EntryStatus::Active as i32);

    // The stored event carries only the sealed form.
    let events = read_everything(&mut streams(&node, Some(JX)).await).await;
    let Some(pb::event_body::Kind::BlacklistEntryAdded(stored)) =
        events[0].body.as_ref().and_then(|b| b.kind.clone())
    else {
        panic!("not an entry: {:?}", events[0]);
    };
    assert!(stored.subject_display.is_empty() && stored.decision_summary.is_empty());
    let sealed = stored.sealed.expect("sealed");
    assert_eq!(sealed.nonce.len(), 24);
    // Operators see neither form.
    let events = read_everything(&mut streams(&node, Some("dev-operator")).await).await;
    let Some(pb::event_body::Kind::BlacklistEntryAdded(redacted)) =
        events[0].body.as_ref().and_then(|b| b.kind.clone())
    else {
        panic!("not an entry");
    };
    assert!(redacted.sealed.is_none());
    assert_eq!(redacted.subject_ref, "<redacted>");

    node.stop().await.expect("stop");
    assert_nowhere_under(dir.path(), &personal_secrets());
    let logs = captured_logs();
    for (what, secret) in personal_secrets() {
        assert!(!contains(&logs, &secret), "the logs hold the {what}");
    }
}

#[tokio::test]
async fn erasure_destroys_the_key_and_the_history_still_verifies() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let added_at = publish_entry(&node).await;
    let key = live_key(&node, STREAM).expect("the entry has a key");
    assert!(contains(
        &std::fs::read(dir.path().join("keys/entry-keys")).expect("vault"),
        &key
    ));

    let erase = append_one(STREAM, erasure(ENTRY, "(2026)沪0101民初1号"));
    append_folded(&node, erase.clone()).await;
    let mut publisher = publisher(&node, Some(SH)).await;
    assert_eq!(live_key(&node, STREAM), None);

    // Now: the entry is listed as erased, names nobody, and no check finds it.
    let listed = list(&node).await;
    assert_eq!(listed.len(), 1);
    let e = &listed[0];
    assert_eq!(e.status, pb::EntryStatus::Erased as i32);
    assert_eq!(e.personal, pb::PersonalState::Erased as i32);
    assert_eq!(e.erasure_reason, pb::ErasureReason::Order as i32);
    assert_eq!(e.erasure_order_ref, "(2026)沪0101民初1号");
    assert!(e.subject_ref.is_empty() && e.subject_display.is_empty());
    assert!(e.decision_summary.is_empty());
    assert!(check(&node, 0).await.entries.is_empty());
    // As of before the erasure the entry was active, but its fields are gone for good.
    let then = check(&node, added_at).await;
    assert_eq!(then.entries.len(), 1);
    assert_eq!(then.entries[0].status, pb::EntryStatus::Active as i32);
    assert_eq!(then.entries[0].personal, pb::PersonalState::Erased as i32);
    assert!(then.entries[0].subject_display.is_empty());

    // The history still verifies: chains, signatures and the Merkle tree.
    let verified = audit(&node, Some("dev-auditor"))
        .await
        .verify_range(pb::VerifyRangeRequest { to_position: 0 })
        .await
        .expect("verify")
        .into_inner();
    assert!(verified.ok, "{}", verified.problem);
    assert_eq!(verified.verified, 2);

    // A retried erasure is a duplicate; anything new on the entry is refused.
    let again = publisher.append(erase).await.expect("retry").into_inner();
    assert!(again.duplicate);
    let twice = publisher
        .append(append_one(STREAM, erasure(ENTRY, "(2026)沪0101民初2号")))
        .await
        .expect_err("a second erasure");
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    let (_, readd) = blacklist_entry(&node, "310000", ENTRY);
    let refused = publisher
        .append(append_one(STREAM, readd))
        .await
        .expect_err("re-adding an erased entry");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("erased"),
        "{}",
        refused.message()
    );

    // After a restart the key stays destroyed and the entry erased.
    node.stop().await.expect("stop");
    let node = start(dir.path(), |_| {}).await;
    assert_eq!(live_key(&node, STREAM), None);
    assert_eq!(list(&node).await[0].status, pb::EntryStatus::Erased as i32);
    node.stop().await.expect("stop again");

    let mut secrets = personal_secrets();
    secrets.push(("destroyed entry key", key.to_vec()));
    assert_nowhere_under(dir.path(), &secrets);
    let logs = captured_logs();
    assert!(
        contains(&logs, b"entry key destroyed"),
        "the logs are captured"
    );
    for (what, secret) in secrets {
        assert!(!contains(&logs, &secret), "the logs hold the {what}");
    }
}

fn assert_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{field}:")),
        "expected {field}: {}",
        status.message()
    );
}

#[tokio::test]
async fn only_the_origin_erases_and_only_the_hub_seals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.node.sandbox = true).await;
    publish_entry(&node).await;

    let denied = publisher(&node, Some(JX))
        .await
        .append(append_one(STREAM, erasure(ENTRY, "order 1")))
        .await
        .expect_err("a foreign city erases");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    let mut sh = publisher(&node, Some(SH)).await;
    let (stream, mut event) = blacklist_entry(&node, "310000", "sh-sealed");
    if let Some(pb::event_body::Kind::BlacklistEntryAdded(a)) =
        event.body.as_mut().and_then(|b| b.kind.as_mut())
    {
        a.subject_display.clear();
        a.decision_summary.clear();
        a.sealed = Some(pb::SealedPersonal {
            nonce: vec![0; 24],
            ciphertext: vec![0; 40],
        });
    }
    let invalid = sh
        .append(append_one(&stream, event))
        .await
        .expect_err("a client seals");
    assert_invalid(&invalid, "events[0].body.blacklist_entry_added.sealed");

    let mut no_order = erasure(ENTRY, "");
    no_order.event_id = uuid::Uuid::new_v4().to_string();
    let invalid = sh
        .append(append_one(STREAM, no_order))
        .await
        .expect_err("an order without its reference");
    assert_invalid(&invalid, "events[0].body.blacklist_entry_erased.order_ref");
    // Nothing was erased by the refused calls.
    assert!(live_key(&node, STREAM).is_some());
    assert_eq!(check(&node, 0).await.entries.len(), 1);
    node.stop().await.expect("stop");
}

/// Publishes an entry of Shanghai in force from `from` to `expires`, revoked from
/// `revoked` if given.
async fn publish_dated(
    node: &RunningNode,
    entry: &str,
    from: &str,
    expires: &str,
    revoked: Option<&str>,
) {
    let (stream, mut event) = blacklist_entry(node, "310000", entry);
    if let Some(pb::event_body::Kind::BlacklistEntryAdded(a)) =
        event.body.as_mut().and_then(|b| b.kind.as_mut())
    {
        a.decided_at = from.into();
        a.effective_from = from.into();
        a.expires_at = expires.into();
    }
    let mut events = vec![event];
    if let Some(at) = revoked {
        events.push(pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(pb::EventBody {
                kind: Some(pb::event_body::Kind::BlacklistEntryRevoked(
                    pb::BlacklistEntryRevoked {
                        entry_id: entry.into(),
                        reason: pb::RevokeReason::AppealUpheld as i32,
                        note: "appeal upheld".into(),
                        effective_at: at.into(),
                    },
                )),
            }),
            ..Default::default()
        });
    }
    let req = pb::AppendRequest {
        stream,
        expected_version: None,
        events,
    };
    append_folded(node, req).await;
}

fn event(kind: pb::event_body::Kind) -> pb::Event {
    pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

/// Publishes with `token` a white-list entry of `city` for the person with
/// [`NATIONAL_ID`], in force from `from` to `until`.
async fn publish_whitelist(
    node: &RunningNode,
    token: &str,
    city: &str,
    entry: &str,
    (from, until): (&str, &str),
) {
    let added = pb::event_body::Kind::WhitelistEntryAdded(pb::WhitelistEntryAdded {
        entry_id: entry.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: DISPLAY.into(),
        tier: pb::WhitelistTier::B as i32,
        scheme: "yangtze-delta-high-end".into(),
        valid_from: from.into(),
        valid_until: until.into(),
        basis_ref: "人才认定〔2019〕1号".into(),
        ..Default::default()
    });
    let stream = format!("whitelist/{city}/{entry}");
    append_folded_as(node, token, append_one(&stream, event(added))).await;
}

/// Publishes with `token` an award of `city` to the person with [`NATIONAL_ID`], funded
/// from `from` to `until`, clawed back from `clawed_back` if given.
async fn publish_award(
    node: &RunningNode,
    token: &str,
    city: &str,
    award: &str,
    (from, until): (&str, &str),
    clawed_back: Option<&str>,
) {
    let granted = pb::event_body::Kind::AwardGranted(pb::AwardGranted {
        award_id: award.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: DISPLAY.into(),
        programme_code: "yangtze-talent".into(),
        category: pb::AwardCategory::TalentProgramme as i32,
        level: pb::AwardLevel::Municipal as i32,
        project_title: "量子传感芯片".into(),
        amount_cny: 500_000,
        funded_from: from.into(),
        funded_until: until.into(),
        decision_ref: "人才计划〔2019〕8号".into(),
        ..Default::default()
    });
    let mut events = vec![event(granted)];
    if let Some(at) = clawed_back {
        events.push(event(pb::event_body::Kind::AwardWithdrawn(
            pb::AwardWithdrawn {
                award_id: award.into(),
                outcome: pb::AwardOutcome::ClawedBack as i32,
                reason: "申报材料不实".into(),
                effective_at: at.into(),
            },
        )));
    }
    let req = pb::AppendRequest {
        stream: format!("award/{city}/{award}"),
        expected_version: None,
        events,
    };
    append_folded_as(node, token, req).await;
}

/// The status of every award of `city` and of every white-list entry of the person with
/// [`NATIONAL_ID`] (erased entries are no longer found by the person).
async fn register_of(node: &RunningNode, city: &str) -> (Vec<(String, i32)>, Vec<String>) {
    let mut q = query(node, Some(JX)).await;
    let awards = q
        .list_awards(pb::ListAwardsRequest {
            origin: city.into(),
            ..Default::default()
        })
        .await
        .expect("list awards")
        .into_inner()
        .awards
        .into_iter()
        .map(|a| (a.award_id, a.status))
        .collect();
    let whitelisted = q
        .whitelist_status(pb::WhitelistStatusRequest {
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect("whitelist status")
        .into_inner()
        .entries
        .into_iter()
        .map(|e| format!("{}/{}", e.origin, e.entry_id))
        .collect();
    (awards, whitelisted)
}

fn statuses(entries: &[pb::BlacklistEntryView]) -> Vec<(String, i32)> {
    entries
        .iter()
        .map(|e| (e.entry_id.clone(), e.status))
        .collect()
}

#[tokio::test]
async fn entries_are_erased_once_their_retention_has_run_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Sandbox: Jiaxing publishes on this node too, but the sweeps below are Shanghai's.
    let node = start(dir.path(), |c| c.node.sandbox = true).await;
    publish_dated(&node, "a-expired", "2019-01-01", "2020-01-01", None).await;
    publish_dated(
        &node,
        "b-revoked",
        "2019-01-01",
        "2030-01-01",
        Some("2021-01-01"),
    )
    .await;
    publish_dated(&node, "c-current", "2025-01-01", "2030-01-01", None).await;
    let own = ["310000".parse::<hub_types::MemberId>().expect("member")].into();
    let sweep = |today: &str| {
        let today = today.parse().expect("date");
        hub_server::retention::sweep_once(&node.hub, &own, today, 30)
    };
    let erased = pb::EntryStatus::Erased as i32;

    // Thirty days after expiry is still within retention; the day after is not.
    assert_eq!(sweep("2020-01-31").await.expect("sweep"), 0);
    assert_eq!(sweep("2020-02-01").await.expect("sweep"), 1);
    let now = statuses(&list(&node).await);
    assert_eq!(now[0], ("a-expired".to_owned(), erased));
    assert_ne!(now[1].1, erased);
    // A revoked entry ends at its revocation.
    assert_eq!(sweep("2021-02-01").await.expect("sweep"), 1);
    let listed = list(&node).await;
    assert_eq!(listed[1].status, erased);
    assert_eq!(
        listed[1].erasure_reason,
        pb::ErasureReason::RetentionEnded as i32
    );
    assert_ne!(listed[2].status, erased);
    assert!(live_key(&node, "blacklist/310000/b-revoked").is_none());
    assert!(live_key(&node, "blacklist/310000/c-current").is_some());
    // Nothing is erased twice.
    assert_eq!(sweep("2021-02-01").await.expect("sweep"), 0);

    // The register too: a white-list entry ends on its last day, an award when it is
    // clawed back; another city's, ended long before, are not this node's to erase.
    let sh_wl = "whitelist/310000/sh-wl";
    let sh_award = "award/310000/sh-award";
    publish_whitelist(&node, SH, "310000", "sh-wl", ("2019-01-01", "2021-06-30")).await;
    let funded = ("2019-01-01", "2024-12-31");
    publish_award(&node, SH, "310000", "sh-award", funded, Some("2021-09-01")).await;
    let long_ago = ("2019-01-01", "2020-01-01");
    publish_whitelist(&node, JX, "330400", "jx-wl", long_ago).await;
    publish_award(&node, JX, "330400", "jx-award", long_ago, None).await;
    assert_eq!(sweep("2021-07-30").await.expect("sweep"), 0);
    assert_eq!(sweep("2021-07-31").await.expect("sweep"), 1);
    assert!(live_key(&node, sh_wl).is_none());
    assert!(live_key(&node, sh_award).is_some());
    assert_eq!(sweep("2021-10-01").await.expect("sweep"), 0);
    assert_eq!(sweep("2021-10-02").await.expect("sweep"), 1);
    assert!(live_key(&node, sh_award).is_none());
    assert_eq!(sweep("2030-01-01").await.expect("sweep"), 0);
    let (sh_awards, whitelisted) = register_of(&node, "310000").await;
    assert_eq!(
        sh_awards,
        [("sh-award".to_owned(), pb::AwardStatus::Erased as i32)]
    );
    assert_eq!(whitelisted, ["330400/jx-wl"]);
    let (jx_awards, _) = register_of(&node, "330400").await;
    assert_eq!(
        jx_awards,
        [("jx-award".to_owned(), pb::AwardStatus::Completed as i32)]
    );
    assert!(live_key(&node, "whitelist/330400/jx-wl").is_some());
    assert!(live_key(&node, "award/330400/jx-award").is_some());
    node.stop().await.expect("stop");

    // The node sweeps by itself when configured to.
    let node = start(dir.path(), |c| {
        c.privacy.retention_days = 30;
        c.privacy.retention_sweep_s = 1;
    })
    .await;
    publish_dated(&node, "d-expired", "2019-01-01", "2020-01-01", None).await;
    publish_award(&node, SH, "310000", "e-award", long_ago, None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for stream in ["blacklist/310000/d-expired", "award/310000/e-award"] {
        while live_key(&node, stream).is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the node did not sweep {stream}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(list(&node).await[3].status, erased);
    assert!(live_key(&node, "blacklist/310000/c-current").is_some());
    // Only the node's own city is swept.
    assert!(live_key(&node, "award/330400/jx-award").is_some());
    node.stop().await.expect("stop");
}
