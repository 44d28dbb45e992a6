//! Validation of credential recognitions: rule ids, condition text, and credential codes and
//! levels that follow their kind, accepted or rejected at the exact path.

mod support;

use hub_proto::pb::{self, event_body::Kind};
use support::{accepted, body_rejected, on_list, recognized, withdrawn, LIST_STREAM};

// ---------------------------------------------------------------------------------------
// Condition text and rule ids

#[test]
fn control_characters_in_text_are_rejected() {
    let mut r = recognized();
    r.conditions = "two years\u{0}".into();
    body_rejected(
        LIST_STREAM,
        Kind::CredentialRecognized(r),
        "credential_recognized.conditions",
    );
    let mut r = recognized();
    r.conditions = "line one\nline two".into();
    accepted(&on_list(Kind::CredentialRecognized(r)));
}

#[test]
fn bad_local_ids_are_rejected() {
    for bad in ["", "-x", "has space", "斜杠", &"r".repeat(65)] {
        let mut r = recognized();
        r.rule_id = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::CredentialRecognized(r),
            "credential_recognized.rule_id",
        );
        let mut w = withdrawn();
        w.rule_id = bad.into();
        body_rejected(
            LIST_STREAM,
            Kind::RecognitionWithdrawn(w),
            "recognition_withdrawn.rule_id",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Credentials

fn with_credential(kind: pb::CredentialKind, code: &str, level: &str) -> Kind {
    let mut r = recognized();
    r.credential = Some(pb::Credential {
        kind: kind as i32,
        code: code.into(),
        level: level.into(),
    });
    Kind::CredentialRecognized(r)
}

#[test]
fn credential_levels_follow_their_kind() {
    use pb::CredentialKind as K;
    let good = [
        (K::ProfessionalTitle, "engineering", "senior_full"),
        (K::ProfessionalTitle, "health", "junior"),
        (K::SkillLevel, "6-31-01-03", "1"),
        (K::SkillLevel, "6-31-01-03", "5"),
        (K::TalentTier, "shanghai-talent", "A"),
        (K::TalentTier, "shanghai-talent", "E"),
        (K::Licence, "registered-structural-engineer", ""),
        (K::Licence, "registered-structural-engineer", "class-1"),
    ];
    for (kind, code, level) in good {
        accepted(&on_list(with_credential(kind, code, level)));
    }

    let bad_level = [
        (K::ProfessionalTitle, "engineering", "boss"),
        (K::ProfessionalTitle, "engineering", ""),
        (K::ProfessionalTitle, "engineering", "A"),
        (K::SkillLevel, "6-31-01-03", "0"),
        (K::SkillLevel, "6-31-01-03", "6"),
        (K::SkillLevel, "6-31-01-03", "senior_full"),
        (K::TalentTier, "shanghai-talent", "F"),
        (K::TalentTier, "shanghai-talent", "a"),
        (K::TalentTier, "shanghai-talent", "1"),
        (K::Licence, "registered-structural-engineer", "Bad Level"),
    ];
    for (kind, code, level) in bad_level {
        body_rejected(
            LIST_STREAM,
            with_credential(kind, code, level),
            "credential_recognized.credential.level",
        );
    }

    let bad_code = [
        (K::ProfessionalTitle, "Engineering", "senior_full"),
        (K::ProfessionalTitle, "", "senior_full"),
        (K::SkillLevel, "engineering", "2"),
        (K::TalentTier, "Tier", "A"),
        (K::Licence, "1-licence", ""),
    ];
    for (kind, code, level) in bad_code {
        body_rejected(
            LIST_STREAM,
            with_credential(kind, code, level),
            "credential_recognized.credential.code",
        );
    }
}
