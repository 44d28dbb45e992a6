//! The command line: global flags, subcommands, and the dispatch to their modules.

use clap::{Parser, Subcommand};

use crate::client::Connection;
use crate::error::Result;
use crate::output::Format;
use crate::{audit, certs, demo, erase, keys, publish, query, register, replay, tail};

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
    /// Erase a blacklist entry's personal data: destroys the entry's key on every node,
    /// which cannot be undone.
    ///
    /// Appends one blacklist_entry_erased event to the entry's stream. Every node that
    /// receives it destroys the entry's key, so its display name and decision summary can
    /// never be read again, anywhere; there is no undo. The entry's history, hashes and
    /// signatures stay intact, and the entry lists as `erased`. Only the entry's city may
    /// erase it. The event id used is printed: after a failure of unknown outcome, retry
    /// with the same --event-id.
    Erase(erase::EraseArgs),
    /// Screen an application across every city: barred (blacklist), in conflict with an
    /// overlapping award (duplicate check), or clear; white-list entries in force are shown
    /// as a fast track. Access-logged; members and auditors only.
    Screen(query::ScreenArgs),
    /// The white list (高端人才白名单): add, renew and remove the caller's city's entries;
    /// a subject's status in every city.
    Whitelist {
        /// What to do.
        #[command(subcommand)]
        action: register::WhitelistCmd,
    },
    /// Programme awards (人才计划、科研项目): grant, amend and withdraw the caller's city's
    /// awards; list a city's awards.
    Award {
        /// What to do.
        #[command(subcommand)]
        action: register::AwardCmd,
    },
    /// The talent register as a whole.
    Register {
        /// What to ask.
        #[command(subcommand)]
        question: register::RegisterCmd,
    },
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
    /// Replication over Kafka: status, and repairs after a broker fault (operators).
    Replication {
        /// What to do.
        #[command(subcommand)]
        action: crate::replication::ReplicationCmd,
    },
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
        action: certs::CertsCmd,
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
        Command::Erase(a) => erase::run(endpoint, token, a, format).await,
        Command::Screen(a) => {
            let conn = Connection::open(endpoint, token).await?;
            query::screen(&conn, a, format).await
        }
        Command::Whitelist { action } => register::whitelist(endpoint, token, action, format).await,
        Command::Award { action } => register::award(endpoint, token, action, format).await,
        Command::Register {
            question: register::RegisterCmd::Summary(a),
        } => {
            let conn = Connection::open(endpoint, token).await?;
            query::summary(&conn, a, format).await
        }
        Command::Query { question } => {
            let conn = Connection::open(endpoint, token).await?;
            query::run(&conn, question, format).await
        }
        Command::Info(a) => {
            let conn = Connection::open(endpoint, token).await?;
            query::info(&conn, a, format).await
        }
        Command::Tail(a) => tail::run(endpoint, token, a, format).await,
        Command::Replication { action } => {
            let conn = Connection::open(endpoint, token).await?;
            crate::replication::run(&conn, action, format).await
        }
        Command::Replay(a) => replay::run(endpoint, token, a, format).await,
        Command::Demo(a) => demo::run(endpoint, token, a, format).await,
        Command::Audit { check } => audit::run(endpoint, token, check).await,
        Command::Keygen(a) => keys::keygen(a),
        Command::SubjectRef(a) => keys::subject_ref(a),
        Command::Certs { action } => certs::certs(action),
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

    const ENTRY: &str = "blacklist/310000/sh-2025-0012";

    fn erase(args: &[&str]) -> Result<crate::erase::EraseArgs, clap::Error> {
        let cli = Cli::try_parse_from(["hubctl", "erase"].iter().chain(args))?;
        match cli.command {
            Command::Erase(a) => Ok(a),
            other => panic!("not erase: {other:?}"),
        }
    }

    #[test]
    fn erase_takes_an_entry_and_one_reason() {
        let order =
            erase(&["--entry", ENTRY, "--order-ref", "(2026)沪0101民初1号"]).expect("order");
        assert_eq!(order.entry.to_string(), ENTRY);
        assert_eq!(order.order_ref.as_deref(), Some("(2026)沪0101民初1号"));
        assert!(!order.retention_ended);
        assert_eq!(order.event_id, None);

        let id = "6f1c2a4e-0b7d-4c55-9a3e-1d2f3a4b5c6d";
        let retention =
            erase(&["--entry", ENTRY, "--retention-ended", "--event-id", id]).expect("retention");
        assert!(retention.retention_ended);
        assert_eq!(retention.order_ref, None);
        assert_eq!(
            retention.event_id.map(|e| e.to_string()).as_deref(),
            Some(id)
        );

        let global = Cli::try_parse_from([
            "hubctl",
            "erase",
            "--entry",
            ENTRY,
            "--retention-ended",
            "--json",
        ])
        .expect("global flags after the subcommand");
        assert!(global.json);
    }

    #[test]
    fn erase_refuses_both_reasons_or_none() {
        let both = erase(&["--entry", ENTRY, "--order-ref", "x", "--retention-ended"])
            .expect_err("both reasons");
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        let none = erase(&["--entry", ENTRY]).expect_err("no reason");
        assert_eq!(none.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let msg = none.to_string();
        assert!(
            msg.contains("--order-ref") && msg.contains("--retention-ended"),
            "{msg}"
        );
        let no_entry = erase(&["--retention-ended"]).expect_err("no entry");
        assert_eq!(
            no_entry.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(no_entry.to_string().contains("--entry"), "{no_entry}");
        let no_text = erase(&["--entry", ENTRY, "--order-ref"]).expect_err("no order text");
        assert_eq!(no_text.kind(), clap::error::ErrorKind::InvalidValue);
        assert_eq!(no_text.exit_code(), 2);
    }

    #[test]
    fn erase_refuses_a_bad_entry_naming_the_flag() {
        for bad in [
            "demand/310000/sig-1",
            "recognition/310000",
            "blacklist/310000",
            "blacklist/123456/x",
            "blacklist/310000/bad id",
            "sh-2025-0012",
        ] {
            let err = erase(&["--entry", bad, "--retention-ended"]).expect_err(bad);
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert_eq!(err.exit_code(), 2);
            let msg = err.to_string();
            assert!(msg.contains("--entry"), "{bad}: {msg}");
        }
        let demand = erase(&["--entry", "demand/310000/sig-1", "--retention-ended"])
            .expect_err("demand")
            .to_string();
        assert!(demand.contains("blacklist/<member>/<entry_id>"), "{demand}");
    }

    #[test]
    fn erase_refuses_a_bad_event_id() {
        for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
            let err =
                erase(&["--entry", ENTRY, "--retention-ended", "--event-id", bad]).expect_err(bad);
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(err.to_string().contains("--event-id"), "{err}");
        }
    }
}
