//! Live subscriptions: catch-up to live without gap or duplicate, fan-out, restarts,
//! slow subscribers, filters and heartbeats; graceful shutdown.

mod common;

use std::time::Duration;

use common::*;
use hub_proto::pb;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_resumes_across_a_restart_without_loss_or_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut publisher = publisher(&node, Some(SH)).await;
    append_n(&mut publisher, "before", 20).await;

    let mut streams = streams(&node, Some("dev-operator")).await;
    let mut sub = streams
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect("subscribe")
        .into_inner();
    let mut seen = collect_positions(&mut sub, 20).await.expect("catch-up");

    // Appends race with the shutdown; the subscriber sees what it sees, then is told to
    // resume.
    let writer = tokio::spawn(async move { append_n(&mut publisher, "during", 10).await });
    let acked = writer.await.expect("writer");
    node.stop().await.expect("stop");
    loop {
        match sub.message().await {
            Ok(Some(pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::Event(e)),
            })) => seen.push(e.position),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(
                    status.message().contains("resubscribe with after_position"),
                    "{status:?}"
                );
                break;
            }
        }
    }

    let node = start(dir.path(), |_| {}).await;
    let mut publisher = common::publisher(&node, Some(SH)).await;
    let after_restart = append_n(&mut publisher, "after", 5).await;
    let last = *seen.last().expect("saw events");
    let mut streams = common::streams(&node, Some("dev-operator")).await;
    let mut sub = streams
        .subscribe(pb::SubscribeRequest {
            after_position: last,
            ..Default::default()
        })
        .await
        .expect("resubscribe")
        .into_inner();
    let total = 20 + acked.len() + after_restart.len();
    let rest = collect_positions(&mut sub, total - seen.len())
        .await
        .expect("rest");
    seen.extend(rest);
    assert_eq!(
        seen,
        (1..=total as u64).collect::<Vec<_>>(),
        "no loss, no duplicate"
    );
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_subscribers_receive_the_same_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut publisher = publisher(&node, Some(SH)).await;
    append_n(&mut publisher, "history", 30).await;
    let channel = channel(&node).await;
    let mut handles = Vec::new();
    for _ in 0..100 {
        let mut client = pb::streams_client::StreamsClient::with_interceptor(
            channel.clone(),
            Auth::bearer("dev-operator"),
        );
        handles.push(tokio::spawn(async move {
            let mut sub = client
                .subscribe(pb::SubscribeRequest::default())
                .await
                .expect("subscribe")
                .into_inner();
            collect_positions(&mut sub, 80).await.expect("events")
        }));
    }
    append_n(&mut publisher, "live", 50).await;
    for h in handles {
        let got = tokio::time::timeout(Duration::from_secs(30), h)
            .await
            .expect("in time")
            .expect("task");
        assert_eq!(got, (1..=80).collect::<Vec<u64>>());
    }
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_told_where_to_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| {
        c.subscribe.buffer = 4;
        c.subscribe.lag_timeout_ms = 100;
    })
    .await;
    let mut publisher = publisher(&node, Some(SH)).await;
    append_n(&mut publisher, "pile", 50).await;
    // A tiny HTTP/2 window, so the transport cannot absorb what the subscriber does not read.
    let narrow = tonic::transport::Channel::from_shared(node.endpoint())
        .expect("endpoint")
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .expect("connect");
    let mut streams =
        pb::streams_client::StreamsClient::with_interceptor(narrow, Auth::bearer("dev-operator"));
    let mut sub = streams
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect("subscribe")
        .into_inner();
    // Read nothing while the buffer fills and the lag timeout passes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got = Vec::new();
    let status = loop {
        match sub.message().await {
            Ok(Some(pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::Event(e)),
            })) => got.push(e.position),
            Ok(other) => panic!("expected events then a status, got {other:?}"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    let resume: u64 = status
        .metadata()
        .get("th-resume-after")
        .expect("resume position")
        .to_str()
        .expect("text")
        .parse()
        .expect("number");
    assert_eq!(
        Some(&resume),
        got.last(),
        "resume after the last delivered event"
    );
    assert!(got.len() < 50, "the subscriber was cut off before the end");
    let mut sub = streams
        .subscribe(pb::SubscribeRequest {
            after_position: resume,
            ..Default::default()
        })
        .await
        .expect("resubscribe")
        .into_inner();
    got.extend(
        collect_positions(&mut sub, 50 - got.len())
            .await
            .expect("rest"),
    );
    assert_eq!(got, (1..=50).collect::<Vec<u64>>());
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn filters_heartbeats_and_from_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.node.sandbox = true).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let mut jx = publisher(&node, Some(JX)).await;
    append_n(&mut sh, "sh", 3).await;
    let (stream, event) = demand("330400", "jx-1", 5);
    jx.append(append_one(&stream, event))
        .await
        .expect("jx append");

    let mut streams = streams(&node, Some("dev-operator")).await;
    let mut by_origin = streams
        .subscribe(pb::SubscribeRequest {
            filter: Some(pb::SubscribeFilter {
                origins: vec!["330400".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("subscribe")
        .into_inner();
    assert_eq!(
        collect_positions(&mut by_origin, 1).await.expect("jx"),
        vec![4]
    );

    let mut by_prefix = streams
        .subscribe(pb::SubscribeRequest {
            filter: Some(pb::SubscribeFilter {
                stream_prefix: "demand/310000/sh-1".into(),
                kinds: vec!["demand_signal_published".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("subscribe")
        .into_inner();
    assert_eq!(
        collect_positions(&mut by_prefix, 1).await.expect("sh-1"),
        vec![2]
    );

    let mut live_only = streams
        .subscribe(pb::SubscribeRequest {
            from_head: true,
            ..Default::default()
        })
        .await
        .expect("subscribe")
        .into_inner();
    let mut caught_up = None;
    let mut heartbeat = None;
    while heartbeat.is_none() {
        match live_only.message().await.expect("message").expect("open") {
            pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::CaughtUp(h)),
            } => caught_up = Some(h.head_position),
            pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::Heartbeat(h)),
            } => heartbeat = Some(h.head_position),
            other => panic!("only control messages expected, got {other:?}"),
        }
    }
    assert_eq!(caught_up, Some(4));
    assert_eq!(heartbeat, Some(4));
    append_n(&mut sh, "new", 1).await;
    assert_eq!(
        collect_positions(&mut live_only, 1).await.expect("new"),
        vec![5]
    );

    let status = streams
        .subscribe(pb::SubscribeRequest {
            after_position: 99,
            ..Default::default()
        })
        .await
        .expect_err("beyond head");
    assert_eq!(status.code(), Code::InvalidArgument);
    node.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_acknowledged_before_shutdown_are_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let channel = channel(&node).await;
    let mut writers = Vec::new();
    for w in 0..8 {
        let mut client = pb::publisher_client::PublisherClient::with_interceptor(
            channel.clone(),
            Auth::bearer(SH),
        );
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..1000 {
                let (stream, event) = demand("310000", &format!("w{w}-{i}"), 1);
                match client.append(append_one(&stream, event.clone())).await {
                    Ok(r) => acked.push((r.into_inner().last_position, event.event_id)),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    // Stop while the writers are busy: once a few hundred appends are durable.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while node.hub.log().head() < 200 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.stop().await.expect("stop");
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert!(!acked.is_empty());
    let node = start(dir.path(), |_| {}).await;
    let mut streams = streams(&node, Some(SH)).await;
    let stored = read_everything(&mut streams).await;
    for (position, id) in acked {
        let e = &stored[position as usize - 1];
        assert_eq!((e.position, &e.event_id), (position, &id));
    }
    node.stop().await.expect("stop");
}

/// Events a subscription delivers until `n` arrived, whole.
async fn collect_events(
    stream: &mut tonic::Streaming<pb::SubscribeResponse>,
    n: usize,
) -> Vec<pb::Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match stream.message().await.expect("subscription item") {
            Some(pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::Event(e)),
            }) => out.push(e),
            Some(_) => {}
            None => panic!("the subscription ended after {} events", out.len()),
        }
    }
    out
}

/// Subscribes with `token` (and `filter`) and waits until the subscription is live.
async fn live_subscription(
    node: &hub_server::RunningNode,
    token: &str,
    filter: Option<pb::SubscribeFilter>,
) -> tonic::Streaming<pb::SubscribeResponse> {
    let mut sub = streams(node, Some(token))
        .await
        .subscribe(pb::SubscribeRequest {
            filter,
            ..Default::default()
        })
        .await
        .expect("subscribe")
        .into_inner();
    loop {
        match sub.message().await.expect("subscription item") {
            Some(pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::CaughtUp(_)),
            }) => return sub,
            Some(_) => {}
            None => panic!("the subscription ended before it caught up"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_shared_by_subscribers_are_those_each_may_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut publisher = publisher(&node, Some(SH)).await;
    append_n(&mut publisher, "before", 3).await;

    // Live before anything else is published: what follows reaches them as shared events.
    let mut member = live_subscription(&node, JX, None).await;
    let mut operator = live_subscription(&node, "dev-operator", None).await;
    let mut entries_only = live_subscription(
        &node,
        "dev-operator",
        Some(pb::SubscribeFilter {
            kinds: vec!["blacklist_entry_added".into()],
            ..Default::default()
        }),
    )
    .await;
    append_n(&mut publisher, "live", 4).await;
    let (stream, event) = blacklist_entry(&node, "310000", "shared-1");
    publisher
        .append(append_one(&stream, event))
        .await
        .expect("append entry");
    append_n(&mut publisher, "after", 2).await;

    let whole = read_everything(&mut streams(&node, Some(JX)).await).await;
    let redacted = read_everything(&mut streams(&node, Some("dev-operator")).await).await;
    assert_eq!(whole.len(), 10);
    assert_eq!(collect_events(&mut member, 7).await, whole[3..]);
    let seen = collect_events(&mut operator, 7).await;
    assert_eq!(seen, redacted[3..]);
    let Some(pb::event_body::Kind::BlacklistEntryAdded(entry)) =
        seen[4].body.as_ref().and_then(|b| b.kind.clone())
    else {
        panic!("not the entry: {:?}", seen[4]);
    };
    assert_eq!(
        entry.subject_ref, "<redacted>",
        "an operator sees no personal field"
    );
    assert!(entry.sealed.is_none());
    assert_eq!(collect_events(&mut entries_only, 1).await, redacted[7..8]);
    node.stop().await.expect("stop");
}
