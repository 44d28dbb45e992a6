//! ed25519 member keys and their key file.
//!
//! A secret key file is two lines of text: a header naming the format, then the 32-byte
//! seed in lowercase hex.
//!
//! ```text
//! talenthub-ed25519-secret-v1
//! 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
//! ```
//!
//! A public key is written as the 64 hex characters of its 32-byte compressed point.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hub_types::roster::Roster;
use hub_types::MemberId;
use rand::rngs::OsRng;

use crate::{Error, Result};

/// First line of a secret key file.
pub const KEY_FILE_HEADER: &str = "talenthub-ed25519-secret-v1";

/// Generates a fresh signing key from the operating system's random source.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut OsRng)
}

/// The text of a secret key file holding `key`.
pub fn signing_key_file_text(key: &SigningKey) -> String {
    format!("{KEY_FILE_HEADER}\n{}\n", hex::encode(key.to_bytes()))
}

/// Writes `key` to a new key file readable only by its owner (0600 on unix); an existing
/// file is never overwritten.
pub fn write_signing_key(path: impl AsRef<Path>, key: &SigningKey) -> Result<()> {
    let path = path.as_ref();
    let io_error = |source| Error::KeyFileIo {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(signing_key_file_text(key).as_bytes())
        .map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

/// Reads a secret key file written by [`write_signing_key`].
pub fn load_signing_key(path: impl AsRef<Path>) -> Result<SigningKey> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::KeyFileIo {
        path: path.to_path_buf(),
        source,
    })?;
    parse_signing_key_text(&text).map_err(|e| match e {
        Error::SigningKeyText(what) => Error::KeyFileFormat {
            path: path.to_path_buf(),
            what,
        },
        other => other,
    })
}

/// Parses the text of a secret key file (see [`write_signing_key`]); the error
/// ([`Error::SigningKeyText`]) says what is wrong without repeating the secret.
pub fn parse_signing_key_text(text: &str) -> Result<SigningKey> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header.trim_end() != KEY_FILE_HEADER {
        return Err(Error::SigningKeyText(format!(
            "expected first line {KEY_FILE_HEADER:?}, found {:?}",
            truncate(header)
        )));
    }
    let seed_hex = lines.next().unwrap_or_default().trim();
    let seed = decode_32(seed_hex)
        .map_err(|what| Error::SigningKeyText(format!("secret key line: {what}")))?;
    if let Some(extra) = lines.find(|line| !line.trim().is_empty()) {
        return Err(Error::SigningKeyText(format!(
            "expected nothing after the secret key line, found {:?}",
            truncate(extra)
        )));
    }
    Ok(SigningKey::from_bytes(&seed))
}

/// The public key as 64 lowercase hex characters.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// Parses a public key from its 64 hex characters; rejects points that are not on the
/// curve and weak (small-order) keys, which strict verification would refuse anyway.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    let bytes = decode_32(text.trim()).map_err(Error::PublicKey)?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| Error::PublicKey("not a point on the ed25519 curve".to_owned()))?;
    if key.is_weak() {
        return Err(Error::PublicKey("a weak (small-order) key".to_owned()));
    }
    Ok(key)
}

/// The public keys the roster lists, by member; members listed without a key are left out.
/// Fails on the first key that does not parse, naming its member.
pub fn roster_keys(roster: &Roster) -> Result<BTreeMap<MemberId, VerifyingKey>> {
    roster
        .members
        .iter()
        .filter(|m| !m.public_key.is_empty())
        .map(|m| match parse_public_key(&m.public_key) {
            Ok(key) => Ok((m.code, key)),
            Err(Error::PublicKey(what)) => Err(Error::RosterKey {
                member: m.code,
                what,
            }),
            Err(other) => Err(other),
        })
        .collect()
}

fn decode_32(text: &str) -> Result<[u8; 32], String> {
    if text.len() != 64 {
        return Err(format!("expected 64 hex characters, found {}", text.len()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|e| format!("expected 64 hex characters: {e}"))?;
    Ok(out)
}

/// Keeps an echoed line short: it may be a secret that landed in the wrong file.
fn truncate(line: &str) -> String {
    line.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        let key = generate();
        write_signing_key(&path, &key).unwrap();
        let loaded = load_signing_key(&path).unwrap();
        assert_eq!(loaded.to_bytes(), key.to_bytes());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("talenthub-ed25519-secret-v1\n"));
        assert_eq!(text.len(), KEY_FILE_HEADER.len() + 1 + 64 + 1);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        write_signing_key(&path, &generate()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn existing_key_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        let first = generate();
        write_signing_key(&path, &first).unwrap();
        let err = write_signing_key(&path, &generate()).unwrap_err();
        assert!(matches!(err, Error::KeyFileIo { .. }), "{err}");
        assert_eq!(
            load_signing_key(&path).unwrap().to_bytes(),
            first.to_bytes()
        );
    }

    #[test]
    fn missing_key_file_names_the_file() {
        let err = load_signing_key("/nonexistent/dir/member.key").unwrap_err();
        assert!(matches!(err, Error::KeyFileIo { .. }));
        assert!(
            err.to_string().contains("/nonexistent/dir/member.key"),
            "{err}"
        );
    }

    #[test]
    fn malformed_key_files_are_rejected_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let cases = [
            (
                "bad-header",
                format!("talenthub-ed25519-secret-v2\n{seed}\n"),
                "first line",
            ),
            ("empty", String::new(), "first line"),
            (
                "short",
                format!("{KEY_FILE_HEADER}\n{}\n", &seed[..62]),
                "64 hex",
            ),
            (
                "not-hex",
                format!("{KEY_FILE_HEADER}\n{}zz\n", &seed[..62]),
                "hex",
            ),
            ("no-seed", format!("{KEY_FILE_HEADER}\n"), "64 hex"),
            (
                "trailing",
                format!("{KEY_FILE_HEADER}\n{seed}\nmore\n"),
                "nothing after",
            ),
        ];
        for (name, text, expected) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = load_signing_key(&path).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, Error::KeyFileFormat { .. }),
                "{name}: {message}"
            );
            assert!(message.contains(name), "{name}: {message}");
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn bad_key_text_is_a_typed_error() {
        let err = parse_signing_key_text("not a key").unwrap_err();
        assert!(matches!(err, Error::SigningKeyText(_)), "{err}");
        assert!(err.to_string().contains("first line"), "{err}");
        let key = generate();
        let parsed = parse_signing_key_text(&signing_key_file_text(&key)).unwrap();
        assert_eq!(parsed.to_bytes(), key.to_bytes());
    }

    #[test]
    fn rfc8032_seed_gives_its_public_key() {
        // RFC 8032 §7.1, test 1.
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rfc.key");
        std::fs::write(&path, format!("{KEY_FILE_HEADER}\r\n{seed}")).unwrap();
        let key = load_signing_key(&path).unwrap();
        assert_eq!(public_key_hex(&key.verifying_key()), public);
        assert_eq!(parse_public_key(public).unwrap(), key.verifying_key());
    }

    #[test]
    fn the_roster_keys_are_read_by_member() {
        let roster = Roster::builtin();
        let keys = roster_keys(&roster).unwrap();
        assert_eq!(keys.len(), roster.members.len());
        let shanghai: MemberId = "310000".parse().unwrap();
        assert_eq!(
            public_key_hex(&keys[&shanghai]),
            "52ed699ee16bda9cbf88e15096543ae71ae33376d0c92bc9cb189d5146cbb8ee"
        );
    }

    #[test]
    fn a_roster_member_without_a_key_is_left_out_and_a_bad_key_is_named() {
        let mut roster = Roster::builtin();
        roster.members[0].public_key.clear();
        let keys = roster_keys(&roster).unwrap();
        assert!(!keys.contains_key(&roster.members[0].code));
        assert_eq!(keys.len(), roster.members.len() - 1);

        roster.members[1].public_key = "abcd".into();
        let err = roster_keys(&roster).unwrap_err();
        assert!(
            matches!(err, Error::RosterKey { member, .. } if member == roster.members[1].code),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "roster: bad public key of {}: expected 64 hex characters, found 4",
                roster.members[1].code
            )
        );
    }

    #[test]
    fn bad_public_keys_are_rejected() {
        assert!(matches!(parse_public_key("abcd"), Err(Error::PublicKey(_))));
        assert!(matches!(
            parse_public_key(&"zz".repeat(32)),
            Err(Error::PublicKey(_))
        ));
        // The identity point has order 1.
        let identity = format!("01{}", "00".repeat(31));
        let err = parse_public_key(&identity).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }
}
