//! `/livez`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use std::time::{Duration, SystemTime};

use super::AdminState;
use crate::hub::Hub;
use crate::metrics::{self, OriginReading, Readings};

/// True when the view has folded everything the log holds.
pub fn view_caught_up(hub: &Hub) -> bool {
    hub.view().position() >= hub.log().head()
}

/// Whether the hub counts as ready for the `talenthub_ready` gauge.
pub fn is_ready(hub: &Hub) -> bool {
    !*hub.stopping().borrow() && !hub.log().is_closed() && view_caught_up(hub)
}

/// Always 200 while the process serves HTTP.
pub async fn livez() -> &'static str {
    "ok\n"
}

/// 200 once the view has caught up with the log; 503 while opening or stopping.
pub async fn readyz(State(state): State<AdminState>) -> Response {
    if state.ready() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let why = match state.hub() {
        None => "not ready: opening the log and replaying the view\n",
        Some(hub) if *hub.stopping().borrow() => "not ready: shutting down\n",
        Some(_) => "not ready: the view is catching up with the log\n",
    };
    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

/// The Prometheus text format.
pub async fn metrics(State(state): State<AdminState>) -> Response {
    let Some(hub) = state.hub() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are served once the log is open\n",
        )
            .into_response();
    };
    let body = hub.metrics().render(&readings(hub));
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

/// What the gauges show, read from the hub's state at one scrape.
fn readings(hub: &Hub) -> Readings {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let origins = hub
        .log()
        .origin_heads()
        .into_iter()
        .map(|(origin, h)| {
            let newest = hub.log().read_origin(origin, h.seq, 1).ok();
            let last_event_age = newest
                .as_ref()
                .and_then(|events| events.first())
                .map(|e| Duration::from_micros((now - e.stored_at.micros()).max(0) as u64));
            OriginReading {
                origin,
                seq: h.seq.get(),
                last_event_age,
            }
        })
        .collect();
    let snapshot_age = hub.view().config().snapshot_dir.as_deref().and_then(|dir| {
        let written = std::fs::metadata(hub_view::snapshot::path(dir))
            .and_then(|m| m.modified())
            .ok()?;
        SystemTime::now().duration_since(written).ok()
    });
    Readings {
        log_head: hub.log().head(),
        view_position: hub.view().position(),
        snapshot_position: hub.view().snapshot_position(),
        snapshot_age,
        ready: is_ready(hub),
        subscribers: hub.subscribers_open(),
        origins,
        replication: hub.replication_status(),
        member: hub.config().member(),
        access_entries_written: hub.access().entries_written(),
        entry_keys: hub.vault().counts(),
        free_space: hub.log().free_space(),
    }
}
