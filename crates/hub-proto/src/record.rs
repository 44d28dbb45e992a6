//! The signed record: the one form in which an event is stored, replicated and verified.
//!
//! An [`EventRecord`] crosses three trust boundaries: a node's own log (written by its
//! writer, read back by recovery), the topic (produced by its origin, ingested by every
//! other city) and an auditor's verifier. All of them agree on one thing above all: the
//! chain hash, [`record_hash`], which each record's successor carries as `prev_hash` and
//! which the origin's chain-head signature covers. It is defined here once.
//!
//! [`Record`] is a record whose header has been parsed once: origin, sequence, stream and
//! event id as domain types, the `prev_hash` as a hash, and its own chain hash computed.
//! Code past the boundary works with it instead of parsing strings again.

use hub_types::{EventId, MemberId, OriginSeq, Result, StreamId, ValidationError};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::pb::EventRecord;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// `prev_hash` of an origin's first event.
pub const ZERO_HASH: Hash = [0; 32];

/// SHA-256 of a record's protobuf encoding with the signature cleared: the hash its
/// origin's next event carries as `prev_hash`, and the one the chain head signs. The
/// signature is excluded because it covers the chain rather than being part of it.
pub fn record_hash(record: &EventRecord) -> Hash {
    if record.signature.is_empty() {
        return Sha256::digest(record.encode_to_vec()).into();
    }
    let unsigned = EventRecord {
        signature: Vec::new(),
        ..record.clone()
    };
    Sha256::digest(unsigned.encode_to_vec()).into()
}

/// A record's encoding and its [`record_hash`], encoding it only once when it is unsigned
/// (as every record a node stamps is before its signature is added).
pub fn encode_and_hash(record: &EventRecord) -> (Vec<u8>, Hash) {
    let bytes = record.encode_to_vec();
    let hash = if record.signature.is_empty() {
        Sha256::digest(&bytes).into()
    } else {
        record_hash(record)
    };
    (bytes, hash)
}

/// The head of one origin's hash chain: its last sequence and that record's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginHead {
    /// The last `origin_seq`.
    pub seq: OriginSeq,
    /// [`record_hash`] of that record.
    pub hash: Hash,
}

impl OriginHead {
    /// The sequence that comes after `head` (1 for an origin with no records yet).
    pub fn next_seq(head: Option<&Self>) -> OriginSeq {
        head.map_or(OriginSeq::FIRST, |h| h.seq.next())
    }

    /// The `prev_hash` a record after `head` carries ([`ZERO_HASH`] for the first).
    pub fn prev_hash(head: Option<&Self>) -> Hash {
        head.map_or(ZERO_HASH, |h| h.hash)
    }
}

/// What a node gives a new record of its own; [`Record::stamp`] adds the chain fields.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The city stamping it (the stream's owner).
    pub origin: MemberId,
    /// Its stream.
    pub stream: StreamId,
    /// Its event id.
    pub event_id: EventId,
    /// Its version within the stream.
    pub stream_version: u64,
    /// When the node recorded it.
    pub recorded_at: Option<prost_types::Timestamp>,
    /// The encoded `EventBody`.
    pub body: Vec<u8>,
}

/// A stored or replicated record with its header parsed and its chain hash computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    origin: MemberId,
    seq: OriginSeq,
    stream: StreamId,
    event_id: EventId,
    prev_hash: Hash,
    hash: Hash,
    raw: EventRecord,
}

impl Record {
    /// Parses `raw`'s header: every field is checked and an error names the bad one. The
    /// stream must belong to the origin (only a city writes its own streams). The body is
    /// not decoded here: a node stores and forwards kinds it does not know.
    pub fn parse(raw: EventRecord) -> Result<Self> {
        let (origin, seq, stream, event_id) = header(&raw)?;
        let prev_hash: Hash = raw.prev_hash.as_slice().try_into().map_err(|_| {
            ValidationError::new(
                "prev_hash",
                format!("must be 32 bytes, got {}", raw.prev_hash.len()),
            )
        })?;
        let hash = record_hash(&raw);
        Ok(Self {
            origin,
            seq,
            stream,
            event_id,
            prev_hash,
            hash,
            raw,
        })
    }

    /// A new record of `stamp.origin`, stamped after `prev` (its origin's head so far):
    /// the next sequence, linked by `prev_hash`, unsigned. Returns it with its encoding.
    pub fn stamp(stamp: Stamp, prev: Option<&OriginHead>) -> (Self, Vec<u8>) {
        let seq = OriginHead::next_seq(prev);
        let prev_hash = OriginHead::prev_hash(prev);
        let raw = EventRecord {
            event_id: stamp.event_id.to_string(),
            origin: stamp.origin.to_string(),
            origin_seq: seq.get(),
            stream: stamp.stream.to_string(),
            stream_version: stamp.stream_version,
            recorded_at: stamp.recorded_at,
            body: stamp.body,
            prev_hash: prev_hash.to_vec(),
            signature: Vec::new(),
        };
        let (bytes, hash) = encode_and_hash(&raw);
        let record = Self {
            origin: stamp.origin,
            seq,
            stream: stamp.stream,
            event_id: stamp.event_id,
            prev_hash,
            hash,
            raw,
        };
        (record, bytes)
    }

    /// The city that stamped it.
    pub fn origin(&self) -> MemberId {
        self.origin
    }

    /// Its number within its origin.
    pub fn seq(&self) -> OriginSeq {
        self.seq
    }

    /// Its stream (owned by its origin).
    pub fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// Its event id.
    pub fn event_id(&self) -> EventId {
        self.event_id
    }

    /// The [`record_hash`] of the origin's previous record, as this one carries it.
    pub fn prev_hash(&self) -> &Hash {
        &self.prev_hash
    }

    /// Its own [`record_hash`].
    pub fn hash(&self) -> &Hash {
        &self.hash
    }

    /// Whether it carries its origin's signature over its chain head.
    pub fn is_signed(&self) -> bool {
        !self.raw.signature.is_empty()
    }

    /// The chain head it makes once stored.
    pub fn head(&self) -> OriginHead {
        OriginHead {
            seq: self.seq,
            hash: self.hash,
        }
    }

    /// Whether it is the next record of its origin after `head`: the next sequence, and a
    /// `prev_hash` that links to the head's hash.
    pub fn follows(&self, head: Option<&OriginHead>) -> bool {
        self.seq == OriginHead::next_seq(head) && self.prev_hash == OriginHead::prev_hash(head)
    }

    /// The record as it travels.
    pub fn raw(&self) -> &EventRecord {
        &self.raw
    }

    /// The record as it travels, taken out.
    pub fn into_raw(self) -> EventRecord {
        self.raw
    }
}

/// Parses a record's header (origin, sequence, stream, event id), naming the bad field; the
/// stream must belong to the origin. The one parse of these fields, shared by [`Record`]
/// and the fold's [`crate::convert::event_from_record`].
pub(crate) fn header(raw: &EventRecord) -> Result<(MemberId, OriginSeq, StreamId, EventId)> {
    let origin: MemberId = parse(&raw.origin, "origin")?;
    let seq = OriginSeq::new(raw.origin_seq).map_err(|e| e.at("origin_seq"))?;
    let stream: StreamId = parse(&raw.stream, "stream")?;
    let event_id: EventId = parse(&raw.event_id, "event_id")?;
    if stream.owner() != origin {
        return Err(ValidationError::new(
            "stream",
            format!("{stream} is not owned by origin {origin}"),
        ));
    }
    Ok((origin, seq, stream, event_id))
}

fn parse<T: std::str::FromStr<Err = ValidationError>>(s: &str, field: &str) -> Result<T> {
    s.parse::<T>().map_err(|e| e.at(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> EventRecord {
        EventRecord {
            event_id: "0193a0c4-5b6e-7f00-8a00-000000000001".into(),
            origin: "320500".into(),
            origin_seq: 1,
            stream: "demand/320500/q1".into(),
            stream_version: 1,
            recorded_at: Some(prost_types::Timestamp {
                seconds: 1_750_000_000,
                nanos: 0,
            }),
            body: Vec::new(),
            prev_hash: ZERO_HASH.to_vec(),
            signature: Vec::new(),
        }
    }

    #[test]
    fn the_hash_ignores_the_signature() {
        let unsigned = Record::parse(first()).expect("parses");
        let signed = Record::parse(EventRecord {
            signature: vec![7; 64],
            ..first()
        })
        .expect("parses");
        assert_eq!(unsigned.hash(), signed.hash());
        assert!(signed.is_signed() && !unsigned.is_signed());
        assert_eq!(encode_and_hash(unsigned.raw()).1, *unsigned.hash());
        assert_eq!(encode_and_hash(signed.raw()).1, *unsigned.hash());
    }

    #[test]
    fn a_record_follows_the_head_it_links_to() {
        let one = Record::parse(first()).expect("parses");
        assert!(one.follows(None));
        let two = Record::parse(EventRecord {
            origin_seq: 2,
            prev_hash: one.hash().to_vec(),
            ..first()
        })
        .expect("parses");
        assert!(two.follows(Some(&one.head())));
        assert!(!two.follows(None), "not a first record");
        let forked = Record::parse(EventRecord {
            origin_seq: 2,
            prev_hash: vec![1; 32],
            ..first()
        })
        .expect("parses");
        assert!(
            !forked.follows(Some(&one.head())),
            "prev_hash does not link"
        );
    }

    #[test]
    fn every_bad_header_field_is_named() {
        let cases: [(&str, EventRecord); 6] = [
            (
                "origin",
                EventRecord {
                    origin: "31".into(),
                    ..first()
                },
            ),
            (
                "origin_seq",
                EventRecord {
                    origin_seq: 0,
                    ..first()
                },
            ),
            (
                "stream",
                EventRecord {
                    stream: "demand/320500".into(),
                    ..first()
                },
            ),
            (
                "event_id",
                EventRecord {
                    event_id: "x".into(),
                    ..first()
                },
            ),
            (
                "stream",
                EventRecord {
                    origin: "310000".into(),
                    ..first()
                },
            ),
            (
                "prev_hash",
                EventRecord {
                    prev_hash: vec![0; 31],
                    ..first()
                },
            ),
        ];
        for (field, raw) in cases {
            let err = Record::parse(raw).expect_err(field);
            assert_eq!(err.path, field, "{err}");
        }
    }
}
