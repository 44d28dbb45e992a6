//! Event bodies of the four families and the envelope they travel in.

use serde::{Deserialize, Serialize};

use crate::error::{Quoted, Result, ValidationError};
use crate::ids::{EventId, Family, LocalId, MemberId, OriginSeq, Position, StreamId, SubjectRef};
use crate::time::{Date, Period, Timestamp};
use crate::values::{
    AwardCategory, AwardEnd, AwardLevel, BlacklistCategory, CloseReason, Credential, Education,
    ErasureReason, Industry, Issuer, MaskedName, OccupationCode, PayBand, RevokeReason, Text,
    WhitelistTier,
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
        let personal = Personal::from_parts(f.sealed, f.subject_display, f.decision_summary)?;
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
        let (subject_display, decision_summary, sealed) = a.personal.into_parts();
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

impl Personal {
    /// Builds the personal fields from their JSON parts: `sealed` alone, or
    /// `subject_display` with an optional `decision_summary`.
    fn from_parts(
        sealed: Option<Sealed>,
        subject_display: Option<MaskedName>,
        decision_summary: Option<Text>,
    ) -> std::result::Result<Self, String> {
        match (sealed, subject_display) {
            (Some(sealed), None) if decision_summary.is_none() => Ok(Self::Sealed(sealed)),
            (None, Some(subject_display)) => Ok(Self::Plain(PersonalFields {
                subject_display,
                decision_summary: decision_summary.unwrap_or_default(),
            })),
            (Some(_), _) => Err(
                "give either sealed or subject_display and the other personal fields in the clear"
                    .into(),
            ),
            (None, None) => Err("missing field `subject_display`".into()),
        }
    }

    /// The JSON parts: display name and summary in the clear, or the sealed fields.
    fn into_parts(self) -> (Option<MaskedName>, Option<Text>, Option<Sealed>) {
        match self {
            Self::Plain(p) => (Some(p.subject_display), Some(p.decision_summary), None),
            Self::Sealed(s) => (None, None, Some(s)),
        }
    }
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

/// A city certifies a high-end talent on its white list (高端人才白名单); the other cities
/// accept the certification (审核认定制).
///
/// In JSON the display name sits beside the others: `subject_display` in the clear, or
/// `sealed` as the hub stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WhitelistFields", into = "WhitelistFields")]
pub struct WhitelistEntryAdded {
    /// The entry, equal to the last part of its stream.
    pub entry_id: LocalId,
    /// Keyed hash of the person's national ID.
    pub subject_ref: SubjectRef,
    /// The masked display name (the summary stays empty), sealed as the hub stores it.
    pub personal: Personal,
    /// The tier certified.
    pub tier: WhitelistTier,
    /// The certifying scheme (e.g. `shanghai-overseas-high-end`).
    pub scheme: Text,
    /// First day the certification is in force.
    pub valid_from: Date,
    /// Last day the certification is in force.
    pub valid_until: Date,
    /// The certifying document's reference.
    pub basis_ref: Text,
}

/// The serde shape of [`WhitelistEntryAdded`], with the personal field flattened.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhitelistFields {
    entry_id: LocalId,
    subject_ref: SubjectRef,
    #[serde(default)]
    subject_display: Option<MaskedName>,
    #[serde(default)]
    sealed: Option<Sealed>,
    tier: WhitelistTier,
    scheme: Text,
    valid_from: Date,
    valid_until: Date,
    basis_ref: Text,
}

impl TryFrom<WhitelistFields> for WhitelistEntryAdded {
    type Error = String;

    fn try_from(f: WhitelistFields) -> std::result::Result<Self, String> {
        Ok(Self {
            personal: Personal::from_parts(f.sealed, f.subject_display, None)?,
            entry_id: f.entry_id,
            subject_ref: f.subject_ref,
            tier: f.tier,
            scheme: f.scheme,
            valid_from: f.valid_from,
            valid_until: f.valid_until,
            basis_ref: f.basis_ref,
        })
    }
}

impl From<WhitelistEntryAdded> for WhitelistFields {
    fn from(a: WhitelistEntryAdded) -> Self {
        let (subject_display, _, sealed) = a.personal.into_parts();
        Self {
            entry_id: a.entry_id,
            subject_ref: a.subject_ref,
            subject_display,
            sealed,
            tier: a.tier,
            scheme: a.scheme,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
            basis_ref: a.basis_ref,
        }
    }
}

/// A white-list certification is extended to a new last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistEntryRenewed {
    /// The entry concerned.
    pub entry_id: LocalId,
    /// The new last day in force.
    pub valid_until: Date,
    /// The renewing document's reference.
    pub basis_ref: Text,
}

/// A white-list entry is removed from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistEntryRemoved {
    /// The entry concerned.
    pub entry_id: LocalId,
    /// Why.
    pub reason: Text,
    /// First day the entry is no longer in force.
    pub effective_at: Date,
}

/// A city funds a person under a talent programme or research project.
///
/// In JSON the display name sits beside the others: `subject_display` in the clear, or
/// `sealed` as the hub stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GrantedFields", into = "GrantedFields")]
pub struct AwardGranted {
    /// The award, equal to the last part of its stream.
    pub award_id: LocalId,
    /// Keyed hash of the person's national ID.
    pub subject_ref: SubjectRef,
    /// The masked display name (the summary stays empty), sealed as the hub stores it.
    pub personal: Personal,
    /// The programme's code (e.g. `sh-pujiang`).
    pub programme_code: Text,
    /// Talent programme or research project.
    pub category: AwardCategory,
    /// The granting government's level.
    pub level: AwardLevel,
    /// The project's title.
    pub project_title: Text,
    /// The funding in CNY.
    pub amount_cny: u64,
    /// First day funded.
    pub funded_from: Date,
    /// Last day funded.
    pub funded_until: Date,
    /// The granting decision's reference.
    pub decision_ref: Text,
}

/// The serde shape of [`AwardGranted`], with the personal field flattened.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantedFields {
    award_id: LocalId,
    subject_ref: SubjectRef,
    #[serde(default)]
    subject_display: Option<MaskedName>,
    #[serde(default)]
    sealed: Option<Sealed>,
    programme_code: Text,
    category: AwardCategory,
    level: AwardLevel,
    project_title: Text,
    amount_cny: u64,
    funded_from: Date,
    funded_until: Date,
    decision_ref: Text,
}

impl TryFrom<GrantedFields> for AwardGranted {
    type Error = String;

    fn try_from(f: GrantedFields) -> std::result::Result<Self, String> {
        Ok(Self {
            personal: Personal::from_parts(f.sealed, f.subject_display, None)?,
            award_id: f.award_id,
            subject_ref: f.subject_ref,
            programme_code: f.programme_code,
            category: f.category,
            level: f.level,
            project_title: f.project_title,
            amount_cny: f.amount_cny,
            funded_from: f.funded_from,
            funded_until: f.funded_until,
            decision_ref: f.decision_ref,
        })
    }
}

impl From<AwardGranted> for GrantedFields {
    fn from(a: AwardGranted) -> Self {
        let (subject_display, _, sealed) = a.personal.into_parts();
        Self {
            award_id: a.award_id,
            subject_ref: a.subject_ref,
            subject_display,
            sealed,
            programme_code: a.programme_code,
            category: a.category,
            level: a.level,
            project_title: a.project_title,
            amount_cny: a.amount_cny,
            funded_from: a.funded_from,
            funded_until: a.funded_until,
            decision_ref: a.decision_ref,
        }
    }
}

/// An award's title, amount or funding period is changed by a later decision. The
/// programme, category and level stay: a different programme is a different award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardAmended {
    /// The award concerned.
    pub award_id: LocalId,
    /// The project's title.
    pub project_title: Text,
    /// The funding in CNY.
    pub amount_cny: u64,
    /// First day funded.
    pub funded_from: Date,
    /// Last day funded.
    pub funded_until: Date,
    /// The amending decision's reference.
    pub decision_ref: Text,
}

/// An award ends early: withdrawn, or clawed back as a sanction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardWithdrawn {
    /// The award concerned.
    pub award_id: LocalId,
    /// Withdrawn or clawed back.
    pub outcome: AwardEnd,
    /// Why.
    pub reason: Text,
    /// First day the award is no longer in force.
    pub effective_at: Date,
}

/// The personal data of an award is erased, as [`EntryErased`] for an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardErased {
    /// The award concerned.
    pub award_id: LocalId,
    /// Why.
    pub reason: ErasureReason,
    /// The order's reference; required when `reason` is an order.
    #[serde(default)]
    pub order_ref: Text,
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
    /// See [`WhitelistEntryAdded`].
    WhitelistEntryAdded(WhitelistEntryAdded),
    /// See [`WhitelistEntryRenewed`].
    WhitelistEntryRenewed(WhitelistEntryRenewed),
    /// See [`WhitelistEntryRemoved`].
    WhitelistEntryRemoved(WhitelistEntryRemoved),
    /// The personal data of a white-list entry is erased, as for a blacklist entry.
    WhitelistEntryErased(EntryErased),
    /// See [`AwardGranted`].
    AwardGranted(AwardGranted),
    /// See [`AwardAmended`].
    AwardAmended(AwardAmended),
    /// See [`AwardWithdrawn`].
    AwardWithdrawn(AwardWithdrawn),
    /// See [`AwardErased`].
    AwardErased(AwardErased),
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
    /// `whitelist_entry_added`
    WhitelistEntryAdded,
    /// `whitelist_entry_renewed`
    WhitelistEntryRenewed,
    /// `whitelist_entry_removed`
    WhitelistEntryRemoved,
    /// `whitelist_entry_erased`
    WhitelistEntryErased,
    /// `award_granted`
    AwardGranted,
    /// `award_amended`
    AwardAmended,
    /// `award_withdrawn`
    AwardWithdrawn,
    /// `award_erased`
    AwardErased,
    /// A kind this build does not know.
    Unknown,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 19] = [
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
        Self::WhitelistEntryAdded,
        Self::WhitelistEntryRenewed,
        Self::WhitelistEntryRemoved,
        Self::WhitelistEntryErased,
        Self::AwardGranted,
        Self::AwardAmended,
        Self::AwardWithdrawn,
        Self::AwardErased,
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
            Self::WhitelistEntryAdded => "whitelist_entry_added",
            Self::WhitelistEntryRenewed => "whitelist_entry_renewed",
            Self::WhitelistEntryRemoved => "whitelist_entry_removed",
            Self::WhitelistEntryErased => "whitelist_entry_erased",
            Self::AwardGranted => "award_granted",
            Self::AwardAmended => "award_amended",
            Self::AwardWithdrawn => "award_withdrawn",
            Self::AwardErased => "award_erased",
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
            Self::WhitelistEntryAdded
            | Self::WhitelistEntryRenewed
            | Self::WhitelistEntryRemoved
            | Self::WhitelistEntryErased => Some(Family::Whitelist),
            Self::AwardGranted | Self::AwardAmended | Self::AwardWithdrawn | Self::AwardErased => {
                Some(Family::Award)
            }
            Self::Unknown => None,
        }
    }

    /// Whether an event of this kind creates its rule, signal or entry (`Some(true)`),
    /// changes one that must exist (`Some(false)`), or neither (unknown kinds).
    pub fn creates_entity(self) -> Option<bool> {
        match self {
            Self::CredentialRecognized
            | Self::DemandSignalPublished
            | Self::BlacklistEntryAdded
            | Self::WhitelistEntryAdded
            | Self::AwardGranted => Some(true),
            Self::RecognitionWithdrawn
            | Self::DemandSignalRevised
            | Self::DemandSignalClosed
            | Self::BlacklistEntrySuspended
            | Self::BlacklistEntryReinstated
            | Self::BlacklistEntryRevoked
            | Self::BlacklistEntryErased
            | Self::WhitelistEntryRenewed
            | Self::WhitelistEntryRemoved
            | Self::WhitelistEntryErased
            | Self::AwardAmended
            | Self::AwardWithdrawn
            | Self::AwardErased => Some(false),
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
            Self::WhitelistEntryAdded(_) => EventKind::WhitelistEntryAdded,
            Self::WhitelistEntryRenewed(_) => EventKind::WhitelistEntryRenewed,
            Self::WhitelistEntryRemoved(_) => EventKind::WhitelistEntryRemoved,
            Self::WhitelistEntryErased(_) => EventKind::WhitelistEntryErased,
            Self::AwardGranted(_) => EventKind::AwardGranted,
            Self::AwardAmended(_) => EventKind::AwardAmended,
            Self::AwardWithdrawn(_) => EventKind::AwardWithdrawn,
            Self::AwardErased(_) => EventKind::AwardErased,
            Self::Unknown => EventKind::Unknown,
        }
    }

    /// The stream of `owner` this body belongs to: its family's stream for the id it
    /// names, or the owner's recognition list for recognition bodies (and unknown kinds).
    pub fn stream_for(&self, owner: MemberId) -> StreamId {
        let family = self.kind().family().unwrap_or(Family::Recognition);
        match (family, self.local_id()) {
            (Family::Demand, Some(id)) => StreamId::demand(owner, id.clone()),
            (Family::Blacklist, Some(id)) => StreamId::blacklist(owner, id.clone()),
            (Family::Whitelist, Some(id)) => StreamId::whitelist(owner, id.clone()),
            (Family::Award, Some(id)) => StreamId::award(owner, id.clone()),
            _ => StreamId::recognition(owner),
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
            Self::BlacklistEntryErased(e) | Self::WhitelistEntryErased(e) => Some(&e.entry_id),
            Self::WhitelistEntryAdded(a) => Some(&a.entry_id),
            Self::WhitelistEntryRenewed(r) => Some(&r.entry_id),
            Self::WhitelistEntryRemoved(r) => Some(&r.entry_id),
            Self::AwardGranted(a) => Some(&a.award_id),
            Self::AwardAmended(a) => Some(&a.award_id),
            Self::AwardWithdrawn(w) => Some(&w.award_id),
            Self::AwardErased(e) => Some(&e.award_id),
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
                let field = match family {
                    Family::Demand => "signal_id",
                    Family::Award => "award_id",
                    _ => "entry_id",
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
