//! Fixtures shared by the fold tests: a [`Log`] that stamps positions and counters the way
//! a node would, builders for valid event bodies, the streams the examples use, and the
//! slice of a view that a query can observe.

// Each test binary compiles this module and uses its own subset of the helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;

use hub_types::event::{
    AwardAmended, AwardErased, AwardGranted, AwardWithdrawn, BlacklistEntryAdded,
    CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased, EntryTransition, Personal,
    PersonalFields, RecognitionWithdrawn, WhitelistEntryAdded, WhitelistEntryRemoved,
    WhitelistEntryRenewed,
};
use hub_types::fold::{Applied, ViewState};
use hub_types::values::{
    AwardCategory, AwardEnd, AwardLevel, BlacklistCategory, CloseReason, Credential,
    CredentialKind, Education, ErasureReason, Industry, Issuer, PayBand, RevokeReason, Text,
    WhitelistTier,
};
use hub_types::{
    Body, Date, Event, EventId, LocalId, MemberId, OriginSeq, Position, StreamId, SubjectRef,
    Timestamp,
};

pub const SHANGHAI: &str = "310000";
pub const SUZHOU: &str = "320500";
pub const HANGZHOU: &str = "330100";
pub const JIAXING: &str = "330400";

pub fn d(s: &str) -> Date {
    s.parse().expect("test date")
}

pub fn id(s: &str) -> LocalId {
    s.parse().expect("test local id")
}

pub fn member(s: &str) -> MemberId {
    s.parse().expect("test member")
}

pub fn text(s: &str) -> Text {
    Text::new(s, 500, false).expect("test text")
}

pub fn pos(n: u64) -> Position {
    Position::new(n).expect("positions start at 1")
}

/// Folds events one by one, stamping positions 1, 2, 3, … and per-origin / per-stream
/// counters the way a node would.
#[derive(Default)]
pub struct Log {
    pub view: ViewState,
    next: u64,
    seqs: BTreeMap<MemberId, u64>,
    versions: BTreeMap<StreamId, u64>,
}

impl Log {
    fn event(&mut self, stream: &StreamId, body: Body) -> Event {
        self.next += 1;
        let seq = self.seqs.entry(stream.owner()).or_default();
        *seq += 1;
        let version = self.versions.entry(stream.clone()).or_default();
        *version += 1;
        Event {
            event_id: EventId::new_random(),
            origin: stream.owner(),
            origin_seq: OriginSeq::new(*seq).expect("counted from 1"),
            stream: stream.clone(),
            stream_version: *version,
            recorded_at: Timestamp(1_760_000_000_000_000 + self.next as i64),
            body,
            position: pos(self.next),
        }
    }

    pub fn apply_to(&mut self, stream: &StreamId, body: Body) -> Applied {
        let event = self.event(stream, body);
        self.view.apply(&event)
    }

    pub fn apply(&mut self, stream: &str, body: Body) -> Applied {
        self.apply_to(&stream.parse().expect("test stream"), body)
    }

    /// Applies an event that must change the view.
    #[track_caller]
    pub fn changed(&mut self, stream: &str, body: Body) {
        assert_eq!(self.apply(stream, body), Applied::Changed);
    }

    /// Applies an event that must be ignored, leaving the view's entities as they were.
    #[track_caller]
    pub fn ignored(&mut self, stream: &str, body: Body) {
        let before = self.view.digest(None);
        assert_eq!(self.apply(stream, body), Applied::Ignored);
        assert_eq!(
            self.view.digest(None),
            before,
            "an ignored event changed the view"
        );
    }

    pub fn position(&self) -> Position {
        pos(self.next)
    }
}

// ---------------------------------------------------------------------------------------
// Body builders

pub fn title(level: &str) -> Credential {
    Credential::new(CredentialKind::ProfessionalTitle, "engineering", level).expect("title")
}

pub fn recognized(
    rule: &str,
    credential: Credential,
    issuer: &str,
    from: &str,
) -> CredentialRecognized {
    CredentialRecognized {
        rule_id: id(rule),
        credential,
        issuer: issuer.parse::<Issuer>().expect("issuer"),
        local_equivalent: text("senior_deputy"),
        conditions: text(""),
        effective_from: d(from),
        effective_until: None,
    }
}

pub fn withdrawn(rule: &str, at: &str) -> Body {
    Body::RecognitionWithdrawn(RecognitionWithdrawn {
        rule_id: id(rule),
        reason: text("superseded by the alliance catalogue"),
        effective_at: d(at),
    })
}

pub fn terms(signal: &str, headcount: u32) -> DemandTerms {
    DemandTerms {
        signal_id: id(signal),
        industry: Industry::IntegratedCircuits,
        occupation_code: "2-02-09-06".parse().expect("occupation"),
        level: text("senior"),
        headcount,
        period: "2026-Q1".parse().expect("period"),
        pay_band: PayBand::new(20_000, 35_000).expect("pay band"),
        education: Education::Master,
    }
}

pub fn closed(signal: &str, reason: CloseReason, filled: u32, at: &str) -> Body {
    Body::DemandSignalClosed(DemandSignalClosed {
        signal_id: id(signal),
        reason,
        filled,
        closed_at: d(at),
    })
}

pub fn subject(byte: u8) -> SubjectRef {
    SubjectRef::from_bytes([byte; 32])
}

pub fn added(entry: &str, subject_byte: u8, from: &str, expires: &str) -> Body {
    Body::BlacklistEntryAdded(BlacklistEntryAdded {
        entry_id: id(entry),
        subject_ref: subject(subject_byte),
        personal: Personal::Plain(PersonalFields {
            subject_display: "张*".parse().expect("test display name"),
            decision_summary: Text::default(),
        }),
        category: BlacklistCategory::ApplicationFraud,
        decision_ref: text("沪人社信〔2025〕12号"),
        decided_at: d(from),
        effective_from: d(from),
        expires_at: d(expires),
        measures: vec![text("barred from talent programmes for three years")],
    })
}

pub fn transition(entry: &str, at: &str) -> EntryTransition {
    EntryTransition {
        entry_id: id(entry),
        note: text("appeal 2025-21"),
        effective_at: d(at),
    }
}

pub fn suspended(entry: &str, at: &str) -> Body {
    Body::BlacklistEntrySuspended(transition(entry, at))
}

pub fn reinstated(entry: &str, at: &str) -> Body {
    Body::BlacklistEntryReinstated(transition(entry, at))
}

pub fn revoked(entry: &str, at: &str, reason: RevokeReason) -> Body {
    Body::BlacklistEntryRevoked {
        transition: transition(entry, at),
        reason,
    }
}

pub fn erased(entry: &str, reason: ErasureReason, order_ref: &str) -> Body {
    Body::BlacklistEntryErased(EntryErased {
        entry_id: id(entry),
        reason,
        order_ref: text(order_ref),
    })
}

fn display(name: &str) -> Personal {
    Personal::Plain(PersonalFields {
        subject_display: name.parse().expect("test display name"),
        decision_summary: Text::default(),
    })
}

pub fn wl_added(entry: &str, subject_byte: u8, from: &str, until: &str) -> Body {
    Body::WhitelistEntryAdded(WhitelistEntryAdded {
        entry_id: id(entry),
        subject_ref: subject(subject_byte),
        personal: display("李*"),
        tier: WhitelistTier::B,
        scheme: text("shanghai-overseas-high-end"),
        valid_from: d(from),
        valid_until: d(until),
        basis_ref: text("沪人才办〔2025〕3号"),
    })
}

pub fn wl_renewed(entry: &str, until: &str) -> Body {
    Body::WhitelistEntryRenewed(WhitelistEntryRenewed {
        entry_id: id(entry),
        valid_until: d(until),
        basis_ref: text("沪人才办〔2027〕9号"),
    })
}

pub fn wl_removed(entry: &str, at: &str) -> Body {
    Body::WhitelistEntryRemoved(WhitelistEntryRemoved {
        entry_id: id(entry),
        reason: text("left the programme"),
        effective_at: d(at),
    })
}

pub fn wl_erased(entry: &str) -> Body {
    Body::WhitelistEntryErased(EntryErased {
        entry_id: id(entry),
        reason: ErasureReason::Order,
        order_ref: text("order 7"),
    })
}

pub fn granted(award: &str, subject_byte: u8, from: &str, until: &str, amount: u64) -> Body {
    Body::AwardGranted(AwardGranted {
        award_id: id(award),
        subject_ref: subject(subject_byte),
        personal: display("王*"),
        programme_code: text("sh-pujiang"),
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::Municipal,
        project_title: text("量子传感芯片"),
        amount_cny: amount,
        funded_from: d(from),
        funded_until: d(until),
        decision_ref: text("沪科〔2025〕88号"),
    })
}

pub fn amended(award: &str, from: &str, until: &str, amount: u64) -> Body {
    Body::AwardAmended(AwardAmended {
        award_id: id(award),
        project_title: text("量子传感芯片（二期）"),
        amount_cny: amount,
        funded_from: d(from),
        funded_until: d(until),
        decision_ref: text("沪科〔2026〕12号"),
    })
}

pub fn award_ended(award: &str, outcome: AwardEnd, at: &str) -> Body {
    Body::AwardWithdrawn(AwardWithdrawn {
        award_id: id(award),
        outcome,
        reason: text("duplicate funding found"),
        effective_at: d(at),
    })
}

pub fn award_erased(award: &str) -> Body {
    Body::AwardErased(AwardErased {
        award_id: id(award),
        reason: ErasureReason::RetentionEnded,
        order_ref: Text::default(),
    })
}

// ---------------------------------------------------------------------------------------
// Streams and keys shared by several files

pub const JX_LIST: &str = "recognition/330400";

pub const SIGNAL: &str = "demand/310000/sh-ic-2026q1-01";
pub const SIGNAL_ID: &str = "sh-ic-2026q1-01";

pub fn signal_key() -> (MemberId, LocalId) {
    (member(SHANGHAI), id(SIGNAL_ID))
}

pub const ENTRY_STREAM: &str = "blacklist/330100/hz-2025-0007";
pub const ENTRY: &str = "hz-2025-0007";

// ---------------------------------------------------------------------------------------
// What a query sees

/// Everything a query could observe of the current view, positions aside.
pub fn observable(view: &ViewState) -> impl PartialEq + std::fmt::Debug {
    let rules: Vec<_> = view
        .rules
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let signals: Vec<_> = view
        .signals
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let entries: Vec<_> = view
        .entries
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let whitelist: Vec<_> = view
        .whitelist
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    let awards: Vec<_> = view
        .awards
        .iter()
        .map(|(k, h)| (k.clone(), h.current().clone()))
        .collect();
    (
        (rules, signals, entries, whitelist, awards),
        view.rules_by_credential.clone(),
        view.entries_by_subject.clone(),
        (
            view.whitelist_by_subject.clone(),
            view.awards_by_subject.clone(),
        ),
        view.counts.clone(),
        view.ignored,
    )
}
