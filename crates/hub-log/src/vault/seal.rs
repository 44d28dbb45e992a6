//! Sealing personal fields under an entry's key, and wrapping keys for other nodes.
//!
//! [`seal`] encrypts [`PersonalFields`] with XChaCha20-Poly1305 under a cipher key derived
//! from the entry's key, with `talenthub/personal/v1` and the stream as associated data.
//! The nonce is synthetic: HMAC-SHA256 under a second derived key over the stream and the
//! plaintext, cut to 24 bytes, so sealing the same fields twice gives the same bytes and a
//! retried append stays idempotent.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use hub_proto::convert::{personal_fields_from_proto, personal_fields_to_proto};
use hub_proto::pb;
use hub_types::event::{PersonalFields, Sealed};
use hub_types::StreamId;
use prost::Message;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::EntryKey;

const PERSONAL_AAD: &[u8] = b"talenthub/personal/v1";

fn aad(stream: &StreamId) -> Vec<u8> {
    let mut aad = PERSONAL_AAD.to_vec();
    aad.push(0);
    aad.extend_from_slice(stream.to_string().as_bytes());
    aad
}

const CIPHER_KEY_LABEL: &[u8] = b"talenthub/personal-cipher-key/v1";
const NONCE_KEY_LABEL: &[u8] = b"talenthub/personal-nonce-key/v1";

/// A key for one purpose, derived from an entry's key: HMAC-SHA256(entry key, label). The
/// entry key itself feeds nothing but this derivation.
fn subkey(key: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// Seals the personal fields of `stream`'s entry under its key.
pub fn seal(key: &[u8; 32], stream: &StreamId, fields: &PersonalFields) -> Sealed {
    let plaintext = Zeroizing::new(personal_fields_to_proto(fields).encode_to_vec());
    let aad = aad(stream);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(subkey(key, NONCE_KEY_LABEL).as_ref())
        .expect("HMAC takes any key length");
    mac.update(&(aad.len() as u64).to_be_bytes());
    mac.update(&aad);
    mac.update(&plaintext);
    let nonce = mac.finalize().into_bytes()[..24].to_vec();
    let ciphertext = XChaCha20Poly1305::new(subkey(key, CIPHER_KEY_LABEL).as_ref().into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message of this size");
    Sealed { nonce, ciphertext }
}

/// Opens sealed personal fields; `None` if the key or the stream is not the one they were
/// sealed with, or the bytes were changed.
pub fn open(key: &[u8; 32], stream: &StreamId, sealed: &Sealed) -> Option<PersonalFields> {
    if sealed.nonce.len() != 24 {
        return None;
    }
    let aad = aad(stream);
    let plaintext = Zeroizing::new(
        XChaCha20Poly1305::new(subkey(key, CIPHER_KEY_LABEL).as_ref().into())
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .ok()?,
    );
    let fields = pb::PersonalFields::decode(plaintext.as_slice()).ok()?;
    personal_fields_from_proto(&fields.subject_display, &fields.decision_summary).ok()
}

/// Label under which the key-wrapping key is derived from the alliance key
/// ([`hub_types::subject::AllianceKey::derive`]).
pub const WRAP_KEY_LABEL: &str = "talenthub/entry-key-wrap/v1";

const WRAP_AAD: &[u8] = b"talenthub/entry-key/v1";

fn wrap_aad(stream: &StreamId) -> Vec<u8> {
    let mut aad = WRAP_AAD.to_vec();
    aad.push(0);
    aad.extend_from_slice(stream.to_string().as_bytes());
    aad
}

/// Wraps an entry's key for the trip to the other nodes: XChaCha20-Poly1305 under
/// `wrap_key` with a random nonce, bound to the stream; nonce first.
pub fn wrap(wrap_key: &[u8; 32], stream: &StreamId, key: &[u8; 32]) -> Vec<u8> {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ciphertext = XChaCha20Poly1305::new(wrap_key.into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key,
                aad: &wrap_aad(stream),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts 32 bytes");
    let mut wrapped = nonce.to_vec();
    wrapped.extend_from_slice(&ciphertext);
    wrapped
}

/// Unwraps a key made by [`wrap`]; `None` if it was made with another wrapping key or
/// stream, or changed on the way.
pub fn unwrap(wrap_key: &[u8; 32], stream: &StreamId, wrapped: &[u8]) -> Option<EntryKey> {
    if wrapped.len() != 24 + 32 + 16 {
        return None;
    }
    let (nonce, ciphertext) = wrapped.split_at(24);
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(wrap_key.into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &wrap_aad(stream),
                },
            )
            .ok()?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&plain);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str) -> StreamId {
        format!("blacklist/310000/{id}").parse().expect("stream")
    }

    fn fields() -> PersonalFields {
        personal_fields_from_proto("张*", "伪造职称证书申报人才计划").expect("fields")
    }

    #[test]
    fn seal_opens_with_its_key_and_stream_only() {
        let key = [7u8; 32];
        let sealed = seal(&key, &stream("a"), &fields());
        assert_eq!(open(&key, &stream("a"), &sealed), Some(fields()));
        assert_eq!(open(&[8u8; 32], &stream("a"), &sealed), None);
        assert_eq!(open(&key, &stream("b"), &sealed), None);
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(open(&key, &stream("a"), &flipped), None);
        // Synthetic nonce: sealing again gives the same bytes (idempotent retries).
        assert_eq!(seal(&key, &stream("a"), &fields()), sealed);
        let plain = personal_fields_to_proto(&fields()).encode_to_vec();
        assert!(!contains(&sealed.ciphertext, &plain[2..8]));
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn wrapped_keys_unwrap_with_their_wrapping_key_and_stream_only() {
        let wrap_key = [3u8; 32];
        let key = [5u8; 32];
        let wrapped = wrap(&wrap_key, &stream("a"), &key);
        assert!(!contains(&wrapped, &key));
        assert_eq!(
            unwrap(&wrap_key, &stream("a"), &wrapped).as_deref(),
            Some(&key)
        );
        assert!(unwrap(&[4u8; 32], &stream("a"), &wrapped).is_none());
        assert!(unwrap(&wrap_key, &stream("b"), &wrapped).is_none());
        assert!(unwrap(&wrap_key, &stream("a"), &wrapped[1..]).is_none());
    }
}
