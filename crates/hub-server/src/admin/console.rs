//! The operator console: hand-written HTML, CSS and JavaScript embedded in the binary, so
//! it works without internet access and without a build step. Its charts are inline SVG
//! drawn by `app.js` from the `/api/*` answers.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::AdminState;

const INDEX: &str = include_str!("../../console/index.html");
const REPORT: &str = include_str!("../../console/report.html");
const APP_JS: &str = include_str!("../../console/app.js");
const STYLE: &str = include_str!("../../console/style.css");
const ICON: &str = include_str!("../../console/icon.svg");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The console's pages and assets.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/report",
            get(|| async { asset("text/html; charset=utf-8", REPORT) }),
        )
        .route(
            "/console/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/console/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .route(
            "/console/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}
