//! Event bodies of the three families and the envelope they travel in.

use serde::{Deserialize, Serialize};

use crate::error::{Quoted, Result, ValidationError};
use crate::ids::{EventId, Family, LocalId, MemberId, OriginSeq, Position, StreamId, SubjectRef};
use crate::time::{Date, Period, Timestamp};
use crate::values::{
    BlacklistCategory, CloseReason, Credential, Education, ErasureReason, Industry, Issuer,
    MaskedName, OccupationCode, PayBand, RevokeReason, Text,
};

/// A city recognises a credential issued by another city (or any member city).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRecognized {
    /// The recognising city's id for the rule; a later event with the same id revises it.
    pub rule_id: LocalId,
    /// What is recognised.
    pub credential: Credential,
    /// Whose credentials.
    pub issuer: Issuer,
    /// What it counts as locally.
    pub local_equivalent: Text,
    /// Conditions attached (e.g. "with two years of local social insurance").
    pub conditions: Text,
    /// First day the rule is in force.
    pub effective_from: Date,
    /// Last day the rule is in force; open-ended when absent.
    pub effective_until: Option<Date>,
}

/// A city withdraws a recognition rule from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecognitionWithdrawn {
    /// The rule withdrawn.
    pub rule_id: LocalId,
    /// Why.
    pub reason: Text,
    /// First day the rule is no longer in force.
    pub effective_at: Date,
}

/// The terms of a demand signal, shared by publication and revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandTerms {
    /// The signal, equal to the last part of its stream.
    pub signal_id: LocalId,
    /// Key industry.
    pub industry: Industry,
    /// Occupation in the national classification.
    pub occupation_code: OccupationCode,
    /// Level asked for (free label, e.g. `senior`).
    pub level: Text,
    /// Open positions, 1..=100000.
    pub headcount: u32,
    /// Quarter the demand is for.
    pub period: Period,
    /// Monthly pay in CNY.
    pub pay_band: PayBand,
    /// Education asked for.
    pub education: Education,
}

/// A demand signal is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSignalClosed {
    /// The signal closed.
    pub signal_id: LocalId,
    /// Why.
    pub reason: CloseReason,
    /// How many positions were filled.
    pub filled: u32,
    /// Day it was closed.
    pub closed_at: Date,
}

/// A city records a dishonesty decision about a person.
///
/// In JSON the personal fields sit beside the others: `subject_display` and
/// `decision_summary` in the clear, or `sealed` as the hub stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AddedFields", into = "AddedFields")]
pub struct BlacklistEntryAdded {
    /// The entry, equal to the last part of its stream.
    pub entry_id: LocalId,
    /// Keyed hash of the person's national ID.
    pub subject_ref: SubjectRef,
    /// The fields that describe the person: plain as a client sends them, sealed under
    /// the entry's own key as the hub stores them.
    pub personal: Personal,
    /// What kind of dishonesty.
    pub category: BlacklistCategory,
    /// Decision document number (决定文号).
    pub decision_ref: Text,
    /// Day of the decision.
    pub decided_at: Date,
    /// First day the entry is in force.
    pub effective_from: Date,
    /// Last day the entry is in force.
    pub expires_at: Date,
    /// Measures imposed.
    pub measures: Vec<Text>,
}

/// The serde shape of [`BlacklistEntryAdded`], with the personal fields flattened.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddedFields {
    entry_id: LocalId,
    subject_ref: SubjectRef,
    #[serde(default)]
    subject_display: Option<MaskedName>,
    #[serde(default)]
    decision_summary: Option<Text>,
    #[serde(default)]
    sealed: Option<Sealed>,
    category: BlacklistCategory,
    decision_ref: Text,
    decided_at: Date,
    effective_from: Date,
    expires_at: Date,
    measures: Vec<Text>,
}

impl TryFrom<AddedFields> for BlacklistEntryAdded {
    type Error = String;

    fn try_from(f: AddedFields) -> std::result::Result<Self, String> {
        let personal = match (f.sealed, f.subject_display) {
            (Some(sealed), None) if f.decision_summary.is_none() => Personal::Sealed(sealed),
            (None, Some(subject_display)) => Personal::Plain(PersonalFields {
                subject_display,
                decision_summary: f.decision_summary.unwrap_or_default(),
            }),
            (Some(_), _) => {
                return Err("give either sealed or subject_display and decision_summary".into())
            }
            (None, None) => return Err("missing field `subject_display`".into()),
        };
        Ok(Self {
            entry_id: f.entry_id,
            subject_ref: f.subject_ref,
            personal,
            category: f.category,
            decision_ref: f.decision_ref,
            decided_at: f.decided_at,
            effective_from: f.effective_from,
            expires_at: f.expires_at,
            measures: f.measures,
        })
    }
}

impl From<BlacklistEntryAdded> for AddedFields {
    fn from(a: BlacklistEntryAdded) -> Self {
        let (subject_display, decision_summary, sealed) = match a.personal {
            Personal::Plain(p) => (Some(p.subject_display), Some(p.decision_summary), None),
            Personal::Sealed(s) => (None, None, Some(s)),
        };
        Self {
            entry_id: a.entry_id,
            subject_ref: a.subject_ref,
            subject_display,
            decision_summary,
            sealed,
            category: a.category,
            decision_ref: a.decision_ref,
            decided_at: a.decided_at,
            effective_from: a.effective_from,
            expires_at: a.expires_at,
            measures: a.measures,
        }
    }
}

/// The personal fields of a blacklist entry in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalFields {
    /// Masked name for display.
    pub subject_display: MaskedName,
    /// What the person did, in the decision's words (may be empty).
    pub decision_summary: Text,
}

/// Personal fields encrypted under the entry's key (XChaCha20-Poly1305). Destroying the
/// key erases them everywhere while the event, its hash and its signature stay intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// 24-byte nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext with its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The personal fields of an entry, in the clear or sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Personal {
    /// As a client sends them; the hub seals them before storing.
    Plain(PersonalFields),
    /// As the hub stores and replicates them.
    Sealed(Sealed),
}

/// The personal data of a blacklist entry is erased: its key is destroyed on every node
/// the event reaches. The entry stays in the history, without the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryErased {
    /// The entry concerned.
    pub entry_id: LocalId,
    /// Why.
    pub reason: ErasureReason,
    /// The order's reference; required when `reason` is an order (may be left out of
    /// JSON otherwise).
    #[serde(default)]
    pub order_ref: Text,
}

/// A change to an entry's lifecycle taking effect on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTransition {
    /// The entry concerned.
    pub entry_id: LocalId,
    /// Appeal number, note or reason text.
    pub note: Text,
    /// Day it takes effect.
    pub effective_at: Date,
}

/// What happened: one event kind. `Unknown` stands for a kind this build does not know;
/// it is stored and replicated but skipped by the fold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Body {
    /// See [`CredentialRecognized`].
    CredentialRecognized(CredentialRecognized),
    /// See [`RecognitionWithdrawn`].
    RecognitionWithdrawn(RecognitionWithdrawn),
    /// A demand signal is published.
    DemandSignalPublished(DemandTerms),
    /// A demand signal's terms are replaced.
    DemandSignalRevised(DemandTerms),
    /// See [`DemandSignalClosed`].
    DemandSignalClosed(DemandSignalClosed),
    /// See [`BlacklistEntryAdded`].
    BlacklistEntryAdded(BlacklistEntryAdded),
    /// An appeal is pending: the entry is suspended.
    BlacklistEntrySuspended(EntryTransition),
    /// The appeal failed: the entry is in force again.
    BlacklistEntryReinstated(EntryTransition),
    /// The entry is revoked for good.
    BlacklistEntryRevoked {
        /// The transition.
        #[serde(flatten)]
        transition: EntryTransition,
        /// Why.
        reason: RevokeReason,
    },
    /// See [`EntryErased`].
    BlacklistEntryErased(EntryErased),
    /// A kind this build does not know.
    Unknown,
}

/// The kind of a body, by its protobuf field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `credential_recognized`
    CredentialRecognized,
    /// `recognition_withdrawn`
    RecognitionWithdrawn,
    /// `demand_signal_published`
    DemandSignalPublished,
    /// `demand_signal_revised`
    DemandSignalRevised,
    /// `demand_signal_closed`
    DemandSignalClosed,
    /// `blacklist_entry_added`
    BlacklistEntryAdded,
    /// `blacklist_entry_suspended`
    BlacklistEntrySuspended,
    /// `blacklist_entry_reinstated`
    BlacklistEntryReinstated,
    /// `blacklist_entry_revoked`
    BlacklistEntryRevoked,
    /// `blacklist_entry_erased`
    BlacklistEntryErased,
    /// A kind this build does not know.
    Unknown,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 11] = [
        Self::CredentialRecognized,
        Self::RecognitionWithdrawn,
        Self::DemandSignalPublished,
        Self::DemandSignalRevised,
        Self::DemandSignalClosed,
        Self::BlacklistEntryAdded,
        Self::BlacklistEntrySuspended,
        Self::BlacklistEntryReinstated,
        Self::BlacklistEntryRevoked,
        Self::BlacklistEntryErased,
        Self::Unknown,
    ];

    /// The protobuf field name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialRecognized => "credential_recognized",
            Self::RecognitionWithdrawn => "recognition_withdrawn",
            Self::DemandSignalPublished => "demand_signal_published",
            Self::DemandSignalRevised => "demand_signal_revised",
            Self::DemandSignalClosed => "demand_signal_closed",
            Self::BlacklistEntryAdded => "blacklist_entry_added",
            Self::BlacklistEntrySuspended => "blacklist_entry_suspended",
            Self::BlacklistEntryReinstated => "blacklist_entry_reinstated",
            Self::BlacklistEntryRevoked => "blacklist_entry_revoked",
            Self::BlacklistEntryErased => "blacklist_entry_erased",
            Self::Unknown => "unknown",
        }
    }

    /// Looks a kind up by its field name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The family whose streams carry this kind; `None` for unknown kinds.
    pub fn family(self) -> Option<Family> {
        match self {
            Self::CredentialRecognized | Self::RecognitionWithdrawn => Some(Family::Recognition),
            Self::DemandSignalPublished | Self::DemandSignalRevised | Self::DemandSignalClosed => {
                Some(Family::Demand)
            }
            Self::BlacklistEntryAdded
            | Self::BlacklistEntrySuspended
            | Self::BlacklistEntryReinstated
            | Self::BlacklistEntryRevoked
            | Self::BlacklistEntryErased => Some(Family::Blacklist),
            Self::Unknown => None,
        }
    }

    /// Whether an event of this kind creates its rule, signal or entry (`Some(true)`),
    /// changes one that must exist (`Some(false)`), or neither (unknown kinds).
    pub fn creates_entity(self) -> Option<bool> {
        match self {
            Self::CredentialRecognized
            | Self::DemandSignalPublished
            | Self::BlacklistEntryAdded => Some(true),
            Self::RecognitionWithdrawn
            | Self::DemandSignalRevised
            | Self::DemandSignalClosed
            | Self::BlacklistEntrySuspended
            | Self::BlacklistEntryReinstated
            | Self::BlacklistEntryRevoked
            | Self::BlacklistEntryErased => Some(false),
            Self::Unknown => None,
        }
    }
}

impl Body {
    /// The body's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::CredentialRecognized(_) => EventKind::CredentialRecognized,
            Self::RecognitionWithdrawn(_) => EventKind::RecognitionWithdrawn,
            Self::DemandSignalPublished(_) => EventKind::DemandSignalPublished,
            Self::DemandSignalRevised(_) => EventKind::DemandSignalRevised,
            Self::DemandSignalClosed(_) => EventKind::DemandSignalClosed,
            Self::BlacklistEntryAdded(_) => EventKind::BlacklistEntryAdded,
            Self::BlacklistEntrySuspended(_) => EventKind::BlacklistEntrySuspended,
            Self::BlacklistEntryReinstated(_) => EventKind::BlacklistEntryReinstated,
            Self::BlacklistEntryRevoked { .. } => EventKind::BlacklistEntryRevoked,
            Self::BlacklistEntryErased(_) => EventKind::BlacklistEntryErased,
            Self::Unknown => EventKind::Unknown,
        }
    }

    /// The signal or entry id the body names, if its family has one per stream.
    fn local_id(&self) -> Option<&LocalId> {
        match self {
            Self::DemandSignalPublished(t) | Self::DemandSignalRevised(t) => Some(&t.signal_id),
            Self::DemandSignalClosed(c) => Some(&c.signal_id),
            Self::BlacklistEntryAdded(a) => Some(&a.entry_id),
            Self::BlacklistEntrySuspended(t) | Self::BlacklistEntryReinstated(t) => {
                Some(&t.entry_id)
            }
            Self::BlacklistEntryRevoked { transition, .. } => Some(&transition.entry_id),
            Self::BlacklistEntryErased(e) => Some(&e.entry_id),
            Self::CredentialRecognized(_) | Self::RecognitionWithdrawn(_) | Self::Unknown => None,
        }
    }

    /// Checks that the body may be written to `stream`: same family, and for demand and
    /// blacklist the id in the body equals the stream's last part. Errors name the body
    /// field (relative to `body`).
    pub fn check_stream(&self, stream: &StreamId) -> Result<()> {
        let kind = self.kind();
        let Some(family) = kind.family() else {
            return Err(ValidationError::reason(
                "must set exactly one known event kind",
            ));
        };
        if family != stream.family() {
            return Err(ValidationError::new(
                kind.as_str(),
                format!(
                    "a {} event cannot be written to {} stream {stream}",
                    kind.as_str(),
                    stream.family()
                ),
            ));
        }
        if let (Some(id), Some(expected)) = (self.local_id(), stream.local()) {
            if id != expected {
                let field = if family == Family::Demand {
                    "signal_id"
                } else {
                    "entry_id"
                };
                return Err(ValidationError::new(
                    format!("{}.{field}", kind.as_str()),
                    format!(
                        "{} must equal the stream's id {}",
                        Quoted(id.as_str()),
                        Quoted(expected.as_str())
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// An event as a client submits it: the hub stamps everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Idempotency key.
    pub event_id: EventId,
    /// What happened.
    pub body: Body,
}

/// A stored event in its envelope, as the fold consumes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Idempotency key.
    pub event_id: EventId,
    /// The publishing city.
    pub origin: MemberId,
    /// Number within the origin.
    pub origin_seq: OriginSeq,
    /// The aggregate.
    pub stream: StreamId,
    /// Number within the stream.
    pub stream_version: u64,
    /// When the origin node accepted it.
    pub recorded_at: Timestamp,
    /// What happened.
    pub body: Body,
    /// This node's log position.
    pub position: Position,
}

/// The version a stream must be at for an append to succeed (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpectedVersion {
    /// No check.
    #[default]
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    Exists,
    /// The stream must be exactly at this version (0 = empty).
    Exact(u64),
}

impl ExpectedVersion {
    /// True if a stream currently at `version` (0 = empty) satisfies the expectation.
    pub fn admits(self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => version == 0,
            Self::Exists => version > 0,
            Self::Exact(n) => version == n,
        }
    }
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no_stream"),
            Self::Exists => f.write_str("exists"),
            Self::Exact(n) => write!(f, "exact({n})"),
        }
    }
}
