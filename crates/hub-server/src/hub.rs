//! The state every service shares: the log, the view, the authoriser and the limits.

use std::sync::Arc;

use hub_log::Log;
use hub_types::MemberId;
use hub_view::View;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Authorizer;
use crate::config::Config;
use crate::error::{Overload, Refusal};

/// One node's shared state.
#[derive(Debug)]
pub struct Hub {
    /// The source of truth.
    pub log: Log,
    /// The shared view, following the log.
    pub view: View,
    /// Who may do what.
    pub auth: Authorizer,
    /// The effective configuration.
    pub config: Arc<Config>,
    /// Turns national ID numbers into subject references.
    pub alliance_key: hub_types::subject::AllianceKey,
    /// The trail of blacklist checks.
    pub access: crate::access::AccessTrail,
    /// The Merkle tree over the log.
    pub ledger: Arc<hub_audit::Ledger>,
    /// Keys for tree heads and chain verification.
    pub audit_keys: crate::keys::AuditKeys,
    /// Per-member token buckets: (tokens, last refill).
    buckets: std::sync::Mutex<std::collections::HashMap<MemberId, (f64, std::time::Instant)>>,
    /// Admission control for unary requests: one permit per request in flight.
    in_flight: Arc<Semaphore>,
    /// Admission control for subscriptions.
    subscribers: Arc<Semaphore>,
    /// Flips to true when the node starts shutting down; ends subscriptions.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Replication over Kafka, when configured.
    replication: std::sync::Mutex<Option<hub_replication::Replication>>,
    /// What the admin listener's `/metrics` shows.
    pub metrics: Arc<crate::admin::metrics::Metrics>,
    /// The node's background tasks, joined when it stops.
    pub tasks: crate::tasks::Tasks,
}

impl Hub {
    /// Assembles a hub.
    pub fn new(
        log: Log,
        view: View,
        auth: Authorizer,
        config: Arc<Config>,
        alliance_key: hub_types::subject::AllianceKey,
        audit_keys: crate::keys::AuditKeys,
    ) -> anyhow::Result<Self> {
        let metrics = Arc::new(crate::admin::metrics::Metrics::new(&view.config().roster));
        log.observe_commits(Arc::new(crate::admin::metrics::CommitMetrics(
            metrics.clone(),
        )));
        let tasks = crate::tasks::Tasks::default();
        Ok(Self {
            metrics,
            access: crate::access::AccessTrail::open(log.clone(), tasks.clone())?,
            tasks,
            ledger: Arc::default(),
            audit_keys,
            buckets: Default::default(),
            alliance_key,
            in_flight: Arc::new(Semaphore::new(config.server.max_in_flight)),
            subscribers: Arc::new(Semaphore::new(config.server.max_subscribers)),
            stopping: tokio::sync::watch::channel(false).0,
            replication: std::sync::Mutex::new(None),
            log,
            view,
            auth,
            config,
        })
    }

    /// Admits a unary request of `member`, or refuses it with `RESOURCE_EXHAUSTED` when the
    /// member is over its rate or the node is full.
    pub fn admit(&self, member: MemberId) -> Result<OwnedSemaphorePermit, Refusal> {
        self.take_token(member).inspect_err(|_| {
            self.metrics.refused(member, "rate_limited");
        })?;
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            self.metrics.refused(member, "shed");
            Overload::InFlight(self.config.server.max_in_flight).into()
        })
    }

    /// Attaches running replication.
    pub fn set_replication(&self, replication: hub_replication::Replication) {
        *self.replication.lock().unwrap_or_else(|e| e.into_inner()) = Some(replication);
    }

    /// The replication status; `None` for a standalone node.
    pub fn replication_status(&self) -> Option<hub_replication::Status> {
        self.replication
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(hub_replication::Replication::status)
    }

    /// Runs `f` on the running replication; `None` for a standalone node.
    pub fn with_replication<T>(
        &self,
        f: impl FnOnce(&hub_replication::Replication) -> T,
    ) -> Option<T> {
        self.replication
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(f)
    }

    /// Stops replication, if running.
    pub async fn stop_replication(&self) {
        let replication = self
            .replication
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(r) = replication {
            r.stop().await;
        }
    }

    /// Tells long-lived calls (subscriptions) that the node is shutting down.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// A receiver that turns true when the node starts shutting down.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    fn take_token(&self, member: MemberId) -> Result<(), Refusal> {
        let rate = self.config.server.member_rate_per_second;
        if rate == 0 {
            return Ok(());
        }
        let burst = self.config.server.member_burst.max(1) as f64;
        let now = std::time::Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = buckets.entry(member).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate as f64).min(burst);
        *last = now;
        if *tokens < 1.0 {
            return Err(Overload::MemberRate { member, rate }.into());
        }
        *tokens -= 1.0;
        Ok(())
    }

    /// Subscriptions open now.
    pub fn subscribers_open(&self) -> usize {
        self.config
            .server
            .max_subscribers
            .saturating_sub(self.subscribers.available_permits())
    }

    /// Admits a subscription or refuses it with `RESOURCE_EXHAUSTED`.
    pub fn admit_subscriber(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.subscribers
            .clone()
            .try_acquire_owned()
            .map_err(|_| Overload::Subscriptions(self.config.server.max_subscribers).into())
    }
}
