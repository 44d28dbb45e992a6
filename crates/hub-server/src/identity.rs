//! Who a caller is once authenticated, and how much it may see: the words every part of
//! the node (configuration, TLS, the authorisation matrix, the access trail) shares, kept
//! apart so that none of them depends on another for them.

use hub_types::MemberId;
use serde::{Deserialize, Serialize};

/// What an authenticated caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A member city's system: publishes for its city, queries.
    Member,
    /// Reads history and proofs; never publishes.
    Auditor,
    /// Tails streams and reads node information; never publishes.
    Operator,
}

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The caller's city.
    pub member: MemberId,
    /// The caller's role.
    pub role: Role,
}

impl Role {
    /// The role's name in config and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Auditor => "auditor",
            Self::Operator => "operator",
        }
    }
}

/// How much a permitted caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything.
    Full,
    /// Everything but the personal fields of blacklist events.
    Redacted,
}
