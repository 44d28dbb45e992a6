//! `talenthub.v1.Streams`: reading the log and following it live.
//!
//! A subscription is one loop reading the log by position: catch-up and live delivery are
//! the same reads, so there is no gap or duplicate at the switch. Each subscriber has a
//! bounded buffer; one slot is always kept free so that a subscriber whose buffer stays
//! full for `lag_timeout_ms` can be told, as the last message, where to resume.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use hub_log::{Direction, StoredEvent};
use hub_proto::budget::fit;
use hub_proto::convert::{kind_of, record_to_event};
use hub_proto::pb;
use hub_proto::pb::streams_server::{Streams, StreamsServer};
use hub_types::error::AtField;
use hub_types::{EventKind, MemberId, Position, StreamId, ValidationError};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::{Request, Response, Status};
use tonic_prost::ProstDecoder;

use crate::auth::Action;
use crate::error::Refusal;
use crate::fanout::{Fanout, Listening, Since};
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
    /// Recent events, read and encoded once for every live subscriber.
    fanout: Arc<Fanout>,
}

impl StreamsService {
    /// Serves log reads and subscriptions on `hub`, and starts the task that fills the
    /// shared ring of recent events (it ends when the log closes or the node stops).
    pub fn new(hub: Arc<Hub>) -> Self {
        let fanout = Fanout::new();
        hub.tasks().spawn(fanout.clone().follow(hub.clone()));
        Self { hub, fanout }
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
pub(crate) fn visible(mut event: pb::Event, access: Access) -> pb::Event {
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

    fn matches(&self, origin: &str, stream: &str, kind: EventKind) -> bool {
        (self.origins.is_empty() || self.origins.contains(origin))
            && stream.starts_with(&self.stream_prefix)
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
    }
}

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

    type SubscribeStream =
        Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

    /// The same subscription as the node serves (see [`StreamsRouter`]), with each shared
    /// event decoded back into a message: for a `StreamsServer` mounted on its own.
    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let items = self.open_subscription(request)?;
        Ok(Response::new(Box::pin(tokio_stream::StreamExt::map(
            items,
            |item| item.and_then(Outgoing::into_message),
        ))))
    }
}

impl StreamsService {
    /// Checks a subscription request and starts its loop; the items it sends.
    fn open_subscription(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Admitted, Status> {
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
        self.hub.tasks().spawn(
            Subscription {
                hub: self.hub.clone(),
                _listening: self.fanout.listen(),
                fanout: Some(self.fanout.clone()),
                tx,
                filter,
                after,
                access,
            }
            .run(),
        );
        Ok(Admitted {
            items: tokio_stream::wrappers::ReceiverStream::new(rx),
            _permit: permit,
        })
    }
}

/// What a subscription sends: a shared event encoded once for every subscriber, or a
/// message of its own (an event it read from the log itself, a heartbeat).
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded `SubscribeResponse`.
    Encoded(Bytes),
    /// A message to encode.
    Message(Box<pb::SubscribeResponse>),
}

impl Outgoing {
    fn into_message(self) -> Result<pb::SubscribeResponse, Status> {
        match self {
            Self::Message(m) => Ok(*m),
            Self::Encoded(bytes) => pb::SubscribeResponse::decode(bytes)
                .map_err(|e| Status::internal(format!("cannot decode a shared event: {e}"))),
        }
    }
}

/// The codec of `Subscribe` as the node serves it: requests decoded as usual, shared
/// events written as the bytes they were encoded to once.
#[derive(Debug, Clone, Copy, Default)]
struct SubscribeCodec;

impl Codec for SubscribeCodec {
    type Encode = Outgoing;
    type Decode = pb::SubscribeRequest;
    type Encoder = OutgoingEncoder;
    type Decoder = ProstDecoder<pb::SubscribeRequest>;

    fn encoder(&mut self) -> Self::Encoder {
        OutgoingEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::default()
    }
}

#[derive(Debug, Clone, Copy)]
struct OutgoingEncoder;

impl Encoder for OutgoingEncoder {
    type Item = Outgoing;
    type Error = Status;

    fn encode(&mut self, item: Outgoing, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        match item {
            Outgoing::Encoded(bytes) => dst.put_slice(&bytes),
            Outgoing::Message(m) => m
                .encode(dst)
                .map_err(|e| Status::internal(format!("cannot encode a message: {e}")))?,
        }
        Ok(())
    }
}

/// `talenthub.v1.Streams` as the node serves it: `Subscribe` with [`SubscribeCodec`], so
/// that live subscribers share one encoding of each event; every other method as
/// generated.
#[derive(Debug, Clone)]
pub struct StreamsRouter {
    service: StreamsService,
    generated: StreamsServer<StreamsService>,
    max_message_bytes: usize,
}

impl StreamsRouter {
    /// Serves `hub`'s log, with messages of at most `max_message_bytes` either way. Starts
    /// the task that fills the shared ring of recent events.
    pub fn new(hub: Arc<Hub>, max_message_bytes: usize) -> Self {
        let service = StreamsService::new(hub);
        let generated = StreamsServer::new(service.clone())
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes);
        Self {
            service,
            generated,
            max_message_bytes,
        }
    }
}

impl tonic::server::NamedService for StreamsRouter {
    const NAME: &'static str = <StreamsServer<StreamsService> as tonic::server::NamedService>::NAME;
}

const SUBSCRIBE_PATH: &str = "/talenthub.v1.Streams/Subscribe";

impl<B> tower::Service<http::Request<B>> for StreamsRouter
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != SUBSCRIBE_PATH {
            return self.generated.call(req);
        }
        let method = SubscribeMethod(self.service.clone());
        let max = self.max_message_bytes;
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(SubscribeCodec)
                .apply_max_message_size_config(Some(max), Some(max));
            Ok(grpc.server_streaming(method, req).await)
        })
    }
}

struct SubscribeMethod(StreamsService);

impl tonic::server::ServerStreamingService<pb::SubscribeRequest> for SubscribeMethod {
    type Response = Outgoing;
    type ResponseStream = Admitted;
    type Future = std::future::Ready<Result<Response<Admitted>, Status>>;

    fn call(&mut self, request: Request<pb::SubscribeRequest>) -> Self::Future {
        std::future::ready(self.0.open_subscription(request).map(Response::new))
    }
}

/// A subscription's answer stream, holding its place among `server.max_subscribers` until
/// the stream ends at the client: a subscriber cut off for lagging keeps its buffer (and the
/// final status) until it reads them or goes away, so it still counts, and the subscribers'
/// memory stays bounded by the limit.
#[derive(Debug)]
pub struct Admitted {
    items: tokio_stream::wrappers::ReceiverStream<Result<Outgoing, Status>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Stream for Admitted {
    type Item = Result<Outgoing, Status>;

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
    /// Keeps the shared ring filled while this subscription is open.
    _listening: Listening,
    /// The shared ring of recent events, until its follower stops.
    fanout: Option<Arc<Fanout>>,
    tx: mpsc::Sender<Result<Outgoing, Status>>,
    filter: Filter,
    /// Last position delivered or skipped.
    after: u64,
    /// What the subscriber may see.
    access: Access,
}

/// What a subscription does next.
enum Step {
    /// Events were sent (or skipped): look again.
    Sent,
    /// Nothing to send now; `caught_up` when the subscriber has every event of the log.
    Wait { caught_up: bool },
}

impl Subscription {
    async fn run(mut self) {
        let heartbeat = Duration::from_millis(self.hub.config().subscribe.heartbeat_ms);
        let mut head = self.hub.log().watch();
        let mut shared = self.fanout.as_ref().map(|f| f.watch());
        let mut stopping = self.hub.stopping();
        let mut live = false;
        let batch = SUBSCRIBE_BATCH.min(self.hub.config().subscribe.buffer.max(1));
        loop {
            if *stopping.borrow() {
                self.stop_for_shutdown();
                return;
            }
            if self.fanout.as_ref().is_some_and(|f| f.stopped()) {
                self.fanout = None;
                shared = None;
            }
            if let Some(rx) = &mut shared {
                rx.borrow_and_update();
            }
            let step = match self.next_from_ring(batch).await {
                Ok(Some(step)) => Ok(step),
                Ok(None) => self.next_from_log(batch).await,
                Err(stop) => Err(stop),
            };
            let caught_up = match step {
                Ok(Step::Sent) => continue,
                Ok(Step::Wait { caught_up }) => caught_up,
                Err(_) => return,
            };
            if caught_up && !live {
                live = true;
                if self
                    .send(Outgoing::Message(Box::new(caught_up_item(
                        self.after, true,
                    ))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let woken = async {
                match &mut shared {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => head.changed().await.is_ok(),
                }
            };
            tokio::select! {
                ok = woken => {
                    if !ok {
                        let _ = self.tx.try_send(Err(Refusal::ShuttingDown { resume_after: None }.into()));
                        return;
                    }
                }
                () = tokio::time::sleep(heartbeat) => {
                    let head = self.hub.log().head();
                    if self.send(Outgoing::Message(Box::new(caught_up_item(head, false)))).await.is_err() {
                        return;
                    }
                }
                () = self.tx.closed() => return,
                _ = stopping.changed() => {
                    self.stop_for_shutdown();
                    return;
                }
            }
        }
    }

    /// Sends the next events from the shared ring; `None` when the ring no longer holds
    /// them and the log must be read.
    async fn next_from_ring(&mut self, batch: usize) -> Result<Option<Step>, Stop> {
        let Some(fanout) = &self.fanout else {
            return Ok(None);
        };
        match fanout.since(self.after, batch) {
            Since::Behind => Ok(None),
            Since::Nothing => Ok(Some(Step::Wait {
                caught_up: self.after >= self.hub.log().head(),
            })),
            Since::Events(events) => {
                for e in events {
                    if self.filter.matches(&e.origin, &e.stream, e.kind) {
                        self.send(Outgoing::Encoded(e.bytes(self.access))).await?;
                    }
                    self.after = e.position;
                }
                Ok(Some(Step::Sent))
            }
        }
    }

    /// Reads the next events from the log and sends them, each converted for this
    /// subscriber alone.
    async fn next_from_log(&mut self, batch: usize) -> Result<Step, Stop> {
        let events = match self.hub.log().read_all(Position::after(self.after), batch) {
            Ok(events) => events,
            Err(e) => {
                let _ = self.tx.try_send(Err(from_log(e)));
                return Err(Stop::Ended);
            }
        };
        if events.is_empty() {
            return Ok(Step::Wait { caught_up: true });
        }
        for e in events {
            let position = e.position.get();
            let event = record_to_event(&e.record, e.position);
            let kind = kind_of(event.body.as_ref());
            if self.filter.matches(&event.origin, &event.stream, kind) {
                let item = pb::SubscribeResponse {
                    item: Some(pb::subscribe_response::Item::Event(visible(
                        event,
                        self.access,
                    ))),
                };
                self.send(Outgoing::Message(Box::new(item))).await?;
            }
            self.after = position;
        }
        Ok(Step::Sent)
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
    async fn send(&self, item: Outgoing) -> Result<(), Stop> {
        // Most sends find room at once: no timer is set for them.
        match self.tx.try_reserve_many(2) {
            Ok(mut permits) => {
                if let Some(permit) = permits.next() {
                    permit.send(Ok(item));
                }
                return Ok(());
            }
            Err(mpsc::error::TrySendError::Closed(())) => return Err(Stop::Gone),
            Err(mpsc::error::TrySendError::Full(())) => {}
        }
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

fn caught_up_item(head: u64, first: bool) -> pb::SubscribeResponse {
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
