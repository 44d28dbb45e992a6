//! `/livez`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AdminState;
use crate::hub::Hub;

/// True when the view has folded everything the log holds.
pub fn view_caught_up(hub: &Hub) -> bool {
    hub.view.position() >= hub.log.head()
}

/// Whether the hub counts as ready for the `talenthub_ready` gauge.
pub fn is_ready(hub: &Hub) -> bool {
    !*hub.stopping().borrow() && !hub.log.is_closed() && view_caught_up(hub)
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
    let body = hub.metrics.render(hub).await;
    ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], body).into_response()
}
