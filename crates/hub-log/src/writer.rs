//! The single writer: validates and stamps appends, and commits them in groups so that many
//! concurrent appends share one durable sync.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hub_proto::convert::{body_from_bytes, body_to_bytes, timestamp_to_proto};
use hub_proto::pb::EventRecord;
use hub_proto::record::{OriginHead, Record, Stamp};
use hub_types::{EventId, ExpectedVersion, MemberId, NewEvent, OriginSeq, Position, StreamId};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::ids::Ids;
use crate::keys;
use crate::observe::Commit;
use crate::read;
use crate::runs::{self, Added, Key, Run, Runs};
use crate::store::{Entry, Store};
use crate::{Appended, Indexes, Ingested, Shared};

/// Most events one group commits (one append or ingest holding more goes alone); bounds
/// the memory of a group and the latency of the appends queued behind it.
const MAX_GROUP_EVENTS: usize = 16_384;

/// A request to the writer.
pub(crate) enum Command {
    Append {
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<Appended>>,
    },
    Ingest {
        records: Vec<Record>,
        meta: Vec<Entry>,
        reply: oneshot::Sender<Result<Vec<Result<Ingested>>>>,
    },
    /// Stop once everything queued before is committed.
    Close { reply: oneshot::Sender<()> },
}

impl Command {
    fn event_count(&self) -> usize {
        match self {
            Self::Append { events, .. } => events.len(),
            Self::Ingest { records, .. } => records.len(),
            Self::Close { .. } => 0,
        }
    }
}

enum Reply {
    Append(oneshot::Sender<Result<Appended>>, Result<Appended>),
    Ingest(
        oneshot::Sender<Result<Vec<Result<Ingested>>>>,
        Vec<Result<Ingested>>,
    ),
}

/// What the writer knows; only the writer thread touches it.
pub(crate) struct WriterState {
    /// Position the next event gets.
    pub(crate) next_position: u64,
    /// Head of every origin's chain, including events of the group being built.
    pub(crate) origins: BTreeMap<MemberId, OriginHead>,
    /// Last `recorded_at` stamped, so stamps never go backwards on this node.
    pub(crate) last_recorded_micros: i64,
    /// Signs the chain head of each origin's newest record in every commit, when this node
    /// holds the origin's key.
    pub(crate) signer: Option<Arc<dyn crate::ChainSigner>>,
}

/// Most unsigned records of one origin in a row: a record is signed when it is its origin's
/// newest in its commit or when this many unsigned ones of its origin come before it. A
/// replicating node holds unsigned records until a signature vouches for them, and its
/// bound (`kafka.max_unsigned_per_origin`, 10 000 by default) must not be reached by one
/// commit group (up to [`MAX_GROUP_EVENTS`] events).
const MAX_UNSIGNED_RUN: usize = 999;

/// Events of the group being built, not yet in the store.
#[derive(Default)]
struct Group {
    /// Entries written as they are: callers' meta entries.
    writes: Vec<Entry>,
    /// Position of the first of `events`.
    first: u64,
    /// The group's events in position order: when each was stored and its encoding. They
    /// are cut into chunks only when the group closes, because a record's signature is
    /// added once the group knows its origin's newest record.
    events: Vec<(i64, Vec<u8>)>,
    /// The newest record of every origin this node signs for, while it is unsigned.
    unsigned: HashMap<MemberId, Unsigned>,
    /// Runs of every stream and origin with events in the group, in order.
    runs: Added,
    /// Positions of the group's event ids, for retries within the group.
    ids: HashMap<EventId, u64>,
    /// The group's event ids in position order, for the id index once committed.
    ids_in_order: Vec<EventId>,
    /// The group's records by position, for retries and ingest duplicates within the group.
    records: HashMap<u64, EventRecord>,
}

/// A record stamped by this node that waits for its origin's signature.
struct Unsigned {
    /// Its position.
    position: u64,
    /// Its chain head: what the signature covers.
    head: OriginHead,
    /// Unsigned records of its origin in a row, this one included.
    run: usize,
}

impl Group {
    /// Adds the event at `position`; events come in position order.
    fn push_event(&mut self, position: u64, stored_at: i64, record: Vec<u8>) {
        if self.events.is_empty() {
            self.first = position;
        }
        debug_assert_eq!(position, self.first + self.events.len() as u64);
        self.events.push((stored_at, record));
    }

    /// Notes that `origin`'s newest record, at `position` with chain head `head`, waits for
    /// a signature; signs it at once when the run of unsigned records reaches its bound.
    fn await_signature(
        &mut self,
        signer: Option<&dyn crate::ChainSigner>,
        origin: MemberId,
        position: u64,
        head: OriginHead,
    ) {
        let run = self.unsigned.get(&origin).map_or(0, |u| u.run) + 1;
        let waiting = Unsigned {
            position,
            head,
            run,
        };
        if run > MAX_UNSIGNED_RUN {
            self.unsigned.remove(&origin);
            self.sign(signer, origin, &waiting);
        } else {
            self.unsigned.insert(origin, waiting);
        }
    }

    /// Signs every origin's newest record in the group: one signature per origin per
    /// commit vouches, through the `prev_hash` links, for all of its records.
    fn sign_newest(&mut self, signer: Option<&dyn crate::ChainSigner>) {
        for (origin, waiting) in std::mem::take(&mut self.unsigned) {
            self.sign(signer, origin, &waiting);
        }
    }

    /// Signs `origin`'s record `waiting`, when this node holds the origin's key.
    fn sign(
        &mut self,
        signer: Option<&dyn crate::ChainSigner>,
        origin: MemberId,
        waiting: &Unsigned,
    ) {
        let head = &waiting.head;
        let Some(signature) = signer.and_then(|s| s.sign(origin, head.seq, &head.hash)) else {
            return;
        };
        let Some(record) = self.records.get_mut(&waiting.position) else {
            return;
        };
        record.signature = signature;
        let index = (waiting.position - self.first) as usize;
        self.events[index].1 = prost::Message::encode_to_vec(&*record);
    }

    /// Everything the group writes, in one batch: the callers' entries, the events cut
    /// into chunks of at most [`keys::MAX_CHUNK_BYTES`] (or one event, when it alone is
    /// larger), and the runs.
    fn into_writes(self) -> Vec<Entry> {
        let mut writes = self.writes;
        let mut chunk: Option<(u64, Vec<u8>)> = None;
        for (position, (stored_at, record)) in (self.first..).zip(&self.events) {
            let fits = chunk.as_ref().is_some_and(|(_, c)| {
                c.len() + keys::EVENT_HEADER + record.len() <= keys::MAX_CHUNK_BYTES
            });
            if !fits {
                if let Some((first, c)) = chunk.take() {
                    writes.push((keys::event(first), c));
                }
            }
            let (_, c) = chunk.get_or_insert_with(|| (position, Vec::new()));
            keys::push_event(c, *stored_at, record);
        }
        if let Some((first, c)) = chunk {
            writes.push((keys::event(first), c));
        }
        writes
    }
}

/// Runs the writer until the log is closed or every handle is gone. Returns the reply of a
/// close request, to be answered after the store is released.
pub(crate) fn run<S: Store>(
    shared: Arc<Shared<S>>,
    mut state: WriterState,
    rx: Receiver<Command>,
) -> Option<oneshot::Sender<()>> {
    let mut close = None;
    // Whether the last group was refused for want of free space (to log each change once).
    let mut disk_low = false;
    // Until when groups are refused after a failed commit, and with what.
    let mut backoff: Option<(Instant, Error)> = None;
    // A command that did not fit the last group: it starts the next one.
    let mut carried: Option<Command> = None;
    while let Some(first) = carried.take().or_else(|| rx.recv().ok()) {
        let mut commands = Vec::new();
        let mut events = 0;
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            if let Command::Close { reply } = cmd {
                close = Some(reply);
                break;
            }
            // A group holds at most MAX_GROUP_EVENTS events, unless one command alone
            // holds more.
            if !commands.is_empty() && events + cmd.event_count() > MAX_GROUP_EVENTS {
                carried = Some(cmd);
                break;
            }
            events += cmd.event_count();
            commands.push(cmd);
            next = rx.try_recv().ok();
        }
        // Refuse the whole group at once for a moment after a failed commit, so that a
        // cause that persists is not met again by every group.
        if let Some((until, failure)) = &backoff {
            if Instant::now() < *until {
                for cmd in commands {
                    refuse(cmd, failure);
                }
                if close.is_some() {
                    break;
                }
                continue;
            }
            backoff = None;
        }
        // Refuse the whole group, before it touches the store or the writer's state, when
        // the file system is nearly full.
        let refusal = shared.space_refusal();
        if refusal.is_some() != disk_low {
            disk_low = refusal.is_some();
            match &refusal {
                Some(e) => {
                    tracing::warn!(error = %e, "the log refuses writes until space is freed")
                }
                None => tracing::info!(
                    "free space is back above the reserve: the log takes writes again"
                ),
            }
        }
        if let Some(e) = refusal {
            for cmd in commands {
                refuse(cmd, &e);
            }
            if close.is_some() {
                break;
            }
            continue;
        }
        let mut group = Group::default();
        let first = state.next_position;
        let replies: Vec<Reply> = commands
            .into_iter()
            .map(|cmd| state.prepare(&shared.store, &shared.indexes, cmd, &mut group))
            .collect();
        group.sign_newest(state.signer.as_deref());
        let ids = std::mem::take(&mut group.ids_in_order);
        let runs = std::mem::take(&mut group.runs);
        let started = Instant::now();
        let committed = commit(&shared.store, group.into_writes());
        if let Err(e) = committed {
            let failure = Error::write_failed(&e);
            tracing::error!(error = %failure, "log commit failed: nothing of the group was acknowledged");
            for reply in replies {
                fail(reply, &failure);
            }
            // After a failed write the storage engine refuses every later one (sled does),
            // and what it holds is unknown: reopen it and check it as an open does.
            match reopen(&shared, &mut state) {
                Ok(()) => {
                    tracing::warn!(
                        head = state.next_position - 1,
                        "log store reopened after the failed commit; writes are taken again"
                    );
                    backoff = Some((Instant::now() + RETRY_AFTER, failure));
                }
                Err(reopening) => {
                    tracing::error!(error = %reopening, "the log store cannot be reopened; the log takes no more writes until the node restarts");
                    shared.set_failure(Error::stopped_by(failure, &reopening));
                    break;
                }
            }
            if close.is_some() {
                break;
            }
            continue;
        }
        let sync = started.elapsed();
        shared.observer.notify(Commit {
            events: (state.next_position - first) as usize,
            calls: replies.len(),
            sync,
        });
        // Before any caller hears of the group: a retry after the answer must find it.
        let indexes = &shared.indexes;
        indexes.ids.add(first, &ids);
        if state.next_position > first {
            if let Err(position) = indexes.runs.add(first, state.next_position - 1, &runs) {
                tracing::error!(
                    position,
                    "a stream version or origin sequence of the group does not follow the index"
                );
            }
        }
        shared.publish(state.next_position - 1, &state.origins);
        if state.next_position > first {
            mark_durable(&shared.store, state.next_position - 1, false);
        }
        for reply in replies {
            match reply {
                Reply::Append(tx, r) => {
                    let _ = tx.send(r);
                }
                Reply::Ingest(tx, r) => {
                    let _ = tx.send(Ok(r));
                }
            }
        }
        shared.indexes.ids.sync_now_and_then();
        shared.indexes.runs.sync_now_and_then();
        if close.is_some() {
            break;
        }
    }
    shared.indexes.ids.sync();
    shared.indexes.runs.sync();
    if shared.failure.get().is_none() {
        // A clean close leaves no index to rebuild at the next open.
        if let Err(e) = shared.store.checkpoint() {
            tracing::warn!(error = %e, "could not make the log's indexes durable at close; the next open rebuilds them");
        }
        mark_durable(&shared.store, state.next_position - 1, true);
    }
    shared.mark_closed();
    // Wake watchers so that followers notice the log closed.
    shared.head.send_modify(|_| {});
    // Answer whatever is still queued so no caller waits forever.
    let closed = shared.closed_error();
    while let Some(cmd) = carried.take().or_else(|| rx.try_recv().ok()) {
        refuse(cmd, &closed);
    }
    close
}

/// How long groups are refused after a failed commit before the store is tried again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Reopens the store after a failed commit, checks it as an open does, and starts the
/// writer's state afresh from what it holds (which may include the failed group, if it
/// reached the disk after all: its callers' retries are then duplicates).
fn reopen<S: Store>(shared: &Shared<S>, state: &mut WriterState) -> Result<()> {
    if !shared.store.reopen()? {
        return Err(Error::Io(std::io::Error::other(
            "this store cannot be reopened",
        )));
    }
    let recovered = crate::recovery::recover(&shared.store, &shared.indexes)?;
    *state = WriterState {
        next_position: recovered.head + 1,
        origins: recovered.origins,
        last_recorded_micros: recovered
            .last_recorded_micros
            .max(state.last_recorded_micros),
        signer: state.signer.take(),
    };
    shared.publish(recovered.head, &state.origins);
    Ok(())
}

/// Records the durable head outside the store's engine. A failure costs only that check
/// at the next open, so it is logged rather than failing the commit, which is durable.
fn mark_durable<S: Store>(store: &S, head: u64, sync: bool) {
    if let Err(e) = store.mark_durable(head, sync) {
        tracing::warn!(error = %e, head, "could not record the durable head");
    }
}

fn commit<S: Store>(store: &S, writes: Vec<Entry>) -> Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    store.apply(writes)?;
    store.sync()
}

/// Answers a command refused before it was prepared (or left queued when the log closed).
fn refuse(cmd: Command, e: &Error) {
    match cmd {
        Command::Append { reply, .. } => {
            let _ = reply.send(Err(e.shared_failure()));
        }
        Command::Ingest { reply, .. } => {
            let _ = reply.send(Err(e.shared_failure()));
        }
        Command::Close { reply } => {
            let _ = reply.send(());
        }
    }
}

fn fail(reply: Reply, e: &Error) {
    match reply {
        Reply::Append(tx, _) => {
            let _ = tx.send(Err(e.shared_failure()));
        }
        Reply::Ingest(tx, _) => {
            let _ = tx.send(Err(e.shared_failure()));
        }
    }
}

impl WriterState {
    fn prepare<S: Store>(
        &mut self,
        store: &S,
        indexes: &Indexes,
        cmd: Command,
        group: &mut Group,
    ) -> Reply {
        match cmd {
            Command::Append {
                stream,
                expected,
                events,
                reply,
            } => {
                let r = self.prepare_append(store, indexes, &stream, expected, events, group);
                Reply::Append(reply, r)
            }
            Command::Ingest {
                records,
                meta,
                reply,
            } => {
                let results = records
                    .into_iter()
                    .map(|r| self.prepare_ingest(store, indexes, r, group))
                    .collect();
                group.writes.extend(meta);
                Reply::Ingest(reply, results)
            }
            Command::Close { .. } => unreachable!("close is handled by the run loop"),
        }
    }

    /// Where the event with `id` is: in the group being built or in the log.
    fn lookup_id(ids: &Ids, group: &Group, id: &EventId) -> Option<u64> {
        group.ids.get(id).copied().or_else(|| ids.get(id))
    }

    fn record_at<S: Store>(&self, store: &S, group: &Group, pos: u64) -> Result<EventRecord> {
        if let Some(r) = group.records.get(&pos) {
            return Ok(r.clone());
        }
        Ok(read::event_at(store, pos)?.record)
    }

    /// The stream's version, with the events of the group being built.
    fn stream_version(runs: &Runs, group: &Group, stream: &StreamId) -> u64 {
        match group.runs.streams.get(stream).and_then(|r| r.last()) {
            Some(run) => run.last(),
            None => runs.with(Key::Stream(stream), |r| r.last().map_or(0, Run::last)),
        }
    }

    fn now_micros(&mut self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        self.last_recorded_micros = now.max(self.last_recorded_micros + 1);
        self.last_recorded_micros
    }

    fn prepare_append<S: Store>(
        &mut self,
        store: &S,
        indexes: &Indexes,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        group: &mut Group,
    ) -> Result<Appended> {
        let bodies: Vec<Vec<u8>> = events.iter().map(|e| body_to_bytes(&e.body)).collect();

        // Idempotency first: a retry of a committed append must succeed whatever the
        // stream's version is now.
        let found: Vec<Option<u64>> = events
            .iter()
            .map(|e| Self::lookup_id(&indexes.ids, group, &e.event_id))
            .collect();
        if let Some(i) = found.iter().position(Option::is_some) {
            return self.answer_retry(store, group, stream, &events, &bodies, &found, i);
        }

        let version = Self::stream_version(&indexes.runs, group, stream);
        if !expected.admits(version) {
            return Err(Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected,
                actual: version,
            });
        }

        let origin = stream.owner();
        let mut head = self.origins.get(&origin).copied();
        let recorded_micros = self.now_micros();
        let recorded_at = Some(timestamp_to_proto(hub_types::Timestamp(recorded_micros)));
        let first = self.next_position;
        let mut stream_version = version;
        for (event, body) in events.into_iter().zip(bodies) {
            stream_version += 1;
            let stamp = Stamp {
                origin,
                stream: stream.clone(),
                event_id: event.event_id,
                stream_version,
                recorded_at,
                body,
            };
            let (record, bytes) = Record::stamp(stamp, head.as_ref());
            let stamped = record.head();
            head = Some(stamped);
            let position = self.stage(group, record, bytes, recorded_micros);
            group.await_signature(self.signer.as_deref(), origin, position, stamped);
        }
        if let Some(head) = head {
            self.origins.insert(origin, head);
        }
        Ok(Appended {
            first: assigned(first),
            last: assigned(self.next_position - 1),
            stream_version,
            duplicate: false,
        })
    }

    /// Answers an append some of whose event ids are stored (`found[i]` is the first): it is
    /// a retry only if it repeats one stored batch exactly, the same events in the same
    /// order, nothing more or less; then it answers the stored positions.
    ///
    /// The events of one append get consecutive positions and one `recorded_at`, which no
    /// other append of the stream shares, so the stored batch is the run of positions around
    /// the first id with the same stream and `recorded_at`.
    #[allow(clippy::too_many_arguments)] // the parts of one append, split by prepare_append
    fn answer_retry<S: Store>(
        &self,
        store: &S,
        group: &Group,
        stream: &StreamId,
        events: &[NewEvent],
        bodies: &[Vec<u8>],
        found: &[Option<u64>],
        i: usize,
    ) -> Result<Appended> {
        let stream_name = stream.to_string();
        let Some(first) = found[0] else {
            return Err(Error::PartialRetry {
                event_id: events[i].event_id,
            });
        };
        let mut batch_time = None;
        let mut version = 0;
        for (j, (e, pos)) in events.iter().zip(found).enumerate() {
            let Some(pos) = *pos else {
                return Err(Error::PartialRetry {
                    event_id: events[i].event_id,
                });
            };
            let stored = self.record_at(store, group, pos)?;
            if stored.event_id.parse::<EventId>().ok() != Some(e.event_id) {
                return Err(Error::Corrupt {
                    position: pos,
                    what: format!(
                        "the event-id index places {} here, but the event here is {}",
                        e.event_id, stored.event_id
                    ),
                });
            }
            if stored.stream != stream_name || stored.body != bodies[j] {
                return Err(Error::EventIdReused {
                    event_id: e.event_id,
                    position: pos,
                });
            }
            let time = batch_time.get_or_insert(stored.recorded_at);
            if pos != first + j as u64 || stored.recorded_at != *time {
                return Err(Error::NotTheStoredBatch {
                    event_id: e.event_id,
                    position: pos,
                });
            }
            version = stored.stream_version;
        }
        let last = first + events.len() as u64 - 1;
        let same_batch = |pos: u64| -> Result<bool> {
            let r = self.record_at(store, group, pos)?;
            Ok(r.stream == stream_name && Some(r.recorded_at) == batch_time)
        };
        let more_before = first > 1 && same_batch(first - 1)?;
        let more_after = last + 1 < self.next_position && same_batch(last + 1)?;
        if more_before || more_after {
            return Err(Error::NotTheStoredBatch {
                event_id: events[0].event_id,
                position: first,
            });
        }
        Ok(Appended {
            first: assigned(first),
            last: assigned(last),
            stream_version: version,
            duplicate: true,
        })
    }

    /// Adds one stamped record (`bytes` is its encoding) and its index entries to the
    /// group; returns its position.
    fn stage(&mut self, group: &mut Group, record: Record, bytes: Vec<u8>, stored_at: i64) -> u64 {
        let pos = self.next_position;
        self.next_position += 1;
        group.push_event(pos, stored_at, bytes);
        group.runs.push(
            record.stream(),
            record.raw().stream_version,
            record.origin(),
            record.seq().get(),
            pos,
        );
        let id = record.event_id();
        group.ids.insert(id, pos);
        group.ids_in_order.push(id);
        group.records.insert(pos, record.into_raw());
        pos
    }

    fn prepare_ingest<S: Store>(
        &mut self,
        store: &S,
        indexes: &Indexes,
        record: Record,
        group: &mut Group,
    ) -> Result<Ingested> {
        let origin = record.origin();
        let body = body_from_bytes(&record.raw().body)?;
        if body != hub_types::Body::Unknown {
            body.check_stream(record.stream())
                .map_err(|e| e.at("body"))?;
        }
        if record.raw().recorded_at.is_none() {
            return Err(hub_types::ValidationError::new("recorded_at", "must be set").into());
        }
        let head = self.origins.get(&origin).copied();
        let seq = record.seq();
        let next = OriginHead::next_seq(head.as_ref());
        if seq < next {
            let pos = match Self::origin_position(&indexes.runs, group, origin, seq) {
                Some(pos) => pos,
                None => {
                    return Err(Error::Corrupt {
                        position: 0,
                        what: format!("origin {origin} sequence {seq} is missing below the head"),
                    })
                }
            };
            let stored = self.record_at(store, group, pos)?;
            if hub_proto::record::record_hash(&stored) == *record.hash() {
                return Ok(Ingested::Duplicate(assigned(pos)));
            }
            return Err(Error::Conflict {
                origin,
                seq: seq.get(),
                what: "same sequence, other content".into(),
            });
        }
        if seq > next {
            return Err(Error::Gap {
                origin,
                head: next.get() - 1,
                got: seq.get(),
            });
        }
        if !record.follows(head.as_ref()) {
            return Err(Error::ChainBroken {
                origin,
                seq: seq.get(),
            });
        }
        if let Some(pos) = Self::lookup_id(&indexes.ids, group, &record.event_id()) {
            return Err(Error::Conflict {
                origin,
                seq: seq.get(),
                what: format!(
                    "event id {} is already stored at position {pos}",
                    record.event_id()
                ),
            });
        }
        let version = Self::stream_version(&indexes.runs, group, record.stream());
        let stream_version = record.raw().stream_version;
        if stream_version != version + 1 {
            return Err(Error::Conflict {
                origin,
                seq: seq.get(),
                what: format!(
                    "stream {} is at version {version} here, event has version {stream_version}",
                    record.stream()
                ),
            });
        }
        let bytes = prost::Message::encode_to_vec(record.raw());
        self.origins.insert(origin, record.head());
        let now = self.now_micros();
        let pos = self.stage(group, record, bytes, now);
        Ok(Ingested::Appended(assigned(pos)))
    }

    /// Where sequence `seq` of `origin` is: in the group being built or in the log.
    fn origin_position(
        runs: &Runs,
        group: &Group,
        origin: MemberId,
        seq: OriginSeq,
    ) -> Option<u64> {
        group
            .runs
            .origin_position(origin, seq.get())
            .or_else(|| runs.with(Key::Origin(origin), |r| runs::position_of(r, seq.get())))
    }
}

/// The [`Position`] of an event the writer stored or found at `n`, which counts from 1.
fn assigned(n: u64) -> Position {
    debug_assert!(n > 0, "positions count from 1");
    Position::after(n.saturating_sub(1))
}
