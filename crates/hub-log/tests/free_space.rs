//! The free space the log keeps in its file system: a group of writes that finds less is
//! refused whole, before the store or the writer's state changes, and the log takes writes
//! again as soon as there is room, without reopening.

use hub_log::conformance::{demand_event, stream};
use hub_log::{Error, Log, Store};
use hub_types::ExpectedVersion;

#[tokio::test]
async fn writes_are_refused_below_the_reserve_and_taken_again_above_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path()).expect("open");
    let s = stream("330400", "reserve");
    let first = log
        .append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
        .await
        .expect("append with no reserve");

    // More than any file system holds: every write is refused, naming the directory, what
    // is free and the reserve.
    log.keep_free(u64::MAX);
    let space = log.free_space().expect("a store on disk can be asked");
    assert_eq!(space.reserve, u64::MAX);
    assert!(space.available > 0);
    for _ in 0..3 {
        let refused = log
            .append(&s, ExpectedVersion::Exact(1), vec![demand_event(&s, 2)])
            .await
            .expect_err("below the reserve");
        let Error::DiskLow {
            dir: named,
            free,
            reserve,
        } = &refused
        else {
            panic!("not a refusal for want of space: {refused}");
        };
        assert_eq!(named, dir.path());
        assert!(*free > 0 && *reserve == u64::MAX);
        let message = refused.to_string();
        assert!(
            message.contains("nearly full") && message.contains("node.min_free_bytes"),
            "{message}"
        );
    }
    let meta = log
        .put_meta(vec![(b"k".to_vec(), b"v".to_vec())])
        .await
        .expect_err("meta writes are refused too");
    assert!(matches!(meta, Error::DiskLow { .. }), "{meta}");
    // Nothing of the refused writes reached the store; reads go on.
    assert_eq!(log.head(), first.last.get());
    assert_eq!(log.stream_version(&s).expect("read"), 1);
    assert_eq!(log.meta(b"k").expect("read"), None);
    assert!(!log.is_closed());

    // Room again: the next append gets the next position and version, as if the refused
    // ones had never been asked.
    log.keep_free(0);
    let next = log
        .append(&s, ExpectedVersion::Exact(1), vec![demand_event(&s, 2)])
        .await
        .expect("append once there is room");
    assert_eq!(next.first.get(), first.last.get() + 1);
    assert_eq!(next.stream_version, 2);
    log.put_meta(vec![(b"k".to_vec(), b"v".to_vec())])
        .await
        .expect("meta once there is room");
    drop(log);
    let reopened = Log::open(dir.path()).expect("reopen");
    assert_eq!(reopened.head(), next.last.get());
    assert_eq!(reopened.meta(b"k").expect("read"), Some(b"v".to_vec()));
}

#[tokio::test]
async fn a_meta_entry_written_empty_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    removes_an_emptied_meta_entry(Log::in_memory()).await;
    removes_an_emptied_meta_entry(Log::open(dir.path()).expect("open")).await;
}

async fn removes_an_emptied_meta_entry<S: Store>(log: Log<S>) {
    log.put_meta(vec![
        (b"p/a".to_vec(), b"1".to_vec()),
        (b"p/b".to_vec(), b"2".to_vec()),
    ])
    .await
    .expect("put");
    log.put_meta(vec![(b"p/a".to_vec(), Vec::new())])
        .await
        .expect("remove");
    assert_eq!(log.meta(b"p/a").expect("read"), None);
    assert_eq!(
        log.meta_with_prefix(b"p/").expect("read"),
        vec![(b"p/b".to_vec(), b"2".to_vec())]
    );
}

#[tokio::test]
async fn a_store_in_memory_keeps_no_reserve() {
    let log = Log::in_memory();
    log.keep_free(u64::MAX);
    assert_eq!(log.free_space(), None);
    let s = stream("330400", "memory");
    log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
        .await
        .expect("no file system to keep free");
}
