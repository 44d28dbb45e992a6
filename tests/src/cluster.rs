//! A small alliance on one machine: N city nodes, optionally a broker, in one temporary
//! directory that goes away (with every process) when the cluster is dropped.
//!
//! ```no_run
//! # async fn story(tansu: std::path::PathBuf) -> anyhow::Result<()> {
//! use hub_system_tests::Cluster;
//! let mut cluster = Cluster::builder()
//!     .cities(["310000", "330100", "330400"])
//!     .broker(tansu)
//!     .start()
//!     .await?;
//! cluster.node_mut("310000").kill();
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use hub_proto::pb;

use crate::broker::Broker;
use crate::client::vector;
use crate::node::{Node, NodeSpec};

/// The topic the cluster replicates through.
pub const TOPIC: &str = "talenthub.events.v1";

/// Builds a [`Cluster`].
#[derive(Debug, Default)]
pub struct ClusterBuilder {
    cities: Vec<String>,
    tansu: Option<PathBuf>,
    grace_ms: Option<u64>,
}

impl ClusterBuilder {
    /// One node per city code.
    #[must_use]
    pub fn cities<S: Into<String>>(mut self, cities: impl IntoIterator<Item = S>) -> Self {
        self.cities = cities.into_iter().map(Into::into).collect();
        self
    }

    /// A tansu broker the nodes replicate through (no broker: standalone nodes).
    #[must_use]
    pub fn broker(mut self, tansu: PathBuf) -> Self {
        self.tansu = Some(tansu);
        self
    }

    /// `server.shutdown_grace_ms` of every node (default 10 s).
    #[must_use]
    pub fn grace_ms(mut self, ms: u64) -> Self {
        self.grace_ms = Some(ms);
        self
    }

    /// Starts the broker (with its topics) and every node.
    pub async fn start(self) -> anyhow::Result<Cluster> {
        let mut root = tempfile::Builder::new()
            .prefix("hub-cluster-")
            .tempdir()
            .context("cannot make the cluster directory")?;
        if std::env::var_os("HUB_KEEP_CLUSTER").is_some() {
            // To read the node and broker logs after a failure.
            root.disable_cleanup(true);
            eprintln!("cluster kept in {}", root.path().display());
        }
        let broker = match &self.tansu {
            Some(tansu) => {
                let b = Broker::start(tansu, root.path())?;
                b.create_topics(TOPIC)?;
                Some(b)
            }
            None => None,
        };
        let mut nodes = Vec::new();
        for member in &self.cities {
            let spec = NodeSpec {
                member: member.clone(),
                brokers: broker.as_ref().map(Broker::bootstrap),
                grace_ms: self.grace_ms.unwrap_or(10_000),
                topic: TOPIC.into(),
            };
            nodes.push(Node::new(root.path(), spec)?);
        }
        for node in &mut nodes {
            node.start().await?;
        }
        Ok(Cluster {
            nodes,
            broker,
            root,
        })
    }
}

/// Running cities and their broker. Dropping it kills everything and removes the files.
#[derive(Debug)]
pub struct Cluster {
    // Dropped in this order: nodes, broker, then the directory.
    nodes: Vec<Node>,
    broker: Option<Broker>,
    root: tempfile::TempDir,
}

impl Cluster {
    /// A builder.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// The cluster's directory: node data, configs and logs, the broker's log.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Every node.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node of `member`.
    pub fn node(&self, member: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.member() == member)
            .unwrap_or_else(|| panic!("no node for {member}"))
    }

    /// The node of `member`, to kill or restart.
    pub fn node_mut(&mut self, member: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.member() == member)
            .unwrap_or_else(|| panic!("no node for {member}"))
    }

    /// The broker.
    pub fn broker(&mut self) -> &mut Broker {
        self.broker
            .as_mut()
            .expect("the cluster was built with a broker")
    }

    /// `error`, with how every node that died on its own ended (a signal names a crash).
    fn with_exits(&self, error: anyhow::Error) -> anyhow::Error {
        let exits: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| Some(format!("node {} exited: {}", n.member(), n.exit_status()?)))
            .collect();
        if exits.is_empty() {
            error
        } else {
            error.context(exits.join("; "))
        }
    }

    /// Waits until every node holds `expected` (origin → sequence) and all report the same
    /// digest; returns their answers.
    pub async fn converged(
        &self,
        expected: &BTreeMap<String, u64>,
        within: Duration,
    ) -> anyhow::Result<Vec<pb::ViewInfoResponse>> {
        let mut answers = Vec::new();
        for node in &self.nodes {
            let info = crate::eventually(
                within,
                &format!("{} converges", node.member()),
                || async move {
                    let info = node.info().await.map_err(|e| e.to_string())?;
                    if &vector(&info) == expected {
                        Ok(info)
                    } else {
                        Err(format!(
                            "vector {:?}, want {expected:?}; replication {:?}",
                            vector(&info),
                            info.replication
                        ))
                    }
                },
            )
            .await
            .map_err(|e| self.with_exits(e))?;
            answers.push(info);
        }
        let digests: Vec<&str> = answers.iter().map(|i| i.digest.as_str()).collect();
        anyhow::ensure!(
            digests.windows(2).all(|w| w[0] == w[1]),
            "equal vectors but different digests: {digests:?}"
        );
        Ok(answers)
    }
}
