//! The admin listener beyond loopback, through a real `talent-hub` process: it refuses to
//! start without `[tls]`, and with the development certificates it serves `/metrics` over
//! HTTPS to a client holding a certificate of the alliance CA, and nothing to plain HTTP or
//! to a client without a certificate.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_cli::certs::init_dev_certs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A free port (bound on every interface, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Writes a node config with the admin listener on every interface, and `[tls]` when
/// `certs` is given.
fn write_config(dir: &Path, grpc: u16, admin: u16, certs: Option<&Path>) -> PathBuf {
    let mut toml = format!(
        "[node]\nmember = \"310000\"\ndata_dir = \"{}\"\n\n[server]\nlisten = \"127.0.0.1:{grpc}\"\n\n[admin]\nlisten = \"0.0.0.0:{admin}\"\n",
        dir.join("data").display()
    );
    if let Some(certs) = certs {
        toml.push_str(&format!(
            "\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n",
            certs.join("node.pem").display(),
            certs.join("node.key").display(),
            certs.join("ca.pem").display(),
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    path
}

fn talent_hub(config: &Path, log: &Path) -> Command {
    let log = std::fs::File::create(log).expect("log file");
    let mut c = Command::new(env!("CARGO_BIN_EXE_talent-hub"));
    c.arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log);
    c
}

/// Kills the node when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TLS client trusting the CA in `certs`, presenting `identity` (a file stem there).
fn client_config(certs: &Path, identity: Option<&str>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(certs.join("ca.pem")).expect("ca.pem") {
        roots.add(ca.expect("ca pem")).expect("ca certificate");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    match identity {
        Some(stem) => {
            let chain = CertificateDer::pem_file_iter(certs.join(format!("{stem}.pem")))
                .expect("client cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert pem");
            let key = PrivateKeyDer::from_pem_file(certs.join(format!("{stem}.key")))
                .expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
        None => builder.with_no_client_auth(),
    }
}

/// `GET path` over HTTPS to `localhost:port`; the raw response, or why there is none.
async fn https_get(port: u16, path: &str, tls: rustls::ClientConfig) -> Result<String, String> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?;
    // A server that closes without close_notify still gave its whole answer.
    if let Err(e) = read {
        if response.is_empty() {
            return Err(format!("read: {e}"));
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Plain `GET path` over TCP; whatever comes back (empty when the server hangs up).
fn plain_get(port: u16, path: &str) -> String {
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let _ = tcp.write_all(request.as_bytes());
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn admin_beyond_loopback_without_tls_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = free_port();
    let config = write_config(dir.path(), free_port(), admin, None);
    let log = dir.path().join("node.log");
    let mut child = talent_hub(&config, &log).spawn().expect("start talent-hub");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "talent-hub kept running with an admin listener beyond loopback and no [tls]:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log).expect("log");
    assert!(!status.success(), "{output}");
    assert!(output.contains("admin.listen"), "{output}");
    assert!(output.contains("[tls]"), "{output}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", admin)).is_err(),
        "nothing listens on the admin port"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_beyond_loopback_serves_metrics_over_https_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    init_dev_certs(&certs, &["310000".parse().expect("member")]).expect("dev certs");
    let admin = free_port();
    let config = write_config(dir.path(), free_port(), admin, Some(&certs));
    let log = dir.path().join("node.log");
    let mut node = Running(talent_hub(&config, &log).spawn().expect("start talent-hub"));
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // Ready over HTTPS once the view has caught up.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = https_get(admin, "/readyz", client_config(&certs, Some("operator"))).await;
        if answer
            .as_deref()
            .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        if let Some(status) = node.0.try_wait().expect("wait") {
            panic!("talent-hub exited ({status}):\n{}", log_text());
        }
        assert!(
            Instant::now() < deadline,
            "not ready over HTTPS within 60 s ({answer:?}):\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let metrics = https_get(admin, "/metrics", client_config(&certs, Some("operator")))
        .await
        .unwrap_or_else(|e| panic!("{e}:\n{}", log_text()));
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("\r\ncontent-type: application/openmetrics-text")
            || metrics.contains("\r\ncontent-type: text/plain"),
        "{metrics}"
    );
    assert!(metrics.contains("\ntalenthub_ready 1"), "{metrics}");
    assert!(
        metrics.contains("\ntalenthub_log_head_position 0"),
        "{metrics}"
    );

    // Plain HTTP on the same port gets no HTTP answer: the listener speaks only TLS.
    let plain = plain_get(admin, "/metrics");
    assert!(
        !plain.contains("HTTP/1."),
        "plain HTTP was answered: {plain}"
    );
    assert!(!plain.contains("talenthub_"), "{plain}");

    // Without a client certificate of the alliance CA there is no answer either.
    let anonymous = https_get(admin, "/metrics", client_config(&certs, None)).await;
    assert!(
        !anonymous
            .as_deref()
            .is_ok_and(|r| r.starts_with("HTTP/1.1 200")),
        "answered a client without a certificate: {anonymous:?}"
    );

    // The node still serves after the refused connections.
    let again = https_get(
        admin,
        "/livez",
        client_config(&certs, Some("member-310000")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}:\n{}", log_text()));
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}
