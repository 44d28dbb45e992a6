//! One `talent-hub` process: its config file, data directory and log file, started,
//! killed and restarted like a deployment would.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hub_proto::pb;

use crate::client::{self, Authed};

/// A free loopback port (bound, read, released).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind port 0")?;
    Ok(listener.local_addr()?.port())
}

/// Sends the signal `name` (`TERM`, `STOP`, `CONT`, …) to process `pid`, with the shell's
/// `kill` builtin.
pub fn send_signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -s {name} {pid}")])
        .status()
        .context("cannot run sh")?;
    if !status.success() {
        bail!("kill -s {name} {pid} failed");
    }
    Ok(())
}

/// Whether this process runs as root (`id -u`), which may make a mount namespace without
/// a user namespace of its own.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The resident memory of process `pid` now, in KiB (`VmRSS` of `/proc/<pid>/status`);
/// `None` when it has ended or the system has no `/proc`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// How a node is configured.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The city it publishes for.
    pub member: String,
    /// `bootstrap.servers`, when it replicates.
    pub brokers: Option<String>,
    /// `server.shutdown_grace_ms`.
    pub grace_ms: u64,
    /// The events topic.
    pub topic: String,
}

/// A `talent-hub` process (or its stopped remains: config, data, log).
#[derive(Debug)]
pub struct Node {
    spec: NodeSpec,
    port: u16,
    dir: PathBuf,
    /// Behind a lock so that a failing check can ask whether the process died.
    child: std::sync::Mutex<Option<Child>>,
    /// The largest file the process may write, in KiB (`ulimit -f`), when limited.
    file_size_limit_kib: Option<u64>,
    /// The size of a file system of the process's own mounted on its data directory, when
    /// it has one.
    own_file_system_bytes: Option<u64>,
    /// `TALENT_HUB__…` settings on top of the config file, from the next start.
    env: Vec<(String, String)>,
}

impl Node {
    /// Prepares a node under `root/<member>` (nothing runs yet).
    pub fn new(root: &Path, spec: NodeSpec) -> anyhow::Result<Self> {
        let dir = root.join(&spec.member);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            port: free_port()?,
            spec,
            dir,
            child: std::sync::Mutex::new(None),
            file_size_limit_kib: None,
            own_file_system_bytes: None,
            env: Vec::new(),
        })
    }

    /// The city it publishes for.
    pub fn member(&self) -> &str {
        &self.spec.member
    }

    /// Its data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Its log file (stdout and stderr of every run, appended).
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// The gRPC endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn write_config(&self) -> anyhow::Result<PathBuf> {
        let mut toml = format!(
            "[node]\nmember = \"{}\"\ndata_dir = \"{}\"\n\n[server]\nlisten = \"127.0.0.1:{}\"\nshutdown_grace_ms = {}\n",
            self.spec.member,
            self.data_dir().display(),
            self.port,
            self.spec.grace_ms,
        );
        // The admin listener is off: every node of a cluster would otherwise take the
        // default admin port and all but the first would run without one.
        toml.push_str("\n[admin]\nlisten = \"\"\n");
        if let Some(brokers) = &self.spec.brokers {
            toml.push_str(&format!(
                "\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{}\"\n\n[kafka.properties]\n\"reconnect.backoff.max.ms\" = \"1000\"\n",
                self.spec.topic
            ));
        }
        let path = self.dir.join("config.toml");
        std::fs::write(&path, toml)?;
        Ok(path)
    }

    /// Limits the size of every file the process writes from its next start (`None` = no
    /// limit; the soft limit, so `prlimit --fsize=unlimited:` may lift it): a write beyond
    /// it fails with "file too large", as on a full disk.
    pub fn limit_file_size(&mut self, kib: Option<u64>) {
        self.file_size_limit_kib = kib;
    }

    /// Gives the process, from its next start, a file system of its own of `bytes` on its
    /// data directory (`None` = the host's): a tmpfs mounted in a mount namespace of the
    /// process (`unshare`), so it fills for real and vanishes when the process ends. The
    /// test reaches its files through [`Node::files_seen_by_the_process`].
    pub fn own_file_system(&mut self, bytes: Option<u64>) {
        self.own_file_system_bytes = bytes;
    }

    /// Where the running process's data directory is seen from outside, through
    /// `/proc/<pid>/root` (its own file system included, when it has one).
    pub fn files_seen_by_the_process(&self) -> Option<PathBuf> {
        let data = self.data_dir();
        let relative = data.strip_prefix("/").ok()?;
        Some(Path::new(&format!("/proc/{}/root", self.pid()?)).join(relative))
    }

    /// Sets `key` of the configuration (`section.key`, e.g. `server.max_in_flight`) to
    /// `value` from the next start, through the `TALENT_HUB__SECTION__KEY` environment
    /// variable, which wins over the config file.
    pub fn set(&mut self, key: &str, value: impl ToString) {
        let var = format!("TALENT_HUB__{}", key.replace('.', "__").to_uppercase());
        self.env.retain(|(k, _)| *k != var);
        self.env.push((var, value.to_string()));
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Child::id)
    }

    /// Its resident memory now, in KiB; `None` when it is not running.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid()?)
    }

    /// Starts the process and waits until it answers `ViewInfo`.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self
            .child
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            bail!("node {} is already running", self.spec.member);
        }
        let config = self.write_config()?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let binary = crate::binary::talent_hub()?;
        let mut command = match (self.file_size_limit_kib, self.own_file_system_bytes) {
            (None, None) => Command::new(&binary),
            (limit, fs) => {
                // The shell sets the limit and ignores SIGXFSZ, so an oversized write fails
                // with EFBIG instead of killing the process; it mounts the file system in
                // the mount namespace `unshare` made (in a user namespace of its own when
                // not run as root, so that no privilege is needed); `exec` keeps the pid.
                let mut script = String::new();
                if let Some(kib) = limit {
                    // The soft limit only, so that a test may raise it while the process
                    // runs (`prlimit`) without privilege.
                    script.push_str(&format!("ulimit -S -f {kib} && trap '' XFSZ && "));
                }
                let mut c = match fs {
                    Some(bytes) => {
                        std::fs::create_dir_all(self.data_dir())?;
                        script.push_str(&format!(
                            "mount -t tmpfs -o size={bytes} tmpfs '{}' && ",
                            self.data_dir().display()
                        ));
                        let mut c = Command::new("unshare");
                        if !is_root() {
                            c.args(["--user", "--map-root-user"]);
                        }
                        c.args(["--mount", "sh"]);
                        c
                    }
                    None => Command::new("sh"),
                };
                script.push_str("exec \"$0\" \"$@\"");
                c.arg("-c").arg(script).arg(&binary);
                c
            }
        };
        let child = command
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info,hub_replication=debug")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start talent-hub")?;
        *self.child.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut q) = self.query().await {
                if q.view_info(pb::ViewInfoRequest::default()).await.is_ok() {
                    return Ok(());
                }
            }
            if let Some(status) = self.exit_status() {
                *self.child.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
                bail!(
                    "node {} exited at start ({status}):\n{}",
                    self.spec.member,
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "node {} not ready within 60 s:\n{}",
                    self.spec.member,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How the process ended, if it was started and has ended on its own (not by `kill`).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut slot = self.child.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL: no clean close of anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self
            .child
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits up to `within` for the process to end; `Err` naming how long
    /// it took if it did not.
    pub fn terminate(&mut self, within: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
        let slot = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let child = slot.as_mut().context("the node is not running")?;
        let began = Instant::now();
        send_signal(child.id(), "TERM")?;
        loop {
            if let Some(status) = child.try_wait()? {
                *slot = None;
                return Ok((status, began.elapsed()));
            }
            if began.elapsed() > within {
                bail!(
                    "node {} still running {:?} after SIGTERM:\n{}",
                    self.spec.member,
                    began.elapsed(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A Query client with the operator token.
    pub async fn query(&self) -> anyhow::Result<pb::query_client::QueryClient<Authed>> {
        client::query(&self.endpoint(), "dev-operator").await
    }

    /// A Publisher client for this node's own city.
    pub async fn publisher(&self) -> anyhow::Result<pb::publisher_client::PublisherClient<Authed>> {
        client::publisher(
            &self.endpoint(),
            &format!("dev-member-{}", self.spec.member),
        )
        .await
    }

    /// `ViewInfo` now.
    pub async fn info(&self) -> anyhow::Result<pb::ViewInfoResponse> {
        Ok(self
            .query()
            .await?
            .view_info(pb::ViewInfoRequest::default())
            .await?
            .into_inner())
    }

    /// Every event in its log, through `ReadAll` as a member.
    pub async fn events(&self) -> anyhow::Result<Vec<pb::Event>> {
        client::read_all(
            &self.endpoint(),
            &format!("dev-member-{}", self.spec.member),
        )
        .await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
