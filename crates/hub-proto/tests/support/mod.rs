//! Fixtures shared by the hub-proto validation and codec tests: one valid wire message per
//! event kind, for each test to break in one place; builders for append requests on the
//! recognition, demand and blacklist streams; assertions that a request is accepted or
//! rejected at an exact field path; and, in [`strategies`], proptest strategies for valid
//! domain bodies.

// Each test binary compiles this module and uses its own subset of the helpers.
#![allow(dead_code)]

use hub_proto::convert::append_request_from_proto;
use hub_proto::pb::{self, event_body::Kind};
use hub_types::{ExpectedVersion, StreamId, ValidationError};

pub mod strategies;

pub const SIGNAL_STREAM: &str = "demand/310000/sh-ic-2026q1-01";
pub const ENTRY_STREAM: &str = "blacklist/310000/sh-2025-0012";
pub const LIST_STREAM: &str = "recognition/330400";

// ---------------------------------------------------------------------------------------
// Valid messages, one per kind, that each test breaks in one place

pub fn recognized() -> pb::CredentialRecognized {
    pb::CredentialRecognized {
        rule_id: "jx-pt-sh-eng-int".into(),
        credential: Some(pb::Credential {
            kind: pb::CredentialKind::ProfessionalTitle as i32,
            code: "engineering".into(),
            level: "intermediate".into(),
        }),
        issuer: "310000".into(),
        local_equivalent: "intermediate".into(),
        conditions: String::new(),
        effective_from: "2025-07-01".into(),
        effective_until: String::new(),
    }
}

pub fn withdrawn() -> pb::RecognitionWithdrawn {
    pb::RecognitionWithdrawn {
        rule_id: "jx-pt-sh-eng-int".into(),
        reason: "covered by the alliance catalogue".into(),
        effective_at: "2026-04-01".into(),
    }
}

pub fn published() -> pb::DemandSignalPublished {
    pb::DemandSignalPublished {
        signal_id: "sh-ic-2026q1-01".into(),
        industry: pb::Industry::IntegratedCircuits as i32,
        occupation_code: "2-02-09-06".into(),
        level: "senior".into(),
        headcount: 150,
        period: "2026-Q1".into(),
        pay_band: Some(pb::PayBand {
            min: 25_000,
            max: 42_000,
        }),
        education: pb::Education::Master as i32,
    }
}

pub fn revised() -> pb::DemandSignalRevised {
    let p = published();
    pb::DemandSignalRevised {
        signal_id: p.signal_id,
        industry: p.industry,
        occupation_code: p.occupation_code,
        level: p.level,
        headcount: 170,
        period: p.period,
        pay_band: p.pay_band,
        education: p.education,
    }
}

pub fn closed() -> pb::DemandSignalClosed {
    pb::DemandSignalClosed {
        signal_id: "sh-ic-2026q1-01".into(),
        reason: pb::CloseReason::Filled as i32,
        filled: 160,
        closed_at: "2026-03-31".into(),
    }
}

pub fn added() -> pb::BlacklistEntryAdded {
    pb::BlacklistEntryAdded {
        entry_id: "sh-2025-0012".into(),
        subject_ref: "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549".into(),
        subject_display: "张*".into(),
        category: pb::BlacklistCategory::ApplicationFraud as i32,
        decision_ref: "沪人社信〔2025〕12号".into(),
        decided_at: "2025-03-10".into(),
        effective_from: "2025-03-20".into(),
        expires_at: "2028-03-19".into(),
        measures: vec!["三年内不得申报各级各类人才计划".into()],
        decision_summary: "以伪造的职称证书申报人才计划".into(),
        sealed: None,
    }
}

pub fn suspended() -> pb::BlacklistEntrySuspended {
    pb::BlacklistEntrySuspended {
        entry_id: "sh-2025-0012".into(),
        appeal_ref: "沪人社申〔2025〕3号".into(),
        effective_at: "2025-06-01".into(),
    }
}

pub fn reinstated() -> pb::BlacklistEntryReinstated {
    pb::BlacklistEntryReinstated {
        entry_id: "sh-2025-0012".into(),
        note: "申诉不成立".into(),
        effective_at: "2025-08-01".into(),
    }
}

pub fn revoked() -> pb::BlacklistEntryRevoked {
    pb::BlacklistEntryRevoked {
        entry_id: "sh-2025-0012".into(),
        reason: pb::RevokeReason::AppealUpheld as i32,
        note: "申诉成立".into(),
        effective_at: "2025-08-01".into(),
    }
}

/// A distinct, valid, version-4-looking event id per `n`.
pub fn event_id(n: u32) -> String {
    format!("5b1f0c3e-7a2d-4c1b-9e8f-{n:012}")
}

pub fn event(n: u32, kind: Kind) -> pb::Event {
    pb::Event {
        event_id: event_id(n),
        body: Some(pb::EventBody { kind: Some(kind) }),
        ..Default::default()
    }
}

pub fn request(stream: &str, kinds: Vec<Kind>) -> pb::AppendRequest {
    pb::AppendRequest {
        stream: stream.into(),
        expected_version: None,
        events: kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| event(i as u32 + 1, k))
            .collect(),
    }
}

/// Asserts that the request is rejected at `path` and returns the reason.
#[track_caller]
pub fn rejected(req: &pb::AppendRequest, path: &str) -> String {
    match append_request_from_proto(req) {
        Ok(ok) => panic!("expected an error at {path}, got {ok:?}"),
        Err(ValidationError { path: got, reason }) => {
            assert_eq!(got, path, "reason: {reason}");
            assert!(!reason.is_empty());
            reason
        }
    }
}

/// Asserts that one event of `kind` on `stream` is rejected at `events[0].body.<path>`.
#[track_caller]
pub fn body_rejected(stream: &str, kind: Kind, path: &str) -> String {
    rejected(
        &request(stream, vec![kind]),
        &format!("events[0].body.{path}"),
    )
}

#[track_caller]
pub fn accepted(req: &pb::AppendRequest) -> (StreamId, ExpectedVersion, Vec<hub_types::NewEvent>) {
    match append_request_from_proto(req) {
        Ok(ok) => ok,
        Err(e) => panic!("expected the request to be accepted, got {e}"),
    }
}

pub fn on_list(kind: Kind) -> pb::AppendRequest {
    request(LIST_STREAM, vec![kind])
}

pub fn on_signal(kind: Kind) -> pb::AppendRequest {
    request(SIGNAL_STREAM, vec![kind])
}

pub fn on_entry(kind: Kind) -> pb::AppendRequest {
    request(ENTRY_STREAM, vec![kind])
}
