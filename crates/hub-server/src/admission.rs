//! Admission control: each member's rate, the calls in flight and the subscriptions open,
//! each refused with an [`Overload`] at its bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hub_types::MemberId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ServerConfig;
use crate::error::{Overload, Refusal};
use crate::metrics::Metrics;

/// The gate every unary call and subscription passes.
#[derive(Debug)]
pub struct Admission {
    /// Calls per second and burst allowed to each member; 0 = unlimited.
    rate: u64,
    burst: u64,
    max_in_flight: usize,
    max_subscribers: usize,
    max_append_streams: usize,
    /// Per-member token buckets: (tokens, last refill).
    buckets: Mutex<HashMap<MemberId, (f64, Instant)>>,
    /// One permit per unary request in flight.
    in_flight: Arc<Semaphore>,
    /// One permit per open subscription.
    subscribers: Arc<Semaphore>,
    /// One permit per open `AppendStream`.
    append_streams: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl Admission {
    /// A gate with the limits of `[server]`, counting refusals in `metrics`.
    pub fn new(server: &ServerConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            rate: server.member_rate_per_second,
            burst: server.member_burst,
            max_in_flight: server.max_in_flight,
            max_subscribers: server.max_subscribers,
            max_append_streams: server.max_append_streams,
            buckets: Mutex::default(),
            in_flight: Arc::new(Semaphore::new(server.max_in_flight)),
            subscribers: Arc::new(Semaphore::new(server.max_subscribers)),
            append_streams: Arc::new(Semaphore::new(server.max_append_streams)),
            metrics,
        }
    }

    /// Admits a unary request of `member`, or refuses it with `RESOURCE_EXHAUSTED` when the
    /// member is over its rate or the node is full.
    pub fn admit(&self, member: MemberId) -> Result<OwnedSemaphorePermit, Refusal> {
        self.take_token(member).inspect_err(|_| {
            self.metrics.refused(member, "rate_limited");
        })?;
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            self.metrics.refused(member, "shed");
            Overload::InFlight(self.max_in_flight).into()
        })
    }

    /// Admits a subscription or refuses it with `RESOURCE_EXHAUSTED`.
    pub fn admit_subscriber(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.subscribers
            .clone()
            .try_acquire_owned()
            .map_err(|_| Overload::Subscriptions(self.max_subscribers).into())
    }

    /// Admits an `AppendStream` or refuses it with `RESOURCE_EXHAUSTED`; each request on
    /// it is still admitted as a unary call.
    pub fn admit_append_stream(&self, member: MemberId) -> Result<OwnedSemaphorePermit, Refusal> {
        self.append_streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                self.metrics.refused(member, "shed");
                Overload::AppendStreams(self.max_append_streams).into()
            })
    }

    /// Subscriptions open now.
    pub fn subscribers_open(&self) -> usize {
        self.max_subscribers
            .saturating_sub(self.subscribers.available_permits())
    }

    fn take_token(&self, member: MemberId) -> Result<(), Refusal> {
        let rate = self.rate;
        if rate == 0 {
            return Ok(());
        }
        let burst = self.burst.max(1) as f64;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = buckets.entry(member).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate as f64).min(burst);
        *last = now;
        if *tokens < 1.0 {
            return Err(Overload::MemberRate { member, rate }.into());
        }
        *tokens -= 1.0;
        Ok(())
    }
}
