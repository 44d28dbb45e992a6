//! `hubctl audit verify` and `hubctl audit prove`: check a node's history, online or from
//! a data directory, and check proofs of inclusion and consistency.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use hub_audit::{TreeHead, VerifyingKey};
use hub_proto::convert::event_from_record;
use hub_proto::pb;
use hub_types::fold::ViewState;
use hub_types::roster::Roster;
use hub_types::Position;

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::replay::Progress;

/// Records fetched per call.
const PAGE: u32 = 2000;

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Replay the whole history (from the node, or a stopped node's --data-dir), checking
    /// every chain link, every signature and the Merkle root against the signed tree head;
    /// rebuild the view and print its digest. Exits non-zero naming the first bad position.
    Verify(VerifyArgs),
    /// Fetch and check the proof that a position is in the node's tree, and/or that an
    /// older tree is a prefix of the current one.
    Prove(ProveArgs),
}

/// Flags of `audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify a data directory offline (the node must be stopped) instead of a node.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Roster with the cities' public keys; default: the built-in roster.
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// Offline: the size of a tree head obtained earlier, which the data must match.
    #[arg(long, requires = "root")]
    pub tree_size: Option<u64>,
    /// Offline: the root (hex) of that tree head.
    #[arg(long, requires = "tree_size")]
    pub root: Option<String>,
}

/// Flags of `audit prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// Prove that this position is in the current tree.
    #[arg(long)]
    pub position: Option<u64>,
    /// Prove that the tree of this size is a prefix of the current tree.
    #[arg(long)]
    pub old_size: Option<u64>,
    /// Roster with the cities' public keys; default: the built-in roster.
    #[arg(long)]
    pub roster: Option<PathBuf>,
}

/// The public keys of the roster at `path` (default: the built-in roster), by city code as
/// the verifier and tree heads name the cities.
fn roster_keys(path: Option<&PathBuf>) -> Result<BTreeMap<String, VerifyingKey>> {
    let roster = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::Input(format!("cannot read roster {}: {e}", p.display())))?;
            Roster::from_toml(&text).map_err(|e| CliError::Input(format!("bad roster: {e}")))?
        }
        None => Roster::builtin(),
    };
    let keys = hub_audit::roster_keys(&roster).map_err(|e| CliError::Input(e.to_string()))?;
    Ok(keys
        .into_iter()
        .map(|(member, key)| (member.to_string(), key))
        .collect())
}

fn hash(bytes: &[u8], what: &str) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| mismatch(format!("{what} is not a 32-byte hash")))
}

fn mismatch(what: String) -> CliError {
    CliError::Mismatch(what)
}

/// Checks a signed tree head against the roster key of the node that signed it.
fn check_tree_head(
    sth: &pb::SignedTreeHead,
    keys: &BTreeMap<String, VerifyingKey>,
) -> Result<TreeHead> {
    let head = TreeHead {
        tree_size: sth.tree_size,
        root: hash(&sth.root_hash, "the tree head's root")?,
        timestamp_micros: sth.timestamp_micros,
        node: sth.node.clone(),
    };
    let key = keys.get(&sth.node).ok_or_else(|| {
        mismatch(format!(
            "the tree head is signed by {:?}, which has no key in the roster",
            sth.node
        ))
    })?;
    hub_audit::verify_tree_head(key, &head, &sth.signature).map_err(|e| {
        mismatch(format!(
            "the tree head's signature does not verify with {}'s roster key: {e}",
            sth.node
        ))
    })?;
    Ok(head)
}

/// Runs an audit subcommand.
pub async fn run(endpoint: &str, token: &str, cmd: &AuditCmd) -> Result<()> {
    match cmd {
        AuditCmd::Verify(args) => match &args.data_dir {
            Some(dir) => verify_offline(dir, args).await,
            None => verify_online(&Connection::open(endpoint, token).await?, args).await,
        },
        AuditCmd::Prove(args) => prove(&Connection::open(endpoint, token).await?, args).await,
    }
}

/// Verifies records fed through a channel on a blocking thread, while the caller folds
/// them; returns the verifier's report.
fn spawn_verifier(
    keys: BTreeMap<String, VerifyingKey>,
    head: Option<TreeHead>,
) -> (
    std::sync::mpsc::SyncSender<(u64, pb::EventRecord)>,
    tokio::task::JoinHandle<hub_audit::Result<hub_audit::Report>>,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel(8192);
    let task = tokio::task::spawn_blocking(move || {
        let mut verifier = hub_audit::Verifier::new(&keys);
        if let Some(head) = head {
            verifier = verifier.with_tree_head(head);
        }
        verifier.verify(rx, |_| {})
    });
    (tx, task)
}

fn report_outcome(
    outcome: std::result::Result<hub_audit::Result<hub_audit::Report>, tokio::task::JoinError>,
) -> Result<hub_audit::Report> {
    match outcome {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(hub_audit::Error::Problem { position, what })) => Err(mismatch(format!(
            "history does not verify at position {position}: {what}"
        ))),
        Ok(Err(e)) => Err(mismatch(format!("history does not verify: {e}"))),
        Err(e) => Err(mismatch(format!("verification failed: {e}"))),
    }
}

fn fold(state: &mut ViewState, position: u64, record: &pb::EventRecord) -> Result<()> {
    let at = Position::new(position).map_err(|e| mismatch(format!("position {position}: {e}")))?;
    let event = event_from_record(record, at).map_err(|e| {
        mismatch(format!(
            "position {position}: the fold cannot read the event: {e}"
        ))
    })?;
    state.apply(&event);
    Ok(())
}

async fn verify_online(conn: &Connection, args: &VerifyArgs) -> Result<()> {
    let keys = roster_keys(args.roster.as_ref())?;
    let mut audit = conn.audit();
    let sth = audit
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await
        .map_err(|s| CliError::status("get the tree head", &s))?
        .into_inner();
    let head = check_tree_head(&sth, &keys)?;
    let size = head.tree_size;
    let (tx, task) = spawn_verifier(keys, Some(head));
    let mut state = ViewState::default();
    let mut progress = Progress::counting("events verified");
    let mut next = 1;
    while next <= size {
        let page = audit
            .read_records(pb::ReadRecordsRequest {
                from_position: next,
                limit: PAGE.min((size - next + 1) as u32),
            })
            .await
            .map_err(|s| CliError::status("read the records", &s))?
            .into_inner();
        if page.records.is_empty() {
            break;
        }
        for record in page.records {
            fold(&mut state, next, &record)?;
            if tx.send((next, record)).is_err() {
                break; // the verifier stopped at a problem; its report says which
            }
            next += 1;
        }
        progress.update(next - 1, size);
    }
    drop(tx);
    progress.finish();
    let report = report_outcome(task.await)?;
    let digest = hex::encode(state.digest(None));
    let info = conn
        .query()
        .view_info(pb::ViewInfoRequest { at_position: size })
        .await
        .map_err(|s| CliError::status("view info", &s))?
        .into_inner();
    println!(
        "verified {} events ({} signatures) against {}'s tree head of size {size}",
        report.events, report.signatures, sth.node
    );
    println!("merkle root {}", hex::encode(report.root));
    println!("view digest {digest}");
    if info.digest != digest {
        return Err(mismatch(format!(
            "the node reports view digest {} at position {size}, the replay gives {digest}",
            info.digest
        )));
    }
    println!("the node's view digest matches");
    Ok(())
}

async fn verify_offline(dir: &std::path::Path, args: &VerifyArgs) -> Result<()> {
    let keys = roster_keys(args.roster.as_ref())?;
    let path = dir.join("log");
    let log = hub_log::Log::open(&path)
        .map_err(|e| mismatch(format!("cannot open the log in {}: {e}", path.display())))?;
    let size = log.head();
    let expected = match (args.tree_size, &args.root) {
        (Some(tree_size), Some(root)) => {
            let bytes = hex::decode(root)
                .map_err(|_| CliError::Input(format!("--root {root:?} is not hex")))?;
            Some(TreeHead {
                tree_size,
                root: bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| CliError::Input("--root must be 32 bytes of hex".into()))?,
                timestamp_micros: 0,
                node: String::new(),
            })
        }
        _ => None,
    };
    let (tx, task) = spawn_verifier(keys, expected);
    let mut state = ViewState::default();
    let mut progress = Progress::counting("events verified");
    let mut next = 1;
    while next <= size {
        let events = log
            .read_all(Position::at_least_first(next), PAGE as usize)
            .map_err(|e| mismatch(format!("reading position {next}: {e}")))?;
        if events.is_empty() {
            break;
        }
        for e in events {
            let position = e.position.get();
            fold(&mut state, position, &e.record)?;
            if tx.send((position, e.record)).is_err() {
                break;
            }
            next = position + 1;
        }
        progress.update(next - 1, size);
    }
    drop(tx);
    progress.finish();
    let report = report_outcome(task.await)?;
    println!(
        "verified {} events ({} signatures) in {}",
        report.events,
        report.signatures,
        dir.display()
    );
    println!("merkle root {} (size {size})", hex::encode(report.root));
    println!("view digest {}", hex::encode(state.digest(None)));
    Ok(())
}

async fn prove(conn: &Connection, args: &ProveArgs) -> Result<()> {
    if args.position.is_none() && args.old_size.is_none() {
        return Err(CliError::Input("give --position and/or --old-size".into()));
    }
    let keys = roster_keys(args.roster.as_ref())?;
    let mut audit = conn.audit();
    let sth = audit
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await
        .map_err(|s| CliError::status("get the tree head", &s))?
        .into_inner();
    let head = check_tree_head(&sth, &keys)?;
    println!(
        "tree head: size {} root {} signed by {}",
        head.tree_size,
        hex::encode(head.root),
        head.node
    );
    if let Some(position) = args.position {
        let proof = audit
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                position,
                tree_size: head.tree_size,
            })
            .await
            .map_err(|s| CliError::status(format!("inclusion proof of position {position}"), &s))?
            .into_inner();
        let record = proof
            .record
            .ok_or_else(|| mismatch("the proof carries no record".into()))?;
        let leaf = hub_audit::record_leaf_hash(&record);
        let path = proof
            .path
            .iter()
            .map(|h| hash(h, "a proof hash"))
            .collect::<Result<Vec<_>>>()?;
        if !hub_audit::verify_inclusion(&leaf, position - 1, head.tree_size, &path, &head.root) {
            return Err(mismatch(format!(
                "the inclusion proof of position {position} does not verify against the tree head"
            )));
        }
        println!(
            "position {position} ({} {}#{}) is in the tree: {} hashes checked",
            record.stream,
            record.origin,
            record.origin_seq,
            path.len()
        );
    }
    if let Some(old) = args.old_size {
        let old_sth = audit
            .get_tree_head(pb::GetTreeHeadRequest { tree_size: old })
            .await
            .map_err(|s| CliError::status(format!("tree head of size {old}"), &s))?
            .into_inner();
        let old_head = check_tree_head(&old_sth, &keys)?;
        let proof = audit
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                old_size: old,
                new_size: head.tree_size,
            })
            .await
            .map_err(|s| CliError::status("consistency proof", &s))?
            .into_inner();
        let path = proof
            .path
            .iter()
            .map(|h| hash(h, "a proof hash"))
            .collect::<Result<Vec<_>>>()?;
        if !hub_audit::verify_consistency(old, head.tree_size, &old_head.root, &head.root, &path) {
            return Err(mismatch(format!(
                "the tree of size {old} is not a prefix of the tree of size {}",
                head.tree_size
            )));
        }
        println!(
            "the tree of size {old} is a prefix of the tree of size {}",
            head.tree_size
        );
    }
    Ok(())
}
