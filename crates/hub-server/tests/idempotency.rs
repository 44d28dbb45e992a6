//! Idempotency forever: a retry of any family's batch answers the stored positions after
//! the node restarts and after more later events than the writer's recent-id window holds;
//! reordered and partial retries stay refused. Blacklist entries are sealed on arrival:
//! their sealing must make a retry byte-identical, so it is a duplicate, not a conflict.

mod common;

use common::*;
use hub_proto::pb;
use hub_proto::pb::event_body::Kind;
use tonic::Code;

/// More events than the writer's window of recent ids (65,536).
const LATER_EVENTS: usize = 66_000;

fn event(kind: Kind) -> pb::Event {
    pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

fn request(stream: &str, events: Vec<pb::Event>) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events,
    }
}

/// One batch of each family, as first appended.
fn batches(node: &hub_server::RunningNode) -> Vec<pb::AppendRequest> {
    let rule = event(Kind::CredentialRecognized(pb::CredentialRecognized {
        rule_id: "r1".into(),
        credential: Some(pb::Credential {
            kind: pb::CredentialKind::TalentTier as i32,
            code: "jx-talent".into(),
            level: "B".into(),
        }),
        issuer: "330400".into(),
        local_equivalent: "tier-C".into(),
        conditions: String::new(),
        effective_from: "2026-01-01".into(),
        effective_until: String::new(),
    }));
    let withdrawn = event(Kind::RecognitionWithdrawn(pb::RecognitionWithdrawn {
        rule_id: "r1".into(),
        reason: "superseded".into(),
        effective_at: "2026-06-01".into(),
    }));
    let (demand_stream, published) = demand("310000", "d1", 30);
    let closed = event(Kind::DemandSignalClosed(pb::DemandSignalClosed {
        signal_id: "d1".into(),
        reason: pb::CloseReason::Filled as i32,
        filled: 30,
        closed_at: "2026-03-01".into(),
    }));
    let (entry_stream, added) = blacklist_entry(node, "310000", "e1");
    let suspended = event(Kind::BlacklistEntrySuspended(pb::BlacklistEntrySuspended {
        entry_id: "e1".into(),
        appeal_ref: "沪申诉〔2026〕3号".into(),
        effective_at: "2026-02-01".into(),
    }));
    vec![
        request("recognition/310000", vec![rule, withdrawn]),
        request(&demand_stream, vec![published, closed]),
        request(&entry_stream, vec![added, suspended]),
    ]
}

/// Appends `n` more events in batches of 1,000, each batch a new signal and its revisions.
async fn append_later_events(client: &mut PublisherClient, n: usize) {
    for b in 0..n.div_ceil(1000) {
        let (stream, published) = demand("310000", &format!("later-{b}"), 1);
        let mut events = vec![published.clone()];
        for _ in 1..1000.min(n - b * 1000) {
            let revised = revision_of(&published);
            events.push(revised);
        }
        client
            .append(request(&stream, events))
            .await
            .expect("later batch");
    }
}

type PublisherClient = pb::publisher_client::PublisherClient<Authed>;

/// Retries every batch and checks that each answers its first answer as a duplicate.
async fn retry_all(
    client: &mut PublisherClient,
    batches: &[pb::AppendRequest],
    first: &[pb::AppendResponse],
    when: &str,
) {
    for (req, stored) in batches.iter().zip(first) {
        let again = client
            .append(req.clone())
            .await
            .unwrap_or_else(|s| panic!("{when}: retry of {}: {s:?}", req.stream))
            .into_inner();
        assert!(again.duplicate, "{when}: {}", req.stream);
        assert_eq!(
            (
                again.first_position,
                again.last_position,
                again.stream_version
            ),
            (
                stored.first_position,
                stored.last_position,
                stored.stream_version
            ),
            "{when}: {}",
            req.stream
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_of_every_family_are_duplicates_after_restarts_and_a_full_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let batches = batches(&node);
    let mut client = publisher(&node, Some(SH)).await;
    let mut first = Vec::new();
    for req in &batches {
        let r = client
            .append(req.clone())
            .await
            .expect("first")
            .into_inner();
        assert!(!r.duplicate);
        first.push(r);
    }
    node.stop().await.expect("stop");

    let node = start(dir.path(), |_| {}).await;
    let mut client = publisher(&node, Some(SH)).await;
    retry_all(&mut client, &batches, &first, "after a restart").await;
    for req in &batches {
        let mut reordered = req.clone();
        reordered.events.reverse();
        let mut partial = req.clone();
        partial.events.truncate(1);
        for (what, bad) in [("reordered", reordered), ("partial", partial)] {
            let status = client.append(bad).await.expect_err(what);
            assert_eq!(status.code(), Code::AlreadyExists, "{what}: {status:?}");
        }
    }

    append_later_events(&mut client, LATER_EVENTS).await;
    retry_all(&mut client, &batches, &first, "after the window filled").await;
    let head = node.hub.log().head();
    node.stop().await.expect("stop");

    let node = start(dir.path(), |_| {}).await;
    let mut client = publisher(&node, Some(SH)).await;
    retry_all(
        &mut client,
        &batches,
        &first,
        "after a restart behind a full window",
    )
    .await;
    assert_eq!(node.hub.log().head(), head, "no retry appended anything");
    node.stop().await.expect("stop");
}
