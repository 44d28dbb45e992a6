//! Mutual TLS: every caller presents a client certificate signed by the alliance CA, whose
//! subject names the caller: common name = member city code, organisational unit = role
//! (`member`, `auditor`, `operator`). Required whenever the node listens beyond loopback.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hub_types::MemberId;
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::Status;

use crate::auth::{Caller, Role};

/// `[tls]`: the node's certificate and the CA its callers' certificates must chain to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The node's certificate chain (PEM).
    pub cert: PathBuf,
    /// The node's private key (PEM).
    pub key: PathBuf,
    /// The alliance CA (PEM) that signs every caller's certificate.
    pub client_ca: PathBuf,
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("tls.{what}: cannot read {}", path.display()))
}

/// The server side of mutual TLS: client certificates are required.
pub fn server_config(c: &TlsConfig) -> anyhow::Result<ServerTlsConfig> {
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(
            read(&c.cert, "cert")?,
            read(&c.key, "key")?,
        ))
        .client_ca_root(Certificate::from_pem(read(&c.client_ca, "client_ca")?)))
}

/// The caller a (CA-verified) client certificate names.
pub fn caller_from_certificate(der: &[u8]) -> Result<Caller, Status> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| Status::unauthenticated("client certificate cannot be parsed"))?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or_else(|| Status::unauthenticated("client certificate has no common name"))?;
    let member: MemberId = cn.parse().map_err(|_| {
        Status::unauthenticated(format!(
            "client certificate common name {cn:?} is not a member code"
        ))
    })?;
    let ou = subject
        .iter_organizational_unit()
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or_else(|| Status::unauthenticated("client certificate names no role (OU)"))?;
    let role = match ou {
        "member" => Role::Member,
        "auditor" => Role::Auditor,
        "operator" => Role::Operator,
        other => {
            return Err(Status::unauthenticated(format!(
                "client certificate role {other:?} is not member, auditor or operator"
            )))
        }
    };
    Ok(Caller { member, role })
}

/// What `init_dev_certs` wrote.
#[derive(Debug)]
pub struct DevCerts {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The node certificate and key.
    pub node: (PathBuf, PathBuf),
    /// Client certificate and key per file stem (`member-310000`, `auditor`, `operator`).
    pub clients: Vec<(String, PathBuf, PathBuf)>,
}

/// Creates a development CA, a node certificate (for `localhost`, `127.0.0.1` and the
/// compose service names) and client certificates for every member, one auditor and one
/// operator, in `dir`. Refuses to overwrite an existing CA.
pub fn init_dev_certs(dir: &Path, members: &[MemberId]) -> anyhow::Result<DevCerts> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_path = dir.join("ca.pem");
    anyhow::ensure!(
        !ca_path.exists(),
        "{} exists; refusing to replace the CA",
        ca_path.display()
    );
    let write = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    };
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Talent Hub development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;
    write("ca.pem", &ca.pem())?;
    write("ca.key", &ca_key.serialize_pem())?;

    let node_key = KeyPair::generate()?;
    let mut node_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "shanghai".to_owned(),
        "hangzhou".to_owned(),
        "jiaxing".to_owned(),
    ])?;
    node_params
        .distinguished_name
        .push(DnType::CommonName, "talent-hub node");
    let node = node_params.signed_by(&node_key, &ca, &ca_key)?;
    let node_paths = (
        write("node.pem", &node.pem())?,
        write("node.key", &node_key.serialize_pem())?,
    );

    let mut clients = Vec::new();
    let mut subjects: Vec<(String, MemberId, &str)> = members
        .iter()
        .map(|m| (format!("member-{m}"), *m, "member"))
        .collect();
    if let Some(first) = members.first() {
        subjects.push(("auditor".into(), *first, "auditor"));
        subjects.push(("operator".into(), *first, "operator"));
    }
    for (stem, member, role) in subjects {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, member.to_string());
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, role);
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        let cert_path = write(&format!("{stem}.pem"), &cert.pem())?;
        let key_path = write(&format!("{stem}.key"), &key.serialize_pem())?;
        clients.push((stem, cert_path, key_path));
    }
    Ok(DevCerts {
        ca: ca_path,
        node: node_paths,
        clients,
    })
}
