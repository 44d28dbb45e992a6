//! Mutual TLS: every caller presents a client certificate signed by the alliance CA, whose
//! subject names the caller: common name = member city code, organisational unit = role
//! (`member`, `auditor`, `operator`). Required whenever the node listens beyond loopback.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hub_types::MemberId;
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::error::Credentials;
use crate::identity::{Caller, Role};

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
pub fn caller_from_certificate(der: &[u8]) -> Result<Caller, Credentials> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| Credentials::CertificateUnreadable)?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or(Credentials::NoCommonName)?;
    let member: MemberId = cn
        .parse()
        .map_err(|_| Credentials::CommonNameNotMember(cn.to_owned()))?;
    let ou = subject
        .iter_organizational_unit()
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or(Credentials::NoRole)?;
    let role = match ou {
        "member" => Role::Member,
        "auditor" => Role::Auditor,
        "operator" => Role::Operator,
        other => return Err(Credentials::UnknownRole(other.to_owned())),
    };
    Ok(Caller { member, role })
}
