//! `talent-hub`: runs one node of the alliance. See the README for a tour.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hub_server::config::{Config, Overrides};
use hub_server::server;
use tracing_subscriber::EnvFilter;

/// Many small buffers, allocated on one thread and freed on another, pass through a node;
/// mimalloc serves them with far less CPU than glibc's malloc (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs a Talent Hub node: stores its city's events, folds the shared view and serves
/// the talenthub.v1 gRPC API.
#[derive(Debug, Parser)]
#[command(name = "talent-hub", version)]
struct Args {
    /// Configuration file layered over the built-in defaults.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on (server.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Admin listener address for metrics, probes and the console (admin.listen; "" = off).
    #[arg(long)]
    admin_listen: Option<String>,
    /// Data directory (node.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The city this node publishes for (node.member).
    #[arg(long)]
    member: Option<String>,
    /// Development sandbox: publish for every roster city on this node (node.sandbox).
    #[arg(long)]
    sandbox: bool,
    /// Print the effective configuration and exit.
    #[arg(long)]
    dump_config: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let overrides = Overrides {
        listen: args.listen,
        admin_listen: args.admin_listen,
        data_dir: args.data_dir,
        member: args.member,
        sandbox: args.sandbox,
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    if args.dump_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let member = config.member().map(|m| m.to_string()).unwrap_or_default();
    let data = config.node.data_dir.clone();
    // The admin listener comes up first, so probes answer while the view replays.
    let admin = hub_server::admin::AdminState::new();
    // A taken admin port leaves the node without probes, not without service.
    let admin_listener = hub_server::admin::bind(&config).await.unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "no admin listener: metrics, probes and the console are off");
        None
    });
    let with_admin = admin_listener.is_some();
    if let Some(listener) = admin_listener {
        tracing::info!(addr = %listener.local_addr()?, "admin listener serving /metrics, /livez, /readyz and the console");
        let (state, tls) = (admin.clone(), config.tls.clone());
        let stopping = hub_server::admin::until_stopping(admin.clone());
        tokio::spawn(async move {
            if let Err(e) = hub_server::admin::serve(state, listener, tls, stopping).await {
                tracing::error!(error = %e, "admin listener stopped");
            }
        });
    }
    let hub = server::open_hub(config).await?;
    // Attaching starts the status page's first view digest (a second of a core at 10^6
    // events): a node without the page has no use for it.
    if with_admin {
        admin.attach(hub.clone());
    }
    tracing::info!(%addr, member = %member, data_dir = %data.display(), head = hub.log().head(), "talent-hub serving");
    let served = server::serve(hub, listener, shutdown_signal()).await;
    // The log is closed and the view snapshot written: end now, rather than wait in the
    // destructors of Kafka clients for a broker that may not answer (the grace period is
    // the bound an orchestrator relies on).
    match served {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("Error: {e:?}");
            std::process::exit(1)
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
