//! The sample data in `config/samples/`, folded with the roster of `config/roster.toml`,
//! answers every kind of question as its README promises.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hub_log::Log;
use hub_proto::pb;
use hub_types::roster::{Member, Roster};
use hub_types::values::Industry;
use hub_view::{View, ViewConfig};
use support::query_fixture::*;
use support::*;

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// The roster in `config/roster.toml`, read line by line (`code = "…"` then `name = "…"`)
/// so this crate needs no TOML parser.
fn sample_roster() -> Roster {
    let text = std::fs::read_to_string(config_dir().join("roster.toml")).expect("roster.toml");
    let value = |line: &str, key: &str| {
        let rest = line.trim().strip_prefix(key)?.trim().strip_prefix('=')?;
        Some(rest.trim().trim_matches('"').to_owned())
    };
    let mut members = Vec::new();
    let mut code = None;
    for line in text.lines() {
        if let Some(c) = value(line, "code") {
            code = Some(c);
        } else if let (Some(name), Some(c)) = (value(line, "name"), code.take()) {
            members.push(Member {
                code: m(&c),
                name,
                public_key: String::new(),
            });
        }
    }
    Roster::new(members).expect("a valid roster")
}

async fn sample_view() -> Option<View> {
    let dir = config_dir().join("samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    if files.is_empty() || !config_dir().join("roster.toml").exists() {
        return None;
    }
    files.sort();
    let log = Log::in_memory();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable sample file");
        let events = hub_proto::jsonl::parse_lines(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (stream, event) in events {
            log.append(&stream, hub_types::ExpectedVersion::Any, vec![event])
                .await
                .expect("append a sample event");
        }
    }
    let config = ViewConfig {
        roster: sample_roster(),
        ..ViewConfig::default()
    };
    Some(View::open(config, &log).expect("open the sample view"))
}

#[tokio::test]
async fn the_sample_data_answers_as_its_readme_promises() {
    let Some(v) = sample_view().await else {
        eprintln!("config/samples or config/roster.toml is missing; skipped");
        return;
    };
    let info = v.info(&pb::ViewInfoRequest::default()).expect("info");
    assert_eq!(
        (info.position, info.ignored, info.skipped_unknown),
        (80, 0, 0)
    );
    assert_eq!(info.origin_vector.len(), 7);

    // Jiaxing's rules in force on each date.
    for (date, n) in [
        ("2025-06-30", 0),
        ("2026-03-31", 5),
        ("2026-04-01", 4),
        ("2026-06-30", 4),
        ("2026-07-01", 3),
        ("2026-09-01", 4),
    ] {
        assert_eq!(list(&v, date, JIAXING, "", false).len(), n, "on {date}");
    }

    // Mutual pairs, as unordered pairs of cities.
    let mutual = |date: &str| {
        let r = v
            .recognition_matrix(&pb::RecognitionMatrixRequest {
                time: on(date, 0),
                kind: 0,
            })
            .expect("matrix");
        r.cells
            .into_iter()
            .filter(|c| c.mutual)
            .map(|c| {
                let (a, b) = (c.recognizer, c.issuer);
                if a < b {
                    (a, b)
                } else {
                    (b, a)
                }
            })
            .collect::<BTreeSet<_>>()
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        mutual("2026-06-30"),
        BTreeSet::from([
            pair(SHANGHAI, SUZHOU),
            pair(SHANGHAI, HANGZHOU),
            pair(SUZHOU, HEFEI)
        ])
    );
    assert_eq!(
        mutual("2025-08-01"),
        BTreeSet::from([pair(SHANGHAI, HANGZHOU)])
    );

    // Open headcount by industry on the samples' "today".
    let (groups, total) = summary(&v, "2026-11-27", 0, pb::GroupBy::Industry, None);
    let open: Vec<(String, u64)> = groups
        .into_iter()
        .map(|(k, open, _, _)| (k, open))
        .collect();
    let kv = |k: &str, n: u64| (k.to_owned(), n);
    assert_eq!(
        open,
        [
            kv("aerospace", 115),
            kv("artificial_intelligence", 450),
            kv("hydrogen_energy", 65),
            kv("integrated_circuits", 740),
            kv("life_and_health", 55),
        ]
    );
    assert_eq!(total, 115 + 450 + 65 + 740 + 55);

    // Integrated circuits of Shanghai and Suzhou (no cancellations): 140, 190, 280, 380.
    let mut by_period: BTreeMap<String, u64> = BTreeMap::new();
    for city in [SHANGHAI, SUZHOU] {
        for (p, n) in points(&trend(
            &v,
            "2026-11-27",
            Industry::IntegratedCircuits,
            city,
            4,
        )) {
            *by_period.entry(p).or_default() += n;
        }
    }
    assert_eq!(
        by_period.into_iter().collect::<Vec<_>>(),
        [
            pt("2025-Q3", 140),
            pt("2025-Q4", 190),
            pt("2026-Q1", 280),
            pt("2026-Q2", 380)
        ]
    );
    let ic = pb::Industry::IntegratedCircuits as i32;
    let warned = v
        .shortage_alerts(&pb::ShortageAlertsRequest {
            time: on("2026-11-27", 0),
            period: "2026-Q2".into(),
        })
        .expect("alerts");
    assert!(
        warned.alerts.iter().any(|a| a.industry == ic),
        "integrated circuits raise a shortage warning: {warned:?}"
    );

    // The blacklist table.
    use pb::EntryStatus::{Active, Expired, Pending, Revoked, Suspended};
    let status = |origin: &str, entry: &str, date: &str| {
        let r = v
            .list_entries(&pb::ListEntriesRequest {
                time: on(date, 0),
                origin: origin.into(),
                ..Default::default()
            })
            .expect("list_entries");
        let e = r
            .entries
            .into_iter()
            .find(|e| e.entry_id == entry)
            .unwrap_or_else(|| panic!("{origin}/{entry} is listed"));
        (
            pb::EntryStatus::try_from(e.status).expect("status"),
            e.subject_ref,
        )
    };
    for ((origin, entry), expected) in [
        ((SHANGHAI, "sh-2025-0012"), [Active, Active, Active]),
        ((SUZHOU, "sz-2025-0031"), [Active, Expired, Expired]),
        ((HANGZHOU, "hz-2025-0007"), [Suspended, Suspended, Active]),
        ((HEFEI, "hf-2025-0019"), [Suspended, Suspended, Revoked]),
        ((SUZHOU, "sz-2026-0002"), [Pending, Pending, Active]),
        ((JIAXING, "jx-2026-0003"), [Pending, Pending, Pending]),
    ] {
        let got = ["2025-12-15", "2026-01-15", "2026-11-27"].map(|d| status(origin, entry, d).0);
        assert_eq!(got, expected, "{origin}/{entry}");
    }
    let (_, subject_ref) = status(SHANGHAI, "sh-2025-0012", "2026-11-27");
    let both = check(&v, "2026-11-27", 0, &subject_ref);
    assert_eq!(
        statuses(&both),
        [
            ("310000/sh-2025-0012".to_owned(), Active),
            ("320500/sz-2026-0002".to_owned(), Active)
        ]
    );
    assert!(both.any_active);
}
