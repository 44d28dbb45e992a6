//! A test node and clients: a real server on port 0 over a real sled directory.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod kafka;

use std::path::Path;

use hub_proto::pb;
use hub_proto::pb::publisher_client::PublisherClient;
use hub_proto::pb::query_client::QueryClient;
use hub_proto::pb::streams_client::StreamsClient;
use hub_server::{Config, RunningNode};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// A node config for tests: port 0, data in `dir`, small subscription limits.
pub fn config(dir: &Path) -> Config {
    let mut c = Config::defaults();
    c.server.listen = "127.0.0.1:0".into();
    c.node.data_dir = dir.to_path_buf();
    c.subscribe.heartbeat_ms = 200;
    c
}

/// Starts a node on `dir` with `tweak` applied to its config.
pub async fn start(dir: &Path, tweak: impl FnOnce(&mut Config)) -> RunningNode {
    let mut c = config(dir);
    tweak(&mut c);
    RunningNode::start(c).await.expect("node starts")
}

pub type Authed = InterceptedService<Channel, Auth>;

/// Adds a bearer token to every call.
#[derive(Clone)]
pub struct Auth(Option<String>);

impl Auth {
    /// Sends `token`.
    pub fn bearer(token: &str) -> Self {
        Self(Some(token.to_owned()))
    }
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value = format!("Bearer {token}").parse().expect("ascii token");
            req.metadata_mut().insert("authorization", value);
        }
        Ok(req)
    }
}

pub async fn channel(node: &RunningNode) -> Channel {
    Channel::from_shared(node.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

pub async fn publisher(node: &RunningNode, token: Option<&str>) -> PublisherClient<Authed> {
    PublisherClient::with_interceptor(channel(node).await, Auth(token.map(str::to_owned)))
}

pub async fn query(node: &RunningNode, token: Option<&str>) -> QueryClient<Authed> {
    QueryClient::with_interceptor(channel(node).await, Auth(token.map(str::to_owned)))
}

pub async fn audit(
    node: &RunningNode,
    token: Option<&str>,
) -> pb::audit_client::AuditClient<Authed> {
    pb::audit_client::AuditClient::with_interceptor(
        channel(node).await,
        Auth(token.map(str::to_owned)),
    )
}

pub async fn streams(node: &RunningNode, token: Option<&str>) -> StreamsClient<Authed> {
    StreamsClient::with_interceptor(channel(node).await, Auth(token.map(str::to_owned)))
}

pub const SH: &str = "dev-member-310000";
pub const JX: &str = "dev-member-330400";

/// A valid demand signal event for stream `demand/<member>/<signal>`.
pub fn demand(member: &str, signal: &str, headcount: u32) -> (String, pb::Event) {
    let body = pb::EventBody {
        kind: Some(pb::event_body::Kind::DemandSignalPublished(
            pb::DemandSignalPublished {
                signal_id: signal.into(),
                industry: pb::Industry::IntegratedCircuits as i32,
                occupation_code: "2-02-09-03".into(),
                level: "senior".into(),
                headcount,
                period: "2026-Q1".into(),
                pay_band: Some(pb::PayBand {
                    min: 20_000,
                    max: 40_000,
                }),
                education: pb::Education::Master as i32,
            },
        )),
    };
    (
        format!("demand/{member}/{signal}"),
        pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(body),
            ..Default::default()
        },
    )
}

/// An append request of one event.
/// A revision of the demand signal `published` announced, under a fresh event id.
pub fn revision_of(published: &pb::Event) -> pb::Event {
    use hub_proto::pb::event_body::Kind;
    let mut revised = published.clone();
    revised.event_id = uuid::Uuid::new_v4().to_string();
    if let Some(body) = revised.body.as_mut() {
        if let Some(Kind::DemandSignalPublished(t)) = body.kind.take() {
            body.kind = Some(Kind::DemandSignalRevised(pb::DemandSignalRevised {
                signal_id: t.signal_id,
                industry: t.industry,
                occupation_code: t.occupation_code,
                level: t.level,
                headcount: t.headcount,
                period: t.period,
                pay_band: t.pay_band,
                education: t.education,
            }));
        }
    }
    revised
}

pub fn append_one(stream: &str, event: pb::Event) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events: vec![event],
    }
}

/// Appends `n` demand signals of Shanghai and returns their positions.
pub async fn append_n(client: &mut PublisherClient<Authed>, prefix: &str, n: usize) -> Vec<u64> {
    let mut positions = Vec::new();
    for i in 0..n {
        let (stream, event) = demand("310000", &format!("{prefix}-{i}"), 1 + i as u32 % 50);
        let r = client
            .append(append_one(&stream, event))
            .await
            .expect("append")
            .into_inner();
        positions.push(r.last_position);
    }
    positions
}

/// Reads the whole log through `ReadAll`.
pub async fn read_everything(client: &mut StreamsClient<Authed>) -> Vec<pb::Event> {
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let r = client
            .read_all(pb::ReadAllRequest {
                from_position: from,
                limit: 1000,
            })
            .await
            .expect("read all")
            .into_inner();
        out.extend(r.events);
        if r.next_position == 0 {
            return out;
        }
        from = r.next_position;
    }
}

/// Positions of the events a subscription delivers, until `n` arrived.
pub async fn collect_positions(
    stream: &mut tonic::Streaming<pb::SubscribeResponse>,
    n: usize,
) -> Result<Vec<u64>, Status> {
    let mut out = Vec::new();
    while out.len() < n {
        match stream.message().await? {
            Some(pb::SubscribeResponse {
                item: Some(pb::subscribe_response::Item::Event(e)),
            }) => out.push(e.position),
            Some(_) => {}
            None => break,
        }
    }
    Ok(out)
}

/// Every file under `dir`, recursively: for scans that a value appears nowhere on disk.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A national ID number that must never be stored, logged or replicated.
pub const NATIONAL_ID: &str = "11010519491231002X";
/// A masked name that is personal data.
pub const DISPLAY: &str = "欧阳*";
/// A decision summary that is personal data.
pub const SUMMARY: &str = "以伪造的博士学位证书申报二〇二六年度领军人才计划";

/// A blacklist entry of `member` about the person with [`NATIONAL_ID`], with the personal
/// fields [`DISPLAY`] and [`SUMMARY`] in the clear.
pub fn blacklist_entry(node: &RunningNode, member: &str, entry: &str) -> (String, pb::Event) {
    let subject = node
        .hub
        .alliance_key()
        .subject_ref(NATIONAL_ID)
        .expect("subject ref");
    let body = pb::EventBody {
        kind: Some(pb::event_body::Kind::BlacklistEntryAdded(
            pb::BlacklistEntryAdded {
                entry_id: entry.into(),
                subject_ref: subject.to_string(),
                subject_display: DISPLAY.into(),
                decision_summary: SUMMARY.into(),
                category: pb::BlacklistCategory::CredentialForgery as i32,
                decision_ref: "沪人社信〔2026〕7号".into(),
                decided_at: "2026-01-05".into(),
                effective_from: "2026-01-05".into(),
                expires_at: "2029-01-04".into(),
                measures: vec!["barred from talent programmes for 3 years".into()],
                sealed: None,
            },
        )),
    };
    (
        format!("blacklist/{member}/{entry}"),
        pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(body),
            ..Default::default()
        },
    )
}

/// An erasure of `entry` by order.
pub fn erasure(entry: &str, order_ref: &str) -> pb::Event {
    pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        body: Some(pb::EventBody {
            kind: Some(pb::event_body::Kind::BlacklistEntryErased(
                pb::BlacklistEntryErased {
                    entry_id: entry.into(),
                    reason: pb::ErasureReason::Order as i32,
                    order_ref: order_ref.into(),
                },
            )),
        }),
        ..Default::default()
    }
}

/// The live key of `stream` in `node`'s vault.
pub fn live_key(node: &RunningNode, stream: &str) -> Option<[u8; 32]> {
    let stream = stream.parse().expect("stream");
    match node.hub.view().vault().expect("vault").get(&stream) {
        hub_log::vault::KeyState::Live(k) => Some(*k),
        _ => None,
    }
}

/// True if `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The personal data of [`blacklist_entry`] as byte strings to scan for: the ID number
/// (both spellings of its check character), the display name and the summary.
pub fn personal_secrets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("raw ID number", NATIONAL_ID.as_bytes().to_vec()),
        ("raw ID number", NATIONAL_ID.to_lowercase().into_bytes()),
        ("display name", DISPLAY.as_bytes().to_vec()),
        ("decision summary", SUMMARY.as_bytes().to_vec()),
    ]
}

/// Fails naming the file if any file under `dir` holds one of `secrets`.
pub fn assert_nowhere_under(dir: &Path, secrets: &[(&str, Vec<u8>)]) {
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).expect("read");
        for (what, secret) in secrets {
            assert!(
                !contains(&bytes, secret),
                "{} holds the {what}",
                file.display()
            );
        }
    }
}

/// Everything the test binary's tracing wrote, at trace level for the hub's crates.
pub fn captured_logs() -> Vec<u8> {
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Sends the test binary's tracing, at trace level for the hub's crates, to a buffer read
/// by [`captured_logs`]. Call at the start of every test that scans the logs.
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new(
            "info,hub_server=trace,hub_log=trace,hub_view=trace,hub_replication=trace",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
