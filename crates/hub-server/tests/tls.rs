//! Mutual TLS: callers are named by their certificates; certificates from an unknown CA,
//! expired ones and ones naming no valid role are refused.

mod common;

use std::path::Path;

use common::*;
use hub_cli::certs::init_dev_certs;
use hub_proto::pb;
use hub_server::tls::TlsConfig;
use hub_server::RunningNode;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;

async fn tls_node(data: &Path, certs: &Path) -> RunningNode {
    let certs = certs.to_path_buf();
    start(data, move |c| {
        c.tls = Some(TlsConfig {
            cert: certs.join("node.pem"),
            key: certs.join("node.key"),
            client_ca: certs.join("ca.pem"),
        });
    })
    .await
}

async fn connect(
    node: &RunningNode,
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Channel, String> {
    let read = |p: &Path| std::fs::read(p).expect("read pem");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca)))
        .identity(Identity::from_pem(read(cert), read(key)))
        .domain_name("localhost");
    Channel::from_shared(format!("https://localhost:{}", node.addr.port()))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// A client certificate signed by the CA in `dir`, with a chosen subject and validity.
fn extra_cert(dir: &Path, stem: &str, cn: &str, ou: &str, expired: bool) {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca.key")).expect("ca key"))
        .expect("parse ca key");
    let ca_params = CertificateParams::from_ca_cert_pem(
        &std::fs::read_to_string(dir.join("ca.pem")).expect("ca"),
    )
    .expect("parse ca");
    let ca = ca_params.self_signed(&ca_key).expect("issuer");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, ou);
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, &ca, &ca_key).expect("sign");
    std::fs::write(dir.join(format!("{stem}.pem")), cert.pem()).expect("write");
    std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_named_by_their_certificates() {
    let data = tempfile::tempdir().expect("data");
    let certs = tempfile::tempdir().expect("certs");
    let members = ["310000".parse().expect("m"), "330400".parse().expect("m")];
    init_dev_certs(certs.path(), &members).expect("certs");
    assert!(
        init_dev_certs(certs.path(), &members).is_err(),
        "the CA is never replaced"
    );
    let node = tls_node(data.path(), certs.path()).await;
    let c = certs.path();
    let ca = c.join("ca.pem");
    let client = |stem: &str| (c.join(format!("{stem}.pem")), c.join(format!("{stem}.key")));

    let (cert, key) = client("member-310000");
    let channel = connect(&node, &ca, &cert, &key)
        .await
        .expect("member connects");
    let mut publisher = pb::publisher_client::PublisherClient::new(channel.clone());
    let (stream, event) = demand("310000", "tls-1", 3);
    publisher
        .append(append_one(&stream, event))
        .await
        .expect("own city appends");
    let (stream, event) = demand("330400", "tls-2", 3);
    let status = publisher
        .append(append_one(&stream, event))
        .await
        .expect_err("foreign");
    assert_eq!(status.code(), Code::PermissionDenied);

    let (cert, key) = client("operator");
    let channel = connect(&node, &ca, &cert, &key)
        .await
        .expect("operator connects");
    let (stream, event) = demand("310000", "tls-3", 3);
    let status = pb::publisher_client::PublisherClient::new(channel.clone())
        .append(append_one(&stream, event))
        .await
        .expect_err("operators never publish");
    assert_eq!(status.code(), Code::PermissionDenied);
    pb::query_client::QueryClient::new(channel)
        .view_info(pb::ViewInfoRequest::default())
        .await
        .expect("operators read node information");

    // A certificate from the CA that names no valid role.
    extra_cert(c, "king", "310000", "king", false);
    let (cert, key) = client("king");
    let channel = connect(&node, &ca, &cert, &key).await.expect("handshake");
    let status = pb::query_client::QueryClient::new(channel)
        .view_info(pb::ViewInfoRequest::default())
        .await
        .expect_err("bad role");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("king"), "{}", status.message());

    // Expired, and from another CA: the handshake (or the first call) fails.
    extra_cert(c, "expired", "310000", "member", true);
    let other = tempfile::tempdir().expect("other ca");
    init_dev_certs(other.path(), &members).expect("other certs");
    let refused = [
        client("expired"),
        (
            other.path().join("member-310000.pem"),
            other.path().join("member-310000.key"),
        ),
    ];
    for (cert, key) in refused {
        let outcome = match connect(&node, &ca, &cert, &key).await {
            Err(e) => Err(e),
            Ok(channel) => pb::query_client::QueryClient::new(channel)
                .view_info(pb::ViewInfoRequest::default())
                .await
                .map(|_| ())
                .map_err(|s| format!("{s:?}")),
        };
        assert!(outcome.is_err(), "{} was accepted", cert.display());
    }

    // Tokens mean nothing under mutual TLS.
    let (cert, key) = client("operator");
    let channel = connect(&node, &ca, &cert, &key)
        .await
        .expect("operator connects");
    let mut as_member =
        pb::publisher_client::PublisherClient::with_interceptor(channel, Auth::bearer(SH));
    let (stream, event) = demand("310000", "tls-4", 3);
    let status = as_member
        .append(append_one(&stream, event))
        .await
        .expect_err("token ignored");
    assert_eq!(status.code(), Code::PermissionDenied);
    node.stop().await.expect("stop");
}
