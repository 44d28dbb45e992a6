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
