//! `talenthub.v1.Publisher`: appends for the node's own city.

use std::pin::Pin;
use std::sync::Arc;

use hub_log::vault::{self, KeyState};
use hub_proto::convert::append_request_from_proto;
use hub_proto::pb;
use hub_proto::pb::publisher_server::Publisher;
use hub_types::event::Personal;
use hub_types::{Body, Family, NewEvent, StreamId, ValidationError};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::admin::metrics::observe_append;
use crate::auth::{Action, Caller};
use crate::hub::Hub;
use crate::status::{from_log, from_vault, invalid};

/// The Publisher service.
#[derive(Debug, Clone)]
pub struct PublisherService {
    hub: Arc<Hub>,
}

impl PublisherService {
    /// Serves appends on `hub`.
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

/// Validates and appends one request for an authenticated caller.
async fn append_one(
    hub: &Hub,
    caller: Caller,
    req: &pb::AppendRequest,
) -> Result<pb::AppendResponse, Status> {
    let max = hub.config.server.max_events_per_append;
    if req.events.len() > max {
        return Err(invalid(&ValidationError::new(
            "events",
            format!(
                "expected at most {max} events per append, got {}",
                req.events.len()
            ),
        )));
    }
    let (stream, expected, mut events) = append_request_from_proto(req).map_err(|e| invalid(&e))?;
    hub.auth.check(caller, Action::Append(&stream))?;
    seal_personal(hub, &stream, &mut events)?;
    let count = events.len();
    let appended = hub
        .log
        .append(&stream, expected, events)
        .await
        .map_err(from_log)?;
    tracing::debug!(%stream, count, first = appended.first, duplicate = appended.duplicate, "appended");
    Ok(pb::AppendResponse {
        first_position: appended.first,
        last_position: appended.last,
        stream_version: appended.stream_version,
        duplicate: appended.duplicate,
    })
}

/// Seals the personal fields of a blacklist entry under the entry's key before they are
/// stored, and refuses new events for an entry whose personal data is erased (a retry of
/// stored ones goes on to the log, which answers it as a duplicate).
fn seal_personal(hub: &Hub, stream: &StreamId, events: &mut [NewEvent]) -> Result<(), Status> {
    if stream.family() != Family::Blacklist {
        return Ok(());
    }
    let Some(keys) = hub.view.vault() else {
        return Ok(());
    };
    if matches!(keys.get(stream), KeyState::Destroyed) {
        let mut retry = true;
        for e in events.iter() {
            retry &= hub
                .log
                .position_of(&e.event_id)
                .map_err(from_log)?
                .is_some();
        }
        if !retry {
            return Err(Status::failed_precondition(format!(
                "the personal data of {stream} is erased: the entry takes no more events"
            )));
        }
    }
    for (i, event) in events.iter_mut().enumerate() {
        let Body::BlacklistEntryAdded(added) = &mut event.body else {
            continue;
        };
        let fields = match &added.personal {
            Personal::Plain(fields) => fields,
            Personal::Sealed(_) => {
                return Err(invalid(&ValidationError::new(
                    format!("events[{i}].body.blacklist_entry_added.sealed"),
                    "is set by the hub; send subject_display and decision_summary in the clear",
                )))
            }
        };
        let key = keys.get_or_create(stream).map_err(from_vault)?;
        added.personal = Personal::Sealed(vault::seal(&key, stream, fields));
    }
    Ok(())
}

type AppendStream = Pin<Box<dyn Stream<Item = Result<pb::AppendResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Publisher for PublisherService {
    async fn append(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, Status> {
        let caller = self.hub.auth.authenticate(&request)?;
        let _permit = self.hub.admit(caller.member)?;
        let req = request.get_ref();
        observe_append(&self.hub, req, append_one(&self.hub, caller, req))
            .await
            .map(Response::new)
    }

    type AppendStreamStream = AppendStream;

    async fn append_stream(
        &self,
        request: Request<Streaming<pb::AppendRequest>>,
    ) -> Result<Response<Self::AppendStreamStream>, Status> {
        let caller = self.hub.auth.authenticate(&request)?;
        let hub = self.hub.clone();
        let mut incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(item) = incoming.next().await {
                let result = match item {
                    Ok(req) => match hub.admit(caller.member) {
                        Ok(_permit) => {
                            observe_append(&hub, &req, append_one(&hub, caller, &req)).await
                        }
                        Err(status) => Err(status),
                    },
                    Err(status) => Err(status),
                };
                let failed = result.is_err();
                if tx.send(result).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
