//! The alliance roster: which cities are members.
//!
//! The roster is written as TOML (`[[members]]` tables, see `config/roster.toml`); the one
//! the node and `hubctl` fall back on is built in as [`Roster::builtin`].

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};
use crate::ids::MemberId;

/// The built-in roster (`config/roster.toml`), the one place it is embedded.
const BUILTIN_TOML: &str = include_str!("../../../config/roster.toml");

/// One member city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// GB/T 2260 code.
    pub code: MemberId,
    /// Display name, e.g. `Jiaxing 嘉兴`.
    pub name: String,
    /// The city's ed25519 public key (64 hex characters): its chain heads and tree heads
    /// must verify with it.
    #[serde(default)]
    pub public_key: String,
}

/// The member cities of the alliance; validation accepts only these as origins and issuers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// Members in roster order.
    pub members: Vec<Member>,
}

impl Roster {
    /// Builds a roster, rejecting duplicate codes and empty names.
    pub fn new(members: Vec<Member>) -> Result<Self> {
        for (i, m) in members.iter().enumerate() {
            if m.name.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("members[{i}].name"),
                    "must not be empty",
                ));
            }
            if members[..i].iter().any(|o| o.code == m.code) {
                return Err(ValidationError::new(
                    format!("members[{i}].code"),
                    format!("{} is listed twice", m.code),
                ));
            }
        }
        Ok(Self { members })
    }

    /// The built-in roster of `config/roster.toml` (valid by construction, checked by a
    /// test).
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN_TOML).expect("the built-in roster is valid")
    }

    /// Parses a roster file's text and validates it like [`Roster::new`].
    pub fn from_toml(text: &str) -> Result<Self> {
        let roster: Roster = toml::from_str(text)
            .map_err(|e| ValidationError::reason(e.to_string().trim_end().to_owned()))?;
        Self::new(roster.members)
    }

    /// True if `code` is a member.
    pub fn contains(&self, code: MemberId) -> bool {
        self.members.iter().any(|m| m.code == code)
    }

    /// The member's name, if it is one.
    pub fn name(&self, code: MemberId) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.code == code)
            .map(|m| m.name.as_str())
    }

    /// Fails with a message naming the roster when `code` is not a member.
    pub fn require(&self, code: MemberId) -> Result<()> {
        if self.contains(code) {
            Ok(())
        } else {
            Err(ValidationError::reason(format!(
                "{code} is not a member of the alliance roster"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_roster_is_valid_and_lists_the_alliance() {
        let roster = Roster::builtin();
        assert_eq!(roster.members.len(), 13);
        let shanghai: MemberId = "310000".parse().expect("code");
        assert_eq!(roster.name(shanghai), Some("Shanghai 上海"));
        assert!(roster.members.iter().all(|m| m.public_key.len() == 64));
    }

    #[test]
    fn a_roster_file_is_parsed_and_validated() {
        let one = "[[members]]\ncode = \"330400\"\nname = \"Jiaxing\"\n";
        let roster = Roster::from_toml(one).expect("valid roster");
        assert_eq!(roster.members.len(), 1);
        assert_eq!(roster.members[0].public_key, "");

        let twice = format!("{one}{one}");
        let err = Roster::from_toml(&twice).expect_err("duplicate code");
        assert_eq!(err.path, "members[1].code");

        let err =
            Roster::from_toml("[[members]]\ncode = \"12\"\nname = \"x\"\n").expect_err("bad code");
        assert!(err.to_string().contains("six-digit"), "{err}");

        let err = Roster::from_toml("members = 3").expect_err("not a table");
        assert!(!err.to_string().is_empty());
    }
}
