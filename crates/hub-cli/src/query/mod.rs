//! `hubctl query …`: one subcommand per `talenthub.v1.Query` question, each answered on
//! both time axes (`--on-date` valid time; `--at-position` / `--as-of` record time).

mod blacklist;
mod demand;
mod info;
mod recognition;

use clap::{Args, Subcommand};
use hub_proto::convert::timestamp_to_proto;
use hub_proto::pb;
use hub_types::{Date, Timestamp};

use crate::client::Connection;
use crate::error::Result;
use crate::output::Format;

pub use info::{info, view_info, InfoArgs};

/// The two time axes every question takes.
#[derive(Debug, Clone, Default, Args)]
pub struct TimeArgs {
    /// Valid time: what is in force on this date (YYYY-MM-DD); default today (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub on_date: Option<Date>,
    /// Record time: answer as the hub knew it at this log position.
    #[arg(long, value_name = "N", conflicts_with = "as_of")]
    pub at_position: Option<u64>,
    /// Record time: answer as the hub knew it at this instant (RFC 3339, e.g.
    /// 2026-03-01T08:00:00Z).
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_timestamp)]
    pub as_of: Option<Timestamp>,
}

impl TimeArgs {
    /// The wire form; unset axes stay at their defaults (today, newest).
    pub fn to_proto(&self) -> pb::TimeAxes {
        pb::TimeAxes {
            on_date: self.on_date.map(|d| d.to_string()).unwrap_or_default(),
            at_position: self.at_position.unwrap_or(0),
            as_of: self.as_of.map(timestamp_to_proto),
        }
    }
}

/// Pins the later pages of a list to the first page's answer basis: page tokens name the
/// last key only, so without this a list could mix two states of the view.
fn pin(time: &mut Option<pb::TimeAxes>, basis: Option<&pb::AnswerBasis>) {
    let (Some(time), Some(basis)) = (time.as_mut(), basis) else {
        return;
    };
    if time.at_position == 0 && time.as_of.is_none() {
        time.at_position = basis.position;
    }
    if time.on_date.is_empty() {
        time.on_date.clone_from(&basis.on_date);
    }
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse().map_err(|e: hub_types::ValidationError| e.reason)
}

/// Parses an RFC 3339 instant: `…Z` as `hub_types::Timestamp` reads it, or with a
/// numeric offset (`2026-03-01T16:00:00+08:00`), which is folded into UTC here.
pub fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    let offset = s
        .len()
        .checked_sub(6)
        .filter(|&at| s.contains('T') && matches!(s.as_bytes()[at], b'+' | b'-'))
        .map(|at| (&s[..at], &s[at..]));
    let Some((local, offset)) = offset else {
        return s.parse().map_err(|e: hub_types::ValidationError| e.reason);
    };
    let bad = || format!("expected an RFC 3339 time such as 2026-03-01T08:00:00Z, got {s:?}");
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (h, m) = offset[1..].split_once(':').ok_or_else(bad)?;
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    let utc: Timestamp = format!("{local}Z").parse().map_err(|_| bad())?;
    Ok(Timestamp(
        utc.micros() - sign * (h * 3600 + m * 60) * 1_000_000,
    ))
}

/// The questions.
#[derive(Debug, Subcommand)]
pub enum QueryCmd {
    /// Is a credential issued by one city recognised by another, and as what?
    IsRecognized(recognition::IsRecognizedArgs),
    /// The recognition rules of a recognising and/or for an issuing city.
    ListRecognitions(recognition::ListRecognitionsArgs),
    /// Per pair of cities: how many credentials one recognises from the other.
    Matrix(recognition::MatrixArgs),
    /// Open headcount grouped by industry, city, occupation or period.
    DemandSummary(demand::SummaryArgs),
    /// Demanded headcount per period for an industry, with a next-period forecast.
    DemandTrend(demand::TrendArgs),
    /// Industry/city pairs whose demand growth or forecast crosses the thresholds.
    ShortageAlerts(demand::PeriodArgs),
    /// The alliance-wide demand table for a period.
    JointReport(demand::PeriodArgs),
    /// Every city's blacklist entries for a subject, with their status on a date.
    CheckSubject(blacklist::CheckSubjectArgs),
    /// One city's blacklist entries, optionally by status.
    ListEntries(blacklist::ListEntriesArgs),
    /// Position, log head, origin vector, digest and counts of the view.
    Info(InfoArgs),
}

/// Asks one question and prints the answer.
pub async fn run(conn: &Connection, cmd: &QueryCmd, format: Format) -> Result<()> {
    match cmd {
        QueryCmd::IsRecognized(a) => recognition::is_recognized(conn, a, format).await,
        QueryCmd::ListRecognitions(a) => recognition::list(conn, a, format).await,
        QueryCmd::Matrix(a) => recognition::matrix(conn, a, format).await,
        QueryCmd::DemandSummary(a) => demand::summary(conn, a, format).await,
        QueryCmd::DemandTrend(a) => demand::trend(conn, a, format).await,
        QueryCmd::ShortageAlerts(a) => demand::shortage_alerts(conn, a, format).await,
        QueryCmd::JointReport(a) => demand::joint_report(conn, a, format).await,
        QueryCmd::CheckSubject(a) => blacklist::check_subject(conn, a, format).await,
        QueryCmd::ListEntries(a) => blacklist::list_entries(conn, a, format).await,
        QueryCmd::Info(a) => info(conn, a, format).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_with_an_offset_are_folded_into_utc() {
        let z = parse_timestamp("2026-03-01T08:00:00Z").expect("utc");
        let plus8 = parse_timestamp("2026-03-01T16:00:00+08:00").expect("offset");
        let minus1 = parse_timestamp("2026-03-01T07:00:00-01:00").expect("offset");
        assert_eq!(z, plus8);
        assert_eq!(z, minus1);
        assert!(parse_timestamp("2026-03-01T08:00:00").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn unset_axes_mean_today_and_newest() {
        let axes = TimeArgs::default().to_proto();
        assert_eq!(axes, pb::TimeAxes::default());
    }
}
