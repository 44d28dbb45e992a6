//! Fixtures shared by the hub-view integration tests: builders for valid event bodies,
//! appending them to a real [`Log`], random event scripts for the property tests, and a
//! battery of questions whose answers two views must agree on. The query tests' shared
//! fixture lives in [`query_fixture`].

// Each test binary compiles this module and uses its own subset of the helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;

use hub_log::{Log, Store};
use hub_proto::convert::{body_from_proto, body_to_proto, timestamp_to_proto};
use hub_proto::pb;
use hub_proto::record::Record;
use hub_types::event::{
    AwardAmended, AwardGranted, AwardWithdrawn, BlacklistEntryAdded, CredentialRecognized,
    DemandSignalClosed, DemandTerms, EntryTransition, Personal, PersonalFields,
    RecognitionWithdrawn, WhitelistEntryAdded, WhitelistEntryRemoved, WhitelistEntryRenewed,
};
use hub_types::roster::{Member, Roster};
use hub_types::values::{
    AwardCategory, AwardEnd, AwardLevel, BlacklistCategory, CloseReason, Credential,
    CredentialKind, Education, Industry, Issuer, PayBand, RevokeReason, Text, WhitelistTier,
    MAX_TEXT,
};
use hub_types::{
    Body, Date, EventId, ExpectedVersion, LocalId, MemberId, NewEvent, StreamId, Timestamp,
};
use hub_view::{View, ViewConfig};
use proptest::prelude::*;

pub mod query_fixture;

pub const SHANGHAI: &str = "310000";
pub const NANJING: &str = "320100";
pub const SUZHOU: &str = "320500";
pub const HANGZHOU: &str = "330100";
pub const JIAXING: &str = "330400";
pub const HEFEI: &str = "340100";

/// The cities the random scripts draw their origins from.
pub const CITIES: [&str; 6] = [SHANGHAI, NANJING, SUZHOU, HANGZHOU, JIAXING, HEFEI];

pub fn m(code: &str) -> MemberId {
    code.parse().expect("test member code")
}

pub fn d(s: &str) -> Date {
    s.parse().expect("test date")
}

fn id(s: &str) -> LocalId {
    s.parse().expect("test local id")
}

fn text(s: &str) -> Text {
    Text::new(s, MAX_TEXT, false).expect("test text")
}

/// A roster of the given cities.
pub fn roster(codes: &[&str]) -> Roster {
    Roster::new(
        codes
            .iter()
            .map(|c| Member {
                code: m(c),
                name: format!("city {c}"),
                public_key: String::new(),
            })
            .collect(),
    )
    .expect("test roster")
}

/// A view configuration with the roster of every city the tests use.
pub fn config() -> ViewConfig {
    ViewConfig {
        roster: roster(&CITIES),
        ..ViewConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Bodies

pub fn credential(kind: CredentialKind, code: &str, level: &str) -> Credential {
    Credential::new(kind, code, level).expect("test credential")
}

pub fn title(code: &str, level: &str) -> Credential {
    credential(CredentialKind::ProfessionalTitle, code, level)
}

pub fn issuer(s: &str) -> Issuer {
    s.parse().expect("test issuer")
}

#[allow(clippy::too_many_arguments)] // mirrors the fields of the event
pub fn recognized(
    rule_id: &str,
    credential: Credential,
    issuer_code: &str,
    local_equivalent: &str,
    conditions: &str,
    from: &str,
    until: Option<&str>,
) -> Body {
    Body::CredentialRecognized(CredentialRecognized {
        rule_id: id(rule_id),
        credential,
        issuer: issuer(issuer_code),
        local_equivalent: text(local_equivalent),
        conditions: text(conditions),
        effective_from: d(from),
        effective_until: until.map(d),
    })
}

pub fn withdrawn(rule_id: &str, at: &str) -> Body {
    Body::RecognitionWithdrawn(RecognitionWithdrawn {
        rule_id: id(rule_id),
        reason: text("superseded by the provincial list"),
        effective_at: d(at),
    })
}

pub fn terms(
    signal_id: &str,
    industry: Industry,
    occupation: &str,
    headcount: u32,
    period: &str,
    pay: (u32, u32),
) -> DemandTerms {
    DemandTerms {
        signal_id: id(signal_id),
        industry,
        occupation_code: occupation.parse().expect("test occupation code"),
        level: text("senior"),
        headcount,
        period: period.parse().expect("test period"),
        pay_band: PayBand::new(pay.0, pay.1).expect("test pay band"),
        education: Education::Bachelor,
    }
}

pub fn closed(signal_id: &str, reason: CloseReason, filled: u32, at: &str) -> Body {
    Body::DemandSignalClosed(DemandSignalClosed {
        signal_id: id(signal_id),
        reason,
        filled,
        closed_at: d(at),
    })
}

/// 64 hex characters made of one repeated byte.
pub fn subject(byte: u8) -> String {
    hex::encode([byte; 32])
}

pub fn added(entry_id: &str, subject_ref: &str, from: &str, expires: &str) -> Body {
    Body::BlacklistEntryAdded(BlacklistEntryAdded {
        entry_id: id(entry_id),
        subject_ref: subject_ref.parse().expect("test subject ref"),
        personal: Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("test display name"),
            decision_summary: Text::default(),
        }),
        category: BlacklistCategory::ApplicationFraud,
        decision_ref: text("沪人社信〔2026〕1号"),
        decided_at: d(from),
        effective_from: d(from),
        expires_at: d(expires),
        measures: vec![text("three years without talent-programme applications")],
    })
}

fn transition(entry_id: &str, at: &str) -> EntryTransition {
    EntryTransition {
        entry_id: id(entry_id),
        note: text("appeal 2026-07"),
        effective_at: d(at),
    }
}

pub fn suspended(entry_id: &str, at: &str) -> Body {
    Body::BlacklistEntrySuspended(transition(entry_id, at))
}

pub fn reinstated(entry_id: &str, at: &str) -> Body {
    Body::BlacklistEntryReinstated(transition(entry_id, at))
}

pub fn revoked(entry_id: &str, reason: RevokeReason, at: &str) -> Body {
    Body::BlacklistEntryRevoked {
        transition: transition(entry_id, at),
        reason,
    }
}

/// A white-list entry of the person `subject_ref`, in force `from..=until`.
pub fn wl_added(entry_id: &str, subject_ref: &str, from: &str, until: &str) -> Body {
    Body::WhitelistEntryAdded(WhitelistEntryAdded {
        entry_id: id(entry_id),
        subject_ref: subject_ref.parse().expect("test subject ref"),
        personal: Personal::Plain(PersonalFields {
            subject_display: "李*".parse().expect("test display name"),
            decision_summary: Text::default(),
        }),
        tier: WhitelistTier::B,
        scheme: text("shanghai-overseas-high-end"),
        valid_from: d(from),
        valid_until: d(until),
        basis_ref: text("沪人才办〔2025〕3号"),
    })
}

pub fn wl_renewed(entry_id: &str, until: &str) -> Body {
    Body::WhitelistEntryRenewed(WhitelistEntryRenewed {
        entry_id: id(entry_id),
        valid_until: d(until),
        basis_ref: text("沪人才办〔2027〕9号"),
    })
}

pub fn wl_removed(entry_id: &str, at: &str) -> Body {
    Body::WhitelistEntryRemoved(WhitelistEntryRemoved {
        entry_id: id(entry_id),
        reason: text("left the programme"),
        effective_at: d(at),
    })
}

/// A municipal talent-programme award of the person `subject_ref`, funded `from..=until`.
pub fn granted(award_id: &str, subject_ref: &str, from: &str, until: &str) -> Body {
    Body::AwardGranted(AwardGranted {
        award_id: id(award_id),
        subject_ref: subject_ref.parse().expect("test subject ref"),
        personal: Personal::Plain(PersonalFields {
            subject_display: "王*".parse().expect("test display name"),
            decision_summary: Text::default(),
        }),
        programme_code: text("sh-pujiang"),
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::Municipal,
        project_title: text("量子传感芯片"),
        amount_cny: 500_000,
        funded_from: d(from),
        funded_until: d(until),
        decision_ref: text("沪科〔2025〕88号"),
    })
}

pub fn amended(award_id: &str, from: &str, until: &str) -> Body {
    Body::AwardAmended(AwardAmended {
        award_id: id(award_id),
        project_title: text("量子传感芯片（二期）"),
        amount_cny: 800_000,
        funded_from: d(from),
        funded_until: d(until),
        decision_ref: text("沪科〔2026〕12号"),
    })
}

pub fn award_ended(award_id: &str, outcome: AwardEnd, at: &str) -> Body {
    Body::AwardWithdrawn(AwardWithdrawn {
        award_id: id(award_id),
        outcome,
        reason: text("duplicate funding found"),
        effective_at: d(at),
    })
}

// ---------------------------------------------------------------------------------------
// Appending

/// The stream a body of `origin` belongs to.
pub fn stream_of(origin: MemberId, body: &Body) -> StreamId {
    body.stream_for(origin)
}

/// A new event with a fresh id; the body must pass the wire validation, or the fold would
/// count it as undecodable and the test would not test what it says.
pub fn new_event(body: Body) -> NewEvent {
    let checked = body_from_proto(&body_to_proto(&body)).expect("test body is valid");
    assert_eq!(checked, body, "test body survives the wire");
    NewEvent {
        event_id: EventId::new_random(),
        body,
    }
}

/// Appends one event of `origin`; returns its position.
pub async fn append<S: Store>(log: &Log<S>, origin: &str, body: Body) -> u64 {
    let origin = m(origin);
    let stream = stream_of(origin, &body);
    log.append(&stream, ExpectedVersion::Any, vec![new_event(body)])
        .await
        .expect("append")
        .last
        .get()
}

/// Appends every event, one append each; returns the last position.
pub async fn append_all<S: Store>(log: &Log<S>, events: &[(MemberId, Body)]) -> u64 {
    let mut last = log.head();
    for (origin, body) in events {
        let stream = stream_of(*origin, body);
        last = log
            .append(&stream, ExpectedVersion::Any, vec![new_event(body.clone())])
            .await
            .expect("append")
            .last
            .get();
    }
    last
}

/// Stores `records` in `log` as foreign events, in batches of `batch`, checking each one.
pub async fn ingest_all<S: Store>(log: &Log<S>, records: &[pb::EventRecord], batch: usize) {
    for chunk in records.chunks(batch.max(1)) {
        let results = log
            .ingest(
                chunk
                    .iter()
                    .map(|r| Record::parse(r.clone()).expect("a well-formed record"))
                    .collect(),
                Vec::new(),
            )
            .await
            .expect("ingest");
        for r in results {
            assert!(
                matches!(r, Ok(hub_log::Ingested::Appended(_))),
                "ingest: {r:?}"
            );
        }
    }
}

/// Every record of `log`, in position order.
pub fn records<S: Store>(log: &Log<S>) -> Vec<pb::EventRecord> {
    log.read_all(hub_types::Position::FIRST, usize::MAX)
        .expect("read the log")
        .into_iter()
        .map(|e| e.record)
        .collect()
}

/// The time axes of a question.
pub fn on(date: &str, at_position: u64) -> Option<pb::TimeAxes> {
    Some(pb::TimeAxes {
        on_date: date.to_owned(),
        at_position,
        as_of: None,
    })
}

/// The time axes of an as-of-instant question.
pub fn as_of(date: &str, micros: i64) -> Option<pb::TimeAxes> {
    Some(pb::TimeAxes {
        on_date: date.to_owned(),
        at_position: 0,
        as_of: Some(timestamp_to_proto(Timestamp(micros))),
    })
}

// ---------------------------------------------------------------------------------------
// Random scripts

/// One step of a random script: which origin acts, what it does, to which of its
/// entities, and a number that picks the details.
#[derive(Debug, Clone)]
pub struct Op {
    origin: usize,
    action: u8,
    entity: u8,
    x: u32,
}

/// Random ops over `origins` origins; every family and lifecycle step is likely, and so
/// are steps the fold ignores (closing twice, suspending a revoked entry, …).
pub fn ops(origins: usize, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        (0..origins, 0u8..11, 0u8..4, any::<u32>()).prop_map(|(origin, action, entity, x)| Op {
            origin,
            action,
            entity,
            x,
        }),
        len,
    )
}

/// Dates the scripts draw from and the battery asks on.
pub const DATES: [&str; 6] = [
    "2025-03-01",
    "2025-10-15",
    "2026-01-01",
    "2026-06-30",
    "2026-12-31",
    "2027-09-01",
];
/// Periods the scripts draw from and the battery asks about.
pub const PERIODS: [&str; 4] = ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"];
/// Industries the scripts use.
pub const INDUSTRIES: [Industry; 2] = [Industry::IntegratedCircuits, Industry::Aerospace];

fn credentials() -> [Credential; 3] {
    [
        title("engineering", "senior_deputy"),
        credential(CredentialKind::SkillLevel, "6-31-01-03", "2"),
        credential(CredentialKind::TalentTier, "shanghai-talent", "B"),
    ]
}

fn pick<T: Clone>(items: &[T], x: u32) -> T {
    items[x as usize % items.len()].clone()
}

/// Turns ops into concrete valid events of the given origin cities. A step on an entity
/// that does not exist yet creates it instead, so most events change the view; the rest
/// (closing twice, reinstating an active entry, …) are ignored by the fold.
pub fn script(origins: &[&str], ops: &[Op]) -> Vec<(MemberId, Body)> {
    let mut created: BTreeSet<(usize, u8, u8)> = BTreeSet::new();
    ops.iter()
        .map(|op| {
            let origin = m(origins[op.origin % origins.len()]);
            let x = op.x;
            let date = |shift: u32| pick(&DATES, x >> shift);
            let family = match op.action {
                0..=2 => 0,
                3..=5 => 1,
                _ => 2,
            };
            let action = if created.insert((op.origin % origins.len(), family, op.entity)) {
                [0, 3, 6][family as usize]
            } else {
                op.action
            };
            let body = match action {
                0 | 1 => {
                    let rule = format!("r{}", op.entity);
                    let issuer = match x % 4 {
                        0 => "*".to_owned(),
                        k => pick(&CITIES, k + (x >> 20)).to_owned(),
                    };
                    let from = date(4);
                    // Dates sort as text, so `max` keeps `until` on or after `from`.
                    let until = (x & 8 != 0).then(|| pick(&DATES, x >> 12).max(from));
                    recognized(
                        &rule,
                        pick(&credentials(), x >> 8),
                        &issuer,
                        "senior_deputy",
                        if x & 16 != 0 {
                            "with local insurance"
                        } else {
                            ""
                        },
                        from,
                        until,
                    )
                }
                2 => withdrawn(&format!("r{}", op.entity), date(2)),
                3 | 4 => {
                    let signal = format!("s{}", op.entity);
                    let t = terms(
                        &signal,
                        pick(&INDUSTRIES, x),
                        pick(&["2-02-09-06", "6-25-02-03"], x >> 1),
                        1 + x % 60,
                        pick(&PERIODS, x >> 7),
                        (8000 + x % 1000, 12000 + x % 5000),
                    );
                    if op.action == 3 {
                        Body::DemandSignalPublished(t)
                    } else {
                        Body::DemandSignalRevised(t)
                    }
                }
                5 => closed(
                    &format!("s{}", op.entity),
                    pick(
                        &[
                            CloseReason::Filled,
                            CloseReason::Cancelled,
                            CloseReason::Expired,
                        ],
                        x,
                    ),
                    x % 30,
                    date(3),
                ),
                6 | 7 => {
                    let from = date(2);
                    let expires = pick(&DATES, x >> 6).max(from);
                    added(
                        &format!("e{}", op.entity),
                        &subject(1 + (x % 3) as u8),
                        from,
                        expires,
                    )
                }
                8 => suspended(&format!("e{}", op.entity), date(2)),
                9 => reinstated(&format!("e{}", op.entity), date(2)),
                _ => revoked(
                    &format!("e{}", op.entity),
                    pick(
                        &[
                            RevokeReason::AppealUpheld,
                            RevokeReason::CreditRepaired,
                            RevokeReason::Error,
                        ],
                        x,
                    ),
                    date(2),
                ),
            };
            (origin, body)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The battery of questions

/// One answer of the view, of any question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    IsRecognized(pb::IsRecognizedResponse),
    ListRecognitions(pb::ListRecognitionsResponse),
    Matrix(pb::RecognitionMatrixResponse),
    Summary(pb::DemandSummaryResponse),
    Trend(pb::DemandTrendResponse),
    Alerts(pb::ShortageAlertsResponse),
    Report(pb::JointReportResponse),
    Check(pb::CheckSubjectResponse),
    Entries(pb::ListEntriesResponse),
    Info(pb::ViewInfoResponse),
}

/// Asks `view` every question of the battery with the given record-time axes (`time`
/// carries `at_position` or `as_of`; its date is replaced by each date asked about), for
/// the given origin cities.
pub fn battery(view: &View, time: &pb::TimeAxes, origins: &[&str]) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut cities: BTreeSet<&str> = origins.iter().copied().collect();
    cities.insert(HEFEI);
    for date in ["2025-10-15", "2026-06-30", "2027-09-01"] {
        let t = Some(pb::TimeAxes {
            on_date: date.to_owned(),
            ..time.clone()
        });
        for recognizer in origins {
            for c in credentials() {
                for issuer in &cities {
                    let req = pb::IsRecognizedRequest {
                        time: t.clone(),
                        recognizer: (*recognizer).to_owned(),
                        credential: Some(hub_proto::convert::credential_to_proto(&c)),
                        issuer: (*issuer).to_owned(),
                    };
                    out.push(Answer::IsRecognized(
                        view.is_recognized(&req).expect("is_recognized"),
                    ));
                }
            }
        }
        for include_inactive in [false, true] {
            let mut token = String::new();
            loop {
                let req = pb::ListRecognitionsRequest {
                    time: t.clone(),
                    include_inactive,
                    page_size: 3,
                    page_token: token,
                    ..Default::default()
                };
                let page = view.list_recognitions(&req).expect("list_recognitions");
                token = page.next_page_token.clone();
                out.push(Answer::ListRecognitions(page));
                if token.is_empty() {
                    break;
                }
            }
        }
        let req = pb::RecognitionMatrixRequest {
            time: t.clone(),
            kind: 0,
        };
        out.push(Answer::Matrix(
            view.recognition_matrix(&req).expect("matrix"),
        ));
        for group_by in [
            pb::GroupBy::Industry,
            pb::GroupBy::City,
            pb::GroupBy::Occupation,
            pb::GroupBy::Period,
        ] {
            let req = pb::DemandSummaryRequest {
                time: t.clone(),
                group_by: group_by as i32,
                filter: None,
            };
            out.push(Answer::Summary(view.demand_summary(&req).expect("summary")));
        }
        for industry in INDUSTRIES {
            for city in ["", origins[0]] {
                let req = pb::DemandTrendRequest {
                    time: t.clone(),
                    industry: hub_proto::convert::industry_to_proto(industry) as i32,
                    city: city.to_owned(),
                    periods: 3,
                };
                out.push(Answer::Trend(view.demand_trend(&req).expect("trend")));
            }
        }
        for period in PERIODS {
            let req = pb::ShortageAlertsRequest {
                time: t.clone(),
                period: period.to_owned(),
            };
            out.push(Answer::Alerts(view.shortage_alerts(&req).expect("alerts")));
            let req = pb::JointReportRequest {
                time: t.clone(),
                period: period.to_owned(),
            };
            out.push(Answer::Report(view.joint_report(&req).expect("report")));
        }
        for s in 1..=3 {
            let req = pb::CheckSubjectRequest {
                time: t.clone(),
                subject_ref: subject(s),
                ..Default::default()
            };
            out.push(Answer::Check(view.check_subject(&req).expect("check")));
        }
        for origin in origins {
            let mut token = String::new();
            loop {
                let req = pb::ListEntriesRequest {
                    time: t.clone(),
                    origin: (*origin).to_owned(),
                    status: 0,
                    page_size: 2,
                    page_token: token,
                };
                let page = view.list_entries(&req).expect("list_entries");
                token = page.next_page_token.clone();
                out.push(Answer::Entries(page));
                if token.is_empty() {
                    break;
                }
            }
        }
    }
    out
}
