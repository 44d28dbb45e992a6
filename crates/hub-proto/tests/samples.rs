//! The sample event files under `config/samples/` and the roster in `config/roster.toml`:
//! every line validates as an `Append` would, the files fold without an ignored event, and
//! the facts `config/samples/README.md` promises hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use hub_proto::jsonl::parse_lines;
use hub_types::fold::{
    Applied, AwardStatus, EntryStatus, RecognitionRule, ViewState, WhitelistStatus,
};
use hub_types::roster::Roster;
use hub_types::values::{CloseReason, Industry, Issuer};
use hub_types::{
    Body, Date, Event, EventKind, LocalId, MemberId, NewEvent, OriginSeq, Position, StreamId,
    Timestamp,
};
use sha2::Sha256;

const SHANGHAI: &str = "310000";
const NANJING: &str = "320100";
const SUZHOU: &str = "320500";
const HANGZHOU: &str = "330100";
const NINGBO: &str = "330200";
const JIAXING: &str = "330400";
const HEFEI: &str = "340100";

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn d(s: &str) -> Date {
    s.parse().expect("test date")
}

fn member(s: &str) -> MemberId {
    s.parse().expect("test member")
}

fn key(city: &str, local: &str) -> (MemberId, LocalId) {
    (member(city), local.parse().expect("test id"))
}

/// The sample files, by name, in name order.
fn sample_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(config_dir().join("samples"))
        .expect("config/samples exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Vec<(StreamId, NewEvent)> {
    let text = std::fs::read_to_string(path).expect("sample file is readable");
    parse_lines(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every sample event, files in name order.
fn all_events() -> Vec<(StreamId, NewEvent)> {
    sample_files().iter().flat_map(|p| load(p)).collect()
}

fn roster() -> Roster {
    let text = std::fs::read_to_string(config_dir().join("roster.toml")).expect("roster.toml");
    let parsed: Roster = toml::from_str(&text).expect("roster.toml is a roster");
    Roster::new(parsed.members).expect("roster.toml is a valid roster")
}

/// Stamps the events as one node would (positions 1.., origin = stream owner, counters per
/// origin and per stream) and folds them.
fn fold(events: &[(StreamId, NewEvent)]) -> (ViewState, Vec<Applied>) {
    let mut view = ViewState::default();
    let mut seqs: BTreeMap<MemberId, u64> = BTreeMap::new();
    let mut versions: BTreeMap<StreamId, u64> = BTreeMap::new();
    let mut applied = Vec::new();
    for (i, (stream, new)) in events.iter().enumerate() {
        let seq = seqs.entry(stream.owner()).or_default();
        *seq += 1;
        let version = versions.entry(stream.clone()).or_default();
        *version += 1;
        let event = Event {
            event_id: new.event_id,
            origin: stream.owner(),
            origin_seq: OriginSeq::new(*seq).expect("counted from 1"),
            stream: stream.clone(),
            stream_version: *version,
            // 2026-11-27T00:00:00Z plus one second per event.
            recorded_at: Timestamp(1_795_737_600_000_000 + i as i64 * 1_000_000),
            body: new.body.clone(),
            position: Position::new(i as u64 + 1).expect("positions start at 1"),
        };
        applied.push(view.apply(&event));
    }
    (view, applied)
}

fn sample_view() -> ViewState {
    fold(&all_events()).0
}

// ---------------------------------------------------------------------------------------
// Files and roster

#[test]
fn every_sample_file_parses_and_folds_without_an_ignored_event() {
    let names: Vec<String> = sample_files()
        .iter()
        .map(|p| p.file_name().expect("file").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "blacklist.jsonl",
            "demand.jsonl",
            "recognition.jsonl",
            "register.jsonl"
        ]
    );
    let per_file: Vec<usize> = sample_files().iter().map(|p| load(p).len()).collect();
    assert_eq!(per_file, [10, 32, 17, 21]);

    let events = all_events();
    let ids: BTreeSet<_> = events.iter().map(|(_, e)| e.event_id).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique across files");

    let (view, applied) = fold(&events);
    assert!(
        applied.iter().all(|a| *a == Applied::Changed),
        "{applied:?}"
    );
    assert_eq!(view.ignored, 0);
    assert_eq!(view.skipped_unknown(), 0);
    assert_eq!(view.event_count(), 80);

    let count = |k: EventKind| view.counts.get(&k).copied().unwrap_or(0);
    assert_eq!(count(EventKind::CredentialRecognized), 16);
    assert_eq!(count(EventKind::RecognitionWithdrawn), 1);
    assert_eq!(count(EventKind::DemandSignalPublished), 22);
    assert_eq!(count(EventKind::DemandSignalRevised), 2);
    assert_eq!(count(EventKind::DemandSignalClosed), 8);
    assert_eq!(count(EventKind::BlacklistEntryAdded), 6);
    assert_eq!(count(EventKind::BlacklistEntrySuspended), 2);
    assert_eq!(count(EventKind::BlacklistEntryReinstated), 1);
    assert_eq!(count(EventKind::BlacklistEntryRevoked), 1);
    assert_eq!(count(EventKind::WhitelistEntryAdded), 6);
    assert_eq!(count(EventKind::WhitelistEntryRenewed), 1);
    assert_eq!(count(EventKind::WhitelistEntryRemoved), 1);
    assert_eq!(count(EventKind::AwardGranted), 10);
    assert_eq!(count(EventKind::AwardAmended), 1);
    assert_eq!(count(EventKind::AwardWithdrawn), 2);
    assert_eq!(
        (view.rules.len(), view.signals.len(), view.entries.len()),
        (15, 22, 6)
    );
    assert_eq!((view.whitelist.len(), view.awards.len()), (6, 10));
}

#[test]
fn the_roster_lists_the_thirteen_alliance_cities() {
    let roster = roster();
    assert_eq!(roster.members.len(), 13);
    assert_eq!(roster.name(member(JIAXING)), Some("Jiaxing 嘉兴"));
    assert_eq!(roster.name(member("340200")), Some("Wuhu 芜湖"));
    assert!(
        !roster.contains(member("320300")),
        "Xuzhou is not in the roster"
    );
    assert!(roster.require(member("110000")).is_err());
}

#[test]
fn every_origin_and_issuer_in_the_samples_is_a_roster_member() {
    let roster = roster();
    let mut origins = BTreeSet::new();
    for (stream, event) in all_events() {
        roster
            .require(stream.owner())
            .unwrap_or_else(|e| panic!("{stream}: {e}"));
        origins.insert(stream.owner());
        if let Body::CredentialRecognized(r) = &event.body {
            if let Issuer::Member(m) = r.issuer {
                roster
                    .require(m)
                    .unwrap_or_else(|e| panic!("{stream}: {e}"));
                assert_ne!(m, stream.owner(), "a city does not recognise itself");
            }
        }
    }
    let expected: BTreeSet<_> = [SHANGHAI, NANJING, SUZHOU, HANGZHOU, NINGBO, JIAXING, HEFEI]
        .into_iter()
        .map(member)
        .collect();
    assert_eq!(origins, expected);
}

// ---------------------------------------------------------------------------------------
// Recognition facts

fn rules_in_force<'a>(view: &'a ViewState, city: &str, on: &str) -> Vec<&'a RecognitionRule> {
    view.rules
        .iter()
        .filter(|((recognizer, _), _)| *recognizer == member(city))
        .map(|(_, h)| h.current())
        .filter(|r| r.in_force(d(on)))
        .collect()
}

#[test]
fn jiaxing_rules_in_force_follow_their_dates() {
    let view = sample_view();
    let count = |on: &str| rules_in_force(&view, JIAXING, on).len();
    assert_eq!(count("2025-06-30"), 0);
    // Before the skill-level rule is withdrawn (2026-04-01).
    assert_eq!(count("2026-03-31"), 5);
    assert_eq!(count("2026-04-01"), 4);
    // The health-title rule ends on 2026-06-30 inclusive.
    assert_eq!(count("2026-06-30"), 4);
    assert_eq!(count("2026-07-01"), 3);
    // The economics-title rule starts on 2026-09-01.
    assert_eq!(count("2026-09-01"), 4);

    let withdrawn = view.rules[&key(JIAXING, "jx-sl-sh-6-31-01-03-l4")].current();
    assert!(withdrawn.in_force(d("2026-03-31")));
    assert!(!withdrawn.in_force(d("2026-04-01")));
}

/// Unordered pairs of cities that recognise each other's identical credential on `on`.
fn mutual_pairs(view: &ViewState, on: &str) -> BTreeSet<(MemberId, MemberId)> {
    let mut pairs = BTreeSet::new();
    for a in view.rules.values().map(|h| h.current()) {
        let Issuer::Member(issuer) = a.terms.issuer else {
            continue;
        };
        let reciprocated = view.rules.values().map(|h| h.current()).any(|b| {
            b.recognizer == issuer
                && b.in_force(d(on))
                && b.covers(&a.terms.credential, a.recognizer)
        });
        if a.in_force(d(on)) && reciprocated {
            pairs.insert((a.recognizer.min(issuer), a.recognizer.max(issuer)));
        }
    }
    pairs
}

#[test]
fn three_mutual_recognition_pairs_exist() {
    let view = sample_view();
    let expected: BTreeSet<_> = [(SHANGHAI, SUZHOU), (SHANGHAI, HANGZHOU), (SUZHOU, HEFEI)]
        .into_iter()
        .map(|(a, b)| (member(a), member(b)))
        .collect();
    assert_eq!(mutual_pairs(&view, "2026-06-30"), expected);
    // Before 2025-09-01 only Shanghai and Hangzhou had both directions in force.
    assert_eq!(
        mutual_pairs(&view, "2025-08-01"),
        BTreeSet::from([(member(SHANGHAI), member(HANGZHOU))])
    );
}

#[test]
fn the_any_issuer_rule_and_the_revised_rule_read_as_documented() {
    let view = sample_view();
    let any = view.rules[&key(SHANGHAI, "sh-lic-any-rse1")].current();
    assert_eq!(any.terms.issuer, Issuer::Any);
    for issuer in [NANJING, JIAXING, "340200"] {
        assert!(any.covers(&any.terms.credential, member(issuer)));
    }

    let revised = &view.rules[&key(HANGZHOU, "hz-tier-sh-b")];
    assert_eq!(
        revised.current().terms.conditions.as_str(),
        "须在本市缴纳社会保险满一年"
    );
    let first = revised.at(Some(revised.created_at())).expect("existed");
    assert_eq!(first.terms.conditions.as_str(), "");
}

// ---------------------------------------------------------------------------------------
// Demand facts

#[test]
fn open_headcount_per_industry() {
    let view = sample_view();
    let mut open: BTreeMap<Industry, u32> = BTreeMap::new();
    for signal in view.signals.values().map(|h| h.current()) {
        if signal.open_on(d("2026-11-27")) {
            *open.entry(signal.terms.industry).or_default() += signal.terms.headcount;
        }
    }
    assert_eq!(
        open,
        BTreeMap::from([
            (Industry::ArtificialIntelligence, 450),
            (Industry::Aerospace, 115),
            (Industry::LifeAndHealth, 55),
            (Industry::IntegratedCircuits, 740),
            (Industry::HydrogenEnergy, 65),
        ])
    );
}

#[test]
fn integrated_circuit_demand_in_shanghai_and_suzhou_grows_every_quarter() {
    let view = sample_view();
    let mut per_period: BTreeMap<String, u32> = BTreeMap::new();
    for signal in view.signals.values().map(|h| h.current()) {
        let city = signal.origin.to_string();
        if signal.terms.industry == Industry::IntegratedCircuits
            && (city == SHANGHAI || city == SUZHOU)
        {
            *per_period
                .entry(signal.terms.period.to_string())
                .or_default() += signal.terms.headcount;
        }
    }
    assert_eq!(
        per_period,
        BTreeMap::from([
            ("2025-Q3".to_owned(), 140),
            ("2025-Q4".to_owned(), 190),
            ("2026-Q1".to_owned(), 280),
            ("2026-Q2".to_owned(), 380),
        ])
    );
}

#[test]
fn demand_covers_every_industry_five_cities_and_four_quarters() {
    let view = sample_view();
    let signals: Vec<_> = view.signals.values().map(|h| h.current()).collect();
    let industries: BTreeSet<_> = signals.iter().map(|s| s.terms.industry).collect();
    assert_eq!(industries.len(), Industry::ALL.len());
    let cities: BTreeSet<_> = signals.iter().map(|s| s.origin).collect();
    assert_eq!(cities.len(), 7);
    let periods: BTreeSet<_> = signals.iter().map(|s| s.terms.period.to_string()).collect();
    assert_eq!(
        periods.into_iter().collect::<Vec<_>>(),
        ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    );

    let mut reasons: BTreeMap<CloseReason, usize> = BTreeMap::new();
    for c in signals.iter().filter_map(|s| s.closed.as_ref()) {
        *reasons.entry(c.reason).or_default() += 1;
    }
    assert_eq!(
        reasons,
        BTreeMap::from([
            (CloseReason::Filled, 4),
            (CloseReason::Cancelled, 2),
            (CloseReason::Expired, 2),
        ])
    );

    let revised = &view.signals[&key(SHANGHAI, "sh-ic-2026q1-01")];
    assert_eq!(revised.current().revisions, 1);
    assert_eq!(revised.current().terms.headcount, 170);
    let revised = view.signals[&key(HANGZHOU, "hz-ai-2026q2-01")].current();
    assert_eq!(
        (
            revised.revisions,
            revised.terms.pay_band.min,
            revised.terms.pay_band.max
        ),
        (1, 8500, 13000)
    );

    let filled = view.signals[&key(SHANGHAI, "sh-ic-2025q4-01")].current();
    assert!(filled.open_on(d("2026-01-11")));
    assert!(!filled.open_on(d("2026-01-12")));
}

// ---------------------------------------------------------------------------------------
// Blacklist facts

#[test]
fn blacklist_entries_have_the_documented_status_on_each_date() {
    use EntryStatus::{Active, Expired, Pending, Revoked, Suspended};
    let view = sample_view();
    let dates = ["2025-12-15", "2026-01-15", "2026-11-27"];
    let table = [
        ((SHANGHAI, "sh-2025-0012"), [Active, Active, Active]),
        ((SUZHOU, "sz-2025-0031"), [Active, Expired, Expired]),
        ((HANGZHOU, "hz-2025-0007"), [Suspended, Suspended, Active]),
        ((HEFEI, "hf-2025-0019"), [Suspended, Suspended, Revoked]),
        ((SUZHOU, "sz-2026-0002"), [Pending, Pending, Active]),
        ((JIAXING, "jx-2026-0003"), [Pending, Pending, Pending]),
    ];
    for ((city, entry), expected) in table {
        let e = view.entries[&key(city, entry)].current();
        let got = dates.map(|on| e.status_on(d(on)));
        assert_eq!(got, expected, "{city}/{entry}");
    }
    let future = view.entries[&key(JIAXING, "jx-2026-0003")].current();
    assert_eq!(future.status_on(d("2026-12-01")), Active);
    let revoked = view.entries[&key(HEFEI, "hf-2025-0019")].current();
    assert_eq!(
        revoked.revocation().map(|(r, t)| (r, t.effective_at)),
        Some((
            hub_types::values::RevokeReason::AppealUpheld,
            d("2026-03-15")
        ))
    );
}

#[test]
fn one_subject_is_listed_by_two_cities() {
    let view = sample_view();
    let multi: Vec<_> = view
        .entries_by_subject
        .values()
        .filter(|keys| keys.len() > 1)
        .collect();
    assert_eq!(
        multi,
        [&vec![
            key(SHANGHAI, "sh-2025-0012"),
            key(SUZHOU, "sz-2026-0002")
        ]]
    );
    assert_eq!(view.entries_by_subject.len(), 5);
}

/// The fictional ID numbers and development key documented in `config/samples/README.md`.
const DEV_KEY: &[u8] = b"talenthub-dev-alliance-key-not-for-production";
const FICTIONAL_IDS: [(&str, &str); 6] = [
    ("sh-2025-0012", "11010519491231002X"),
    ("sz-2025-0031", "320502198807123011"),
    ("hz-2025-0007", "330106199203041525"),
    ("hf-2025-0019", "34010419850921063X"),
    ("sz-2026-0002", "11010519491231002X"),
    ("jx-2026-0003", "33040219950615427X"),
];

/// GB 11643 check character of an 18-character national ID number.
fn id_checksum_ok(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    b[17] == b"10X98765432"[(sum % 11) as usize]
}

#[test]
fn subject_refs_are_hmacs_of_the_documented_fictional_ids() {
    let view = sample_view();
    for (entry, id) in FICTIONAL_IDS {
        assert!(id_checksum_ok(id), "{id}");
        let mut mac = Hmac::<Sha256>::new_from_slice(DEV_KEY).expect("any key length");
        mac.update(id.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        let (_, e) = view
            .entries
            .iter()
            .find(|((_, local), _)| local.as_str() == entry)
            .unwrap_or_else(|| panic!("no entry {entry}"));
        assert_eq!(
            e.current().added.subject_ref.to_string(),
            expected,
            "{entry}"
        );
    }
    assert!(!id_checksum_ok("110105194912310021"));
}

// ---------------------------------------------------------------------------------------
// Talent register facts

/// Every white-list entry and award of `register.jsonl`: its city, the fictional ID number
/// of its subject (as documented in `config/samples/README.md`) and its status on
/// 2026-11-27.
const REGISTER: [(&str, &str, &str, &str); 16] = [
    (
        "whitelist",
        "310000/sh-wl-2025-0008",
        "310104198305142035",
        "active",
    ),
    (
        "whitelist",
        "330100/hz-wl-2023-0015",
        "330106197908224015",
        "active",
    ),
    (
        "whitelist",
        "320100/nj-wl-2024-0021",
        "320106198409052733",
        "removed",
    ),
    (
        "whitelist",
        "340100/hf-wl-2025-0033",
        "340104198703111520",
        "active",
    ),
    (
        "whitelist",
        "320500/sz-wl-2026-0004",
        "320506198511180856",
        "active",
    ),
    (
        "whitelist",
        "330400/jx-wl-2026-0011",
        "330402199001273644",
        "active",
    ),
    (
        "award",
        "320100/nj-2024-cx-0117",
        "11010519491231002X",
        "active",
    ),
    (
        "award",
        "330100/hz-2025-lj-0042",
        "11010519491231002X",
        "active",
    ),
    (
        "award",
        "310000/sh-pj-2025-0231",
        "310104198305142035",
        "active",
    ),
    (
        "award",
        "310000/sh-nsfc-2025-0056",
        "310104198305142035",
        "active",
    ),
    (
        "award",
        "330100/hz-2025-kj-0009",
        "330106197908224015",
        "active",
    ),
    (
        "award",
        "320100/nj-2025-sc-0088",
        "320106198409052733",
        "active",
    ),
    (
        "award",
        "320500/sz-2024-gs-0057",
        "320502198807123011",
        "clawed_back",
    ),
    (
        "award",
        "340100/hf-2025-tz-0014",
        "340104198703111520",
        "withdrawn",
    ),
    (
        "award",
        "330400/jx-2026-jy-0006",
        "330402199001273644",
        "active",
    ),
    (
        "award",
        "320500/sz-2026-kj-0013",
        "320506198511180856",
        "pending",
    ),
];

fn hmac_hex(id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(DEV_KEY).expect("any key length");
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn register_streams_belong_to_their_cities_and_name_the_documented_subjects() {
    let events = load(&config_dir().join("samples/register.jsonl"));
    let streams: BTreeSet<String> = events.iter().map(|(s, _)| s.to_string()).collect();
    let documented: BTreeSet<String> = REGISTER
        .iter()
        .map(|(family, local, _, _)| format!("{family}/{local}"))
        .collect();
    assert_eq!(streams, documented, "one stream per documented entity");
    let owners: BTreeSet<MemberId> = events.iter().map(|(s, _)| s.owner()).collect();
    let six: BTreeSet<MemberId> = [SHANGHAI, NANJING, SUZHOU, HANGZHOU, JIAXING, HEFEI]
        .into_iter()
        .map(member)
        .collect();
    assert_eq!(owners, six);

    let view = sample_view();
    let today = d("2026-11-27");
    for (family, local, id, status) in REGISTER {
        assert!(id_checksum_ok(id), "{id}");
        let (city, entity) = local.split_once('/').expect("city/id");
        let k = key(city, entity);
        let (subject, actual) = if family == "whitelist" {
            let e = view.whitelist[&k].current();
            assert_eq!(e.origin, member(city));
            (e.added.subject_ref, e.status_on(today).as_str())
        } else {
            let a = view.awards[&k].current();
            assert_eq!(a.origin, member(city));
            (a.terms.subject_ref, a.status_on(today).as_str())
        };
        assert_eq!(subject.to_string(), hmac_hex(id), "{family}/{local}");
        assert_eq!(actual, status, "{family}/{local} on {today}");
    }
}

#[test]
fn register_lifecycles_read_as_documented() {
    let view = sample_view();
    // Hangzhou's entry would have expired after 2026-05-31; the renewal carries it on.
    let renewed = view.whitelist[&key(HANGZHOU, "hz-wl-2023-0015")].current();
    assert_eq!(renewed.valid_until, d("2029-05-31"));
    assert_eq!(renewed.status_on(d("2026-06-01")), WhitelistStatus::Active);
    assert_eq!(renewed.status_on(d("2029-06-01")), WhitelistStatus::Expired);
    // Nanjing's entry is removed from 2026-09-01.
    let removed = view.whitelist[&key(NANJING, "nj-wl-2024-0021")].current();
    assert_eq!(removed.status_on(d("2026-08-31")), WhitelistStatus::Active);
    assert_eq!(removed.status_on(d("2026-09-01")), WhitelistStatus::Removed);

    // The amendment raised the amount and moved the last day.
    let amended = view.awards[&key(HANGZHOU, "hz-2025-kj-0009")].current();
    assert_eq!(amended.amendments, 1);
    assert_eq!(amended.terms.amount_cny, 2_500_000);
    assert_eq!(amended.terms.funded_until, d("2028-06-30"));
    // A claw-back voids the award; a withdrawal ends it the day before.
    let clawed = view.awards[&key(SUZHOU, "sz-2024-gs-0057")].current();
    assert_eq!(clawed.funded_days(), None);
    let withdrawn = view.awards[&key(HEFEI, "hf-2025-tz-0014")].current();
    assert_eq!(
        withdrawn.funded_days(),
        Some((d("2025-10-01"), d("2026-06-30")))
    );
    assert_eq!(withdrawn.status_on(d("2026-06-30")), AwardStatus::Active);

    // The person listed by Shanghai and Suzhou holds awards of Nanjing and Hangzhou whose
    // funded days overlap (2025-07-01 .. 2027-08-31): barred, and in conflict too.
    let subject = view.entries[&key(SHANGHAI, "sh-2025-0012")]
        .current()
        .added
        .subject_ref;
    let keys = &view.awards_by_subject[&subject];
    assert_eq!(
        keys,
        &vec![
            key(NANJING, "nj-2024-cx-0117"),
            key(HANGZHOU, "hz-2025-lj-0042")
        ]
    );
    let days: Vec<(Date, Date)> = keys
        .iter()
        .map(|k| view.awards[k].current().funded_days().expect("funded"))
        .collect();
    assert!(days[0].1 >= days[1].0 && days[1].1 >= days[0].0, "{days:?}");
    assert_eq!(
        view.entries[&key(SUZHOU, "sz-2026-0002")]
            .current()
            .status_on(d("2026-11-27")),
        EntryStatus::Active
    );
}

// ---------------------------------------------------------------------------------------
// The JSON shape and bad lines

#[test]
fn a_bad_line_is_rejected_naming_its_line_number() {
    let good =
        std::fs::read_to_string(config_dir().join("samples/demand.jsonl")).expect("demand.jsonl");
    let first = good
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("an event line");

    // Line 4 is not JSON at all; comments and blank lines still count as lines.
    let text = format!("# comment\n\n{first}\n{{\"stream\": \n");
    let err = parse_lines(&text).expect_err("line 4 is bad");
    assert_eq!(err.path, "line 4");
    assert!(err.reason.starts_with("not a valid event line"), "{err}");

    // A value the wire validation rejects is named down to the field.
    let bad_headcount = first.replace("\"headcount\": 80", "\"headcount\": 0");
    assert_ne!(bad_headcount, first);
    let err = parse_lines(&format!("{first}\n{bad_headcount}\n")).expect_err("headcount 0");
    assert_eq!(err.path, "line 2.body.demand_signal_published.headcount");

    // The body's id must match its stream, as in an append.
    let other_stream = first.replace("demand/310000/sh-ic-2025q3-01", "demand/310000/other");
    assert_ne!(other_stream, first);
    let err = parse_lines(&other_stream).expect_err("signal id differs");
    assert_eq!(err.path, "line 1.body.demand_signal_published.signal_id");

    // An unknown kind is a shape error of the line.
    let unknown_kind = first.replace("demand_signal_published", "demand_signal_doubled");
    assert_eq!(
        parse_lines(&unknown_kind).expect_err("unknown kind").path,
        "line 1"
    );
    let unknown_body = first.replace(
        "\"kind\": \"demand_signal_published\"",
        "\"kind\": \"unknown\"",
    );
    assert_ne!(unknown_body, first);
    assert_eq!(
        parse_lines(&unknown_body).expect_err("unknown").path,
        "line 1.body"
    );
}

#[test]
fn issuers_are_written_as_on_the_wire_in_json() {
    let list = std::fs::read_to_string(config_dir().join("samples/recognition.jsonl"))
        .expect("recognition.jsonl");
    assert!(list.contains(r#""issuer": "*""#));
    assert!(list.contains(r#""issuer": "310000""#));

    // serde's enum object form is not the JSON shape, and neither is a bad code.
    let line = list
        .lines()
        .find(|l| l.contains(r#""issuer": "310000""#))
        .expect("a rule naming Shanghai");
    for other in [
        r#""issuer": {"Member": "310000"}"#,
        r#""issuer": "Any""#,
        r#""issuer": "31000""#,
    ] {
        let changed = line.replace(r#""issuer": "310000""#, other);
        assert_eq!(parse_lines(&changed).expect_err(other).path, "line 1");
    }
}

#[test]
fn json_shape_notes_of_the_readme_hold() {
    let list = std::fs::read_to_string(config_dir().join("samples/recognition.jsonl"))
        .expect("recognition.jsonl");
    let open_ended = list
        .lines()
        .find(|l| l.contains("\"rule_id\": \"sh-pt-hz-eng-sd\""))
        .expect("the Shanghai rule");
    assert!(open_ended.contains(r#""effective_until": null"#));
    let until = |line: &str| match &parse_lines(line).expect("valid")[0].1.body {
        Body::CredentialRecognized(r) => r.effective_until,
        other => panic!("expected a recognition, got {other:?}"),
    };
    // Absent is the same as null: open-ended.
    assert_eq!(
        until(&open_ended.replace(r#", "effective_until": null"#, "")),
        None
    );
    // A misspelt field is rejected, naming it.
    let misspelt = open_ended.replace(
        r#""effective_until": null"#,
        r#""effective_untill": "2026-06-30""#,
    );
    let err = parse_lines(&misspelt).expect_err("misspelt field");
    assert!(err.reason.contains("effective_untill"), "{err}");
    let dated = open_ended.replace(
        r#""effective_until": null"#,
        r#""effective_until": "2026-06-30""#,
    );
    assert_eq!(until(&dated), Some(d("2026-06-30")));

    // A suspension's note is `note` in JSON, whatever the protobuf field is called.
    let blacklist = std::fs::read_to_string(config_dir().join("samples/blacklist.jsonl"))
        .expect("blacklist.jsonl");
    let suspension = blacklist
        .lines()
        .find(|l| l.contains("blacklist_entry_suspended"))
        .expect("a suspension");
    assert!(parse_lines(suspension).is_ok());
    let wire_name = suspension.replace(r#""note":"#, r#""appeal_ref":"#);
    assert_ne!(wire_name, suspension);
    let err = parse_lines(&wire_name).expect_err("missing note");
    assert!(err.reason.contains("missing field `note`"), "{err}");

    // A skill level's level is a string.
    let skill = list
        .lines()
        .find(|l| l.contains(r#""level": "2""#))
        .expect("a skill-level rule");
    assert!(parse_lines(&skill.replace(r#""level": "2""#, r#""level": 2"#)).is_err());
}
