//! Identifiers: members, streams, events, positions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Quoted, Result, ValidationError};
use crate::short_text::ShortText;

/// GB/T 2260 province-level prefixes (the first two digits of a division code).
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// A member city: its six-digit GB/T 2260 administrative division code, e.g. `330400`.
///
/// Construction checks the code's shape (six digits, a real province prefix, a city-level
/// code); whether a code belongs to the alliance is the roster's decision.
/// Serialized as its text, or compactly in binary formats (`compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(u32);

impl MemberId {
    /// The code as a number (e.g. 330400).
    pub fn code(self) -> u32 {
        self.0
    }

    /// Builds a member id from its numeric code.
    pub fn from_code(code: u32) -> Result<Self> {
        if code > 999_999 {
            return Err(ValidationError::reason(format!(
                "expected a six-digit GB/T 2260 division code, got {code}"
            )));
        }
        Self::checked(code)
    }

    /// Checks the province prefix and the city level of a code of at most six digits.
    fn checked(code: u32) -> Result<Self> {
        if !PROVINCES.contains(&(code / 10_000)) {
            return Err(ValidationError::reason(format!(
                "{} has no GB/T 2260 province prefix {:02}",
                Quoted(&format!("{code:06}")),
                code / 10_000
            )));
        }
        if !code.is_multiple_of(100) {
            return Err(ValidationError::reason(format!(
                "{} is a county-level code; members are cities (code ending in 00)",
                Quoted(&format!("{code:06}"))
            )));
        }
        Ok(Self(code))
    }
}

impl FromStr for MemberId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::reason(format!(
                "expected a six-digit GB/T 2260 division code, got {}",
                Quoted(s)
            )));
        }
        let code: u32 = s
            .parse()
            .map_err(|_| ValidationError::reason(format!("bad division code {}", Quoted(s))))?;
        Self::checked(code)
    }
}

impl TryFrom<String> for MemberId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<MemberId> for String {
    fn from(m: MemberId) -> String {
        m.to_string()
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// The three families of events; each has its own stream grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `recognition/<member>`: one stream per city holds all its recognition rules.
    Recognition,
    /// `demand/<member>/<signal>`: one stream per demand signal.
    Demand,
    /// `blacklist/<member>/<entry>`: one stream per blacklist entry.
    Blacklist,
    /// `whitelist/<member>/<entry>`: one stream per white-list entry.
    Whitelist,
    /// `award/<member>/<award>`: one stream per programme award.
    Award,
}

impl Family {
    /// The family's stream prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recognition => "recognition",
            Self::Demand => "demand",
            Self::Blacklist => "blacklist",
            Self::Whitelist => "whitelist",
            Self::Award => "award",
        }
    }

    /// Every family, in the order of [`Family::code`].
    pub const ALL: [Family; 5] = [
        Self::Recognition,
        Self::Demand,
        Self::Blacklist,
        Self::Whitelist,
        Self::Award,
    ];

    /// The family's number in binary forms (its place in [`Family::ALL`]).
    pub fn code(self) -> u8 {
        match self {
            Self::Recognition => 0,
            Self::Demand => 1,
            Self::Blacklist => 2,
            Self::Whitelist => 3,
            Self::Award => 4,
        }
    }

    /// The family numbered `code` by [`Family::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// True for the families whose streams carry personal fields sealed under a key of
    /// their own (the vault), which an erasure destroys.
    pub fn is_personal(self) -> bool {
        matches!(self, Self::Blacklist | Self::Whitelist | Self::Award)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A local identifier chosen by the publishing city: rule, signal or entry id.
/// 1..=64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
/// Kept inline when short (most are), and serialized as its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LocalId(ShortText);

impl LocalId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for LocalId {
    /// Reads the text (borrowed where the format allows it) and checks it as parsing does.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        crate::short_text::deserialize_text(deserializer, str::parse)
    }
}

impl FromStr for LocalId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let ok_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
        if s.is_empty() || s.len() > 64 {
            return Err(ValidationError::reason(format!(
                "expected 1..=64 characters, got {}",
                s.len()
            )));
        }
        if !s.as_bytes()[0].is_ascii_alphanumeric() || !s.bytes().all(ok_char) {
            return Err(ValidationError::reason(format!(
                "expected letters, digits, '.', '_' or '-' starting with a letter or digit, got {}",
                Quoted(s)
            )));
        }
        Ok(Self(ShortText::new(s)))
    }
}

impl TryFrom<String> for LocalId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<LocalId> for String {
    fn from(id: LocalId) -> String {
        id.as_str().to_owned()
    }
}

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The aggregate an event belongs to. Every stream is owned by exactly one member city:
/// `recognition/<member>`, `demand/<member>/<signal>` or `blacklist/<member>/<entry>`.
/// Serialized as its text, or compactly in binary formats (`compact`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    family: Family,
    owner: MemberId,
    local: Option<LocalId>,
}

impl StreamId {
    /// The recognition list of a city.
    pub fn recognition(owner: MemberId) -> Self {
        Self {
            family: Family::Recognition,
            owner,
            local: None,
        }
    }

    /// One demand signal of a city.
    pub fn demand(owner: MemberId, signal: LocalId) -> Self {
        Self {
            family: Family::Demand,
            owner,
            local: Some(signal),
        }
    }

    /// One blacklist entry of a city.
    pub fn blacklist(owner: MemberId, entry: LocalId) -> Self {
        Self {
            family: Family::Blacklist,
            owner,
            local: Some(entry),
        }
    }

    /// One white-list entry of a city.
    pub fn whitelist(owner: MemberId, entry: LocalId) -> Self {
        Self {
            family: Family::Whitelist,
            owner,
            local: Some(entry),
        }
    }

    /// One programme award of a city.
    pub fn award(owner: MemberId, award: LocalId) -> Self {
        Self {
            family: Family::Award,
            owner,
            local: Some(award),
        }
    }

    /// The stream of `family` of `owner`, with the local id its family needs (none for a
    /// recognition list): the parts of its text, checked as parsing the text checks them.
    pub fn from_parts(family: Family, owner: MemberId, local: Option<LocalId>) -> Result<Self> {
        match (family, local) {
            (Family::Recognition, None) => Ok(Self::recognition(owner)),
            (Family::Demand, Some(l)) => Ok(Self::demand(owner, l)),
            (Family::Blacklist, Some(l)) => Ok(Self::blacklist(owner, l)),
            (Family::Whitelist, Some(l)) => Ok(Self::whitelist(owner, l)),
            (Family::Award, Some(l)) => Ok(Self::award(owner, l)),
            (family, local) => Err(ValidationError::reason(format!(
                "a {family} stream {} local id",
                if local.is_some() {
                    "takes no"
                } else {
                    "needs a"
                }
            ))),
        }
    }

    /// The family, which decides which event kinds the stream accepts.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The city that owns the stream and alone may write it.
    pub fn owner(&self) -> MemberId {
        self.owner
    }

    /// The signal or entry id; `None` for a recognition list.
    pub fn local(&self) -> Option<&LocalId> {
        self.local.as_ref()
    }
}

impl FromStr for StreamId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        let grammar = || {
            ValidationError::reason(format!(
                "expected recognition/<member>, demand/<member>/<signal>, blacklist/<member>/<entry>, whitelist/<member>/<entry> or award/<member>/<award>, got {}",
                Quoted(s)
            ))
        };
        let member = |p: &str| p.parse::<MemberId>();
        match parts.as_slice() {
            ["recognition", m] => Ok(Self::recognition(member(m)?)),
            ["demand", m, id] => Ok(Self::demand(member(m)?, id.parse()?)),
            ["blacklist", m, id] => Ok(Self::blacklist(member(m)?, id.parse()?)),
            ["whitelist", m, id] => Ok(Self::whitelist(member(m)?, id.parse()?)),
            ["award", m, id] => Ok(Self::award(member(m)?, id.parse()?)),
            _ => Err(grammar()),
        }
    }
}

impl TryFrom<String> for StreamId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> String {
        id.to_string()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.family, self.owner)?;
        if let Some(local) = &self.local {
            write!(f, "/{local}")?;
        }
        Ok(())
    }
}

/// A client-chosen UUID naming an event: the idempotency key.
/// Serialized as its text, or compactly in binary formats (`compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Builds an id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }
}

impl FromStr for EventId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let id = uuid::Uuid::try_parse(s)
            .map_err(|_| ValidationError::reason(format!("expected a UUID, got {}", Quoted(s))))?;
        if id.is_nil() {
            return Err(ValidationError::reason("the nil UUID is not an event id"));
        }
        Ok(Self(id))
    }
}

impl TryFrom<String> for EventId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.to_string()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

macro_rules! counter {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(u64);

        impl $name {
            /// The first one.
            pub const FIRST: Self = Self(1);

            /// Builds one, rejecting 0 (counting starts at 1).
            pub fn new(value: u64) -> Result<Self> {
                if value == 0 {
                    return Err(ValidationError::reason(concat!($what, " starts at 1, got 0")));
                }
                Ok(Self(value))
            }

            /// The number.
            pub fn get(self) -> u64 {
                self.0
            }

            /// The one after this.
            #[must_use]
            pub fn next(self) -> Self {
                Self(self.0 + 1)
            }

            /// `value`, or the first one for 0 (requests on the wire use 0 for "from the
            /// start").
            #[must_use]
            pub fn at_least_first(value: u64) -> Self {
                Self(value.max(1))
            }

            /// The one after the first `count` (0: the first one).
            #[must_use]
            pub fn after(count: u64) -> Self {
                Self(count.saturating_add(1))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

counter!(
    /// A node-global log position: 1, 2, 3, … gap-free in the order this node accepted events.
    Position,
    "a position"
);
counter!(
    /// An event's number within its origin: 1, 2, 3, … assigned by the origin's node.
    OriginSeq,
    "an origin sequence"
);

/// The keyed hash identifying a person (HMAC-SHA256 of the normalised national ID):
/// never the ID itself.
/// Serialized as its text, or compactly in binary formats (`compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubjectRef([u8; 32]);

impl SubjectRef {
    /// Wraps the 32 bytes of a keyed hash.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for SubjectRef {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(ValidationError::reason(format!(
                "expected 64 lowercase hex characters (HMAC-SHA256), got {} characters",
                s.chars().count()
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|e| ValidationError::reason(format!("bad hex: {e}")))?;
        Ok(Self(out))
    }
}

impl TryFrom<String> for SubjectRef {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<SubjectRef> for String {
    fn from(r: SubjectRef) -> String {
        r.to_string()
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_made_from_their_parts_as_from_their_text() {
        for (i, family) in Family::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(family.code()), i);
            assert_eq!(Family::from_code(family.code()), Some(family));
        }
        assert_eq!(Family::from_code(5), None);
        let owner: MemberId = "330400".parse().expect("member");
        let local: LocalId = "s-1".parse().expect("local");
        for text in [
            "recognition/330400",
            "demand/330400/s-1",
            "award/330400/s-1",
        ] {
            let stream: StreamId = text.parse().expect("stream");
            let made = StreamId::from_parts(stream.family(), owner, stream.local().cloned());
            assert_eq!(made.expect("parts"), stream);
        }
        let refused = StreamId::from_parts(Family::Recognition, owner, Some(local))
            .expect_err("a recognition list has no local id");
        assert!(
            refused
                .to_string()
                .contains("a recognition stream takes no local id"),
            "{refused}"
        );
        let refused = StreamId::from_parts(Family::Demand, owner, None)
            .expect_err("a demand stream needs one");
        assert!(
            refused.to_string().contains("needs a local id"),
            "{refused}"
        );
    }

    #[test]
    fn local_ids_are_written_as_their_text_and_checked_when_read() {
        for text in [
            "sh-2025-0012",
            &"a".repeat(22),
            &"b".repeat(23),
            &"c".repeat(64),
        ] {
            let id: LocalId = text.parse().expect("a local id");
            let binary = bincode::serialize(&id).expect("bincode");
            assert_eq!(binary, bincode::serialize(text).expect("bincode"), "{text}");
            let back: LocalId = bincode::deserialize(&binary).expect("read back");
            assert_eq!(back, id);
            let json = serde_json::to_string(&id).expect("json");
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<LocalId>(&json).expect("read back"),
                id
            );
        }
        for bad in ["", "-lead", "has space", &"x".repeat(65)] {
            let binary = bincode::serialize(bad).expect("bincode");
            let refused = bincode::deserialize::<LocalId>(&binary).expect_err(bad);
            assert!(
                refused.to_string().starts_with("expected"),
                "{bad}: {refused}"
            );
            let json = serde_json::to_string(bad).expect("json");
            assert!(serde_json::from_str::<LocalId>(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn member_codes_are_checked() {
        assert_eq!("330400".parse::<MemberId>().unwrap().code(), 330_400);
        assert_eq!("310000".parse::<MemberId>().unwrap().to_string(), "310000");
        for bad in [
            "33040", "3304000", "33040a", "990400", "330402", "", " 330400",
        ] {
            assert!(bad.parse::<MemberId>().is_err(), "{bad}");
        }
        assert!(MemberId::from_code(310_000).is_ok());
        assert!(MemberId::from_code(1_000_000).is_err());
    }

    #[test]
    fn stream_grammar_per_family() {
        for ok in [
            "recognition/330400",
            "demand/330400/sig-2026q1-001",
            "blacklist/310000/SH.2026.7",
        ] {
            assert_eq!(ok.parse::<StreamId>().unwrap().to_string(), ok);
        }
        let s: StreamId = "demand/330400/s1".parse().unwrap();
        assert_eq!(s.family(), Family::Demand);
        assert_eq!(s.owner().to_string(), "330400");
        assert_eq!(s.local().unwrap().as_str(), "s1");
        for bad in [
            "recognition/330400/x",
            "demand/330400",
            "blacklist/310000/",
            "blacklist/310000/a/b",
            "talent/310000/a",
            "demand/31000/a",
            "demand/310000/-a",
            "demand/310000/a b",
            "",
        ] {
            assert!(bad.parse::<StreamId>().is_err(), "{bad}");
        }
        let long = format!("demand/310000/{}", "a".repeat(65));
        assert!(long.parse::<StreamId>().is_err());
    }

    #[test]
    fn event_ids_are_uuids() {
        let id = EventId::new_random();
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        assert!("not-a-uuid".parse::<EventId>().is_err());
        assert!("00000000-0000-0000-0000-000000000000"
            .parse::<EventId>()
            .is_err());
    }

    #[test]
    fn counters_start_at_one() {
        assert!(Position::new(0).is_err());
        assert_eq!(Position::new(7).unwrap().next().get(), 8);
        assert!(OriginSeq::new(0).is_err());
        assert_eq!(OriginSeq::FIRST.get(), 1);
    }

    #[test]
    fn subject_refs_are_64_lowercase_hex() {
        let ok = "a".repeat(64);
        assert_eq!(ok.parse::<SubjectRef>().unwrap().to_string(), ok);
        assert!("A".repeat(64).parse::<SubjectRef>().is_err());
        assert!("a".repeat(63).parse::<SubjectRef>().is_err());
        assert!("g".repeat(64).parse::<SubjectRef>().is_err());
        assert!("11010519491231002X".parse::<SubjectRef>().is_err());
    }
}
