//! The talent register: `hubctl whitelist add|renew|remove|status`, `hubctl award
//! grant|amend|withdraw|list`, `hubctl screen` and `hubctl register summary`.
//!
//! Each publishing command appends one event to one entity's stream
//! (`whitelist/<member>/<entry_id>` or `award/<member>/<award_id>`), validated locally as
//! the hub validates it, so a bad value fails before anything is sent, naming the field and
//! its flag. A new entry or award names its subject by `--subject-ref`, or by
//! `--national-id`, which the node turns into the subject reference on arrival and never
//! stores. The event id (`--event-id`, a fresh UUID by default) is printed, so a retry
//! after a failure of unknown outcome can send the same id. The questions live in
//! [`crate::query`].

use clap::{Args, Subcommand};
use hub_proto::convert::{body_from_proto, expected_version_to_proto};
use hub_proto::pb::{self, event_body::Kind};
use hub_types::subject::normalise_national_id;
use hub_types::{EventId, ExpectedVersion, Family, StreamId, ValidationError};
use serde_json::{json, Value};
use tonic::{Code, Status};

use crate::client::Connection;
use crate::error::{CliError, Result};
use crate::output::{
    parse_award_category, parse_award_level, parse_award_outcome, parse_tier, print_json, Format,
};
use crate::query::{self, SubjectArgs};

/// `whitelist …`
#[derive(Debug, Subcommand)]
pub enum WhitelistCmd {
    /// Certify a high-end talent on the caller's city's white list (a new entry).
    Add(WhitelistAddArgs),
    /// Extend an entry's certification to a later last day.
    Renew(WhitelistRenewArgs),
    /// Remove an entry from a date on.
    Remove(WhitelistRemoveArgs),
    /// Every city's white-list entries for a subject, with their status on a date.
    Status(query::WhitelistStatusArgs),
}

/// `award …`
#[derive(Debug, Subcommand)]
pub enum AwardCmd {
    /// Record a new talent-programme or research-project award of the caller's city.
    Grant(AwardGrantArgs),
    /// Replace an award's title, amount and funding period under a later decision.
    Amend(AwardAmendArgs),
    /// End an award early: withdrawn, or clawed back as a sanction.
    Withdraw(AwardWithdrawArgs),
    /// One city's awards, by programme, category, level and funding period.
    List(query::ListAwardsArgs),
}

/// `register …`
#[derive(Debug, Subcommand)]
pub enum RegisterCmd {
    /// Awards and amounts by city, level and year; white-list entries in force by city and
    /// tier. No personal data.
    Summary(query::SummaryArgs),
}

/// The event id every publishing command takes.
#[derive(Debug, Clone, Args)]
pub struct EventIdArg {
    /// The event's id (a UUID); default a fresh random one. To retry a command whose
    /// outcome is unknown, pass the id printed by the first attempt.
    #[arg(long, value_name = "UUID", value_parser = parse_event_id)]
    pub event_id: Option<EventId>,
}

/// `whitelist add`
#[derive(Debug, Args)]
pub struct WhitelistAddArgs {
    /// The new entry's stream, `whitelist/<member>/<entry_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_whitelist)]
    pub entry: StreamId,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The masked display name, e.g. 周* (personal: the node seals it).
    #[arg(long, value_name = "NAME")]
    pub subject_display: String,
    /// The tier certified: a, b or c.
    #[arg(long, value_parser = parse_tier)]
    pub tier: i32,
    /// The certifying scheme, e.g. shanghai-overseas-high-end.
    #[arg(long)]
    pub scheme: String,
    /// First day in force (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub valid_from: String,
    /// Last day in force (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub valid_until: String,
    /// The certifying document's reference.
    #[arg(long, value_name = "TEXT")]
    pub basis_ref: String,
    #[command(flatten)]
    pub id: EventIdArg,
}

/// `whitelist renew`
#[derive(Debug, Args)]
pub struct WhitelistRenewArgs {
    /// The entry's stream, `whitelist/<member>/<entry_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_whitelist)]
    pub entry: StreamId,
    /// The new last day in force; must be later than the current one.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub valid_until: String,
    /// The renewing document's reference.
    #[arg(long, value_name = "TEXT")]
    pub basis_ref: String,
    #[command(flatten)]
    pub id: EventIdArg,
}

/// `whitelist remove`
#[derive(Debug, Args)]
pub struct WhitelistRemoveArgs {
    /// The entry's stream, `whitelist/<member>/<entry_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_whitelist)]
    pub entry: StreamId,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// First day the entry is no longer in force (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub effective_at: String,
    #[command(flatten)]
    pub id: EventIdArg,
}

/// The terms an award is granted or amended with.
#[derive(Debug, Clone, Args)]
pub struct AwardTerms {
    /// The project's title.
    #[arg(long, value_name = "TEXT")]
    pub project_title: String,
    /// The funding in CNY.
    #[arg(long, value_name = "CNY")]
    pub amount_cny: u64,
    /// First day funded (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub funded_from: String,
    /// Last day funded (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub funded_until: String,
    /// The decision's reference.
    #[arg(long, value_name = "TEXT")]
    pub decision_ref: String,
}

/// `award grant`
#[derive(Debug, Args)]
pub struct AwardGrantArgs {
    /// The new award's stream, `award/<member>/<award_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_award)]
    pub award: StreamId,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The masked display name, e.g. 周* (personal: the node seals it).
    #[arg(long, value_name = "NAME")]
    pub subject_display: String,
    /// The programme's code, e.g. sh-pujiang.
    #[arg(long, value_name = "CODE")]
    pub programme_code: String,
    /// talent_programme or research_project.
    #[arg(long, value_parser = parse_award_category)]
    pub category: i32,
    /// national, provincial, municipal or district.
    #[arg(long, value_parser = parse_award_level)]
    pub level: i32,
    #[command(flatten)]
    pub terms: AwardTerms,
    #[command(flatten)]
    pub id: EventIdArg,
}

/// `award amend`
#[derive(Debug, Args)]
pub struct AwardAmendArgs {
    /// The award's stream, `award/<member>/<award_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_award)]
    pub award: StreamId,
    #[command(flatten)]
    pub terms: AwardTerms,
    #[command(flatten)]
    pub id: EventIdArg,
}

/// `award withdraw`
#[derive(Debug, Args)]
pub struct AwardWithdrawArgs {
    /// The award's stream, `award/<member>/<award_id>`.
    #[arg(long, value_name = "STREAM", value_parser = parse_award)]
    pub award: StreamId,
    /// withdrawn (no further funding) or clawed_back (the funding is recovered and the
    /// award counts as never funded).
    #[arg(long, value_parser = parse_award_outcome, default_value = "withdrawn")]
    pub outcome: i32,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// First day the award is no longer in force (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub effective_at: String,
    #[command(flatten)]
    pub id: EventIdArg,
}

fn parse_event_id(s: &str) -> Result<EventId, String> {
    s.parse().map_err(|e: ValidationError| e.to_string())
}

fn parse_family(s: &str, family: Family, shape: &str) -> Result<StreamId, String> {
    let stream: StreamId = s.parse().map_err(|e: ValidationError| e.to_string())?;
    if stream.family() != family || stream.local().is_none() {
        return Err(format!(
            "expected {shape}, got the {} stream {s:?}",
            stream.family()
        ));
    }
    Ok(stream)
}

/// Parses `--entry`: a white-list entry's stream.
pub fn parse_whitelist(s: &str) -> Result<StreamId, String> {
    parse_family(s, Family::Whitelist, "whitelist/<member>/<entry_id>")
}

/// Parses `--award`: an award's stream.
pub fn parse_award(s: &str) -> Result<StreamId, String> {
    parse_family(s, Family::Award, "award/<member>/<award_id>")
}

/// One event ready to append to one entity's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The entity's stream.
    pub stream: StreamId,
    /// The event's kind, e.g. `award_granted`.
    pub kind: &'static str,
    /// The event's id: the idempotency key of a retry.
    pub event_id: EventId,
    /// The append carrying the one event.
    pub request: pb::AppendRequest,
}

/// The entity's id: the stream's last part (the parsers make sure there is one).
fn local_id(stream: &StreamId) -> String {
    stream.local().map(ToString::to_string).unwrap_or_default()
}

/// The wire subject of a new entity. A national ID number is checked here (GB 11643) and
/// sent normalised; the node turns it into the subject reference.
fn subject_fields(s: &SubjectArgs) -> Result<(String, String)> {
    let (subject_ref, national_id) = s.wire()?;
    if national_id.is_empty() {
        return Ok((subject_ref, national_id));
    }
    // The error names the field only: the number is never echoed.
    let normalised = normalise_national_id(&national_id)
        .map_err(|e| CliError::Input(format!("field national_id (--national-id): {}", e.reason)))?;
    Ok((subject_ref, normalised))
}

/// The flag a body field comes from: `amount_cny` → `--amount-cny`.
fn flag_of(field: &str) -> Option<String> {
    match field {
        "" | "sealed" => None,
        "entry_id" => Some("--entry".into()),
        "award_id" => Some("--award".into()),
        f if f.ends_with(']') => None,
        f => Some(format!("--{}", f.replace('_', "-"))),
    }
}

/// A local validation failure, naming the body field and the flag it came from.
fn invalid(stream: &StreamId, kind: &str, e: &ValidationError) -> CliError {
    if e.path.is_empty() {
        return CliError::Input(format!("invalid {kind} for {stream}: {}", e.reason));
    }
    let flag = e
        .path
        .rsplit('.')
        .next()
        .and_then(flag_of)
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    CliError::Input(format!(
        "invalid {kind} for {stream}, field body.{}{flag}: {}",
        e.path, e.reason
    ))
}

/// Validates `kind` for `stream` as the hub would, and wraps it in an append.
fn change(
    stream: &StreamId,
    kind: Kind,
    expected: ExpectedVersion,
    event_id: Option<EventId>,
) -> Result<Change> {
    let mut checked = kind.clone();
    // The hub validates a new entity after it has turned the ID number into a reference;
    // any well-formed reference stands in for it here.
    let placeholder = "0".repeat(64);
    match &mut checked {
        Kind::WhitelistEntryAdded(a) if !a.national_id.is_empty() => {
            if !a.subject_ref.is_empty() {
                return Err(CliError::Input(
                    "give --subject-ref or --national-id, not both".into(),
                ));
            }
            a.national_id.clear();
            a.subject_ref = placeholder;
        }
        Kind::AwardGranted(g) if !g.national_id.is_empty() => {
            if !g.subject_ref.is_empty() {
                return Err(CliError::Input(
                    "give --subject-ref or --national-id, not both".into(),
                ));
            }
            g.national_id.clear();
            g.subject_ref = placeholder;
        }
        _ => {}
    }
    let checked = pb::EventBody {
        kind: Some(checked),
    };
    let body = body_from_proto(&checked)
        .and_then(|b| b.check_stream(stream).map(|()| b))
        .map_err(|e| invalid(stream, "event", &e))?;
    let kind_name = body.kind().as_str();
    let event_id = event_id.unwrap_or_else(EventId::new_random);
    let request = pb::AppendRequest {
        stream: stream.to_string(),
        expected_version: Some(expected_version_to_proto(expected)),
        events: vec![pb::Event {
            event_id: event_id.to_string(),
            body: Some(pb::EventBody { kind: Some(kind) }),
            ..Default::default()
        }],
    };
    Ok(Change {
        stream: stream.clone(),
        kind: kind_name,
        event_id,
        request,
    })
}

/// Builds `whitelist add`.
pub fn whitelist_add(a: &WhitelistAddArgs) -> Result<Change> {
    let (subject_ref, national_id) = subject_fields(&a.subject)?;
    let kind = Kind::WhitelistEntryAdded(pb::WhitelistEntryAdded {
        entry_id: local_id(&a.entry),
        subject_ref,
        national_id,
        subject_display: a.subject_display.clone(),
        tier: a.tier,
        scheme: a.scheme.clone(),
        valid_from: a.valid_from.clone(),
        valid_until: a.valid_until.clone(),
        basis_ref: a.basis_ref.clone(),
        sealed: None,
    });
    change(&a.entry, kind, ExpectedVersion::NoStream, a.id.event_id)
}

/// Builds `whitelist renew`.
pub fn whitelist_renew(a: &WhitelistRenewArgs) -> Result<Change> {
    let kind = Kind::WhitelistEntryRenewed(pb::WhitelistEntryRenewed {
        entry_id: local_id(&a.entry),
        valid_until: a.valid_until.clone(),
        basis_ref: a.basis_ref.clone(),
    });
    change(&a.entry, kind, ExpectedVersion::Exists, a.id.event_id)
}

/// Builds `whitelist remove`.
pub fn whitelist_remove(a: &WhitelistRemoveArgs) -> Result<Change> {
    let kind = Kind::WhitelistEntryRemoved(pb::WhitelistEntryRemoved {
        entry_id: local_id(&a.entry),
        reason: a.reason.clone(),
        effective_at: a.effective_at.clone(),
    });
    change(&a.entry, kind, ExpectedVersion::Exists, a.id.event_id)
}

/// Builds `award grant`.
pub fn award_grant(a: &AwardGrantArgs) -> Result<Change> {
    let (subject_ref, national_id) = subject_fields(&a.subject)?;
    let t = &a.terms;
    let kind = Kind::AwardGranted(pb::AwardGranted {
        award_id: local_id(&a.award),
        subject_ref,
        national_id,
        subject_display: a.subject_display.clone(),
        programme_code: a.programme_code.clone(),
        category: a.category,
        level: a.level,
        project_title: t.project_title.clone(),
        amount_cny: t.amount_cny,
        funded_from: t.funded_from.clone(),
        funded_until: t.funded_until.clone(),
        decision_ref: t.decision_ref.clone(),
        sealed: None,
    });
    change(&a.award, kind, ExpectedVersion::NoStream, a.id.event_id)
}

/// Builds `award amend`.
pub fn award_amend(a: &AwardAmendArgs) -> Result<Change> {
    let t = &a.terms;
    let kind = Kind::AwardAmended(pb::AwardAmended {
        award_id: local_id(&a.award),
        project_title: t.project_title.clone(),
        amount_cny: t.amount_cny,
        funded_from: t.funded_from.clone(),
        funded_until: t.funded_until.clone(),
        decision_ref: t.decision_ref.clone(),
    });
    change(&a.award, kind, ExpectedVersion::Exists, a.id.event_id)
}

/// Builds `award withdraw`.
pub fn award_withdraw(a: &AwardWithdrawArgs) -> Result<Change> {
    let kind = Kind::AwardWithdrawn(pb::AwardWithdrawn {
        award_id: local_id(&a.award),
        outcome: a.outcome,
        reason: a.reason.clone(),
        effective_at: a.effective_at.clone(),
    });
    change(&a.award, kind, ExpectedVersion::Exists, a.id.event_id)
}

/// The actual version the hub reported with a version conflict, if it did.
fn actual_version(status: &Status) -> Option<u64> {
    status
        .metadata()
        .get("th-actual-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A refused or failed append, with what to do about it.
fn failure(c: &Change, status: &Status) -> CliError {
    let mut err = CliError::status(format!("{} to {}", c.kind, c.stream), status);
    let new = matches!(c.kind, "whitelist_entry_added" | "award_granted");
    let flag = if c.stream.family() == Family::Award {
        "--award"
    } else {
        "--entry"
    };
    let hint = match (status.code(), actual_version(status)) {
        (Code::FailedPrecondition, Some(0)) if !new => {
            format!("; this node holds no {}: check {flag}", c.stream)
        }
        (Code::FailedPrecondition, Some(_)) if new => {
            format!(
                "; {} already exists: choose another id for {flag}",
                c.stream
            )
        }
        (
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
            | Code::Aborted,
            _,
        ) => format!(
            "; the event may have been stored: retry with --event-id {}",
            c.event_id
        ),
        _ => String::new(),
    };
    if let CliError::Server { message, .. } = &mut err {
        message.push_str(&hint);
    }
    err
}

/// The outcome as JSON.
pub fn outcome_json(c: &Change, resp: &pb::AppendResponse) -> Value {
    json!({
        "stream": c.stream.to_string(),
        "kind": c.kind,
        "event_id": c.event_id.to_string(),
        "position": resp.last_position,
        "stream_version": resp.stream_version,
        "duplicate": resp.duplicate,
    })
}

/// The outcome as a line.
pub fn outcome_line(c: &Change, resp: &pb::AppendResponse) -> String {
    if resp.duplicate {
        format!(
            "{}: this {} was already stored at position {} (an idempotent retry); event id {}",
            c.stream, c.kind, resp.last_position, c.event_id
        )
    } else {
        format!(
            "appended {} to {} at position {} (stream version {}); event id {}",
            c.kind, c.stream, resp.last_position, resp.stream_version, c.event_id
        )
    }
}

/// Sends one change and prints the outcome.
async fn publish(endpoint: &str, token: &str, c: Change, format: Format) -> Result<()> {
    let conn = Connection::open(endpoint, token).await?;
    let resp = conn
        .publisher()
        .append(c.request.clone())
        .await
        .map_err(|s| failure(&c, &s))?
        .into_inner();
    if format == Format::Json {
        print_json(&outcome_json(&c, &resp));
    } else {
        println!("{}", outcome_line(&c, &resp));
    }
    Ok(())
}

/// Runs `whitelist …`.
pub async fn whitelist(
    endpoint: &str,
    token: &str,
    cmd: &WhitelistCmd,
    format: Format,
) -> Result<()> {
    let c = match cmd {
        WhitelistCmd::Add(a) => whitelist_add(a)?,
        WhitelistCmd::Renew(a) => whitelist_renew(a)?,
        WhitelistCmd::Remove(a) => whitelist_remove(a)?,
        WhitelistCmd::Status(a) => {
            let conn = Connection::open(endpoint, token).await?;
            return query::whitelist_status(&conn, a, format).await;
        }
    };
    publish(endpoint, token, c, format).await
}

/// Runs `award …`.
pub async fn award(endpoint: &str, token: &str, cmd: &AwardCmd, format: Format) -> Result<()> {
    let c = match cmd {
        AwardCmd::Grant(a) => award_grant(a)?,
        AwardCmd::Amend(a) => award_amend(a)?,
        AwardCmd::Withdraw(a) => award_withdraw(a)?,
        AwardCmd::List(a) => {
            let conn = Connection::open(endpoint, token).await?;
            return query::list_awards(&conn, a, format).await;
        }
    };
    publish(endpoint, token, c, format).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    const REF: &str = "823625c15d14df161e9fd94afbde59a29c028b45beaa8ef68f3e123893a3f008";

    fn grant(extra: &[&str]) -> Result<AwardGrantArgs, clap::Error> {
        let mut args = vec![
            "hubctl",
            "award",
            "grant",
            "--award",
            "award/310000/sh-pj-2026-0001",
            "--subject-display",
            "周*",
            "--programme-code",
            "sh-pujiang",
            "--category",
            "talent_programme",
            "--level",
            "municipal",
            "--project-title",
            "浦江人才计划：界面调控",
            "--funded-from",
            "2026-07-01",
            "--funded-until",
            "2028-06-30",
            "--decision-ref",
            "沪科〔2026〕1号",
        ];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Command::Award {
                action: AwardCmd::Grant(a),
            } => Ok(a),
            other => panic!("not award grant: {other:?}"),
        }
    }

    #[test]
    fn a_grant_is_validated_and_sent_as_a_new_stream() {
        let a = grant(&["--subject-ref", REF, "--amount-cny", "500000"]).expect("parses");
        let c = award_grant(&a).expect("valid");
        assert_eq!(c.kind, "award_granted");
        assert_eq!(
            c.request.expected_version,
            Some(expected_version_to_proto(ExpectedVersion::NoStream))
        );
        let Some(pb::EventBody {
            kind: Some(Kind::AwardGranted(g)),
        }) = &c.request.events[0].body
        else {
            panic!("not a grant: {:?}", c.request);
        };
        assert_eq!(g.award_id, "sh-pj-2026-0001");
        assert_eq!(g.subject_ref, REF);
        assert_eq!(g.level, pb::AwardLevel::Municipal as i32);
    }

    #[test]
    fn a_national_id_travels_normalised_and_a_bad_one_is_not_echoed() {
        let a =
            grant(&["--national-id", " 11010519491231002x ", "--amount-cny", "1"]).expect("parses");
        let c = award_grant(&a).expect("valid");
        let Some(pb::EventBody {
            kind: Some(Kind::AwardGranted(g)),
        }) = &c.request.events[0].body
        else {
            panic!("not a grant");
        };
        assert!(g.subject_ref.is_empty());
        assert_eq!(g.national_id, "11010519491231002X");

        let bad =
            grant(&["--national-id", "310104198305142036", "--amount-cny", "1"]).expect("parses");
        let msg = award_grant(&bad).expect_err("bad check digit").to_string();
        assert!(
            msg.starts_with("field national_id (--national-id)"),
            "{msg}"
        );
        assert!(!msg.contains("310104198305142036"), "{msg}");
    }

    #[test]
    fn a_bad_value_names_the_body_field_and_its_flag() {
        let a = grant(&["--subject-ref", REF, "--amount-cny", "0"]).expect("parses");
        let err = award_grant(&a).expect_err("zero amount");
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(
            msg.contains("field body.award_granted.amount_cny (--amount-cny)"),
            "{msg}"
        );
        let mut late = grant(&["--subject-ref", REF, "--amount-cny", "5"]).expect("parses");
        late.terms.funded_until = "2026-06-30".into();
        let msg = award_grant(&late)
            .expect_err("until before from")
            .to_string();
        assert!(
            msg.contains("field body.award_granted.funded_until (--funded-until)"),
            "{msg}"
        );
    }

    #[test]
    fn streams_of_the_wrong_family_are_refused_naming_the_flag() {
        let err = Cli::try_parse_from([
            "hubctl",
            "award",
            "withdraw",
            "--award",
            "whitelist/310000/x",
            "--reason",
            "r",
            "--effective-at",
            "2026-01-01",
        ])
        .expect_err("wrong family");
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        let msg = err.to_string();
        assert!(msg.contains("--award"), "{msg}");
        assert!(msg.contains("award/<member>/<award_id>"), "{msg}");
        assert!(parse_whitelist("whitelist/310000").is_err());
        assert!(parse_whitelist("award/310000/x").is_err());
        assert!(parse_whitelist("whitelist/310000/sh-wl-1").is_ok());
        let both = grant(&[
            "--subject-ref",
            REF,
            "--national-id",
            "-",
            "--amount-cny",
            "1",
        ])
        .expect_err("both subjects");
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn failures_say_what_to_do() {
        let a = grant(&["--subject-ref", REF, "--amount-cny", "1"]).expect("parses");
        let c = award_grant(&a).expect("valid");
        let mut exists = Status::failed_precondition("stream is at version 1, expected no_stream");
        exists
            .metadata_mut()
            .insert("th-actual-version", "1".parse().expect("ascii"));
        let msg = failure(&c, &exists).to_string();
        assert!(
            msg.contains("already exists: choose another id for --award"),
            "{msg}"
        );
        let down = failure(&c, &Status::unavailable("stopping")).to_string();
        assert!(
            down.contains(&format!("--event-id {}", c.event_id)),
            "{down}"
        );
    }
}
