//! Just enough of the W3C WebDriver protocol to drive headless Chromium through
//! chromedriver: open a session, navigate, run scripts, take screenshots, read the
//! browser's console log.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use base64::Engine;
use serde_json::{json, Value};

/// Where Debian installs the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The chromedriver binary, if installed.
pub fn chromedriver() -> Option<PathBuf> {
    let candidates = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    found.filter(|_| Path::new(CHROMIUM).exists())
}

/// A running chromedriver with one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

async fn call(method: Method, url: &str, body: Option<Value>) -> Value {
    let (status, text) = super::call(method, url, body.map(|b| b.to_string())).await;
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    assert!(status < 300, "{url}: HTTP {status}: {text}");
    v["value"].clone()
}

impl Browser {
    /// Starts chromedriver on a free port and headless Chromium with a fresh profile.
    pub async fn start(driver: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,2400",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let session = call(Method::POST, &format!("{base}/session"), Some(caps)).await;
        let session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        Self {
            driver: child,
            base,
            session,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}/{path}", self.base, self.session)
    }

    /// Loads `url`.
    pub async fn goto(&self, url: &str) {
        call(Method::POST, &self.url("url"), Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body that may `return`) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        call(
            Method::POST,
            &self.url("execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits until `script` returns true.
    pub async fn wait_for(&self, what: &str, script: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.eval(script).await != Value::Bool(true) {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = call(Method::GET, &self.url("screenshot"), None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 screenshot"))
            .expect("decode screenshot");
        std::fs::write(path, bytes).expect("write screenshot");
    }

    /// The browser console's entries since the last call: `(level, message)`.
    pub async fn console_log(&self) -> Vec<(String, String)> {
        let entries = call(
            Method::POST,
            &self.url("se/log"),
            Some(json!({ "type": "browser" })),
        )
        .await;
        entries
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_owned(),
                            e["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = super::call(Method::DELETE, &url, None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
