//! The inbox: consume the topic, verify and store foreign events, quarantine the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use hub_audit::VerifyingKey;
use hub_log::{Ingested, Log};
use hub_proto::pb::EventRecord;
use hub_types::roster::Roster;
use hub_types::MemberId;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::{offset_key, KafkaConfig, Result, SharedStatus, QUARANTINE_PREFIX};

/// Most messages stored per ingest batch.
const BATCH: usize = 1000;
/// How often the consumer lag is measured.
const LAG_EVERY: Duration = Duration::from_secs(1);

/// A consumed message.
struct Consumed {
    partition: i32,
    offset: i64,
    payload: Vec<u8>,
}

/// A record not signed itself, waiting for the signed chain head that vouches for it.
struct Unsigned {
    record: EventRecord,
    partition: i32,
    offset: i64,
}

/// What to quarantine: the record when it may still apply later (verified, but waiting
/// for its predecessors), its bytes, and why.
type Quarantined = (Option<EventRecord>, Vec<u8>, String);

/// A quarantined record that may still apply once its predecessors arrive.
struct Waiting {
    record: EventRecord,
    key: Vec<u8>,
}

pub(crate) struct Inbox {
    consumer: Arc<StreamConsumer>,
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
    /// Unsigned records per origin, until a signed successor vouches for them.
    unsigned: BTreeMap<MemberId, Vec<Unsigned>>,
}

impl Inbox {
    pub(crate) fn new(
        config: &KafkaConfig,
        group: &str,
        log: Log,
        own: BTreeSet<MemberId>,
        roster: Roster,
        status: SharedStatus,
    ) -> Result<Self> {
        let keys = crate::keys::roster_keys(&roster);
        let consumer: StreamConsumer = config.consumer(group)?;
        Ok(Self {
            consumer: Arc::new(consumer),
            topic: config.topic.clone(),
            log,
            own,
            roster,
            status,
            waiting: BTreeMap::new(),
            next: BTreeMap::new(),
            keys,
            unsigned: BTreeMap::new(),
        })
    }

    /// Assigns every partition of the topic at the offsets stored in the log.
    async fn assign(&mut self, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        loop {
            let partitions = crate::partitions(self.consumer.clone(), &self.topic).await;
            match partitions {
                Ok(partitions) if !partitions.is_empty() => {
                    let mut list = TopicPartitionList::new();
                    for p in partitions {
                        let next = self
                            .log
                            .meta(&offset_key(&self.topic, p))
                            .ok()
                            .flatten()
                            .and_then(|v| v.as_slice().try_into().ok().map(i64::from_be_bytes));
                        let offset = next.map_or(Offset::Beginning, Offset::Offset);
                        if let Some(n) = next {
                            self.next.insert(p, n);
                        }
                        if list.add_partition_offset(&self.topic, p, offset).is_err() {
                            continue;
                        }
                    }
                    match self.consumer.assign(&list) {
                        Ok(()) => return true,
                        Err(e) => tracing::warn!(error = %e, "cannot assign partitions; retrying"),
                    }
                }
                Ok(_) => tracing::info!(topic = %self.topic, "waiting for the topic to exist"),
                Err(e) => tracing::warn!(error = %e, "retrying"),
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => return false,
            }
        }
    }

    fn load_quarantine(&mut self) {
        let Ok(entries) = self.log.meta_with_prefix(QUARANTINE_PREFIX) else {
            return;
        };
        let mut count = 0;
        for (key, value) in entries {
            let Some((_, payload)) = split_quarantine(&value) else {
                continue; // resolved
            };
            count += 1;
            if let Ok(record) = EventRecord::decode(payload) {
                if let Ok(origin) = record.origin.parse::<MemberId>() {
                    self.waiting
                        .entry(origin)
                        .or_default()
                        .insert(record.origin_seq, Waiting { record, key });
                }
            }
        }
        self.status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .quarantined = count;
    }

    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if !self.assign(&mut stop).await {
            return;
        }
        self.load_quarantine();
        let mut lag = tokio::time::interval(LAG_EVERY);
        loop {
            let first = tokio::select! {
                m = self.consumer.recv() => m.map(|m| Consumed {
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                }),
                _ = lag.tick() => {
                    self.measure_lag().await;
                    continue;
                }
                _ = stop.changed() => return,
            };
            let first = match first {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "kafka consumer error");
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
            if let Err(e) = self.process(batch).await {
                tracing::error!(error = %e, "inbox stopped: the log refused a batch");
                return;
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
            let origin = match record.origin.parse::<MemberId>() {
                Ok(o) => o,
                Err(e) => {
                    quarantine.push((None, m.payload, format!("{where_}: bad origin: {e}")));
                    continue;
                }
            };
            let s = seen.entry(origin).or_default();
            *s = (*s).max(record.origin_seq);
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
            self.gate(
                origin,
                record,
                m.partition,
                m.offset,
                &mut records,
                &mut quarantine,
            );
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
                    if let Ok(o) = record.origin.parse() {
                        progressed.insert(o);
                    }
                }
                Ok(Ingested::Duplicate(_)) => {}
                Err(e) => {
                    let payload = record.encode_to_vec();
                    let reason = format!("origin {} seq {}: {e}", record.origin, record.origin_seq);
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
        origin: MemberId,
        record: EventRecord,
        partition: i32,
        offset: i64,
        ready: &mut Vec<EventRecord>,
        quarantine: &mut Vec<Quarantined>,
    ) {
        let Some(key) = self.keys.get(&origin) else {
            let reason = format!("origin {origin} has no public key in the roster");
            quarantine.push((None, record.encode_to_vec(), reason));
            return;
        };
        if record.signature.is_empty() {
            self.unsigned.entry(origin).or_default().push(Unsigned {
                record,
                partition,
                offset,
            });
            return;
        }
        let hash = hub_audit::record_hash(&record);
        if let Err(e) = hub_audit::verify_chain_head(
            key,
            &record.origin,
            record.origin_seq,
            &hash,
            &record.signature,
        ) {
            let reason = format!(
                "origin {origin} seq {}: signature does not verify: {e}",
                record.origin_seq
            );
            quarantine.push((None, record.encode_to_vec(), reason));
            return;
        }
        let mut chain = Vec::new();
        let mut expect = (
            record.origin_seq.saturating_sub(1),
            record.prev_hash.clone(),
        );
        for u in self
            .unsigned
            .remove(&origin)
            .unwrap_or_default()
            .into_iter()
            .rev()
        {
            if u.record.origin_seq == expect.0
                && hub_audit::record_hash(&u.record).as_slice() == expect.1.as_slice()
            {
                expect = (expect.0.saturating_sub(1), u.record.prev_hash.clone());
                chain.push(u.record);
            } else {
                let reason = format!(
                    "origin {origin} seq {}: no signed chain head vouches for it",
                    u.record.origin_seq
                );
                quarantine.push((None, u.record.encode_to_vec(), reason));
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
            tracing::warn!(%reason, "replicated event quarantined");
            let key = match &record {
                Some(r) => format!(
                    "{}{}/{:020}/{:016x}",
                    String::from_utf8_lossy(QUARANTINE_PREFIX),
                    r.origin,
                    r.origin_seq,
                    crc(&payload)
                ),
                None => format!(
                    "{}unreadable/{:016x}",
                    String::from_utf8_lossy(QUARANTINE_PREFIX),
                    crc(&payload)
                ),
            }
            .into_bytes();
            let mut value = (reason.len() as u32).to_be_bytes().to_vec();
            value.extend_from_slice(reason.as_bytes());
            value.extend_from_slice(&payload);
            meta.push((key.clone(), value));
            status.quarantined += 1;
            status.last_quarantine = Some(reason);
            if let Some(record) = record {
                if let Ok(origin) = record.origin.parse::<MemberId>() {
                    self.waiting
                        .entry(origin)
                        .or_default()
                        .insert(record.origin_seq, Waiting { record, key });
                }
            }
        }
        *self.status.write().unwrap_or_else(|e| e.into_inner()) = status;
        self.log.put_meta(meta).await
    }

    /// Retries quarantined records of origins that moved: the next one in sequence may
    /// now link; ones at or below the head are duplicates (resolved) or conflicts (kept).
    async fn retry(&mut self, mut origins: BTreeSet<MemberId>) -> hub_log::Result<()> {
        while let Some(origin) = origins.pop_first() {
            let head = self.log.origin_vector().get(&origin).copied().unwrap_or(0);
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
                // not retried again.
                if let Some(Ok(outcome)) = result.into_iter().next() {
                    self.log.put_meta(vec![(w.key, Vec::new())]).await?;
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

    async fn measure_lag(&self) {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        let next = self.next.clone();
        let lag = tokio::task::spawn_blocking(move || {
            let mut total = 0i64;
            let partitions: Vec<i32> = consumer
                .assignment()
                .map(|l| l.elements().iter().map(|e| e.partition()).collect())
                .unwrap_or_default();
            for p in partitions {
                let (low, high) = consumer
                    .fetch_watermarks(&topic, p, Duration::from_millis(500))
                    .ok()?;
                let at = next.get(&p).copied().unwrap_or(low);
                total += (high - at).max(0);
            }
            Some(total)
        })
        .await
        .ok()
        .flatten();
        self.status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .consumer_lag = lag.unwrap_or(-1);
    }
}

/// Splits a stored quarantine value into reason and payload; `None` once resolved.
fn split_quarantine(value: &[u8]) -> Option<(String, &[u8])> {
    let (len, rest) = value.split_at_checked(4)?;
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    let (reason, payload) = rest.split_at_checked(len)?;
    Some((String::from_utf8_lossy(reason).into_owned(), payload))
}

/// A short fingerprint to tell apart different payloads quarantined at one sequence.
fn crc(bytes: &[u8]) -> u64 {
    // FNV-1a: stable across builds, no dependency needed for a key suffix.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
