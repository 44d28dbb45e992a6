//! The `talent-hub` server: a city's node of the talent alliance.
//!
//! - [`admin`]: the admin listener: Prometheus metrics, probes and the operator console.
//! - [`config`]: layered configuration (defaults → file → environment → flags).
//! - [`access`]: the hash-chained trail of blacklist checks.
//! - [`identity`]: callers, roles and what they may see, shared by every part.
//! - [`auth`]: bearer-token authentication and the authorisation matrix, in one place.
//! - [`hub`]: the shared state (log, view, limits) every service uses.
//! - [`publisher`], [`query`], [`streams`], [`audit`]: the gRPC services of `talenthub.v1`.
//! - [`keys`]: which key signs for which city, and the roster's public keys.
//! - [`tls`]: mutual TLS, the caller a client certificate names, development certificates.
//! - [`repair`]: an operator's rewind or re-publication of the replicated topic.
//! - [`error`]: what the node itself refuses (credentials, permissions, limits).
//! - [`status`]: the one mapping from errors to gRPC status codes.
//! - [`tasks`]: the node's background tasks, joined when it stops.
//! - [`server`]: assembling, serving and stopping a node; [`server::RunningNode`] runs one
//!   in-process on port 0 for tests.

pub mod access;
pub mod admin;
pub mod admission;
pub mod audit;
pub mod auth;
pub mod config;
pub mod connections;
pub mod error;
pub mod fanout;
pub mod hub;
pub mod identity;
pub mod keys;
pub mod metrics;
pub mod publisher;
pub mod query;
pub mod repair;
pub mod retention;
pub mod server;
pub mod status;
pub mod streams;
pub mod tasks;
pub mod tls;

pub use config::Config;
pub use hub::LEAVES_FILE;
pub use server::RunningNode;
