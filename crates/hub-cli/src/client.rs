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

impl Connection {
    /// Connects to `endpoint` now, so an unreachable node is reported before any work.
    pub async fn open(endpoint: &str, token: &str) -> Result<Self> {
        let token = Bearer::new(token)?;
        let target = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| CliError::Input(format!("endpoint {endpoint:?} is not a URI: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT);
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
    }

    /// A Publisher client on the same connection with another token (for `demo`, which
    /// publishes each city's events as that city).
    pub fn publisher_as(&self, token: &str) -> Result<PublisherClient<Authed>> {
        Ok(PublisherClient::with_interceptor(
            self.channel.clone(),
            Bearer::new(token)?,
        ))
    }

    /// A Query client.
    pub fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel.clone(), self.token.clone())
    }

    /// An Audit client.
    pub fn audit(&self) -> hub_proto::pb::audit_client::AuditClient<Authed> {
        hub_proto::pb::audit_client::AuditClient::with_interceptor(
            self.channel.clone(),
            self.token.clone(),
        )
    }

    /// A Streams client.
    pub fn streams(&self) -> StreamsClient<Authed> {
        StreamsClient::with_interceptor(self.channel.clone(), self.token.clone())
    }
}
