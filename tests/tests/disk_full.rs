//! A real node whose files may not grow past a limit (`ulimit -f`, which fails writes the
//! way a full file system does): appends are refused with RESOURCE_EXHAUSTED naming the
//! cause, quickly and every time; the view keeps answering; and after a restart with room
//! every acknowledged event is there, the history verifies, and appends work again.
//!
//! No broker needed.

use std::collections::BTreeSet;
use std::time::Duration;

use hub_proto::pb;
use hub_system_tests::client::demand;
use hub_system_tests::Cluster;
use tonic::Code;

const SH: &str = "310000";
/// Small enough to fill in seconds, large enough for the node to start.
const LIMIT_KIB: u64 = 3 * 1024;
/// Clients appending at once, so that group commits fill the store quickly.
const CLIENTS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_appends_clearly_and_loses_nothing() -> anyhow::Result<()> {
    let mut cluster = Cluster::builder().cities([SH]).start().await?;
    cluster.node_mut(SH).terminate(Duration::from_secs(30))?;
    cluster.node_mut(SH).limit_file_size(Some(LIMIT_KIB));
    cluster.node_mut(SH).start().await?;

    // Several clients append until the store cannot grow; every answer is kept.
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let mut p = cluster.node(SH).publisher().await?;
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            loop {
                let n = acked.len();
                anyhow::ensure!(n < 100_000, "the store never filled");
                let req = demand(SH, &format!("full-{c}-{n}"), 1 + (n % 1000) as u32);
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
    let mut p = cluster.node(SH).publisher().await?;
    let refusal = refusals.swap_remove(0);
    for other in &refusals {
        assert_eq!(other.code(), refusal.code(), "{other:?}");
    }
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(
        refusal.message().contains("file system is full")
            && refusal.message().contains("File too large"),
        "the refusal names the cause: {}",
        refusal.message()
    );
    assert!(acked.len() > 100, "only {} events fitted", acked.len());

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

    // With room again (a restart without the limit), nothing acknowledged is lost, nothing
    // unacknowledged appeared, the chain verifies, and appends work.
    cluster.node_mut(SH).terminate(Duration::from_secs(30))?;
    cluster.node_mut(SH).limit_file_size(None);
    cluster.node_mut(SH).start().await?;
    let stored: BTreeSet<String> = cluster
        .node(SH)
        .events()
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(stored, acked, "exactly the acknowledged events are stored");
    let mut audit =
        hub_system_tests::client::audit(&cluster.node(SH).endpoint(), "dev-auditor").await?;
    let verified = audit
        .verify_range(pb::VerifyRangeRequest::default())
        .await?
        .into_inner();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.verified, acked.len() as u64);
    let mut p = cluster.node(SH).publisher().await?;
    p.append(demand(SH, "after-restart", 1)).await?;
    Ok(())
}
