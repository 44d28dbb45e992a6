//! The Audit service: signed tree heads, proofs that verify, range verification, the
//! access trail, and who may ask.

mod common;

use common::*;
use hub_proto::pb;
use tonic::Code;

fn hash(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32-byte hash")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_heads_and_proofs_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    let mut p = publisher(&node, Some(SH)).await;
    append_n(&mut p, "a", 10).await;
    let mut audit = audit(&node, Some("dev-auditor")).await;
    let old = audit
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await
        .expect("head")
        .into_inner();
    assert_eq!(old.tree_size, 10);
    let key = hub_audit::parse_public_key(&old.public_key).expect("key");
    let head = |sth: &pb::SignedTreeHead| hub_audit::TreeHead {
        tree_size: sth.tree_size,
        root: hash(&sth.root_hash),
        timestamp_micros: sth.timestamp_micros,
        node: sth.node.clone(),
    };
    hub_audit::verify_tree_head(&key, &head(&old), &old.signature).expect("signed by the node");
    let roster = hub_server::Config::defaults().roster().expect("roster");
    let listed = roster
        .members
        .iter()
        .find(|m| m.code.to_string() == "310000")
        .expect("sh");
    assert_eq!(
        listed.public_key, old.public_key,
        "the roster vouches for the node's key"
    );

    append_n(&mut p, "b", 7).await;
    let new = audit
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await
        .expect("head")
        .into_inner();
    assert_eq!(new.tree_size, 17);
    for position in [1, 9, 10, 17] {
        let proof = audit
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                position,
                tree_size: 17,
            })
            .await
            .expect("inclusion")
            .into_inner();
        let record = proof.record.expect("record");
        let leaf = hub_audit::record_leaf_hash(&record);
        assert_eq!(leaf.to_vec(), proof.leaf_hash);
        let path: Vec<[u8; 32]> = proof.path.iter().map(|h| hash(h)).collect();
        assert!(hub_audit::verify_inclusion(
            &leaf,
            position - 1,
            17,
            &path,
            &hash(&new.root_hash)
        ));
        assert!(!hub_audit::verify_inclusion(
            &leaf,
            position % 17,
            17,
            &path,
            &hash(&new.root_hash)
        ));
    }
    let consistency = audit
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            old_size: 10,
            new_size: 17,
        })
        .await
        .expect("consistency")
        .into_inner();
    let path: Vec<[u8; 32]> = consistency.path.iter().map(|h| hash(h)).collect();
    assert!(hub_audit::verify_consistency(
        10,
        17,
        &hash(&old.root_hash),
        &hash(&new.root_hash),
        &path
    ));

    for (what, status) in [
        (
            "position 0",
            audit
                .get_inclusion_proof(pb::GetInclusionProofRequest {
                    position: 0,
                    tree_size: 0,
                })
                .await
                .expect_err("position 0"),
        ),
        (
            "beyond the tree",
            audit
                .get_tree_head(pb::GetTreeHeadRequest { tree_size: 99 })
                .await
                .expect_err("too big"),
        ),
        (
            "old beyond new",
            audit
                .get_consistency_proof(pb::GetConsistencyProofRequest {
                    old_size: 12,
                    new_size: 11,
                })
                .await
                .expect_err("old > new"),
        ),
    ] {
        assert!(
            matches!(status.code(), Code::InvalidArgument | Code::OutOfRange),
            "{what}: {status:?}"
        );
    }

    let verified = audit
        .verify_range(pb::VerifyRangeRequest { to_position: 0 })
        .await
        .expect("verify")
        .into_inner();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.verified, 17);

    let records = audit
        .read_records(pb::ReadRecordsRequest {
            from_position: 16,
            limit: 10,
        })
        .await
        .expect("records")
        .into_inner();
    assert_eq!(
        (
            records.first_position,
            records.records.len(),
            records.head_position
        ),
        (16, 2, 17)
    );

    let status = common::audit(&node, Some("dev-operator"))
        .await
        .get_tree_head(pb::GetTreeHeadRequest::default())
        .await
        .expect_err("operators do not audit");
    assert_eq!(status.code(), Code::PermissionDenied);
    node.stop().await.expect("stop");
}

#[tokio::test]
async fn auditors_read_the_access_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |_| {}).await;
    for _ in 0..3 {
        query(&node, Some(JX))
            .await
            .check_subject(pb::CheckSubjectRequest {
                subject_ref: "b".repeat(64),
                ..Default::default()
            })
            .await
            .expect("check");
    }
    let trail = audit(&node, Some("dev-auditor"))
        .await
        .list_access(pb::ListAccessRequest {
            from_seq: 2,
            limit: 10,
        })
        .await
        .expect("trail")
        .into_inner();
    assert_eq!(trail.total, 3);
    assert_eq!(
        trail.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let prev = trail.entries[0].prev_hash.clone();
    hub_audit::verify_trail(&trail.entries, hash(&prev), 1).expect("chain");
    node.stop().await.expect("stop");
}

/// A node keeps its tree's leaves in `audit/leaves` and starts again from them: the heads it
/// signs after a restart have the same roots, later heads are consistent with earlier ones,
/// and a damaged file is hashed again from the log rather than trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_takes_its_tree_from_the_leaf_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let leaves = dir.path().join(hub_server::LEAVES_FILE);
    let head = |size| pb::GetTreeHeadRequest { tree_size: size };
    let node = start(dir.path(), |_| {}).await;
    append_n(&mut publisher(&node, Some(SH)).await, "a", 30).await;
    let before = audit(&node, Some("dev-auditor"))
        .await
        .get_tree_head(head(0))
        .await
        .expect("head")
        .into_inner();
    node.stop().await.expect("stop");
    let size = before.tree_size;
    assert!(size >= 30);
    assert_eq!(
        std::fs::metadata(&leaves).expect("leaf file").len(),
        size * hub_audit::leaves::ENTRY as u64
    );

    for damage in [false, true] {
        if damage {
            // Every entry fails its check: the tree is hashed from the log again.
            std::fs::write(
                &leaves,
                vec![0x5a; size as usize * hub_audit::leaves::ENTRY],
            )
            .expect("damage");
        }
        let node = start(dir.path(), |_| {}).await;
        let mut auditor = audit(&node, Some("dev-auditor")).await;
        let again = auditor
            .get_tree_head(head(size))
            .await
            .expect("head after the restart")
            .into_inner();
        assert_eq!(again.root_hash, before.root_hash, "damaged file: {damage}");
        append_n(&mut publisher(&node, Some(SH)).await, "b", 3).await;
        let later = auditor
            .get_tree_head(head(0))
            .await
            .expect("later head")
            .into_inner();
        let proof = auditor
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                old_size: size,
                new_size: later.tree_size,
            })
            .await
            .expect("consistency")
            .into_inner();
        let path: Vec<[u8; 32]> = proof.path.iter().map(|h| hash(h)).collect();
        assert!(hub_audit::verify_consistency(
            size,
            later.tree_size,
            &hash(&before.root_hash),
            &hash(&later.root_hash),
            &path
        ));
        node.stop().await.expect("stop");
        assert_eq!(
            std::fs::metadata(&leaves).expect("leaf file").len(),
            later.tree_size * hub_audit::leaves::ENTRY as u64,
            "damaged file: {damage}"
        );
    }
}

/// Concurrent checks are written in groups: every one of them gets its own entry, the
/// chain stays unbroken from the first entry, and the trail carries on after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_each_get_one_entry_of_an_unbroken_chain() {
    const CHECKS: usize = 48;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.member_rate_per_second = 0).await;
    let client = query(&node, Some(JX)).await;
    let mut checks = tokio::task::JoinSet::new();
    for i in 0..CHECKS {
        let mut client = client.clone();
        checks.spawn(async move {
            client
                .check_subject(pb::CheckSubjectRequest {
                    subject_ref: format!("{i:064x}"),
                    ..Default::default()
                })
                .await
                .expect("check")
        });
    }
    while let Some(done) = checks.join_next().await {
        done.expect("check task");
    }
    node.stop().await.expect("stop");

    let node = start(dir.path(), |c| c.server.member_rate_per_second = 0).await;
    query(&node, Some(JX))
        .await
        .check_subject(pb::CheckSubjectRequest {
            subject_ref: "f".repeat(64),
            ..Default::default()
        })
        .await
        .expect("check after the restart");
    let trail = audit(&node, Some("dev-auditor"))
        .await
        .list_access(pb::ListAccessRequest {
            from_seq: 1,
            limit: 1000,
        })
        .await
        .expect("trail")
        .into_inner();
    assert_eq!(trail.total, CHECKS as u64 + 1);
    hub_audit::verify_trail(&trail.entries, hub_audit::TRAIL_START, 0).expect("one unbroken chain");
    let mut subjects: Vec<String> = trail.entries[..CHECKS]
        .iter()
        .map(|e| e.subject_ref.clone())
        .collect();
    subjects.sort();
    let asked: Vec<String> = (0..CHECKS).map(|i| format!("{i:064x}")).collect();
    assert_eq!(subjects, asked, "each check recorded exactly once");
    assert_eq!(trail.entries[CHECKS].subject_ref, "f".repeat(64));
    node.stop().await.expect("stop");
}

/// Checks asked one after another by many clients at once share their trail writes: a
/// check whose entry was written by another's group is answered then, without waiting for
/// the trail's head behind the groups that follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_checks_share_their_trail_writes() {
    const CLIENTS: usize = 16;
    const EACH: usize = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.member_rate_per_second = 0).await;
    let client = query(&node, Some(JX)).await;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let mut client = client.clone();
        clients.spawn(async move {
            for i in 0..EACH {
                client
                    .check_subject(pb::CheckSubjectRequest {
                        subject_ref: format!("{:064x}", c * EACH + i),
                        ..Default::default()
                    })
                    .await
                    .expect("check");
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("client task");
    }
    let checks = (CLIENTS * EACH) as u64;
    let trail = node.hub.access();
    assert_eq!(trail.entries_written(), checks);
    // Waiting for the head behind later groups made nearly every check a group of its own.
    assert!(
        trail.groups_written() <= checks / 2,
        "{} groups for {checks} checks",
        trail.groups_written()
    );
    node.stop().await.expect("stop");
}
