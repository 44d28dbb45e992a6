//! Tamper evidence for a node's history.
//!
//! ```text
//!   member key (keys)            node key (keys)
//!        |                             |
//!   sign_chain_head (sign)       sign_tree_head (sign)
//!        |                             |
//!   origin chain: e1 <- e2 <- e3 ... (prev_hash)      log order: E:1 E:2 ... E:n
//!        \______________________________________________/
//!                               |
//!             MerkleTree over leaf_hash(record) (merkle)
//!                               |
//!      inclusion / consistency proofs, offline Verifier (verify)
//! ```
//!
//! - [`merkle`]: the RFC 6962 / RFC 9162 Merkle tree over the node's log: roots of any
//!   prefix, inclusion and consistency proofs and their verification.
//! - [`keys`]: ed25519 member keys, their key file format and the roster's public keys.
//! - [`sign`]: the domain-separated byte formats that members and nodes sign (chain heads,
//!   tree heads) and their strict and batch verification.
//! - [`ledger`]: the Merkle tree a node keeps in step with its log, for its tree heads and
//!   proofs.
//! - [`trail`]: the hash chain of a node's access trail and its verification.
//! - [`verify`]: an offline verifier that replays a node's stored events and names the first
//!   position where the history was altered.
//!
//! The crate is pure: it reads and writes key files, and nothing else touches I/O.

mod error;
pub mod keys;
pub mod leaves;
pub mod ledger;
pub mod merkle;
#[cfg(test)]
mod protocol_examples;
pub mod sign;
pub mod trail;
pub mod verify;

pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
pub use error::{Error, Result};
pub use keys::{
    generate, load_signing_key, parse_public_key, parse_signing_key_text, public_key_hex,
    roster_keys, write_signing_key,
};
pub use ledger::Ledger;
pub use merkle::{
    leaf_hash, node_hash, verify_consistency, verify_inclusion, CompactTree, Hash, MerkleTree,
    EMPTY_ROOT,
};
pub use sign::{
    chain_head_message, sign_chain_head, sign_entry_key, sign_tree_head, verify_chain_head,
    verify_chain_heads_batch, verify_entry_key, verify_tree_head, SignedTreeHead, TreeHead,
};
pub use trail::{entry_hash, verify_trail, TrailBreak, TRAIL_START};
pub use verify::{record_leaf_hash, ChainEnd, Report, Verifier};
