//! The wire contract of `docs/protocol.md`, checked from a client's side: retries, roster
//! rules, field paths in errors, short quotes of bad values, byte-bounded pages, the size
//! limit's status, reflection and the bearer scheme.

mod common;

use common::*;
use hub_proto::pb;
use hub_proto::pb::event_body::Kind;
use tonic::Code;

fn event(kind: Kind) -> pb::Event {
    pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

fn closed(signal: &str) -> pb::Event {
    event(Kind::DemandSignalClosed(pb::DemandSignalClosed {
        signal_id: signal.into(),
        reason: pb::CloseReason::Filled as i32,
        filled: 1,
        closed_at: "2026-03-01".into(),
    }))
}

fn rule(rule_id: &str, issuer: &str) -> pb::Event {
    event(Kind::CredentialRecognized(pb::CredentialRecognized {
        rule_id: rule_id.into(),
        credential: Some(pb::Credential {
            kind: pb::CredentialKind::ProfessionalTitle as i32,
            code: "engineering".into(),
            level: "intermediate".into(),
        }),
        issuer: issuer.into(),
        local_equivalent: "intermediate".into(),
        conditions: String::new(),
        effective_from: "2026-01-01".into(),
        effective_until: String::new(),
    }))
}

fn batch(stream: &str, events: Vec<pb::Event>) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events,
    }
}

#[tokio::test]
async fn a_retry_must_repeat_the_stored_batch_and_then_answers_its_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    append_n(&mut sh, "filler", 5).await;
    let (stream, published) = demand("310000", "d1", 10);
    let close = closed("d1");
    let stored = sh
        .append(batch(&stream, vec![published.clone(), close.clone()]))
        .await
        .expect("batch")
        .into_inner();
    assert_eq!((stored.first_position, stored.last_position), (6, 7));

    for (what, events) in [
        ("reordered", vec![close.clone(), published.clone()]),
        ("first half", vec![published.clone()]),
        ("second half", vec![close.clone()]),
    ] {
        let status = sh.append(batch(&stream, events)).await.expect_err(what);
        assert_eq!(status.code(), Code::AlreadyExists, "{what}: {status:?}");
        assert!(
            status.message().contains("same events in the same order"),
            "{what}: {}",
            status.message()
        );
    }
    let again = sh
        .append(batch(&stream, vec![published, close]))
        .await
        .expect("true retry")
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(
        (
            again.first_position,
            again.last_position,
            again.stream_version
        ),
        (6, 7, 2)
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn a_rule_must_name_another_roster_member_or_any_as_issuer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    for (issuer, needle) in [
        ("110000", "110000 is not a member of the alliance roster"),
        ("310000", "310000 is the recognizing city itself"),
    ] {
        let status = sh
            .append(batch("recognition/310000", vec![rule("r1", issuer)]))
            .await
            .expect_err(issuer);
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status
                .message()
                .starts_with("events[0].body.credential_recognized.issuer: "),
            "{}",
            status.message()
        );
        assert!(status.message().contains(needle), "{}", status.message());
    }
    for issuer in ["330400", "*"] {
        sh.append(batch(
            "recognition/310000",
            vec![rule(&format!("r-{}", issuer.replace('*', "any")), issuer)],
        ))
        .await
        .expect(issuer);
    }
    assert_eq!(node.hub.log().head(), 2, "only the valid rules were stored");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn changing_what_does_not_exist_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let withdraw = event(Kind::RecognitionWithdrawn(pb::RecognitionWithdrawn {
        rule_id: "ghost-rule".into(),
        reason: "superseded".into(),
        effective_at: "2026-04-01".into(),
    }));
    let suspend = event(Kind::BlacklistEntrySuspended(pb::BlacklistEntrySuspended {
        entry_id: "ghost-entry".into(),
        appeal_ref: "appeal-1".into(),
        effective_at: "2026-04-01".into(),
    }));
    let cases = [
        (
            "recognition/310000",
            withdraw,
            "events[0].body.recognition_withdrawn.rule_id: recognition rule \"ghost-rule\" of 310000 does not exist",
        ),
        (
            "demand/310000/ghost-signal",
            closed("ghost-signal"),
            "events[0].body.demand_signal_closed.signal_id: demand signal \"ghost-signal\" of 310000 does not exist",
        ),
        (
            "blacklist/310000/ghost-entry",
            suspend,
            "events[0].body.blacklist_entry_suspended.entry_id: blacklist entry \"ghost-entry\" of 310000 does not exist",
        ),
    ];
    for (stream, event, message) in cases {
        let status = sh
            .append(batch(stream, vec![event]))
            .await
            .expect_err(stream);
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(status.message(), message);
        assert_eq!(
            status
                .metadata()
                .get("th-actual-version")
                .map(|v| v.as_bytes()),
            Some(&b"0"[..]),
            "the stream's version"
        );
    }
    assert_eq!(node.hub.log().head(), 0, "nothing was stored");

    // What the same batch creates first may be changed by it; what exists may be changed.
    let (stream, published) = demand("310000", "real", 5);
    sh.append(batch(&stream, vec![published, closed("real")]))
        .await
        .expect("publish and close in one batch");
    let (stream, published) = demand("310000", "later", 5);
    sh.append(batch(&stream, vec![published]))
        .await
        .expect("publish");
    sh.append(batch(&stream, vec![closed("later")]))
        .await
        .expect("close what exists");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn errors_name_the_request_field_and_never_rust_internals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    append_n(&mut sh, "x", 3).await;

    let mut audit = audit(&node, Some("dev-auditor")).await;
    let status = audit
        .verify_range(pb::VerifyRangeRequest { to_position: 20 })
        .await
        .expect_err("beyond the log");
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(
        status.message(),
        "to_position: 20 is beyond the log's 3 events"
    );

    let (_, mut wrong_id) = demand("310000", "d2", 1);
    if let Some(pb::EventBody {
        kind: Some(Kind::DemandSignalPublished(p)),
    }) = wrong_id.body.as_mut()
    {
        p.signal_id = "d2".into();
    }
    let status = sh
        .append(batch("demand/310000/d1", vec![wrong_id]))
        .await
        .expect_err("id differs from the stream's");
    assert_eq!(
        status.message(),
        "events[0].body.demand_signal_published.signal_id: \"d2\" must equal the stream's id \"d1\""
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn a_position_beyond_the_view_names_its_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    append_n(&mut sh, "x", 3).await;
    assert!(
        node.hub
            .view()
            .wait_for(3, std::time::Duration::from_secs(10))
            .await
    );
    let mut query = query(&node, Some(SH)).await;
    let status = query
        .demand_summary(pb::DemandSummaryRequest {
            time: Some(pb::TimeAxes {
                at_position: 9,
                ..Default::default()
            }),
            group_by: pb::GroupBy::City as i32,
            ..Default::default()
        })
        .await
        .expect_err("beyond the view");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        "time.at_position: 9 is beyond the view's position 3"
    );
    let status = query
        .view_info(pb::ViewInfoRequest { at_position: 9 })
        .await
        .expect_err("beyond the view");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        "at_position: 9 is beyond the view's position 3"
    );
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn long_bad_values_are_quoted_as_a_short_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let long = "9".repeat(20_000);
    let (stream, good) = demand("310000", "d1", 1);
    let mut long_id = good.clone();
    long_id.event_id = long.clone();

    let mut statuses = vec![
        (
            "stream",
            sh.append(batch(&long, vec![good.clone()]))
                .await
                .expect_err("long stream"),
        ),
        (
            "events[0].event_id",
            sh.append(batch(&stream, vec![long_id]))
                .await
                .expect_err("long event id"),
        ),
    ];
    let mut query = query(&node, Some(SH)).await;
    statuses.push((
        "time.on_date",
        query
            .demand_summary(pb::DemandSummaryRequest {
                time: Some(pb::TimeAxes {
                    on_date: long.clone(),
                    ..Default::default()
                }),
                group_by: pb::GroupBy::City as i32,
                ..Default::default()
            })
            .await
            .expect_err("long date"),
    ));
    for (field, status) in statuses {
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{field}: {}",
            status.message()
        );
        assert!(
            status.message().len() < 300,
            "{field}: {} bytes",
            status.message().len()
        );
        assert!(
            status.message().contains("(20000 characters)"),
            "{}",
            status.message()
        );
    }
    node.stop().await.expect("stop");
}

/// A blacklist entry of about 8 KiB (sixteen long measures).
fn bulky_entry(node: &hub_server::RunningNode, i: usize) -> (String, pb::Event) {
    let (stream, mut e) = blacklist_entry(node, "310000", &format!("e{i:03}"));
    if let Some(pb::EventBody {
        kind: Some(Kind::BlacklistEntryAdded(a)),
    }) = e.body.as_mut()
    {
        a.measures = (0..16)
            .map(|m| format!("{m:02}{}", "m".repeat(498)))
            .collect();
    }
    (stream, e)
}

#[tokio::test]
async fn every_read_pages_within_the_message_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 64 * 1024;
    let node = start(dir.path(), |c| c.server.max_message_bytes = limit).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let n = 30;
    for i in 0..n {
        let (stream, e) = bulky_entry(&node, i);
        sh.append(batch(&stream, vec![e])).await.expect("append");
    }
    assert!(
        node.hub
            .view()
            .wait_for(n as u64, std::time::Duration::from_secs(10))
            .await
    );

    // ReadAll with the server's default limit.
    let mut streams = streams(&node, Some(SH)).await;
    let (mut from, mut seen, mut pages) = (1, Vec::new(), 0);
    loop {
        let page = streams
            .read_all(pb::ReadAllRequest {
                from_position: from,
                limit: 0,
            })
            .await
            .expect("read all page")
            .into_inner();
        pages += 1;
        seen.extend(page.events.iter().map(|e| e.position));
        if page.next_position == 0 {
            break;
        }
        from = page.next_position;
    }
    assert_eq!(seen, (1..=n as u64).collect::<Vec<_>>());
    assert!(pages > 2, "the log took {pages} pages");

    // ReadRecords: consecutive records from first_position, as many as fit.
    let mut audit = audit(&node, Some("dev-auditor")).await;
    let (mut next, mut pages) = (1, 0);
    while next <= n as u64 {
        let page = audit
            .read_records(pb::ReadRecordsRequest {
                from_position: next,
                limit: 0,
            })
            .await
            .expect("records page")
            .into_inner();
        assert_eq!(page.first_position, next);
        assert!(!page.records.is_empty());
        next += page.records.len() as u64;
        pages += 1;
    }
    assert!(pages > 2, "the records took {pages} pages");

    // ListEntries with the largest page size.
    let mut query = query(&node, Some(SH)).await;
    let (mut token, mut ids, mut pages) = (String::new(), Vec::new(), 0);
    loop {
        let page = query
            .list_entries(pb::ListEntriesRequest {
                origin: "310000".into(),
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("entries page")
            .into_inner();
        pages += 1;
        ids.extend(page.entries.iter().map(|e| e.entry_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = (0..n).map(|i| format!("e{i:03}")).collect();
    assert_eq!(ids, expected);
    assert!(pages > 2, "the entries took {pages} pages");
    node.stop().await.expect("stop");
}

fn award(id: &str, category: pb::AwardCategory) -> pb::Event {
    event(Kind::AwardGranted(pb::AwardGranted {
        award_id: id.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: DISPLAY.into(),
        programme_code: "sh-pujiang".into(),
        category: category as i32,
        level: pb::AwardLevel::Municipal as i32,
        project_title: "量子传感芯片研究".repeat(62),
        amount_cny: 100_000,
        funded_from: "2026-01-01".into(),
        funded_until: "2027-12-31".into(),
        decision_ref: "沪科〔2025〕88号".into(),
        ..Default::default()
    }))
}

fn whitelist_entry(id: &str, valid_from: &str) -> pb::Event {
    event(Kind::WhitelistEntryAdded(pb::WhitelistEntryAdded {
        entry_id: id.into(),
        national_id: NATIONAL_ID.into(),
        subject_display: "司马*".into(),
        tier: pb::WhitelistTier::A as i32,
        scheme: "长三角人才".repeat(12),
        valid_from: valid_from.into(),
        valid_until: "2030-12-31".into(),
        basis_ref: "沪人社〔2025〕".repeat(7),
        ..Default::default()
    }))
}

#[tokio::test]
async fn answers_about_one_subject_stay_within_the_limit_and_say_they_were_cut() {
    use prost::Message;
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 16 * 1024;
    let node = start(dir.path(), |c| c.server.max_message_bytes = limit).await;
    let mut sh = publisher(&node, Some(SH)).await;
    // Six blacklist entries of about 4 KiB; only the last is still active in June 2026.
    for i in 0..6 {
        let (stream, mut e) = blacklist_entry(&node, "310000", &format!("e{i}"));
        if let Some(pb::EventBody {
            kind: Some(Kind::BlacklistEntryAdded(a)),
        }) = e.body.as_mut()
        {
            a.measures = (0..8).map(|m| format!("{m}{}", "m".repeat(499))).collect();
            if i < 5 {
                a.expires_at = "2026-02-01".into();
            }
        }
        sh.append(batch(&stream, vec![e])).await.expect("entry");
    }
    // Twelve overlapping research awards of another category, then the one that conflicts.
    for i in 0..12 {
        let id = format!("a{i:02}");
        sh.append(batch(
            &format!("award/310000/{id}"),
            vec![award(&id, pb::AwardCategory::ResearchProject)],
        ))
        .await
        .expect("award");
    }
    sh.append(batch(
        "award/310000/zz-last",
        vec![award("zz-last", pb::AwardCategory::TalentProgramme)],
    ))
    .await
    .expect("conflicting award");
    // Thirty white-list entries, of which only the last is in force in June 2025.
    for i in 0..30 {
        let from = if i < 29 { "2028-01-01" } else { "2025-01-01" };
        sh.append(batch(
            &format!("whitelist/310000/w{i:02}"),
            vec![whitelist_entry(&format!("w{i:02}"), from)],
        ))
        .await
        .expect("white-list entry");
    }
    assert!(
        node.hub
            .view()
            .wait_for(49, std::time::Duration::from_secs(10))
            .await
    );
    let mut query = query(&node, Some(SH)).await;
    let on = |date: &str| {
        Some(pb::TimeAxes {
            on_date: date.into(),
            ..Default::default()
        })
    };

    let check = query
        .check_subject(pb::CheckSubjectRequest {
            time: on("2026-06-01"),
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect("check subject")
        .into_inner();
    assert!(
        check.encoded_len() <= limit,
        "{} bytes",
        check.encoded_len()
    );
    assert!(check.truncated);
    assert!(!check.entries.is_empty() && check.entries.len() < 6);
    assert!(
        check.entries.iter().all(|e| e.entry_id != "e5"),
        "the active entry is cut"
    );
    assert!(check.any_active, "any_active covers the entries left out");

    let whitelist = query
        .whitelist_status(pb::WhitelistStatusRequest {
            time: on("2025-06-01"),
            national_id: NATIONAL_ID.into(),
            ..Default::default()
        })
        .await
        .expect("white-list status")
        .into_inner();
    let len = whitelist.encoded_len();
    assert!(len <= limit, "{len} bytes");
    assert!(whitelist.truncated);
    assert!(!whitelist.entries.is_empty() && whitelist.entries.len() < 30);
    assert!(whitelist.entries.iter().all(|e| e.entry_id != "w29"));
    assert!(
        whitelist.any_active,
        "any_active covers the entries left out"
    );

    // On 2025-06-01 no blacklist entry is in force yet: the verdict rests on the awards.
    let screening = query
        .screen_application(pb::ScreenApplicationRequest {
            time: on("2025-06-01"),
            national_id: NATIONAL_ID.into(),
            category: pb::AwardCategory::TalentProgramme as i32,
            level: pb::AwardLevel::Municipal as i32,
            funded_from: "2026-06-01".into(),
            funded_until: "2026-12-31".into(),
            amount_cny: 100_000,
            ..Default::default()
        })
        .await
        .expect("screen")
        .into_inner();
    let len = screening.encoded_len();
    assert!(len <= limit, "{len} bytes");
    assert!(screening.truncated);
    assert!(!screening.overlapping.is_empty() && screening.overlapping.len() < 13);
    assert!(screening
        .overlapping
        .iter()
        .all(|a| a.award_id != "zz-last"));
    assert_eq!(
        screening.verdict,
        pb::Verdict::Conflict as i32,
        "the verdict covers the awards left out"
    );
    assert!(screening
        .reasons
        .iter()
        .any(|r| r.rule == "same_category_and_level"));
    node.stop().await.expect("stop");
}

/// Pages a token-paged listing to its end: `ask` answers one page for a token with its
/// items' ids, the next token and the page's encoded size, which must stay within
/// `limit`. The ids of every page in order, and the number of pages.
async fn page_to_end<F>(limit: usize, mut ask: impl FnMut(String) -> F) -> (Vec<String>, usize)
where
    F: std::future::Future<Output = (Vec<String>, String, usize)>,
{
    let (mut token, mut ids, mut pages) = (String::new(), Vec::new(), 0);
    loop {
        let (page, next, bytes) = ask(token).await;
        assert!(bytes <= limit, "{bytes} bytes");
        pages += 1;
        ids.extend(page);
        if next.is_empty() {
            return (ids, pages);
        }
        token = next;
    }
}

#[tokio::test]
async fn streams_listings_and_the_access_trail_page_within_the_message_limit() {
    use prost::Message;
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 16 * 1024;
    let node = start(dir.path(), |c| c.server.max_message_bytes = limit).await;
    let mut sh = publisher(&node, Some(SH)).await;
    // Thirty rules of about 1.6 KiB in one stream, twenty awards of about 1.7 KiB.
    let rules = 30;
    for i in 0..rules {
        let mut e = rule(&format!("r{i:02}"), "330400");
        if let Some(pb::EventBody {
            kind: Some(Kind::CredentialRecognized(r)),
        }) = e.body.as_mut()
        {
            r.conditions = "须在本市连续缴纳社会保险满一年".repeat(33);
        }
        sh.append(batch("recognition/310000", vec![e]))
            .await
            .expect("rule");
    }
    let awards = 20;
    for i in 0..awards {
        let id = format!("a{i:02}");
        sh.append(batch(
            &format!("award/310000/{id}"),
            vec![award(&id, pb::AwardCategory::ResearchProject)],
        ))
        .await
        .expect("award");
    }
    let head = (rules + awards) as u64;
    assert!(
        node.hub
            .view()
            .wait_for(head, std::time::Duration::from_secs(10))
            .await
    );

    // ReadStream, forwards then backwards, with the server's default limit.
    let mut streams = streams(&node, Some(SH)).await;
    for direction in [pb::Direction::Forwards, pb::Direction::Backwards] {
        let (mut from, mut versions, mut pages) = (0, Vec::new(), 0);
        loop {
            let page = streams
                .read_stream(pb::ReadStreamRequest {
                    stream: "recognition/310000".into(),
                    from_version: from,
                    direction: direction as i32,
                    limit: 0,
                })
                .await
                .expect("stream page")
                .into_inner();
            assert!(page.encoded_len() <= limit, "{} bytes", page.encoded_len());
            pages += 1;
            versions.extend(page.events.iter().map(|e| e.stream_version));
            if page.next_version == 0 {
                break;
            }
            from = page.next_version;
        }
        let mut expected: Vec<u64> = (1..=rules as u64).collect();
        if direction == pb::Direction::Backwards {
            expected.reverse();
        }
        assert_eq!(versions, expected, "{direction:?}");
        assert!(pages > 2, "{direction:?}: the stream took {pages} pages");
    }

    // ListRecognitions and ListAwards with the largest page size.
    let mut query = query(&node, Some(SH)).await;
    let (ids, pages) = page_to_end(limit, |token| {
        let mut query = query.clone();
        async move {
            let page = query
                .list_recognitions(pb::ListRecognitionsRequest {
                    recognizer: "310000".into(),
                    include_inactive: true,
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("rules page")
                .into_inner();
            let ids = page.rules.iter().map(|r| r.rule_id.clone()).collect();
            (ids, page.next_page_token.clone(), page.encoded_len())
        }
    })
    .await;
    let expected: Vec<String> = (0..rules).map(|i| format!("r{i:02}")).collect();
    assert_eq!(ids, expected);
    assert!(pages > 2, "the rules took {pages} pages");

    let (ids, pages) = page_to_end(limit, |token| {
        let mut query = query.clone();
        async move {
            let page = query
                .list_awards(pb::ListAwardsRequest {
                    origin: "310000".into(),
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("awards page")
                .into_inner();
            let ids = page.awards.iter().map(|a| a.award_id.clone()).collect();
            (ids, page.next_page_token.clone(), page.encoded_len())
        }
    })
    .await;
    let expected: Vec<String> = (0..awards).map(|i| format!("a{i:02}")).collect();
    assert_eq!(ids, expected);
    assert!(pages > 2, "the awards took {pages} pages");

    // ListAccess over a trail of a hundred questions, with the default limit.
    let questions = 100;
    for _ in 0..questions {
        query
            .check_subject(pb::CheckSubjectRequest {
                national_id: NATIONAL_ID.into(),
                ..Default::default()
            })
            .await
            .expect("check subject");
    }
    let mut audit = audit(&node, Some("dev-auditor")).await;
    let (mut from, mut seqs, mut pages) = (1, Vec::new(), 0);
    loop {
        let page = audit
            .list_access(pb::ListAccessRequest {
                from_seq: from,
                limit: 0,
            })
            .await
            .expect("access page")
            .into_inner();
        assert!(page.encoded_len() <= limit, "{} bytes", page.encoded_len());
        assert_eq!(page.total, questions);
        pages += 1;
        seqs.extend(page.entries.iter().map(|e| e.seq));
        match page.entries.last() {
            Some(last) if last.seq < questions => from = last.seq + 1,
            _ => break,
        }
    }
    assert_eq!(seqs, (1..=questions).collect::<Vec<_>>());
    assert!(pages > 2, "the access trail took {pages} pages");
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn a_request_above_the_size_limit_is_resource_exhausted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_message_bytes = 16 * 1024).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let (stream, mut e) = demand("310000", "big", 1);
    if let Some(pb::EventBody {
        kind: Some(Kind::DemandSignalPublished(p)),
    }) = e.body.as_mut()
    {
        p.level = "x".repeat(40_000);
    }
    let status = sh
        .append(batch(&stream, vec![e.clone()]))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains("above the message limit of 16384 bytes"),
        "{}",
        status.message()
    );

    // In a stream of batches, the refused one is named and the ones before it stay.
    let (first_stream, first) = demand("310000", "first", 1);
    let requests = tokio_stream::iter(vec![
        batch(&first_stream, vec![first]),
        batch(&stream, vec![e]),
    ]);
    let mut answers = sh
        .append_stream(requests)
        .await
        .expect("open stream")
        .into_inner();
    let ok = answers.message().await.expect("first answer").expect("one");
    assert_eq!(ok.last_position, 1);
    let status = answers.message().await.expect_err("second batch");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().starts_with("batch 1: ")
            && status.message().ends_with(" (batch 0 was applied)"),
        "{}",
        status.message()
    );
    assert_eq!(node.hub.log().head(), 1);
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn a_refused_batch_of_a_stream_is_named_by_its_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut sh = publisher(&node, Some(SH)).await;
    let (s0, e0) = demand("310000", "s0", 1);
    let (s1, e1) = demand("310000", "s1", 1);
    let (s2, mut bad) = demand("310000", "s2", 1);
    if let Some(pb::EventBody {
        kind: Some(Kind::DemandSignalPublished(p)),
    }) = bad.body.as_mut()
    {
        p.period = "2026-Q5".into();
    }
    let (s3, e3) = demand("310000", "s3", 1);
    let requests = tokio_stream::iter(vec![
        batch(&s0, vec![e0]),
        batch(&s1, vec![e1]),
        batch(&s2, vec![bad.clone()]),
        batch(&s3, vec![e3]),
    ]);
    let mut answers = sh
        .append_stream(requests)
        .await
        .expect("open stream")
        .into_inner();
    for _ in 0..2 {
        answers.message().await.expect("applied").expect("answer");
    }
    let status = answers.message().await.expect_err("third batch");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "batch 2: events[0].body.demand_signal_published.period: quarter 5 is not in 1..=4 \
         (batches 0 to 1 were applied)"
    );
    assert!(answers.message().await.map_or(true, |m| m.is_none()));
    assert_eq!(
        node.hub.log().head(),
        2,
        "batches 0 and 1 were applied, 3 was not"
    );

    // A refused first batch says that nothing was applied.
    let mut answers = sh
        .append_stream(tokio_stream::iter(vec![batch(&s2, vec![bad])]))
        .await
        .expect("open stream")
        .into_inner();
    let status = answers.message().await.expect_err("first batch");
    assert_eq!(
        status.message(),
        "batch 0: events[0].body.demand_signal_published.period: quarter 5 is not in 1..=4 \
         (no batch was applied)"
    );
    assert_eq!(node.hub.log().head(), 2);
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn reflection_is_served_as_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;

    let mut alpha =
        v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&node).await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("v1alpha")
        .into_inner();
    let answer = answers.message().await.expect("answer").expect("one");
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("expected a service list, got {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"talenthub.v1.Publisher".to_owned()),
        "{names:?}"
    );

    let mut v1 = v1::server_reflection_client::ServerReflectionClient::new(channel(&node).await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = v1
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("v1")
        .into_inner();
    assert!(answers.message().await.expect("answer").is_some());
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut client = pb::query_client::QueryClient::new(channel(&node).await);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let mut request = tonic::Request::new(pb::ViewInfoRequest::default());
        request.metadata_mut().insert(
            "authorization",
            format!("{scheme} {SH}").parse().expect("header"),
        );
        client.view_info(request).await.expect(scheme);
    }
    node.stop().await.expect("stop");
}
