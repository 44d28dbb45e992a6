//! Demand questions: demand-summary, demand-trend, shortage-alerts, joint-report.

use clap::Args;
use hub_proto::pb;
use serde_json::{json, Value};

use super::TimeArgs;
use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    basis_json, basis_line, group_by_name, industry_name, or_dash, parse_group_by, parse_industry,
    print_json, Format, Table,
};

/// `query demand-summary`
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// industry, city, occupation or period.
    #[arg(long, value_parser = parse_group_by)]
    group_by: i32,
    /// Only this industry, e.g. integrated_circuits.
    #[arg(long, value_parser = parse_industry)]
    industry: Option<i32>,
    /// Only this city (member code).
    #[arg(long)]
    city: Option<String>,
    /// Only this quarter (YYYY-Qn).
    #[arg(long)]
    period: Option<String>,
    /// Only this occupation code (M-mm-nn-dd).
    #[arg(long)]
    occupation: Option<String>,
    #[command(flatten)]
    time: TimeArgs,
}

/// `query demand-trend`
#[derive(Debug, Args)]
pub struct TrendArgs {
    /// The industry, e.g. integrated_circuits.
    #[arg(long, value_parser = parse_industry)]
    industry: i32,
    /// Only this city; default the whole alliance.
    #[arg(long)]
    city: Option<String>,
    /// How many recent periods to show and fit (2..=20; default 4).
    #[arg(long)]
    periods: Option<u32>,
    #[command(flatten)]
    time: TimeArgs,
}

/// `query shortage-alerts` and `query joint-report`
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// The quarter (YYYY-Qn).
    #[arg(long)]
    period: String,
    #[command(flatten)]
    time: TimeArgs,
}

fn city_or_alliance(city: &str) -> String {
    if city.is_empty() {
        "alliance".to_owned()
    } else {
        city.to_owned()
    }
}

/// Asks DemandSummary.
pub async fn summary(conn: &Connection, a: &SummaryArgs, format: Format) -> Result<()> {
    let req = pb::DemandSummaryRequest {
        time: Some(a.time.to_proto()),
        group_by: a.group_by,
        filter: Some(pb::DemandFilter {
            industry: a.industry.unwrap_or(0),
            city: a.city.clone().unwrap_or_default(),
            period: a.period.clone().unwrap_or_default(),
            occupation_code: a.occupation.clone().unwrap_or_default(),
        }),
    };
    let resp = conn
        .query()
        .demand_summary(req)
        .await
        .map_err(|s| CliError::status("query demand-summary", &s))?
        .into_inner();
    let group_by = group_by_name(a.group_by);
    if format == Format::Json {
        let groups: Vec<Value> = resp
            .groups
            .iter()
            .map(|g| {
                json!({
                    "key": g.key,
                    "open_headcount": g.open_headcount,
                    "open_signals": g.open_signals,
                    "filled": g.filled,
                })
            })
            .collect();
        print_json(&json!({
            "group_by": group_by,
            "groups": groups,
            "total_open_headcount": resp.total_open_headcount,
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    let mut t = Table::new([
        &group_by.to_ascii_uppercase(),
        "OPEN HEADCOUNT",
        "OPEN SIGNALS",
        "FILLED",
    ]);
    for g in &resp.groups {
        t.row(vec![
            g.key.clone(),
            g.open_headcount.to_string(),
            g.open_signals.to_string(),
            g.filled.to_string(),
        ]);
    }
    t.row(vec!["total".into(), resp.total_open_headcount.to_string()]);
    print!("{t}");
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

/// Asks DemandTrend.
pub async fn trend(conn: &Connection, a: &TrendArgs, format: Format) -> Result<()> {
    let req = pb::DemandTrendRequest {
        time: Some(a.time.to_proto()),
        industry: a.industry,
        city: a.city.clone().unwrap_or_default(),
        periods: a.periods.unwrap_or(0),
    };
    let resp = conn
        .query()
        .demand_trend(req)
        .await
        .map_err(|s| CliError::status("query demand-trend", &s))?
        .into_inner();
    if format == Format::Json {
        let points: Vec<Value> = resp
            .points
            .iter()
            .map(|p| json!({"period": p.period, "demanded": p.demanded}))
            .collect();
        print_json(&json!({
            "industry": industry_name(a.industry),
            "city": a.city.clone().unwrap_or_default(),
            "points": points,
            "forecast_period": resp.forecast_period,
            "forecast": resp.forecast,
            "slope": resp.slope,
            "method": resp.method,
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    println!(
        "{} demand, {}",
        industry_name(a.industry),
        city_or_alliance(a.city.as_deref().unwrap_or(""))
    );
    let mut t = Table::new(["PERIOD", "DEMANDED"]);
    for p in &resp.points {
        t.row(vec![p.period.clone(), p.demanded.to_string()]);
    }
    t.row(vec![
        format!("{} (forecast)", resp.forecast_period),
        format!("{:.1}", resp.forecast),
    ]);
    print!("{t}");
    println!(
        "slope {:+.1} per quarter; {}",
        resp.slope,
        or_dash(&resp.method)
    );
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

/// Asks ShortageAlerts.
pub async fn shortage_alerts(conn: &Connection, a: &PeriodArgs, format: Format) -> Result<()> {
    let req = pb::ShortageAlertsRequest {
        time: Some(a.time.to_proto()),
        period: a.period.clone(),
    };
    let resp = conn
        .query()
        .shortage_alerts(req)
        .await
        .map_err(|s| CliError::status("query shortage-alerts", &s))?
        .into_inner();
    if format == Format::Json {
        let alerts: Vec<Value> = resp
            .alerts
            .iter()
            .map(|x| {
                json!({
                    "industry": industry_name(x.industry),
                    "city": x.city,
                    "demanded": x.demanded,
                    "previous": x.previous,
                    "growth": x.growth,
                    "forecast": x.forecast,
                    "reasons": x.reasons,
                })
            })
            .collect();
        print_json(&json!({
            "period": a.period,
            "alerts": alerts,
            "growth_threshold": resp.growth_threshold,
            "forecast_growth_threshold": resp.forecast_growth_threshold,
            "min_headcount": resp.min_headcount,
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    if resp.alerts.is_empty() {
        println!("no shortage alerts for {}", a.period);
    } else {
        let mut t = Table::new([
            "INDUSTRY", "CITY", "DEMANDED", "PREVIOUS", "GROWTH", "FORECAST", "REASONS",
        ]);
        for x in &resp.alerts {
            t.row(vec![
                industry_name(x.industry),
                city_or_alliance(&x.city),
                x.demanded.to_string(),
                x.previous.to_string(),
                format!("{:+.1}%", x.growth * 100.0),
                format!("{:.1}", x.forecast),
                x.reasons.join(","),
            ]);
        }
        print!("{t}");
    }
    println!(
        "thresholds: growth {:.0}%, forecast growth {:.0}%, at least {} people",
        resp.growth_threshold * 100.0,
        resp.forecast_growth_threshold * 100.0,
        resp.min_headcount
    );
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

fn report_row_json(r: &pb::JointReportRow) -> Value {
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

/// Asks JointReport.
pub async fn joint_report(conn: &Connection, a: &PeriodArgs, format: Format) -> Result<()> {
    let req = pb::JointReportRequest {
        time: Some(a.time.to_proto()),
        period: a.period.clone(),
    };
    let resp = conn
        .query()
        .joint_report(req)
        .await
        .map_err(|s| CliError::status("query joint-report", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&json!({
            "period": resp.period,
            "rows": resp.rows.iter().map(report_row_json).collect::<Vec<_>>(),
            "totals": resp.totals.iter().map(report_row_json).collect::<Vec<_>>(),
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    println!("joint demand report for {}", resp.period);
    let mut t = Table::new([
        "INDUSTRY",
        "CITY",
        "DEMANDED",
        "OPEN",
        "FILLED",
        "SIGNALS",
        "MEDIAN PAY",
    ]);
    for r in resp.rows.iter().chain(&resp.totals) {
        t.row(vec![
            industry_name(r.industry),
            city_or_alliance(&r.city),
            r.demanded.to_string(),
            r.open_headcount.to_string(),
            r.filled.to_string(),
            r.signals.to_string(),
            format!("{}-{}", r.median_pay_min, r.median_pay_max),
        ]);
    }
    if resp.rows.is_empty() {
        println!("no demand for {}", resp.period);
    } else {
        print!("{t}");
    }
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}
