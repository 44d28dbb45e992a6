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
    let r = publisher(node, Some(SH))
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

fn statuses(entries: &[pb::BlacklistEntryView]) -> Vec<(String, i32)> {
    entries
        .iter()
        .map(|e| (e.entry_id.clone(), e.status))
        .collect()
}

#[tokio::test]
async fn entries_are_erased_once_their_retention_has_run_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
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
    node.stop().await.expect("stop");

    // The node sweeps by itself when configured to.
    let node = start(dir.path(), |c| {
        c.privacy.retention_days = 30;
        c.privacy.retention_sweep_s = 1;
    })
    .await;
    publish_dated(&node, "d-expired", "2019-01-01", "2020-01-01", None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while live_key(&node, "blacklist/310000/d-expired").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the node did not sweep"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list(&node).await[3].status, erased);
    assert!(live_key(&node, "blacklist/310000/c-current").is_some());
    node.stop().await.expect("stop");
}
