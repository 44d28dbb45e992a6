//! The stream and origin index's file (`RUNS_FILE`) is derived from the log: whatever it
//! lacks or holds damaged is read again from the log at open, and every stream and origin
//! reads as written, with the versions that optimistic concurrency checks.

use std::collections::BTreeMap;
use std::path::Path;

use hub_log::conformance::{demand_event, stream};
use hub_log::{Direction, Error, Log, SledStore, Store, RUNS_FILE};
use hub_types::{ExpectedVersion, MemberId, OriginSeq, StreamId};

/// The positions of every stream's and every origin's events, in order.
#[derive(Debug, Default, PartialEq)]
struct Written {
    streams: BTreeMap<String, Vec<u64>>,
    origins: BTreeMap<String, Vec<u64>>,
}

/// Appends to a sled log in `dir`, interleaved: batches of three to one long stream of
/// each of two cities, single events to many short streams. Closes it and returns where
/// each event went.
async fn fill(dir: &Path) -> Written {
    let log = Log::open(dir).expect("open");
    let mut written = Written::default();
    for round in 0..30u32 {
        for city in ["330400", "310000"] {
            let long = stream(city, "long");
            let batch = (0..3).map(|k| demand_event(&long, round * 3 + k)).collect();
            let appended = log
                .append(&long, ExpectedVersion::Any, batch)
                .await
                .expect("append");
            let short = stream(city, &format!("short-{}", round % 7));
            let single = log
                .append(
                    &short,
                    ExpectedVersion::Any,
                    vec![demand_event(&short, round)],
                )
                .await
                .expect("append");
            let positions: Vec<u64> = (appended.first.get()..=appended.last.get())
                .chain([single.first.get()])
                .collect();
            written
                .streams
                .entry(long.to_string())
                .or_default()
                .extend(&positions[..3]);
            written
                .streams
                .entry(short.to_string())
                .or_default()
                .push(positions[3]);
            written
                .origins
                .entry(city.to_owned())
                .or_default()
                .extend(positions);
        }
    }
    log.close().await;
    written
}

/// Opens the log in `dir` again and checks that every stream and origin reads as
/// `written`, forwards, backwards and from the middle, and that appends are checked
/// against each stream's version.
async fn every_stream_reads_as_written(dir: &Path, written: &Written) {
    let log = Log::open(dir).expect("reopen");
    for (name, positions) in &written.streams {
        let s: StreamId = name.parse().expect("stream");
        let n = positions.len() as u64;
        assert_eq!(log.stream_version(&s).expect("version"), n, "{name}");
        let at = |events: Vec<hub_log::StoredEvent>| -> Vec<u64> {
            events.iter().map(|e| e.position.get()).collect()
        };
        let forwards = log
            .read_stream(&s, 0, Direction::Forwards, usize::MAX)
            .expect("read");
        assert_eq!(&at(forwards), positions, "{name} forwards");
        let backwards = log
            .read_stream(&s, 0, Direction::Backwards, usize::MAX)
            .expect("read");
        let mut reversed = positions.clone();
        reversed.reverse();
        assert_eq!(at(backwards), reversed, "{name} backwards");
        let middle = log
            .read_stream(&s, n / 2 + 1, Direction::Forwards, 2)
            .expect("read");
        let from = (n / 2) as usize;
        assert_eq!(
            at(middle),
            positions[from..(from + 2).min(positions.len())],
            "{name} from the middle"
        );
        let stale = log
            .append(&s, ExpectedVersion::Exact(n - 1), vec![demand_event(&s, 0)])
            .await;
        assert!(
            matches!(stale, Err(Error::WrongExpectedVersion { actual, .. }) if actual == n),
            "{name}: {stale:?}"
        );
    }
    for (code, positions) in &written.origins {
        let origin: MemberId = code.parse().expect("member");
        let events = log
            .read_origin(origin, OriginSeq::FIRST, usize::MAX)
            .expect("read");
        let read: Vec<u64> = events.iter().map(|e| e.position.get()).collect();
        assert_eq!(&read, positions, "origin {code}");
    }
    // The next append of each stream takes the next version.
    let (name, positions) = written.streams.iter().next().expect("a stream");
    let s: StreamId = name.parse().expect("stream");
    let next = log
        .append(
            &s,
            ExpectedVersion::Exact(positions.len() as u64),
            vec![demand_event(&s, 1)],
        )
        .await
        .expect("the next version");
    assert_eq!(next.stream_version, positions.len() as u64 + 1);
    log.close().await;
}

/// Copies the log in `from` into a fresh directory.
fn copy(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(from).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, to.path().join(path.file_name().expect("name"))).expect("copy");
        } else {
            let sub = to.path().join(path.file_name().expect("name"));
            std::fs::create_dir_all(&sub).expect("mkdir");
            for inner in std::fs::read_dir(&path).expect("dir") {
                let inner = inner.expect("entry").path();
                std::fs::copy(&inner, sub.join(inner.file_name().expect("name"))).expect("copy");
            }
        }
    }
    to
}

#[tokio::test]
async fn a_lost_runs_file_is_read_again_from_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = fill(dir.path()).await;
    let file = dir.path().join(RUNS_FILE);
    assert!(std::fs::metadata(&file).expect("runs file").len() > 0);
    std::fs::remove_file(&file).expect("remove");
    every_stream_reads_as_written(dir.path(), &written).await;
    assert!(
        std::fs::metadata(&file).expect("runs file").len() > 0,
        "written again"
    );
}

/// A way of damaging the file's bytes.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

#[tokio::test]
async fn a_damaged_or_torn_runs_file_is_read_again_from_the_damage_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = fill(dir.path()).await;
    let file = dir.path().join(RUNS_FILE);
    let intact = std::fs::read(&file).expect("read");
    let damaged: [(&str, Damage); 4] = [
        (
            "a flipped byte",
            Box::new(|f| {
                let middle = f.len() / 2;
                f[middle] ^= 0x10;
            }),
        ),
        (
            "zeros where a crash lost a page",
            Box::new(|f| {
                let third = f.len() / 3;
                f[third..2 * third].fill(0);
            }),
        ),
        ("a torn last frame", Box::new(|f| f.truncate(f.len() - 7))),
        (
            "frames of an earlier log appended",
            Box::new(|f| {
                let again = f[..f.len() / 2].to_vec();
                f.extend(again);
            }),
        ),
    ];
    for (what, damage) in damaged {
        let copy = copy(dir.path());
        let mut bytes = intact.clone();
        damage(&mut bytes);
        std::fs::write(copy.path().join(RUNS_FILE), &bytes).expect("write");
        every_stream_reads_as_written(copy.path(), &written).await;
        let repaired = std::fs::read(copy.path().join(RUNS_FILE)).expect("read");
        let kept = repaired
            .iter()
            .zip(&intact)
            .take_while(|(a, b)| a == b)
            .count();
        assert!(
            kept > intact.len() / 4 && repaired.len() > intact.len() / 2,
            "{what}: the frames before the damage are kept ({kept} of {} bytes), the rest written again ({} bytes)",
            intact.len(),
            repaired.len()
        );
    }
}

#[tokio::test]
async fn a_runs_file_longer_than_the_log_is_read_again_from_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = fill(dir.path()).await;
    // The file of a longer log whose first events are the same.
    let long = copy(dir.path());
    let log = Log::open(long.path()).expect("open copy");
    let s = stream("330400", "short-0");
    log.append(&s, ExpectedVersion::Any, vec![demand_event(&s, 1)])
        .await
        .expect("append");
    log.close().await;
    drop(log);
    std::fs::copy(long.path().join(RUNS_FILE), dir.path().join(RUNS_FILE)).expect("copy back");
    every_stream_reads_as_written(dir.path(), &written).await;
}

#[tokio::test]
async fn a_store_written_before_the_runs_file_reads_its_runs_from_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = fill(dir.path()).await;
    std::fs::remove_file(dir.path().join(RUNS_FILE)).expect("remove");
    // Such a store kept its runs as keys in sled: `S`, the stream, 0, the first version;
    // `O`, the origin's code, the first sequence; each holding the first position and the
    // count. Here they point elsewhere: a node that read them would answer wrongly.
    let store = SledStore::open(dir.path()).expect("sled");
    let mut keys = Vec::new();
    for (name, _) in written.streams.iter() {
        let mut key = b"S".to_vec();
        key.extend_from_slice(name.as_bytes());
        key.push(0);
        key.extend_from_slice(&1u64.to_be_bytes());
        keys.push((key, [9_999u64.to_be_bytes(), 1u64.to_be_bytes()].concat()));
    }
    for code in written.origins.keys() {
        let origin: MemberId = code.parse().expect("member");
        let mut key = b"O".to_vec();
        key.extend_from_slice(&origin.code().to_be_bytes());
        key.extend_from_slice(&1u64.to_be_bytes());
        keys.push((key, [9_999u64.to_be_bytes(), 500u64.to_be_bytes()].concat()));
    }
    store.apply(keys).expect("old keys");
    store.checkpoint().expect("durable");
    drop(store);
    every_stream_reads_as_written(dir.path(), &written).await;
}
