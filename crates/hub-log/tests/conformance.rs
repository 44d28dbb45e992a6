//! The log contract, checked on every store.

use hub_log::{conformance, Log, SledStore};

#[tokio::test]
async fn memory_store_meets_the_contract() {
    conformance::run_all(Log::in_memory).await;
}

#[tokio::test]
async fn sled_store_meets_the_contract() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Log::with_store(SledStore::open(dir.path()).expect("open")).expect("log");
        dirs.lock().expect("lock").push(dir);
        log
    })
    .await;
}
