//! The inbox: consume the topic, verify and store foreign events, quarantine the rest.
//!
//! It also notices when the topic lost messages and rewinds (see the crate docs): the
//! partition high watermarks come from librdkafka's statistics, which also give the lag.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_audit::VerifyingKey;
use hub_log::{Ingested, Log};
use hub_proto::pb::EventRecord;
use hub_proto::record::Record;
use hub_types::roster::Roster;
use hub_types::MemberId;
use prost::Message as _;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};
use tokio::sync::watch;

use crate::meta::{QuarantineKey, QUARANTINE_PREFIX};
use crate::topic::{self, AfterLoss, Seen, TopicState};
use crate::{offset_key, Control, KafkaConfig, Result, SharedStatus, Throttle};

/// Most messages stored per ingest batch.
const BATCH: usize = 1000;
/// How often the lag and the watermarks are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Per partition of one topic, from librdkafka's latest statistics: the high watermark
/// and the fetch position, read at the same instant (so comparing them is fair).
#[derive(Clone, Default)]
pub(crate) struct Watermarks {
    topic: String,
    high: Arc<Mutex<BTreeMap<i32, (i64, i64)>>>,
}

impl ClientContext for Watermarks {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let mut high = self.high.lock().unwrap_or_else(|e| e.into_inner());
        for (p, s) in &topic.partitions {
            // -1 is librdkafka's "unassigned" pseudo-partition; negative offsets are unknown.
            if *p >= 0 && s.hi_offset >= 0 {
                high.insert(*p, (s.hi_offset, s.next_offset));
            }
        }
    }
}

impl ConsumerContext for Watermarks {}

/// A consumed message.
struct Consumed {
    partition: i32,
    offset: i64,
    payload: Vec<u8>,
}

/// A record not signed itself, waiting for the signed chain head that vouches for it.
struct Unsigned {
    record: Record,
    partition: i32,
    offset: i64,
}

/// What to quarantine: the record when it may still apply later (verified, but waiting
/// for its predecessors), its bytes, and why.
type Quarantined = (Option<Record>, Vec<u8>, String);

/// A quarantined record that may still apply once its predecessors arrive.
struct Waiting {
    record: Record,
    key: QuarantineKey,
}

pub(crate) struct Inbox {
    consumer: StreamConsumer<Watermarks>,
    /// How to make the consumer again after a broker loss.
    config: KafkaConfig,
    group: String,
    /// Set while fetching waits for the topic to be seen after a broker loss.
    after_loss: AfterLoss,
    watermarks: Watermarks,
    control: Arc<Control>,
    /// The partitions assigned; empty while the topic is missing or not seen yet.
    assigned: Vec<i32>,
    /// True once the topic was seen missing: it is read from the beginning when back.
    lost: bool,
    /// Highest high watermark seen per partition: one going down means truncation.
    highest: BTreeMap<i32, i64>,
    warn: Throttle,
    topic: String,
    log: Log,
    own: BTreeSet<MemberId>,
    roster: Roster,
    status: SharedStatus,
    waiting: BTreeMap<MemberId, BTreeMap<u64, Waiting>>,
    /// Next offset to consume, per partition.
    next: BTreeMap<i32, i64>,
    /// The roster's public keys: every foreign event must be vouched for by its origin.
    keys: BTreeMap<MemberId, VerifyingKey>,
    /// Unsigned records per origin, until a signed successor vouches for them; at most
    /// `max_unsigned` each.
    unsigned: BTreeMap<MemberId, VecDeque<Unsigned>>,
    max_unsigned: usize,
    /// Records the quarantine keeps at most.
    max_quarantined: u64,
    /// Throttles the warning of a full quarantine.
    full_warn: Throttle,
}

impl Inbox {
    pub(crate) fn new(
        config: &KafkaConfig,
        group: &str,
        log: Log,
        own: BTreeSet<MemberId>,
        roster: Roster,
        status: SharedStatus,
        control: Arc<Control>,
    ) -> Result<Self> {
        let keys = hub_audit::roster_keys(&roster)?;
        let watermarks = Watermarks {
            topic: config.topic.clone(),
            high: Arc::default(),
        };
        // Statistics only here: the default context would log them all at info.
        let mut config = config.clone();
        config
            .properties
            .insert("statistics.interval.ms".into(), crate::STATISTICS_MS.into());
        let consumer = config.consumer(group, watermarks.clone())?;
        let max_unsigned = config.max_unsigned_per_origin.max(1);
        let max_quarantined = config.max_quarantined;
        Ok(Self {
            consumer,
            topic: config.topic.clone(),
            config,
            group: group.to_owned(),
            after_loss: AfterLoss::default(),
            watermarks,
            control,
            assigned: Vec::new(),
            lost: false,
            highest: BTreeMap::new(),
            warn: Throttle::default(),
            log,
            own,
            roster,
            status,
            waiting: BTreeMap::new(),
            next: BTreeMap::new(),
            keys,
            unsigned: BTreeMap::new(),
            max_unsigned,
            max_quarantined,
            full_warn: Throttle::default(),
        })
    }

    /// The offset stored in the log for partition `p`.
    fn stored(&self, p: i32) -> Option<i64> {
        self.log
            .meta(&offset_key(&self.topic, p))
            .ok()
            .flatten()
            .and_then(|v| v.as_slice().try_into().ok().map(i64::from_be_bytes))
    }

    /// Assigns `partitions` at the offsets stored in the log.
    fn assign(&mut self, partitions: &[i32]) {
        let mut list = TopicPartitionList::new();
        for &p in partitions {
            let next = self.stored(p);
            if let Some(n) = next {
                self.next.insert(p, n);
            }
            let offset = next.map_or(Offset::Beginning, Offset::Offset);
            if list.add_partition_offset(&self.topic, p, offset).is_err() {
                continue;
            }
        }
        match self.consumer.assign(&list) {
            Ok(()) => {
                self.assigned = partitions.to_vec();
                tracing::info!(topic = %self.topic, partitions = partitions.len(), "consuming the topic");
            }
            Err(e) => tracing::warn!(error = %e, "cannot assign partitions; retrying"),
        }
    }

    /// Reads every assigned partition again from the offset stored in the log, after a
    /// batch the log refused: the unsigned records held in memory are read again too (the
    /// stored offset never passes the oldest of them).
    fn read_again_from_stored(&mut self) {
        self.unsigned.clear();
        let partitions = self.assigned.clone();
        self.assign(&partitions);
    }

    /// Follows what the brokers say about the topic: assign when it appears, stop fetching
    /// when it disappears, and read it from the beginning when it comes back.
    async fn topic_changed(&mut self, seen: Seen) -> hub_log::Result<()> {
        self.status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .topic_state = seen.state.describe();
        if !self.after_loss.settled(&seen) {
            return Ok(());
        }
        match seen.state {
            TopicState::Present(partitions) => {
                if self.lost {
                    self.lost = false;
                    self.assigned = partitions;
                    return self
                        .rewind(
                            "the topic was missing and is back; it may have lost messages",
                            true,
                        )
                        .await;
                }
                if self.assigned != partitions {
                    self.assign(&partitions);
                }
                self.warn.reset();
            }
            TopicState::Missing => {
                if let Some(held) = self.warn.ready() {
                    tracing::warn!(topic = %self.topic, held_back = held, "the topic does not exist; waiting for it");
                }
                if !self.assigned.is_empty() {
                    // Never fetch a topic the broker does not know (see `topic`).
                    if let Err(e) = self.consumer.unassign() {
                        tracing::warn!(error = %e, "cannot stop consuming the missing topic");
                    }
                    self.assigned.clear();
                    self.lost = true;
                    self.highest.clear();
                }
            }
            TopicState::Unreachable(e) => {
                if let Some(held) = self.warn.ready() {
                    tracing::warn!(error = %e, held_back = held, "cannot reach the brokers; retrying");
                }
            }
            TopicState::Unknown => {}
        }
        Ok(())
    }

    /// Stops fetching as soon as the brokers are lost, and replaces the consumer with a
    /// fresh one: fetching by a topic id from before a broker restart can crash librdkafka
    /// (see `topic`). Fetching resumes once the watcher sees the topic after the loss.
    fn broker_lost(&mut self, seen: &Seen) {
        let (config, group, watermarks) = (&self.config, &self.group, self.watermarks.clone());
        let fresh = || config.consumer(group, watermarks);
        if self.after_loss.replace(seen, &mut self.consumer, fresh) {
            self.assigned.clear();
            tracing::info!(topic = %self.topic, "brokers lost; consuming again with a new client once the topic is seen");
        }
    }

    /// Reads every assigned partition again from the beginning; ingest drops what is
    /// stored. With `republish`, this node's own events are produced again too, since the
    /// topic may have lost them.
    async fn rewind(&mut self, reason: &str, republish: bool) -> hub_log::Result<()> {
        tracing::warn!(topic = %self.topic, %reason, "rewinding the topic; stored events are dropped as duplicates");
        let mut list = TopicPartitionList::new();
        let mut meta = Vec::new();
        for &p in &self.assigned {
            let _ = list.add_partition_offset(&self.topic, p, Offset::Beginning);
            self.next.insert(p, 0);
            meta.push((offset_key(&self.topic, p), 0i64.to_be_bytes().to_vec()));
        }
        self.unsigned.clear();
        self.highest.clear();
        self.watermarks
            .high
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.log.put_meta(meta).await?;
        if let Err(e) = self.consumer.assign(&list) {
            tracing::warn!(error = %e, "cannot rewind the partitions");
        }
        {
            let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
            status.rewinds += 1;
            status.last_healing = Some(format!("rewound the topic: {reason}"));
        }
        if republish {
            self.control.request_republish(reason);
        }
        Ok(())
    }

    /// Updates the lag from the statistics, and rewinds when a partition's high watermark
    /// went down or lies below the stored offset: the topic was truncated or recreated.
    async fn check(&mut self) -> hub_log::Result<()> {
        let high = self
            .watermarks
            .high
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut truncated = None;
        let mut partitions = BTreeMap::new();
        for &p in &self.assigned {
            let next = self.next.get(&p).copied().unwrap_or(0);
            let (hw, fetching) = high.get(&p).copied().unwrap_or((-1, -1));
            if hw >= 0 {
                let highest = self.highest.entry(p).or_insert(hw);
                if hw < *highest {
                    truncated = Some(format!(
                        "partition {p}: high watermark went down from {highest} to {hw}"
                    ));
                } else if fetching > hw {
                    truncated = Some(format!(
                        "partition {p}: fetch position {fetching} lies beyond the end {hw}"
                    ));
                }
                *highest = (*highest).max(hw);
            }
            partitions.insert(
                p,
                crate::PartitionStatus {
                    next_offset: next,
                    high_watermark: hw,
                    lag: if hw >= 0 { (hw - next).max(0) } else { -1 },
                },
            );
        }
        {
            let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
            status.consumer_lag = if partitions.is_empty() || partitions.values().any(|s| s.lag < 0)
            {
                -1
            } else {
                partitions.values().map(|s| s.lag).sum()
            };
            status.partitions = partitions;
        }
        match truncated {
            Some(reason) => self.rewind(&reason, true).await,
            None => Ok(()),
        }
    }

    /// Loads the quarantine's records that may still apply; returns the removals of the
    /// resolved entries an earlier version kept.
    fn load_quarantine(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Ok(entries) = self.log.meta_with_prefix(QUARANTINE_PREFIX) else {
            return Vec::new();
        };
        let mut count = 0;
        let mut resolved = Vec::new();
        for (key, value) in entries {
            let Some((_, payload)) = split_quarantine(&value) else {
                // Resolved, kept empty by an earlier version: removed below.
                resolved.push((key, Vec::new()));
                continue;
            };
            count += 1;
            let Some(key) = QuarantineKey::decode(&key) else {
                tracing::warn!(key = %String::from_utf8_lossy(&key), "unknown quarantine key left alone");
                continue;
            };
            let record = EventRecord::decode(payload).ok().map(Record::parse);
            if let Some(Ok(record)) = record {
                self.waiting
                    .entry(record.origin())
                    .or_default()
                    .insert(record.seq().get(), Waiting { record, key });
            }
        }
        self.status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .quarantined = count;
        resolved
    }

    pub(crate) async fn run(
        mut self,
        mut topic: watch::Receiver<Seen>,
        mut stop: watch::Receiver<bool>,
    ) {
        let resolved = self.load_quarantine();
        if !resolved.is_empty() {
            let removed = resolved.len();
            match self.log.put_meta(resolved).await {
                Ok(()) => tracing::info!(removed, "removed resolved quarantine entries"),
                Err(e) => tracing::warn!(error = %e, "cannot remove resolved quarantine entries"),
            }
        }
        let mut rewind = self.control.rewind.subscribe();
        let mut check = tokio::time::interval(CHECK_EVERY);
        loop {
            let first = tokio::select! {
                m = self.consumer.recv(), if !self.assigned.is_empty() => m.map(|m| Consumed {
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                }),
                changed = topic.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let seen = topic.borrow_and_update().clone();
                    if let Err(e) = self.topic_changed(seen).await {
                        tracing::error!(error = %e, "inbox stopped: the log refused a write");
                        return;
                    }
                    continue;
                }
                _ = rewind.changed() => {
                    if let Err(e) = self.rewind("ordered by an operator", false).await {
                        tracing::error!(error = %e, "inbox stopped: the log refused a write");
                        return;
                    }
                    continue;
                }
                _ = check.tick() => {
                    // Assigned again once the brokers list the topic (see `broker_lost`).
                    let seen = topic.borrow().clone();
                    if self.assigned.is_empty() && matches!(seen.state, TopicState::Present(_)) {
                        if let Err(e) = self.topic_changed(seen).await {
                            tracing::error!(error = %e, "inbox stopped: the log refused a write");
                            return;
                        }
                    }
                    if let Err(e) = self.check().await {
                        tracing::error!(error = %e, "inbox stopped: the log refused a write");
                        return;
                    }
                    continue;
                }
                _ = stop.changed() => return,
            };
            let first = match first {
                Ok(m) => m,
                Err(KafkaError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange)) => {
                    if let Err(e) = self.rewind("the stored offset is out of range", true).await {
                        tracing::error!(error = %e, "inbox stopped: the log refused a write");
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    if topic::brokers_lost(&e) {
                        let seen = topic.borrow().clone();
                        self.broker_lost(&seen);
                    }
                    if let Some(held) = self.warn.ready() {
                        tracing::warn!(error = %e, held_back = held, "kafka consumer error");
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match tokio::time::timeout(Duration::ZERO, self.consumer.recv()).await {
                    Ok(Ok(m)) => batch.push(Consumed {
                        partition: m.partition(),
                        offset: m.offset(),
                        payload: m.payload().unwrap_or_default().to_vec(),
                    }),
                    _ => break,
                }
            }
            // The broker moved the fetch position back by itself (librdkafka's
            // `auto.offset.reset` after an out-of-range offset): the topic lost messages.
            let moved_back = batch
                .iter()
                .find(|m| m.offset < self.next.get(&m.partition).copied().unwrap_or(0) - 1)
                .map(|m| (m.partition, m.offset, self.next.get(&m.partition).copied()));
            if let Some((p, offset, next)) = moved_back {
                let reason = format!(
                    "partition {p}: the broker served offset {offset} while {} was next",
                    next.unwrap_or(0)
                );
                if let Err(e) = self.rewind(&reason, true).await {
                    tracing::error!(error = %e, "inbox stopped: the log refused a write");
                    return;
                }
                continue;
            }
            match self.process(batch).await {
                Ok(()) => {}
                Err(e @ hub_log::Error::DiskLow { .. }) => {
                    // The file system is nearly full: wait, then read again from the offsets
                    // stored with what was ingested; what was stored comes back as duplicates.
                    if let Some(held) = self.warn.ready() {
                        tracing::warn!(error = %e, held_back = held, "inbox waits for free space");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(CHECK_EVERY) => {}
                        _ = stop.changed() => return,
                    }
                    self.read_again_from_stored();
                }
                Err(e) => {
                    tracing::error!(error = %e, "inbox stopped: the log refused a batch");
                    return;
                }
            }
        }
    }

    async fn process(&mut self, batch: Vec<Consumed>) -> hub_log::Result<()> {
        let mut records = Vec::new();
        let mut quarantine = Vec::new();
        let mut seen: BTreeMap<MemberId, u64> = BTreeMap::new();
        for m in batch {
            self.next.insert(m.partition, m.offset + 1);
            let where_ = format!("partition {} offset {}", m.partition, m.offset);
            let record = match EventRecord::decode(m.payload.as_slice()) {
                Ok(r) => r,
                Err(e) => {
                    quarantine.push((
                        None,
                        m.payload,
                        format!("{where_}: not an event record: {e}"),
                    ));
                    continue;
                }
            };
            let claimed = record.origin.clone();
            let record = match Record::parse(record) {
                Ok(r) => r,
                Err(e) => {
                    // A stranger's record is refused for who sent it, before what it holds.
                    let reason = match claimed.parse::<MemberId>() {
                        Ok(o) if !self.roster.contains(o) => {
                            format!("{where_}: origin {o} is not in the roster")
                        }
                        _ => format!("{where_}: bad record: {e}"),
                    };
                    quarantine.push((None, m.payload, reason));
                    continue;
                }
            };
            let origin = record.origin();
            let s = seen.entry(origin).or_default();
            *s = (*s).max(record.seq().get());
            if self.own.contains(&origin) {
                continue;
            }
            if !self.roster.contains(origin) {
                quarantine.push((
                    None,
                    m.payload,
                    format!("{where_}: origin {origin} is not in the roster"),
                ));
                continue;
            }
            self.gate(record, m.partition, m.offset, &mut records, &mut quarantine);
        }
        // Never move past a record still waiting for its signature: a restart must see it
        // again.
        let meta = self
            .next
            .iter()
            .map(|(p, n)| {
                let waiting = self
                    .unsigned
                    .values()
                    .flatten()
                    .filter(|u| u.partition == *p)
                    .map(|u| u.offset)
                    .min();
                let next = waiting.map_or(*n, |w| w.min(*n));
                (offset_key(&self.topic, *p), next.to_be_bytes().to_vec())
            })
            .collect();
        let results = self.log.ingest(records.clone(), meta).await?;
        let mut progressed = BTreeSet::new();
        for (record, result) in records.into_iter().zip(results) {
            match result {
                Ok(Ingested::Appended(_)) => {
                    progressed.insert(record.origin());
                }
                Ok(Ingested::Duplicate(_)) => {}
                Err(e) => {
                    let payload = record.raw().encode_to_vec();
                    let reason = format!("origin {} seq {}: {e}", record.origin(), record.seq());
                    quarantine.push((Some(record), payload, reason));
                }
            }
        }
        {
            let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
            for (origin, seq) in seen {
                let o = status.origins.entry(origin).or_default();
                o.seen_seq = o.seen_seq.max(seq);
            }
        }
        self.quarantine(quarantine).await?;
        self.retry(progressed).await
    }

    /// Admits `record` once a chain head signed by its origin vouches for it: a signed
    /// record must verify with the roster key, and then vouches for the unsigned records
    /// of its batch that chain into it. Anything else is quarantined, never retried.
    fn gate(
        &mut self,
        record: Record,
        partition: i32,
        offset: i64,
        ready: &mut Vec<Record>,
        quarantine: &mut Vec<Quarantined>,
    ) {
        let origin = record.origin();
        let Some(key) = self.keys.get(&origin) else {
            let reason = format!("origin {origin} has no public key in the roster");
            quarantine.push((None, record.into_raw().encode_to_vec(), reason));
            return;
        };
        if !record.is_signed() {
            let waiting = self.unsigned.entry(origin).or_default();
            if waiting.len() >= self.max_unsigned {
                if let Some(oldest) = waiting.pop_front() {
                    let reason = format!(
                        "origin {origin} seq {}: more than {} unsigned records waited for a signature",
                        oldest.record.seq(),
                        self.max_unsigned
                    );
                    quarantine.push((None, oldest.record.into_raw().encode_to_vec(), reason));
                }
            }
            waiting.push_back(Unsigned {
                record,
                partition,
                offset,
            });
            return;
        }
        let raw = record.raw();
        if let Err(e) = hub_audit::verify_chain_head(
            key,
            &raw.origin,
            raw.origin_seq,
            record.hash(),
            &raw.signature,
        ) {
            let reason = format!(
                "origin {origin} seq {}: signature does not verify: {e}",
                record.seq()
            );
            quarantine.push((None, record.into_raw().encode_to_vec(), reason));
            return;
        }
        let mut chain = Vec::new();
        // The unsigned records it vouches for: its predecessors, linked by prev_hash.
        let mut expect = (record.seq().get() - 1, *record.prev_hash());
        for u in self
            .unsigned
            .remove(&origin)
            .unwrap_or_default()
            .into_iter()
            .rev()
        {
            if u.record.seq().get() == expect.0 && *u.record.hash() == expect.1 {
                expect = (expect.0.saturating_sub(1), *u.record.prev_hash());
                chain.push(u.record);
            } else {
                let reason = format!(
                    "origin {origin} seq {}: no signed chain head vouches for it",
                    u.record.seq()
                );
                quarantine.push((None, u.record.into_raw().encode_to_vec(), reason));
            }
        }
        ready.extend(chain.into_iter().rev());
        ready.push(record);
    }

    async fn quarantine(&mut self, items: Vec<Quarantined>) -> hub_log::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut meta = Vec::new();
        let mut status = self
            .status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (record, payload, reason) in items {
            if status.quarantined >= self.max_quarantined {
                status.quarantine_dropped += 1;
                if let Some(held) = self.full_warn.ready() {
                    tracing::error!(%reason, max = self.max_quarantined, held_back = held,
                        "quarantine full: replicated event dropped; rewind once resolved");
                }
                continue;
            }
            tracing::warn!(%reason, "replicated event quarantined");
            let key = QuarantineKey::of(record.as_ref().map(Record::raw), &payload);
            let mut value = (reason.len() as u32).to_be_bytes().to_vec();
            value.extend_from_slice(reason.as_bytes());
            value.extend_from_slice(&payload);
            meta.push((key.encode(), value));
            status.quarantined += 1;
            status.last_quarantine = Some(reason);
            if let Some(record) = record {
                self.waiting
                    .entry(record.origin())
                    .or_default()
                    .insert(record.seq().get(), Waiting { record, key });
            }
        }
        *self.status.write().unwrap_or_else(|e| e.into_inner()) = status;
        self.log.put_meta(meta).await
    }

    /// Retries quarantined records of origins that moved: the next one in sequence may
    /// now link; ones at or below the head are duplicates (resolved) or conflicts (kept).
    async fn retry(&mut self, mut origins: BTreeSet<MemberId>) -> hub_log::Result<()> {
        while let Some(origin) = origins.pop_first() {
            let head = self.log.origin_vector().get(&origin).map_or(0, |s| s.get());
            let Some(waiting) = self.waiting.get_mut(&origin) else {
                continue;
            };
            let candidates: Vec<u64> = waiting.range(..=head + 1).map(|(s, _)| *s).collect();
            for seq in candidates {
                let Some(w) = waiting.remove(&seq) else {
                    continue;
                };
                let result = self.log.ingest(vec![w.record.clone()], Vec::new()).await?;
                // One that still does not verify stays quarantined for operators, but is
                // not retried again. One that applied (or was a duplicate) is removed.
                if let Some(Ok(outcome)) = result.into_iter().next() {
                    self.log
                        .put_meta(vec![(w.key.encode(), Vec::new())])
                        .await?;
                    let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
                    status.quarantined = status.quarantined.saturating_sub(1);
                    if matches!(outcome, Ingested::Appended(_)) {
                        tracing::info!(%origin, seq, "quarantined event applied after its predecessors arrived");
                        origins.insert(origin);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Splits a stored quarantine value into reason and payload; `None` once resolved.
fn split_quarantine(value: &[u8]) -> Option<(String, &[u8])> {
    let (len, rest) = value.split_at_checked(4)?;
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    let (reason, payload) = rest.split_at_checked(len)?;
    Some((String::from_utf8_lossy(reason).into_owned(), payload))
}
