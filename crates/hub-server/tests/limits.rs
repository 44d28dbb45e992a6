//! The bounds of `docs/limits.md` that a caller meets in one request: each refusal names
//! its field and changes nothing, and the access trail is read a page at a time.

mod common;

use common::*;
use hub_proto::pb;
use tonic::Code;

/// Asserts `result` is `INVALID_ARGUMENT` whose message starts with `field: `.
fn refused_naming<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = result.expect_err(field);
    assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "{field}: {}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_over_the_event_limit_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_events_per_append = 3).await;
    let mut client = publisher(&node, Some(SH)).await;
    let events: Vec<pb::Event> = (0..4).map(|i| demand("310000", "s1", i + 1).1).collect();
    let request = pb::AppendRequest {
        stream: "demand/310000/s1".into(),
        expected_version: None,
        events,
    };
    refused_naming(client.append(request.clone()).await, "events");
    assert_eq!(node.hub.log().head(), 0, "nothing of the batch was stored");
    let mut three = request;
    three.events.truncate(3);
    client
        .append(three)
        .await
        .expect("three events are within the limit");
    assert_eq!(node.hub.log().head(), 3);
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_over_their_limit_are_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut reader = streams(&node, Some(SH)).await;
    refused_naming(
        reader
            .read_all(pb::ReadAllRequest {
                from_position: 1,
                limit: 5001,
            })
            .await,
        "limit",
    );
    reader
        .read_all(pb::ReadAllRequest {
            from_position: 1,
            limit: 5000,
        })
        .await
        .expect("5 000 is the limit");
    let mut auditor = audit(&node, Some("dev-auditor")).await;
    refused_naming(
        auditor
            .read_records(pb::ReadRecordsRequest {
                from_position: 1,
                limit: 5001,
            })
            .await,
        "limit",
    );
    let mut subscriber = streams(&node, Some(SH)).await;
    refused_naming(
        subscriber
            .subscribe(pb::SubscribeRequest {
                filter: Some(pb::SubscribeFilter {
                    stream_prefix: "d".repeat(201),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await,
        "filter.stream_prefix",
    );
    assert_eq!(
        node.hub.subscribers_open(),
        0,
        "a refused filter holds no place"
    );
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_trail_is_read_from_the_entry_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut client = query(&node, Some(JX)).await;
    for i in 0..12u32 {
        client
            .check_subject(pb::CheckSubjectRequest {
                subject_ref: format!("{i:064x}"),
                ..Default::default()
            })
            .await
            .expect("check");
    }
    let mut auditor = audit(&node, Some("dev-auditor")).await;
    let page = |from_seq, limit| pb::ListAccessRequest { from_seq, limit };
    let trail = auditor
        .list_access(page(10, 2))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(trail.total, 12);
    assert_eq!(
        trail.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![10, 11]
    );
    assert_eq!(trail.entries[0].subject_ref, format!("{:064x}", 9));
    let past = auditor
        .list_access(page(13, 5))
        .await
        .expect("past the end")
        .into_inner();
    assert!(past.entries.is_empty());
    assert_eq!(past.total, 12);
    let all = auditor
        .list_access(page(0, 0))
        .await
        .expect("whole")
        .into_inner();
    assert_eq!(
        all.entries.len(),
        12,
        "0 means from the first, the default limit"
    );
    hub_audit::verify_trail(&all.entries, hub_audit::TRAIL_START, 0).expect("chain");
    node.stop().await.expect("stop");
}
