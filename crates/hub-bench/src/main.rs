//! `hub-bench`: measures the hub's parts and prints one line per figure on stdout,
//!
//! ```text
//! BENCH <name> <value> <unit>
//! ```
//!
//! and nothing else there (progress goes to stderr), so runs can be compared by script.
//! Each subcommand benchmarks one part and lives in its own module.

mod audit;
mod console;
mod figure;
mod grpc;
mod harness;
mod log;
mod overload;
mod replication;
mod restart;
mod scale;
mod view;

use clap::{Parser, Subcommand};

/// The node's own allocator (see `talent-hub`), so that the figures are the node's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks of the Talent Hub node.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Durable append throughput and latency of the event log, and an fsync-per-event
    /// baseline.
    Log(log::Args),
    /// Replay rate of the shared view and the latency of its questions, on a large
    /// realistic log.
    View(view::Args),
    /// Appends, questions and subscriptions through real gRPC on loopback, beside a
    /// trivial gRPC service.
    Grpc(grpc::Args),
    /// Lag of replication between two city nodes through an in-process Kafka mock.
    Replication(replication::Args),
    /// History verification rate and proof times on a large tree.
    Audit(audit::Args),
    /// Page load of the operator console, and each of its calls, next to a large log.
    Console(console::Args),
    /// A `talent-hub` process driven at twice what it serves: shed and served rates,
    /// latency, memory, health and the time back to normal.
    Overload(overload::Args),
    /// What a node costs as its log grows: build, open, replay and restart times,
    /// resident memory and disk per event, query and append latency on the large log.
    Scale(scale::Args),
    /// A `talent-hub` process killed with SIGKILL under load, cycle after cycle: the time
    /// from the kill to health SERVING, and to a whole audit tree.
    Restart(restart::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Log(args) => log::run(args).await,
        Command::View(args) => view::run(args).await,
        Command::Grpc(args) => grpc::run(args).await,
        Command::Replication(args) => replication::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Console(args) => console::run(args).await,
        Command::Overload(args) => overload::run(args).await,
        Command::Scale(args) => scale::run(args).await,
        Command::Restart(args) => restart::run(args).await,
    }
}
