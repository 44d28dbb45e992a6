//! `talenthub.v1.Publisher`: appends for the node's own city.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hub_log::vault::{self, KeyState};
use hub_proto::convert::append_request_from_proto;
use hub_proto::pb;
use hub_proto::pb::publisher_server::Publisher;
use hub_types::error::AtField;
use hub_types::event::Personal;
use hub_types::roster::Roster;
use hub_types::values::Issuer;
use hub_types::{Body, NewEvent, StreamId, ValidationError};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Action;
use crate::error::Refusal;
use crate::hub::Hub;
use crate::identity::Caller;
use crate::metrics::observe_append;
use crate::status::{from_log, from_vault, in_batch, invalid};

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
    let max = hub.config().server.max_events_per_append;
    if req.events.len() > max {
        return Err(invalid(&ValidationError::new(
            "events",
            format!(
                "expected at most {max} events per append, got {}",
                req.events.len()
            ),
        )));
    }
    let req = subjects_from_national_ids(hub, req)?;
    let (stream, expected, mut events) =
        append_request_from_proto(&req).map_err(|e| invalid(&e))?;
    hub.auth().check(caller, Action::Append(&stream))?;
    check_issuers(&hub.view().config().roster, &stream, &events).map_err(|e| invalid(&e))?;
    check_references(hub, &stream, &events).await?;
    seal_personal(hub, &stream, &mut events)?;
    let count = events.len();
    let appended = hub
        .log()
        .append(&stream, expected, events)
        .await
        .map_err(from_log)?;
    tracing::debug!(%stream, count, first = %appended.first, duplicate = appended.duplicate, "appended");
    Ok(pb::AppendResponse {
        first_position: appended.first.get(),
        last_position: appended.last.get(),
        stream_version: appended.stream_version,
        duplicate: appended.duplicate,
    })
}

/// Refuses recognition rules whose issuer is not an alliance member, or is the recognizing
/// city itself (a city does not "recognise" its own credentials).
fn check_issuers(
    roster: &Roster,
    stream: &StreamId,
    events: &[NewEvent],
) -> Result<(), ValidationError> {
    for (i, event) in events.iter().enumerate() {
        let Body::CredentialRecognized(rule) = &event.body else {
            continue;
        };
        let Issuer::Member(issuer) = rule.issuer else {
            continue;
        };
        let at = || format!("events[{i}].body.credential_recognized.issuer");
        roster.require(issuer).map_err(|e| e.at(at()))?;
        if issuer == stream.owner() {
            return Err(ValidationError::new(
                at(),
                format!(
                    "{issuer} is the recognizing city itself: a rule recognises other members' \
                     credentials (or `*`)"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a batch that withdraws, revises, closes, suspends, reinstates, revokes or erases
/// a rule, signal or entry that does not exist (and that the batch does not create), naming
/// it. Only the publishing path checks this: events of other cities arriving by
/// replication are stored whatever they name, and the fold ignores what makes no sense.
async fn check_references(hub: &Hub, stream: &StreamId, events: &[NewEvent]) -> Result<(), Status> {
    let refers = events
        .iter()
        .any(|e| e.body.kind().creates_entity() == Some(false));
    if !refers {
        return Ok(());
    }
    let head = hub.log().head();
    let timeout = Duration::from_millis(hub.config().server.request_timeout_ms);
    if !hub.view().wait_for(head, timeout).await {
        return Err(Refusal::ViewBehind(head).into());
    }
    let Some(unknown) = hub
        .view()
        .unknown_reference(stream.owner(), events.iter().map(|e| &e.body))
    else {
        return Ok(());
    };
    Err(Refusal::UnknownReference {
        unknown,
        owner: stream.owner(),
        stream_version: hub.log().stream_version(stream).map_err(from_log)?,
    }
    .into())
}

/// Turns the `national_id` of new white-list entries and awards into their `subject_ref`
/// with the alliance key. The number goes no further than this function: it is never
/// stored, logged or echoed, and an error names only the field.
fn subjects_from_national_ids<'a>(
    hub: &Hub,
    req: &'a pb::AppendRequest,
) -> Result<Cow<'a, pb::AppendRequest>, Status> {
    use pb::event_body::Kind;
    let named = |e: &pb::Event| match e.body.as_ref().and_then(|b| b.kind.as_ref()) {
        Some(Kind::WhitelistEntryAdded(a)) => !a.national_id.is_empty(),
        Some(Kind::AwardGranted(g)) => !g.national_id.is_empty(),
        _ => false,
    };
    if !req.events.iter().any(named) {
        return Ok(Cow::Borrowed(req));
    }
    let mut req = req.clone();
    for (i, event) in req.events.iter_mut().enumerate() {
        let (kind, subject_ref, national_id) =
            match event.body.as_mut().and_then(|b| b.kind.as_mut()) {
                Some(Kind::WhitelistEntryAdded(a)) => (
                    "whitelist_entry_added",
                    &mut a.subject_ref,
                    &mut a.national_id,
                ),
                Some(Kind::AwardGranted(g)) => {
                    ("award_granted", &mut g.subject_ref, &mut g.national_id)
                }
                _ => continue,
            };
        hub.alliance_key()
            .replace_national_id(subject_ref, national_id)
            .at(&format!("events[{i}].body.{kind}"))
            .map_err(|e| invalid(&e))?;
    }
    Ok(Cow::Owned(req))
}

/// Seals the personal fields of a blacklist, white-list entry or award under the entity's
/// key before they are stored, and refuses new events for an entity whose personal data is
/// erased (a retry of stored ones goes on to the log, which answers it as a duplicate).
fn seal_personal(hub: &Hub, stream: &StreamId, events: &mut [NewEvent]) -> Result<(), Status> {
    if !stream.family().is_personal() {
        return Ok(());
    }
    let keys = hub.vault();
    if matches!(keys.get(stream), KeyState::Destroyed) {
        let mut retry = true;
        for e in events.iter() {
            retry &= hub
                .log()
                .position_of(&e.event_id)
                .map_err(from_log)?
                .is_some();
        }
        if !retry {
            return Err(Refusal::Erased(stream.clone()).into());
        }
    }
    for (i, event) in events.iter_mut().enumerate() {
        let kind = event.body.kind();
        let personal = match &mut event.body {
            Body::BlacklistEntryAdded(a) => &mut a.personal,
            Body::WhitelistEntryAdded(a) => &mut a.personal,
            Body::AwardGranted(g) => &mut g.personal,
            _ => continue,
        };
        let fields = match personal {
            Personal::Plain(fields) => fields,
            Personal::Sealed(_) => {
                return Err(invalid(&ValidationError::new(
                    format!("events[{i}].body.{}.sealed", kind.as_str()),
                    "is set by the hub; send the personal fields in the clear",
                )))
            }
        };
        let key = keys.get_or_create(stream).map_err(from_vault)?;
        *personal = Personal::Sealed(vault::seal(&key, stream, fields));
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
        let caller = self.hub.auth().authenticate(&request)?;
        let _permit = self.hub.admit(caller.member)?;
        let req = request.get_ref();
        observe_append(self.hub.metrics(), req, append_one(&self.hub, caller, req))
            .await
            .map(Response::new)
    }

    type AppendStreamStream = AppendStream;

    async fn append_stream(
        &self,
        request: Request<Streaming<pb::AppendRequest>>,
    ) -> Result<Response<Self::AppendStreamStream>, Status> {
        let caller = self.hub.auth().authenticate(&request)?;
        let open = self
            .hub
            .admit_append_stream(caller.member)
            .map_err(Status::from)?;
        let hub = self.hub.clone();
        let mut incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        self.hub.tasks().spawn(async move {
            // The stream's place is held until its task ends.
            let _open = open;
            let mut batch = 0;
            while let Some(item) = incoming.next().await {
                let result = match item {
                    Ok(req) => match hub.admit(caller.member) {
                        Ok(_permit) => {
                            observe_append(hub.metrics(), &req, append_one(&hub, caller, &req))
                                .await
                        }
                        Err(refusal) => Err(refusal.into()),
                    },
                    Err(status) => Err(crate::status::from_transport(status)),
                };
                let result = result.map_err(|s| in_batch(batch, s));
                batch += 1;
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
