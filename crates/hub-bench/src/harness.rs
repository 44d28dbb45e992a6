//! What the gRPC benchmarks share: an in-process node configured for load, authenticated
//! clients over their own connections, demand events to append, and latency percentiles.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use hub_proto::pb;
use hub_proto::pb::publisher_client::PublisherClient;
use hub_proto::pb::query_client::QueryClient;
use hub_proto::pb::streams_client::StreamsClient;
use hub_server::Config;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// The token of the member city the benchmarks publish for.
pub const SHANGHAI_TOKEN: &str = "dev-member-310000";
/// Unary requests a node admits at once: far above any client count used here, so load
/// is never shed.
const MAX_IN_FLIGHT: usize = 8192;

/// A channel that sends a bearer token with every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    /// Sends `token`.
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {token}")
            .parse()
            .context("the token is not ascii")?;
        Ok(Self(value))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A node config for load: port 0 on loopback, data in `dir`, no per-member rate limit and
/// room for every client's requests at once.
pub fn load_config(dir: &Path) -> Config {
    let mut c = Config::defaults();
    c.server.listen = "127.0.0.1:0".into();
    c.node.data_dir = dir.to_path_buf();
    c.server.member_rate_per_second = 0;
    c.server.max_in_flight = MAX_IN_FLIGHT;
    c
}

/// Opens a connection of its own to `endpoint` (one HTTP/2 connection per client, as
/// separate processes would have).
pub async fn connect(endpoint: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(endpoint.to_owned())?
        .connect()
        .await
        .with_context(|| format!("connect to {endpoint}"))
}

/// A publisher client of the node at `endpoint`, on its own connection.
pub async fn publisher(endpoint: &str, token: &str) -> anyhow::Result<PublisherClient<Authed>> {
    Ok(PublisherClient::with_interceptor(
        connect(endpoint).await?,
        Bearer::new(token)?,
    ))
}

/// A query client of the node at `endpoint`, on its own connection.
pub async fn query(endpoint: &str, token: &str) -> anyhow::Result<QueryClient<Authed>> {
    Ok(QueryClient::with_interceptor(
        connect(endpoint).await?,
        Bearer::new(token)?,
    ))
}

/// A streams client of the node at `endpoint`, on its own connection.
pub async fn streams(endpoint: &str, token: &str) -> anyhow::Result<StreamsClient<Authed>> {
    Ok(StreamsClient::with_interceptor(
        connect(endpoint).await?,
        Bearer::new(token)?,
    ))
}

/// An append of `n` demand events of `member` to the stream of signal `signal`, with fresh
/// event ids: the first publishes the signal when `publish` is set, every other one revises
/// it, so the view folds each event rather than ignoring it.
pub fn demand_append(member: &str, signal: &str, n: usize, publish: bool) -> pb::AppendRequest {
    use pb::event_body::Kind;
    let events = (0..n)
        .map(|i| {
            let headcount = 1 + (i as u32 % 50);
            let pay_band = Some(pb::PayBand {
                min: 20_000,
                max: 40_000,
            });
            let kind = if publish && i == 0 {
                Kind::DemandSignalPublished(pb::DemandSignalPublished {
                    signal_id: signal.into(),
                    industry: pb::Industry::IntegratedCircuits as i32,
                    occupation_code: "2-02-09-03".into(),
                    level: "senior".into(),
                    headcount,
                    period: "2026-Q1".into(),
                    pay_band,
                    education: pb::Education::Master as i32,
                })
            } else {
                Kind::DemandSignalRevised(pb::DemandSignalRevised {
                    signal_id: signal.into(),
                    industry: pb::Industry::IntegratedCircuits as i32,
                    occupation_code: "2-02-09-03".into(),
                    level: "senior".into(),
                    headcount,
                    period: "2026-Q1".into(),
                    pay_band,
                    education: pb::Education::Master as i32,
                })
            };
            pb::Event {
                event_id: uuid::Uuid::new_v4().to_string(),
                body: Some(pb::EventBody { kind: Some(kind) }),
                ..Default::default()
            }
        })
        .collect();
    pb::AppendRequest {
        stream: format!("demand/{member}/{signal}"),
        expected_version: None,
        events,
    }
}

/// Parses `--seconds` into a positive duration.
pub fn seconds(value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--seconds must be a positive number, got {value}"))
}

/// Latencies of one measurement, in microseconds, sorted.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    /// Sorts `micros`.
    pub fn new(mut micros: Vec<u64>) -> Self {
        micros.sort_unstable();
        Self(micros)
    }

    /// The measured latencies, sorted.
    pub fn into_micros(self) -> Vec<u64> {
        self.0
    }

    /// The nearest-rank percentile `p` (0..=1) in microseconds; 0 when nothing was
    /// measured.
    pub fn us(&self, p: f64) -> f64 {
        let n = self.0.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.0[rank - 1] as f64
    }

    /// The percentile `p` in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        self.us(p) / 1000.0
    }
}

/// Microseconds from `from` to `to`, 0 if `to` came first.
pub fn micros_between(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_micros() as u64
}

/// The directory a bench makes its data directories in: `dir`, or `./target`, created if
/// missing. It must be on the disk being measured (a tmpfs makes fsync free).
pub fn bench_parent(dir: Option<&Path>) -> anyhow::Result<std::path::PathBuf> {
    let parent = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir()?.join("target"),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("create the bench directory {}", parent.display()))?;
    Ok(parent)
}
