//! The view's state in sections that are written, read and decoded on several threads at
//! once.
//!
//! Restoring a snapshot is most of a node's start, and nearly all of it is decoding the
//! entities' maps. The state is written in sections: the small parts in one, and each large
//! map in pieces of at most [`PIECE`] entries, each piece its own bincode. A [`Header`]
//! gives every section's length and CRC32, so each section is read from the file, checked
//! and decoded on its own: the sections are read and decoded on every core at once
//! (largest first), no core waits for the whole file to be read first, and no copy of the
//! whole file is held. The maps are then put back together in key order. A piece is a list
//! of entries rather than a map, so putting the pieces together builds each map in one
//! pass from sorted entries rather than by inserting them one by one.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use hub_types::fold::ViewState;
use hub_types::{EventKind, MemberId, Position};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Inner;

/// Entries of one map in one piece: small enough that the pieces of a large map keep every
/// core busy, large enough that a piece's own cost (a thread's turn, a length) is nothing.
const PIECE: usize = 1 << 15;

/// What the snapshot's header says: where the state stands, and the length and check of
/// every section, in the order the sections follow the header in the file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Header {
    /// The log position the state holds.
    pub(super) position: u64,
    /// The record hash of the log's event at `position`.
    pub(super) log_hash: [u8; 32],
    /// [`Small`]: everything but the entities' maps.
    small: Section,
    /// The pieces of each map, in [`ViewState`]'s order: rules, signals, entries, white
    /// list, awards, then the indexes by credential and by subject (entries, white list,
    /// awards). [`Encoded::new`] and [`Header::decode`] name them in that order.
    maps: [Pieces; 9],
}

/// One section of the file: its length and the CRC32 of its bytes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Section {
    len: u64,
    crc: u32,
}

impl Section {
    fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            crc: crc32fast::hash(bytes),
        }
    }
}

/// Pieces of one map: a map of 2^31 entries is in 2^16 pieces, so a header naming more is
/// refused as it is read, before a forged list of empty pieces could make the decoder hold
/// a task and a slot for each.
const MAX_PIECES: usize = 1 << 16;

/// The pieces of one map, at most [`MAX_PIECES`].
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Pieces(Vec<Section>);

impl<'de> Deserialize<'de> for Pieces {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Pieces;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the pieces of a map")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Pieces, A::Error> {
                let mut pieces = Vec::new();
                while let Some(piece) = seq.next_element()? {
                    if pieces.len() == MAX_PIECES {
                        return Err(serde::de::Error::custom(format!(
                            "a map is in more than {MAX_PIECES} pieces"
                        )));
                    }
                    pieces.push(piece);
                }
                Ok(Pieces(pieces))
            }
        }
        deserializer.deserialize_seq(List)
    }
}

/// The parts of [`Inner`] and [`ViewState`] that are not entity maps, as written.
#[derive(Serialize)]
struct SmallRef<'a> {
    stored_at: &'a Vec<i64>,
    origin_positions: &'a BTreeMap<MemberId, Vec<u64>>,
    kind_positions: &'a BTreeMap<EventKind, Vec<u64>>,
    ignored_positions: &'a Vec<u64>,
    undecodable: u64,
    counts: &'a BTreeMap<EventKind, u64>,
    ignored: u64,
    position: Option<Position>,
}

/// [`SmallRef`] as read back.
#[derive(Deserialize)]
struct Small {
    stored_at: Vec<i64>,
    origin_positions: BTreeMap<MemberId, Vec<u64>>,
    kind_positions: BTreeMap<EventKind, Vec<u64>>,
    ignored_positions: Vec<u64>,
    undecodable: u64,
    counts: BTreeMap<EventKind, u64>,
    ignored: u64,
    position: Option<Position>,
}

/// A section's bytes, or why it could not be made.
type Bytes = Result<Vec<u8>, String>;

/// One unit of work for [`run`]; it writes its result into a slot of its own.
pub(super) type Task<'s> = Box<dyn FnOnce() + Send + 's>;

/// The sections of a state, encoded.
pub(super) struct Encoded {
    small: Vec<u8>,
    maps: [Vec<Vec<u8>>; 9],
}

impl Encoded {
    /// Encodes `inner`'s sections on every core.
    pub(super) fn new(inner: &Inner) -> Result<Self, String> {
        let state = &inner.state;
        let small = SmallRef {
            stored_at: &inner.stored_at,
            origin_positions: &inner.origin_positions,
            kind_positions: &inner.kind_positions,
            ignored_positions: &inner.ignored_positions,
            undecodable: inner.undecodable,
            counts: &state.counts,
            ignored: state.ignored,
            position: state.position,
        };
        let mut small_bytes: Bytes = Ok(Vec::new());
        let mut maps: [Vec<Bytes>; 9] = Default::default();
        {
            let mut tasks: Vec<(usize, Task<'_>)> = Vec::new();
            let out = &mut small_bytes;
            tasks.push((
                inner.stored_at.len(),
                Box::new(move || {
                    *out = bincode::serialize(&small).map_err(|e| format!("encode: {e}"));
                }),
            ));
            let [rules, signals, entries, whitelist, awards, by_credential, entries_by, whitelist_by, awards_by] =
                &mut maps;
            encode_pieces(&state.rules, rules, &mut tasks);
            encode_pieces(&state.signals, signals, &mut tasks);
            encode_pieces(&state.entries, entries, &mut tasks);
            encode_pieces(&state.whitelist, whitelist, &mut tasks);
            encode_pieces(&state.awards, awards, &mut tasks);
            encode_pieces(&state.rules_by_credential, by_credential, &mut tasks);
            encode_pieces(&state.entries_by_subject, entries_by, &mut tasks);
            encode_pieces(&state.whitelist_by_subject, whitelist_by, &mut tasks);
            encode_pieces(&state.awards_by_subject, awards_by, &mut tasks);
            run(tasks)?;
        }
        let [a, b, c, d, e, f, g, h, i] =
            maps.map(|pieces| pieces.into_iter().collect::<Result<Vec<_>, _>>());
        Ok(Self {
            small: small_bytes?,
            maps: [a?, b?, c?, d?, e?, f?, g?, h?, i?],
        })
    }

    /// The header naming these sections, for a state at `position` of a log whose event
    /// there has the record hash `log_hash`.
    pub(super) fn header(&self, position: u64, log_hash: [u8; 32]) -> Header {
        Header {
            position,
            log_hash,
            small: Section::of(&self.small),
            maps: self
                .maps
                .each_ref()
                .map(|pieces| Pieces(pieces.iter().map(|p| Section::of(p)).collect())),
        }
    }

    /// Writes the sections, in the header's order.
    pub(super) fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(&self.small)?;
        for piece in self.maps.iter().flatten() {
            out.write_all(piece)?;
        }
        Ok(())
    }
}

/// Adds a task per piece of `map` to `tasks`, each writing its bytes into its own slot of
/// `out`.
fn encode_pieces<'s, K, V>(
    map: &'s BTreeMap<K, V>,
    out: &'s mut Vec<Bytes>,
    tasks: &mut Vec<(usize, Task<'s>)>,
) where
    K: Serialize + Sync,
    V: Serialize + Sync,
{
    out.resize_with(map.len().div_ceil(PIECE), || Ok(Vec::new()));
    let mut entries = map.iter();
    for slot in out.iter_mut() {
        let piece: Vec<(&K, &V)> = entries.by_ref().take(PIECE).collect();
        tasks.push((
            piece.len(),
            Box::new(move || {
                *slot = bincode::serialize(&piece).map_err(|e| format!("encode: {e}"));
            }),
        ));
    }
}

/// Where the sections are read from: the snapshot file, or its bytes in memory.
pub(super) trait Source: Sync {
    /// The bytes from `offset` on, `len` of them; the caller has checked that they lie
    /// within [`Source::size`].
    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>>;
    /// The bytes the source holds.
    fn size(&self) -> u64;
}

impl Source for std::fs::File {
    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut bytes = vec![0; len];
        self.read_exact_at(&mut bytes, offset)?;
        Ok(bytes)
    }

    fn size(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }
}

impl Source for &[u8] {
    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        usize::try_from(offset)
            .ok()
            .and_then(|at| self.get(at..at.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}

/// Where a section lies in the source, and its check.
#[derive(Debug, Clone, Copy)]
struct Placed {
    offset: u64,
    len: usize,
    crc: u32,
}

/// The bytes of the section at `placed`, read from `source` and checked.
fn section_bytes(source: &dyn Source, placed: Placed) -> Result<Vec<u8>, String> {
    let bytes = source
        .read(placed.offset, placed.len)
        .map_err(|e| format!("cannot read the section at byte {}: {e}", placed.offset))?;
    if crc32fast::hash(&bytes) != placed.crc {
        return Err(format!(
            "the section at bytes {}..{} fails its check",
            placed.offset,
            placed.offset + placed.len as u64
        ));
    }
    Ok(bytes)
}

impl Header {
    /// Reads, checks and decodes every section from `source`, where they start at byte
    /// `start`, on every core, and puts the state back together. The sections must fill
    /// the source exactly: a file cut short or longer than its header says is refused
    /// before any section is read.
    pub(super) fn decode(&self, source: &dyn Source, start: u64) -> Result<Inner, String> {
        let size = source.size();
        let mut offset = start;
        let mut place = |section: &Section| -> Result<Placed, String> {
            let len = usize::try_from(section.len).map_err(|e| e.to_string())?;
            let placed = Placed {
                offset,
                len,
                crc: section.crc,
            };
            offset = offset
                .checked_add(section.len)
                .filter(|end| *end <= size)
                .ok_or_else(|| format!("the sections reach past the file's end ({size} bytes)"))?;
            Ok(placed)
        };
        let small_at = place(&self.small)?;
        let mut maps_at: [Vec<Placed>; 9] = Default::default();
        for (pieces, placed) in self.maps.iter().zip(&mut maps_at) {
            *placed = pieces.0.iter().map(&mut place).collect::<Result<_, _>>()?;
        }
        if offset != size {
            return Err(format!(
                "the sections end at byte {offset}, the file at byte {size}"
            ));
        }

        let mut small: Result<Small, String> = Err("the small section was not decoded".into());
        let mut rules = Vec::new();
        let mut signals = Vec::new();
        let mut entries = Vec::new();
        let mut whitelist = Vec::new();
        let mut awards = Vec::new();
        let mut rules_by_credential = Vec::new();
        let mut entries_by_subject = Vec::new();
        let mut whitelist_by_subject = Vec::new();
        let mut awards_by_subject = Vec::new();
        {
            let mut tasks: Vec<(usize, Task<'_>)> = Vec::new();
            let out = &mut small;
            tasks.push((
                small_at.len,
                Box::new(move || {
                    *out = section_bytes(source, small_at).and_then(|bytes| {
                        bincode::deserialize(&bytes).map_err(|e| format!("decode: {e}"))
                    });
                }),
            ));
            let [rules_at, signals_at, entries_at, whitelist_at, awards_at, by_credential_at, entries_by_at, whitelist_by_at, awards_by_at] =
                &maps_at;
            decode_pieces(source, rules_at, &mut rules, &mut tasks);
            decode_pieces(source, signals_at, &mut signals, &mut tasks);
            decode_pieces(source, entries_at, &mut entries, &mut tasks);
            decode_pieces(source, whitelist_at, &mut whitelist, &mut tasks);
            decode_pieces(source, awards_at, &mut awards, &mut tasks);
            decode_pieces(
                source,
                by_credential_at,
                &mut rules_by_credential,
                &mut tasks,
            );
            decode_pieces(source, entries_by_at, &mut entries_by_subject, &mut tasks);
            decode_pieces(
                source,
                whitelist_by_at,
                &mut whitelist_by_subject,
                &mut tasks,
            );
            decode_pieces(source, awards_by_at, &mut awards_by_subject, &mut tasks);
            run(tasks)?;
        }
        let small = small?;
        // Each map is built from its sorted pieces in one pass; half of them on another
        // thread, as the pieces were decoded on every core.
        let ((signals, entries_by_subject, whitelist, whitelist_by_subject, rules), others) =
            std::thread::scope(|s| {
                let half = s.spawn(|| {
                    Ok::<_, String>((
                        joined(signals)?,
                        joined(entries_by_subject)?,
                        joined(whitelist)?,
                        joined(whitelist_by_subject)?,
                        joined(rules)?,
                    ))
                });
                let others = (|| {
                    Ok::<_, String>((
                        joined(entries)?,
                        joined(awards)?,
                        joined(awards_by_subject)?,
                        joined(rules_by_credential)?,
                    ))
                })();
                let half = half
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                Ok::<_, String>((half?, others?))
            })?;
        let (entries, awards, awards_by_subject, rules_by_credential) = others;
        Ok(Inner {
            state: ViewState {
                rules,
                signals,
                entries,
                rules_by_credential,
                entries_by_subject,
                whitelist,
                whitelist_by_subject,
                awards,
                awards_by_subject,
                counts: small.counts,
                ignored: small.ignored,
                position: small.position,
            },
            stored_at: small.stored_at,
            origin_positions: small.origin_positions,
            kind_positions: small.kind_positions,
            ignored_positions: small.ignored_positions,
            undecodable: small.undecodable,
            snapshot_position: 0,
        })
    }
}

/// A piece as decoded, or why it could not be.
type Piece<K, V> = Result<Vec<(K, V)>, String>;

/// Adds a task per piece placed at `pieces` to `tasks`, each reading, checking and decoding
/// its piece into its own slot of `out`.
fn decode_pieces<'s, K, V>(
    source: &'s dyn Source,
    pieces: &'s [Placed],
    out: &'s mut Vec<Piece<K, V>>,
    tasks: &mut Vec<(usize, Task<'s>)>,
) where
    K: DeserializeOwned + Send,
    V: DeserializeOwned + Send,
{
    out.resize_with(pieces.len(), || Ok(Vec::new()));
    for (slot, &placed) in out.iter_mut().zip(pieces) {
        tasks.push((
            placed.len,
            Box::new(move || {
                *slot = section_bytes(source, placed).and_then(|bytes| {
                    bincode::deserialize(&bytes).map_err(|e| format!("decode: {e}"))
                });
            }),
        ));
    }
}

/// The map whose pieces `pieces` are, refusing keys out of order or repeated: a node
/// writes each map's entries in key order, so anything else is damage or forgery.
fn joined<K: Ord, V>(pieces: Vec<Piece<K, V>>) -> Result<BTreeMap<K, V>, String> {
    let mut entries = Vec::new();
    for piece in pieces {
        entries.extend(piece?);
    }
    if entries.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return Err("a map's keys are out of order or repeated".into());
    }
    Ok(entries.into_iter().collect())
}

/// Runs `tasks` on as many threads as the machine has cores (at most one per task), the
/// largest first.
fn run(mut tasks: Vec<(usize, Task<'_>)>) -> Result<(), String> {
    tasks.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len());
    let queue = Mutex::new(tasks.into_iter().map(|(_, task)| task));
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let work = || {
        while let Some(task) = next() {
            task();
        }
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        work();
        others
            .into_iter()
            .map(|other| other.join())
            .collect::<Result<Vec<()>, _>>()
            .map(drop)
            .map_err(|_| "a snapshot thread panicked".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(lists: &[&[(u32, char)]]) -> Vec<Piece<u32, char>> {
        lists.iter().map(|list| Ok(list.to_vec())).collect()
    }

    #[test]
    fn pieces_in_key_order_make_one_map() {
        let map = joined(pieces(&[&[(1, 'a'), (2, 'b')], &[], &[(5, 'c')]])).expect("joined");
        assert_eq!(map, BTreeMap::from([(1, 'a'), (2, 'b'), (5, 'c')]));
    }

    #[test]
    fn keys_out_of_order_or_repeated_across_pieces_are_refused() {
        for lists in [
            &[&[(1, 'a'), (3, 'b')][..], &[(2, 'c')][..]][..],
            &[&[(1, 'a')][..], &[(1, 'b')][..]][..],
            &[&[(2, 'a'), (1, 'b')][..]][..],
        ] {
            let refused = joined(pieces(lists)).expect_err("refused");
            assert_eq!(refused, "a map's keys are out of order or repeated");
        }
    }

    #[test]
    fn a_piece_that_did_not_decode_refuses_the_map() {
        let mut broken = pieces(&[&[(1, 'a')]]);
        broken.push(Err("decode: unexpected end".into()));
        assert_eq!(
            joined(broken).expect_err("refused"),
            "decode: unexpected end"
        );
    }

    #[test]
    fn a_map_in_more_pieces_than_the_bound_is_refused_as_it_is_read() {
        let empty = Section { len: 0, crc: 0 };
        let most = bincode::serialize(&vec![empty; MAX_PIECES]).expect("encode");
        let read: Pieces = bincode::deserialize(&most).expect("the bound is allowed");
        assert_eq!(read.0.len(), MAX_PIECES);
        let more = bincode::serialize(&vec![empty; MAX_PIECES + 1]).expect("encode");
        let refused = bincode::deserialize::<Pieces>(&more).expect_err("refused");
        assert_eq!(refused.to_string(), "a map is in more than 65536 pieces");
    }

    #[test]
    fn every_task_runs_whatever_their_number() {
        for count in [0, 1, 2, 7, 100] {
            let mut done = vec![false; count];
            let tasks = done
                .iter_mut()
                .enumerate()
                .map(|(size, slot)| (size, Box::new(move || *slot = true) as Task<'_>))
                .collect();
            run(tasks).expect("run");
            assert!(done.iter().all(|&d| d), "{count} tasks");
        }
    }
}
