//! `hubctl query …`: one subcommand per `talenthub.v1.Query` question, each answered on
//! both time axes (`--on-date` valid time; `--at-position` / `--as-of` record time).

mod blacklist;
mod demand;
mod info;
mod recognition;
mod register;

use std::future::Future;

use clap::{Args, Subcommand};
use hub_proto::convert::timestamp_to_proto;
use hub_proto::pb;
use hub_types::{Date, Timestamp};
use serde_json::Value;

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{basis_json, basis_line, print_json, Format, Table};

pub use info::{info, print_replication, replication_json, view_info, InfoArgs};
pub use register::{
    list_awards, screen, summary, whitelist_status, ListAwardsArgs, ScreenArgs, SubjectArgs,
    SummaryArgs, WhitelistStatusArgs,
};

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

/// A list request that pages with a token.
pub(crate) trait PagedRequest: Clone {
    /// The token of the page to ask for.
    fn page_token(&mut self) -> &mut String;
    /// The question's time axes.
    fn time(&mut self) -> &mut Option<pb::TimeAxes>;
}

/// One page of a list answer.
pub(crate) trait PagedResponse {
    /// What the list holds.
    type Item;
    /// The page's items, its answer basis and the next page's token ("" on the last).
    fn into_parts(self) -> (Vec<Self::Item>, Option<pb::AnswerBasis>, String);
}

macro_rules! paged {
    ($req:ty, $resp:ty, $items:ident, $item:ty) => {
        impl PagedRequest for $req {
            fn page_token(&mut self) -> &mut String {
                &mut self.page_token
            }
            fn time(&mut self) -> &mut Option<pb::TimeAxes> {
                &mut self.time
            }
        }
        impl PagedResponse for $resp {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, Option<pb::AnswerBasis>, String) {
                (self.$items, self.basis, self.next_page_token)
            }
        }
    };
}
paged!(
    pb::ListEntriesRequest,
    pb::ListEntriesResponse,
    entries,
    pb::BlacklistEntryView
);
paged!(
    pb::ListAwardsRequest,
    pb::ListAwardsResponse,
    awards,
    pb::AwardView
);
paged!(
    pb::ListRecognitionsRequest,
    pb::ListRecognitionsResponse,
    rules,
    pb::RecognitionRule
);

/// Asks `call` for `req`, following the pages unless `one_page`; returns every item, the
/// first page's answer basis and the token after the last page fetched. Later pages are
/// pinned to the first page's basis: page tokens name the last key only, so without this
/// a list could mix two states of the view. A refusal is reported as an error of `what`.
async fn collect_pages<Req, Resp, Fut>(
    mut req: Req,
    one_page: bool,
    what: &str,
    mut call: impl FnMut(Req) -> Fut,
) -> Result<(Vec<Resp::Item>, Option<pb::AnswerBasis>, String)>
where
    Req: PagedRequest,
    Resp: PagedResponse,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let mut all = Vec::new();
    loop {
        let (items, basis, next) = call(req.clone())
            .await
            .map_err(|s| CliError::status(what, &s))?
            .into_inner()
            .into_parts();
        all.extend(items);
        if one_page || next.is_empty() {
            return Ok((all, basis, next));
        }
        *req.page_token() = next;
        pin(req.time(), basis.as_ref());
    }
}

/// How a listing command prints what it fetched.
pub(crate) struct Listing<'a, T> {
    /// The command, as errors name it (`query list-entries`).
    pub(crate) command: &'static str,
    /// What the items are called: the JSON key of the list and the word after the count.
    pub(crate) noun: &'static str,
    /// The city the list is of, echoed first in JSON; `None` when the list spans cities.
    pub(crate) origin: Option<&'a str>,
    /// The line printed instead of a table when nothing matches.
    pub(crate) none: String,
    /// One item as JSON.
    pub(crate) json: fn(&T) -> Value,
    /// The items as a table.
    pub(crate) table: fn(&[T]) -> Table,
}

/// Asks a listing with `call`, following the pages unless `one_page`, and prints it: one
/// JSON document, or a table (or the `none` line), the count with the answer basis, and
/// the token of the next page if one was left.
pub(crate) async fn print_listing<Req, Resp, Fut>(
    req: Req,
    one_page: bool,
    call: impl FnMut(Req) -> Fut,
    listing: Listing<'_, Resp::Item>,
    format: Format,
) -> Result<()>
where
    Req: PagedRequest,
    Resp: PagedResponse,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let (items, basis, next) = collect_pages(req, one_page, listing.command, call).await?;
    if format == Format::Json {
        let mut doc = serde_json::Map::new();
        if let Some(origin) = listing.origin {
            doc.insert("origin".into(), origin.into());
        }
        doc.insert(
            listing.noun.into(),
            items.iter().map(listing.json).collect(),
        );
        doc.insert("next_page_token".into(), next.into());
        doc.insert("basis".into(), basis_json(basis.as_ref()));
        print_json(&Value::Object(doc));
        return Ok(());
    }
    if items.is_empty() {
        println!("{}", listing.none);
    } else {
        print!("{}", (listing.table)(&items));
    }
    println!(
        "{} {} {}",
        items.len(),
        listing.noun,
        basis_line(basis.as_ref())
    );
    if !next.is_empty() {
        println!("next page: --page-token {next}");
    }
    Ok(())
}

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

pub(crate) fn parse_date(s: &str) -> Result<Date, String> {
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
