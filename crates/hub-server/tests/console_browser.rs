//! The operator console in headless Chromium, against a real node loaded with the samples
//! of `config/samples`. Needs Debian's `chromium` and `chromium-driver` (`.ci/run`
//! installs them); without them the test says so and passes without running.

mod common;
mod http;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use hub_proto::pb;
use hub_server::RunningNode;
use hub_types::ExpectedVersion;
use hub_view::Cut;
use serde_json::Value;

const SAMPLES: [&str; 4] = [
    include_str!("../../../config/samples/recognition.jsonl"),
    include_str!("../../../config/samples/demand.jsonl"),
    include_str!("../../../config/samples/blacklist.jsonl"),
    include_str!("../../../config/samples/register.jsonl"),
];

fn sample_bodies(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).expect("sample line")["body"].clone())
        .collect()
}

/// Loads the samples, each event as its own city (the node is a sandbox).
async fn load_samples(node: &RunningNode) {
    for text in SAMPLES {
        for (stream, event) in hub_proto::jsonl::parse_lines(text).expect("samples parse") {
            node.hub
                .log()
                .append(&stream, ExpectedVersion::Any, vec![event])
                .await
                .expect("append sample");
        }
    }
    let head = node.hub.log().head();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while node.hub.view().position() < head {
        assert!(tokio::time::Instant::now() < deadline, "view did not fold");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_alliance_and_tails_live_without_personal_data() {
    let Some(driver) = http::webdriver::chromedriver() else {
        println!(
            "skipped: the console browser test needs /usr/bin/chromium and chromedriver \
             (apt-get install chromium chromium-driver, or run .ci/run)"
        );
        return;
    };
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-browser");
    std::fs::create_dir_all(&out).expect("output dir");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.node.sandbox = true;
    c.admin.listen = "127.0.0.1:0".into();
    let node = RunningNode::start_with_admin(c).await.expect("node starts");
    load_samples(&node).await;
    let admin = node.admin_url().expect("admin listener");
    let browser = http::webdriver::Browser::start(&driver).await;

    browser.goto(&format!("{admin}/")).await;
    browser
        .wait_for(
            "the console loaded",
            "return document.body.dataset.loaded === 'true'",
        )
        .await;
    browser
        .wait_for(
            "the tail is live",
            "return document.querySelector('#tail-state').textContent.startsWith('live')",
        )
        .await;
    browser.screenshot(&out.join("console.png")).await;

    // One heat-map cell per recognising/issuing pair the view holds.
    let matrix = query(&node, Some(SH))
        .await
        .recognition_matrix(pb::RecognitionMatrixRequest::default())
        .await
        .expect("matrix")
        .into_inner();
    assert!(
        !matrix.cells.is_empty(),
        "the samples recognise credentials"
    );
    let want: BTreeSet<String> = matrix
        .cells
        .iter()
        .map(|c| format!("{}>{}", c.recognizer, c.issuer))
        .collect();
    let cells = browser
        .eval(
            "return [...document.querySelectorAll('#matrix-svg rect.cell')]
               .map(r => r.getAttribute('data-recognizer') + '>' + r.getAttribute('data-issuer'))",
        )
        .await;
    let cells: Vec<String> = serde_json::from_value(cells).expect("cells");
    assert_eq!(cells.len(), want.len(), "one cell per pair: {cells:?}");
    assert_eq!(cells.into_iter().collect::<BTreeSet<_>>(), want);
    let mutual = matrix.cells.iter().filter(|c| c.mutual).count();
    let shown_mutual = browser
        .eval("return document.querySelectorAll('#matrix-svg rect.cell-mutual').length")
        .await;
    assert_eq!(shown_mutual, Value::from(mutual), "mutual pairs are marked");

    // A trend chart, with its forecast, for every industry with demand in the samples.
    let industries: BTreeSet<String> = sample_bodies(SAMPLES[1])
        .iter()
        .filter_map(|b| b["industry"].as_str().map(str::to_owned))
        .collect();
    assert!(!industries.is_empty());
    let charted = browser
        .eval(
            "return [...document.querySelectorAll('figure.trend')]
               .filter(f => f.querySelector('polyline.actual') && f.querySelector('line.forecast'))
               .map(f => f.getAttribute('data-industry'))",
        )
        .await;
    let charted: BTreeSet<String> = serde_json::from_value(charted).expect("charts");
    assert_eq!(charted, industries);

    // The blacklist as counts only: every sample entry is counted once.
    let entries = sample_bodies(SAMPLES[2])
        .iter()
        .filter(|b| b["kind"] == "blacklist_entry_added")
        .count();
    let counted = browser
        .eval(
            "return [...document.querySelectorAll('#blacklist-counts tbody td.num')]
               .reduce((n, td) => n + Number(td.textContent), 0)",
        )
        .await;
    assert_eq!(counted, Value::from(entries));

    // The talent register as totals: one row per city, level and year of the summary, and
    // every award counted once.
    let summary = node
        .hub
        .view()
        .register_summary(&pb::RegisterSummaryRequest::default())
        .expect("summary");
    assert!(!summary.awards.is_empty(), "the samples grant awards");
    let shown_rows = browser
        .eval("return document.querySelectorAll('#register-awards tbody tr').length")
        .await;
    assert_eq!(shown_rows, Value::from(summary.awards.len()));
    let shown_awards = browser
        .eval(
            "return [...document.querySelectorAll('#register-awards tbody tr')]
               .reduce((n, tr) => n + Number(tr.children[3].textContent), 0)",
        )
        .await;
    let awards: u64 = summary.awards.iter().map(|t| t.awards).sum();
    assert_eq!(shown_awards, Value::from(awards));

    // An event appended now shows in the live tail.
    let (stream, event) = demand("310000", "browser-live", 7);
    let appended = publisher(&node, Some(SH))
        .await
        .append(append_one(&stream, event))
        .await
        .expect("append")
        .into_inner();
    let started = Instant::now();
    browser
        .wait_for(
            "the appended event in the live tail",
            &format!(
                "return document.querySelector('#tail-events tr[data-position=\"{}\"]') !== null",
                appended.last_position
            ),
        )
        .await;
    println!(
        "live tail showed position {} {} ms after the append returned",
        appended.last_position,
        started.elapsed().as_millis()
    );
    browser.screenshot(&out.join("console-tail.png")).await;

    // No personal data anywhere on the page, whatever the log holds.
    let text = browser
        .eval("return document.documentElement.outerHTML")
        .await;
    let text = text.as_str().unwrap_or_default().to_owned();
    for body in sample_bodies(SAMPLES[2])
        .into_iter()
        .chain(sample_bodies(SAMPLES[3]))
    {
        for field in [
            "subject_display",
            "decision_summary",
            "subject_ref",
            "project_title",
        ] {
            if let Some(secret) = body[field].as_str().filter(|s| !s.is_empty()) {
                assert!(!text.contains(secret), "the console shows {field}");
            }
        }
    }

    // The printable joint report of the latest quarter.
    let period = browser
        .eval("return document.querySelector('#alert-period').value")
        .await;
    let period = period.as_str().expect("a period").to_owned();
    browser
        .goto(&format!("{admin}/report?period={period}"))
        .await;
    browser
        .wait_for(
            "the report loaded",
            "return document.body.dataset.loaded === 'true'",
        )
        .await;
    let rows = browser
        .eval("return document.querySelectorAll('#report-rows tbody tr').length")
        .await;
    assert!(rows.as_u64().unwrap_or(0) > 0, "the report has rows");
    browser.screenshot(&out.join("report.png")).await;

    let errors: Vec<_> = browser
        .console_log()
        .await
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    println!("screenshots in {}", out.display());
    browser.quit().await;
    node.stop().await.expect("stop");
}

/// `GET admin + path` as JSON, which must answer 200.
async fn api(admin: &str, path: &str) -> Value {
    let (status, body) = http::get(&format!("{admin}{path}")).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// `/api/status` once it shows a digest (it never waits for one being computed).
async fn status_with_digest(admin: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = api(admin, "/api/status").await;
        if !status["digest"].is_null() {
            return status;
        }
        assert!(status["digest_position"].is_null(), "{status}");
        assert!(Instant::now() < deadline, "no digest within 60 s: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first digest is computed as the node's hub is attached to the admin listener, on a
/// blocking thread, without any status page asking for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_digest_is_computed_when_the_node_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.node.sandbox = true;
    let node = RunningNode::start(c).await.expect("node starts");
    load_samples(&node).await;
    let head = node.hub.log().head();
    let state = hub_server::admin::AdminState::with_hub(node.hub.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    let (position, digest) = loop {
        if let Some(known) = state.status_digest().known() {
            break known;
        }
        assert!(
            Instant::now() < deadline,
            "no digest computed within 60 s of opening"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(position, head);
    let exact = node
        .hub
        .view()
        .info(&pb::ViewInfoRequest { at_position: head })
        .expect("view info")
        .digest;
    assert_eq!(hex::encode(digest), exact);
    node.stop().await.expect("node stops");
}

/// The console's JSON without a browser: the blacklist counts agree with the listings, and
/// the status's digest is always the exact digest of the position it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_api_counts_the_blacklist_and_names_the_digest_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.node.sandbox = true;
    c.admin.listen = "127.0.0.1:0".into();
    let node = RunningNode::start_with_admin(c).await.expect("node starts");
    load_samples(&node).await;
    let admin = node.admin_url().expect("admin listener");

    let counts = api(&admin, "/api/blacklist-counts").await;
    let mut shown = 0;
    for city in counts["cities"].as_array().expect("cities") {
        let origin = city["city"].as_str().expect("city code");
        for (status, n) in city["counts"].as_object().expect("counts") {
            let listed = node
                .hub
                .view()
                .list_entries(&pb::ListEntriesRequest {
                    origin: origin.to_owned(),
                    status: pb::EntryStatus::from_str_name(&format!(
                        "ENTRY_STATUS_{}",
                        status.to_ascii_uppercase()
                    ))
                    .unwrap_or_else(|| panic!("status {status}"))
                        as i32,
                    ..Default::default()
                })
                .expect("list entries")
                .entries
                .len();
            assert_eq!(n.as_u64(), Some(listed as u64), "{origin} {status}");
            shown += listed;
        }
    }
    assert!(shown > 0, "the samples list entries: {counts}");
    let text = counts.to_string();
    assert!(
        !text.contains(DISPLAY) && !text.contains("subject"),
        "{text}"
    );

    // Of position 0 too (before the samples), which `ViewInfo` would take for "now".
    let exact = |at_position: u64| hex::encode(node.hub.view().digest(Cut::At(at_position)));
    // The status never waits for a digest: it shows the last one computed (the first is
    // computed as the node opens), always the exact digest of the position it names.
    let head = node.hub.log().head();
    let status = status_with_digest(&admin).await;
    assert_eq!(status["position"], head);
    let digest_position = status["digest_position"].as_u64().expect("digest_position");
    assert!(digest_position <= head, "{status}");
    assert_eq!(status["digest"], exact(digest_position));

    // Answers are remembered while the view stands still, and never once it has moved.
    let report = "/api/joint-report?period=2026-Q1";
    let ic_demanded = |report: &Value| {
        report["totals"]
            .as_array()
            .expect("totals")
            .iter()
            .find(|r| r["industry"] == "integrated_circuits")
            .map_or(0, |r| r["demanded"].as_u64().expect("demanded"))
    };
    let before = api(&admin, report).await;
    assert_eq!(api(&admin, report).await, before);

    // After an append the status is of the new head, and its digest of the position it
    // names (the remembered one, or a fresh one if that had grown old).
    let (stream, event) = demand("310000", "api-after", 7);
    publisher(&node, Some(SH))
        .await
        .append(append_one(&stream, event))
        .await
        .expect("append");
    assert!(
        node.hub
            .view()
            .wait_for(head + 1, Duration::from_secs(30))
            .await
    );
    let after = api(&admin, report).await;
    assert_eq!(ic_demanded(&after), ic_demanded(&before) + 7, "{after}");
    assert_eq!(after["position"], head + 1);
    let status = status_with_digest(&admin).await;
    assert_eq!(status["position"], head + 1);
    let digest_position = status["digest_position"].as_u64().expect("digest_position");
    assert!(digest_position <= head + 1, "{status}");
    assert_eq!(status["digest"], exact(digest_position));
    assert_ne!(exact(head), exact(head + 1));
}
