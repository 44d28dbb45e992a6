//! The crate's one error type.

use std::io;
use std::path::PathBuf;

use hub_types::MemberId;

/// Result with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tree size beyond the leaves the tree holds.
    #[error("tree size {size} is beyond the {len} leaves held")]
    TreeSize {
        /// The size asked for.
        size: u64,
        /// The number of leaves held.
        len: u64,
    },
    /// A leaf index that is not inside the tree size asked for.
    #[error("leaf index {index} is not below tree size {size}")]
    LeafIndex {
        /// The index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A consistency proof asked from a larger tree to a smaller one.
    #[error("consistency proof from size {old} to size {new}: expected old <= new")]
    ConsistencyRange {
        /// The old tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// A key file that cannot be read or written.
    #[error("key file {}: {source}", path.display())]
    KeyFileIo {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A key file whose content is not a key.
    #[error("key file {} is malformed: {what}", path.display())]
    KeyFileFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The text of a secret key file that is not a key; says what is wrong without
    /// repeating the secret.
    #[error("secret key is malformed: {0}")]
    SigningKeyText(String),
    /// A public key that is not 64 hex characters of a usable ed25519 point.
    #[error("bad public key: {0}")]
    PublicKey(String),
    /// A roster member whose public key does not parse.
    #[error("roster: bad public key of {member}: {what}")]
    RosterKey {
        /// The member listing the key.
        member: MemberId,
        /// What is wrong with the key.
        what: String,
    },
    /// A member id that is not six ASCII digits.
    #[error("origin {} is not a six-digit member id", hub_types::Quoted(.0))]
    Origin(String),
    /// A signature that does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The first signature of a batch that does not verify.
    #[error("signature {index} of the batch does not verify")]
    BatchSignature {
        /// Index of the first bad item in the batch.
        index: usize,
    },
    /// The first place where a stored history fails verification.
    #[error("position {position}: {what}")]
    Problem {
        /// Log position of the bad (or first missing) event; the tree size for a root
        /// mismatch.
        position: u64,
        /// What is wrong there.
        what: String,
    },
}
