//! `hub-bench console`: how fast the operator console loads next to a large log.
//!
//! Builds a node's data directory holding `--events` events of the realistic mix of
//! `hub-bench view` (eight cities' recognition lists, demand signals and blacklist entries
//! with their follow-ups), starts a real node on it with its admin listener on loopback,
//! waits until `/readyz` says the view has caught up, and then loads the console as a
//! browser does, over HTTP:
//!
//! 1. `/`, then `/console/app.js` and `/console/style.css` together;
//! 2. `/api/status` (the tail starts from its log head);
//! 3. together: `/api/tail` from 20 events before the head until it is caught up,
//!    `/api/recognition-matrix` for today, `/api/demand-trends` and then
//!    `/api/shortage-alerts` for the newest quarter with demand, `/api/blacklist-counts`.
//!
//! Figures:
//!
//! - `console.node_open_ms`: from starting the node on the built data to `/readyz` 200
//!   (the view's replay at start);
//! - `console.page_load_ms`: the first load after the node is ready (nothing cached);
//!   `console.page_load.warm_ms`: the median of `--loads` more loads;
//! - `console.page_load.moving_ms`: the median of loads while a writer appends a batch of
//!   events every 100 ms, so the view never stands still;
//! - `console.api.<endpoint>_ms` (first call) and `console.api.<endpoint>.warm_ms`
//!   (median of `--loads` calls), for every call the page makes, one at a time. The
//!   questions are about yesterday, which the page did not ask: the first call is
//!   computed, the later ones are answers the node remembers while its view stands still.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use http_body_util::{BodyExt, Empty};
use hub_log::Log;
use hub_server::RunningNode;
use hub_types::{EventId, ExpectedVersion, NewEvent};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::figure::report;
use crate::harness::load_config;
use crate::view::build;
use crate::view::mix::Mix;

/// Events before the head the console's tail starts from (as `app.js` does).
const TAIL_BACK: u64 = 20;

/// Options of `hub-bench console`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events in the node's log.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Directory the node's temporary data directory is made in [default: ./target].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Warm page loads (and calls per endpoint) timed after the first.
    #[arg(long, default_value_t = 5)]
    loads: usize,
    /// Seed of the event generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

type Http = Client<HttpConnector, Empty<bytes::Bytes>>;

/// The console's HTTP side, as a browser sees it.
#[derive(Debug, Clone)]
struct Browser {
    client: Http,
    base: String,
}

impl Browser {
    /// `GET path`; the body, or an error naming the path and status.
    async fn get(&self, path: &str) -> anyhow::Result<bytes::Bytes> {
        let uri: http::Uri = format!("{}{path}", self.base).parse()?;
        let resp = self
            .client
            .get(uri)
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("GET {path}: body"))?
            .to_bytes();
        ensure!(
            status.is_success(),
            "GET {path}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }

    /// `GET path` as JSON.
    async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let body = self.get(path).await?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// Opens the tail after `after` and reads it until the server says it caught up.
    async fn tail_caught_up(&self, after: u64) -> anyhow::Result<()> {
        let path = format!("/api/tail?after={after}");
        let uri: http::Uri = format!("{}{path}", self.base).parse()?;
        let resp = self
            .client
            .get(uri)
            .await
            .with_context(|| format!("GET {path}"))?;
        ensure!(resp.status().is_success(), "GET {path}: {}", resp.status());
        let mut body = resp.into_body();
        let mut seen = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame
                .with_context(|| format!("GET {path}: body"))?
                .into_data()
            {
                seen.extend_from_slice(&data);
                if seen.windows(16).any(|w| w == b"event: caught_up") {
                    return Ok(());
                }
            }
        }
        bail!("GET {path}: ended before catching up")
    }

    /// The newest quarter any demand trend has a point for.
    fn newest_period(trends: &Value) -> Option<String> {
        trends["industries"]
            .as_array()?
            .iter()
            .filter_map(|t| t["points"].as_array())
            .flatten()
            .filter(|p| p["demanded"].as_u64().unwrap_or(0) > 0)
            .filter_map(|p| p["period"].as_str())
            .max()
            .map(str::to_owned)
    }

    /// Loads the page as `app.js` does; returns how long it took.
    async fn load_page(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.get("/").await?;
        tokio::try_join!(self.get("/console/app.js"), self.get("/console/style.css"))?;
        let status = self.json("/api/status").await?;
        let head = status["log_head"]
            .as_u64()
            .context("status without log_head")?;
        let today = hub_view::today().to_string();
        let demand = async {
            let trends = self.json("/api/demand-trends?periods=8").await?;
            if let Some(period) = Self::newest_period(&trends) {
                self.json(&format!("/api/shortage-alerts?period={period}"))
                    .await?;
            }
            anyhow::Ok(())
        };
        let matrix = format!("/api/recognition-matrix?on_date={today}");
        tokio::try_join!(
            self.tail_caught_up(head.saturating_sub(TAIL_BACK)),
            self.json(&matrix),
            demand,
            self.json("/api/blacklist-counts"),
        )?;
        Ok(started.elapsed())
    }
}

/// Builds the data, starts the node and times the console.
pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(
        args.events >= 100,
        "--events must be at least 100, got {}",
        args.events
    );
    ensure!(args.loads > 0, "--loads must be at least 1");
    let parent = crate::harness::bench_parent(args.dir.as_deref())?;
    let data = tempfile::Builder::new()
        .prefix("hub-bench-console-")
        .tempdir_in(&parent)
        .with_context(|| format!("create a data directory under {}", parent.display()))?;

    // The node's log, built directly (as a node would have stored it) and closed.
    let started = Instant::now();
    let log = Log::open(data.path().join("log"))?;
    let mut mix = Mix::new(args.seed, args.events)?;
    build(&log, &mut mix, args.events).await?;
    log.close().await;
    drop(log);
    eprintln!(
        "hub-bench console: built a log of {} events in {:.2?}",
        args.events,
        started.elapsed()
    );

    let mut config = load_config(data.path());
    config.admin.listen = "127.0.0.1:0".into();
    let started = Instant::now();
    let node = RunningNode::start_with_admin(config).await?;
    let browser = Browser {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: node.admin_url().context("the admin listener is off")?,
    };
    wait_ready(&browser).await?;
    report(
        "console.node_open_ms",
        started.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
    eprintln!(
        "hub-bench console: node ready at {} after {:.2?}",
        browser.base,
        started.elapsed()
    );

    let first = browser.load_page().await?;
    report("console.page_load_ms", ms(first), "ms");
    let mut warm = Vec::with_capacity(args.loads);
    for _ in 0..args.loads {
        warm.push(browser.load_page().await?);
    }
    report("console.page_load.warm_ms", ms(median(&mut warm)), "ms");

    let head = node.hub.log().head();
    let trends = browser.json("/api/demand-trends?periods=8").await?;
    let period = Browser::newest_period(&trends).unwrap_or_else(|| "2026-Q1".into());
    // The page asked about today: yesterday is a question not answered yet, so each
    // first call below is computed and the calls after it are remembered answers.
    let day = hub_types::Date::from_days_since_epoch(hub_view::today().days_since_epoch() - 1);
    let endpoints: [(&str, String); 7] = [
        ("index", "/".into()),
        ("status", "/api/status".into()),
        (
            "recognition_matrix",
            format!("/api/recognition-matrix?on_date={day}"),
        ),
        (
            "demand_trends",
            format!("/api/demand-trends?periods=8&on_date={day}"),
        ),
        (
            "shortage_alerts",
            format!("/api/shortage-alerts?period={period}&on_date={day}"),
        ),
        (
            "joint_report",
            format!("/api/joint-report?period={period}&on_date={day}"),
        ),
        (
            "blacklist_counts",
            format!("/api/blacklist-counts?on_date={day}"),
        ),
    ];
    for (name, path) in &endpoints {
        let calls = time_calls(args.loads, || browser.get(path)).await?;
        report_calls(name, &calls);
    }
    let calls = time_calls(args.loads, || {
        browser.tail_caught_up(head.saturating_sub(TAIL_BACK))
    })
    .await?;
    report_calls("tail_caught_up", &calls);

    // The same page while the view keeps moving: a writer appends every 100 ms.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn(keep_writing(node.hub.clone(), writing.clone()));
    let mut moving = Vec::with_capacity(args.loads);
    for _ in 0..args.loads {
        moving.push(browser.load_page().await?);
    }
    writing.store(false, Ordering::Relaxed);
    let appended = writer.await.context("writer task")??;
    report("console.page_load.moving_ms", ms(median(&mut moving)), "ms");
    eprintln!("hub-bench console: {appended} events appended during the moving loads");

    node.stop().await?;
    Ok(())
}

/// Polls `/readyz` until the view has caught up with the log.
async fn wait_ready(browser: &Browser) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    while browser.get("/readyz").await.is_err() {
        ensure!(
            Instant::now() < deadline,
            "the node was not ready within an hour"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Appends a batch of 10 demand revisions every 100 ms until `writing` turns false;
/// returns how many events it appended.
async fn keep_writing(
    hub: Arc<hub_server::hub::Hub>,
    writing: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let template = crate::harness::demand_append("310000", "console-bench", 10, true);
    let mut events: Vec<NewEvent> = Vec::new();
    for e in &template.events {
        let body = e.body.as_ref().context("bench event without a body")?;
        events.push(NewEvent {
            event_id: EventId::new_random(),
            body: hub_proto::convert::body_from_proto(body)?,
        });
    }
    let stream = template.stream.parse()?;
    let mut appended = 0;
    let mut first = true;
    while writing.load(Ordering::Relaxed) {
        let batch = events
            .iter()
            .skip(usize::from(!first))
            .map(|e| NewEvent {
                event_id: EventId::new_random(),
                body: e.body.clone(),
            })
            .collect::<Vec<_>>();
        first = false;
        appended += batch.len() as u64;
        hub.log()
            .append(&stream, ExpectedVersion::Any, batch)
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(appended)
}

/// Times one call, then `n` more; the first duration and the rest.
async fn time_calls<T, F: Future<Output = anyhow::Result<T>>>(
    n: usize,
    call: impl Fn() -> F,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let started = Instant::now();
    call().await?;
    let first = started.elapsed();
    let mut rest = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        call().await?;
        rest.push(started.elapsed());
    }
    Ok((first, rest))
}

fn report_calls(name: &str, (first, rest): &(Duration, Vec<Duration>)) {
    let mut rest = rest.clone();
    report(&format!("console.api.{name}_ms"), ms(*first), "ms");
    report(
        &format!("console.api.{name}.warm_ms"),
        ms(median(&mut rest)),
        "ms",
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median (the upper of an even count's middle pair); zero for none.
fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}
