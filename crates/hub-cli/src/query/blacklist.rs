//! Blacklist questions: check-subject, list-entries.

use clap::Args;
use hub_proto::pb;
use serde_json::{json, Value};

use super::{print_listing, Listing, TimeArgs};
use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    basis_json, basis_line, category_name, entry_status_name, erasure_reason_name, or_dash,
    parse_entry_status, personal_state_name, print_json, revoke_reason_name, Format, Table,
};

/// `query check-subject`: by subject reference, or by national ID number, which the
/// server hashes on arrival and never stores or echoes.
#[derive(Debug, Args)]
#[group(id = "subject", required = true, multiple = false, args = ["subject_ref", "national_id"])]
pub struct CheckSubjectArgs {
    /// The subject's keyed hash (64 lowercase hex characters).
    #[arg(long)]
    subject_ref: Option<String>,
    /// The subject's national ID number; `-` reads it from standard input, which keeps it
    /// out of the shell history and the process list.
    #[arg(long, value_name = "ID")]
    national_id: Option<String>,
    #[command(flatten)]
    time: TimeArgs,
}

/// `query list-entries`
#[derive(Debug, Args)]
pub struct ListEntriesArgs {
    /// The deciding city (member code).
    #[arg(long)]
    origin: String,
    /// Only entries with this status on the date: pending, active, suspended, expired,
    /// revoked or erased.
    #[arg(long, value_parser = parse_entry_status)]
    status: Option<i32>,
    /// Fetch one page of this size (and print the next page token) instead of every page.
    #[arg(long)]
    page_size: Option<u32>,
    /// Continue from this token (with --page-size).
    #[arg(long, requires = "page_size")]
    page_token: Option<String>,
    #[command(flatten)]
    time: TimeArgs,
}

/// A wire enum's name, or null when unset.
fn name_or_null(raw: i32, name: fn(i32) -> String) -> Value {
    if raw == 0 {
        Value::Null
    } else {
        Value::from(name(raw))
    }
}

pub(super) fn entry_json(e: &pb::BlacklistEntryView) -> Value {
    json!({
        "origin": e.origin,
        "entry_id": e.entry_id,
        "subject_ref": e.subject_ref,
        "subject_display": e.subject_display,
        "category": category_name(e.category),
        "decision_ref": e.decision_ref,
        "decided_at": e.decided_at,
        "effective_from": e.effective_from,
        "expires_at": e.expires_at,
        "measures": e.measures,
        "status": entry_status_name(e.status),
        "revoke_reason": name_or_null(e.revoke_reason, revoke_reason_name),
        "history": e.history,
        "decision_summary": e.decision_summary,
        "personal": name_or_null(e.personal, personal_state_name),
        "erasure_reason": name_or_null(e.erasure_reason, erasure_reason_name),
        "erasure_order_ref": if e.erasure_order_ref.is_empty() {
            Value::Null
        } else {
            Value::from(e.erasure_order_ref.as_str())
        },
    })
}

/// The SUBJECT cell: the masked name when the node shows it, otherwise why it does not.
fn subject_cell(e: &pb::BlacklistEntryView) -> String {
    match pb::PersonalState::try_from(e.personal) {
        Ok(pb::PersonalState::Redacted) => "[redacted]".to_owned(),
        Ok(pb::PersonalState::Erased) => "[erased]".to_owned(),
        Ok(pb::PersonalState::KeyMissing) => "[key missing]".to_owned(),
        // Unspecified: a node that predates personal states sends the name as it is.
        Ok(pb::PersonalState::Shown | pb::PersonalState::Unspecified) => e.subject_display.clone(),
        Err(_) => format!("[{}]", personal_state_name(e.personal)),
    }
}

/// The STATUS cell: the status, and why for a revoked or erased entry.
fn status_cell(e: &pb::BlacklistEntryView) -> String {
    let status = entry_status_name(e.status);
    match (e.erasure_reason, e.revoke_reason) {
        (0, 0) => status,
        (0, r) => format!("{status} ({})", revoke_reason_name(r)),
        (r, _) => format!("{status} ({})", erasure_reason_name(r)),
    }
}

pub(super) fn entries_table(entries: &[pb::BlacklistEntryView]) -> Table {
    let mut t = Table::new([
        "ORIGIN", "ENTRY", "SUBJECT", "CATEGORY", "STATUS", "FROM", "EXPIRES", "DECISION",
        "HISTORY",
    ]);
    for e in entries {
        t.row(vec![
            e.origin.clone(),
            e.entry_id.clone(),
            subject_cell(e),
            category_name(e.category),
            status_cell(e),
            e.effective_from.clone(),
            e.expires_at.clone(),
            e.decision_ref.clone(),
            or_dash(&e.history.join("; ")),
        ]);
    }
    t
}

/// Asks CheckSubject.
pub async fn check_subject(conn: &Connection, a: &CheckSubjectArgs, format: Format) -> Result<()> {
    let national_id = match a.national_id.as_deref() {
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
    let req = pb::CheckSubjectRequest {
        time: Some(a.time.to_proto()),
        subject_ref: a.subject_ref.clone().unwrap_or_default(),
        national_id,
    };
    let resp = conn
        .query()
        .check_subject(req)
        .await
        .map_err(|s| CliError::status("query check-subject", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&json!({
            "subject_ref": resp.entries.first().map(|e| e.subject_ref.as_str()).or(a.subject_ref.as_deref()),
            "any_active": resp.any_active,
            "entries": resp.entries.iter().map(entry_json).collect::<Vec<_>>(),
            "truncated": resp.truncated,
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    if resp.entries.is_empty() {
        println!("no city lists this subject");
    } else {
        print!("{}", entries_table(&resp.entries));
    }
    if resp.truncated {
        println!("more entries were left out to fit the message limit: list them per city with list-entries");
    }
    println!("any active: {}", if resp.any_active { "yes" } else { "no" });
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

/// Asks ListEntries, following the pages unless one page was asked for.
pub async fn list_entries(conn: &Connection, a: &ListEntriesArgs, format: Format) -> Result<()> {
    let client = conn.query();
    let req = pb::ListEntriesRequest {
        time: Some(a.time.to_proto()),
        origin: a.origin.clone(),
        status: a.status.unwrap_or(0),
        page_size: a.page_size.unwrap_or(0),
        page_token: a.page_token.clone().unwrap_or_default(),
    };
    let listing = Listing {
        command: "query list-entries",
        noun: "entries",
        origin: Some(&a.origin),
        none: format!("no entries of {} match", a.origin),
        json: entry_json,
        table: entries_table,
    };
    let call = |r: pb::ListEntriesRequest| {
        let mut client = client.clone();
        async move { client.list_entries(r).await }
    };
    print_listing(req, a.page_size.is_some(), call, listing, format).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(personal: pb::PersonalState) -> pb::BlacklistEntryView {
        pb::BlacklistEntryView {
            origin: "310000".into(),
            entry_id: "sh-2025-0012".into(),
            subject_ref: "f9e5".into(),
            subject_display: "张*".into(),
            decision_summary: "伪造申报材料".into(),
            category: pb::BlacklistCategory::ApplicationFraud as i32,
            status: pb::EntryStatus::Active as i32,
            personal: personal as i32,
            ..Default::default()
        }
    }

    fn erased(reason: pb::ErasureReason, order_ref: &str) -> pb::BlacklistEntryView {
        pb::BlacklistEntryView {
            subject_ref: String::new(),
            subject_display: String::new(),
            decision_summary: String::new(),
            status: pb::EntryStatus::Erased as i32,
            erasure_reason: reason as i32,
            erasure_order_ref: order_ref.into(),
            ..entry(pb::PersonalState::Erased)
        }
    }

    #[test]
    fn json_carries_the_personal_state_and_the_erasure() {
        let shown = entry_json(&entry(pb::PersonalState::Shown));
        assert_eq!(shown["subject_display"], "张*");
        assert_eq!(shown["decision_summary"], "伪造申报材料");
        assert_eq!(shown["personal"], "shown");
        assert_eq!(shown["erasure_reason"], Value::Null);
        assert_eq!(shown["erasure_order_ref"], Value::Null);
        assert_eq!(shown["revoke_reason"], Value::Null);

        let gone = entry_json(&erased(pb::ErasureReason::Order, "(2026)沪0101民初1号"));
        assert_eq!(gone["status"], "erased");
        assert_eq!(gone["personal"], "erased");
        assert_eq!(gone["decision_summary"], "");
        assert_eq!(gone["erasure_reason"], "order");
        assert_eq!(gone["erasure_order_ref"], "(2026)沪0101民初1号");

        let retention = entry_json(&erased(pb::ErasureReason::RetentionEnded, ""));
        assert_eq!(retention["erasure_reason"], "retention_ended");
        assert_eq!(retention["erasure_order_ref"], Value::Null);

        let missing = entry_json(&entry(pb::PersonalState::KeyMissing));
        assert_eq!(missing["personal"], "key_missing");
        let old = entry_json(&entry(pb::PersonalState::Unspecified));
        assert_eq!(old["personal"], Value::Null);
    }

    #[test]
    fn the_subject_column_says_why_a_name_is_not_shown() {
        let cell = |p| subject_cell(&entry(p));
        assert_eq!(cell(pb::PersonalState::Shown), "张*");
        assert_eq!(cell(pb::PersonalState::Unspecified), "张*");
        assert_eq!(cell(pb::PersonalState::Redacted), "[redacted]");
        assert_eq!(cell(pb::PersonalState::Erased), "[erased]");
        assert_eq!(cell(pb::PersonalState::KeyMissing), "[key missing]");
        let unknown = pb::BlacklistEntryView {
            personal: 9,
            ..entry(pb::PersonalState::Shown)
        };
        assert_eq!(subject_cell(&unknown), "[unknown(9)]");
    }

    #[test]
    fn the_table_shows_erased_entries_with_their_reason() {
        let table = entries_table(&[
            entry(pb::PersonalState::Shown),
            erased(pb::ErasureReason::Order, "x"),
        ])
        .to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("ORIGIN"), "{table}");
        assert!(!lines[0].contains("SUMMARY"), "{table}");
        let first: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(first[2], "张*");
        assert_eq!(first[4], "active");
        let second: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(second[2], "[erased]");
        assert_eq!(second[4..6], ["erased", "(order)"]);
        assert!(!table.contains("伪造申报材料"), "the summary is JSON only");
    }
}
