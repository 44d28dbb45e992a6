//! The keys replication keeps in the log's meta space, each built and read here only.
//!
//! | key | value |
//! |---|---|
//! | `replication/outbox/<origin>` | last `origin_seq` delivered to the topic (u64) |
//! | `replication/offset/<topic>/<partition, 5 digits>` | next offset to consume (i64) |
//! | `replication/quarantine/<origin>/<origin_seq, 20 digits>/<fingerprint, 16 hex>` | reason length (u32), reason, record bytes; removed once resolved (stores written before kept an empty value, removed at the next start) |
//! | `replication/quarantine/unreadable/<fingerprint, 16 hex>` | the same, for bytes that are no record of a known origin |
//!
//! Integers big-endian in values. In keys they are fixed-width decimal (and the fingerprint
//! fixed-width hex), so byte order is numeric order all the same; the keys stay text, byte
//! for byte as nodes have written them, because data directories hold them.

use hub_proto::pb::EventRecord;
use hub_types::MemberId;

/// Prefix of every quarantine key.
pub(crate) const QUARANTINE_PREFIX: &[u8] = b"replication/quarantine/";

/// The middle of the key of a payload that is no record of a known origin.
const UNREADABLE: &[u8] = b"unreadable/";

/// Digits of the origin sequence in a quarantine key.
const SEQ_DIGITS: usize = 20;

/// Hex digits of the fingerprint in a quarantine key.
const FINGERPRINT_DIGITS: usize = 16;

/// Meta key of the outbox progress of `origin`.
pub(crate) fn outbox_key(origin: MemberId) -> Vec<u8> {
    let mut key = b"replication/outbox/".to_vec();
    key.extend_from_slice(origin.to_string().as_bytes());
    key
}

/// Meta key of the next offset to consume from `partition` of `topic`.
pub(crate) fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    let mut key = b"replication/offset/".to_vec();
    key.extend_from_slice(topic.as_bytes());
    key.extend_from_slice(format!("/{partition:05}").as_bytes());
    key
}

/// Where a quarantined message is kept: by origin and sequence when it is a record of a
/// roster origin that may still apply later, else as unreadable. The fingerprint of the
/// payload tells apart different payloads quarantined at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum QuarantineKey {
    /// A record that may apply once its predecessors arrive.
    Record {
        /// Its origin.
        origin: MemberId,
        /// Its `origin_seq`.
        seq: u64,
        /// [`fingerprint`] of its bytes.
        fingerprint: u64,
    },
    /// Bytes that are no record of a known origin, or will never apply.
    Unreadable {
        /// [`fingerprint`] of the bytes.
        fingerprint: u64,
    },
}

impl QuarantineKey {
    /// The key of `payload`, kept by origin and sequence when `record` (its decoded form)
    /// is given and names a member.
    pub(crate) fn of(record: Option<&EventRecord>, payload: &[u8]) -> Self {
        let fingerprint = fingerprint(payload);
        match record.and_then(|r| Some((r.origin.parse().ok()?, r.origin_seq))) {
            Some((origin, seq)) => Self::Record {
                origin,
                seq,
                fingerprint,
            },
            None => Self::Unreadable { fingerprint },
        }
    }

    /// The meta key's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut key = QUARANTINE_PREFIX.to_vec();
        let fingerprint = match *self {
            Self::Record {
                origin,
                seq,
                fingerprint,
            } => {
                key.extend_from_slice(format!("{origin}/{seq:020}/").as_bytes());
                fingerprint
            }
            Self::Unreadable { fingerprint } => {
                key.extend_from_slice(UNREADABLE);
                fingerprint
            }
        };
        key.extend_from_slice(format!("{fingerprint:016x}").as_bytes());
        key
    }

    /// Reads a key written by [`QuarantineKey::encode`]; `None` for anything else.
    pub(crate) fn decode(key: &[u8]) -> Option<Self> {
        let rest = key.strip_prefix(QUARANTINE_PREFIX)?;
        if let Some(hex) = rest.strip_prefix(UNREADABLE) {
            return Some(Self::Unreadable {
                fingerprint: fixed_width(hex, FINGERPRINT_DIGITS, 16)?,
            });
        }
        let mut parts = rest.split(|b| *b == b'/');
        let origin = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
        let seq = fixed_width(parts.next()?, SEQ_DIGITS, 10)?;
        let fingerprint = fixed_width(parts.next()?, FINGERPRINT_DIGITS, 16)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self::Record {
            origin,
            seq,
            fingerprint,
        })
    }
}

/// A short fingerprint of a payload: FNV-1a, stable across builds, no dependency needed for
/// a key suffix.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A number written with exactly `width` lowercase digits of `radix`.
fn fixed_width(digits: &[u8], width: usize, radix: u32) -> Option<u64> {
    let lowercase = digits
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if digits.len() != width || !lowercase {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(code: &str) -> MemberId {
        code.parse().expect("member code")
    }

    #[test]
    fn quarantine_keys_round_trip() {
        let keys = [
            QuarantineKey::Record {
                origin: member("330400"),
                seq: 1,
                fingerprint: 0,
            },
            QuarantineKey::Record {
                origin: member("310000"),
                seq: u64::MAX,
                fingerprint: u64::MAX,
            },
            QuarantineKey::Unreadable {
                fingerprint: 0x0123_4567_89ab_cdef,
            },
        ];
        for key in keys {
            assert_eq!(QuarantineKey::decode(&key.encode()), Some(key), "{key:?}");
        }
    }

    #[test]
    fn quarantine_keys_keep_the_layout_stored_data_has() {
        let record = QuarantineKey::Record {
            origin: member("330400"),
            seq: 7,
            fingerprint: 0xab,
        };
        assert_eq!(
            record.encode(),
            b"replication/quarantine/330400/00000000000000000007/00000000000000ab".to_vec()
        );
        let unreadable = QuarantineKey::Unreadable { fingerprint: 0xab };
        assert_eq!(
            unreadable.encode(),
            b"replication/quarantine/unreadable/00000000000000ab".to_vec()
        );
        assert_eq!(outbox_key(member("310000")), b"replication/outbox/310000");
        assert_eq!(
            offset_key("talenthub.events.v1", 3),
            b"replication/offset/talenthub.events.v1/00003"
        );
    }

    #[test]
    fn quarantine_keys_of_one_origin_sort_by_sequence() {
        let key = |seq| {
            QuarantineKey::Record {
                origin: member("330400"),
                seq,
                fingerprint: 1,
            }
            .encode()
        };
        assert!(key(9) < key(10));
        assert!(key(10) < key(100_000));
    }

    #[test]
    fn a_record_is_kept_by_origin_and_anything_else_as_unreadable() {
        let record = EventRecord {
            origin: "330400".into(),
            origin_seq: 12,
            ..Default::default()
        };
        let key = QuarantineKey::of(Some(&record), b"bytes");
        assert_eq!(
            key,
            QuarantineKey::Record {
                origin: member("330400"),
                seq: 12,
                fingerprint: fingerprint(b"bytes"),
            }
        );
        let foreign = EventRecord {
            origin: "nowhere".into(),
            ..record
        };
        assert!(matches!(
            QuarantineKey::of(Some(&foreign), b"bytes"),
            QuarantineKey::Unreadable { .. }
        ));
        assert!(matches!(
            QuarantineKey::of(None, b"bytes"),
            QuarantineKey::Unreadable { .. }
        ));
    }

    #[test]
    fn other_keys_do_not_decode() {
        for key in [
            &b"replication/outbox/310000"[..],
            b"replication/quarantine/",
            b"replication/quarantine/unreadable/ab",
            b"replication/quarantine/unreadable/00000000000000AB",
            b"replication/quarantine/330400/7/00000000000000ab",
            b"replication/quarantine/330400/00000000000000000007",
            b"replication/quarantine/330400/00000000000000000007/00000000000000ab/x",
            b"replication/quarantine/33040/00000000000000000007/00000000000000ab",
        ] {
            assert_eq!(
                QuarantineKey::decode(key),
                None,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
    }
}
