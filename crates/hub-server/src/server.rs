//! Assembling and running a node: open the log and the view, serve the gRPC services,
//! shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hub_log::Log;
use hub_proto::pb::audit_server::AuditServer;
use hub_proto::pb::publisher_server::PublisherServer;
use hub_proto::pb::query_server::QueryServer;
use hub_view::{View, ViewConfig};
use tokio::net::TcpListener;

use crate::audit::AuditService;
use crate::auth::{Authorizer, PublishesFor};
use crate::config::Config;
use crate::hub::Hub;
use crate::publisher::PublisherService;
use crate::query::QueryService;
use crate::streams::StreamsRouter;

/// Opens the log and the view of `config` (replaying or restoring the view) and returns
/// the shared state, with the view following the log in the background.
pub async fn open_hub(config: Config) -> anyhow::Result<Arc<Hub>> {
    let data = config.node.data_dir.clone();
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let roster = config.roster()?;
    let publishes_for = if config.node.sandbox {
        tracing::warn!("SANDBOX MODE: this node publishes for every roster city; development only");
        PublishesFor::Roster(roster.members.iter().map(|m| m.code).collect())
    } else {
        match config.member() {
            Some(m) => PublishesFor::One(m),
            None => PublishesFor::Nobody,
        }
    };
    let own: std::collections::BTreeSet<_> = match &publishes_for {
        PublishesFor::Nobody => Default::default(),
        PublishesFor::One(m) => [*m].into(),
        PublishesFor::Roster(all) => all.iter().copied().collect(),
    };
    let own_list: Vec<_> = own.iter().copied().collect();
    let signers =
        crate::keys::signing_keys(config.node.signing_key_file.as_deref(), &own_list, &roster)?;
    let signer = Arc::new(crate::keys::CitySigner::new(signers.clone()));
    let vault = Arc::new(hub_log::vault::Vault::open(data.join("keys")).map_err(|e| {
        let damaged = matches!(e, hub_log::vault::VaultError::Corrupt { .. });
        let e = anyhow::Error::new(e).context("cannot open the entry-key vault");
        if damaged {
            e.context(refusal(&data.join("keys"), "the entry-key vault"))
        } else {
            e
        }
    })?);
    let view_config = ViewConfig {
        roster: roster.clone(),
        thresholds: config.view.thresholds,
        screening: config.view.screening.clone(),
        snapshot_dir: Some(data.join("view")),
        snapshot_every: config.view.snapshot_every,
        snapshot_busy_share: config.view.snapshot_busy_share,
        vault: Some(vault.clone()),
        page_bytes: hub_proto::budget::page_bytes(config.server.max_message_bytes),
    };
    let min_free = config.node.min_free_bytes;
    let (log, view) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Log, View)> {
        let started = std::time::Instant::now();
        // The view's snapshot is read and decoded while the log opens, on another core;
        // it is checked against the log before it is used.
        let loading = {
            let config = view_config.clone();
            std::thread::spawn(move || hub_view::snapshot::load(&config))
        };
        let dir = data.join("log");
        let damaged = |e: anyhow::Error, what: &str| match e.downcast_ref::<hub_log::Error>() {
            Some(hub_log::Error::Corrupt { .. }) => e.context(refusal(&dir, "the log")),
            _ => e.context(what.to_string()),
        };
        let log = Log::open_signed(&dir, signer).map_err(|e| {
            damaged(
                e.into(),
                &format!("cannot open the log in {}", dir.display()),
            )
        })?;
        log.keep_free(min_free);
        let loaded = loading.join().unwrap_or_else(|_| {
            tracing::warn!("loading the view snapshot failed; replaying the log");
            None
        });
        // Replay reads every event it folds: damage found there refuses the node too.
        let view = View::open_loaded(view_config, loaded, &log).map_err(|e| match e {
            hub_view::Error::Log(e) => damaged(e.into(), "cannot build the view"),
            e => anyhow::Error::new(e).context("cannot build the view"),
        })?;
        tracing::info!(
            head = log.head(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "view ready"
        );
        Ok((log, view))
    })
    .await??;
    let view_follower = view.clone().follow(log.clone());
    let mut auth = Authorizer::new(&config.auth.tokens, publishes_for);
    if config.tls.is_some() {
        auth = auth.with_tls();
    } else {
        tracing::warn!(
            "callers authenticate with bearer tokens from the config: loopback development only"
        );
    }
    let kafka = config.kafka.clone();
    let alliance_key = config.alliance_key()?;
    let node_key = match config.member().and_then(|m| signers.get(&m)) {
        Some(k) => k.clone(),
        None => {
            tracing::warn!("this node signs for no city: its tree heads use a throwaway key");
            hub_audit::generate()
        }
    };
    let audit_keys = crate::keys::AuditKeys {
        node_key,
        node: config.member().map(|m| m.to_string()).unwrap_or_default(),
        roster: hub_audit::roster_keys(&roster)?
            .into_iter()
            .map(|(m, k)| (m.to_string(), k))
            .collect(),
    };
    let key_sharing = hub_replication::KeySharing {
        vault: vault.clone(),
        wrap_key: zeroize::Zeroizing::new(alliance_key.derive(hub_log::vault::WRAP_KEY_LABEL)),
        signers,
    };
    let hub = Arc::new(Hub::new(
        log.clone(),
        view,
        auth,
        Arc::new(config),
        alliance_key,
        audit_keys,
        vault,
    )?);
    hub.tasks().spawn(view_follower);
    hub.tasks().spawn(crate::audit::follow(
        hub.ledger().clone(),
        hub.log().clone(),
    ));
    if hub.config().privacy.retention_days > 0 && !own.is_empty() {
        hub.tasks()
            .spawn(crate::retention::sweep_forever(hub.clone(), own.clone()));
    }
    if let Some(kafka) = kafka {
        let replication =
            hub_replication::Replication::start(&kafka, log, own, roster, Some(key_sharing))
                .context("cannot start replication")?;
        tracing::info!(
            brokers = %kafka.brokers,
            topic = %kafka.topic,
            keys_topic = %kafka.keys_topic(),
            "replicating over kafka"
        );
        hub.set_replication(replication);
    }
    Ok(hub)
}

/// The message of a node refusing to start on damaged files: what, where, and how to
/// recover.
fn refusal(dir: &std::path::Path, what: &str) -> String {
    format!(
        "{what} in {} is damaged: this node refuses to serve it rather than give wrong \
         answers; move the directory aside and recover as \"corruption at rest\" in \
         docs/operations.md says",
        dir.display()
    )
}

/// Serves `hub` on `listener` until `shutdown` resolves, then stops gracefully: no new
/// calls, in-flight calls finish (within the grace period), subscriptions are told to
/// resume elsewhere, the log's queued appends become durable and the view is snapshotted.
pub async fn serve(
    hub: Arc<Hub>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = hub.config().clone();
    let max = config.server.max_message_bytes;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<PublisherServer<PublisherService>>()
        .await;
    health.set_serving::<QueryServer<QueryService>>().await;
    health.set_serving::<StreamsRouter>().await;
    health.set_serving::<AuditServer<AuditService>>().await;
    // v1 and v1alpha: many clients (e.g. Python's grpcio-reflection) speak only v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hub_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .context("cannot build the reflection service")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("cannot build the reflection service")?;

    let stopping = hub.clone();
    let signalled = Arc::new(std::sync::OnceLock::new());
    let signal_at = signalled.clone();
    let signal = async move {
        shutdown.await;
        let _ = signal_at.set(tokio::time::Instant::now());
        tracing::info!("shutting down: finishing in-flight calls");
        stopping.begin_shutdown();
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        builder = builder
            .tls_config(crate::tls::server_config(tls)?)
            .context("cannot configure TLS")?;
    }
    let server = builder
        .timeout(Duration::from_millis(config.server.request_timeout_ms))
        // tonic's default is no limit at all (not HTTP/2's customary 100 or hyper's 200).
        .max_concurrent_streams(Some(config.server.max_streams_per_connection))
        .layer(tower::util::MapResponseLayer::new(
            crate::status::oversize_response::<tonic::body::Body>,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            PublisherServer::new(PublisherService::new(hub.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            QueryServer::new(QueryService::new(hub.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(StreamsRouter::new(hub.clone(), max))
        .add_service(
            AuditServer::new(AuditService::new(hub.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        // Without TCP_NODELAY, small answers wait ~40 ms for delayed ACKs (Nagle).
        .serve_with_incoming_shutdown(
            crate::connections::limit(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                config.server.max_connections,
            ),
            signal,
        );

    let mut stopping = hub.stopping();
    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    tokio::select! {
        result = server => result.context("the gRPC server failed")?,
        () = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; dropping remaining calls"),
    }
    // Whatever the broker does, stopping replication takes what is left of the grace
    // period (at least a moment): deliveries still pending go out after restart.
    let began = signalled
        .get()
        .copied()
        .unwrap_or_else(tokio::time::Instant::now);
    let left = (began + grace)
        .saturating_duration_since(tokio::time::Instant::now())
        .max(Duration::from_millis(500));
    if tokio::time::timeout(left, hub.stop_replication())
        .await
        .is_err()
    {
        tracing::warn!("replication did not stop within the grace period; left behind");
    }
    hub.log().close().await;
    let ledger = hub.ledger().clone();
    if let Err(e) = tokio::task::spawn_blocking(move || ledger.sync()).await {
        tracing::warn!(error = %e, "syncing the audit tree's leaf file failed");
    }
    let view = hub.view().clone();
    let log = hub.log().clone();
    match tokio::task::spawn_blocking(move || view.write_snapshot(&log)).await {
        Ok(Ok(position)) => tracing::info!(position, "view snapshot written"),
        Ok(Err(e)) => tracing::warn!(error = %e, "could not write the view snapshot"),
        Err(e) => tracing::warn!(error = %e, "snapshot task failed"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// A node running in this process: for tests and tools that need a real server.
#[derive(Debug)]
pub struct RunningNode {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its shared state.
    pub hub: Arc<Hub>,
    /// The admin listener's address, when started with [`RunningNode::start_with_admin`].
    pub admin: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningNode {
    /// Opens the hub of `config` and serves it on its configured address (port 0 picks a
    /// free port).
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let addr = listener.local_addr()?;
        let hub = open_hub(config).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(hub.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            hub,
            admin: None,
            stop: Some(stop),
            task,
        })
    }

    /// Like [`RunningNode::start`], also serving the admin listener of `admin.listen`
    /// (port 0 picks a free port; it must not be off).
    pub async fn start_with_admin(config: Config) -> anyhow::Result<Self> {
        let listener = crate::admin::bind(&config)
            .await?
            .context("admin.listen is off")?;
        let tls = config.tls.clone();
        let mut node = Self::start(config).await?;
        node.admin = Some(listener.local_addr()?);
        let state = crate::admin::AdminState::with_hub(node.hub.clone());
        let stopping = crate::admin::until_stopping(state.clone());
        node.hub.tasks().spawn(async move {
            if let Err(e) = crate::admin::serve(state, listener, tls, stopping).await {
                tracing::error!(error = %e, "admin listener stopped");
            }
        });
        Ok(node)
    }

    /// The admin listener's `http://` base URL, when it runs.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.map(|a| format!("http://{a}"))
    }

    /// The `http://` endpoint clients connect to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts the node down gracefully and waits until its store is closed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_within(std::time::Duration::from_secs(10))
            .await
            .map(drop)
    }

    /// Shuts the node down gracefully, waiting at most `within` for its background tasks
    /// to end by themselves (those still running then are aborted), and until its store is
    /// closed. Returns whether every task ended by itself.
    pub async fn stop_within(mut self, within: std::time::Duration) -> anyhow::Result<bool> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        task.await.context("node task panicked")??;
        // Release the store before returning, so a restart can open it: join the tasks
        // still holding it (subscriptions being told to resume, the log's followers).
        Ok(self.hub.tasks().join(within).await)
    }
}
