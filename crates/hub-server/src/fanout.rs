//! The events every live subscriber is sent, read from the log and encoded once.
//!
//! One task follows the log's head. Each event committed is read once, turned into its
//! wire form once and encoded once as a `SubscribeResponse`, in two forms when it carries
//! personal fields (whole, and redacted for callers without access to them), and kept in a
//! ring of the most recent events. A subscriber that has caught up takes its events from
//! the ring and sends the encoded bytes as they are: serving a hundred subscribers costs
//! one read, one conversion and one encoding per event, not a hundred. A subscriber behind
//! the ring's oldest event reads the log itself, as catch-up does, until it reaches the
//! ring.
//!
//! The ring holds at most [`RING_EVENTS`] events and [`RING_BYTES`] encoded bytes.
//!
//! While no subscription is open the follower reads and encodes nothing: it empties the
//! ring and moves its tip to the log's head, so the first subscriber to come reads the log
//! itself up to the ring, which fills again from the next commit on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use hub_log::StoredEvent;
use hub_proto::convert::{kind_of, record_to_event};
use hub_proto::pb;
use hub_types::{EventKind, Position};
use prost::Message;
use tokio::sync::watch;

use crate::hub::Hub;
use crate::identity::Access;

/// Most events the ring keeps.
pub const RING_EVENTS: usize = 8192;
/// Most encoded bytes the ring keeps (both forms of every event counted).
pub const RING_BYTES: usize = 32 * 1024 * 1024;
/// Most events read from the log per step.
const READ_BATCH: usize = 512;

/// One event as subscribers are sent it.
#[derive(Debug)]
pub struct Shared {
    /// Its position in the log.
    pub position: u64,
    /// What subscribers filter on.
    pub origin: String,
    pub stream: String,
    pub kind: EventKind,
    /// The encoded `SubscribeResponse` carrying the whole event.
    full: Bytes,
    /// The same with personal fields hidden (the same bytes when it has none).
    redacted: Bytes,
}

impl Shared {
    /// Reads, converts and encodes `event` once.
    pub fn encode(event: &StoredEvent) -> Self {
        let wire = record_to_event(&event.record, event.position);
        let kind = kind_of(wire.body.as_ref());
        let origin = wire.origin.clone();
        let stream = wire.stream.clone();
        // Only the families with personal fields have anything to hide.
        let redacted = kind
            .family()
            .is_some_and(|f| f.is_personal())
            .then(|| response(crate::streams::visible(wire.clone(), Access::Redacted)));
        let full = response(wire);
        Self {
            position: event.position.get(),
            origin,
            stream,
            kind,
            redacted: redacted.unwrap_or_else(|| full.clone()),
            full,
        }
    }

    /// The encoded response a caller with `access` is sent.
    pub fn bytes(&self, access: Access) -> Bytes {
        match access {
            Access::Full => self.full.clone(),
            Access::Redacted => self.redacted.clone(),
        }
    }

    /// Bytes the ring counts for this event.
    fn size(&self) -> usize {
        let redacted = if self.redacted.as_ptr() == self.full.as_ptr() {
            0
        } else {
            self.redacted.len()
        };
        self.full.len() + redacted
    }
}

fn response(event: pb::Event) -> Bytes {
    pb::SubscribeResponse {
        item: Some(pb::subscribe_response::Item::Event(event)),
    }
    .encode_to_vec()
    .into()
}

/// What the ring holds after a subscriber's position.
#[derive(Debug)]
pub enum Since {
    /// The next events, in order (at most the number asked for).
    Events(Vec<Arc<Shared>>),
    /// Nothing yet: the subscriber is at the ring's newest event or beyond it.
    Nothing,
    /// The ring no longer holds the next event: read the log.
    Behind,
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<Shared>>,
    bytes: usize,
    /// Newest position read from the log: the ring holds the events up to it, from its
    /// first event on.
    tip: u64,
}

/// The ring and its newest position.
#[derive(Debug)]
pub struct Fanout {
    ring: RwLock<Ring>,
    /// Changes whenever the ring takes new events, and when the follower stops.
    tip: watch::Sender<u64>,
    stopped: AtomicBool,
    /// Subscriptions open now ([`Fanout::listen`]).
    listeners: AtomicUsize,
}

/// One open subscription, counted by the [`Fanout`] for as long as it is held.
#[derive(Debug)]
pub struct Listening(Arc<Fanout>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Fanout {
    /// An empty ring; [`Fanout::follow`] fills it.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            ring: RwLock::default(),
            tip: watch::channel(0).0,
            stopped: AtomicBool::new(false),
            listeners: AtomicUsize::new(0),
        })
    }

    /// Counts a subscription until the returned guard is dropped; the ring is filled only
    /// while one is counted.
    pub fn listen(self: &Arc<Self>) -> Listening {
        self.listeners.fetch_add(1, Ordering::AcqRel);
        Listening(self.clone())
    }

    /// Changes whenever the ring takes new events, and when the follower stops.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.tip.subscribe()
    }

    /// Up to `max` events after position `after`.
    pub fn since(&self, after: u64, max: usize) -> Since {
        let ring = self.ring.read().unwrap_or_else(|e| e.into_inner());
        if after >= ring.tip {
            return Since::Nothing;
        }
        match ring.events.front() {
            Some(first) if after + 1 >= first.position => {
                let skip = (after + 1 - first.position) as usize;
                Since::Events(ring.events.range(skip..).take(max).cloned().collect())
            }
            _ => Since::Behind,
        }
    }

    /// Whether the follower has stopped: subscribers then read the log themselves.
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.tip.send_modify(|_| {});
    }

    /// Empties the ring and moves its tip to `tip`, for when nobody listens: the ring then
    /// holds nothing, and a subscriber behind `tip` reads the log.
    fn skip_to(&self, tip: u64) {
        {
            let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
            ring.events.clear();
            ring.bytes = 0;
            ring.tip = tip;
        }
        self.tip.send_replace(tip);
    }

    /// Adds the events after the ring's tip up to `tip` (none when the ring starts).
    fn push(&self, batch: Vec<Shared>, tip: u64) {
        {
            let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
            ring.tip = tip;
            for shared in batch {
                ring.bytes += shared.size();
                ring.events.push_back(Arc::new(shared));
            }
            while ring.events.len() > RING_EVENTS || ring.bytes > RING_BYTES {
                match ring.events.pop_front() {
                    Some(old) => ring.bytes -= old.size(),
                    None => break,
                }
            }
        }
        self.tip.send_replace(tip);
    }

    /// Follows `hub`'s log from its head now until the log closes or the node stops,
    /// putting every event committed into the ring. On a read error it stops; subscribers
    /// then read the log themselves and meet the error there.
    pub async fn follow(self: Arc<Self>, hub: Arc<Hub>) {
        let mut head = hub.log().watch();
        let mut stopping = hub.stopping();
        let mut tip = hub.log().head();
        self.push(Vec::new(), tip);
        loop {
            while tip < hub.log().head() {
                if self.listeners.load(Ordering::Acquire) == 0 {
                    tip = hub.log().head();
                    self.skip_to(tip);
                    break;
                }
                let events = match hub.log().read_all(Position::after(tip), READ_BATCH) {
                    Ok(events) => events,
                    Err(e) => {
                        tracing::warn!(error = %e, "the subscribers' shared reader stopped");
                        self.stop();
                        return;
                    }
                };
                let Some(last) = events.last().map(|e| e.position.get()) else {
                    break;
                };
                self.push(events.iter().map(Shared::encode).collect(), last);
                tip = last;
            }
            let ended = tokio::select! {
                changed = head.changed() => changed.is_err() || hub.log().is_closed(),
                _ = stopping.wait_for(|s| *s) => true,
            };
            if ended {
                self.stop();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(position: u64, len: usize) -> Shared {
        let full = Bytes::from(vec![b'x'; len]);
        Shared {
            position,
            origin: "310000".into(),
            stream: format!("demand/310000/s{position}"),
            kind: EventKind::DemandSignalPublished,
            redacted: full.clone(),
            full,
        }
    }

    fn positions(since: Since) -> Vec<u64> {
        match since {
            Since::Events(events) => events.iter().map(|e| e.position).collect(),
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[test]
    fn a_ring_that_starts_at_the_head_sends_earlier_subscribers_to_the_log() {
        let fanout = Fanout::new();
        assert!(
            matches!(fanout.since(0, 10), Since::Nothing),
            "nothing known yet"
        );
        fanout.push(Vec::new(), 5);
        assert!(matches!(fanout.since(0, 10), Since::Behind));
        assert!(matches!(fanout.since(4, 10), Since::Behind));
        assert!(matches!(fanout.since(5, 10), Since::Nothing));
        fanout.push(vec![shared(6, 10), shared(7, 10), shared(8, 10)], 8);
        assert!(matches!(fanout.since(4, 10), Since::Behind));
        assert_eq!(positions(fanout.since(5, 10)), [6, 7, 8]);
        assert_eq!(positions(fanout.since(6, 1)), [7]);
        assert!(matches!(fanout.since(8, 10), Since::Nothing));
        assert!(
            matches!(fanout.since(9, 10), Since::Nothing),
            "a subscriber ahead of the ring waits for it"
        );
    }

    #[test]
    fn the_ring_keeps_at_most_its_event_and_byte_bounds() {
        let fanout = Fanout::new();
        fanout.push(Vec::new(), 0);
        let n = RING_EVENTS as u64 + 100;
        fanout.push((1..=n).map(|p| shared(p, 16)).collect(), n);
        assert!(matches!(fanout.since(99, 1), Since::Behind));
        assert_eq!(positions(fanout.since(100, 1)), [101]);

        let big = RING_BYTES / 4 + 1;
        fanout.push((n + 1..=n + 4).map(|p| shared(p, big)).collect(), n + 4);
        assert!(matches!(fanout.since(n, 1), Since::Behind));
        assert_eq!(positions(fanout.since(n + 1, 10)), [n + 2, n + 3, n + 4]);
        let ring = fanout.ring.read().unwrap();
        assert!(ring.bytes <= RING_BYTES && ring.events.len() <= RING_EVENTS);
    }

    /// Appends `n` events to a stream of its own and waits until the follower has seen
    /// them; returns the head.
    async fn append_and_follow(hub: &Hub, fanout: &Fanout, name: &str, n: usize) -> u64 {
        use hub_log::conformance::{demand_event, stream};
        let s = stream("310000", name);
        let events = (0..n).map(|_| demand_event(&s, 1)).collect();
        hub.log()
            .append(&s, hub_types::ExpectedVersion::Any, events)
            .await
            .expect("appended");
        let head = hub.log().head();
        let mut tip = fanout.watch();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tip.wait_for(|t| *t >= head),
        )
        .await
        .expect("the follower reaches the head")
        .expect("the follower runs");
        head
    }

    #[tokio::test]
    async fn the_ring_is_filled_only_while_a_subscription_listens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = crate::config::Config::defaults();
        config.node.data_dir = dir.path().to_path_buf();
        let hub = crate::server::open_hub(config).await.expect("hub");
        let fanout = Fanout::new();
        tokio::spawn(fanout.clone().follow(hub.clone()));

        let quiet = append_and_follow(&hub, &fanout, "quiet", 3).await;
        assert!(
            matches!(fanout.since(0, 10), Since::Behind),
            "nobody listened: the ring holds nothing and a subscriber reads the log"
        );
        assert!(matches!(fanout.since(quiet, 10), Since::Nothing));
        assert!(fanout.ring.read().unwrap().events.is_empty());

        let listening = fanout.listen();
        let heard = append_and_follow(&hub, &fanout, "heard", 2).await;
        assert_eq!(positions(fanout.since(quiet, 10)), [quiet + 1, heard]);
        assert!(matches!(fanout.since(quiet - 1, 10), Since::Behind));

        drop(listening);
        let after = append_and_follow(&hub, &fanout, "after", 1).await;
        assert!(matches!(fanout.since(heard, 10), Since::Behind));
        assert!(matches!(fanout.since(after, 10), Since::Nothing));
        assert!(fanout.ring.read().unwrap().events.is_empty());
        hub.log().close().await;
    }

    #[test]
    fn a_stopped_follower_wakes_its_subscribers() {
        let fanout = Fanout::new();
        let mut rx = fanout.watch();
        rx.borrow_and_update();
        assert!(!fanout.stopped());
        fanout.stop();
        assert!(fanout.stopped());
        assert!(rx.has_changed().unwrap());
    }
}
