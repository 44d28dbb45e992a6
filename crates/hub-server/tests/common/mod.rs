//! A test node and clients: a real server on port 0 over a real sled directory.

#![allow(dead_code)] // each test file uses a different part of this module

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

type Authed = InterceptedService<Channel, Auth>;

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
