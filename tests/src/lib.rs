//! System tests of Talent Hub: real `talent-hub` processes, a real Kafka-compatible broker
//! process (tansu), real data directories, and the faults a deployment meets (SIGKILL,
//! SIGSTOP, a broker restarted with empty storage).
//!
//! - [`binary`]: where the `talent-hub` binary under test comes from.
//! - [`broker`]: a tansu broker process with in-memory storage (a restart empties it).
//! - [`node`]: one `talent-hub` process with its config, data directory and log file.
//! - [`cluster`]: a small builder (N cities, an optional broker, ports, data directories,
//!   teardown on drop), so tests read like a story.
//! - [`client`]: gRPC clients and the events the stories publish.
//!
//! The broker tests need `tansu` on `PATH` or in `~/.cargo/bin`
//! (`cargo install tansu --locked --features dynostore --version 0.6.0`); without it they
//! print one line saying what was skipped and pass.

pub mod binary;
pub mod broker;
pub mod client;
pub mod cluster;
pub mod node;

pub use broker::Broker;
pub use cluster::Cluster;
pub use node::Node;

/// Polls `check` every 100 ms until it returns `Some`, or fails after `within` with the
/// last state `describe` gives.
pub async fn eventually<T, F, Fut>(
    within: std::time::Duration,
    what: &str,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(v) => return Ok(v),
            Err(last) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!("{what}: not within {within:?}; last: {last}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}
