//! The event mix of `hub-bench view`: eight cities publishing recognition lists, demand
//! signals, blacklist entries and the talent register (white-list entries and programme
//! awards) with their follow-ups, reproducibly from a seed.
//!
//! The register's people are the blacklist's people and three times as many who are never
//! listed, one listed person in every four. Awards and white-list entries go to them with a
//! skew (a few are funded again and again, by several cities, most once or never), so
//! screening an application finds real overlaps, real bars and real fast tracks.

use hub_proto::convert::{award_category_to_proto, award_level_to_proto, credential_to_proto};
use hub_proto::pb;
use hub_types::event::{
    AwardAmended, AwardErased, AwardGranted, AwardWithdrawn, BlacklistEntryAdded,
    CredentialRecognized, DemandSignalClosed, DemandTerms, EntryErased, EntryTransition, Personal,
    PersonalFields, RecognitionWithdrawn, WhitelistEntryAdded, WhitelistEntryRemoved,
    WhitelistEntryRenewed,
};
use hub_types::values::{
    AwardCategory, AwardEnd, AwardLevel, BlacklistCategory, CloseReason, Credential,
    CredentialKind, Education, ErasureReason, Industry, Issuer, PayBand, RevokeReason, Text,
    WhitelistTier, MAX_LABEL, MAX_TEXT, TITLE_LEVELS,
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

/// A programme awards are granted under, as the cities' funding rules describe it.
#[derive(Debug, Clone, Copy)]
struct Programme {
    code: &'static str,
    category: AwardCategory,
    level: AwardLevel,
    /// Range of the amount granted, in units of 10 000 CNY (万元).
    amount_wan: (u64, u64),
    /// Years funded.
    years: i32,
}

/// The programmes of the mix: talent programmes and research projects at every level.
const PROGRAMMES: [Programme; 10] = [
    Programme {
        code: "national-young-talent",
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::National,
        amount_wan: (100, 300),
        years: 3,
    },
    Programme {
        code: "nsfc-general",
        category: AwardCategory::ResearchProject,
        level: AwardLevel::National,
        amount_wan: (50, 80),
        years: 4,
    },
    Programme {
        code: "national-key-rd",
        category: AwardCategory::ResearchProject,
        level: AwardLevel::National,
        amount_wan: (300, 3000),
        years: 5,
    },
    Programme {
        code: "provincial-leading-talent",
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::Provincial,
        amount_wan: (50, 200),
        years: 3,
    },
    Programme {
        code: "provincial-natural-science",
        category: AwardCategory::ResearchProject,
        level: AwardLevel::Provincial,
        amount_wan: (10, 50),
        years: 3,
    },
    Programme {
        code: "city-innovation-leader",
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::Municipal,
        amount_wan: (30, 150),
        years: 3,
    },
    Programme {
        code: "city-science-plan",
        category: AwardCategory::ResearchProject,
        level: AwardLevel::Municipal,
        amount_wan: (10, 100),
        years: 2,
    },
    Programme {
        code: "city-youth-talent",
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::Municipal,
        amount_wan: (10, 50),
        years: 2,
    },
    Programme {
        code: "district-startup-talent",
        category: AwardCategory::TalentProgramme,
        level: AwardLevel::District,
        amount_wan: (10, 50),
        years: 2,
    },
    Programme {
        code: "district-tech-project",
        category: AwardCategory::ResearchProject,
        level: AwardLevel::District,
        amount_wan: (5, 30),
        years: 1,
    },
];

/// The certifying schemes of white-list entries.
const SCHEMES: [&str; 5] = [
    "shanghai-overseas-high-end",
    "jiangsu-innovation-leader",
    "zhejiang-kunpeng",
    "anhui-high-end-certified",
    "delta-mutual-certified",
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

    /// One of `items`, the first twentieth far more often: three picks in ten go to it,
    /// the others to any item. With somewhat fewer picks than items (awards to people),
    /// each of the first twentieth is drawn a few times and the rest once or never; no
    /// item is drawn hundreds of times, as a power law's head would be.
    fn pick_skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let head = (items.len() / 20).max(1);
        if self.chance(0.3) {
            &items[self.below(head)]
        } else {
            self.pick(items)
        }
    }

    /// A subject reference no one else has (with overwhelming probability).
    fn subject(&mut self) -> SubjectRef {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        SubjectRef::from_bytes(bytes)
    }
}

/// Who a screening question asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applicant {
    /// One of the register's people, drawn as awards are (so often funded before).
    Register,
    /// A person on the blacklist's pool.
    Listed,
    /// Someone the hub has never heard of.
    Unknown,
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
    /// The register's people: every blacklist subject, each followed by three people who
    /// are never listed; awards and white-list entries favour the first ones.
    people: Vec<SubjectRef>,
    pub(crate) signals: u64,
    pub(crate) entries: u64,
    pub(crate) whitelisted: u64,
    pub(crate) awards: u64,
    /// Later events of streams already started, appended in random order.
    pending: Vec<(StreamId, Vec<Body>)>,
    text: Text,
    conditions: Text,
    level: Text,
    display: hub_types::values::MaskedName,
    /// Programme codes of [`PROGRAMMES`], in its order.
    programme_codes: Vec<Text>,
    schemes: Vec<Text>,
    title: Text,
    decision: Text,
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
        let subjects: Vec<SubjectRef> = (0..pool).map(|_| rng.subject()).collect();
        let people = subjects
            .iter()
            .flat_map(|listed| [*listed, rng.subject(), rng.subject(), rng.subject()])
            .collect();
        Ok(Self {
            rng,
            rules: vec![Vec::new(); cities.len()],
            cities,
            credentials,
            subjects,
            people,
            signals: 0,
            entries: 0,
            whitelisted: 0,
            awards: 0,
            pending: Vec::new(),
            text: Text::new("recorded by the city's talent office", MAX_TEXT, true)?,
            conditions: Text::new("须在本市缴纳社会保险满一年", MAX_TEXT, false)?,
            level: Text::new("senior", MAX_LABEL, true)?,
            display: "张*".parse()?,
            programme_codes: PROGRAMMES
                .iter()
                .map(|p| Text::new(p.code, MAX_LABEL, true))
                .collect::<Result<_, _>>()?,
            schemes: SCHEMES
                .iter()
                .map(|s| Text::new(s, MAX_LABEL, true))
                .collect::<Result<_, _>>()?,
            title: Text::new("面向先进封装的集成电路关键工艺研究", MAX_TEXT, true)?,
            decision: Text::new("decision-2025-017", MAX_LABEL, true)?,
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
        } else if roll < 50 {
            self.demand(city)
        } else if roll < 76 {
            self.blacklist(city)
        } else if roll < 82 {
            self.whitelist(city)
        } else {
            self.award(city)
        }
    }

    fn date(&mut self) -> Date {
        // 2024-01-01 plus up to four years.
        Date::from_days_since_epoch(19_723 + self.rng.below(1461) as i32)
    }

    /// `days` after `date`.
    fn later(date: Date, days: i32) -> Date {
        Date::from_days_since_epoch(date.days_since_epoch() + days)
    }

    /// Personal fields as a register event carries them: a display name, no summary.
    fn register_personal(&self) -> Personal {
        // Plain: this bench measures the fold and lookups, not the vault.
        Personal::Plain(PersonalFields {
            subject_display: self.display.clone(),
            decision_summary: Text::default(),
        })
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

    /// A new white-list entry, certified for three years; later, perhaps a renewal for
    /// three more, a removal, and rarely an erasure once it is over.
    fn whitelist(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.whitelisted += 1;
        let id = Self::local_id("w", self.whitelisted);
        let stream = StreamId::whitelist(self.cities[city], id.clone());
        let valid_from = self.date();
        let mut valid_until = Self::later(valid_from, 3 * 365 - 1);
        let mut later = Vec::new();
        if self.rng.chance(0.35) {
            valid_until = Self::later(valid_until, 3 * 365);
            later.push(Body::WhitelistEntryRenewed(WhitelistEntryRenewed {
                entry_id: id.clone(),
                valid_until,
                basis_ref: self.decision.clone(),
            }));
        }
        if self.rng.chance(0.08) {
            let days = valid_until.days_since_epoch() - valid_from.days_since_epoch();
            later.push(Body::WhitelistEntryRemoved(WhitelistEntryRemoved {
                entry_id: id.clone(),
                reason: self.text.clone(),
                effective_at: Self::later(valid_from, self.rng.below(days as usize) as i32),
            }));
        }
        if self.rng.chance(0.01) {
            later.push(Body::WhitelistEntryErased(EntryErased {
                entry_id: id.clone(),
                reason: ErasureReason::RetentionEnded,
                order_ref: Text::default(),
            }));
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        let added = WhitelistEntryAdded {
            entry_id: id,
            subject_ref: *self.rng.pick_skewed(&self.people),
            personal: self.register_personal(),
            tier: *self.rng.pick(&WhitelistTier::ALL),
            scheme: self.rng.pick(&self.schemes).clone(),
            valid_from,
            valid_until: Self::later(valid_from, 3 * 365 - 1),
            basis_ref: self.decision.clone(),
        };
        (stream, vec![Body::WhitelistEntryAdded(added)])
    }

    /// The amount and funded days of an award of `p`, from `funded_from`.
    fn award_terms(&mut self, p: &Programme, funded_from: Date) -> (u64, Date) {
        let (low, high) = p.amount_wan;
        let wan = low + self.rng.below((high - low + 1) as usize) as u64;
        (wan * 10_000, Self::later(funded_from, 365 * p.years - 1))
    }

    /// A new award; later, perhaps an amendment (amount and period), an early end
    /// (withdrawn, or clawed back as a sanction), and rarely an erasure.
    fn award(&mut self, city: usize) -> (StreamId, Vec<Body>) {
        self.awards += 1;
        let id = Self::local_id("a", self.awards);
        let stream = StreamId::award(self.cities[city], id.clone());
        let which = self.rng.below(PROGRAMMES.len());
        let p = PROGRAMMES[which];
        let funded_from = self.date();
        let (amount_cny, funded_until) = self.award_terms(&p, funded_from);
        let mut later = Vec::new();
        let mut last = funded_until;
        if self.rng.chance(0.2) {
            let (amount_cny, until) = self.award_terms(&p, funded_from);
            last = Self::later(until, self.rng.below(366) as i32);
            later.push(Body::AwardAmended(AwardAmended {
                award_id: id.clone(),
                project_title: self.title.clone(),
                amount_cny,
                funded_from,
                funded_until: last,
                decision_ref: self.decision.clone(),
            }));
        }
        let roll = self.rng.below(100);
        if roll < 6 {
            let days = last.days_since_epoch() - funded_from.days_since_epoch();
            later.push(Body::AwardWithdrawn(AwardWithdrawn {
                award_id: id.clone(),
                outcome: if roll < 2 {
                    AwardEnd::ClawedBack
                } else {
                    AwardEnd::Withdrawn
                },
                reason: self.text.clone(),
                effective_at: Self::later(funded_from, 1 + self.rng.below(days as usize) as i32),
            }));
        }
        if self.rng.chance(0.01) {
            later.push(Body::AwardErased(AwardErased {
                award_id: id.clone(),
                reason: ErasureReason::RetentionEnded,
                order_ref: Text::default(),
            }));
        }
        if !later.is_empty() {
            self.pending.push((stream.clone(), later));
        }
        let granted = AwardGranted {
            award_id: id,
            subject_ref: *self.rng.pick_skewed(&self.people),
            personal: self.register_personal(),
            programme_code: self.programme_codes[which].clone(),
            category: p.category,
            level: p.level,
            project_title: self.title.clone(),
            amount_cny,
            funded_from,
            funded_until,
            decision_ref: self.decision.clone(),
        };
        (stream, vec![Body::AwardGranted(granted)])
    }

    fn date_text(&mut self) -> String {
        self.date().to_string()
    }

    /// A random `IsRecognized` question between two cities.
    pub(crate) fn is_recognized_request(&mut self, at_position: u64) -> pb::IsRecognizedRequest {
        pb::IsRecognizedRequest {
            time: Some(axes(&self.date_text(), at_position)),
            recognizer: self.rng.pick(&self.cities).to_string(),
            credential: Some(credential_to_proto(self.rng.pick(&self.credentials))),
            issuer: self.rng.pick(&self.cities).to_string(),
        }
    }

    /// A subject reference no event names, as hex.
    fn unknown_subject(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64()).repeat(4)
    }

    /// A random `CheckSubject` question: mostly people in the pool, some never listed.
    pub(crate) fn check_subject_request(&mut self, at_position: u64) -> pb::CheckSubjectRequest {
        let subject = if self.rng.chance(0.9) {
            self.rng.pick(&self.subjects).to_string()
        } else {
            self.unknown_subject()
        };
        pb::CheckSubjectRequest {
            time: Some(axes(&self.date_text(), at_position)),
            subject_ref: subject,
            ..Default::default()
        }
    }

    /// A `ScreenApplication` question about `who`: an application to a random programme
    /// for its usual amount and years, screened one to four months before funding starts.
    pub(crate) fn screen_application_request(
        &mut self,
        who: Applicant,
        at_position: u64,
    ) -> pb::ScreenApplicationRequest {
        let subject_ref = match who {
            Applicant::Register => self.rng.pick_skewed(&self.people).to_string(),
            Applicant::Listed => self.rng.pick(&self.subjects).to_string(),
            Applicant::Unknown => self.unknown_subject(),
        };
        let p = *self.rng.pick(&PROGRAMMES);
        let funded_from = self.date();
        let (amount_cny, funded_until) = self.award_terms(&p, funded_from);
        let screened = Self::later(funded_from, -(30 + self.rng.below(90) as i32));
        pb::ScreenApplicationRequest {
            time: Some(axes(&screened.to_string(), at_position)),
            subject_ref,
            national_id: String::new(),
            category: award_category_to_proto(p.category) as i32,
            level: award_level_to_proto(p.level) as i32,
            funded_from: funded_from.to_string(),
            funded_until: funded_until.to_string(),
            amount_cny,
        }
    }

    /// A random `WhitelistStatus` question: mostly the register's people, drawn as
    /// white-list entries are, some unknown.
    pub(super) fn whitelist_status_request(
        &mut self,
        at_position: u64,
    ) -> pb::WhitelistStatusRequest {
        let subject_ref = if self.rng.chance(0.9) {
            self.rng.pick_skewed(&self.people).to_string()
        } else {
            self.unknown_subject()
        };
        pb::WhitelistStatusRequest {
            time: Some(axes(&self.date_text(), at_position)),
            subject_ref,
            national_id: String::new(),
        }
    }

    /// A random `ListAwards` first page of one city: unfiltered, by category and level,
    /// by programme, or by a funding year, a quarter each.
    pub(super) fn list_awards_request(&mut self, at_position: u64) -> pb::ListAwardsRequest {
        let mut req = pb::ListAwardsRequest {
            time: Some(axes(&self.date_text(), at_position)),
            origin: self.rng.pick(&self.cities).to_string(),
            ..Default::default()
        };
        let p = *self.rng.pick(&PROGRAMMES);
        match self.rng.below(4) {
            0 => {}
            1 => {
                req.category = award_category_to_proto(p.category) as i32;
                req.level = award_level_to_proto(p.level) as i32;
            }
            2 => req.programme_code = p.code.to_owned(),
            _ => {
                let from = self.date();
                req.funded_from = from.to_string();
                req.funded_until = Self::later(from, 364).to_string();
            }
        }
        req
    }

    /// A `RegisterSummary` question on a random day.
    pub(super) fn register_summary_request(
        &mut self,
        at_position: u64,
    ) -> pb::RegisterSummaryRequest {
        pb::RegisterSummaryRequest {
            time: Some(axes(&self.date_text(), at_position)),
        }
    }
}
