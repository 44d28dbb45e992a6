//! `hubctl certs init`: a development certificate authority and the certificates mutual
//! TLS needs, named the way the node reads callers from them: common name = member city
//! code, organisational unit = role (`member`, `auditor`, `operator`).
//!
//! Kept out of the server, which only verifies certificates: the node's own TLS tests make
//! their certificates with [`init_dev_certs`] too.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use hub_types::roster::Roster;
use hub_types::MemberId;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use crate::error::{CliError, Result};

/// The certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCmd {
    /// Create a development CA, a node certificate and client certificates for every
    /// roster city (role member), one auditor and one operator.
    Init {
        /// Directory to write them to.
        #[arg(long, default_value = "config/certs")]
        out: PathBuf,
    },
}

/// Runs a certificate subcommand.
pub fn certs(cmd: &CertsCmd) -> Result<()> {
    match cmd {
        CertsCmd::Init { out } => {
            let members: Vec<_> = Roster::builtin().members.iter().map(|m| m.code).collect();
            let made = init_dev_certs(out, &members)?;
            println!("CA          {}", made.ca.display());
            println!(
                "node        {} {}",
                made.node.0.display(),
                made.node.1.display()
            );
            for (stem, cert, _) in &made.clients {
                println!("{stem:<20} {}", cert.display());
            }
            println!("these are development certificates: the CA key is next to them");
            Ok(())
        }
    }
}

/// What [`init_dev_certs`] wrote.
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
pub fn init_dev_certs(dir: &Path, members: &[MemberId]) -> Result<DevCerts> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Input(format!("cannot create {}: {e}", dir.display())))?;
    let ca_path = dir.join("ca.pem");
    if ca_path.exists() {
        return Err(CliError::Input(format!(
            "{} exists; refusing to replace the CA",
            ca_path.display()
        )));
    }
    let write = |name: &str, text: &str| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| CliError::Input(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    };
    let ca_key = KeyPair::generate().map_err(rcgen_error)?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Talent Hub development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).map_err(rcgen_error)?;
    write("ca.pem", &ca.pem())?;
    write("ca.key", &ca_key.serialize_pem())?;

    let node_key = KeyPair::generate().map_err(rcgen_error)?;
    let mut node_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "shanghai".to_owned(),
        "hangzhou".to_owned(),
        "jiaxing".to_owned(),
    ])
    .map_err(rcgen_error)?;
    node_params
        .distinguished_name
        .push(DnType::CommonName, "talent-hub node");
    let node = node_params
        .signed_by(&node_key, &ca, &ca_key)
        .map_err(rcgen_error)?;
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
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, member.to_string());
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, role);
        let cert = params.signed_by(&key, &ca, &ca_key).map_err(rcgen_error)?;
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

fn rcgen_error(e: rcgen::Error) -> CliError {
    CliError::Input(format!("cannot make a development certificate: {e}"))
}
