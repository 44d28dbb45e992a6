//! The validation error shared by every constructor in this crate.

use std::fmt;

/// Why a value was rejected, and where: `path` names the field (e.g.
/// `events[3].body.blacklist_entry_added.expires_at`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Dotted path of the offending field; empty until a caller names it.
    pub path: String,
    /// What was wrong, lowercase, saying what was expected.
    pub reason: String,
}

impl ValidationError {
    /// Creates an error for a field at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Creates an error whose field path the caller fills in later with [`Self::at`].
    pub fn reason(reason: impl Into<String>) -> Self {
        Self::new(String::new(), reason)
    }

    /// Prefixes the path with an outer field name, so errors bubble up as full paths.
    #[must_use]
    pub fn at(mut self, outer: impl AsRef<str>) -> Self {
        let outer = outer.as_ref();
        self.path = match (outer.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => outer.to_owned(),
            (false, false) if self.path.starts_with('[') => format!("{outer}{}", self.path),
            (false, false) => format!("{outer}.{}", self.path),
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Result of validating a value.
pub type Result<T, E = ValidationError> = std::result::Result<T, E>;

/// Longest prefix of a bad value an error quotes, in characters: a status message travels in
/// an HTTP/2 header, which clients cap at 8-16 KiB.
pub const QUOTE_CHARS: usize = 64;

/// Quotes a bad value for an error message: in double quotes with Rust-style escapes, cut to
/// its first [`QUOTE_CHARS`] characters (then `…` and the value's length) so that an error
/// never carries a long value back to the client.
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(QUOTE_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => {
                let shown = format!("{:?}", &self.0[..cut]);
                write!(
                    f,
                    "{}…\" ({} characters)",
                    &shown[..shown.len() - 1],
                    self.0.chars().count()
                )
            }
        }
    }
}

/// Adds a field path to the error of a validation result.
pub trait AtField<T> {
    /// Names the field the value came from.
    fn at(self, field: &str) -> Result<T>;
}

impl<T> AtField<T> for Result<T> {
    fn at(self, field: &str) -> Result<T> {
        self.map_err(|e| e.at(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(Quoted("2026-Q5").to_string(), "\"2026-Q5\"");
        assert_eq!(Quoted("a\"b").to_string(), "\"a\\\"b\"");
    }

    #[test]
    fn long_values_are_quoted_as_a_prefix_with_their_length() {
        let long = "x".repeat(20_000);
        let q = Quoted(&long).to_string();
        assert_eq!(
            q,
            format!("\"{}…\" (20000 characters)", "x".repeat(QUOTE_CHARS))
        );
        let wide = "名".repeat(100);
        let q = Quoted(&wide).to_string();
        assert!(
            q.starts_with(&format!("\"{}…", "名".repeat(QUOTE_CHARS))),
            "{q}"
        );
    }

    #[test]
    fn paths_compose_outwards() {
        let e = ValidationError::reason("must not be empty")
            .at("expires_at")
            .at("body.blacklist_entry_added")
            .at("[3]")
            .at("events");
        assert_eq!(e.path, "events[3].body.blacklist_entry_added.expires_at");
        assert_eq!(
            e.to_string(),
            "events[3].body.blacklist_entry_added.expires_at: must not be empty"
        );
    }
}
