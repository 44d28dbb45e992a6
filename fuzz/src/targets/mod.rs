//! The fuzz targets: one plain function per decoder or validator that sees outside bytes.
//! Each panics (a failed assertion included) only on a defect of the code it drives.

mod audit;
mod config;
mod record;
mod vault;
mod view;
mod wire;

pub use audit::{audit_proofs, audit_verify};
pub use config::config;
pub use record::{event_record, ingest};
pub use vault::{sealed, vault, with_checks, CHECK_AT, FILE as VAULT_FILE, SLOT};
pub use view::{framed, page_token, query, snapshot, snapshot_restored, unframed, SNAPSHOT_MAGIC};
pub use wire::{append_request, event_body, jsonl};

/// A fuzz target: takes any bytes.
pub type Target = fn(&[u8]);

/// Every target by name: the name of its libFuzzer binary and of its corpus directory.
pub const ALL: &[(&str, Target)] = &[
    ("append_request", append_request),
    ("event_body", event_body),
    ("event_record", event_record),
    ("ingest", ingest),
    ("jsonl", jsonl),
    ("query", query),
    ("page_token", page_token),
    ("snapshot", snapshot),
    ("vault", vault),
    ("sealed", sealed),
    ("audit_proofs", audit_proofs),
    ("audit_verify", audit_verify),
    ("config", config),
];

/// The target named `name`.
pub fn by_name(name: &str) -> Option<Target> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
