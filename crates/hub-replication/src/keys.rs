//! Entry keys between nodes: the keys topic (`<topic>.keys`, compacted, key = stream).
//!
//! - **Share**: this node produces the key of every entry of its own origins, wrapped with
//!   the alliance's wrapping key and signed by the origin, when the key is created and
//!   again at every start (so a crash between creating and producing loses nothing). When
//!   the key is destroyed it produces a tombstone, so compaction drops the wrapped key
//!   from the topic too.
//! - **Gather**: every node reads the whole topic from the beginning at start and then
//!   follows it, checks each key's signature against the origin's roster key, unwraps it
//!   and stores it in the vault. The vault refuses a key whose entry was already erased.
//!
//! Tombstones never destroy a key: only the erasure event, which is signed and verified
//! with the origin's chain, does (see `hub_view`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hub_audit::{SigningKey, VerifyingKey};
use hub_log::vault::{self, Change, Inserted, Vault};
use hub_proto::pb;
use hub_types::{MemberId, StreamId};
use prost::Message;
use rdkafka::consumer::{Consumer, DefaultConsumerContext, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::topic::{self, AfterLoss, Seen, TopicState};
use crate::{Control, Error, KafkaConfig, Result, SharedStatus, Throttle};

/// Wait after a failed delivery or metadata read before trying again.
const BACKOFF: Duration = Duration::from_millis(500);

/// What a node needs to exchange entry keys.
#[derive(Debug)]
pub struct KeySharing {
    /// The node's vault.
    pub vault: Arc<Vault>,
    /// The wrapping key, derived from the alliance key with
    /// [`hub_log::vault::WRAP_KEY_LABEL`].
    pub wrap_key: Zeroizing<[u8; 32]>,
    /// Signing keys of the origins this node publishes for.
    pub signers: BTreeMap<MemberId, SigningKey>,
}

pub(crate) struct Share {
    /// How to make a producer again after a fatal error.
    client: ClientConfig,
    producer: FutureProducer,
    topic: String,
    keys: Arc<KeySharing>,
    control: Arc<Control>,
}

impl Share {
    pub(crate) fn new(
        config: &KafkaConfig,
        keys: Arc<KeySharing>,
        control: Arc<Control>,
    ) -> Result<Self> {
        let mut client = config.client();
        client.set("enable.idempotence", "true").set("acks", "all");
        let producer = client.create()?;
        Ok(Self {
            client,
            producer,
            topic: config.keys_topic(),
            keys,
            control,
        })
    }

    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut changes = self.keys.vault.subscribe();
        let mut republish = self.control.republish.subscribe();
        let mut full_pass = true;
        loop {
            if full_pass {
                full_pass = false;
                republish.borrow_and_update();
                for (stream, key) in self.keys.vault.entries() {
                    if !self.deliver(&stream, key.as_deref(), &mut stop).await {
                        return;
                    }
                }
            }
            let change = tokio::select! {
                c = changes.recv() => c,
                _ = republish.changed() => {
                    full_pass = true;
                    continue;
                }
                _ = stop.changed() => return,
            };
            let delivered = match change {
                Ok(Change::Stored(stream)) => match self.keys.vault.get(&stream) {
                    vault::KeyState::Live(key) => {
                        self.deliver(&stream, Some(&key), &mut stop).await
                    }
                    _ => true,
                },
                Ok(Change::Destroyed(stream)) => self.deliver(&stream, None, &mut stop).await,
                Err(RecvError::Lagged(_)) => {
                    full_pass = true;
                    true
                }
                Err(RecvError::Closed) => return,
            };
            if !delivered {
                return;
            }
        }
    }

    /// Produces `stream`'s wrapped key (or a tombstone when `key` is `None`) if this node
    /// publishes for the stream's origin, retrying until delivered; false when stopped.
    async fn deliver(
        &mut self,
        stream: &StreamId,
        key: Option<&[u8; 32]>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        let Some(signer) = self.keys.signers.get(&stream.owner()) else {
            return true;
        };
        let name = stream.to_string();
        let payload = match key {
            Some(key) => {
                let wrapped = vault::wrap(&self.keys.wrap_key, stream, key);
                let signature = match hub_audit::sign_entry_key(signer, &name, &wrapped) {
                    Ok(s) => s.to_vec(),
                    Err(e) => {
                        tracing::error!(%stream, error = %e, "cannot sign an entry key");
                        return true;
                    }
                };
                Some(
                    pb::EntryKey {
                        stream: name.clone(),
                        wrapped,
                        signature,
                    }
                    .encode_to_vec(),
                )
            }
            None => None,
        };
        for attempt in 0u64.. {
            let mut record = FutureRecord::<String, Vec<u8>>::to(&self.topic).key(&name);
            if let Some(p) = &payload {
                record = record.payload(p);
            }
            let sent = tokio::select! {
                r = self.producer.send(record, Duration::from_secs(10)) => r,
                _ = stop.changed() => return false,
            };
            match sent {
                Ok(_) => {
                    tracing::debug!(%stream, tombstone = payload.is_none(), "entry key shared");
                    return true;
                }
                // Once per key and then every minute or so, not every half second.
                Err((e, _)) if attempt % 120 == 0 => tracing::warn!(
                    %stream,
                    topic = %self.topic,
                    error = %e,
                    "cannot share an entry key; retrying (is the keys topic created?)"
                ),
                Err((e, _)) => tracing::debug!(%stream, error = %e, "entry key not shared yet"),
            }
            if let Some((code, reason)) = self.producer.client().fatal_error() {
                tracing::warn!(error = ?code, %reason, "the key producer is in a fatal state; recreating it");
                match self.client.create() {
                    Ok(p) => self.producer = p,
                    Err(e) => tracing::warn!(error = %e, "cannot recreate the key producer"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(BACKOFF) => {}
                _ = stop.changed() => return false,
            }
        }
        false
    }
}

pub(crate) struct Gather {
    consumer: StreamConsumer,
    /// How to make the consumer again after a broker loss.
    config: KafkaConfig,
    group: String,
    /// Set while fetching waits for the topic to be seen after a broker loss.
    after_loss: AfterLoss,
    topic: String,
    keys: Arc<KeySharing>,
    roster: BTreeMap<MemberId, VerifyingKey>,
    status: SharedStatus,
    control: Arc<Control>,
    /// True while assigned to the topic.
    assigned: bool,
}

impl Gather {
    pub(crate) fn new(
        config: &KafkaConfig,
        group: &str,
        keys: Arc<KeySharing>,
        roster: BTreeMap<MemberId, VerifyingKey>,
        status: SharedStatus,
        control: Arc<Control>,
    ) -> Result<Self> {
        // Offsets are never committed: the whole (compacted) topic is read at every start.
        let group = format!("{group}-keys");
        let consumer = config.consumer(&group, DefaultConsumerContext)?;
        Ok(Self {
            consumer,
            config: config.clone(),
            group,
            after_loss: AfterLoss::default(),
            topic: config.keys_topic(),
            keys,
            roster,
            status,
            control,
            assigned: false,
        })
    }

    /// Follows what the brokers say about the keys topic: read it from the beginning when
    /// it appears (again), stop fetching while it is missing. A topic that was missing and
    /// came back may have lost keys, so this node's own keys are shared again.
    fn topic_changed(&mut self, seen: &Seen, warn: &mut Throttle) {
        if !self.after_loss.settled(seen) {
            return;
        }
        match &seen.state {
            TopicState::Present(partitions) if !self.assigned => {
                let mut list = TopicPartitionList::new();
                for p in partitions {
                    let _ = list.add_partition_offset(&self.topic, *p, Offset::Beginning);
                }
                match self.consumer.assign(&list) {
                    Ok(()) => {
                        self.assigned = true;
                        warn.reset();
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot assign the keys topic"),
                }
            }
            TopicState::Present(_) | TopicState::Unknown => {}
            TopicState::Missing => {
                if let Some(held) = warn.ready() {
                    tracing::warn!(
                        topic = %self.topic,
                        held_back = held,
                        "waiting for the keys topic to exist (create it with cleanup.policy=compact)"
                    );
                }
                if self.assigned {
                    if let Err(e) = self.consumer.unassign() {
                        tracing::warn!(error = %e, "cannot stop consuming the missing keys topic");
                    }
                    self.assigned = false;
                    self.control
                        .request_republish("the keys topic went missing; it may have lost keys");
                }
            }
            TopicState::Unreachable(e) => {
                if let Some(held) = warn.ready() {
                    tracing::warn!(error = %e, held_back = held, "cannot reach the brokers for the keys topic; retrying");
                }
            }
        }
    }

    pub(crate) async fn run(
        mut self,
        mut topic: watch::Receiver<Seen>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut warn = Throttle::default();
        let mut check = tokio::time::interval(BACKOFF);
        loop {
            let message = tokio::select! {
                m = self.consumer.recv(), if self.assigned => m,
                _ = check.tick(), if !self.assigned => {
                    let seen = topic.borrow().clone();
                    self.topic_changed(&seen, &mut warn);
                    continue;
                }
                changed = topic.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let seen = topic.borrow_and_update().clone();
                    self.topic_changed(&seen, &mut warn);
                    continue;
                }
                _ = stop.changed() => return,
            };
            match message {
                Ok(m) => {
                    use rdkafka::Message as _;
                    if let Some(payload) = m.payload() {
                        self.receive(payload);
                    }
                }
                Err(e) => {
                    if topic::brokers_lost(&e) && self.assigned {
                        let seen = topic.borrow().clone();
                        self.broker_lost(&seen);
                    }
                    if let Some(held) = warn.ready() {
                        tracing::warn!(error = %e, held_back = held, "keys topic read failed");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(BACKOFF) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    /// Stops fetching and replaces the consumer, as `Inbox::broker_lost` does and for the
    /// same reason (see `topic`); the topic is read again once seen after the loss.
    fn broker_lost(&mut self, seen: &Seen) {
        let (config, group) = (&self.config, &self.group);
        let fresh = || config.consumer(group, DefaultConsumerContext);
        if self.after_loss.replace(seen, &mut self.consumer, fresh) {
            self.assigned = false;
        }
    }

    /// Checks and stores one shared key.
    fn receive(&self, payload: &[u8]) {
        match self.check(payload) {
            Ok((stream, key)) => match self.keys.vault.insert(&stream, key) {
                Ok(Inserted::New) => tracing::debug!(%stream, "entry key received"),
                Ok(Inserted::Held) => {}
                Ok(Inserted::Refused) => {
                    tracing::info!(%stream, "entry key refused: the entry is erased")
                }
                Ok(Inserted::Conflict) => self.reject(Error::EntryKeyConflict(stream)),
                Err(e) => tracing::error!(%stream, error = %e, "cannot store an entry key"),
            },
            Err(reason) => self.reject(reason),
        }
    }

    /// Decodes a shared key and checks it: a blacklist entry's stream, signed by its
    /// origin's roster key, unwrapping with the alliance's wrapping key.
    fn check(&self, payload: &[u8]) -> Result<(StreamId, vault::EntryKey)> {
        let shared = pb::EntryKey::decode(payload).map_err(Error::EntryKeyDecode)?;
        let stream: StreamId = match shared.stream.parse() {
            Ok(stream) => stream,
            Err(reason) => {
                return Err(Error::EntryKeyStream {
                    stream: shared.stream,
                    reason,
                })
            }
        };
        if !stream.family().is_personal() {
            return Err(Error::EntryKeyFamily(stream));
        }
        let origin = stream.owner();
        let Some(public) = self.roster.get(&origin) else {
            return Err(Error::EntryKeyOrigin { stream, origin });
        };
        if let Err(source) =
            hub_audit::verify_entry_key(public, &shared.stream, &shared.wrapped, &shared.signature)
        {
            return Err(Error::EntryKeySignature { stream, source });
        }
        match vault::unwrap(&self.keys.wrap_key, &stream, &shared.wrapped) {
            Some(key) => Ok((stream, key)),
            None => Err(Error::EntryKeyUnwrap(stream)),
        }
    }

    fn reject(&self, reason: Error) {
        let reason = reason.to_string();
        tracing::warn!(%reason, "shared entry key rejected");
        let mut status = self.status.write().unwrap_or_else(|e| e.into_inner());
        status.keys_rejected += 1;
        status.last_key_rejection = Some(reason);
    }
}
