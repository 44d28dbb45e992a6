//! The view's state in sections that encode and decode on several threads at once.
//!
//! Restoring a snapshot is most of a node's start, and nearly all of it is decoding the
//! entities' maps: one thread did it all while the machine's other cores waited. The state
//! is now written as a [`Layout`]: the small parts in one section, and each large map in
//! pieces of at most [`PIECE`] entries, each piece its own bincode. Pieces decode on every
//! core (largest first), beside the checksum, and the maps are put back together in key
//! order. A piece is a list of entries rather than a map, so putting the pieces together
//! builds each map in one pass from sorted entries rather than by inserting them one by one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hub_types::fold::ViewState;
use hub_types::{EventKind, MemberId, Position};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Inner;

/// Entries of one map in one piece: small enough that the pieces of a large map keep every
/// core busy, large enough that a piece's own cost (a thread's turn, a length) is nothing.
const PIECE: usize = 1 << 15;

/// The state as written: every section's bytes, borrowed from the payload when decoding.
#[derive(Serialize, Deserialize)]
pub(super) struct Layout<'a> {
    /// [`Small`]: everything but the entities' maps.
    #[serde(borrow)]
    small: &'a [u8],
    /// The pieces of each map, in [`ViewState`]'s order: rules, signals, entries, white
    /// list, awards, then the indexes by credential and by subject (entries, white list,
    /// awards). [`Encoded::new`] and [`Layout::decode`] name them in that order.
    #[serde(borrow)]
    maps: [Pieces<'a>; 9],
}

/// Pieces of one map: a map of 2^31 entries is in 2^16 pieces, so a layout naming more is
/// refused as it is read, before a forged list of empty pieces could make the decoder hold
/// a task and a slot for each.
const MAX_PIECES: usize = 1 << 16;

/// The pieces of one map, at most [`MAX_PIECES`].
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(super) struct Pieces<'a>(Vec<&'a [u8]>);

impl<'a> std::ops::Deref for Pieces<'a> {
    type Target = [&'a [u8]];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Pieces<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Pieces<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the pieces of a map")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Pieces<'de>, A::Error> {
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

/// The sections of a state, encoded: the bytes [`Encoded::layout`] borrows.
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

    /// The layout to write, borrowing these bytes.
    pub(super) fn layout(&self) -> Layout<'_> {
        Layout {
            small: &self.small,
            maps: self
                .maps
                .each_ref()
                .map(|pieces| Pieces(pieces.iter().map(Vec::as_slice).collect())),
        }
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

impl Layout<'_> {
    /// Decodes every section on every core, with `beside` (the checksum) run among them,
    /// and puts the state back together.
    pub(super) fn decode(&self, beside: Task<'_>) -> Result<Inner, String> {
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
            let mut tasks: Vec<(usize, Task<'_>)> = vec![(usize::MAX, beside)];
            let out = &mut small;
            let bytes = self.small;
            tasks.push((
                bytes.len(),
                Box::new(move || {
                    *out = bincode::deserialize(bytes).map_err(|e| format!("decode: {e}"));
                }),
            ));
            let [rules_in, signals_in, entries_in, whitelist_in, awards_in, by_credential_in, entries_by_in, whitelist_by_in, awards_by_in] =
                &self.maps;
            decode_pieces(rules_in, &mut rules, &mut tasks);
            decode_pieces(signals_in, &mut signals, &mut tasks);
            decode_pieces(entries_in, &mut entries, &mut tasks);
            decode_pieces(whitelist_in, &mut whitelist, &mut tasks);
            decode_pieces(awards_in, &mut awards, &mut tasks);
            decode_pieces(by_credential_in, &mut rules_by_credential, &mut tasks);
            decode_pieces(entries_by_in, &mut entries_by_subject, &mut tasks);
            decode_pieces(whitelist_by_in, &mut whitelist_by_subject, &mut tasks);
            decode_pieces(awards_by_in, &mut awards_by_subject, &mut tasks);
            run(tasks)?;
        }
        let small = small?;
        Ok(Inner {
            state: ViewState {
                rules: joined(rules)?,
                signals: joined(signals)?,
                entries: joined(entries)?,
                rules_by_credential: joined(rules_by_credential)?,
                entries_by_subject: joined(entries_by_subject)?,
                whitelist: joined(whitelist)?,
                whitelist_by_subject: joined(whitelist_by_subject)?,
                awards: joined(awards)?,
                awards_by_subject: joined(awards_by_subject)?,
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

/// Adds a task per piece in `pieces` to `tasks`, each decoding into its own slot of `out`.
fn decode_pieces<'s, K, V>(
    pieces: &'s [&'s [u8]],
    out: &'s mut Vec<Piece<K, V>>,
    tasks: &mut Vec<(usize, Task<'s>)>,
) where
    K: DeserializeOwned + Send,
    V: DeserializeOwned + Send,
{
    out.resize_with(pieces.len(), || Ok(Vec::new()));
    for (slot, &bytes) in out.iter_mut().zip(pieces) {
        tasks.push((
            bytes.len(),
            Box::new(move || {
                *slot = bincode::deserialize(bytes).map_err(|e| format!("decode: {e}"));
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
        let empty: &[u8] = &[];
        let most = bincode::serialize(&vec![empty; MAX_PIECES]).expect("encode");
        let read: Pieces<'_> = bincode::deserialize(&most).expect("the bound is allowed");
        assert_eq!(read.len(), MAX_PIECES);
        let more = bincode::serialize(&vec![empty; MAX_PIECES + 1]).expect("encode");
        let refused = bincode::deserialize::<Pieces<'_>>(&more).expect_err("refused");
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
