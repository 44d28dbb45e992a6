//! gRPC clients of a node process, and the events the stories publish.

use std::sync::OnceLock;

use anyhow::Context;
use hub_proto::pb;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// A channel that sends a bearer token with every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(tonic::metadata::AsciiMetadataValue);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

impl Bearer {
    /// Sends `token`.
    pub fn new(token: &str) -> anyhow::Result<Self> {
        Ok(Self(format!("Bearer {token}").parse()?))
    }
}

async fn channel(endpoint: &str, token: &str) -> anyhow::Result<(Channel, Bearer)> {
    let channel = Channel::from_shared(endpoint.to_owned())?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(20))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {endpoint}"))?;
    Ok((channel, Bearer::new(token)?))
}

/// A Query client.
pub async fn query(
    endpoint: &str,
    token: &str,
) -> anyhow::Result<pb::query_client::QueryClient<Authed>> {
    let (c, b) = channel(endpoint, token).await?;
    Ok(pb::query_client::QueryClient::with_interceptor(c, b))
}

/// A Publisher client.
pub async fn publisher(
    endpoint: &str,
    token: &str,
) -> anyhow::Result<pb::publisher_client::PublisherClient<Authed>> {
    let (c, b) = channel(endpoint, token).await?;
    Ok(pb::publisher_client::PublisherClient::with_interceptor(
        c, b,
    ))
}

/// An Audit client.
pub async fn audit(
    endpoint: &str,
    token: &str,
) -> anyhow::Result<pb::audit_client::AuditClient<Authed>> {
    let (c, b) = channel(endpoint, token).await?;
    Ok(pb::audit_client::AuditClient::with_interceptor(c, b))
}

/// A Streams client with `token`.
pub async fn streams(
    endpoint: &str,
    token: &str,
) -> anyhow::Result<pb::streams_client::StreamsClient<Authed>> {
    let (c, b) = channel(endpoint, token).await?;
    Ok(pb::streams_client::StreamsClient::with_interceptor(c, b))
}

/// Every event of the node's log, through `ReadAll`.
pub async fn read_all(endpoint: &str, token: &str) -> anyhow::Result<Vec<pb::Event>> {
    let (c, b) = channel(endpoint, token).await?;
    let mut client = pb::streams_client::StreamsClient::with_interceptor(c, b);
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let r = client
            .read_all(pb::ReadAllRequest {
                from_position: from,
                limit: 1000,
            })
            .await?
            .into_inner();
        out.extend(r.events);
        if r.next_position == 0 {
            return Ok(out);
        }
        from = r.next_position;
    }
}

/// An append of one event to `stream`.
pub fn append_one(stream: &str, event: pb::Event) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events: vec![event],
    }
}

/// A demand signal of `member`: stream `demand/<member>/<signal>`.
pub fn demand(member: &str, signal: &str, headcount: u32) -> pb::AppendRequest {
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
    append_one(
        &format!("demand/{member}/{signal}"),
        pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(body),
            ..Default::default()
        },
    )
}

/// A national ID number that must never be stored, logged or replicated.
pub const NATIONAL_ID: &str = "11010519491231002X";
/// A masked name: personal data.
pub const DISPLAY: &str = "欧阳*";
/// A decision summary: personal data.
pub const SUMMARY: &str = "以伪造的博士学位证书申报二〇二六年度领军人才计划";

/// The subject reference of [`NATIONAL_ID`] under the development alliance key.
pub fn subject_ref() -> String {
    static REF: OnceLock<String> = OnceLock::new();
    REF.get_or_init(|| {
        let key = hub_server::Config::defaults()
            .alliance_key()
            .expect("the development alliance key is valid");
        key.subject_ref(NATIONAL_ID)
            .expect("a valid ID number")
            .to_string()
    })
    .clone()
}

/// A blacklist entry of `member` about [`NATIONAL_ID`], with [`DISPLAY`] and [`SUMMARY`]
/// in the clear (the node seals them).
pub fn blacklist_entry(member: &str, entry: &str) -> pb::AppendRequest {
    let body = pb::EventBody {
        kind: Some(pb::event_body::Kind::BlacklistEntryAdded(
            pb::BlacklistEntryAdded {
                entry_id: entry.into(),
                subject_ref: subject_ref(),
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
    append_one(
        &format!("blacklist/{member}/{entry}"),
        pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(body),
            ..Default::default()
        },
    )
}

/// An erasure of `member`'s entry `entry` by order.
pub fn erasure(member: &str, entry: &str) -> pb::AppendRequest {
    append_one(
        &format!("blacklist/{member}/{entry}"),
        pb::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            body: Some(pb::EventBody {
                kind: Some(pb::event_body::Kind::BlacklistEntryErased(
                    pb::BlacklistEntryErased {
                        entry_id: entry.into(),
                        reason: pb::ErasureReason::Order as i32,
                        order_ref: "沪高法〔2026〕3号".into(),
                    },
                )),
            }),
            ..Default::default()
        },
    )
}

/// The personal data of [`blacklist_entry`] as byte strings to scan for.
pub fn personal_secrets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("raw ID number", NATIONAL_ID.as_bytes().to_vec()),
        ("raw ID number", NATIONAL_ID.to_lowercase().into_bytes()),
        ("display name", DISPLAY.as_bytes().to_vec()),
        ("decision summary", SUMMARY.as_bytes().to_vec()),
    ]
}

/// True if `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The origin vector of a `ViewInfo` answer.
pub fn vector(info: &pb::ViewInfoResponse) -> std::collections::BTreeMap<String, u64> {
    info.origin_vector
        .iter()
        .map(|o| (o.origin.clone(), o.origin_seq))
        .collect()
}
