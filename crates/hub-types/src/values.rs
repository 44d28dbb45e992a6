//! Validated values carried inside event bodies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{AtField, Quoted, Result, ValidationError};
use crate::ids::MemberId;
use crate::short_text::ShortText;

/// Free text with a bounded length in characters (reasons, conditions, notes).
/// Kept inline when short (most labels and references are), and written as its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Text(ShortText);

impl Text {
    /// Accepts text of at most `max` characters without control characters; empty is
    /// allowed only when `required` is false.
    pub fn new(s: &str, max: usize, required: bool) -> Result<Self> {
        let n = s.chars().count();
        if required && s.trim().is_empty() {
            return Err(ValidationError::reason("must not be empty"));
        }
        if n > max {
            return Err(ValidationError::reason(format!(
                "expected at most {max} characters, got {n}"
            )));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValidationError::reason(
                "must not contain control characters",
            ));
        }
        Ok(Self(ShortText::new(s)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest reason, note or condition text.
pub const MAX_TEXT: usize = 500;
/// Longest short label (local equivalent, level, decision number).
pub const MAX_LABEL: usize = 64;

/// A lowercase slug naming a title series, scheme or licence: `[a-z][a-z0-9_-]{0,47}`.
fn slug(s: &str) -> Result<String> {
    let ok = !s.is_empty()
        && s.len() <= 48
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(ValidationError::reason(format!(
            "expected a lowercase slug [a-z][a-z0-9_-]{{0,47}}, got {}",
            Quoted(s)
        )));
    }
    Ok(s.to_owned())
}

/// The kinds of credential a city can recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// 职称: code is the series, level senior_full … junior.
    ProfessionalTitle,
    /// 职业技能等级: code is an occupation code, level 1 (高级技师) … 5 (初级工).
    SkillLevel,
    /// 人才层次: code is the issuing scheme, level A … E.
    TalentTier,
    /// 执业资格: code is the licence, level optional.
    Licence,
}

impl CredentialKind {
    /// The kind's wire name, as in JSON and in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfessionalTitle => "professional_title",
            Self::SkillLevel => "skill_level",
            Self::TalentTier => "talent_tier",
            Self::Licence => "licence",
        }
    }
}

/// Professional-title levels, highest first.
pub const TITLE_LEVELS: [&str; 5] = [
    "senior_full",
    "senior_deputy",
    "intermediate",
    "assistant",
    "junior",
];

/// A credential as issued by a city: kind, code and level, checked per kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Which grammar `code` and `level` follow.
    pub kind: CredentialKind,
    /// Series, occupation code, scheme or licence.
    pub code: String,
    /// The level within the kind; empty only for a licence without levels.
    pub level: String,
}

impl Credential {
    /// Checks `code` and `level` against the grammar of `kind`.
    pub fn new(kind: CredentialKind, code: &str, level: &str) -> Result<Self> {
        let code = match kind {
            CredentialKind::SkillLevel => code.parse::<OccupationCode>().at("code")?.to_string(),
            _ => slug(code).at("code")?,
        };
        let level_ok = match kind {
            CredentialKind::ProfessionalTitle => TITLE_LEVELS.contains(&level),
            CredentialKind::SkillLevel => matches!(level, "1" | "2" | "3" | "4" | "5"),
            CredentialKind::TalentTier => matches!(level, "A" | "B" | "C" | "D" | "E"),
            CredentialKind::Licence => level.is_empty() || slug(level).is_ok(),
        };
        if !level_ok {
            let expected = match kind {
                CredentialKind::ProfessionalTitle => TITLE_LEVELS.join(", "),
                CredentialKind::SkillLevel => "1, 2, 3, 4 or 5".to_owned(),
                CredentialKind::TalentTier => "A, B, C, D or E".to_owned(),
                CredentialKind::Licence => "empty or a lowercase slug".to_owned(),
            };
            return Err(ValidationError::new(
                "level",
                format!(
                    "expected {expected} for {}, got {}",
                    kind.as_str(),
                    Quoted(level)
                ),
            ));
        }
        Ok(Self {
            kind,
            code,
            level: level.to_owned(),
        })
    }
}

/// Which cities' credentials a recognition rule covers. Written `*` or a member code, in
/// JSON as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Issuer {
    /// Credentials issued by any member city (written `*`).
    Any,
    /// Credentials issued by one city.
    Member(MemberId),
}

impl Issuer {
    /// True if a credential issued by `member` falls under this issuer.
    pub fn covers(self, member: MemberId) -> bool {
        match self {
            Self::Any => true,
            Self::Member(m) => m == member,
        }
    }
}

impl FromStr for Issuer {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        if s == "*" {
            return Ok(Self::Any);
        }
        s.parse().map(Self::Member)
    }
}

impl TryFrom<String> for Issuer {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Issuer> for String {
    fn from(i: Issuer) -> String {
        i.to_string()
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Member(m) => m.fmt(f),
        }
    }
}

/// The key industries of the alliance plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    /// 人工智能
    ArtificialIntelligence,
    /// 航空航天
    Aerospace,
    /// 生命健康
    LifeAndHealth,
    /// 集成电路
    IntegratedCircuits,
    /// 氢能源
    HydrogenEnergy,
}

impl Industry {
    /// Every industry, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::ArtificialIntelligence,
        Self::Aerospace,
        Self::LifeAndHealth,
        Self::IntegratedCircuits,
        Self::HydrogenEnergy,
    ];

    /// The snake_case name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArtificialIntelligence => "artificial_intelligence",
            Self::Aerospace => "aerospace",
            Self::LifeAndHealth => "life_and_health",
            Self::IntegratedCircuits => "integrated_circuits",
            Self::HydrogenEnergy => "hydrogen_energy",
        }
    }
}

impl FromStr for Industry {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| {
                ValidationError::reason(format!(
                    "expected one of {}, got {}",
                    Self::ALL.map(Self::as_str).join(", "),
                    Quoted(s)
                ))
            })
    }
}

impl fmt::Display for Industry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An occupation code of the national occupation classification (2022): `M-mm-nn-dd`
/// with major group 1–8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OccupationCode([u8; 4]);

impl OccupationCode {
    /// The major group, 1..=8.
    pub fn major_group(self) -> u8 {
        self.0[0]
    }
}

impl FromStr for OccupationCode {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            ValidationError::reason(format!(
                "expected an occupation code M-mm-nn-dd with major group 1-8, got {}",
                Quoted(s)
            ))
        };
        // Read byte by byte: codes are parsed for every signal a snapshot restores.
        let Ok([m, b'-', a1, a2, b'-', b1, b2, b'-', c1, c2]) = <[u8; 10]>::try_from(s.as_bytes())
        else {
            return Err(bad());
        };
        let two = |hi: u8, lo: u8| -> Result<u8> {
            if hi.is_ascii_digit() && lo.is_ascii_digit() {
                Ok((hi - b'0') * 10 + (lo - b'0'))
            } else {
                Err(bad())
            }
        };
        if !matches!(m, b'1'..=b'8') {
            return Err(bad());
        }
        let (a, b, c) = (two(a1, a2)?, two(b1, b2)?, two(c1, c2)?);
        if a == 0 {
            return Err(bad());
        }
        Ok(Self([m - b'0', a, b, c]))
    }
}

impl TryFrom<String> for OccupationCode {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl OccupationCode {
    /// The code's text, `M-mm-nn-dd`, written digit by digit: codes are written for every
    /// signal a snapshot holds and every answer that names one.
    fn text(self) -> [u8; 10] {
        let [m, a, b, c] = self.0;
        let digit = |n: u8| b'0' + n % 10;
        [
            digit(m),
            b'-',
            digit(a / 10),
            digit(a),
            b'-',
            digit(b / 10),
            digit(b),
            b'-',
            digit(c / 10),
            digit(c),
        ]
    }
}

impl From<OccupationCode> for String {
    fn from(c: OccupationCode) -> String {
        c.text().into_iter().map(char::from).collect()
    }
}

impl fmt::Display for OccupationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Largest headcount one demand signal may ask for.
pub const MAX_HEADCOUNT: u32 = 100_000;
/// Highest monthly pay a band may name, in CNY.
pub const MAX_MONTHLY_PAY: u32 = 1_000_000;

/// Checks a headcount: 1..=[`MAX_HEADCOUNT`].
pub fn headcount(n: u32) -> Result<u32> {
    if n == 0 || n > MAX_HEADCOUNT {
        return Err(ValidationError::reason(format!(
            "expected 1..={MAX_HEADCOUNT}, got {n}"
        )));
    }
    Ok(n)
}

/// Monthly pay in CNY with `min <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayBand {
    /// Lowest monthly pay offered.
    pub min: u32,
    /// Highest monthly pay offered.
    pub max: u32,
}

impl PayBand {
    /// Builds a band, rejecting `min > max` and pay above [`MAX_MONTHLY_PAY`].
    pub fn new(min: u32, max: u32) -> Result<Self> {
        if max > MAX_MONTHLY_PAY {
            return Err(ValidationError::new(
                "max",
                format!("expected at most {MAX_MONTHLY_PAY} CNY per month, got {max}"),
            ));
        }
        if min > max {
            return Err(ValidationError::new(
                "min",
                format!("min {min} must not exceed max {max}"),
            ));
        }
        Ok(Self { min, max })
    }
}

/// Education a demand signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Education {
    /// No requirement.
    Any,
    /// Vocational school.
    Vocational,
    /// Bachelor's degree.
    Bachelor,
    /// Master's degree.
    Master,
    /// Doctorate.
    Doctorate,
}

/// A person's masked display name (e.g. `张*` or `王*明`): at least one `*`, at most two
/// unmasked characters, no digits, so that the view never shows a full name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MaskedName(String);

impl MaskedName {
    /// The masked name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MaskedName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        let chars: Vec<char> = s.chars().collect();
        let masked = chars.iter().filter(|c| **c == '*').count();
        let shown = chars.len() - masked;
        if chars.len() < 2 || chars.len() > 16 {
            return Err(ValidationError::reason(format!(
                "expected 2..=16 characters, got {}",
                chars.len()
            )));
        }
        if masked == 0 || shown > 2 {
            return Err(ValidationError::reason(format!(
                "must be masked: at least one '*' and at most two visible characters, got {shown} visible"
            )));
        }
        if chars.iter().any(|c| c.is_ascii_digit() || c.is_control()) {
            return Err(ValidationError::reason(
                "must not contain digits or control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for MaskedName {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<MaskedName> for String {
    fn from(m: MaskedName) -> String {
        m.0
    }
}

impl fmt::Display for MaskedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a demand signal was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The positions were filled.
    Filled,
    /// The employer withdrew the demand.
    Cancelled,
    /// The period ended.
    Expired,
}

/// The blacklist categories of the alliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlacklistCategory {
    /// 人才计划申报造假
    ApplicationFraud,
    /// 学术不端
    AcademicMisconduct,
    /// 证书造假
    CredentialForgery,
    /// 违约
    ContractBreach,
    /// 经费违规使用
    FundingMisuse,
}

/// Why a blacklist entry was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// 申诉成立
    AppealUpheld,
    /// 信用修复
    CreditRepaired,
    /// Recorded in error.
    Error,
}

/// Most measures one blacklist entry may list.
pub const MAX_MEASURES: usize = 16;

/// Why a blacklist entry's personal data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The retention period ended (PIPL art. 19, 47).
    RetentionEnded,
    /// An order (court, regulator or the person's request upheld) requires it.
    Order,
}

/// The tier of a white-list entry (高端人才白名单), highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhitelistTier {
    /// A: internationally leading talent (顶尖人才).
    A,
    /// B: national leading talent (领军人才).
    B,
    /// C: outstanding young and local talent (拔尖人才).
    C,
}

impl WhitelistTier {
    /// Every tier, highest first.
    pub const ALL: [Self; 3] = [Self::A, Self::B, Self::C];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
            Self::C => "c",
        }
    }
}

/// What an award funds (人才计划、科研项目).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardCategory {
    /// A talent programme (人才计划).
    TalentProgramme,
    /// A research project (科研项目).
    ResearchProject,
}

impl AwardCategory {
    /// Every category.
    pub const ALL: [Self; 2] = [Self::TalentProgramme, Self::ResearchProject];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TalentProgramme => "talent_programme",
            Self::ResearchProject => "research_project",
        }
    }
}

impl FromStr for AwardCategory {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ValidationError::reason(format!(
                    "expected talent_programme or research_project, got {}",
                    Quoted(s)
                ))
            })
    }
}

/// The government level that grants an award, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardLevel {
    /// 国家级
    National,
    /// 省级
    Provincial,
    /// 市级
    Municipal,
    /// 区级
    District,
}

impl AwardLevel {
    /// Every level, highest first.
    pub const ALL: [Self; 4] = [
        Self::National,
        Self::Provincial,
        Self::Municipal,
        Self::District,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::National => "national",
            Self::Provincial => "provincial",
            Self::Municipal => "municipal",
            Self::District => "district",
        }
    }
}

impl FromStr for AwardLevel {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                ValidationError::reason(format!(
                    "expected national, provincial, municipal or district, got {}",
                    Quoted(s)
                ))
            })
    }
}

/// How an award ends before its period does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardEnd {
    /// Withdrawn (撤销): no further funding, nothing paid back.
    Withdrawn,
    /// Clawed back (追回): the funding paid is recovered, as a sanction.
    ClawedBack,
}

impl AwardEnd {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawn => "withdrawn",
            Self::ClawedBack => "clawed_back",
        }
    }
}

/// Largest award amount in CNY (ten billion yuan).
pub const MAX_AWARD_CNY: u64 = 10_000_000_000;

/// Checks an award amount in CNY: 1..=[`MAX_AWARD_CNY`].
pub fn award_amount(n: u64) -> Result<u64> {
    if n == 0 || n > MAX_AWARD_CNY {
        return Err(ValidationError::reason(format!(
            "expected 1..={MAX_AWARD_CNY} CNY, got {n}"
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_as_a_string_however_long() {
        let long = "长".repeat(MAX_LABEL);
        for s in ["", "senior", "沪人社〔2025〕12号", long.as_str()] {
            let text = Text::new(s, MAX_TEXT, false).expect("text");
            let binary = bincode::serialize(&text).expect("bincode");
            assert_eq!(binary, bincode::serialize(s).expect("bincode"), "{s}");
            assert_eq!(bincode::deserialize::<Text>(&binary).expect("back"), text);
            let json = serde_json::to_string(&text).expect("json");
            assert_eq!(json, serde_json::to_string(s).expect("json"));
            assert_eq!(serde_json::from_str::<Text>(&json).expect("back"), text);
            assert_eq!(text.as_str(), s);
        }
        assert_eq!(Text::default().as_str(), "");
    }

    #[test]
    fn credentials_follow_their_kind() {
        assert!(Credential::new(
            CredentialKind::ProfessionalTitle,
            "engineering",
            "senior_deputy"
        )
        .is_ok());
        assert!(Credential::new(CredentialKind::SkillLevel, "6-31-01-03", "2").is_ok());
        assert!(Credential::new(CredentialKind::TalentTier, "shanghai-talent", "B").is_ok());
        assert!(Credential::new(CredentialKind::Licence, "licensed-physician", "").is_ok());

        let e =
            Credential::new(CredentialKind::ProfessionalTitle, "engineering", "boss").unwrap_err();
        assert_eq!(e.path, "level");
        let e = Credential::new(CredentialKind::SkillLevel, "engineering", "2").unwrap_err();
        assert_eq!(e.path, "code");
        let e = Credential::new(CredentialKind::SkillLevel, "6-31-01-03", "6").unwrap_err();
        assert_eq!(e.path, "level");
        let e = Credential::new(CredentialKind::TalentTier, "Tier", "A").unwrap_err();
        assert_eq!(e.path, "code");
        assert!(Credential::new(CredentialKind::TalentTier, "x", "F").is_err());
        assert!(Credential::new(CredentialKind::Licence, "x", "Bad Level").is_err());
    }

    #[test]
    fn issuers_are_members_or_any() {
        let sh: MemberId = "310000".parse().unwrap();
        assert!("*".parse::<Issuer>().unwrap().covers(sh));
        assert!("310000".parse::<Issuer>().unwrap().covers(sh));
        assert!(!"330400".parse::<Issuer>().unwrap().covers(sh));
        assert!("**".parse::<Issuer>().is_err());
    }

    #[test]
    fn industries_by_name() {
        for i in Industry::ALL {
            assert_eq!(i.as_str().parse::<Industry>().unwrap(), i);
        }
        assert!("mining".parse::<Industry>().is_err());
    }

    #[test]
    fn occupation_codes() {
        assert_eq!(
            "2-02-10-09".parse::<OccupationCode>().unwrap().to_string(),
            "2-02-10-09"
        );
        for bad in [
            "9-02-10-09",
            "0-02-10-09",
            "2-2-10-09",
            "2-02-10",
            "2-00-10-09",
            "2-02-10-0x",
            "2/02/10/09",
            "2-02-10-099",
            "+2-02-10-09",
            "2-02-1-099",
            "２-02-10-09",
            "",
        ] {
            assert!(bad.parse::<OccupationCode>().is_err(), "{bad}");
        }
        // Every code reads and writes as the text it is, in every form it is written in.
        for m in 1..=8u8 {
            for a in 1..=99u8 {
                for (b, c) in [(0, 0), (7, 42), (99, 99), (a, 100 - a)] {
                    let text = format!("{m}-{a:02}-{b:02}-{c:02}");
                    let code: OccupationCode = text.parse().expect("a valid code");
                    assert_eq!(code.to_string(), text);
                    assert_eq!(String::from(code), text);
                    assert_eq!(code.major_group(), m);
                    let json = serde_json::to_string(&code).expect("json");
                    assert_eq!(json, format!("\"{text}\""));
                }
            }
        }
    }

    #[test]
    fn headcounts_and_pay_bands() {
        assert!(headcount(1).is_ok());
        assert!(headcount(MAX_HEADCOUNT).is_ok());
        assert!(headcount(0).is_err());
        assert!(headcount(MAX_HEADCOUNT + 1).is_err());
        assert!(PayBand::new(10_000, 10_000).is_ok());
        assert_eq!(PayBand::new(20_000, 10_000).unwrap_err().path, "min");
        assert_eq!(
            PayBand::new(0, MAX_MONTHLY_PAY + 1).unwrap_err().path,
            "max"
        );
    }

    #[test]
    fn display_names_must_be_masked() {
        for ok in ["张*", "王*明", "欧阳**", "L*"] {
            assert!(ok.parse::<MaskedName>().is_ok(), "{ok}");
        }
        for bad in [
            "张三",
            "王小明",
            "*",
            "张*1",
            "欧阳小*明",
            "",
            "***************** ",
        ] {
            assert!(bad.parse::<MaskedName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_bounded() {
        assert!(Text::new("", 10, false).is_ok());
        assert!(Text::new(" ", 10, true).is_err());
        assert!(Text::new(&"字".repeat(10), 10, true).is_ok());
        assert!(Text::new(&"字".repeat(11), 10, true).is_err());
        assert!(Text::new("a\u{7}b", 10, true).is_err());
    }
}
