//! Talent register questions: `screen` (ScreenApplication), `whitelist status`,
//! `award list` and `register summary`.

use clap::Args;
use hub_proto::pb;
use hub_types::Date;
use serde_json::{json, Value};

use super::blacklist::{entries_table, entry_json};
use super::{parse_date, print_listing, Listing, TimeArgs};
use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    award_category_name, award_level_name, award_status_name, basis_json, basis_line,
    category_name, or_dash, parse_award_category, parse_award_level, personal_state_name,
    print_json, tier_name, verdict_name, whitelist_status_name, Format, Table,
};

/// Who a subject question is about: a subject reference, or a national ID number that the
/// node turns into one on arrival and never stores or echoes.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The subject's keyed hash (64 lowercase hex characters).
    #[arg(long)]
    pub subject_ref: Option<String>,
    /// The subject's national ID number; `-` reads it from standard input, which keeps it
    /// out of the shell history and the process list.
    #[arg(long, value_name = "ID")]
    pub national_id: Option<String>,
}

impl SubjectArgs {
    /// The two wire fields `(subject_ref, national_id)`, reading the number from standard
    /// input when it is `-`.
    pub fn wire(&self) -> Result<(String, String)> {
        let national_id = match self.national_id.as_deref() {
            Some("-") => {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
                line.trim().to_owned()
            }
            Some(id) => id.to_owned(),
            None => String::new(),
        };
        Ok((self.subject_ref.clone().unwrap_or_default(), national_id))
    }
}

/// `screen`: what an application asks for, and who applies.
#[derive(Debug, Args)]
pub struct ScreenArgs {
    #[command(flatten)]
    subject: SubjectArgs,
    /// What the application is for: talent_programme or research_project.
    #[arg(long, value_parser = parse_award_category)]
    category: i32,
    /// The granting level: national, provincial, municipal or district.
    #[arg(long, value_parser = parse_award_level)]
    level: i32,
    /// First day of the funding period applied for.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    funded_from: Date,
    /// Last day of the funding period applied for.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    funded_until: Date,
    /// The amount applied for, in CNY.
    #[arg(long, value_name = "CNY")]
    amount_cny: u64,
    #[command(flatten)]
    time: TimeArgs,
}

/// `whitelist status`
#[derive(Debug, Args)]
pub struct WhitelistStatusArgs {
    #[command(flatten)]
    subject: SubjectArgs,
    #[command(flatten)]
    time: TimeArgs,
}

/// `award list`
#[derive(Debug, Args)]
pub struct ListAwardsArgs {
    /// The granting city (member code).
    #[arg(long)]
    origin: String,
    /// Only awards of this programme (e.g. sh-pujiang).
    #[arg(long)]
    programme_code: Option<String>,
    /// Only awards of this category: talent_programme or research_project.
    #[arg(long, value_parser = parse_award_category)]
    category: Option<i32>,
    /// Only awards of this level: national, provincial, municipal or district.
    #[arg(long, value_parser = parse_award_level)]
    level: Option<i32>,
    /// Only awards funded on some day from this date on.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    funded_from: Option<Date>,
    /// Only awards funded on some day up to this date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    funded_until: Option<Date>,
    /// Fetch one page of this size (and print the next page token) instead of every page.
    #[arg(long)]
    page_size: Option<u32>,
    /// Continue from this token (with --page-size).
    #[arg(long, requires = "page_size")]
    page_token: Option<String>,
    #[command(flatten)]
    time: TimeArgs,
}

/// `register summary`
#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    time: TimeArgs,
}

/// `stream@vN#P`: an event an answer rests on.
fn event_cell(e: &pb::EventRef) -> String {
    format!("{}@v{}#{}", e.stream, e.stream_version, e.position)
}

fn event_json(e: &pb::EventRef) -> Value {
    json!({"stream": e.stream, "stream_version": e.stream_version, "position": e.position})
}

fn personal_json(raw: i32) -> Value {
    if raw == 0 {
        Value::Null
    } else {
        Value::from(personal_state_name(raw))
    }
}

fn empty_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

/// The SUBJECT cell: the masked name when the node shows it, otherwise why it does not.
fn subject_cell(personal: i32, display: &str) -> String {
    match pb::PersonalState::try_from(personal) {
        Ok(pb::PersonalState::Shown | pb::PersonalState::Unspecified) => or_dash(display),
        Ok(pb::PersonalState::KeyMissing) => "[key missing]".to_owned(),
        _ => format!("[{}]", personal_state_name(personal)),
    }
}

fn whitelist_json(e: &pb::WhitelistEntryView) -> Value {
    json!({
        "origin": e.origin,
        "entry_id": e.entry_id,
        "subject_ref": e.subject_ref,
        "subject_display": e.subject_display,
        "personal": personal_json(e.personal),
        "tier": tier_name(e.tier),
        "scheme": e.scheme,
        "valid_from": e.valid_from,
        "valid_until": e.valid_until,
        "basis_ref": e.basis_ref,
        "status": whitelist_status_name(e.status),
        "removed_at": empty_null(&e.removed_at),
        "removal_reason": empty_null(&e.removal_reason),
        "source": e.source.as_ref().map(event_json),
    })
}

fn award_json(a: &pb::AwardView) -> Value {
    json!({
        "origin": a.origin,
        "award_id": a.award_id,
        "subject_ref": a.subject_ref,
        "subject_display": a.subject_display,
        "personal": personal_json(a.personal),
        "programme_code": a.programme_code,
        "category": award_category_name(a.category),
        "level": award_level_name(a.level),
        "project_title": a.project_title,
        "amount_cny": a.amount_cny,
        "funded_from": a.funded_from,
        "funded_until": a.funded_until,
        "decision_ref": a.decision_ref,
        "status": award_status_name(a.status),
        "amendments": a.amendments,
        "ended_at": empty_null(&a.ended_at),
        "end_reason": empty_null(&a.end_reason),
        "source": a.source.as_ref().map(event_json),
    })
}

fn whitelist_table(entries: &[pb::WhitelistEntryView]) -> Table {
    let mut t = Table::new([
        "ORIGIN", "ENTRY", "SUBJECT", "TIER", "SCHEME", "STATUS", "FROM", "UNTIL", "BASIS",
    ]);
    for e in entries {
        let status = whitelist_status_name(e.status);
        t.row(vec![
            e.origin.clone(),
            e.entry_id.clone(),
            subject_cell(e.personal, &e.subject_display),
            tier_name(e.tier),
            e.scheme.clone(),
            if e.removed_at.is_empty() {
                status
            } else {
                format!("{status} (from {})", e.removed_at)
            },
            e.valid_from.clone(),
            e.valid_until.clone(),
            e.basis_ref.clone(),
        ]);
    }
    t
}

fn awards_table(awards: &[pb::AwardView]) -> Table {
    let mut t = Table::new([
        "ORIGIN",
        "AWARD",
        "SUBJECT",
        "PROGRAMME",
        "CATEGORY",
        "LEVEL",
        "CNY",
        "FROM",
        "UNTIL",
        "STATUS",
    ]);
    for a in awards {
        let status = award_status_name(a.status);
        t.row(vec![
            a.origin.clone(),
            a.award_id.clone(),
            subject_cell(a.personal, &a.subject_display),
            a.programme_code.clone(),
            award_category_name(a.category),
            award_level_name(a.level),
            a.amount_cny.to_string(),
            a.funded_from.clone(),
            a.funded_until.clone(),
            match (a.ended_at.is_empty(), a.amendments) {
                (false, _) => format!("{status} (from {})", a.ended_at),
                (true, 0) => status,
                (true, n) => format!("{status} (amended {n}x)"),
            },
        ]);
    }
    t
}

fn rules_json(r: Option<&pb::ScreeningRules>) -> Value {
    match r {
        Some(r) => json!({
            "same_category_and_level": r.same_category_and_level,
            "same_category": r.same_category,
            "amount_cap_cny": r.amount_cap_cny,
            "barring_categories": r.barring_categories.iter().map(|c| category_name(*c)).collect::<Vec<_>>(),
        }),
        None => Value::Null,
    }
}

/// The rules in one line: what conflicts and what bars.
fn rules_line(r: Option<&pb::ScreeningRules>) -> String {
    let Some(r) = r else {
        return "rules: (not given)".to_owned();
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let cap = if r.amount_cap_cny == 0 {
        "none".to_owned()
    } else {
        format!("{} CNY", r.amount_cap_cny)
    };
    let barring = if r.barring_categories.is_empty() {
        "every category".to_owned()
    } else {
        r.barring_categories
            .iter()
            .map(|c| category_name(*c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "rules: same category and level conflicts: {}; same category conflicts: {}; \
         amount cap: {cap}; barred by: {barring}",
        yes_no(r.same_category_and_level),
        yes_no(r.same_category)
    )
}

/// The screening answer as JSON.
pub fn screen_json(resp: &pb::ScreenApplicationResponse) -> Value {
    json!({
        "verdict": verdict_name(resp.verdict),
        "reasons": resp.reasons.iter().map(|r| json!({
            "rule": r.rule,
            "explanation": r.explanation,
            "events": r.events.iter().map(event_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "barring": resp.barring.iter().map(entry_json).collect::<Vec<_>>(),
        "overlapping": resp.overlapping.iter().map(award_json).collect::<Vec<_>>(),
        "fast_track": resp.fast_track.iter().map(whitelist_json).collect::<Vec<_>>(),
        "rules": rules_json(resp.rules.as_ref()),
        "truncated": resp.truncated,
        "basis": basis_json(resp.basis.as_ref()),
    })
}

/// The screening answer for people: the verdict, every reason with its events, what was
/// found, and the rules applied.
pub fn screen_text(resp: &pb::ScreenApplicationResponse) -> String {
    let mut out = format!("verdict: {}\n", verdict_name(resp.verdict));
    if resp.reasons.is_empty() {
        out.push_str("no reasons: nothing bars, conflicts or fast-tracks\n");
    } else {
        let mut t = Table::new(["RULE", "EVENTS", "EXPLANATION"]);
        for r in &resp.reasons {
            t.row(vec![
                r.rule.clone(),
                or_dash(
                    &r.events
                        .iter()
                        .map(event_cell)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                r.explanation.clone(),
            ]);
        }
        out.push_str(&t.to_string());
    }
    if !resp.barring.is_empty() {
        out.push_str("\nbarring blacklist entries:\n");
        out.push_str(&entries_table(&resp.barring).to_string());
    }
    if !resp.overlapping.is_empty() {
        out.push_str("\noverlapping awards:\n");
        out.push_str(&awards_table(&resp.overlapping).to_string());
    }
    if !resp.fast_track.is_empty() {
        out.push_str("\nwhite-list entries in force (fast track):\n");
        out.push_str(&whitelist_table(&resp.fast_track).to_string());
    }
    if resp.truncated {
        out.push_str(
            "\nmore reasons or items were left out to fit the message limit; \
             the verdict covers them all\n",
        );
    }
    out.push('\n');
    out.push_str(&rules_line(resp.rules.as_ref()));
    out.push('\n');
    out.push_str(&basis_line(resp.basis.as_ref()));
    out.push('\n');
    out
}

/// Asks ScreenApplication.
pub async fn screen(conn: &Connection, a: &ScreenArgs, format: Format) -> Result<()> {
    let (subject_ref, national_id) = a.subject.wire()?;
    let req = pb::ScreenApplicationRequest {
        time: Some(a.time.to_proto()),
        subject_ref,
        national_id,
        category: a.category,
        level: a.level,
        funded_from: a.funded_from.to_string(),
        funded_until: a.funded_until.to_string(),
        amount_cny: a.amount_cny,
    };
    let resp = conn
        .query()
        .screen_application(req)
        .await
        .map_err(|s| CliError::status("screen", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&screen_json(&resp));
    } else {
        print!("{}", screen_text(&resp));
    }
    Ok(())
}

/// Asks WhitelistStatus.
pub async fn whitelist_status(
    conn: &Connection,
    a: &WhitelistStatusArgs,
    format: Format,
) -> Result<()> {
    let (subject_ref, national_id) = a.subject.wire()?;
    let req = pb::WhitelistStatusRequest {
        time: Some(a.time.to_proto()),
        subject_ref,
        national_id,
    };
    let resp = conn
        .query()
        .whitelist_status(req)
        .await
        .map_err(|s| CliError::status("whitelist status", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&json!({
            "any_active": resp.any_active,
            "entries": resp.entries.iter().map(whitelist_json).collect::<Vec<_>>(),
            "truncated": resp.truncated,
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    if resp.entries.is_empty() {
        println!("no city white-lists this subject");
    } else {
        print!("{}", whitelist_table(&resp.entries));
    }
    if resp.truncated {
        println!("more entries were left out to fit the message limit");
    }
    println!("any active: {}", if resp.any_active { "yes" } else { "no" });
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

/// Asks ListAwards, following the pages unless one page was asked for.
pub async fn list_awards(conn: &Connection, a: &ListAwardsArgs, format: Format) -> Result<()> {
    let client = conn.query();
    let req = pb::ListAwardsRequest {
        time: Some(a.time.to_proto()),
        origin: a.origin.clone(),
        programme_code: a.programme_code.clone().unwrap_or_default(),
        category: a.category.unwrap_or(0),
        level: a.level.unwrap_or(0),
        funded_from: a.funded_from.map(|d| d.to_string()).unwrap_or_default(),
        funded_until: a.funded_until.map(|d| d.to_string()).unwrap_or_default(),
        page_size: a.page_size.unwrap_or(0),
        page_token: a.page_token.clone().unwrap_or_default(),
    };
    let listing = Listing {
        command: "award list",
        noun: "awards",
        origin: Some(&a.origin),
        none: format!("no awards of {} match", a.origin),
        json: award_json,
        table: awards_table,
    };
    let call = |r: pb::ListAwardsRequest| {
        let mut client = client.clone();
        async move { client.list_awards(r).await }
    };
    print_listing(req, a.page_size.is_some(), call, listing, format).await
}

/// The summary's tables: awards by city, level and year, then white-list entries by city
/// and tier.
pub fn summary_text(resp: &pb::RegisterSummaryResponse) -> String {
    let mut out = String::new();
    if resp.awards.is_empty() {
        out.push_str("no awards\n");
    } else {
        let mut t = Table::new(["ORIGIN", "LEVEL", "YEAR", "AWARDS", "CNY"]);
        for a in &resp.awards {
            t.row(vec![
                a.origin.clone(),
                award_level_name(a.level),
                a.year.to_string(),
                a.awards.to_string(),
                a.amount_cny.to_string(),
            ]);
        }
        out.push_str(&t.to_string());
    }
    let awards: u64 = resp.awards.iter().map(|a| a.awards).sum();
    let amount: u64 = resp.awards.iter().map(|a| a.amount_cny).sum();
    out.push_str(&format!(
        "{awards} awards, {amount} CNY (withdrawn and clawed-back awards left out)\n\n"
    ));
    if resp.whitelist.is_empty() {
        out.push_str("no white-list entries in force\n");
    } else {
        let mut t = Table::new(["ORIGIN", "TIER", "ENTRIES"]);
        for w in &resp.whitelist {
            t.row(vec![
                w.origin.clone(),
                tier_name(w.tier),
                w.entries.to_string(),
            ]);
        }
        out.push_str(&t.to_string());
    }
    let entries: u64 = resp.whitelist.iter().map(|w| w.entries).sum();
    out.push_str(&format!("{entries} white-list entries in force\n"));
    out.push_str(&basis_line(resp.basis.as_ref()));
    out.push('\n');
    out
}

/// Asks RegisterSummary.
pub async fn summary(conn: &Connection, a: &SummaryArgs, format: Format) -> Result<()> {
    let resp = conn
        .query()
        .register_summary(pb::RegisterSummaryRequest {
            time: Some(a.time.to_proto()),
        })
        .await
        .map_err(|s| CliError::status("register summary", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&json!({
            "awards": resp.awards.iter().map(|a| json!({
                "origin": a.origin,
                "level": award_level_name(a.level),
                "year": a.year,
                "awards": a.awards,
                "amount_cny": a.amount_cny,
            })).collect::<Vec<_>>(),
            "whitelist": resp.whitelist.iter().map(|w| json!({
                "origin": w.origin,
                "tier": tier_name(w.tier),
                "entries": w.entries,
            })).collect::<Vec<_>>(),
            "basis": basis_json(resp.basis.as_ref()),
        }));
    } else {
        print!("{}", summary_text(&resp));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn award(status: pb::AwardStatus) -> pb::AwardView {
        pb::AwardView {
            origin: "310000".into(),
            award_id: "sh-pj-2025-0231".into(),
            subject_display: "周*".into(),
            personal: pb::PersonalState::Shown as i32,
            programme_code: "sh-pujiang".into(),
            category: pb::AwardCategory::TalentProgramme as i32,
            level: pb::AwardLevel::Municipal as i32,
            amount_cny: 500_000,
            funded_from: "2025-07-01".into(),
            funded_until: "2027-06-30".into(),
            status: status as i32,
            source: Some(pb::EventRef {
                stream: "award/310000/sh-pj-2025-0231".into(),
                stream_version: 1,
                position: 68,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_screening_shows_the_verdict_reasons_events_and_rules() {
        let resp = pb::ScreenApplicationResponse {
            verdict: pb::Verdict::Conflict as i32,
            reasons: vec![pb::ScreeningReason {
                rule: "same_category_and_level".into(),
                explanation: "310000 award sh-pj-2025-0231 overlaps".into(),
                events: award(pb::AwardStatus::Active).source.into_iter().collect(),
            }],
            overlapping: vec![award(pb::AwardStatus::Active)],
            rules: Some(pb::ScreeningRules {
                same_category_and_level: true,
                same_category: false,
                amount_cap_cny: 5_000_000,
                barring_categories: vec![],
            }),
            ..Default::default()
        };
        let text = screen_text(&resp);
        assert!(text.starts_with("verdict: conflict\n"), "{text}");
        assert!(
            text.contains("same_category_and_level  award/310000/sh-pj-2025-0231@v1#68"),
            "{text}"
        );
        assert!(text.contains("amount cap: 5000000 CNY"), "{text}");
        assert!(text.contains("barred by: every category"), "{text}");
        assert!(text.contains("周*"), "{text}");
        let json = screen_json(&resp);
        assert_eq!(json["verdict"], "conflict");
        assert_eq!(json["reasons"][0]["events"][0]["position"], 68);
        assert_eq!(json["overlapping"][0]["level"], "municipal");
        assert_eq!(json["rules"]["amount_cap_cny"], 5_000_000);
        assert_eq!(json["truncated"], false);
        assert!(!text.contains("left out"), "{text}");
    }

    #[test]
    fn a_cut_screening_says_so() {
        let resp = pb::ScreenApplicationResponse {
            verdict: pb::Verdict::Conflict as i32,
            truncated: true,
            ..Default::default()
        };
        let text = screen_text(&resp);
        assert!(text.contains("left out to fit the message limit"), "{text}");
        assert_eq!(screen_json(&resp)["truncated"], true);
    }

    #[test]
    fn an_award_row_says_how_it_ended_or_how_often_it_was_amended() {
        let mut ended = award(pb::AwardStatus::ClawedBack);
        ended.ended_at = "2025-03-01".into();
        let mut amended = award(pb::AwardStatus::Active);
        amended.amendments = 1;
        let mut erased = award(pb::AwardStatus::Erased);
        erased.personal = pb::PersonalState::Erased as i32;
        let text = awards_table(&[ended, amended, erased]).to_string();
        assert!(text.contains("clawed_back (from 2025-03-01)"), "{text}");
        assert!(text.contains("active (amended 1x)"), "{text}");
        assert!(text.contains("[erased]"), "{text}");
    }
}
