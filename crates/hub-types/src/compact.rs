//! Serde for identifiers, dates and quarters in two forms: their text in human-readable
//! formats (JSON, TOML: what callers and operators read and write), and a compact binary
//! form in the others (bincode: the view snapshot). A snapshot holds millions of them, and
//! as text each cost an allocation and a parse on every restart.
//!
//! Both forms are checked when read: a binary value goes through the same constructor as
//! its text, so a damaged or forged snapshot cannot make an identifier the text would
//! refuse.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Result, ValidationError};
use crate::ids::{Family, LocalId, MemberId, StreamId, SubjectRef};
use crate::time::{Date, Period};
use crate::EventId;

/// Implements `Serialize` and `Deserialize` for `$ty`: its `Display` / `FromStr` text when
/// the format is human-readable, else `$bin`, made by `$to` and checked by `$from`.
macro_rules! text_or_binary {
    ($ty:ty, $bin:ty, $to:expr, $from:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    let to: fn(&$ty) -> $bin = $to;
                    to(self).serialize(s)
                }
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                if d.is_human_readable() {
                    String::deserialize(d)?.parse().map_err(D::Error::custom)
                } else {
                    let from: fn($bin) -> Result<$ty> = $from;
                    from(<$bin>::deserialize(d)?).map_err(D::Error::custom)
                }
            }
        }
    };
}

text_or_binary!(MemberId, u32, |m| m.code(), MemberId::from_code);
text_or_binary!(Date, i32, |d| d.days_since_epoch(), Date::from_days_checked);
text_or_binary!(Period, (u16, u8), |p| (p.year(), p.quarter()), |(y, q)| {
    Period::new(y, q)
});
text_or_binary!(EventId, [u8; 16], |id| *id.as_bytes(), |b| {
    if b == [0; 16] {
        return Err(ValidationError::reason("the nil UUID is not an event id"));
    }
    Ok(EventId::from_bytes(b))
});
text_or_binary!(SubjectRef, [u8; 32], |s| *s.as_bytes(), |b| Ok(
    SubjectRef::from_bytes(b)
));
text_or_binary!(
    StreamId,
    (Family, MemberId, Option<LocalId>),
    |s| (s.family(), s.owner(), s.local().cloned()),
    |(family, owner, local)| StreamId::from_parts(family, owner, local)
);

#[cfg(test)]
mod tests {
    use super::*;

    fn both<T>(value: T, text: &str)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(&value).expect("json");
        assert_eq!(json, format!("\"{text}\""), "the text form is unchanged");
        assert_eq!(serde_json::from_str::<T>(&json).expect("json back"), value);
        let binary = bincode::serialize(&value).expect("bincode");
        assert!(
            binary.len() < text.len() + 8,
            "{text}: {} bytes",
            binary.len()
        );
        assert_eq!(
            bincode::deserialize::<T>(&binary).expect("bincode back"),
            value
        );
    }

    #[test]
    fn each_type_keeps_its_text_and_round_trips_in_binary() {
        let member: MemberId = "330400".parse().expect("member");
        both(member, "330400");
        both(Date::from_ymd(2026, 12, 7).expect("date"), "2026-12-07");
        both(Period::new(2026, 4).expect("period"), "2026-Q4");
        let id = "0b7e3f9e-2c1d-4f6a-9b8e-1a2b3c4d5e6f";
        both(id.parse::<EventId>().expect("id"), id);
        let subject = format!("{:064x}", 0xabcdefu64);
        both(subject.parse::<SubjectRef>().expect("subject"), &subject);
        for s in [
            "recognition/330400",
            "demand/330400/s-1",
            "blacklist/310000/e.2",
        ] {
            both(s.parse::<StreamId>().expect("stream"), s);
        }
    }

    /// Asserts the binary form of `value`, read as a `T`, is refused.
    fn refused<T: for<'de> Deserialize<'de> + std::fmt::Debug>(value: &impl Serialize, what: &str) {
        let bytes = bincode::serialize(value).expect("bincode");
        let read = bincode::deserialize::<T>(&bytes);
        assert!(read.is_err(), "{what} was accepted: {read:?}");
    }

    #[test]
    fn binary_values_the_text_would_refuse_are_refused() {
        refused::<MemberId>(&330401u32, "a county-level member");
        refused::<MemberId>(&990000u32, "a member without a province");
        refused::<MemberId>(&3_304_000u32, "a member of seven digits");
        refused::<Date>(&i32::MAX, "a date beyond 2200");
        refused::<Period>(&(2026u16, 5u8), "a fifth quarter");
        refused::<EventId>(&[0u8; 16], "the nil event id");
        refused::<LocalId>(&"-x", "a local id starting with a dash");
        refused::<LocalId>(&"x y", "a local id with a space");
        refused::<LocalId>(&"x".repeat(65), "a local id of 65 characters");
        let local: LocalId = "sh-2025.0012_a".parse().expect("local id");
        let binary = bincode::serialize(&local).expect("bincode");
        assert_eq!(
            bincode::deserialize::<LocalId>(&binary).expect("back"),
            local
        );
        let json = serde_json::to_string(&local).expect("json");
        assert_eq!(
            serde_json::from_str::<LocalId>(&json).expect("json back"),
            local
        );
        assert!(serde_json::from_str::<LocalId>("\"-x\"").is_err());
        let member: MemberId = "330400".parse().expect("member");
        refused::<StreamId>(
            &(Family::Demand, member, None::<LocalId>),
            "a demand stream without a signal",
        );
        let local: LocalId = "x".parse().expect("local id");
        refused::<StreamId>(
            &(Family::Recognition, member, Some(local)),
            "a recognition stream with a local id",
        );
    }
}
