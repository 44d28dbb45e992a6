//! Bounds of `docs/limits.md` driven through a real node: an append stream whose answers
//! are not read stops taking requests, an access-trail page asked for more than 5 000
//! entries holds 5 000, and a verified range longer than one read step is checked across
//! the steps.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hub_proto::pb;
use pb::publisher_client::PublisherClient;
use prost::Message;
use tonic::transport::Channel;

/// Answers one append stream holds before it stops reading requests
/// (`publisher.rs`, `append_stream`).
const STREAM_ANSWERS: u64 = 16;

/// How long the log head must stay still to count as stopped.
const QUIET: Duration = Duration::from_secs(1);

/// The log head once it has moved and then not moved for [`QUIET`].
async fn head_once_still(node: &hub_server::RunningNode) -> u64 {
    let mut head = node.hub.log().watch();
    head.wait_for(|h| *h > 0).await.expect("the log is open");
    while let Ok(changed) = tokio::time::timeout(QUIET, head.changed()).await {
        changed.expect("the log is open");
    }
    let still = *head.borrow();
    still
}

/// A publisher whose HTTP/2 stream window holds about two answers: what it does not read
/// stays with the node. With hyper's default window (2 MiB) the client's side takes
/// thousands of unread answers before the node's bound comes into play.
async fn publisher_with_small_window(
    node: &hub_server::RunningNode,
    token: &str,
) -> PublisherClient<Authed> {
    let channel = Channel::from_shared(node.endpoint())
        .expect("endpoint")
        .initial_stream_window_size(Some(32))
        .connect()
        .await
        .expect("connect");
    PublisherClient::with_interceptor(channel, Auth::bearer(token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_stream_whose_answers_are_not_read_stops_appending_until_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut client = publisher_with_small_window(&node, SH).await;
    let sent = 400u64;
    let requests: Vec<pb::AppendRequest> = (0..sent)
        .map(|i| {
            let (stream, event) = demand("310000", &format!("unread-{i}"), 1);
            append_one(&stream, event)
        })
        .collect();
    let mut answers = client
        .append_stream(tokio_stream::iter(requests))
        .await
        .expect("the stream opens")
        .into_inner();

    let stopped = head_once_still(&node).await;
    assert!(
        stopped >= STREAM_ANSWERS,
        "the stream appended only {stopped} before its answers filled"
    );
    // The stream's own answers, one held by the task waiting to hand it over, and the few
    // the transport holds (the client's small window, one encoded chunk on the node's
    // side): 21 when this was written, 37 with a bound of 32.
    let at_most = 2 * STREAM_ANSWERS;
    assert!(
        stopped <= at_most,
        "{stopped} of {sent} requests were appended while no answer was read (expected at most {at_most})"
    );

    let mut positions = Vec::new();
    while let Some(answer) = answers.message().await.expect("an answer") {
        positions.push(answer.last_position);
    }
    assert_eq!(
        positions,
        (1..=sent).collect::<Vec<_>>(),
        "once read, every request is appended and answered in order"
    );
    assert_eq!(node.hub.log().head(), sent);
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_page_asked_for_more_than_5000_entries_holds_5000() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let checks = 5_100u64;
    let callers = 50u64;
    let client = query(&node, Some(JX)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..callers {
        let mut client = client.clone();
        tasks.spawn(async move {
            for i in (c..checks).step_by(callers as usize) {
                client
                    .check_subject(pb::CheckSubjectRequest {
                        subject_ref: format!("{i:064x}"),
                        ..Default::default()
                    })
                    .await
                    .expect("check");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("checks");
    }

    let mut auditor = audit(&node, Some("dev-auditor")).await;
    let page = auditor
        .list_access(pb::ListAccessRequest {
            from_seq: 1,
            limit: 6_000,
        })
        .await
        .expect("a limit above 5000 is taken, not refused")
        .into_inner();
    assert_eq!(page.total, checks);
    assert_eq!(page.entries.len(), 5_000);
    assert_eq!(
        page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=5_000).collect::<Vec<_>>()
    );
    let budget = node.hub.view().config().page_bytes;
    assert!(
        page.encoded_len() < budget / 2,
        "the page ({} bytes) was cut by the cap, well within the byte budget ({budget})",
        page.encoded_len()
    );
    let rest = auditor
        .list_access(pb::ListAccessRequest {
            from_seq: 5_001,
            limit: 6_000,
        })
        .await
        .expect("the rest")
        .into_inner();
    assert_eq!(
        rest.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (5_001..=checks).collect::<Vec<_>>()
    );
    node.stop().await.expect("stop");
}

/// Records the audit reads at a time while it verifies a range (`audit.rs` `STEP`).
const STEP: u64 = 4_096;

/// The positions that end a batch, and so carry a signature: around every step boundary,
/// so that a range can be verified up to each of them.
fn batch_ends() -> Vec<u64> {
    vec![
        1_000,
        2_000,
        3_000,
        4_000,
        STEP - 1,
        STEP,
        STEP + 1,
        5_000,
        6_000,
        7_000,
        8_000,
        2 * STEP,
        2 * STEP + 1,
        9_000,
    ]
}

/// Appends one demand signal and its revisions, ending at each of `ends` in turn.
async fn append_batches(client: &mut PublisherClient<Authed>, ends: &[u64]) {
    let mut head = 0;
    for (b, &end) in ends.iter().enumerate() {
        let (stream, published) = demand("310000", &format!("long-{b}"), 1);
        let mut events = vec![published.clone()];
        for _ in 1..end - head {
            let revised = revision_of(&published);
            events.push(revised);
        }
        let appended = client
            .append(pb::AppendRequest {
                stream,
                expected_version: None,
                events,
            })
            .await
            .expect("append")
            .into_inner();
        assert_eq!(appended.last_position, end);
        head = end;
    }
}

async fn verify_range(
    auditor: &mut pb::audit_client::AuditClient<Authed>,
    to_position: u64,
) -> pb::VerifyRangeResponse {
    auditor
        .verify_range(pb::VerifyRangeRequest { to_position })
        .await
        .expect("verify range")
        .into_inner()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Replaces the chain-head signature of the stored record at `position` with one by a key
/// outside the roster, as someone with the disk could. The chain still links, so the node
/// opens the log; only a check of the signatures finds it.
fn forge_signature(events: &mut [(i64, Vec<u8>)], position: u64) {
    let bytes = &mut events[position as usize - 1].1;
    let mut record = pb::EventRecord::decode(bytes.as_slice()).expect("record");
    assert!(!record.signature.is_empty(), "{position} ends a batch");
    let hash = hub_proto::record::record_hash(&record);
    record.signature = hub_audit::sign_chain_head(
        &hub_audit::generate(),
        &record.origin,
        record.origin_seq,
        &hash,
    )
    .expect("sign")
    .to_vec();
    *bytes = record.encode_to_vec();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_longer_than_a_read_step_verify_across_steps_and_name_a_tampered_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut client = publisher(&node, Some(SH)).await;
    let ends = batch_ends();
    append_batches(&mut client, &ends).await;
    let mut auditor = audit(&node, Some("dev-auditor")).await;
    let whole = verify_range(&mut auditor, 0).await;
    assert!(whole.ok, "{whole:?}");
    assert_eq!(whole.verified, 9_000);
    for &end in &ends {
        let part = verify_range(&mut auditor, end).await;
        assert!(part.ok, "up to {end}: {part:?}");
        assert_eq!(part.verified, end, "up to {end}: {part:?}");
    }
    node.stop().await.expect("stop");

    for position in [STEP + 1, 6_000, 2 * STEP + 1, 9_000] {
        let copy = tempfile::tempdir().expect("tempdir");
        copy_dir(dir.path(), copy.path());
        hub_log::tamper::rewrite_events(&copy.path().join("log"), |events| {
            forge_signature(events, position)
        })
        .expect("tamper");
        let node = start(copy.path(), |_| {}).await;
        let mut auditor = audit(&node, Some("dev-auditor")).await;
        let found = verify_range(&mut auditor, 0).await;
        assert!(!found.ok, "a forged signature at {position} went unnoticed");
        assert_eq!(
            (found.bad_position, found.verified),
            (position, position - 1),
            "{found:?}"
        );
        node.stop().await.expect("stop");
    }
}
