//! The console's JSON questions, answered from the view.
//!
//! Nothing here carries personal data, whatever is stored: the blacklist appears only as
//! counts by city and status, the talent register only as totals by city, level, year and
//! tier, never names, subject references or decision texts.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hub_proto::pb;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AdminState;
use crate::hub::Hub;

/// The `/api/*` routes.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/recognition-matrix", get(matrix))
        .route("/api/demand-trends", get(trends))
        .route("/api/shortage-alerts", get(alerts))
        .route("/api/joint-report", get(joint_report))
        .route("/api/blacklist-counts", get(blacklist_counts))
        .route("/api/register-summary", get(register_summary))
        .route("/api/tail", get(super::tail::tail))
}

/// The query string every question takes.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Valid time, `YYYY-MM-DD`; empty = today.
    on_date: String,
    /// A quarter `YYYY-Qn`, for alerts and the joint report.
    period: String,
    /// How many quarters a trend shows.
    periods: u32,
}

impl Params {
    /// The same question with the valid date made explicit (today when empty), so that a
    /// remembered answer is never given on another day.
    fn dated(mut self) -> Self {
        if self.on_date.is_empty() {
            self.on_date = hub_view::today().to_string();
        }
        self
    }

    /// The question `name` asks with these parameters, as the memo's key.
    fn question(&self, name: &str) -> String {
        format!(
            "{name}?on_date={}&period={}&periods={}",
            self.on_date, self.period, self.periods
        )
    }

    fn axes(&self) -> Option<pb::TimeAxes> {
        Some(pb::TimeAxes {
            on_date: self.on_date.clone(),
            ..Default::default()
        })
    }
}

/// An error answer: `400` naming the field for bad input, `503` before the hub is open.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Answers from the hub on a blocking thread: every answer is a pass over part of the view
/// under its read lock, which at a million events is too long to hold up the runtime's
/// workers (and the live tails they serve).
async fn with_hub(
    state: &AdminState,
    answer: impl FnOnce(&Hub) -> Result<Value, hub_view::Error> + Send + 'static,
) -> Response {
    let Some(hub) = state.hub().cloned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node is opening its log",
        );
    };
    match tokio::task::spawn_blocking(move || answer(&hub)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e @ hub_view::Error::Invalid(_))) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Like [`with_hub`] for the question `name` asked with `p`: gives the last answer to the
/// same question again while the view has not moved since (see [`super::memo`]).
async fn remembered(
    state: &AdminState,
    name: &str,
    p: Params,
    answer: impl FnOnce(&Hub, Params) -> Result<Value, hub_view::Error> + Send + 'static,
) -> Response {
    let p = p.dated();
    let question = p.question(name);
    let answers = state.answers().clone();
    with_hub(state, move |hub| {
        let before = hub.view().position();
        if let Some(known) = answers.get(&question, before) {
            return Ok(known);
        }
        let value = answer(hub, p)?;
        // Only an answer the view did not move under is known to be of `before`.
        if hub.view().position() == before {
            answers.put(question, before, value.clone());
        }
        Ok(value)
    })
    .await
}

/// A readable industry name: `integrated_circuits`.
fn industry_name(raw: i32) -> String {
    pb::Industry::try_from(raw)
        .map(|i| {
            i.as_str_name()
                .trim_start_matches("INDUSTRY_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| "unknown".into())
}

async fn status(State(state): State<AdminState>) -> Response {
    let ready = state.ready();
    let digest = state.status_digest().clone();
    with_hub(&state, move |hub| {
        // Never waits for a digest: the last one computed, or none yet (see `digest`).
        let known = digest.current(hub.view());
        let info = hub.view().info_without_digest();
        let roster: Vec<Value> = hub
            .view()
            .config()
            .roster
            .members
            .iter()
            .map(|m| json!({ "code": m.code.to_string(), "name": m.name }))
            .collect();
        let replication = hub.replication_status().map(|r| {
            json!({
                "quarantined": r.quarantined,
                "quarantine_dropped": r.quarantine_dropped,
                "consumer_lag": r.consumer_lag,
                "last_quarantine": r.last_quarantine,
                "keys_rejected": r.keys_rejected,
                "origins": r.origins.iter().map(|(origin, s)| json!({
                    "origin": origin.to_string(),
                    "local_seq": s.local_seq,
                    "seen_seq": s.seen_seq,
                    "produced_seq": s.produced_seq,
                })).collect::<Vec<_>>(),
            })
        });
        Ok(json!({
            "member": hub.config().node.member,
            "ready": ready,
            "log_head": hub.log().head(),
            "position": info.position,
            "digest": known.map(|(_, d)| hex::encode(d)),
            "digest_position": known.map(|(p, _)| p),
            "origin_vector": info.origin_vector.iter().map(|o| json!({
                "origin": o.origin, "seq": o.origin_seq,
            })).collect::<Vec<_>>(),
            "counts": info.counts.iter().map(|c| json!({
                "kind": c.kind, "count": c.count,
            })).collect::<Vec<_>>(),
            "ignored": info.ignored,
            "snapshot_position": info.snapshot_position,
            "entry_keys": { "live": info.entry_keys_live, "destroyed": info.entry_keys_destroyed },
            "subscribers": hub.subscribers_open(),
            "replication": replication,
            "roster": roster,
        }))
    })
    .await
}

async fn matrix(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "recognition-matrix", p, move |hub, p| {
        let r = hub
            .view()
            .recognition_matrix(&pb::RecognitionMatrixRequest {
                time: p.axes(),
                kind: 0,
            })?;
        Ok(json!({
            "on_date": r.basis.as_ref().map(|b| b.on_date.clone()),
            "position": r.basis.as_ref().map(|b| b.position),
            "cells": r.cells.iter().map(|c| json!({
                "recognizer": c.recognizer,
                "issuer": c.issuer,
                "recognized": c.recognized,
                "mutual": c.mutual,
            })).collect::<Vec<_>>(),
        }))
    })
    .await
}

async fn trends(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "demand-trends", p, move |hub, p| {
        let periods = if p.periods == 0 { 8 } else { p.periods };
        let trends = hub.view().demand_trends(&pb::DemandTrendRequest {
            time: p.axes(),
            industry: 0,
            city: String::new(),
            periods,
        })?;
        let out: Vec<Value> = trends
            .into_iter()
            .map(|(industry, t)| {
                json!({
                    "industry": industry.as_str(),
                    "points": t.points.iter().map(|pt| json!({
                        "period": pt.period, "demanded": pt.demanded,
                    })).collect::<Vec<_>>(),
                    "forecast_period": t.forecast_period,
                    "forecast": t.forecast,
                    "slope": t.slope,
                    "method": t.method,
                })
            })
            .collect();
        Ok(json!({ "industries": out }))
    })
    .await
}

async fn alerts(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "shortage-alerts", p, move |hub, p| {
        let r = hub.view().shortage_alerts(&pb::ShortageAlertsRequest {
            time: p.axes(),
            period: p.period.clone(),
        })?;
        Ok(json!({
            "period": p.period,
            "growth_threshold": r.growth_threshold,
            "forecast_growth_threshold": r.forecast_growth_threshold,
            "min_headcount": r.min_headcount,
            "alerts": r.alerts.iter().map(|a| json!({
                "industry": industry_name(a.industry),
                "city": a.city,
                "demanded": a.demanded,
                "previous": a.previous,
                "growth": a.growth,
                "forecast": a.forecast,
                "reasons": a.reasons,
            })).collect::<Vec<_>>(),
        }))
    })
    .await
}

fn report_row(r: &pb::JointReportRow) -> Value {
    json!({
        "industry": industry_name(r.industry),
        "city": r.city,
        "demanded": r.demanded,
        "open_headcount": r.open_headcount,
        "filled": r.filled,
        "signals": r.signals,
        "median_pay_min": r.median_pay_min,
        "median_pay_max": r.median_pay_max,
    })
}

async fn joint_report(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "joint-report", p, move |hub, p| {
        let r = hub.view().joint_report(&pb::JointReportRequest {
            time: p.axes(),
            period: p.period.clone(),
        })?;
        Ok(json!({
            "period": r.period,
            "position": r.basis.as_ref().map(|b| b.position),
            "on_date": r.basis.as_ref().map(|b| b.on_date.clone()),
            "rows": r.rows.iter().map(report_row).collect::<Vec<_>>(),
            "totals": r.totals.iter().map(report_row).collect::<Vec<_>>(),
        }))
    })
    .await
}

/// Counts of every city's entries by status: the only blacklist figures the console shows.
async fn blacklist_counts(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "blacklist-counts", p, move |hub, p| {
        let (counts, basis) = hub.view().entry_status_counts(p.axes().as_ref())?;
        let cities: Vec<Value> = counts
            .into_iter()
            .map(|(city, by_status)| {
                let by_status: BTreeMap<String, u64> = by_status
                    .into_iter()
                    .map(|(status, n)| (status_name(status), n))
                    .collect();
                json!({ "city": city.to_string(), "counts": by_status })
            })
            .collect();
        Ok(json!({ "position": basis.position, "cities": cities }))
    })
    .await
}

/// The talent register as totals only: awards and amounts by city, level and year, and
/// white-list entries in force by city and tier (`RegisterSummary`, which holds no person).
async fn register_summary(State(state): State<AdminState>, Query(p): Query<Params>) -> Response {
    remembered(&state, "register-summary", p, move |hub, p| {
        let s = hub
            .view()
            .register_summary(&pb::RegisterSummaryRequest { time: p.axes() })?;
        let name = |raw: &str, prefix: &str| raw.trim_start_matches(prefix).to_ascii_lowercase();
        let awards: Vec<Value> = s
            .awards
            .iter()
            .map(|t| {
                json!({
                    "city": t.origin,
                    "level": name(t.level().as_str_name(), "AWARD_LEVEL_"),
                    "year": t.year,
                    "awards": t.awards,
                    "amount_cny": t.amount_cny,
                })
            })
            .collect();
        let whitelist: Vec<Value> = s
            .whitelist
            .iter()
            .map(|t| {
                json!({
                    "city": t.origin,
                    "tier": name(t.tier().as_str_name(), "WHITELIST_TIER_"),
                    "entries": t.entries,
                })
            })
            .collect();
        let position = s.basis.map_or(0, |b| b.position);
        Ok(json!({ "position": position, "awards": awards, "whitelist": whitelist }))
    })
    .await
}

/// A readable status name: `active`, `suspended`, …
fn status_name(status: hub_types::fold::EntryStatus) -> String {
    hub_view::status_to_proto(status)
        .as_str_name()
        .trim_start_matches("ENTRY_STATUS_")
        .to_ascii_lowercase()
}
