//! A tansu broker process: Kafka-compatible, with in-memory storage, so that killing it
//! and starting it again is "a broker restarted with empty storage".

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

/// The install command the README and the skip line name.
pub const INSTALL: &str = "cargo install tansu --locked --features dynostore --version 0.6.0";

/// The `tansu` executable: on `PATH`, or in `~/.cargo/bin`.
pub fn find_tansu() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = Path::new(&home).join(".cargo/bin/tansu");
        p.is_file().then_some(p)
    })
}

/// `tansu`, or `None` after printing (once per test binary, past the test harness's output
/// capture) the one line that says which tests were skipped and how to run them. With
/// `HUB_REQUIRE_BROKER` set (as CI does), a missing `tansu` fails instead.
pub fn tansu_or_skip(suite: &str) -> Option<PathBuf> {
    static SKIP: std::sync::Once = std::sync::Once::new();
    let found = find_tansu();
    if found.is_none() && std::env::var_os("HUB_REQUIRE_BROKER").is_some() {
        panic!("HUB_REQUIRE_BROKER is set but `tansu` is not installed: `{INSTALL}`");
    }
    if found.is_none() {
        SKIP.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {suite}: `tansu` is not on PATH nor in ~/.cargo/bin; install it with \
                 `{INSTALL}` and run `cargo test -p hub-system-tests`"
            );
        });
    }
    found
}

/// A running (or stopped) tansu broker on a fixed loopback port.
#[derive(Debug)]
pub struct Broker {
    tansu: PathBuf,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts `tansu` on a free port, logging to `<dir>/broker.log`.
    pub fn start(tansu: &Path, dir: &Path) -> anyhow::Result<Self> {
        let mut broker = Self {
            tansu: tansu.to_path_buf(),
            port: crate::node::free_port()?,
            log: dir.join("broker.log"),
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .context("cannot open the broker log")?;
        let child = Command::new(&self.tansu)
            .arg("broker")
            .args(["--listener-url", &self.url()])
            .args(["--advertised-listener-url", &self.url()])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.tansu.display()))?;
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if std::time::Instant::now() > deadline {
                bail!("the broker did not listen on {} within 30 s", self.port);
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                bail!(
                    "the broker exited at start ({status}); see {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Creates the events topic (3 partitions) and its compacted keys topic, as an
    /// operator would; retried until the broker accepts.
    pub fn create_topics(&self, topic: &str) -> anyhow::Result<()> {
        self.create_topic(topic, &[])?;
        self.create_topic(&format!("{topic}.keys"), &["cleanup.policy=compact"])
    }

    fn create_topic(&self, name: &str, config: &[&str]) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut cmd = Command::new(&self.tansu);
            cmd.args(["topic", "create", "--broker", &self.url(), name])
                .args(["--partitions", "3"]);
            for c in config {
                cmd.args(["--config", c]);
            }
            let out = cmd.output().context("cannot run tansu topic create")?;
            if out.status.success() {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "cannot create topic {name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGSTOP: the broker keeps its connections but answers nothing.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("STOP")
    }

    /// SIGCONT after [`Broker::pause`].
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("CONT")
    }

    /// SIGKILL: everything it stored is gone (in-memory storage).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port, with empty storage and no topics.
    pub fn restart_empty(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }

    fn signal(&self, name: &str) -> anyhow::Result<()> {
        let child = self.child.as_ref().context("the broker is not running")?;
        crate::node::send_signal(child.id(), name)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A paused broker must be resumed to die promptly.
        let _ = self.signal("CONT");
        self.kill();
    }
}
