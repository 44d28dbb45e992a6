//! The connection to a node and the bearer token every call carries.

use std::time::Duration;

use hub_proto::pb::publisher_client::PublisherClient;
use hub_proto::pb::query_client::QueryClient;
use hub_proto::pb::streams_client::StreamsClient;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::error::{root_cause, CliError, Result};

/// Client certificate settings for nodes that serve mutual TLS, set once from the command
/// line before any connection is opened.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The alliance CA (PEM).
    pub ca: std::path::PathBuf,
    /// The caller's certificate (PEM).
    pub cert: std::path::PathBuf,
    /// The caller's key (PEM).
    pub key: std::path::PathBuf,
}

static TLS: std::sync::OnceLock<TlsFiles> = std::sync::OnceLock::new();

/// Makes every connection of this process use mutual TLS with these files.
pub fn use_tls(files: TlsFiles) {
    let _ = TLS.set(files);
}

fn tls_config() -> Result<Option<tonic::transport::ClientTlsConfig>> {
    let Some(files) = TLS.get() else {
        return Ok(None);
    };
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| CliError::Input(format!("cannot read {}: {e}", p.display())))
    };
    Ok(Some(
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(read(&files.ca)?))
            .identity(tonic::transport::Identity::from_pem(
                read(&files.cert)?,
                read(&files.key)?,
            )),
    ))
}

/// How long connecting to a node may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(AsciiMetadataValue);

impl Bearer {
    /// Checks that `token` can travel in a header.
    pub fn new(token: &str) -> Result<Self> {
        format!("Bearer {token}")
            .parse()
            .map(Self)
            .map_err(|_| CliError::Input(format!("token {token:?} is not printable ASCII")))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A client whose calls carry a bearer token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// An open connection to one node, plus the caller's token.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The endpoint, for messages.
    pub endpoint: String,
    channel: Channel,
    token: Bearer,
}

/// Largest answer the CLI accepts: a node keeps its pages below its own
/// `server.max_message_bytes`, which may be set above gRPC's usual 4 MiB.
const MAX_ANSWER_BYTES: usize = 256 << 20;

impl Connection {
    /// Connects to `endpoint` now, so an unreachable node is reported before any work.
    pub async fn open(endpoint: &str, token: &str) -> Result<Self> {
        let token = Bearer::new(token)?;
        let mut target = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| CliError::Input(format!("endpoint {endpoint:?} is not a URI: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(tls) = tls_config()? {
            target = target
                .tls_config(tls)
                .map_err(|e| CliError::Input(format!("bad TLS settings: {e}")))?;
        }
        let channel = target.connect().await.map_err(|e| CliError::Connect {
            endpoint: endpoint.to_owned(),
            cause: root_cause(&e),
        })?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            channel,
            token,
        })
    }

    /// A Publisher client with the connection's token.
    pub fn publisher(&self) -> PublisherClient<Authed> {
        PublisherClient::with_interceptor(self.channel.clone(), self.token.clone())
            .max_decoding_message_size(MAX_ANSWER_BYTES)
    }

    /// A Publisher client on the same connection with another token (for `demo`, which
    /// publishes each city's events as that city).
    pub fn publisher_as(&self, token: &str) -> Result<PublisherClient<Authed>> {
        Ok(
            PublisherClient::with_interceptor(self.channel.clone(), Bearer::new(token)?)
                .max_decoding_message_size(MAX_ANSWER_BYTES),
        )
    }

    /// A Query client.
    pub fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel.clone(), self.token.clone())
            .max_decoding_message_size(MAX_ANSWER_BYTES)
    }

    /// An Audit client.
    pub fn audit(&self) -> hub_proto::pb::audit_client::AuditClient<Authed> {
        hub_proto::pb::audit_client::AuditClient::with_interceptor(
            self.channel.clone(),
            self.token.clone(),
        )
        .max_decoding_message_size(MAX_ANSWER_BYTES)
    }

    /// A Streams client.
    pub fn streams(&self) -> StreamsClient<Authed> {
        StreamsClient::with_interceptor(self.channel.clone(), self.token.clone())
            .max_decoding_message_size(MAX_ANSWER_BYTES)
    }
}
