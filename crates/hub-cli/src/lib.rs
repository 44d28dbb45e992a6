//! `hubctl`: the command-line client of a Talent Hub node, over its gRPC API.
//!
//! - [`cli`]: the flags and subcommands, and [`run`], which dispatches them.
//! - [`client`]: the connection and the bearer token every call carries.
//! - [`publish`], [`erase`], [`query`], [`tail`], [`replay`], [`demo`], [`audit`],
//!   [`keys`], [`certs`], [`replication`]: one module per command; [`register`] holds
//!   the talent register's (`whitelist`, `award`, `screen`, `register`).
//! - [`output`]: aligned tables for people, JSON for machines, enum names.
//! - [`error`]: one readable line per failure, and the exit code (2 bad input, 1 server
//!   error, 3 unreachable node).
//!
//! The binary (`src/main.rs`) only parses the command line and maps the outcome to an
//! exit code, so tests can drive every piece from here.

pub mod audit;
pub mod certs;
pub mod cli;
pub mod client;
pub mod demo;
pub mod erase;
pub mod error;
pub mod keys;
pub mod output;
pub mod publish;
pub mod query;
pub mod register;
pub mod replay;
pub mod replication;
pub mod tail;

pub use cli::{run, Cli};
pub use error::{CliError, Result};

/// Where `hubctl` looks for a node unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";
