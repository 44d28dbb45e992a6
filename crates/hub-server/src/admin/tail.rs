//! `/api/tail`: the log as server-sent events, catch-up from a position and then live.
//!
//! Query: `after` (a position; absent = the head, so only new events), `kind` and `origin`
//! (comma-separated; empty = all). A reconnecting `EventSource` sends `Last-Event-ID`,
//! the position of the last event it got, and resumes after it. Events carry metadata only
//! (position, origin, kind, stream, record time): no bodies, so no personal data; blacklist
//! streams are shown without their entry id.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hub_proto::convert::event_from_record;
use hub_types::{EventKind, Position};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::AdminState;
use crate::hub::Hub;

/// Events read from the log per batch.
const BATCH: usize = 512;

/// The tail's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TailParams {
    after: Option<u64>,
    kind: String,
    origin: String,
}

struct Filter {
    kinds: BTreeSet<EventKind>,
    origins: BTreeSet<String>,
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl Filter {
    fn parse(p: &TailParams) -> Result<Self, String> {
        let kinds = split(&p.kind)
            .map(|k| EventKind::parse(k).ok_or_else(|| format!("kind: unknown event kind {k:?}")))
            .collect::<Result<_, _>>()?;
        let origins = split(&p.origin)
            .map(|o| {
                o.parse::<hub_types::MemberId>()
                    .map(|m| m.to_string())
                    .map_err(|e| format!("origin: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { kinds, origins })
    }
}

/// Serves the tail.
pub async fn tail(
    State(state): State<AdminState>,
    Query(p): Query<TailParams>,
    headers: HeaderMap,
) -> Response {
    let Some(hub) = state.hub().cloned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the node is opening its log\n",
        )
            .into_response();
    };
    let filter = match Filter::parse(&p) {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let Ok(place) = state.tail_places(&hub).try_acquire_owned() else {
        let max = hub.config().admin.max_tails;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!("{max} tails are open (admin.max_tails): close one and retry\n"),
        )
            .into_response();
    };
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let head = hub.log().head();
    let after = resumed.or(p.after).unwrap_or(head).min(head);
    let (tx, rx) = mpsc::channel(256);
    hub.tasks().clone().spawn(async move {
        // The tail's place is held until it stops following.
        let _place = place;
        follow(hub, filter, after, tx).await;
    });
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}

type Tx = mpsc::Sender<Result<Event, Infallible>>;

async fn follow(hub: std::sync::Arc<Hub>, filter: Filter, mut after: u64, tx: Tx) {
    let mut head = hub.log().watch();
    let mut stopping = hub.stopping();
    let mut live = false;
    loop {
        if *stopping.borrow() {
            return;
        }
        let events = match hub.log().read_all(Position::after(after), BATCH) {
            Ok(events) => events,
            Err(e) => {
                let error = Event::default().event("error").data(e.to_string());
                send(&tx, error, &mut stopping).await;
                return;
            }
        };
        if events.is_empty() {
            if !live {
                live = true;
                let caught_up = Event::default()
                    .event("caught_up")
                    .data(json!({ "head": after }).to_string());
                if !send(&tx, caught_up, &mut stopping).await {
                    return;
                }
            }
            tokio::select! {
                changed = head.changed() => if changed.is_err() { return },
                _ = stopping.changed() => return,
                () = tx.closed() => return,
            }
            continue;
        }
        for stored in events {
            after = stored.position.get();
            let Ok(e) = event_from_record(&stored.record, stored.position) else {
                continue;
            };
            let kind = e.body.kind();
            if (!filter.kinds.is_empty() && !filter.kinds.contains(&kind))
                || (!filter.origins.is_empty() && !filter.origins.contains(&e.origin.to_string()))
            {
                continue;
            }
            let stream = if e.stream.family().is_personal() {
                format!("{}/{}/…", e.stream.family(), e.origin)
            } else {
                e.stream.to_string()
            };
            let data = json!({
                "position": after,
                "origin": e.origin.to_string(),
                "origin_seq": e.origin_seq.get(),
                "kind": kind.as_str(),
                "stream": stream,
                "stream_version": e.stream_version,
                "recorded_at": e.recorded_at.to_string(),
            });
            let event = Event::default()
                .event("event")
                .id(after.to_string())
                .data(data.to_string());
            if !send(&tx, event, &mut stopping).await {
                return;
            }
        }
    }
}

/// Sends `event` to the browser, waiting while it does not read, unless the node stops
/// meanwhile. Returns whether it was sent.
async fn send(tx: &Tx, event: Event, stopping: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        sent = tx.send(Ok(event)) => sent.is_ok(),
        _ = stopping.wait_for(|stop| *stop) => false,
    }
}
