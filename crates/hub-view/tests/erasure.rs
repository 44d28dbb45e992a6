//! The view and the entry-key vault: sealed fields are opened with the entry's key, and
//! folding an erasure destroys the key, also when the erasure was folded into a snapshot
//! by a view without a vault (or before a crash kept the key alive), for blacklist entries,
//! white-list entries and awards alike.

mod support;

use std::sync::Arc;

use hub_log::vault::{self, KeyState, Vault};
use hub_log::Log;
use hub_proto::pb;
use hub_types::event::{AwardErased, EntryErased, Personal, PersonalFields};
use hub_types::values::{ErasureReason, Text};
use hub_types::{Body, StreamId};
use hub_view::{View, ViewConfig};
use support::*;

const STREAM: &str = "blacklist/310000/sh-1";

fn sealed_entry(vault: &Vault) -> Body {
    let stream: StreamId = STREAM.parse().expect("stream");
    let key = vault.get_or_create(&stream).expect("key");
    let mut body = added("sh-1", &subject(1), "2026-01-01", "2028-12-31");
    if let Body::BlacklistEntryAdded(a) = &mut body {
        let fields = PersonalFields {
            subject_display: "王*".parse().expect("masked"),
            decision_summary: Text::new("伪造职称证书", 500, false).expect("text"),
        };
        a.personal = Personal::Sealed(vault::seal(&key, &stream, &fields));
    }
    body
}

fn erased() -> Body {
    Body::BlacklistEntryErased(EntryErased {
        entry_id: "sh-1".parse().expect("id"),
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    })
}

fn with_vault(vault: &Arc<Vault>, snapshots: Option<&std::path::Path>) -> ViewConfig {
    ViewConfig {
        vault: Some(vault.clone()),
        snapshot_dir: snapshots.map(ToOwned::to_owned),
        snapshot_every: 1,
        ..config()
    }
}

fn personal_of(view: &View) -> (i32, String) {
    let r = view
        .list_entries(&pb::ListEntriesRequest {
            origin: SHANGHAI.into(),
            ..Default::default()
        })
        .expect("list");
    (r.entries[0].personal, r.entries[0].subject_display.clone())
}

#[tokio::test]
async fn sealed_fields_open_with_the_key_and_erasure_destroys_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Arc::new(Vault::open(dir.path().join("keys")).expect("vault"));
    let log = Log::open(dir.path().join("log")).expect("log");
    append(&log, SHANGHAI, sealed_entry(&vault)).await;

    let view = View::open(with_vault(&vault, None), &log).expect("view");
    assert_eq!(
        personal_of(&view),
        (pb::PersonalState::Shown as i32, "王*".to_owned())
    );
    // Without the vault (an offline tool) the fields stay sealed.
    let blind = View::open(config(), &log).expect("view without vault");
    assert_eq!(
        personal_of(&blind),
        (pb::PersonalState::KeyMissing as i32, String::new())
    );

    append(&log, SHANGHAI, erased()).await;
    view.catch_up(&log).expect("catch up");
    assert!(matches!(
        vault.get(&STREAM.parse().expect("stream")),
        KeyState::Destroyed
    ));
    assert_eq!(
        personal_of(&view),
        (pb::PersonalState::Erased as i32, String::new())
    );
    // The view without a vault destroys nothing but knows the entry is erased.
    blind.catch_up(&log).expect("catch up");
    assert_eq!(personal_of(&blind).0, pb::PersonalState::Erased as i32);
}

#[tokio::test]
async fn an_erasure_restored_from_a_snapshot_still_destroys_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Arc::new(Vault::open(dir.path().join("keys")).expect("vault"));
    let log = Log::open(dir.path().join("log")).expect("log");
    append(&log, SHANGHAI, sealed_entry(&vault)).await;
    append(&log, SHANGHAI, erased()).await;
    let snapshots = dir.path().join("view");
    // A view without the vault folds the erasure and, at its catch-up, snapshots it: the
    // key survives.
    let config_without = ViewConfig {
        snapshot_dir: Some(snapshots.clone()),
        snapshot_every: 1,
        ..config()
    };
    let first = View::open(config_without, &log).expect("first view");
    first.catch_up(&log).expect("catch up");
    assert_eq!(
        first
            .info(&Default::default())
            .expect("info")
            .snapshot_position,
        2
    );
    assert!(matches!(
        vault.get(&STREAM.parse().expect("stream")),
        KeyState::Live(_)
    ));
    // Restored from that snapshot with nothing to catch up, the view still destroys it.
    let view = View::open(with_vault(&vault, Some(&snapshots)), &log).expect("view");
    assert_eq!(
        view.info(&Default::default())
            .expect("info")
            .snapshot_position,
        2
    );
    assert!(matches!(
        vault.get(&STREAM.parse().expect("stream")),
        KeyState::Destroyed
    ));
}

/// Seals the personal fields of a white-list entry or an award under its stream's key.
fn sealed(vault: &Vault, stream: &StreamId, mut body: Body) -> Body {
    let key = vault.get_or_create(stream).expect("key");
    let personal = match &mut body {
        Body::WhitelistEntryAdded(a) => &mut a.personal,
        Body::AwardGranted(g) => &mut g.personal,
        other => panic!("no personal fields in {other:?}"),
    };
    if let Personal::Plain(fields) = personal {
        *personal = Personal::Sealed(vault::seal(&key, stream, fields));
    }
    body
}

#[tokio::test]
async fn register_erasures_restored_from_a_snapshot_still_destroy_their_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Arc::new(Vault::open(dir.path().join("keys")).expect("vault"));
    let log = Log::open(dir.path().join("log")).expect("log");
    let wl: StreamId = "whitelist/310000/wl-1".parse().expect("stream");
    let award: StreamId = "award/310000/aw-1".parse().expect("stream");
    let s = subject(7);
    let entry = wl_added("wl-1", &s, "2026-01-01", "2028-12-31");
    append(&log, SHANGHAI, sealed(&vault, &wl, entry)).await;
    let grant = granted("aw-1", &s, "2026-01-01", "2027-12-31");
    append(&log, SHANGHAI, sealed(&vault, &award, grant)).await;
    let wl_erased = EntryErased {
        entry_id: "wl-1".parse().expect("id"),
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    };
    append(&log, SHANGHAI, Body::WhitelistEntryErased(wl_erased)).await;
    let award_erased = AwardErased {
        award_id: "aw-1".parse().expect("id"),
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    };
    append(&log, SHANGHAI, Body::AwardErased(award_erased)).await;
    // A view without the vault folds both erasures into a snapshot: the keys survive.
    let snapshots = dir.path().join("view");
    let config_without = ViewConfig {
        snapshot_dir: Some(snapshots.clone()),
        snapshot_every: 1,
        ..config()
    };
    View::open(config_without, &log)
        .expect("first view")
        .catch_up(&log)
        .expect("catch up");
    assert!(matches!(vault.get(&wl), KeyState::Live(_)));
    assert!(matches!(vault.get(&award), KeyState::Live(_)));
    // Restored from that snapshot with nothing to catch up, the view destroys both.
    let view = View::open(with_vault(&vault, Some(&snapshots)), &log).expect("view");
    assert_eq!(
        view.info(&Default::default())
            .expect("info")
            .snapshot_position,
        4
    );
    assert!(matches!(vault.get(&wl), KeyState::Destroyed));
    assert!(matches!(vault.get(&award), KeyState::Destroyed));
}
