//! The alliance roster: which cities are members.

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};
use crate::ids::MemberId;

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
