//! Publish → query → subscribe through real gRPC, and every class of bad input.

mod common;

use common::*;
use hub_proto::pb;
use tonic::Code;

#[tokio::test]
async fn published_events_are_queryable_and_streamed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut publisher = publisher(&node, Some(SH)).await;
    let (stream, event) = demand("310000", "sh-ic-1", 40);
    let r = publisher
        .append(pb::AppendRequest {
            stream: stream.clone(),
            expected_version: Some(hub_proto::convert::expected_version_to_proto(
                hub_types::ExpectedVersion::NoStream,
            )),
            events: vec![event.clone()],
        })
        .await
        .expect("append")
        .into_inner();
    assert_eq!(
        (r.first_position, r.last_position, r.stream_version),
        (1, 1, 1)
    );
    assert!(!r.duplicate);

    // The same request again is an idempotent retry.
    let again = publisher
        .append(append_one(&stream, event))
        .await
        .expect("retry")
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(again.last_position, 1);

    let mut query = query(&node, Some(JX)).await;
    let summary = query
        .demand_summary(pb::DemandSummaryRequest {
            time: Some(pb::TimeAxes {
                on_date: "2026-02-01".into(),
                at_position: 1,
                as_of: None,
            }),
            group_by: pb::GroupBy::City as i32,
            filter: None,
        })
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(summary.total_open_headcount, 40);
    assert_eq!(summary.groups[0].key, "310000");
    assert_eq!(summary.basis.expect("basis").position, 1);

    let info = query
        .view_info(pb::ViewInfoRequest { at_position: 0 })
        .await
        .expect("info")
        .into_inner();
    assert_eq!((info.position, info.log_head), (1, 1));
    assert_eq!(info.origin_vector[0].origin, "310000");
    assert_eq!(info.digest.len(), 64);

    let mut streams = streams(&node, Some("dev-operator")).await;
    let mut sub = streams
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect("subscribe")
        .into_inner();
    let first = collect_positions(&mut sub, 1).await.expect("catch-up");
    assert_eq!(first, vec![1]);
    append_n(&mut publisher, "live", 3).await;
    let live = collect_positions(&mut sub, 3).await.expect("live");
    assert_eq!(live, vec![2, 3, 4]);
    drop(sub);
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_requests_get_the_right_status_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_message_bytes = 64 * 1024).await;
    let mut sh = publisher(&node, Some(SH)).await;
    append_n(&mut sh, "base", 2).await;
    let mut streams = streams(&node, Some(SH)).await;
    let before = read_everything(&mut streams).await;

    let (stream, good) = demand("310000", "bad-1", 10);
    let with_body = |f: &dyn Fn(&mut pb::DemandSignalPublished)| {
        let mut e = good.clone();
        if let Some(pb::EventBody {
            kind: Some(pb::event_body::Kind::DemandSignalPublished(p)),
        }) = e.body.as_mut()
        {
            f(p);
        }
        append_one(&stream, e)
    };
    let mut no_id = good.clone();
    no_id.event_id.clear();
    let mut no_body = good.clone();
    no_body.body = None;
    let (foreign_stream, foreign) = demand("330400", "jx-1", 10);
    let mut wrong_origin = good.clone();
    wrong_origin.origin = "330400".into();
    let huge = {
        let mut e = good.clone();
        if let Some(pb::EventBody {
            kind: Some(pb::event_body::Kind::DemandSignalPublished(p)),
        }) = e.body.as_mut()
        {
            p.level = "x".repeat(100_000);
        }
        append_one(&stream, e)
    };
    let stale = pb::AppendRequest {
        stream: "demand/310000/base-0".into(),
        expected_version: Some(hub_proto::convert::expected_version_to_proto(
            hub_types::ExpectedVersion::Exact(7),
        )),
        events: vec![demand("310000", "base-0", 1).1],
    };
    let cases: Vec<(&str, pb::AppendRequest, Code, &str)> = vec![
        (
            "missing event id",
            append_one(&stream, no_id),
            Code::InvalidArgument,
            "events[0].event_id",
        ),
        (
            "missing body",
            append_one(&stream, no_body),
            Code::InvalidArgument,
            "events[0].body",
        ),
        (
            "bad occupation code",
            with_body(&|p| p.occupation_code = "9-99".into()),
            Code::InvalidArgument,
            "events[0].body.demand_signal_published.occupation_code",
        ),
        (
            "bad period",
            with_body(&|p| p.period = "2026-Q5".into()),
            Code::InvalidArgument,
            "events[0].body.demand_signal_published.period",
        ),
        (
            "pay band upside down",
            with_body(&|p| p.pay_band = Some(pb::PayBand { min: 9, max: 1 })),
            Code::InvalidArgument,
            "pay_band.min",
        ),
        (
            "bad stream code",
            append_one("demand/31000/x", good.clone()),
            Code::InvalidArgument,
            "stream",
        ),
        (
            "wrong origin in the event",
            append_one(&stream, wrong_origin),
            Code::InvalidArgument,
            "events[0].origin",
        ),
        (
            "another city's stream",
            append_one(&foreign_stream, foreign),
            Code::PermissionDenied,
            "330400",
        ),
        (
            "oversize message",
            huge,
            Code::ResourceExhausted,
            "above the message limit",
        ),
        (
            "stale version",
            stale,
            Code::FailedPrecondition,
            "version 1",
        ),
    ];
    for (what, req, code, needle) in cases {
        let status = sh.append(req).await.expect_err(what);
        assert!(
            status.code() == code,
            "{what}: got {:?}: {}",
            status.code(),
            status.message()
        );
        assert!(
            status.message().contains(needle),
            "{what}: {}",
            status.message()
        );
    }

    let mut date_bad = good.clone();
    date_bad.body = Some(pb::EventBody {
        kind: Some(pb::event_body::Kind::DemandSignalClosed(
            pb::DemandSignalClosed {
                signal_id: "bad-1".into(),
                reason: pb::CloseReason::Filled as i32,
                filled: 1,
                closed_at: "2026-02-30".into(),
            },
        )),
    });
    let status = sh
        .append(append_one(&stream, date_bad))
        .await
        .expect_err("bad date");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("events[0].body.demand_signal_closed.closed_at"),
        "{}",
        status.message()
    );

    for token in [None, Some("not-a-token")] {
        let mut anon = publisher(&node, token).await;
        let status = anon
            .append(append_one(&stream, good.clone()))
            .await
            .expect_err("no auth");
        assert_eq!(status.code(), Code::Unauthenticated);
        let mut q = query(&node, token).await;
        let status = q
            .view_info(pb::ViewInfoRequest::default())
            .await
            .expect_err("no auth");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    for token in ["dev-auditor", "dev-operator", JX] {
        let mut other = publisher(&node, Some(token)).await;
        let status = other
            .append(append_one(&stream, good.clone()))
            .await
            .expect_err(token);
        assert_eq!(status.code(), Code::PermissionDenied, "{token}");
    }

    // Reusing an event id with other content.
    let first = read_everything(&mut streams).await[0].clone();
    let mut reused = good.clone();
    reused.event_id = first.event_id.clone();
    let status = sh
        .append(append_one(&stream, reused))
        .await
        .expect_err("reused id");
    assert_eq!(status.code(), Code::AlreadyExists);

    assert_eq!(
        read_everything(&mut streams).await,
        before,
        "nothing was stored"
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_queries_name_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut q = query(&node, Some(SH)).await;
    let status = q
        .check_subject(pb::CheckSubjectRequest {
            time: None,
            subject_ref: "11010519491231002X".into(),
            national_id: String::new(),
        })
        .await
        .expect_err("raw id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("subject_ref"),
        "{}",
        status.message()
    );
    assert!(
        !status.message().contains("11010519491231002X"),
        "the raw input is not echoed"
    );
    let status = q
        .demand_summary(pb::DemandSummaryRequest {
            time: Some(pb::TimeAxes {
                on_date: "2026-13-01".into(),
                ..Default::default()
            }),
            group_by: pb::GroupBy::Industry as i32,
            filter: None,
        })
        .await
        .expect_err("bad date");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("time.on_date"),
        "{}",
        status.message()
    );
    let status = q
        .view_info(pb::ViewInfoRequest { at_position: 99 })
        .await
        .expect_err("beyond head");
    assert_eq!(status.code(), Code::OutOfRange);
    let mut s = streams(&node, Some(SH)).await;
    let status = s
        .subscribe(pb::SubscribeRequest {
            filter: Some(pb::SubscribeFilter {
                kinds: vec!["no_such_kind".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("bad kind");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("filter.kinds[0]"),
        "{}",
        status.message()
    );
    let status = s
        .read_stream(pb::ReadStreamRequest {
            stream: "nope".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad stream");
    assert!(
        status.message().starts_with("stream"),
        "{}",
        status.message()
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn health_and_load_shedding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_in_flight = 2).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&node).await);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "talenthub.v1.Publisher".into(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let sh = "310000".parse().expect("member");
    let held: Vec<_> = (0..2)
        .map(|_| node.hub.admit(sh).expect("permit"))
        .collect();
    let mut q = query(&node, Some(SH)).await;
    let status = q
        .view_info(pb::ViewInfoRequest::default())
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted);
    drop(held);
    q.view_info(pb::ViewInfoRequest::default())
        .await
        .expect("admitted again");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn subjects_are_checked_by_national_id_without_it_being_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let id = "11010519491231002X";
    let subject = node.hub.alliance_key().subject_ref(id).expect("ref");
    let body = pb::EventBody {
        kind: Some(pb::event_body::Kind::BlacklistEntryAdded(
            pb::BlacklistEntryAdded {
                entry_id: "sh-1".into(),
                subject_ref: subject.to_string(),
                subject_display: "张*".into(),
                category: pb::BlacklistCategory::CredentialForgery as i32,
                decision_ref: "沪人社信〔2026〕1号".into(),
                decided_at: "2026-01-05".into(),
                effective_from: "2026-01-10".into(),
                expires_at: "2029-01-09".into(),
                measures: vec!["barred from talent programmes for 3 years".into()],
                ..Default::default()
            },
        )),
    };
    let event = pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(body),
        ..Default::default()
    };
    publisher(&node, Some(SH))
        .await
        .append(append_one("blacklist/310000/sh-1", event))
        .await
        .expect("append");

    let mut q = query(&node, Some(JX)).await;
    let by_id = q
        .check_subject(pb::CheckSubjectRequest {
            time: Some(pb::TimeAxes {
                on_date: "2026-06-01".into(),
                at_position: 1,
                as_of: None,
            }),
            subject_ref: String::new(),
            national_id: "11010519491231002x".into(),
        })
        .await
        .expect("check")
        .into_inner();
    assert!(by_id.any_active);
    assert_eq!(by_id.entries[0].subject_ref, subject.to_string());
    let text = format!("{by_id:?}");
    assert!(
        !text.to_uppercase().contains(id),
        "the number is not echoed"
    );

    for bad in ["11010519491231002", "110105194912310021"] {
        let status = q
            .check_subject(pb::CheckSubjectRequest {
                time: None,
                subject_ref: String::new(),
                national_id: bad.into(),
            })
            .await
            .expect_err(bad);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with("national_id"),
            "{}",
            status.message()
        );
        assert!(!status.message().contains(bad), "{}", status.message());
    }
    let status = q
        .check_subject(pb::CheckSubjectRequest {
            time: None,
            subject_ref: subject.to_string(),
            national_id: id.into(),
        })
        .await
        .expect_err("both");
    assert_eq!(status.code(), Code::InvalidArgument);
    node.stop().await.expect("stop");

    // Nothing under the data directory holds the number.
    for entry in files_under(dir.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        let hay = String::from_utf8_lossy(&bytes).to_uppercase();
        assert!(!hay.contains(id), "{} holds the raw ID", entry.display());
    }
}

#[tokio::test]
async fn members_over_their_rate_are_refused_and_others_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| {
        c.server.member_rate_per_second = 1;
        c.server.member_burst = 3;
    })
    .await;
    let mut sh = query(&node, Some(SH)).await;
    // Calls until the first refusal: the burst of three goes through, and a slow machine
    // that lets a token refill between calls only moves the refusal later.
    let started = std::time::Instant::now();
    let mut accepted: u64 = 0;
    let status = loop {
        match sh.view_info(pb::ViewInfoRequest::default()).await {
            Ok(_) => accepted += 1,
            Err(status) => break status,
        }
        assert!(accepted < 1000, "never refused");
    };
    let refills = started.elapsed().as_secs() + 1;
    assert!(
        (3..=3 + refills).contains(&accepted),
        "{accepted} calls accepted in {refills} s"
    );
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("310000"), "{}", status.message());
    let mut jx = query(&node, Some(JX)).await;
    jx.view_info(pb::ViewInfoRequest::default())
        .await
        .expect("another member has its own bucket");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn every_blacklist_check_is_in_the_access_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let subject = "a".repeat(64);
    for token in [SH, JX, "dev-auditor"] {
        query(&node, Some(token))
            .await
            .check_subject(pb::CheckSubjectRequest {
                subject_ref: subject.clone(),
                ..Default::default()
            })
            .await
            .expect("check");
    }
    let status = query(&node, Some("dev-operator"))
        .await
        .check_subject(pb::CheckSubjectRequest {
            subject_ref: subject.clone(),
            ..Default::default()
        })
        .await
        .expect_err("operators may not check subjects");
    assert_eq!(status.code(), Code::PermissionDenied);
    let (entries, total) = node.hub.access().list(1, 100).expect("trail");
    assert_eq!(total, 3);
    let who: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.caller_member.as_str(), e.caller_role.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("310000", "member"),
            ("330400", "member"),
            ("310000", "auditor")
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.subject_ref == subject && e.results == 0));
    hub_audit::verify_trail(&entries, hub_audit::TRAIL_START, 0).expect("unbroken chain");

    let mut altered = entries.clone();
    altered[1].caller_member = "320500".into();
    let broken = hub_audit::verify_trail(&altered, hub_audit::TRAIL_START, 0).expect_err("altered");
    assert_eq!(broken, hub_audit::TrailBreak::Altered(2));
    let mut dropped = entries.clone();
    dropped.remove(1);
    let broken = hub_audit::verify_trail(&dropped, hub_audit::TRAIL_START, 0).expect_err("dropped");
    assert_eq!(broken.seq(), 2);

    // The trail survives a restart and continues its chain.
    node.stop().await.expect("stop");
    let node = start(dir.path(), |_| {}).await;
    query(&node, Some(SH))
        .await
        .check_subject(pb::CheckSubjectRequest {
            subject_ref: subject.clone(),
            ..Default::default()
        })
        .await
        .expect("check");
    let (entries, total) = node.hub.access().list(1, 100).expect("trail");
    assert_eq!(total, 4);
    hub_audit::verify_trail(&entries, hub_audit::TRAIL_START, 0).expect("unbroken chain");
    node.stop().await.expect("stop");
}
