//! A real node killed with SIGKILL, again and again, under concurrent gRPC load from
//! several clients: every acknowledged event is there exactly once afterwards, a retry of
//! an event whose answer was lost is a duplicate, never a conflict, and every tree head
//! the node signed after a start (its tree taken from its leaf file) has the root of the
//! records it holds.
//!
//! No broker needed. `HUB_SYSTEM_CRASH_CYCLES` sets the number of kill cycles (default 20).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_proto::pb;
use hub_system_tests::client::{audit, blacklist_entry, demand};
use hub_system_tests::{eventually, Cluster};

const SH: &str = "310000";
const CLIENTS: usize = 4;
const AUDITOR: &str = "dev-auditor";

/// What the clients sent: acknowledged event ids, and requests whose answer never came.
#[derive(Default)]
struct Ledger {
    acked: BTreeSet<String>,
    unanswered: Vec<pb::AppendRequest>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_concurrent_load_loses_no_acknowledged_event_and_duplicates_none(
) -> anyhow::Result<()> {
    let cycles: usize = std::env::var("HUB_SYSTEM_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut blacklisted = 0usize;
    // The tree heads the node signed right after each start.
    let mut heads = Vec::new();

    for cycle in 0..cycles {
        if cycle > 0 {
            cluster.node_mut(SH).start().await?;
            heads.push(tree_head(&cluster).await?);
        }
        // Requests that lost their answer in the last crash are retried first, unchanged:
        // each is stored already (a duplicate) or not at all (appended now).
        let retries = std::mem::take(&mut ledger.lock().expect("ledger").unanswered);
        let mut p = cluster.node(SH).publisher().await?;
        for req in retries {
            let id = req.events[0].event_id.clone();
            let stream = req.stream.clone();
            match p.append(req).await {
                Ok(_) => {
                    ledger.lock().expect("ledger").acked.insert(id);
                }
                Err(e) => panic!("cycle {cycle}: retry of {id} on {stream} refused: {e}"),
            }
        }

        // Several clients append at once; every fifth event is a blacklist entry.
        let head = cluster.node(SH).info().await?.log_head;
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let mut p = cluster.node(SH).publisher().await?;
            let ledger = ledger.clone();
            clients.push(tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("y{cycle}-c{c}-{i}");
                    let req = if i % 5 == 0 {
                        blacklist_entry(SH, &name)
                    } else {
                        demand(SH, &name, 1 + (i % 50) as u32)
                    };
                    let id = req.events[0].event_id.clone();
                    match p.append(req.clone()).await {
                        Ok(_) => {
                            ledger.lock().expect("ledger").acked.insert(id);
                        }
                        Err(_) => {
                            ledger.lock().expect("ledger").unanswered.push(req);
                            return;
                        }
                    }
                }
            }));
        }
        blacklisted += CLIENTS;
        // Kill it once the clients got some 40 more events in, mid-stream.
        eventually(Duration::from_secs(60), "the clients append", || async {
            let info = cluster.node(SH).info().await.map_err(|e| e.to_string())?;
            (info.log_head >= head + 40)
                .then_some(())
                .ok_or(format!("head {}", info.log_head))
        })
        .await?;
        cluster.node_mut(SH).kill();
        for c in clients {
            c.await?;
        }
    }

    // After a last restart (and the last retries), the log holds every acknowledged event,
    // each once.
    cluster.node_mut(SH).start().await?;
    let retries = std::mem::take(&mut ledger.lock().expect("ledger").unanswered);
    let mut p = cluster.node(SH).publisher().await?;
    for req in retries {
        let id = req.events[0].event_id.clone();
        p.append(req).await?;
        ledger.lock().expect("ledger").acked.insert(id);
    }
    heads.push(tree_head(&cluster).await?);
    check_tree_heads(&cluster, &heads).await?;
    let events = cluster.node(SH).events().await?;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &events {
        *seen.entry(e.event_id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let ledger = ledger.lock().expect("ledger");
    let lost: Vec<_> = ledger
        .acked
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let entries = events
        .iter()
        .filter(|e| e.stream.starts_with("blacklist/"))
        .count();
    assert!(entries >= blacklisted, "{entries} blacklist entries stored");
    assert!(ledger.acked.len() >= cycles * 40);
    eprintln!(
        "{cycles} kill -9 cycles: {} acknowledged events, {} stored, {entries} blacklist entries",
        ledger.acked.len(),
        events.len()
    );
    Ok(())
}

/// The node's signed tree head of its whole log: its size and root.
async fn tree_head(cluster: &Cluster) -> anyhow::Result<(u64, Vec<u8>)> {
    let head = audit(&cluster.node(SH).endpoint(), AUDITOR)
        .await?
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await?
        .into_inner();
    Ok((head.tree_size, head.root_hash))
}

/// Every head in `heads` (in order of size) has the root of the node's records up to its
/// size, hashed here from the records the node hands out.
async fn check_tree_heads(cluster: &Cluster, heads: &[(u64, Vec<u8>)]) -> anyhow::Result<()> {
    let mut auditor = audit(&cluster.node(SH).endpoint(), AUDITOR).await?;
    let mut tree = hub_audit::CompactTree::new();
    let mut pending = heads.iter().peekable();
    while let Some((size, root)) = pending.peek() {
        if tree.len() == *size {
            assert_eq!(
                tree.root().to_vec(),
                *root,
                "the tree head of size {size} signed after a start"
            );
            pending.next();
            continue;
        }
        let page = auditor
            .read_records(pb::ReadRecordsRequest {
                from_position: tree.len() + 1,
                limit: (*size - tree.len()).min(5000) as u32,
            })
            .await?
            .into_inner();
        anyhow::ensure!(!page.records.is_empty(), "no record at {}", tree.len() + 1);
        for record in &page.records {
            tree.push(hub_audit::record_leaf_hash(record));
        }
    }
    Ok(())
}
