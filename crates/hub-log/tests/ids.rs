//! The event-id index's file (`IDS_FILE`) is derived from the log: whatever it lacks or
//! holds damaged is read again from the log at open, and idempotency holds throughout.

use std::path::Path;

use hub_log::conformance::{demand_event, stream};
use hub_log::{Log, IDS_FILE};
use hub_types::{ExpectedVersion, NewEvent, Position};

/// Bytes of one entry of the file.
const ENTRY: usize = 20;

/// Appends `appends` batches of three events to a sled log in `dir`, closes it and returns
/// the batches.
async fn fill(dir: &Path, appends: u32) -> Vec<Vec<NewEvent>> {
    let log = Log::open(dir).expect("open");
    let s = stream("330400", "a");
    let mut batches = Vec::new();
    for i in 0..appends {
        let batch: Vec<NewEvent> = (0..3).map(|k| demand_event(&s, i * 3 + k)).collect();
        log.append(&s, ExpectedVersion::Any, batch.clone())
            .await
            .expect("append");
        batches.push(batch);
    }
    log.close().await;
    batches
}

/// Opens the log in `dir` again and checks that every batch is known by its ids: each is
/// found at its position and a retry is answered as a duplicate, storing nothing.
async fn every_batch_is_known(dir: &Path, batches: &[Vec<NewEvent>]) {
    let log = Log::open(dir).expect("reopen");
    let head = log.head();
    let s = stream("330400", "a");
    for (i, batch) in batches.iter().enumerate() {
        let first = i as u64 * 3 + 1;
        for (k, event) in batch.iter().enumerate() {
            assert_eq!(
                log.position_of(&event.event_id).expect("lookup"),
                Some(Position::new(first + k as u64).expect("position")),
                "batch {i} event {k}"
            );
        }
        let retry = log
            .append(&s, ExpectedVersion::Any, batch.clone())
            .await
            .expect("retry");
        assert!(retry.duplicate, "batch {i} was stored again");
        assert_eq!(retry.first.get(), first);
    }
    assert_eq!(log.head(), head, "a retry stored nothing");
    log.close().await;
}

#[tokio::test]
async fn a_lost_ids_file_is_read_again_from_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = fill(dir.path(), 40).await;
    let file = dir.path().join(IDS_FILE);
    assert_eq!(
        std::fs::metadata(&file).expect("ids file").len(),
        120 * ENTRY as u64,
        "one entry per event"
    );
    std::fs::remove_file(&file).expect("remove");
    every_batch_is_known(dir.path(), &batches).await;
    assert_eq!(
        std::fs::metadata(&file).expect("ids file").len(),
        120 * ENTRY as u64,
        "written again whole"
    );
}

#[tokio::test]
async fn a_damaged_or_torn_ids_file_is_read_again_from_the_damage_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = fill(dir.path(), 40).await;
    let file = dir.path().join(IDS_FILE);
    let intact = std::fs::read(&file).expect("read");

    // A flipped byte in the middle: the entries from it on are read again from the log.
    let mut flipped = intact.clone();
    flipped[50 * ENTRY + 3] ^= 0x10;
    std::fs::write(&file, &flipped).expect("write");
    every_batch_is_known(dir.path(), &batches).await;
    assert_eq!(std::fs::read(&file).expect("read"), intact, "repaired");

    // Zeros where a crash lost a page, then a torn last entry.
    let mut holed = intact.clone();
    holed[70 * ENTRY..90 * ENTRY].fill(0);
    holed.truncate(intact.len() - 7);
    std::fs::write(&file, &holed).expect("write");
    every_batch_is_known(dir.path(), &batches).await;
    assert_eq!(std::fs::read(&file).expect("read"), intact, "repaired");

    // Entries moved to other positions fail their check.
    let mut shifted = intact[ENTRY..].to_vec();
    shifted.extend_from_slice(&intact[..ENTRY]);
    std::fs::write(&file, &shifted).expect("write");
    every_batch_is_known(dir.path(), &batches).await;
    assert_eq!(std::fs::read(&file).expect("read"), intact, "repaired");
}

#[tokio::test]
async fn an_ids_file_longer_than_the_log_is_cut_to_it() {
    let short = tempfile::tempdir().expect("tempdir");
    let batches = fill(short.path(), 4).await;
    // The file of a longer log whose first events are the same: copy the short log, add
    // events, and put its file back into the short one.
    let long = tempfile::tempdir().expect("tempdir");
    for name in std::fs::read_dir(short.path()).expect("dir") {
        let path = name.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, long.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let log = Log::open(long.path()).expect("open copy");
    let s = stream("330400", "b");
    let later = demand_event(&s, 1);
    log.append(&s, ExpectedVersion::Any, vec![later.clone()])
        .await
        .expect("append");
    log.close().await;
    drop(log);
    std::fs::copy(long.path().join(IDS_FILE), short.path().join(IDS_FILE)).expect("copy back");

    let log = Log::open(short.path()).expect("reopen");
    assert_eq!(
        log.position_of(&later.event_id).expect("lookup"),
        None,
        "an id beyond the log's head is not taken"
    );
    let stored = log
        .append(&s, ExpectedVersion::Any, vec![later])
        .await
        .expect("append here");
    assert!(!stored.duplicate);
    assert_eq!(stored.first.get(), 13);
    log.close().await;
    drop(log);
    assert_eq!(
        std::fs::metadata(short.path().join(IDS_FILE))
            .expect("ids file")
            .len(),
        13 * ENTRY as u64
    );
    every_batch_is_known(short.path(), &batches).await;
}
