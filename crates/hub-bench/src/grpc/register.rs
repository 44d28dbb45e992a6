//! The register phase of `hub-bench grpc`: `ScreenApplication` through a real node whose
//! log holds the realistic mix of `hub-bench view`, beside `CheckSubject` on the same node.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use hub_log::Log;
use hub_proto::pb;
use hub_server::RunningNode;

use super::{closed_loop, report_closed, Target};
use crate::harness::{self, query, SHANGHAI_TOKEN};
use crate::view::build;
use crate::view::mix::{Applicant, Mix};

/// Seed of the mix and of the applicants.
const SEED: u64 = 1;
/// Questions prepared per client, asked in turn.
const PER_CLIENT: usize = 256;
/// How long the node may take to replay its log at start.
const REPLAY: Duration = Duration::from_secs(1800);

/// Builds a node's log of `events` events of the mix under `parent`, starts a node on it
/// and measures `ScreenApplication`, then `CheckSubject`, from `clients` clients for
/// `period` each.
pub(super) async fn screen(
    parent: &Path,
    events: u64,
    clients: usize,
    period: Duration,
    nodelay: bool,
) -> anyhow::Result<()> {
    let data = tempfile::Builder::new()
        .prefix("hub-bench-grpc-register-")
        .tempdir_in(parent)
        .with_context(|| format!("create a data directory under {}", parent.display()))?;
    // The node's log, built directly (as a node would have stored it) and closed.
    let started = Instant::now();
    let log = Log::open(data.path().join("log"))?;
    let mut mix = Mix::new(SEED, events)?;
    build(&log, &mut mix, events).await?;
    log.close().await;
    drop(log);
    eprintln!(
        "hub-bench grpc: built a log of {events} events ({} entries, {} white-list entries, \
         {} awards) in {:.2?}",
        mix.entries,
        mix.whitelisted,
        mix.awards,
        started.elapsed()
    );

    let started = Instant::now();
    let node = RunningNode::start(harness::load_config(data.path())).await?;
    ensure!(
        node.hub.view().wait_for(events, REPLAY).await,
        "the node's view did not fold its {events} events"
    );
    eprintln!(
        "hub-bench grpc: register node ready after {:.2?}",
        started.elapsed()
    );
    let (target, served) = Target::serve(&node, nodelay).await?;
    let result = measure(&target, &mut mix, clients, period).await;
    drop(target);
    if let Some(served) = served {
        served.stop().await?;
    }
    node.stop().await?;
    result
}

async fn measure(
    target: &Target,
    mix: &mut Mix,
    clients: usize,
    period: Duration,
) -> anyhow::Result<()> {
    // Three in five applicants from the register, one from the blacklist's pool, one
    // unknown, as in `hub-bench view`.
    let mut screens = Vec::with_capacity(clients);
    let mut checks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let questions: Vec<pb::ScreenApplicationRequest> = (0..PER_CLIENT)
            .map(|i| {
                let who = match i % 5 {
                    0 => Applicant::Listed,
                    1 => Applicant::Unknown,
                    _ => Applicant::Register,
                };
                mix.screen_application_request(who, 0)
            })
            .collect();
        screens.push((
            query(&target.endpoint, SHANGHAI_TOKEN).await?,
            Arc::new(questions),
        ));
        let questions: Vec<pb::CheckSubjectRequest> = (0..PER_CLIENT)
            .map(|_| mix.check_subject_request(0))
            .collect();
        checks.push((
            query(&target.endpoint, SHANGHAI_TOKEN).await?,
            Arc::new(questions),
        ));
    }

    // What the applicants meet, so a run on an empty register is seen for what it is.
    let (client, questions) = &screens[0];
    let mut client = client.clone();
    let mut verdicts = [0usize; 4];
    for q in questions.iter() {
        let answer = client.screen_application(q.clone()).await?.into_inner();
        verdicts[answer.verdict.clamp(0, 3) as usize] += 1;
    }
    eprintln!(
        "hub-bench grpc: {} applicants: {} barred, {} in conflict, {} clear",
        questions.len(),
        verdicts[pb::Verdict::Barred as usize],
        verdicts[pb::Verdict::Conflict as usize],
        verdicts[pb::Verdict::Clear as usize],
    );

    let m = closed_loop(screens, period, |(client, questions), n| {
        let question = questions[n as usize % questions.len()].clone();
        let mut client = client.clone();
        async move {
            client.screen_application(question).await?;
            Ok(())
        }
    })
    .await?;
    report_closed(
        &format!(
            "{}.query.screen_application.clients{clients}",
            target.prefix
        ),
        &m,
        m.per_second(1),
        "queries/s",
    );
    let m = closed_loop(checks, period, |(client, questions), n| {
        let question = questions[n as usize % questions.len()].clone();
        let mut client = client.clone();
        async move {
            client.check_subject(question).await?;
            Ok(())
        }
    })
    .await?;
    report_closed(
        &format!("{}.query.check_subject.clients{clients}", target.prefix),
        &m,
        m.per_second(1),
        "queries/s",
    );
    Ok(())
}
