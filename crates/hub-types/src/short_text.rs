//! Short text kept inline: the local ids a city chooses and most labels and references of
//! an event (levels, decision and basis references, scheme codes) are a dozen or two bytes,
//! and the view holds millions of them (several copies of each id: map keys, index lists),
//! so a heap allocation apiece cost a restart millions of `malloc` calls and the view 32
//! bytes or more each.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Bytes kept inline: with the length and the variant's tag, the same 24 bytes as a `String`.
const INLINE: usize = 22;

/// Text, inline up to [`INLINE`] bytes and on the heap beyond. Compares, orders and hashes
/// as its text, and is written as its text in every format.
#[derive(Clone)]
pub(crate) enum ShortText {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl ShortText {
    /// Keeps `text`.
    pub(crate) fn new(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(text.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(text) => text.as_bytes(),
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Inline { .. } => {
                std::str::from_utf8(self.as_bytes()).expect("short text is built from a str")
            }
            Self::Heap(text) => text,
        }
    }
}

impl Default for ShortText {
    fn default() -> Self {
        Self::new("")
    }
}

impl serde::Serialize for ShortText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ShortText {
    /// Reads the text borrowed where the format allows it (bincode does), so that decoding
    /// short text allocates nothing.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_text(deserializer, |s| {
            Ok::<_, std::convert::Infallible>(ShortText::new(s))
        })
    }
}

/// Reads text, borrowed where the format allows it, and makes a `T` of it with `make`
/// (which checks it): the text is neither copied nor checked as UTF-8 twice.
pub(crate) fn deserialize_text<'de, D, T, E>(
    deserializer: D,
    make: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    E: fmt::Display,
{
    struct Text<F>(F);
    impl<T, E: fmt::Display, F: FnOnce(&str) -> Result<T, E>> serde::de::Visitor<'_> for Text<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("text")
        }
        fn visit_str<Er: serde::de::Error>(self, s: &str) -> Result<T, Er> {
            (self.0)(s).map_err(Er::custom)
        }
    }
    deserializer.deserialize_str(Text(make))
}

impl PartialEq for ShortText {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShortText {}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    /// Byte order, which is the order of the texts (`str`'s own).
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for ShortText {
    /// As `str` hashes: its bytes, then `0xff`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Vec<String> {
        let mut all: Vec<String> = [
            "",
            "a",
            "a-1",
            "a-10",
            "a-2",
            "b",
            "sh-2025-0012",
            "沪人社",
            "沪人社〔2025〕12号",
        ]
        .map(String::from)
        .to_vec();
        for len in [INLINE - 1, INLINE, INLINE + 1, 64] {
            all.push("x".repeat(len));
            all.push(format!("{}y", "x".repeat(len - 1)));
        }
        all
    }

    #[test]
    fn short_text_keeps_its_text_inline_up_to_the_bound() {
        for text in texts() {
            let short = ShortText::new(&text);
            assert_eq!(short.as_str(), text);
            assert_eq!(
                matches!(short, ShortText::Inline { .. }),
                text.len() <= INLINE,
                "{text}"
            );
        }
        assert_eq!(
            std::mem::size_of::<ShortText>(),
            std::mem::size_of::<String>()
        );
    }

    #[test]
    fn short_text_orders_and_compares_as_its_text() {
        let all = texts();
        for a in &all {
            for b in &all {
                let (x, y) = (ShortText::new(a), ShortText::new(b));
                assert_eq!(x.cmp(&y), a.cmp(b), "{a} against {b}");
                assert_eq!(x == y, a == b, "{a} against {b}");
            }
        }
    }
}
