//! The outbox: produce this node's own events to the topic once they are durable.
//!
//! Progress (the last sequence delivered, per origin) is recorded only after a whole batch
//! is acknowledged, so a stop or a crash in between re-produces the batch after restart;
//! the other nodes drop the duplicates. Stopping never waits on the broker.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hub_log::Log;
use hub_types::{MemberId, OriginSeq};
use prost::Message;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

use crate::{outbox_key, Control, KafkaConfig, Result, SharedStatus, Throttle};

/// Events read and produced per step.
const BATCH: usize = 1000;
/// Wait after a failed delivery before producing again.
const BACKOFF: Duration = Duration::from_millis(500);

pub(crate) struct Outbox {
    /// How to make a producer again after a fatal error.
    client: ClientConfig,
    producer: FutureProducer,
    topic: String,
    log: Log,
    own: BTreeSet<MemberId>,
    status: SharedStatus,
    control: Arc<Control>,
}

impl Outbox {
    pub(crate) fn new(
        config: &KafkaConfig,
        log: Log,
        own: BTreeSet<MemberId>,
        status: SharedStatus,
        control: Arc<Control>,
    ) -> Result<Self> {
        let mut client = config.client();
        client
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("compression.type", "lz4");
        let producer = client.create()?;
        Ok(Self {
            client,
            producer,
            topic: config.topic.clone(),
            log,
            own,
            status,
            control,
        })
    }

    fn progress(&self, origin: MemberId) -> u64 {
        match self.log.meta(&outbox_key(origin)) {
            Ok(Some(v)) => v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0),
            _ => 0,
        }
    }

    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut head = self.log.watch();
        let mut republish = self.control.republish.subscribe();
        let mut warn = Throttle::default();
        let mut republish_now = false;
        'produce: loop {
            if std::mem::take(&mut republish_now) || republish.has_changed().unwrap_or(false) {
                republish.borrow_and_update();
                // The topic lost events, so the broker most likely lost its producer state
                // too: a producer it no longer knows is refused (`Unknown Producer Id`) and
                // retried by librdkafka until the message timeout. Start afresh.
                self.renew_producer("the topic lost events");
                self.start_over().await;
            }
            let mut idle = true;
            for origin in self.own.clone() {
                // Deliveries pending when the stop comes are dropped: their progress is not
                // recorded, so they go out again after restart. A re-publication request
                // drops them too: they may wait on a producer the broker forgot.
                let step = tokio::select! {
                    r = self.step(origin) => r,
                    _ = stop.changed() => {
                        tracing::info!(%origin, "outbox stopped; undelivered events go out after restart");
                        return;
                    }
                    Ok(()) = republish.changed() => {
                        republish_now = true;
                        continue 'produce;
                    }
                };
                match step {
                    Ok(0) => {}
                    Ok(_) => {
                        idle = false;
                        warn.reset();
                    }
                    Err(e) => {
                        if let Some((code, reason)) = self.producer.client().fatal_error() {
                            self.recreate(&format!("{code:?}: {reason}"));
                        } else if let Some(held) = warn.ready() {
                            tracing::warn!(%origin, error = %e, held_back = held, "outbox could not deliver; retrying");
                        } else {
                            tracing::debug!(%origin, error = %e, "outbox could not deliver; retrying");
                        }
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
                    // `changed` marks the request seen: remember it for the loop's top.
                    Ok(()) = republish.changed() => republish_now = true,
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Handles a producer in a fatal state (e.g. `Unknown Producer Id` from a broker that
    /// lost its state): re-publishing from the log, which starts with a new producer; the
    /// topic may have lost events.
    fn recreate(&mut self, reason: &str) {
        tracing::warn!(error = %reason, "the producer is in a fatal state; recreating it");
        self.control
            .request_republish(&format!("fatal producer error: {reason}"));
    }

    /// Replaces the producer with a new one, which the broker gives a new producer id.
    fn renew_producer(&mut self, why: &str) {
        match self.client.create() {
            Ok(p) => {
                tracing::info!(why, "producing with a new producer");
                // Dropping a producer flushes it, which may wait on the broker.
                crate::topic::drop_detached(std::mem::replace(&mut self.producer, p));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot recreate the producer; keeping the old one")
            }
        }
    }

    /// Forgets the delivered progress of every own origin, so the log is produced again
    /// from its first event.
    async fn start_over(&self) {
        let meta = self
            .own
            .iter()
            .map(|o| (outbox_key(*o), 0u64.to_be_bytes().to_vec()))
            .collect();
        if let Err(e) = self.log.put_meta(meta).await {
            tracing::warn!(error = %e, "cannot reset the outbox progress");
            return;
        }
        let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
        for origin in &self.own {
            status.origins.entry(*origin).or_default().produced_seq = 0;
        }
    }

    /// Produces the next batch of `origin`'s events; returns how many were delivered.
    async fn step(&self, origin: MemberId) -> Result<usize, String> {
        let from = OriginSeq::after(self.progress(origin));
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
