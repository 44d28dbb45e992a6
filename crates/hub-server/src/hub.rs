//! The state every service shares, as a few owned components: the data (log, view,
//! ledger, entry-key vault), who may do what (authoriser, keys, access trail), admission control, and the
//! node's lifecycle (shutdown signal, replication, background tasks).

use std::sync::{Arc, Mutex};

use hub_audit::Ledger;
use hub_log::vault::Vault;
use hub_log::Log;
use hub_types::subject::AllianceKey;
use hub_types::MemberId;
use hub_view::View;
use tokio::sync::{watch, OwnedSemaphorePermit};

use crate::access::AccessTrail;
use crate::admission::Admission;
use crate::auth::Authorizer;
use crate::config::Config;
use crate::error::Refusal;
use crate::keys::AuditKeys;
use crate::metrics::{CommitMetrics, Metrics};
use crate::tasks::Tasks;

/// One node's shared state.
#[derive(Debug)]
pub struct Hub {
    config: Arc<Config>,
    data: Data,
    trust: Trust,
    admission: Admission,
    lifecycle: Lifecycle,
    metrics: Arc<Metrics>,
}

/// What the node stores and answers from.
#[derive(Debug)]
struct Data {
    /// The source of truth.
    log: Log,
    /// The shared view, following the log.
    view: View,
    /// The Merkle tree over the log, following it.
    ledger: Arc<Ledger>,
    /// The entry keys that seal personal fields (erasure destroys them).
    vault: Arc<Vault>,
}

/// Who may do what, and the keys and trail that go with it.
#[derive(Debug)]
struct Trust {
    auth: Authorizer,
    /// Turns national ID numbers into subject references.
    alliance_key: AllianceKey,
    /// Keys for tree heads and chain verification.
    audit_keys: AuditKeys,
    /// The trail of checks of personal data.
    access: AccessTrail,
}

/// The audit tree's leaf file, in the data directory (see [`hub_audit::leaves`]).
pub const LEAVES_FILE: &str = "audit/leaves";

/// How the node runs and stops.
#[derive(Debug)]
struct Lifecycle {
    /// Flips to true when the node starts shutting down; ends subscriptions.
    stopping: watch::Sender<bool>,
    /// Replication over Kafka, when configured.
    replication: Mutex<Option<hub_replication::Replication>>,
    /// The node's background tasks, joined when it stops.
    tasks: Tasks,
}

impl Hub {
    /// Assembles a hub.
    pub fn new(
        log: Log,
        view: View,
        auth: Authorizer,
        config: Arc<Config>,
        alliance_key: AllianceKey,
        audit_keys: AuditKeys,
        vault: Arc<Vault>,
    ) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new(&view.config().roster));
        log.observe_commits(Arc::new(CommitMetrics(metrics.clone())));
        let tasks = Tasks::default();
        Ok(Self {
            admission: Admission::new(&config.server, metrics.clone()),
            trust: Trust {
                access: AccessTrail::open(log.clone(), tasks.clone())?,
                auth,
                alliance_key,
                audit_keys,
            },
            lifecycle: Lifecycle {
                stopping: watch::channel(false).0,
                replication: Mutex::new(None),
                tasks,
            },
            data: Data {
                log,
                view,
                ledger: Arc::new(Ledger::with_file(config.node.data_dir.join(LEAVES_FILE))),
                vault,
            },
            metrics,
            config,
        })
    }

    /// The source of truth.
    pub fn log(&self) -> &Log {
        &self.data.log
    }

    /// The shared view, following the log.
    pub fn view(&self) -> &View {
        &self.data.view
    }

    /// The Merkle tree over the log.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.data.ledger
    }

    /// The entry keys that seal personal fields.
    pub fn vault(&self) -> &Vault {
        &self.data.vault
    }

    /// The effective configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Who may do what.
    pub fn auth(&self) -> &Authorizer {
        &self.trust.auth
    }

    /// Turns national ID numbers into subject references.
    pub fn alliance_key(&self) -> &AllianceKey {
        &self.trust.alliance_key
    }

    /// Keys for tree heads and chain verification.
    pub fn audit_keys(&self) -> &AuditKeys {
        &self.trust.audit_keys
    }

    /// The trail of checks of personal data.
    pub fn access(&self) -> &AccessTrail {
        &self.trust.access
    }

    /// What the admin listener's `/metrics` shows.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The node's background tasks, joined when it stops.
    pub fn tasks(&self) -> &Tasks {
        &self.lifecycle.tasks
    }

    /// Admits a unary request of `member`, or refuses it with `RESOURCE_EXHAUSTED` when the
    /// member is over its rate or the node is full.
    pub fn admit(&self, member: MemberId) -> Result<OwnedSemaphorePermit, Refusal> {
        self.admission.admit(member)
    }

    /// Admits a subscription or refuses it with `RESOURCE_EXHAUSTED`.
    pub fn admit_subscriber(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.admission.admit_subscriber()
    }

    /// Admits an `AppendStream` of `member` or refuses it with `RESOURCE_EXHAUSTED`.
    pub fn admit_append_stream(&self, member: MemberId) -> Result<OwnedSemaphorePermit, Refusal> {
        self.admission.admit_append_stream(member)
    }

    /// Subscriptions open now.
    pub fn subscribers_open(&self) -> usize {
        self.admission.subscribers_open()
    }

    /// Attaches running replication.
    pub fn set_replication(&self, replication: hub_replication::Replication) {
        *self.replication() = Some(replication);
    }

    /// The replication status; `None` for a standalone node.
    pub fn replication_status(&self) -> Option<hub_replication::Status> {
        self.replication()
            .as_ref()
            .map(hub_replication::Replication::status)
    }

    /// Runs `f` on the running replication; `None` for a standalone node.
    pub fn with_replication<T>(
        &self,
        f: impl FnOnce(&hub_replication::Replication) -> T,
    ) -> Option<T> {
        self.replication().as_ref().map(f)
    }

    /// Stops replication, if running.
    pub async fn stop_replication(&self) {
        let replication = self.replication().take();
        if let Some(r) = replication {
            r.stop().await;
        }
    }

    /// Tells long-lived calls (subscriptions) that the node is shutting down.
    pub fn begin_shutdown(&self) {
        self.lifecycle.stopping.send_replace(true);
    }

    /// A receiver that turns true when the node starts shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.lifecycle.stopping.subscribe()
    }

    fn replication(&self) -> std::sync::MutexGuard<'_, Option<hub_replication::Replication>> {
        self.lifecycle
            .replication
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}
