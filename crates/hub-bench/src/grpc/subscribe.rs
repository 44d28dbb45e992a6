//! The subscription phases of `hub-bench grpc`: catching up from the beginning of a large
//! log, and live fan-out to many subscribers while a paced publisher appends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use hub_proto::pb;
use hub_proto::pb::subscribe_response::Item;
use tokio::task::JoinSet;

use super::{Target, CITY, LOAD_BATCH};
use crate::figure::report;
use crate::harness::{
    demand_append, micros_between, publisher, streams, Latencies, SHANGHAI_TOKEN,
};

/// Clients appending while the catch-up log is built.
const LOAD_CLIENTS: usize = 8;
/// Roughly how often the fan-out publisher appends a batch.
const FANOUT_TICK: Duration = Duration::from_millis(2);
/// How long subscribers may take to receive the last event after publishing stopped.
const DRAIN: Duration = Duration::from_secs(15);

/// Appends `events` more events in large batches, then subscribes from the beginning and
/// counts the events delivered until the subscription says it is caught up.
pub(super) async fn catch_up(target: &Target, events: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let appends = events.div_ceil(LOAD_BATCH as u64);
    let mut tasks = JoinSet::new();
    for c in 0..LOAD_CLIENTS as u64 {
        let mut client = publisher(&target.endpoint, SHANGHAI_TOKEN).await?;
        tasks.spawn(async move {
            let mut k = c;
            while k < appends {
                let n = (events - k * LOAD_BATCH as u64).min(LOAD_BATCH as u64) as usize;
                let request = demand_append(CITY, &format!("load-{k}"), n, true);
                client.append(request).await?;
                k += LOAD_CLIENTS as u64;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("loading task")??;
    }
    let head = target.hub.log().head();
    eprintln!(
        "hub-bench grpc: appended {events} events in {:.2?}; the log holds {head}",
        started.elapsed()
    );

    let mut client = streams(&target.endpoint, SHANGHAI_TOKEN).await?;
    let started = Instant::now();
    let mut stream = client
        .subscribe(pb::SubscribeRequest::default())
        .await?
        .into_inner();
    let mut delivered = 0u64;
    loop {
        match stream.message().await? {
            Some(pb::SubscribeResponse {
                item: Some(Item::Event(_)),
            }) => delivered += 1,
            Some(pb::SubscribeResponse {
                item: Some(Item::CaughtUp(_)),
            }) => break,
            Some(_) => {}
            None => bail!("the subscription ended before it caught up"),
        }
    }
    let elapsed = started.elapsed();
    ensure!(
        delivered >= head,
        "caught up after {delivered} events of {head}"
    );
    eprintln!("hub-bench grpc: caught up on {delivered} events in {elapsed:.2?}");
    report(
        &format!("{}.subscribe.catch_up", target.prefix),
        delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        "events/s",
    );
    Ok(())
}

/// One acknowledged append of the fan-out publisher.
#[derive(Debug)]
struct Acked {
    first: u64,
    last: u64,
    sent: Instant,
    acked: Instant,
}

/// `subscribers` live subscriptions while a paced publisher appends `rate` events per
/// second for `period`.
pub(super) async fn fanout(
    target: &Target,
    subscribers: usize,
    rate: u64,
    period: Duration,
) -> anyhow::Result<()> {
    // Every subscription is live (has said it is caught up) before publishing starts.
    let (done_tx, done) = tokio::sync::watch::channel(0u64);
    let mut receivers = JoinSet::new();
    for _ in 0..subscribers {
        let mut client = streams(&target.endpoint, SHANGHAI_TOKEN).await?;
        let mut stream = client
            .subscribe(pb::SubscribeRequest {
                from_head: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        loop {
            match stream.message().await? {
                Some(pb::SubscribeResponse {
                    item: Some(Item::CaughtUp(_)),
                }) => break,
                Some(_) => {}
                None => bail!("a subscription ended before it was live"),
            }
        }
        let mut done = done.clone();
        receivers.spawn(async move {
            let _client = client;
            let mut received: Vec<(u64, Instant)> = Vec::new();
            let mut last = 0;
            loop {
                let target = *done.borrow_and_update();
                if target != 0 && last >= target {
                    return anyhow::Ok(received);
                }
                tokio::select! {
                    m = stream.message() => match m? {
                        Some(pb::SubscribeResponse { item: Some(Item::Event(e)) }) => {
                            received.push((e.position, Instant::now()));
                            last = e.position;
                        }
                        Some(_) => {}
                        None => bail!("a subscription ended after {} events", received.len()),
                    },
                    changed = done.changed() => if changed.is_err() {
                        return Ok(received);
                    },
                }
            }
        });
    }

    let batch = ((rate as f64 * FANOUT_TICK.as_secs_f64()).round() as usize).max(1);
    let tick = Duration::from_secs_f64(batch as f64 / rate as f64);
    let client = publisher(&target.endpoint, SHANGHAI_TOKEN).await?;
    let mut appends = JoinSet::new();
    let mut ticks = tokio::time::interval(tick);
    let started = Instant::now();
    let mut k = 0u64;
    while started.elapsed() < period {
        ticks.tick().await;
        let request = demand_append(CITY, &format!("fan-{k}"), batch, true);
        k += 1;
        let mut client = client.clone();
        appends.spawn(async move {
            let sent = Instant::now();
            let r = client.append(request).await?.into_inner();
            anyhow::Ok(Acked {
                first: r.first_position,
                last: r.last_position,
                sent,
                acked: Instant::now(),
            })
        });
    }
    let mut acked = HashMap::new();
    let mut events = 0u64;
    let mut head = 0;
    while let Some(done) = appends.join_next().await {
        let a = done.context("append task")??;
        for p in a.first..=a.last {
            acked.insert(p, (a.sent, a.acked));
        }
        events += a.last - a.first + 1;
        head = head.max(a.last);
    }
    let published = started.elapsed();
    done_tx.send_replace(head);

    let mut from_ack = Vec::new();
    let mut from_send = Vec::new();
    let mut early = 0u64;
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = receivers.join_next().await {
            for (position, at) in done.context("subscriber task")?? {
                if let Some((sent, ack)) = acked.get(&position) {
                    early += u64::from(at < *ack);
                    from_ack.push(micros_between(*ack, at));
                    from_send.push(micros_between(*sent, at));
                }
            }
        }
        anyhow::Ok(())
    })
    .await;
    match drained {
        Ok(result) => result?,
        Err(_) => bail!("subscribers did not receive every event within {DRAIN:?}"),
    }
    let expected = events * subscribers as u64;
    ensure!(
        from_ack.len() as u64 == expected,
        "subscribers received {} of {expected} events",
        from_ack.len()
    );
    eprintln!(
        "hub-bench grpc: fan-out of {events} events in batches of {batch} to {subscribers} \
         subscribers; {early} deliveries arrived before the publisher saw the ack"
    );
    let (from_ack, from_send) = (Latencies::new(from_ack), Latencies::new(from_send));
    let name = format!("{}.fanout.subscribers{subscribers}", target.prefix);
    report(
        &format!("{name}.publish_rate"),
        events as f64 / published.as_secs_f64().max(1e-9),
        "events/s",
    );
    report(&format!("{name}.p50"), from_ack.ms(0.50), "ms");
    report(&format!("{name}.p99"), from_ack.ms(0.99), "ms");
    report(&format!("{name}.from_send.p50"), from_send.ms(0.50), "ms");
    report(&format!("{name}.from_send.p99"), from_send.ms(0.99), "ms");
    Ok(())
}
