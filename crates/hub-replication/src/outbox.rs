//! The outbox: produce this node's own events to the topic once they are durable.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use hub_log::Log;
use hub_types::MemberId;
use prost::Message;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::{outbox_key, KafkaConfig, Result, SharedStatus};

/// Events read and produced per step.
const BATCH: usize = 1000;
/// Wait after a failed delivery before producing again.
const BACKOFF: Duration = Duration::from_millis(500);

pub(crate) struct Outbox {
    producer: FutureProducer,
    topic: String,
    log: Log,
    own: BTreeSet<MemberId>,
    status: SharedStatus,
}

impl Outbox {
    pub(crate) fn new(
        config: &KafkaConfig,
        log: Log,
        own: BTreeSet<MemberId>,
        status: SharedStatus,
    ) -> Result<Self> {
        let producer = config
            .client()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("compression.type", "lz4")
            .create()?;
        Ok(Self {
            producer,
            topic: config.topic.clone(),
            log,
            own,
            status,
        })
    }

    fn progress(&self, origin: MemberId) -> u64 {
        match self.log.meta(&outbox_key(origin)) {
            Ok(Some(v)) => v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0),
            _ => 0,
        }
    }

    pub(crate) async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut head = self.log.watch();
        loop {
            let mut idle = true;
            for origin in self.own.clone() {
                match self.step(origin).await {
                    Ok(0) => {}
                    Ok(_) => idle = false,
                    Err(e) => {
                        tracing::warn!(%origin, error = %e, "outbox could not deliver; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(BACKOFF) => {}
                            _ = stop.changed() => return,
                        }
                        idle = false;
                    }
                }
            }
            if *stop.borrow() || self.log.is_closed() {
                return;
            }
            if idle {
                tokio::select! {
                    changed = head.changed() => if changed.is_err() { return },
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Produces the next batch of `origin`'s events; returns how many were delivered.
    async fn step(&self, origin: MemberId) -> Result<usize, String> {
        let from = self.progress(origin) + 1;
        let events = self
            .log
            .read_origin(origin, from, BATCH)
            .map_err(|e| e.to_string())?;
        let Some(last) = events.last().map(|e| e.record.origin_seq) else {
            return Ok(0);
        };
        let key = origin.to_string();
        let payloads: Vec<Vec<u8>> = events.iter().map(|e| e.record.encode_to_vec()).collect();
        let mut pending = VecDeque::new();
        for payload in &payloads {
            let mut record = FutureRecord::to(&self.topic).key(&key).payload(payload);
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push_back(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        match pending.pop_front() {
                            Some(oldest) => delivered(oldest.await)?,
                            None => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                    Err((e, _)) => return Err(format!("cannot queue: {e}")),
                }
            }
        }
        for delivery in pending {
            delivered(delivery.await)?;
        }
        self.log
            .put_meta(vec![(outbox_key(origin), last.to_be_bytes().to_vec())])
            .await
            .map_err(|e| e.to_string())?;
        self.status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .origins
            .entry(origin)
            .or_default()
            .produced_seq = last;
        Ok(events.len())
    }
}

fn delivered<Cancelled>(
    result: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, Cancelled>,
) -> Result<(), String> {
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(format!("delivery failed: {e}")),
        Err(_) => Err("delivery was cancelled".into()),
    }
}
