//! `talenthub.v1.Streams`: reading the log and following it live.
//!
//! A subscription is one loop reading the log by position: catch-up and live delivery are
//! the same reads, so there is no gap or duplicate at the switch. Each subscriber has a
//! bounded buffer; one slot is always kept free so that a subscriber whose buffer stays
//! full for `lag_timeout_ms` can be told, as the last message, where to resume.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hub_log::{Direction, StoredEvent};
use hub_proto::budget::fit;
use hub_proto::convert::{kind_of, record_to_event};
use hub_proto::pb;
use hub_proto::pb::streams_server::Streams;
use hub_types::error::AtField;
use hub_types::{EventKind, MemberId, Position, StreamId, ValidationError};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::auth::Action;
use crate::error::Refusal;
use crate::hub::Hub;
use crate::identity::Access;
use crate::status::{from_log, invalid};

/// Default and largest page of `ReadAll` / `ReadStream`.
const DEFAULT_READ: usize = 500;
const MAX_READ: usize = 5000;
/// Most events read from the log per step of a subscription; never more than its buffer
/// holds, so that a subscriber that does not read keeps at most twice its buffer in memory.
const SUBSCRIBE_BATCH: usize = 512;

/// The Streams service.
#[derive(Debug, Clone)]
pub struct StreamsService {
    hub: Arc<Hub>,
}

impl StreamsService {
    /// Serves log reads and subscriptions on `hub`.
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

fn read_limit(requested: u32) -> Result<usize, Status> {
    match requested as usize {
        0 => Ok(DEFAULT_READ),
        n if n > MAX_READ => Err(invalid(&ValidationError::new(
            "limit",
            format!("expected at most {MAX_READ}, got {n}"),
        ))),
        n => Ok(n),
    }
}

fn to_wire(events: Vec<StoredEvent>, access: Access) -> Vec<pb::Event> {
    events
        .iter()
        .map(|e| visible(record_to_event(&e.record, e.position), access))
        .collect()
}

/// Hides the personal fields of blacklist, white-list and award events from callers without access to them.
/// The event stays recognisable (kind, stream, positions, dates) for operating the node.
fn visible(mut event: pb::Event, access: Access) -> pb::Event {
    use pb::event_body::Kind;
    if access == Access::Full {
        return event;
    }
    const HIDDEN: &str = "<redacted>";
    match event.body.as_mut().and_then(|b| b.kind.as_mut()) {
        Some(Kind::BlacklistEntryAdded(a)) => {
            a.subject_ref = HIDDEN.into();
            a.subject_display = HIDDEN.into();
            a.decision_summary = HIDDEN.into();
            a.sealed = None;
            a.decision_ref = HIDDEN.into();
            a.measures.clear();
        }
        Some(Kind::BlacklistEntryErased(e)) => e.order_ref = HIDDEN.into(),
        Some(Kind::BlacklistEntrySuspended(s)) => s.appeal_ref = HIDDEN.into(),
        Some(Kind::BlacklistEntryReinstated(r)) => r.note = HIDDEN.into(),
        Some(Kind::BlacklistEntryRevoked(r)) => r.note = HIDDEN.into(),
        Some(Kind::WhitelistEntryAdded(a)) => {
            a.subject_ref = HIDDEN.into();
            a.subject_display = HIDDEN.into();
            a.sealed = None;
            a.basis_ref = HIDDEN.into();
        }
        Some(Kind::WhitelistEntryRenewed(r)) => r.basis_ref = HIDDEN.into(),
        Some(Kind::WhitelistEntryRemoved(r)) => r.reason = HIDDEN.into(),
        Some(Kind::WhitelistEntryErased(e)) => e.order_ref = HIDDEN.into(),
        Some(Kind::AwardGranted(g)) => {
            g.subject_ref = HIDDEN.into();
            g.subject_display = HIDDEN.into();
            g.sealed = None;
            g.project_title = HIDDEN.into();
            g.decision_ref = HIDDEN.into();
        }
        Some(Kind::AwardAmended(a)) => {
            a.project_title = HIDDEN.into();
            a.decision_ref = HIDDEN.into();
        }
        Some(Kind::AwardWithdrawn(w)) => w.reason = HIDDEN.into(),
        Some(Kind::AwardErased(e)) => e.order_ref = HIDDEN.into(),
        _ => {}
    }
    event
}

/// Which events a subscriber wants.
#[derive(Debug, Default)]
struct Filter {
    kinds: BTreeSet<EventKind>,
    origins: BTreeSet<String>,
    stream_prefix: String,
}

impl Filter {
    fn parse(f: Option<&pb::SubscribeFilter>) -> Result<Self, ValidationError> {
        let Some(f) = f else {
            return Ok(Self::default());
        };
        let mut kinds = BTreeSet::new();
        for (i, k) in f.kinds.iter().enumerate() {
            let kind = EventKind::parse(k).ok_or_else(|| {
                ValidationError::new(
                    format!("filter.kinds[{i}]"),
                    format!(
                        "unknown kind {}; expected e.g. demand_signal_published",
                        hub_types::Quoted(k)
                    ),
                )
            })?;
            kinds.insert(kind);
        }
        let mut origins = BTreeSet::new();
        for (i, o) in f.origins.iter().enumerate() {
            let m: MemberId = o.parse().at(&format!("filter.origins[{i}]"))?;
            origins.insert(m.to_string());
        }
        if f.stream_prefix.len() > 200 {
            return Err(ValidationError::new(
                "filter.stream_prefix",
                "expected at most 200 characters",
            ));
        }
        Ok(Self {
            kinds,
            origins,
            stream_prefix: f.stream_prefix.clone(),
        })
    }

    fn matches(&self, event: &pb::Event) -> bool {
        (self.origins.is_empty() || self.origins.contains(&event.origin))
            && event.stream.starts_with(&self.stream_prefix)
            && (self.kinds.is_empty() || self.kinds.contains(&kind_of(event.body.as_ref())))
    }
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Streams for StreamsService {
    async fn read_all(
        &self,
        request: Request<pb::ReadAllRequest>,
    ) -> Result<Response<pb::ReadAllResponse>, Status> {
        let (caller, access) = self.hub.auth().authorize(&request, Action::ReadLog)?;
        let _permit = self.hub.admit(caller.member)?;
        let req = request.get_ref();
        let limit = read_limit(req.limit)?;
        let head = self.hub.log().head();
        let events = self
            .hub
            .log()
            .read_all(Position::at_least_first(req.from_position), limit)
            .map_err(from_log)?;
        let mut events = to_wire(events, access);
        fit(&mut events, self.hub.view().config().page_bytes);
        let next = events
            .last()
            .map(|e| e.position + 1)
            .filter(|n| *n <= head)
            .unwrap_or(0);
        Ok(Response::new(pb::ReadAllResponse {
            events,
            next_position: next,
            head_position: head,
        }))
    }

    async fn read_stream(
        &self,
        request: Request<pb::ReadStreamRequest>,
    ) -> Result<Response<pb::ReadStreamResponse>, Status> {
        let (caller, access) = self.hub.auth().authorize(&request, Action::ReadLog)?;
        let _permit = self.hub.admit(caller.member)?;
        let req = request.get_ref();
        let stream: StreamId = req
            .stream
            .parse()
            .map_err(|e: ValidationError| invalid(&e.at("stream")))?;
        let limit = read_limit(req.limit)?;
        let direction = match pb::Direction::try_from(req.direction) {
            Ok(pb::Direction::Forwards) => Direction::Forwards,
            Ok(pb::Direction::Backwards) => Direction::Backwards,
            Err(_) => {
                return Err(invalid(&ValidationError::new(
                    "direction",
                    format!("unknown value {}", req.direction),
                )))
            }
        };
        let version = self.hub.log().stream_version(&stream).map_err(from_log)?;
        let events = self
            .hub
            .log()
            .read_stream(&stream, req.from_version, direction, limit)
            .map_err(from_log)?;
        let mut events = to_wire(events, access);
        fit(&mut events, self.hub.view().config().page_bytes);
        let next = match (direction, events.last()) {
            (_, None) => 0,
            (Direction::Forwards, Some(e)) if e.stream_version < version => e.stream_version + 1,
            (Direction::Backwards, Some(e)) if e.stream_version > 1 => e.stream_version - 1,
            _ => 0,
        };
        Ok(Response::new(pb::ReadStreamResponse {
            events,
            next_version: next,
            stream_version: version,
        }))
    }

    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let (_, access) = self.hub.auth().authorize(&request, Action::ReadLog)?;
        let req = request.into_inner();
        let filter = Filter::parse(req.filter.as_ref()).map_err(|e| invalid(&e))?;
        let head = self.hub.log().head();
        if req.after_position > head {
            return Err(invalid(&ValidationError::new(
                "after_position",
                format!("{} is beyond the head {head}", req.after_position),
            )));
        }
        let permit = self.hub.admit_subscriber()?;
        let after = if req.from_head {
            head
        } else {
            req.after_position
        };
        let (tx, rx) = mpsc::channel(self.hub.config().subscribe.buffer + 1);
        let hub = self.hub.clone();
        self.hub.tasks().spawn(
            Subscription {
                hub,
                tx,
                filter,
                after,
                access,
            }
            .run(),
        );
        Ok(Response::new(Box::pin(Admitted {
            items: tokio_stream::wrappers::ReceiverStream::new(rx),
            _permit: permit,
        })))
    }
}

/// A subscription's answer stream, holding its place among `server.max_subscribers` until
/// the stream ends at the client: a subscriber cut off for lagging keeps its buffer (and the
/// final status) until it reads them or goes away, so it still counts, and the subscribers'
/// memory stays bounded by the limit.
struct Admitted {
    items: tokio_stream::wrappers::ReceiverStream<Result<pb::SubscribeResponse, Status>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Stream for Admitted {
    type Item = Result<pb::SubscribeResponse, Status>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        Pin::new(&mut self.items).poll_next(cx)
    }
}

/// Why a subscription loop stopped.
enum Stop {
    /// The client went away.
    Gone,
    /// The subscriber was cut off or the node failed; a status was sent.
    Ended,
}

struct Subscription {
    hub: Arc<Hub>,
    tx: mpsc::Sender<Result<pb::SubscribeResponse, Status>>,
    filter: Filter,
    /// Last position delivered or skipped.
    after: u64,
    /// What the subscriber may see.
    access: Access,
}

impl Subscription {
    async fn run(mut self) {
        let heartbeat = Duration::from_millis(self.hub.config().subscribe.heartbeat_ms);
        let mut head = self.hub.log().watch();
        let mut stopping = self.hub.stopping();
        let mut live = false;
        let batch = SUBSCRIBE_BATCH.min(self.hub.config().subscribe.buffer.max(1));
        loop {
            if *stopping.borrow() {
                self.stop_for_shutdown();
                return;
            }
            let events = match self.hub.log().read_all(Position::after(self.after), batch) {
                Ok(events) => events,
                Err(e) => {
                    let _ = self.tx.try_send(Err(from_log(e)));
                    return;
                }
            };
            if events.is_empty() {
                if !live {
                    live = true;
                    if self.send(caught_up(self.after, true)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    changed = head.changed() => {
                        if changed.is_err() {
                            let _ = self.tx.try_send(Err(Refusal::ShuttingDown { resume_after: None }.into()));
                            return;
                        }
                    }
                    () = tokio::time::sleep(heartbeat) => {
                        let head = self.hub.log().head();
                        if self.send(caught_up(head, false)).await.is_err() {
                            return;
                        }
                    }
                    () = self.tx.closed() => return,
                    _ = stopping.changed() => {
                        self.stop_for_shutdown();
                        return;
                    }
                }
                continue;
            }
            for e in events {
                let position = e.position.get();
                let event = record_to_event(&e.record, e.position);
                if self.filter.matches(&event) {
                    let event = visible(event, self.access);
                    let item = pb::SubscribeResponse {
                        item: Some(pb::subscribe_response::Item::Event(event)),
                    };
                    if self.send(item).await.is_err() {
                        return;
                    }
                }
                self.after = position;
            }
        }
    }

    fn stop_for_shutdown(&self) {
        self.hub.metrics().subscriber_cut_off("shutdown");
        let _ = self.tx.try_send(Err(Refusal::ShuttingDown {
            resume_after: Some(self.after),
        }
        .into()));
    }

    /// Sends one item, keeping a slot free for the final status; cuts the subscriber off
    /// if its buffer stays full for the lag timeout.
    async fn send(&self, item: pb::SubscribeResponse) -> Result<(), Stop> {
        let lag = Duration::from_millis(self.hub.config().subscribe.lag_timeout_ms);
        match tokio::time::timeout(lag, self.tx.reserve_many(2)).await {
            Ok(Ok(mut permits)) => {
                if let Some(permit) = permits.next() {
                    permit.send(Ok(item));
                }
                Ok(())
            }
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => {
                let status = Refusal::FellBehind { after: self.after }.into();
                tracing::info!(after = self.after, "subscriber fell behind and was cut off");
                self.hub.metrics().subscriber_cut_off("lagging");
                let _ = self.tx.try_send(Err(status));
                Err(Stop::Ended)
            }
        }
    }
}

fn caught_up(head: u64, first: bool) -> pb::SubscribeResponse {
    let beat = pb::Heartbeat {
        head_position: head,
    };
    pb::SubscribeResponse {
        item: Some(if first {
            pb::subscribe_response::Item::CaughtUp(beat)
        } else {
            pb::subscribe_response::Item::Heartbeat(beat)
        }),
    }
}
