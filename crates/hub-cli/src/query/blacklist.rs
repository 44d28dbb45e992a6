//! Blacklist questions: check-subject, list-entries.

use clap::Args;
use hub_proto::pb;
use serde_json::{json, Value};

use super::{collect_pages, TimeArgs};
use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    basis_json, basis_line, category_name, entry_status_name, or_dash, parse_entry_status,
    print_json, revoke_reason_name, Format, Table,
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
    /// Only entries with this status on the date: pending, active, suspended, expired or
    /// revoked.
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

fn entry_json(e: &pb::BlacklistEntryView) -> Value {
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
        "revoke_reason": if e.revoke_reason == 0 {
            Value::Null
        } else {
            Value::from(revoke_reason_name(e.revoke_reason))
        },
        "history": e.history,
    })
}

fn entries_table(entries: &[pb::BlacklistEntryView]) -> Table {
    let mut t = Table::new([
        "ORIGIN", "ENTRY", "SUBJECT", "CATEGORY", "STATUS", "FROM", "EXPIRES", "DECISION",
        "HISTORY",
    ]);
    for e in entries {
        let status = match e.revoke_reason {
            0 => entry_status_name(e.status),
            r => format!(
                "{} ({})",
                entry_status_name(e.status),
                revoke_reason_name(r)
            ),
        };
        t.row(vec![
            e.origin.clone(),
            e.entry_id.clone(),
            e.subject_display.clone(),
            category_name(e.category),
            status,
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
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    if resp.entries.is_empty() {
        println!("no city lists this subject");
    } else {
        print!("{}", entries_table(&resp.entries));
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
    let (entries, basis, next) = collect_pages(req, a.page_size.is_some(), |r| {
        let mut client = client.clone();
        async move {
            client
                .list_entries(r)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| CliError::status("query list-entries", &s))
        }
    })
    .await?;
    if format == Format::Json {
        print_json(&json!({
            "origin": a.origin,
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
            "next_page_token": next,
            "basis": basis_json(basis.as_ref()),
        }));
        return Ok(());
    }
    if entries.is_empty() {
        println!("no entries of {} match", a.origin);
    } else {
        print!("{}", entries_table(&entries));
    }
    println!("{} entries {}", entries.len(), basis_line(basis.as_ref()));
    if !next.is_empty() {
        println!("next page: --page-token {next}");
    }
    Ok(())
}
