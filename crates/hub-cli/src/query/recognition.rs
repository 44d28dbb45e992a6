//! Recognition questions: is-recognized, list-recognitions, matrix.

use clap::Args;
use hub_proto::pb;
use serde_json::{json, Value};

use super::{print_listing, Listing, TimeArgs};
use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    basis_json, basis_line, credential_kind_name, or_dash, parse_credential_kind, print_json,
    Format, Table,
};

/// `query is-recognized`
#[derive(Debug, Args)]
pub struct IsRecognizedArgs {
    /// The recognising city (member code).
    #[arg(long)]
    recognizer: String,
    /// The city that issued the credential.
    #[arg(long)]
    issuer: String,
    /// professional_title, skill_level, talent_tier or licence.
    #[arg(long, value_parser = parse_credential_kind)]
    kind: i32,
    /// Series, occupation code, scheme or licence, e.g. `engineering`.
    #[arg(long)]
    code: String,
    /// Level within the kind, e.g. `senior_deputy`, `2`, `B` (empty for a licence).
    #[arg(long, default_value = "")]
    level: String,
    #[command(flatten)]
    time: TimeArgs,
}

/// `query list-recognitions`
#[derive(Debug, Args)]
pub struct ListRecognitionsArgs {
    /// Only this recognising city.
    #[arg(long)]
    recognizer: Option<String>,
    /// Only rules covering this issuing city (rules for `*` cover every issuer).
    #[arg(long)]
    issuer: Option<String>,
    /// Include rules not in force on the date.
    #[arg(long)]
    all: bool,
    /// Fetch one page of this size (and print the next page token) instead of every page.
    #[arg(long)]
    page_size: Option<u32>,
    /// Continue from this token (with --page-size).
    #[arg(long, requires = "page_size")]
    page_token: Option<String>,
    #[command(flatten)]
    time: TimeArgs,
}

/// `query matrix`
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Only this credential kind.
    #[arg(long, value_parser = parse_credential_kind)]
    kind: Option<i32>,
    #[command(flatten)]
    time: TimeArgs,
}

fn credential_parts(c: Option<&pb::Credential>) -> (String, String, String) {
    c.map(|c| {
        (
            credential_kind_name(c.kind),
            c.code.clone(),
            c.level.clone(),
        )
    })
    .unwrap_or_default()
}

fn rule_json(r: &pb::RecognitionRule) -> Value {
    let (kind, code, level) = credential_parts(r.credential.as_ref());
    json!({
        "recognizer": r.recognizer,
        "rule_id": r.rule_id,
        "credential": {"kind": kind, "code": code, "level": level},
        "issuer": r.issuer,
        "local_equivalent": r.local_equivalent,
        "conditions": r.conditions,
        "effective_from": r.effective_from,
        "effective_until": r.effective_until,
        "withdrawn_at": r.withdrawn_at,
        "withdrawn_reason": r.withdrawn_reason,
        "in_force": r.in_force,
    })
}

fn rule_status(r: &pb::RecognitionRule) -> String {
    match (r.in_force, r.withdrawn_at.is_empty()) {
        (true, _) => "in_force".to_owned(),
        (false, false) => format!("withdrawn {}", r.withdrawn_at),
        (false, true) => "not_in_force".to_owned(),
    }
}

fn rules_table(rules: &[pb::RecognitionRule]) -> Table {
    let mut t = Table::new([
        "RECOGNIZER",
        "RULE",
        "KIND",
        "CODE",
        "LEVEL",
        "ISSUER",
        "LOCAL EQUIVALENT",
        "FROM",
        "UNTIL",
        "STATUS",
        "CONDITIONS",
    ]);
    for r in rules {
        let (kind, code, level) = credential_parts(r.credential.as_ref());
        t.row(vec![
            r.recognizer.clone(),
            r.rule_id.clone(),
            kind,
            code,
            or_dash(&level),
            r.issuer.clone(),
            r.local_equivalent.clone(),
            r.effective_from.clone(),
            or_dash(&r.effective_until),
            rule_status(r),
            or_dash(&r.conditions),
        ]);
    }
    t
}

/// Asks IsRecognized.
pub async fn is_recognized(conn: &Connection, a: &IsRecognizedArgs, format: Format) -> Result<()> {
    let req = pb::IsRecognizedRequest {
        time: Some(a.time.to_proto()),
        recognizer: a.recognizer.clone(),
        credential: Some(pb::Credential {
            kind: a.kind,
            code: a.code.clone(),
            level: a.level.clone(),
        }),
        issuer: a.issuer.clone(),
    };
    let resp = conn
        .query()
        .is_recognized(req)
        .await
        .map_err(|s| CliError::status("query is-recognized", &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&json!({
            "recognized": resp.recognized,
            "matching_rules": resp.matching_rules.iter().map(rule_json).collect::<Vec<_>>(),
            "basis": basis_json(resp.basis.as_ref()),
        }));
        return Ok(());
    }
    let credential = format!(
        "{} {}{}",
        credential_kind_name(a.kind),
        a.code,
        if a.level.is_empty() {
            String::new()
        } else {
            format!("/{}", a.level)
        }
    );
    if resp.recognized {
        let best = resp
            .matching_rules
            .first()
            .map(|r| format!(" as {} (rule {})", r.local_equivalent, r.rule_id))
            .unwrap_or_default();
        println!(
            "recognized: yes — {} recognises {credential} issued by {}{best}",
            a.recognizer, a.issuer
        );
        print!("{}", rules_table(&resp.matching_rules));
    } else {
        println!(
            "recognized: no — {} does not recognise {credential} issued by {}",
            a.recognizer, a.issuer
        );
    }
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}

/// Asks ListRecognitions, following the pages unless one page was asked for.
pub async fn list(conn: &Connection, a: &ListRecognitionsArgs, format: Format) -> Result<()> {
    let client = conn.query();
    let req = pb::ListRecognitionsRequest {
        time: Some(a.time.to_proto()),
        recognizer: a.recognizer.clone().unwrap_or_default(),
        issuer: a.issuer.clone().unwrap_or_default(),
        include_inactive: a.all,
        page_size: a.page_size.unwrap_or(0),
        page_token: a.page_token.clone().unwrap_or_default(),
    };
    let listing = Listing {
        command: "query list-recognitions",
        noun: "rules",
        origin: None,
        none: "no recognition rules match".to_owned(),
        json: rule_json,
        table: rules_table,
    };
    let call = |r: pb::ListRecognitionsRequest| {
        let mut client = client.clone();
        async move { client.list_recognitions(r).await }
    };
    print_listing(req, a.page_size.is_some(), call, listing, format).await
}

/// Asks RecognitionMatrix.
pub async fn matrix(conn: &Connection, a: &MatrixArgs, format: Format) -> Result<()> {
    let req = pb::RecognitionMatrixRequest {
        time: Some(a.time.to_proto()),
        kind: a.kind.unwrap_or(0),
    };
    let resp = conn
        .query()
        .recognition_matrix(req)
        .await
        .map_err(|s| CliError::status("query matrix", &s))?
        .into_inner();
    if format == Format::Json {
        let cells: Vec<Value> = resp
            .cells
            .iter()
            .map(|c| {
                json!({
                    "recognizer": c.recognizer,
                    "issuer": c.issuer,
                    "recognized": c.recognized,
                    "mutual": c.mutual,
                })
            })
            .collect();
        print_json(&json!({"cells": cells, "basis": basis_json(resp.basis.as_ref())}));
        return Ok(());
    }
    let mut t = Table::new(["RECOGNIZER", "ISSUER", "RECOGNIZED", "MUTUAL"]);
    for c in &resp.cells {
        t.row(vec![
            c.recognizer.clone(),
            c.issuer.clone(),
            c.recognized.to_string(),
            if c.mutual { "mutual" } else { "-" }.to_owned(),
        ]);
    }
    if t.is_empty() {
        println!("no city recognises another's credentials");
    } else {
        print!("{t}");
    }
    println!("{}", basis_line(resp.basis.as_ref()));
    Ok(())
}
