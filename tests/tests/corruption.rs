//! Bytes flipped at rest in a stopped node's data directory: in sled's files at several
//! offsets, in the records file, in the event-id index, in the entry-key vault and in the
//! view snapshot. At restart the node either refuses to start (exit status 1, the damaged
//! file and position named, the way to recover said), or starts and serves exactly what it
//! stored, refusing with DATA_LOSS (naming the position) any read that meets damage, or
//! (for what is derived from the log: the event-id index and the snapshot) rebuilds the
//! damaged part from the log. Never a wrong answer, never a panic.
//!
//! No broker needed.

use std::path::Path;
use std::time::Duration;

use hub_proto::pb;
use hub_system_tests::client::{self, blacklist_entry, demand};
use hub_system_tests::{Cluster, Node};
use tonic::Code;

const SH: &str = "310000";
const EVENTS: usize = 300;
const ENTRIES: usize = 3;
/// Offsets tried in sled's data file, spread over the part it uses.
const SLED_OFFSETS: u64 = 8;

/// What the intact node answers: its events and its view.
struct Intact {
    events: Vec<pb::Event>,
    info: pb::ViewInfoResponse,
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Puts the pristine data directory back, with `damage` applied to it.
fn restore(
    node: &Node,
    pristine: &Path,
    damage: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let data = node.data_dir();
    std::fs::remove_dir_all(&data)?;
    copy_dir(pristine, &data)?;
    damage(&data)
}

fn flip(file: &Path, offset: u64) -> anyhow::Result<()> {
    let mut bytes = std::fs::read(file)?;
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(file, bytes)?;
    Ok(())
}

/// Asserts that the node's last start logged `text`.
fn last_start_logged(node: &Node, text: &str, case: &str) -> anyhow::Result<()> {
    let log = std::fs::read_to_string(node.log_file())?;
    let last_start = log.rsplit("view ready").nth(1).unwrap_or_default();
    assert!(last_start.contains(text), "{case}: {}", node.log_tail());
    Ok(())
}

/// Starts the node, expecting a refusal: exit status 1 (not a panic's 101), a message
/// naming what is damaged and how to recover. Returns the message.
async fn refused(node: &mut Node, case: &str) -> anyhow::Result<String> {
    // The node appends to one log file across starts: read what this start wrote.
    let from = std::fs::metadata(node.log_file()).map_or(0, |m| m.len()) as usize;
    let Err(e) = node.start().await else {
        anyhow::bail!("{case}: the node started on damaged files");
    };
    let status = format!("{e:#}");
    assert!(
        status.contains("exited at start (exit status: 1)"),
        "{case}: {status}"
    );
    // All this start wrote, not the tail: with RUST_BACKTRACE set, a panic caught inside
    // the storage engine prints a backtrace that can push the refusal out of the tail.
    let log = std::fs::read(node.log_file())?;
    let text = String::from_utf8_lossy(log.get(from..).unwrap_or_default()).into_owned();
    assert!(
        text.contains("is damaged") && text.contains("corruption at rest"),
        "{case}: the refusal says what is damaged and how to recover: {status}"
    );
    Ok(text)
}

/// Checks a node that started on damaged files: it holds every event, each read one at a
/// time either equal to what was stored or refused with DATA_LOSS naming its position.
/// Returns how many reads were refused.
async fn serves_nothing_wrong(node: &Node, intact: &Intact, case: &str) -> anyhow::Result<usize> {
    let info = node.info().await?;
    assert_eq!(info.log_head, intact.info.log_head, "{case}: events lost");
    let token = format!("dev-member-{SH}");
    let mut streams = client::streams(&node.endpoint(), &token).await?;
    let mut refused = 0;
    for (i, stored) in intact.events.iter().enumerate() {
        let position = i as u64 + 1;
        let request = pb::ReadAllRequest {
            from_position: position,
            limit: 1,
        };
        match streams.read_all(request).await {
            Ok(r) => assert_eq!(
                r.into_inner().events.first(),
                Some(stored),
                "{case}: position {position} served other content"
            ),
            Err(status) => {
                assert_eq!(status.code(), Code::DataLoss, "{case}: {status:?}");
                assert!(
                    status
                        .message()
                        .contains(&format!("corrupt at position {position}:")),
                    "{case}: the refusal names position {position}: {}",
                    status.message()
                );
                refused += 1;
            }
        }
    }
    if refused == 0 {
        assert_eq!(info.digest, intact.info.digest, "{case}: another view");
    }
    Ok(refused)
}

/// Asserts that every stream of `intact` reads, by version, exactly its stored events.
async fn every_stream_reads_as_stored(
    node: &Node,
    intact: &Intact,
    case: &str,
) -> anyhow::Result<()> {
    let token = format!("dev-member-{SH}");
    let mut streams = client::streams(&node.endpoint(), &token).await?;
    let mut by_stream: std::collections::BTreeMap<&str, Vec<&pb::Event>> = Default::default();
    for event in &intact.events {
        by_stream.entry(&event.stream).or_default().push(event);
    }
    for (stream, stored) in by_stream {
        let request = pb::ReadStreamRequest {
            stream: stream.to_owned(),
            from_version: 0,
            direction: pb::Direction::Forwards.into(),
            limit: 1000,
        };
        let read = streams.read_stream(request).await?.into_inner();
        let read: Vec<&pb::Event> = read.events.iter().collect();
        assert_eq!(read, stored, "{case}: stream {stream} reads other events");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_at_rest_are_refused_with_their_place_never_served() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut cluster = Cluster::builder()
        .cities([SH])
        .grace_ms(2000)
        .start()
        .await?;
    let root = cluster.root().to_path_buf();
    let node = cluster.node_mut(SH);

    // A history with blacklist entries, so the vault holds keys. The sled files as they
    // are at half of it are kept, to stand for sled opening an older state.
    let mut p = node.publisher().await?;
    let older = root.join("older-log");
    for i in 0..EVENTS {
        let request = if i % (EVENTS / ENTRIES) == 0 {
            blacklist_entry(SH, &format!("entry-{i}"))
        } else {
            demand(SH, &format!("signal-{i}"), 1 + i as u32)
        };
        p.append(request).await?;
        if i + 1 == EVENTS / 2 {
            drop(p);
            node.terminate(Duration::from_secs(30))?;
            copy_dir(&node.data_dir().join("log"), &older)?;
            node.start().await?;
            p = node.publisher().await?;
        }
    }
    let intact = Intact {
        events: node.events().await?,
        info: node.info().await?,
    };
    assert_eq!(intact.events.len(), EVENTS);
    drop(p);
    node.terminate(Duration::from_secs(30))?;
    eprintln!("history written in {:?}", started.elapsed());
    let pristine = root.join("pristine");
    copy_dir(&node.data_dir(), &pristine)?;
    let snapshot = Path::new("view").join("view.snapshot");
    let vault = Path::new("keys").join("entry-keys");
    assert!(
        pristine.join(&snapshot).exists(),
        "a clean stop writes the snapshot"
    );
    assert!(
        std::fs::metadata(pristine.join(&vault))?.len() >= 138 * ENTRIES as u64,
        "the vault holds a slot per entry"
    );

    // sled's data file, at offsets spread over the part it uses.
    let db = std::fs::read(pristine.join("log").join("db"))?;
    let used = db.iter().rposition(|b| *b != 0).unwrap_or(0) as u64 + 1;
    let (mut at_start, mut on_read, mut harmless) = (0, 0, 0);
    for step in 0..SLED_OFFSETS {
        let offset = used * step / SLED_OFFSETS + 11;
        let case = format!("sled db offset {offset}");
        restore(node, &pristine, |data| {
            flip(&data.join("log").join("db"), offset)
        })?;
        match node.start().await {
            Err(_) => {
                refused(node, &case).await?;
                at_start += 1;
            }
            Ok(()) => {
                match serves_nothing_wrong(node, &intact, &case).await? {
                    0 => harmless += 1,
                    _ => on_read += 1,
                }
                node.terminate(Duration::from_secs(30))?;
            }
        }
    }
    eprintln!(
        "sled db: {SLED_OFFSETS} flips, {at_start} refused at start, {on_read} refused on \
         read, {harmless} in bytes sled no longer uses"
    );
    assert!(at_start > 0, "some flips hit what sled recovers");
    eprintln!("sled flips done at {:?}", started.elapsed());

    // The records file, which holds the event chunks: this history lies within the tail
    // that every start checks, so each flip is refused at start, naming the file and the
    // chunk's first position.
    let records = Path::new("log").join("records");
    // The part in use: the file grows in steps written with zeros ahead.
    let bytes = std::fs::read(pristine.join(&records))?;
    let len = bytes.iter().rposition(|b| *b != 0).unwrap_or(0) as u64 + 1;
    for offset in [5, len / 3, len / 2, len - 1] {
        let case = format!("records offset {offset}");
        restore(node, &pristine, |data| flip(&data.join(&records), offset))?;
        let text = refused(node, &case).await?;
        assert!(
            text.contains("records is damaged: the frame of the chunk from position"),
            "{case}: {text}"
        );
    }

    // sled opening an older state (as it does when a damaged message cuts its recovery
    // short): the durable head recorded beside it tells.
    restore(node, &pristine, |data| {
        for file in std::fs::read_dir(&older)? {
            let file = file?;
            if file.file_name() != "durable-head" && file.file_type()?.is_file() {
                std::fs::copy(file.path(), data.join("log").join(file.file_name()))?;
            }
        }
        Ok(())
    })?;
    let text = refused(node, "older sled files").await?;
    let half = EVENTS / 2;
    assert!(
        text.contains(&format!(
            "corrupt at position {}: events up to position {EVENTS} were made durable, but \
             the store ends at position {half}",
            half + 1
        )),
        "{text}"
    );

    // The vault: a damaged slot before the last is refused, naming the slot and its bytes.
    restore(node, &pristine, |data| flip(&data.join(&vault), 138 + 100))?;
    let text = refused(node, "vault slot 1").await?;
    assert!(
        text.contains("entry-keys is damaged: slot 1 (bytes 138..276) fails its check"),
        "{text}"
    );

    // The event-id index: derived from the records, so a damaged entry costs reading the
    // ids from it on again from the log, and the node serves everything as before.
    let ids = Path::new("log").join("ids");
    let len = std::fs::metadata(pristine.join(&ids))?.len();
    assert_eq!(len, 20 * EVENTS as u64, "one entry per event");
    for offset in [3, len / 2, len - 1] {
        let case = format!("ids offset {offset}");
        restore(node, &pristine, |data| flip(&data.join(&ids), offset))?;
        node.start().await?;
        assert_eq!(
            serves_nothing_wrong(node, &intact, &case).await?,
            0,
            "{case}"
        );
        last_start_logged(
            node,
            "the event-id index ends early or is damaged from this position",
            &case,
        )?;
        node.terminate(Duration::from_secs(30))?;
        assert_eq!(
            std::fs::read(node.data_dir().join(&ids))?,
            std::fs::read(pristine.join(&ids))?,
            "{case}: written again as it was"
        );
    }

    // The stream and origin index: derived from the records as well, read again from the
    // damaged frame on.
    let runs = Path::new("log").join("runs");
    let len = std::fs::metadata(pristine.join(&runs))?.len();
    for offset in [3, len / 2, len - 1] {
        let case = format!("runs offset {offset}");
        restore(node, &pristine, |data| flip(&data.join(&runs), offset))?;
        node.start().await?;
        assert_eq!(
            serves_nothing_wrong(node, &intact, &case).await?,
            0,
            "{case}"
        );
        every_stream_reads_as_stored(node, &intact, &case).await?;
        last_start_logged(
            node,
            "the stream and origin index ends early or is damaged",
            &case,
        )?;
        node.terminate(Duration::from_secs(30))?;
    }

    // The view snapshot: refused by its checksum, the view rebuilt by replay, the answers
    // the same.
    let len = std::fs::metadata(pristine.join(&snapshot))?.len();
    for offset in [20, len / 2, len - 1] {
        restore(node, &pristine, |data| flip(&data.join(&snapshot), offset))?;
        node.start().await?;
        let info = node.info().await?;
        assert_eq!(info.digest, intact.info.digest, "snapshot offset {offset}");
        assert_eq!(
            info.position, intact.info.position,
            "snapshot offset {offset}"
        );
        last_start_logged(
            node,
            "view snapshot unusable; replaying the log",
            &format!("snapshot offset {offset}"),
        )?;
        node.terminate(Duration::from_secs(30))?;
    }

    // The pristine directory itself starts and serves everything.
    restore(node, &pristine, |_| Ok(()))?;
    node.start().await?;
    assert_eq!(serves_nothing_wrong(node, &intact, "intact").await?, 0);
    Ok(())
}
