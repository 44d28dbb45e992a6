//! The command line: global flags, subcommands, and the dispatch to their modules.

use clap::{Parser, Subcommand};

use crate::client::Connection;
use crate::error::Result;
use crate::output::Format;
use crate::{audit, demo, keys, publish, query, replay, tail};

/// Publishes, queries, tails and replays a Talent Hub node (talent-hub) over gRPC.
#[derive(Debug, Parser)]
#[command(name = "hubctl", version)]
pub struct Cli {
    /// The node's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "HUBCTL_ENDPOINT",
        default_value = crate::DEFAULT_ENDPOINT
    )]
    pub endpoint: String,
    /// Bearer token sent with every call (a member, auditor or operator token).
    #[arg(
        long,
        global = true,
        env = "HUBCTL_TOKEN",
        default_value = "dev-member-310000",
        hide_env_values = true
    )]
    pub token: String,
    /// Print JSON instead of tables (one object per line for `tail`).
    #[arg(long, global = true)]
    pub json: bool,
    /// The alliance CA (PEM), for a node serving mutual TLS (use an https:// endpoint).
    #[arg(long, global = true, env = "HUBCTL_CA", requires_all = ["cert", "key"])]
    pub ca: Option<std::path::PathBuf>,
    /// The caller's client certificate (PEM).
    #[arg(long, global = true, env = "HUBCTL_CERT", requires = "ca")]
    pub cert: Option<std::path::PathBuf>,
    /// The caller's client key (PEM).
    #[arg(long, global = true, env = "HUBCTL_KEY", requires = "ca")]
    pub key: Option<std::path::PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Append the events of a JSON Lines file (`-` = stdin); loading it again appends nothing.
    Publish(publish::PublishArgs),
    /// Ask the shared view a question.
    Query {
        /// The question.
        #[command(subcommand)]
        question: query::QueryCmd,
    },
    /// The view's position, log head, origin vector, digest and counts (= `query info`).
    Info(query::InfoArgs),
    /// Follow the log live, one line per event.
    Tail(tail::TailArgs),
    /// Fold the whole log locally and check the digest against the node's.
    Replay(replay::ReplayArgs),
    /// Load the sample alliance into a node started with --sandbox.
    Demo(demo::DemoArgs),
    /// Verify the node's history and check its proofs.
    Audit {
        /// What to check.
        #[command(subcommand)]
        check: audit::AuditCmd,
    },
    /// Create an ed25519 signing key for a city and print its public key.
    Keygen(keys::KeygenArgs),
    /// Turn a national ID number into its subject reference, locally.
    SubjectRef(keys::SubjectRefArgs),
    /// Development certificates for mutual TLS.
    Certs {
        /// What to make.
        #[command(subcommand)]
        action: keys::CertsCmd,
    },
}

/// Runs the command `cli` describes.
pub async fn run(cli: Cli) -> Result<()> {
    let format = if cli.json { Format::Json } else { Format::Text };
    if let (Some(ca), Some(cert), Some(key)) = (&cli.ca, &cli.cert, &cli.key) {
        crate::client::use_tls(crate::client::TlsFiles {
            ca: ca.clone(),
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    let (endpoint, token) = (cli.endpoint.as_str(), cli.token.as_str());
    match &cli.command {
        Command::Publish(a) => publish::run(endpoint, token, a, format).await,
        Command::Query { question } => {
            let conn = Connection::open(endpoint, token).await?;
            query::run(&conn, question, format).await
        }
        Command::Info(a) => {
            let conn = Connection::open(endpoint, token).await?;
            query::info(&conn, a, format).await
        }
        Command::Tail(a) => tail::run(endpoint, token, a, format).await,
        Command::Replay(a) => replay::run(endpoint, token, a, format).await,
        Command::Demo(a) => demo::run(endpoint, token, a, format).await,
        Command::Audit { check } => audit::run(endpoint, token, check).await,
        Command::Keygen(a) => keys::keygen(a),
        Command::SubjectRef(a) => keys::subject_ref(a),
        Command::Certs { action } => keys::certs(action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn query_flags_parse_into_both_time_axes() {
        let cli = Cli::try_parse_from([
            "hubctl",
            "query",
            "matrix",
            "--on-date",
            "2026-06-30",
            "--as-of",
            "2026-03-01T08:00:00Z",
            "--json",
        ])
        .expect("parses");
        assert!(cli.json);
        let both = Cli::try_parse_from([
            "hubctl",
            "query",
            "matrix",
            "--at-position",
            "3",
            "--as-of",
            "2026-03-01T08:00:00Z",
        ]);
        assert!(both.is_err(), "the record-time axes exclude each other");
        let bad_date =
            Cli::try_parse_from(["hubctl", "query", "matrix", "--on-date", "2026-13-01"]);
        assert!(bad_date.is_err());
    }
}
