//! What members and nodes sign, byte for byte, and how it is verified.
//!
//! Every message starts with its own NUL-terminated domain tag, so a signature made for one
//! purpose can never be replayed as another. All integers are big-endian.
//!
//! ```text
//! chain head (70 bytes), signed by the origin's member key:
//!   "talenthub.v1.chain-head\0" (24) | origin: 6 ASCII digits | origin_seq: u64 | record_hash (32)
//!
//! tree head (71 + node bytes), signed by the node's key:
//!   "talenthub.v1.tree-head\0" (23) | tree_size: u64 | timestamp_micros: i64 | root (32) | node (UTF-8)
//!
//! entry key (23 + 1 + stream + wrapped bytes), signed by the entry's origin:
//!   "talenthub.v1.entry-key\0" (23) | stream length: u8 | stream (UTF-8) | wrapped key
//! ```
//!
//! A chain head signature on an origin's event `n` covers events `1..=n` of that origin,
//! since each record carries the hash of its predecessor. Verification is always
//! [`VerifyingKey::verify_strict`] (no small-order keys or `R`, canonical `s`).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::{Error, Hash, Result};

/// Domain tag of a chain head message.
pub const CHAIN_HEAD_DOMAIN: &[u8] = b"talenthub.v1.chain-head\0";

/// Length of a chain head message.
pub const CHAIN_HEAD_LEN: usize = CHAIN_HEAD_DOMAIN.len() + 6 + 8 + 32;

/// Domain tag of a tree head message.
pub const TREE_HEAD_DOMAIN: &[u8] = b"talenthub.v1.tree-head\0";

/// Domain tag of an entry-key message.
pub const ENTRY_KEY_DOMAIN: &[u8] = b"talenthub.v1.entry-key\0";

/// The bytes an origin signs to vouch for an entry key it shares; fails for a stream
/// name longer than 255 bytes.
pub(crate) fn entry_key_message(stream: &str, wrapped: &[u8]) -> Result<Vec<u8>> {
    let len = u8::try_from(stream.len()).map_err(|_| Error::Origin(stream.to_owned()))?;
    let mut message = ENTRY_KEY_DOMAIN.to_vec();
    message.push(len);
    message.extend_from_slice(stream.as_bytes());
    message.extend_from_slice(wrapped);
    Ok(message)
}

/// Signs an entry's wrapped key on its way to the other nodes; fails only for a stream
/// name longer than 255 bytes.
pub fn sign_entry_key(key: &SigningKey, stream: &str, wrapped: &[u8]) -> Result<[u8; 64]> {
    Ok(key.sign(&entry_key_message(stream, wrapped)?).to_bytes())
}

/// Checks an entry-key signature strictly against the origin's key.
pub fn verify_entry_key(
    key: &VerifyingKey,
    stream: &str,
    wrapped: &[u8],
    signature: &[u8],
) -> Result<()> {
    verify_strict(key, &entry_key_message(stream, wrapped)?, signature)
}

/// The bytes a member signs to vouch for its chain up to event `seq` with hash
/// `record_hash`; fails when `origin` is not six ASCII digits.
pub fn chain_head_message(
    origin: &str,
    seq: u64,
    record_hash: &Hash,
) -> Result<[u8; CHAIN_HEAD_LEN]> {
    if origin.len() != 6 || !origin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Origin(origin.to_owned()));
    }
    let mut message = [0u8; CHAIN_HEAD_LEN];
    let (domain, rest) = message.split_at_mut(CHAIN_HEAD_DOMAIN.len());
    domain.copy_from_slice(CHAIN_HEAD_DOMAIN);
    let (origin_bytes, rest) = rest.split_at_mut(6);
    origin_bytes.copy_from_slice(origin.as_bytes());
    let (seq_bytes, hash_bytes) = rest.split_at_mut(8);
    seq_bytes.copy_from_slice(&seq.to_be_bytes());
    hash_bytes.copy_from_slice(record_hash);
    Ok(message)
}

/// Signs the chain head of `origin` at `seq`; fails only for a malformed origin.
pub fn sign_chain_head(
    key: &SigningKey,
    origin: &str,
    seq: u64,
    record_hash: &Hash,
) -> Result<[u8; 64]> {
    let message = chain_head_message(origin, seq, record_hash)?;
    Ok(key.sign(&message).to_bytes())
}

/// Checks a chain head signature (64 bytes) strictly against the origin's key.
pub fn verify_chain_head(
    key: &VerifyingKey,
    origin: &str,
    seq: u64,
    record_hash: &Hash,
    signature: &[u8],
) -> Result<()> {
    let message = chain_head_message(origin, seq, record_hash)?;
    verify_strict(key, &message, signature)
}

/// Checks many signatures at once with ed25519 batch verification; when the batch fails,
/// checks each strictly to name the first bad one ([`Error::BatchSignature`]).
///
/// The batch equation accepts what [`VerifyingKey::verify_strict`] accepts, except a
/// signature whose `R` has small order, which only the key's holder can make. A weak
/// (small-order) key would let anyone pass the batch, so such keys fail up front.
pub fn verify_chain_heads_batch<M: AsRef<[u8]>>(
    items: &[(VerifyingKey, M, Signature)],
) -> Result<()> {
    if let Some(index) = items.iter().position(|(key, _, _)| key.is_weak()) {
        return Err(Error::BatchSignature { index });
    }
    if let [(key, message, signature)] = items {
        return key
            .verify_strict(message.as_ref(), signature)
            .map_err(|_| Error::BatchSignature { index: 0 });
    }
    if items.is_empty() {
        return Ok(());
    }
    let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| m.as_ref()).collect();
    let signatures: Vec<Signature> = items.iter().map(|(_, _, s)| *s).collect();
    let keys: Vec<VerifyingKey> = items.iter().map(|(k, _, _)| *k).collect();
    if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
        return Ok(());
    }
    let index = items
        .iter()
        .position(|(key, message, signature)| {
            key.verify_strict(message.as_ref(), signature).is_err()
        })
        // The batch fails only if some item fails strict checking; should none, blame the
        // first rather than accept what the batch equation refused.
        .unwrap_or(0);
    Err(Error::BatchSignature { index })
}

/// A node's statement of its log: the first `tree_size` events have Merkle root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of events (leaves) covered.
    pub tree_size: u64,
    /// Merkle root of those events' leaf hashes.
    pub root: Hash,
    /// When the node made the statement, in microseconds since the Unix epoch (UTC).
    pub timestamp_micros: i64,
    /// Name of the node making the statement.
    pub node: String,
}

impl TreeHead {
    /// The bytes a node signs for this tree head.
    pub fn message(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(TREE_HEAD_DOMAIN.len() + 8 + 8 + 32 + self.node.len());
        message.extend_from_slice(TREE_HEAD_DOMAIN);
        message.extend_from_slice(&self.tree_size.to_be_bytes());
        message.extend_from_slice(&self.timestamp_micros.to_be_bytes());
        message.extend_from_slice(&self.root);
        message.extend_from_slice(self.node.as_bytes());
        message
    }
}

/// A tree head with the node's signature over [`TreeHead::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// The statement.
    pub head: TreeHead,
    /// The node's ed25519 signature over it.
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// Signs `head` with the node's key.
    pub fn sign(key: &SigningKey, head: TreeHead) -> Self {
        let signature = sign_tree_head(key, &head);
        Self { head, signature }
    }

    /// Checks the signature strictly against the node's key.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        verify_tree_head(key, &self.head, &self.signature)
    }
}

/// Signs a tree head with the node's key.
pub fn sign_tree_head(key: &SigningKey, head: &TreeHead) -> [u8; 64] {
    key.sign(&head.message()).to_bytes()
}

/// Checks a tree head signature (64 bytes) strictly against the node's key.
pub fn verify_tree_head(key: &VerifyingKey, head: &TreeHead, signature: &[u8]) -> Result<()> {
    verify_strict(key, &head.message(), signature)
}

fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> Result<()> {
    let signature = Signature::from_slice(signature).map_err(|_| Error::BadSignature)?;
    key.verify_strict(message, &signature)
        .map_err(|_| Error::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate;

    const ORIGIN: &str = "330400";

    #[test]
    fn chain_head_message_has_the_documented_layout() {
        let hash = [0xab; 32];
        let message = chain_head_message(ORIGIN, 0x0102_0304_0506_0708, &hash).unwrap();
        let mut expected = b"talenthub.v1.chain-head\x00330400".to_vec();
        expected.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        expected.extend_from_slice(&hash);
        assert_eq!(message.to_vec(), expected);
        assert_eq!(CHAIN_HEAD_LEN, 70);
    }

    #[test]
    fn tree_head_message_has_the_documented_layout() {
        let head = TreeHead {
            tree_size: 7,
            root: [0x11; 32],
            timestamp_micros: -2,
            node: "hz-1".to_owned(),
        };
        let mut expected = b"talenthub.v1.tree-head\0".to_vec();
        expected.extend_from_slice(&7u64.to_be_bytes());
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend_from_slice(&[0x11; 32]);
        expected.extend_from_slice(b"hz-1");
        assert_eq!(head.message(), expected);
    }

    #[test]
    fn malformed_origins_are_rejected() {
        for origin in ["33040", "3304000", "33040a", "", "３３０４００"] {
            assert!(
                matches!(
                    chain_head_message(origin, 1, &[0; 32]),
                    Err(Error::Origin(_))
                ),
                "{origin:?}"
            );
        }
        let long = "3".repeat(100);
        let err = chain_head_message(&long, 1, &[0; 32]).expect_err("a long origin");
        assert!(
            err.to_string()
                .ends_with("…\" (100 characters) is not a six-digit member id"),
            "{err}"
        );
    }

    #[test]
    fn chain_head_signature_verifies_only_for_what_was_signed() {
        let key = generate();
        let public = key.verifying_key();
        let hash = [7; 32];
        let signature = sign_chain_head(&key, ORIGIN, 5, &hash).unwrap();
        verify_chain_head(&public, ORIGIN, 5, &hash, &signature).unwrap();
        let bad = |r: Result<()>| assert!(matches!(r, Err(Error::BadSignature)));
        bad(verify_chain_head(&public, ORIGIN, 6, &hash, &signature));
        bad(verify_chain_head(&public, "330100", 5, &hash, &signature));
        bad(verify_chain_head(&public, ORIGIN, 5, &[8; 32], &signature));
        bad(verify_chain_head(
            &generate().verifying_key(),
            ORIGIN,
            5,
            &hash,
            &signature,
        ));
        bad(verify_chain_head(
            &public,
            ORIGIN,
            5,
            &hash,
            &signature[..63],
        ));
        let mut flipped = signature;
        flipped[10] ^= 1;
        bad(verify_chain_head(&public, ORIGIN, 5, &hash, &flipped));
    }

    #[test]
    fn a_chain_head_signature_is_not_a_tree_head_signature() {
        let key = generate();
        let head = TreeHead {
            tree_size: 5,
            root: [7; 32],
            timestamp_micros: 0,
            node: String::new(),
        };
        let chain = sign_chain_head(&key, ORIGIN, 5, &[7; 32]).unwrap();
        assert!(verify_tree_head(&key.verifying_key(), &head, &chain).is_err());
        let signed = SignedTreeHead::sign(&key, head.clone());
        signed.verify(&key.verifying_key()).unwrap();
        let moved = TreeHead {
            timestamp_micros: 1,
            ..head
        };
        assert!(verify_tree_head(&key.verifying_key(), &moved, &signed.signature).is_err());
    }

    #[test]
    fn batch_verification_names_the_first_bad_signature() {
        let keys: Vec<SigningKey> = (0..3).map(|_| generate()).collect();
        let mut items: Vec<(VerifyingKey, [u8; CHAIN_HEAD_LEN], Signature)> = (0..40u64)
            .map(|seq| {
                let key = &keys[seq as usize % 3];
                let message = chain_head_message(ORIGIN, seq, &[seq as u8; 32]).unwrap();
                (key.verifying_key(), message, key.sign(&message))
            })
            .collect();
        verify_chain_heads_batch(&items).unwrap();
        verify_chain_heads_batch::<&[u8]>(&[]).unwrap();
        verify_chain_heads_batch(&items[..1]).unwrap();

        // Signed by another member's key.
        items[23].2 = keys[0].sign(&items[23].1);
        items[31].1[40] ^= 1;
        assert!(matches!(
            verify_chain_heads_batch(&items),
            Err(Error::BatchSignature { index: 23 })
        ));
        assert!(matches!(
            verify_chain_heads_batch(&items[23..24]),
            Err(Error::BatchSignature { index: 0 })
        ));
    }
}
