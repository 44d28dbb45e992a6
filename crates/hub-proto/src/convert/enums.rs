//! Enums and small values between the wire and the domain.

use hub_types::error::Result;
use hub_types::values::{
    BlacklistCategory, CloseReason, Credential, CredentialKind, Education, ErasureReason, Industry,
    RevokeReason,
};

use super::enum_value;
use crate::pb;

/// Validates a wire credential kind.
pub fn credential_kind_from_proto(raw: i32) -> Result<CredentialKind> {
    Ok(match enum_value(raw, "kind")? {
        pb::CredentialKind::ProfessionalTitle => CredentialKind::ProfessionalTitle,
        pb::CredentialKind::SkillLevel => CredentialKind::SkillLevel,
        pb::CredentialKind::TalentTier => CredentialKind::TalentTier,
        pb::CredentialKind::Licence => CredentialKind::Licence,
        pb::CredentialKind::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts a credential kind to its wire value.
pub fn credential_kind_to_proto(kind: CredentialKind) -> pb::CredentialKind {
    match kind {
        CredentialKind::ProfessionalTitle => pb::CredentialKind::ProfessionalTitle,
        CredentialKind::SkillLevel => pb::CredentialKind::SkillLevel,
        CredentialKind::TalentTier => pb::CredentialKind::TalentTier,
        CredentialKind::Licence => pb::CredentialKind::Licence,
    }
}

/// Validates a wire credential.
pub fn credential_from_proto(c: &pb::Credential) -> Result<Credential> {
    Credential::new(credential_kind_from_proto(c.kind)?, &c.code, &c.level)
}

/// Converts a credential to the wire.
pub fn credential_to_proto(c: &Credential) -> pb::Credential {
    pb::Credential {
        kind: credential_kind_to_proto(c.kind) as i32,
        code: c.code.clone(),
        level: c.level.clone(),
    }
}

/// Validates a wire industry.
pub fn industry_from_proto(raw: i32) -> Result<Industry> {
    Ok(match enum_value(raw, "")? {
        pb::Industry::ArtificialIntelligence => Industry::ArtificialIntelligence,
        pb::Industry::Aerospace => Industry::Aerospace,
        pb::Industry::LifeAndHealth => Industry::LifeAndHealth,
        pb::Industry::IntegratedCircuits => Industry::IntegratedCircuits,
        pb::Industry::HydrogenEnergy => Industry::HydrogenEnergy,
        pb::Industry::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts an industry to its wire value.
pub fn industry_to_proto(i: Industry) -> pb::Industry {
    match i {
        Industry::ArtificialIntelligence => pb::Industry::ArtificialIntelligence,
        Industry::Aerospace => pb::Industry::Aerospace,
        Industry::LifeAndHealth => pb::Industry::LifeAndHealth,
        Industry::IntegratedCircuits => pb::Industry::IntegratedCircuits,
        Industry::HydrogenEnergy => pb::Industry::HydrogenEnergy,
    }
}

pub(super) fn education(raw: i32) -> Result<Education> {
    Ok(match enum_value(raw, "")? {
        pb::Education::Any => Education::Any,
        pb::Education::Vocational => Education::Vocational,
        pb::Education::Bachelor => Education::Bachelor,
        pb::Education::Master => Education::Master,
        pb::Education::Doctorate => Education::Doctorate,
        pb::Education::Unspecified => unreachable!("rejected by enum_value"),
    })
}

pub(super) fn education_to_proto(e: Education) -> pb::Education {
    match e {
        Education::Any => pb::Education::Any,
        Education::Vocational => pb::Education::Vocational,
        Education::Bachelor => pb::Education::Bachelor,
        Education::Master => pb::Education::Master,
        Education::Doctorate => pb::Education::Doctorate,
    }
}

pub(super) fn close_reason(raw: i32) -> Result<CloseReason> {
    Ok(match enum_value(raw, "")? {
        pb::CloseReason::Filled => CloseReason::Filled,
        pb::CloseReason::Cancelled => CloseReason::Cancelled,
        pb::CloseReason::Expired => CloseReason::Expired,
        pb::CloseReason::Unspecified => unreachable!("rejected by enum_value"),
    })
}

pub(super) fn close_reason_to_proto(r: CloseReason) -> pb::CloseReason {
    match r {
        CloseReason::Filled => pb::CloseReason::Filled,
        CloseReason::Cancelled => pb::CloseReason::Cancelled,
        CloseReason::Expired => pb::CloseReason::Expired,
    }
}

/// Validates a wire blacklist category.
pub fn category_from_proto(raw: i32) -> Result<BlacklistCategory> {
    Ok(match enum_value(raw, "")? {
        pb::BlacklistCategory::ApplicationFraud => BlacklistCategory::ApplicationFraud,
        pb::BlacklistCategory::AcademicMisconduct => BlacklistCategory::AcademicMisconduct,
        pb::BlacklistCategory::CredentialForgery => BlacklistCategory::CredentialForgery,
        pb::BlacklistCategory::ContractBreach => BlacklistCategory::ContractBreach,
        pb::BlacklistCategory::FundingMisuse => BlacklistCategory::FundingMisuse,
        pb::BlacklistCategory::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts a blacklist category to its wire value.
pub fn category_to_proto(c: BlacklistCategory) -> pb::BlacklistCategory {
    match c {
        BlacklistCategory::ApplicationFraud => pb::BlacklistCategory::ApplicationFraud,
        BlacklistCategory::AcademicMisconduct => pb::BlacklistCategory::AcademicMisconduct,
        BlacklistCategory::CredentialForgery => pb::BlacklistCategory::CredentialForgery,
        BlacklistCategory::ContractBreach => pb::BlacklistCategory::ContractBreach,
        BlacklistCategory::FundingMisuse => pb::BlacklistCategory::FundingMisuse,
    }
}

pub(super) fn revoke_reason(raw: i32) -> Result<RevokeReason> {
    Ok(match enum_value(raw, "")? {
        pb::RevokeReason::AppealUpheld => RevokeReason::AppealUpheld,
        pb::RevokeReason::CreditRepaired => RevokeReason::CreditRepaired,
        pb::RevokeReason::Error => RevokeReason::Error,
        pb::RevokeReason::Unspecified => unreachable!("rejected by enum_value"),
    })
}

pub(super) fn revoke_reason_to_proto(r: RevokeReason) -> pb::RevokeReason {
    match r {
        RevokeReason::AppealUpheld => pb::RevokeReason::AppealUpheld,
        RevokeReason::CreditRepaired => pb::RevokeReason::CreditRepaired,
        RevokeReason::Error => pb::RevokeReason::Error,
    }
}

/// Converts an erasure reason from the wire.
pub fn erasure_reason_from_proto(raw: i32) -> Result<ErasureReason> {
    Ok(match enum_value(raw, "")? {
        pb::ErasureReason::RetentionEnded => ErasureReason::RetentionEnded,
        pb::ErasureReason::Order => ErasureReason::Order,
        pb::ErasureReason::Unspecified => unreachable!("rejected by enum_value"),
    })
}

/// Converts an erasure reason to the wire.
pub fn erasure_reason_to_proto(r: ErasureReason) -> pb::ErasureReason {
    match r {
        ErasureReason::RetentionEnded => pb::ErasureReason::RetentionEnded,
        ErasureReason::Order => pb::ErasureReason::Order,
    }
}
