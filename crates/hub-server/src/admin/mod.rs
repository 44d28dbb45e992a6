//! The admin listener (`[admin] listen`): Prometheus metrics, probes for an orchestrator,
//! and the operator console with its JSON and server-sent-events endpoints.
//!
//! | path | what |
//! |---|---|
//! | `/metrics` | Prometheus text format ([`crate::metrics`]) |
//! | `/livez` | 200 while the process serves HTTP |
//! | `/readyz` | 200 once the view has caught up with the log, 503 before and while stopping |
//! | `/` and `/console/*` | the console: hand-written HTML, CSS and JavaScript ([`console`]) |
//! | `/api/*` | the console's questions, answered from the view ([`api`]); no personal data |
//! | `/api/tail` | the log as server-sent events, catch-up then live ([`tail`]) |
//!
//! The listener starts before the log is opened, so `/livez` answers during a long replay
//! while `/readyz` says the node is not ready yet. Beyond loopback it requires `[tls]`, as
//! the gRPC listener does, and then serves HTTPS with client certificates from the alliance
//! CA ([`tls`]).

pub mod api;
pub mod console;
pub mod digest;
mod memo;
pub mod probes;
pub mod tail;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::hub::Hub;

/// What the admin handlers share: the hub once it is open, readiness, and the status
/// page's digest.
#[derive(Debug, Clone, Default)]
pub struct AdminState {
    hub: Arc<OnceLock<Arc<Hub>>>,
    /// Latches once the view has caught up with the log.
    caught_up: Arc<AtomicBool>,
    /// The view digest the status page shows, computed off the request path.
    digest: Arc<digest::StatusDigest>,
    /// The last answer to each console question, reused while the view stands still.
    answers: Arc<memo::Answers>,
    /// One place per open `/api/tail`, `admin.max_tails` of them once the hub is open.
    tails: Arc<OnceLock<Arc<tokio::sync::Semaphore>>>,
}

impl AdminState {
    /// A state whose hub is not open yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The places of open tails, sized by the hub's `admin.max_tails`.
    pub(crate) fn tail_places(&self, hub: &Hub) -> Arc<tokio::sync::Semaphore> {
        self.tails
            .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(hub.config().admin.max_tails)))
            .clone()
    }

    /// A state serving `hub`.
    pub fn with_hub(hub: Arc<Hub>) -> Self {
        let s = Self::new();
        s.attach(hub);
        s
    }

    /// Makes the opened hub available to the handlers, and starts computing the view's
    /// first digest on a blocking thread so that the first status page does not wait for
    /// it. Call from within the runtime.
    pub fn attach(&self, hub: Arc<Hub>) {
        self.digest.refresh(hub.view());
        let _ = self.hub.set(hub);
    }

    /// The status page's digest.
    pub fn status_digest(&self) -> &Arc<digest::StatusDigest> {
        &self.digest
    }

    /// The console's remembered answers.
    fn answers(&self) -> &Arc<memo::Answers> {
        &self.answers
    }

    /// The hub, once open.
    pub fn hub(&self) -> Option<&Arc<Hub>> {
        self.hub.get()
    }

    /// True once the view has caught up with the log, while the node is not stopping.
    pub fn ready(&self) -> bool {
        let Some(hub) = self.hub() else {
            return false;
        };
        if *hub.stopping().borrow() || hub.log().is_closed() {
            return false;
        }
        if !self.caught_up.load(Ordering::Relaxed) && probes::view_caught_up(hub) {
            self.caught_up.store(true, Ordering::Relaxed);
        }
        self.caught_up.load(Ordering::Relaxed)
    }
}

/// The admin routes.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(probes::metrics))
        .route("/livez", get(probes::livez))
        .route("/readyz", get(probes::readyz))
        .merge(console::routes())
        .merge(api::routes())
        .with_state(state)
}

/// Serves the admin routes on `listener` until the hub starts shutting down (or forever,
/// if it never opens); with `tls`, as HTTPS with client certificates.
pub async fn serve(
    state: AdminState,
    listener: TcpListener,
    tls: Option<crate::tls::TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state);
    match tls {
        Some(tls) => tls::serve(app, listener, &tls, shutdown).await,
        None => {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let mut told = stopped.clone();
            let served = std::future::IntoFuture::into_future(
                axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = told.wait_for(|s| *s).await;
                }),
            );
            tokio::select! {
                served = served => served.context("the admin listener failed"),
                () = async {
                    shutdown.await;
                    let _ = stop.send(true);
                    tokio::time::sleep(DRAIN).await;
                } => {
                    tracing::debug!("admin connections still open after the drain; left to end");
                    Ok(())
                }
            }
        }
    }
}

/// How long a stopping admin listener waits for its open connections to end (a console
/// whose browser has stopped reading its live tail never ends its own) before it returns
/// and leaves them to end when their peers go, as the HTTPS listener does at once.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Binds the admin listener of `config`, if any.
pub async fn bind(config: &crate::Config) -> anyhow::Result<Option<TcpListener>> {
    let Some(addr) = config.admin.addr()? else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (admin.listen)"))?;
    Ok(Some(listener))
}

/// Resolves when `state`'s hub starts shutting down.
pub async fn until_stopping(state: AdminState) {
    loop {
        if let Some(hub) = state.hub() {
            let _ = hub.stopping().wait_for(|s| *s).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
