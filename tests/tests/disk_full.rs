//! Real nodes running out of room.
//!
//! - A small file system of the node's own (a tmpfs in a mount namespace): appends are
//!   refused with RESOURCE_EXHAUSTED before the store meets the full disk, reads go on, and
//!   appends are taken again as soon as space is freed, without a restart.
//! - Files that may not grow past a limit (`ulimit -f`, which the free-space reserve cannot
//!   see coming): appends are refused with RESOURCE_EXHAUSTED naming the cause, quickly and
//!   every time; the view keeps answering; once the limit is raised (`prlimit`) the same
//!   process takes appends again; and after a restart every acknowledged event is there,
//!   the history verifies, and appends work.
//!
//! No broker needed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use hub_proto::pb;
use hub_system_tests::client::demand;
use hub_system_tests::{Cluster, Node};
use tonic::Code;

const SH: &str = "310000";
/// Small enough to fill in seconds, large enough for the node to start.
const LIMIT_KIB: u64 = 3 * 1024;
/// Clients appending at once, so that group commits fill the store quickly.
const CLIENTS: usize = 8;

/// The file system the node's data directory is on: 64 MiB of tmpfs.
const SMALL_FS: u64 = 64 << 20;
/// The space the node keeps free in it (`node.min_free_bytes`).
const RESERVE: u64 = 8 << 20;
/// The room left for the log above the reserve once the ballast is written.
const ROOM: u64 = 2 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_system_refuses_appends_until_space_is_freed_without_a_restart(
) -> anyhow::Result<()> {
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    cluster.node_mut(SH).terminate(Duration::from_secs(30))?;
    let node = cluster.node_mut(SH);
    node.own_file_system(Some(SMALL_FS));
    node.set("node.min_free_bytes", RESERVE);
    node.start().await?;
    let files = node.files_seen_by_the_process().expect("running");

    // Ballast leaves ROOM above the reserve: the log fills it and is refused.
    let free = available_bytes(&files)?;
    anyhow::ensure!(free > RESERVE + ROOM, "only {free} bytes free at start");
    let ballast = files.join("ballast");
    std::fs::write(&ballast, vec![0u8; (free - RESERVE - ROOM) as usize])?;
    let (mut acked, refusal) = append_until_refused(cluster.node(SH), "before").await?;
    assert!(
        refusal.message().contains("nearly full")
            && refusal.message().contains("node.min_free_bytes")
            && refusal.message().contains("free space and retry"),
        "the refusal names the cause and the cure: {}",
        refusal.message()
    );
    assert!(acked.len() > 100, "only {} events fitted", acked.len());
    let before = acked.len();

    // Reads go on, with exactly what was acknowledged; nothing refused was stored.
    let node = cluster.node(SH);
    let info = node.info().await?;
    assert_eq!(info.log_head, before as u64);
    let stored = stored_ids(node).await?;
    assert_eq!(stored, acked, "exactly the acknowledged events are stored");
    let mut p = node.publisher().await?;
    let status = p
        .append(demand(SH, "still-full", 1))
        .await
        .expect_err("still full");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Space freed: the same process takes appends again, and they are read back.
    std::fs::remove_file(&ballast)?;
    for i in 0..50 {
        let req = demand(SH, &format!("after-{i}"), 1 + i);
        let id = req.events[0].event_id.clone();
        p.append(req).await?;
        acked.insert(id);
    }
    let stored = stored_ids(node).await?;
    assert_eq!(stored, acked);
    assert_history_verifies(node, acked.len()).await?;

    // The files left are sound: copied as a crash would leave them (the process frozen,
    // then killed), they open on the host's disk with everything acknowledged.
    let pid = node.pid().expect("running");
    hub_system_tests::node::send_signal(pid, "STOP")?;
    let copy = cluster.root().join("copied-data");
    copy_tree(&files, &copy)?;
    let node = cluster.node_mut(SH);
    node.kill();
    node.own_file_system(None);
    std::fs::remove_dir_all(node.data_dir())?;
    std::fs::rename(&copy, node.data_dir())?;
    node.start().await?;
    let stored = stored_ids(cluster.node(SH)).await?;
    assert_eq!(
        stored, acked,
        "the copied files hold every acknowledged event"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_size_limit_refuses_appends_until_raised_and_loses_nothing() -> anyhow::Result<()> {
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    cluster.node_mut(SH).terminate(Duration::from_secs(30))?;
    cluster.node_mut(SH).limit_file_size(Some(LIMIT_KIB));
    cluster.node_mut(SH).start().await?;

    let (acked, refusal) = append_until_refused(cluster.node(SH), "full").await?;
    let mut p = cluster.node(SH).publisher().await?;
    assert!(
        refusal.message().contains("file system is full")
            && refusal.message().contains("File too large"),
        "the refusal names the cause: {}",
        refusal.message()
    );
    assert!(acked.len() > 100, "only {} events fitted", acked.len());
    let before = acked.len();

    // Every later append is refused the same way, at once.
    for i in 0..3 {
        let status = tokio::time::timeout(
            Duration::from_secs(10),
            p.append(demand(SH, &format!("after-{i}"), 1)),
        )
        .await?
        .expect_err("still full");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    }
    // The view keeps answering, with everything acknowledged.
    let info = cluster.node(SH).info().await?;
    assert_eq!(info.log_head, acked.len() as u64);
    assert_eq!(info.position, acked.len() as u64);

    // The limit raised while the node runs (`prlimit`): once its store is reopened, the
    // same process takes appends again.
    let pid = cluster.node(SH).pid().expect("running");
    let raised = std::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg("--fsize=unlimited:")
        .status()?;
    anyhow::ensure!(
        raised.success(),
        "prlimit --pid={pid} --fsize=unlimited: failed"
    );
    let mut acked = acked;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while acked.len() < before + 20 {
        n += 1;
        let req = demand(SH, &format!("raised-{n}"), 1);
        let id = req.events[0].event_id.clone();
        match p.append(req).await {
            Ok(_) => {
                acked.insert(id);
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "appends still refused 30 s after the limit was raised: {}",
                    status.message()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => anyhow::bail!("{status:?}"),
        }
    }
    let info = cluster.node(SH).info().await?;
    assert_eq!(info.log_head, acked.len() as u64);

    // After a restart without the limit, nothing acknowledged is lost, nothing
    // unacknowledged appeared, the chain verifies, and appends work.
    cluster.node_mut(SH).terminate(Duration::from_secs(30))?;
    cluster.node_mut(SH).limit_file_size(None);
    cluster.node_mut(SH).start().await?;
    let stored = stored_ids(cluster.node(SH)).await?;
    assert_eq!(stored, acked, "exactly the acknowledged events are stored");
    assert_history_verifies(cluster.node(SH), acked.len()).await?;
    let mut p = cluster.node(SH).publisher().await?;
    p.append(demand(SH, "after-restart", 1)).await?;
    Ok(())
}

/// Several clients append until the node refuses them; returns the ids acknowledged and the
/// refusal, which every client got alike and which is RESOURCE_EXHAUSTED.
async fn append_until_refused(
    node: &Node,
    tag: &str,
) -> anyhow::Result<(BTreeSet<String>, tonic::Status)> {
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let mut p = node.publisher().await?;
        let tag = tag.to_owned();
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            loop {
                let n = acked.len();
                anyhow::ensure!(n < 100_000, "the store never filled");
                let req = demand(SH, &format!("{tag}-{c}-{n}"), 1 + (n % 1000) as u32);
                let id = req.events[0].event_id.clone();
                match tokio::time::timeout(Duration::from_secs(30), p.append(req)).await {
                    Ok(Ok(_)) => acked.push(id),
                    Ok(Err(status)) => return Ok((acked, status)),
                    Err(_) => anyhow::bail!("an append hung on a full disk after {n} events"),
                }
            }
        }));
    }
    let mut acked = BTreeSet::new();
    let mut refusals = Vec::new();
    for client in clients {
        let (ids, status) = client.await??;
        acked.extend(ids);
        refusals.push(status);
    }
    let refusal = refusals.swap_remove(0);
    for other in &refusals {
        assert_eq!(other.code(), refusal.code(), "{other:?}");
    }
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    Ok((acked, refusal))
}

/// The ids of every event the node holds.
async fn stored_ids(node: &Node) -> anyhow::Result<BTreeSet<String>> {
    Ok(node
        .events()
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect())
}

/// Asserts an auditor verifies the node's whole history, of `events` events.
async fn assert_history_verifies(node: &Node, events: usize) -> anyhow::Result<()> {
    let mut audit = hub_system_tests::client::audit(&node.endpoint(), "dev-auditor").await?;
    let verified = audit
        .verify_range(pb::VerifyRangeRequest::default())
        .await?
        .into_inner();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.verified, events as u64);
    Ok(())
}

/// Bytes available in the file system holding `path` (`stat -f`).
fn available_bytes(path: &Path) -> anyhow::Result<u64> {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%a %S"])
        .arg(path)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "stat -f {}: {:?}",
        path.display(),
        out
    );
    let text = String::from_utf8(out.stdout)?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(blocks)), Some(Ok(size))) => Ok(blocks * size),
        _ => anyhow::bail!("stat -f {} printed {text:?}", path.display()),
    }
}

/// Copies directory `from`, with its subdirectories, to `to`.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
