//! Signing keys: which key signs for which city on this node.
//!
//! `node.signing_key_file` names the key file; `{member}` in it is replaced by the city's
//! code (a sandbox node signs for every city). None (`""`) means the built-in development keys
//! of `config/keys/`, with a warning: they are public and only fit development.

use std::collections::BTreeMap;

use anyhow::Context;
use hub_audit::{SigningKey, VerifyingKey};
use hub_types::roster::Roster;
use hub_types::{MemberId, OriginSeq};

/// The development keys shipped in `config/keys/`, by city code.
const DEV_KEYS: &[(&str, &str)] = &[
    (
        "310000",
        include_str!("../../../config/keys/dev-310000.key"),
    ),
    (
        "320100",
        include_str!("../../../config/keys/dev-320100.key"),
    ),
    (
        "320200",
        include_str!("../../../config/keys/dev-320200.key"),
    ),
    (
        "320400",
        include_str!("../../../config/keys/dev-320400.key"),
    ),
    (
        "320500",
        include_str!("../../../config/keys/dev-320500.key"),
    ),
    (
        "320600",
        include_str!("../../../config/keys/dev-320600.key"),
    ),
    (
        "330100",
        include_str!("../../../config/keys/dev-330100.key"),
    ),
    (
        "330200",
        include_str!("../../../config/keys/dev-330200.key"),
    ),
    (
        "330400",
        include_str!("../../../config/keys/dev-330400.key"),
    ),
    (
        "330500",
        include_str!("../../../config/keys/dev-330500.key"),
    ),
    (
        "330600",
        include_str!("../../../config/keys/dev-330600.key"),
    ),
    (
        "340100",
        include_str!("../../../config/keys/dev-340100.key"),
    ),
    (
        "340200",
        include_str!("../../../config/keys/dev-340200.key"),
    ),
];

/// The built-in development key of `member`, if there is one.
pub fn dev_key(member: MemberId) -> Option<SigningKey> {
    let code = member.to_string();
    DEV_KEYS
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, text)| hub_audit::parse_signing_key_text(text).ok())
}

/// Loads the signing key of every city in `members` per `signing_key_file` (none: the
/// development keys), checking each against the roster's public key.
pub fn signing_keys(
    signing_key_file: Option<&str>,
    members: &[MemberId],
    roster: &Roster,
) -> anyhow::Result<BTreeMap<MemberId, SigningKey>> {
    let mut keys = BTreeMap::new();
    let listed = hub_audit::roster_keys(roster)?;
    if signing_key_file.is_none() && !members.is_empty() {
        tracing::warn!("signing with the built-in development keys: for development only");
    }
    for &member in members {
        let key = match signing_key_file {
            None => dev_key(member).with_context(|| format!("no development key for {member}"))?,
            Some(file) => {
                let path = file.replace("{member}", &member.to_string());
                hub_audit::load_signing_key(&path)
                    .with_context(|| format!("node.signing_key_file: cannot load {path}"))?
            }
        };
        if let Some(listed) = listed.get(&member) {
            anyhow::ensure!(
                *listed == key.verifying_key(),
                "node.signing_key_file: the key of {member} does not match its public key in the roster"
            );
        }
        keys.insert(member, key);
    }
    Ok(keys)
}

/// Signs chain heads with the keys of the cities this node publishes for.
#[derive(Debug)]
pub struct CitySigner {
    keys: BTreeMap<MemberId, SigningKey>,
}

impl CitySigner {
    /// Signs with `keys`.
    pub fn new(keys: BTreeMap<MemberId, SigningKey>) -> Self {
        Self { keys }
    }
}

impl hub_log::ChainSigner for CitySigner {
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &[u8; 32]) -> Option<Vec<u8>> {
        let key = self.keys.get(&origin)?;
        hub_audit::sign_chain_head(key, &origin.to_string(), seq.get(), record_hash)
            .ok()
            .map(|s| s.to_vec())
    }
}

/// The keys the Audit service works with.
#[derive(Debug)]
pub struct AuditKeys {
    /// Signs this node's tree heads.
    pub node_key: SigningKey,
    /// The node's name in its tree heads (its city code, or "").
    pub node: String,
    /// Public keys of the roster, by city code, to verify chain heads.
    pub roster: BTreeMap<String, VerifyingKey>,
}
