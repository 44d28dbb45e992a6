//! The event mix of `hub-bench view`: eight cities publishing recognition lists, demand
//! signals and blacklist entries with their follow-ups, reproducibly from a seed.

use hub_proto::convert::credential_to_proto;
use hub_proto::pb;
use hub_types::event::{
    BlacklistEntryAdded, CredentialRecognized, DemandSignalClosed, DemandTerms, EntryTransition,
    Personal, PersonalFields, RecognitionWithdrawn,
};
use hub_types::values::{
    BlacklistCategory, CloseReason, Credential, CredentialKind, Education, Industry, Issuer,
    PayBand, RevokeReason, Text, MAX_LABEL, MAX_TEXT, TITLE_LEVELS,
};
use hub_types::{Body, Date, LocalId, MemberId, Period, StreamId, SubjectRef};

use super::axes;

/// The eight cities that publish, in roster order.
pub(crate) const CITIES: [u32; 8] = [
    310000, 320100, 320500, 330100, 330200, 330400, 340100, 320200,
];
/// Occupation codes the demand signals draw from.
const OCCUPATIONS: [&str; 8] = [
    "2-02-09-06",
    "2-02-10-09",
    "6-25-02-03",
    "2-05-01-01",
    "6-31-01-03",
    "2-02-07-08",
    "4-04-05-01",
    "2-02-22-01",
];

/// splitmix64: small, fast and reproducible from `--seed`.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The generator of the event mix: what each city has published so far, and the
/// follow-ups (revisions, closures, lifecycle steps) it still owes.
#[derive(Debug)]
pub(crate) struct Mix {
    rng: Rng,
    cities: Vec<MemberId>,
    credentials: Vec<Credential>,
    /// People who may be listed; a pool smaller than the number of entries, so that some
    /// are listed more than once, by one city or several.
    subjects: Vec<SubjectRef>,
    /// Rule ids of each city, for revisions and withdrawals.
    pub(crate) rules: Vec<Vec<LocalId>>,
    pub(crate) signals: u64,
    pub(crate) entries: u64,
    /// Later events of streams already started, appended in random order.
    pending: Vec<(StreamId, Vec<Body>)>,
    text: Text,
    conditions: Text,
    level: Text,
    display: hub_types::values::MaskedName,
}

impl Mix {
    pub(crate) fn new(seed: u64, events: u64) -> anyhow::Result<Self> {
        let cities = CITIES
            .iter()
            .map(|c| MemberId::from_code(*c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut credentials = Vec::new();
        for series in [
            "engineering",
            "health",
            "economics",
            "education",
            "agriculture",
        ] {
            for level in TITLE_LEVELS {
                credentials.push(Credential::new(
                    CredentialKind::ProfessionalTitle,
                    series,
                    level,
                )?);
            }
        }
        for code in OCCUPATIONS {
            for level in ["1", "2", "3", "4", "5"] {
                credentials.push(Credential::new(CredentialKind::SkillLevel, code, level)?);
            }
        }
        for scheme in [
            "shanghai-talent",
            "nanjing-talent",
            "suzhou-talent",
            "hangzhou-talent",
        ] {
            for level in ["A", "B", "C", "D", "E"] {
                credentials.push(Credential::new(CredentialKind::TalentTier, scheme, level)?);
            }
        }
        for licence in ["registered-structural-engineer", "licensed-pharmacist"] {
            credentials.push(Credential::new(CredentialKind::Licence, licence, "")?);
        }
        let mut rng = Rng(seed);
        let pool = (events / 25).max(100);
        let subjects = (0..pool)
            .map(|_| {
                let mut bytes = [0u8; 32];
                for chunk in bytes.chunks_mut(8) {
                    chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
                }
                SubjectRef::from_bytes(bytes)
            })
            .collect();
        Ok(Self {
            rng,
            rules: vec![Vec::new(); cities.len()],
            cities,
            credentials,
            subjects,
            signals: 0,
            entries: 0,
            pending: Vec::new(),
            text: Text::new("recorded by the city's talent office", MAX_TEXT, true)?,
            conditions: Text::new("须在本市缴纳社会保险满一年", MAX_TEXT, false)?,
            level: Text::new("senior", MAX_LABEL, true)?,
            display: "张*".parse()?,
        })
    }

    /// Puts an append back to be made later.
    pub(crate) fn defer(&mut self, stream: StreamId, bodies: Vec<Body>) {
        self.pending.push((stream, bodies));
    }

    /// The next append: a follow-up owed by an earlier stream, or a new story.
    pub(crate) fn next_append(&mut self) -> (StreamId, Vec<Body>) {
        if !self.pending.is_empty() && self.rng.chance(0.45) {
            let i = self.rng.below(self.pending.len());
            return self.pending.swap_remove(i);
        }
        let city = self.rng.below(self.cities.len());
        let roll = self.rng.below(100);
        if roll < 3 {
            self.recognition(city)
        } else if roll < 58 {
            self.demand(city)
        } else {
            self.blacklist(city)
        }
    }

    fn date(&mut self) -> Date {
        // 2024-01-01 plus up to four years.
        Date::from_days_since_epoch(19_723 + self.rng.below(1461) as i32)
    }

    fn local_id(prefix: &str, n: u64) -> LocalId {
        format!("{prefix}-{n}")
            .parse()
            .expect("generated ids are well formed")
    }

    /// A batch of changes to one city's recognition list. As in the alliance's lists, a
    /// city has at most one rule per credential and issuing city (or `*`), named after
    /// them; recognising the same pair again revises that rule. Some changes withdraw one.
    fn recognition(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        let n = 1 + self.rng.below(6);
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            let existing = self.rules[city].len();
            if existing > 0 && self.rng.chance(0.05) {
                let rule_id = self.rules[city][self.rng.below(existing)].clone();
                bodies.push(Body::RecognitionWithdrawn(RecognitionWithdrawn {
                    rule_id,
                    reason: self.text.clone(),
                    effective_at: self.date(),
                }));
                continue;
            }
            let credential = self.rng.below(self.credentials.len());
            let issuer = if self.rng.chance(0.1) {
                Issuer::Any
            } else {
                // Another city: a city does not recognise its own credentials.
                let other = (city + 1 + self.rng.below(self.cities.len() - 1)) % self.cities.len();
                Issuer::Member(self.cities[other])
            };
            let rule_id = match issuer {
                Issuer::Any => Self::local_id(&format!("c{credential}"), 0),
                Issuer::Member(m) => Self::local_id(&format!("c{credential}"), u64::from(m.code())),
            };
            if !self.rules[city].contains(&rule_id) {
                self.rules[city].push(rule_id.clone());
            }
            let effective_from = self.date();
            let effective_until = self
                .rng
                .chance(0.3)
                .then(|| Date::from_days_since_epoch(effective_from.days_since_epoch() + 730));
            bodies.push(Body::CredentialRecognized(CredentialRecognized {
                rule_id,
                credential: self.credentials[credential].clone(),
                issuer,
                local_equivalent: self.level.clone(),
                conditions: if self.rng.chance(0.5) {
                    self.conditions.clone()
                } else {
                    Text::default()
                },
                effective_from,
                effective_until,
            }));
        }
        (StreamId::recognition(self.cities[city]), bodies)
    }

    fn terms(&mut self, signal_id: &LocalId) -> DemandTerms {
        let min = 5_000 + 500 * self.rng.below(40) as u32;
        DemandTerms {
            signal_id: signal_id.clone(),
            industry: *self.rng.pick(&Industry::ALL),
            occupation_code: self
                .rng
                .pick(&OCCUPATIONS)
                .parse()
                .expect("listed codes are valid"),
            level: self.level.clone(),
            headcount: 1 + self.rng.below(200) as u32,
            period: Period::new(2024 + self.rng.below(4) as u16, 1 + self.rng.below(4) as u8)
                .expect("periods in range"),
            pay_band: PayBand::new(min, min + 2_000 + 500 * self.rng.below(20) as u32)
                .expect("bands in range"),
            education: *self.rng.pick(&[
                Education::Any,
                Education::Vocational,
                Education::Bachelor,
                Education::Master,
                Education::Doctorate,
            ]),
        }
    }

    /// A new signal; later, perhaps a revision, and usually a closure.
    fn demand(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.signals += 1;
        let id = Self::local_id("s", self.signals);
        let stream = StreamId::demand(self.cities[city], id.clone());
        let terms = self.terms(&id);
        let mut later = Vec::new();
        if self.rng.chance(0.3) {
            let mut revised = self.terms(&id);
            revised.period = terms.period;
            later.push(Body::DemandSignalRevised(revised));
        }
        if self.rng.chance(0.65) {
            let reason = *self.rng.pick(&[
                CloseReason::Filled,
                CloseReason::Filled,
                CloseReason::Cancelled,
                CloseReason::Expired,
            ]);
            let filled = match reason {
                CloseReason::Cancelled => 0,
                _ => self.rng.below(terms.headcount as usize + 1) as u32,
            };
            later.push(Body::DemandSignalClosed(DemandSignalClosed {
                signal_id: id,
                reason,
                filled,
                closed_at: self.date(),
            }));
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        (stream, vec![Body::DemandSignalPublished(terms)])
    }

    /// A new entry; later, perhaps an appeal (suspension, then reinstatement or
    /// revocation) or a revocation outright.
    fn blacklist(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.entries += 1;
        let id = Self::local_id("e", self.entries);
        let stream = StreamId::blacklist(self.cities[city], id.clone());
        let decided_at = self.date();
        let effective_from =
            Date::from_days_since_epoch(decided_at.days_since_epoch() + self.rng.below(30) as i32);
        let expires_at = Date::from_days_since_epoch(
            effective_from.days_since_epoch() + 365 + self.rng.below(730) as i32,
        );
        // Each step takes effect 30 to 180 days after the one before.
        let mut day = effective_from.days_since_epoch();
        let mut step = |rng: &mut Rng, text: &Text| {
            day += 30 + rng.below(150) as i32;
            EntryTransition {
                entry_id: id.clone(),
                note: text.clone(),
                effective_at: Date::from_days_since_epoch(day),
            }
        };
        let mut later = Vec::new();
        let roll = self.rng.below(100);
        if roll < 25 {
            later.push(Body::BlacklistEntrySuspended(step(
                &mut self.rng,
                &self.text,
            )));
            if self.rng.chance(0.5) {
                later.push(Body::BlacklistEntryReinstated(step(
                    &mut self.rng,
                    &self.text,
                )));
            } else if self.rng.chance(0.6) {
                later.push(Body::BlacklistEntryRevoked {
                    transition: step(&mut self.rng, &self.text),
                    reason: RevokeReason::AppealUpheld,
                });
            }
        } else if roll < 35 {
            let reason = *self
                .rng
                .pick(&[RevokeReason::CreditRepaired, RevokeReason::Error]);
            later.push(Body::BlacklistEntryRevoked {
                transition: step(&mut self.rng, &self.text),
                reason,
            });
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        let added = BlacklistEntryAdded {
            entry_id: id,
            subject_ref: *self.rng.pick(&self.subjects),
            // Plain: this bench measures the fold and lookups, not the vault.
            personal: Personal::Plain(PersonalFields {
                subject_display: self.display.clone(),
                decision_summary: self.text.clone(),
            }),
            category: *self.rng.pick(&[
                BlacklistCategory::ApplicationFraud,
                BlacklistCategory::AcademicMisconduct,
                BlacklistCategory::CredentialForgery,
                BlacklistCategory::ContractBreach,
                BlacklistCategory::FundingMisuse,
            ]),
            decision_ref: self.level.clone(),
            decided_at,
            effective_from,
            expires_at,
            measures: vec![self.text.clone()],
        };
        (stream, vec![Body::BlacklistEntryAdded(added)])
    }

    fn date_text(&mut self) -> String {
        self.date().to_string()
    }

    /// A random `IsRecognized` question between two cities.
    pub(super) fn is_recognized_request(&mut self, at_position: u64) -> pb::IsRecognizedRequest {
        pb::IsRecognizedRequest {
            time: Some(axes(&self.date_text(), at_position)),
            recognizer: self.rng.pick(&self.cities).to_string(),
            credential: Some(credential_to_proto(self.rng.pick(&self.credentials))),
            issuer: self.rng.pick(&self.cities).to_string(),
        }
    }

    /// A random `CheckSubject` question: mostly people in the pool, some never listed.
    pub(super) fn check_subject_request(&mut self, at_position: u64) -> pb::CheckSubjectRequest {
        let subject = if self.rng.chance(0.9) {
            self.rng.pick(&self.subjects).to_string()
        } else {
            format!("{:016x}", self.rng.next_u64()).repeat(4)
        };
        pb::CheckSubjectRequest {
            time: Some(axes(&self.date_text(), at_position)),
            subject_ref: subject,
            ..Default::default()
        }
    }
}
