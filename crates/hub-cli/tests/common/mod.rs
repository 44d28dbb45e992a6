//! A test node on its own runtime and a runner for the real `hubctl` binary.

#![allow(dead_code)] // not every test file uses every helper

use std::process::Command;

use hub_server::{Config, RunningNode};
use serde_json::Value;
use tempfile::TempDir;

/// The subject listed by Shanghai and Suzhou in the samples.
pub const TWO_CITY_SUBJECT: &str =
    "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549";

/// A node running on its own runtime, so tests can run `hubctl` synchronously.
pub struct TestNode {
    rt: tokio::runtime::Runtime,
    node: Option<RunningNode>,
    dir: TempDir,
    endpoint: String,
    sandbox: bool,
    tweak: fn(&mut Config),
}

/// A node config: `listen`, data in `dir`, a short shutdown grace.
pub fn config(dir: &std::path::Path, listen: &str, sandbox: bool) -> Config {
    let mut c = Config::defaults();
    c.server.listen = listen.into();
    c.server.shutdown_grace_ms = 2000;
    c.node.data_dir = dir.to_path_buf();
    c.node.sandbox = sandbox;
    c
}

impl TestNode {
    pub fn start(sandbox: bool) -> Self {
        Self::start_with(sandbox, |_| {})
    }

    /// A node whose config `tweak` adjusts (also on restart).
    pub fn start_with(sandbox: bool, tweak: fn(&mut Config)) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = config(dir.path(), "127.0.0.1:0", sandbox);
        tweak(&mut c);
        let node = rt.block_on(RunningNode::start(c)).expect("node starts");
        Self {
            endpoint: node.endpoint(),
            node: Some(node),
            rt,
            dir,
            sandbox,
            tweak,
        }
    }

    /// A node with the samples loaded.
    pub fn with_samples() -> Self {
        let node = Self::start(true);
        node.hubctl(&["demo"]).ok();
        node
    }

    /// Stops the node and starts it again on the same address and data.
    pub fn restart(&mut self) {
        let node = self.node.take().expect("running");
        let addr = node.addr.to_string();
        self.rt.block_on(node.stop()).expect("node stops");
        let mut c = config(self.dir.path(), &addr, self.sandbox);
        (self.tweak)(&mut c);
        let node = self
            .rt
            .block_on(RunningNode::start(c))
            .expect("node restarts on the same address");
        self.node = Some(node);
    }

    /// Stops the node, releasing its data directory.
    pub fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            self.rt.block_on(node.stop()).expect("node stops");
        }
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        hubctl_command(&self.endpoint, args)
    }

    pub fn hubctl(&self, args: &[&str]) -> Out {
        run(self.command(args))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.hubctl(&all).ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", out.stdout))
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            let _ = self.rt.block_on(node.stop());
        }
    }
}

/// `hubctl --endpoint <endpoint> <args>`, blind to the caller's HUBCTL_* environment.
pub fn hubctl_command(endpoint: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hubctl"));
    c.arg("--endpoint")
        .arg(endpoint)
        .args(args)
        .env_remove("HUBCTL_TOKEN")
        .env_remove("HUBCTL_ENDPOINT");
    c
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "hubctl failed: {}{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The line of stdout that starts with `start` (after trimming), or a panic.
    #[track_caller]
    pub fn line(&self, start: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{}", self.stdout))
    }

    /// The cells of the first table row whose leading cells are `key`, or a panic.
    #[track_caller]
    pub fn row(&self, key: &[&str]) -> Vec<&str> {
        self.stdout
            .lines()
            .map(cells)
            .find(|c| c.starts_with(key))
            .unwrap_or_else(|| panic!("no row {key:?} in:\n{}", self.stdout))
    }
}

/// Runs a command to the end and captures its output.
pub fn run(mut c: Command) -> Out {
    let out = c.output().expect("hubctl runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The whitespace-separated cells of a table line.
pub fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A JSON Lines event publishing Shanghai demand signal `signal` (event id number `n`).
pub fn demand_line(signal: &str, n: u32, headcount: u32) -> String {
    format!(
        r#"{{"stream": "demand/310000/{signal}", "event_id": "00000000-0000-4000-8000-{n:012}", "body": {{"kind": "demand_signal_published", "signal_id": "{signal}", "industry": "aerospace", "occupation_code": "2-02-07-01", "level": "senior", "headcount": {headcount}, "period": "2026-Q3", "pay_band": {{"min": 20000, "max": 30000}}, "education": "master"}}}}"#
    )
}
