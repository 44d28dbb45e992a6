//! Seed inputs made from real data: the sample events, the shipped configs, a real
//! snapshot and vault. `tests/replay.rs` writes them to `corpus/<target>/seed-*` when
//! asked (`HUB_FUZZ_WRITE_SEEDS=1`); the campaigns grow the corpus from there.

use hub_audit::merkle::{leaf_hash, MerkleTree};
use hub_log::vault::{self, Vault};
use hub_proto::convert::{body_to_bytes, body_to_proto, expected_version_to_proto};
use hub_proto::pb;
use hub_types::{ExpectedVersion, StreamId};
use prost::Message;

use crate::fixtures::{sample_appends, sample_records, samples, scratch_dir, view_config};
use crate::targets::{framed, unframed, VAULT_FILE};

/// One seed: its target, its file name, its bytes.
pub type Seed = (&'static str, String, Vec<u8>);

fn with_prefix(prefix: &[u8], message: &impl Message) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend(message.encode_to_vec());
    out
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    wire_seeds(&mut seeds);
    record_seeds(&mut seeds);
    view_seeds(&mut seeds);
    vault_seeds(&mut seeds);
    audit_seeds(&mut seeds);
    config_seeds(&mut seeds);
    seeds
}

fn wire_seeds(seeds: &mut Vec<Seed>) {
    let mut kinds = std::collections::BTreeSet::new();
    for (i, (stream, events)) in sample_appends().into_iter().enumerate() {
        let fresh = events.iter().any(|e| kinds.insert(e.body.kind()));
        if !fresh {
            continue;
        }
        let expected = if i % 2 == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Any
        };
        let req = pb::AppendRequest {
            stream: stream.to_string(),
            expected_version: Some(expected_version_to_proto(expected)),
            events: events
                .iter()
                .map(|e| pb::Event {
                    event_id: e.event_id.to_string(),
                    body: Some(body_to_proto(&e.body)),
                    ..Default::default()
                })
                .collect(),
        };
        seeds.push((
            "append_request",
            format!("seed-{i:02}"),
            req.encode_to_vec(),
        ));
        for (j, e) in events.iter().enumerate() {
            seeds.push((
                "event_body",
                format!("seed-{i:02}-{j}"),
                body_to_bytes(&e.body),
            ));
        }
    }
    for (i, text) in crate::fixtures::SAMPLES.iter().enumerate() {
        seeds.push((
            "jsonl",
            format!("seed-sample-{i}"),
            text.as_bytes().to_vec(),
        ));
        for (j, line) in text
            .lines()
            .filter(|l| l.starts_with('{'))
            .take(2)
            .enumerate()
        {
            seeds.push((
                "jsonl",
                format!("seed-line-{i}-{j}"),
                line.as_bytes().to_vec(),
            ));
        }
    }
}

fn record_seeds(seeds: &mut Vec<Seed>) {
    let records = sample_records();
    let mut kinds = std::collections::BTreeSet::new();
    for (i, r) in records.iter().enumerate() {
        let kind = pb::EventBody::decode(r.body.as_slice())
            .ok()
            .and_then(|b| b.kind)
            .map(|k| {
                format!("{k:?}")
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
        if kinds.insert(kind) || r.origin_seq > 1 && i % 7 == 0 {
            seeds.push(("event_record", format!("seed-{i:02}"), r.encode_to_vec()));
        }
    }
    let all = pb::ReadRecordsResponse {
        records: records.clone(),
        ..Default::default()
    };
    seeds.push(("ingest", "seed-all".into(), all.encode_to_vec()));
    seeds.push(("audit_verify", "seed-all".into(), all.encode_to_vec()));
    let first: Vec<_> = records.iter().take(6).cloned().collect();
    let head = pb::ReadRecordsResponse {
        records: first,
        ..Default::default()
    };
    seeds.push(("ingest", "seed-first".into(), head.encode_to_vec()));
    seeds.push(("audit_verify", "seed-first".into(), head.encode_to_vec()));
    let mut swapped = records.iter().take(6).cloned().collect::<Vec<_>>();
    swapped.swap(0, 1);
    let swapped = pb::ReadRecordsResponse {
        records: swapped,
        ..Default::default()
    };
    seeds.push(("ingest", "seed-swapped".into(), swapped.encode_to_vec()));
}

fn view_seeds(seeds: &mut Vec<Seed>) {
    let view = &samples().view;
    let time = |at_position| {
        Some(pb::TimeAxes {
            at_position,
            on_date: "2025-09-01".into(),
            ..Default::default()
        })
    };
    let credential = pb::Credential {
        kind: pb::CredentialKind::ProfessionalTitle as i32,
        code: "engineering".into(),
        level: "senior_deputy".into(),
    };
    let queries: Vec<(u8, Vec<u8>)> = vec![
        (
            0,
            pb::IsRecognizedRequest {
                time: time(0),
                recognizer: "310000".into(),
                issuer: "330100".into(),
                credential: Some(credential),
            }
            .encode_to_vec(),
        ),
        (
            1,
            pb::ListRecognitionsRequest {
                time: time(10),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            2,
            pb::RecognitionMatrixRequest {
                time: time(0),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            3,
            pb::DemandSummaryRequest {
                time: time(0),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            4,
            pb::DemandTrendRequest {
                time: time(0),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            5,
            pb::ShortageAlertsRequest {
                time: time(0),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            6,
            pb::JointReportRequest {
                time: time(0),
                period: "2025-Q4".into(),
            }
            .encode_to_vec(),
        ),
        (
            7,
            pb::CheckSubjectRequest {
                time: time(0),
                subject_ref: "f9e573ea88b0dae3da94e80cfcb1379d0bdd3aed384c49f8e5c315b836eb3549"
                    .into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            8,
            pb::ListEntriesRequest {
                time: time(0),
                origin: "310000".into(),
                page_size: 1,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (9, pb::ViewInfoRequest { at_position: 5 }.encode_to_vec()),
    ];
    for (which, bytes) in queries {
        let mut input = vec![which];
        input.extend(bytes);
        seeds.push(("query", format!("seed-{which}"), input));
    }

    let page = view
        .list_entries(&pb::ListEntriesRequest {
            origin: "310000".into(),
            page_size: 1,
            ..Default::default()
        })
        .expect("the samples list");
    let mut token = vec![0u8];
    token.extend(page.next_page_token.as_bytes());
    seeds.push(("page_token", "seed-issued".into(), token));
    let mut text = vec![9u8];
    text.extend(b"5/310000/sh-2025-0012");
    seeds.push(("page_token", "seed-text".into(), text));

    let dir = scratch_dir();
    let log = &samples().log;
    let snapshotting = hub_view::View::open(view_config(Some(dir.path().to_owned())), log)
        .expect("the sample view builds");
    snapshotting.write_snapshot(log).expect("a snapshot writes");
    let file = std::fs::read(hub_view::snapshot::path(dir.path())).expect("the snapshot reads");
    let payload = &unframed(&file).expect("the view's snapshot has a header and sections");
    let mut raw = vec![0u8];
    raw.extend(&file);
    seeds.push(("snapshot", "seed-file".into(), raw));
    let mut whole = vec![1u8];
    whole.extend(payload);
    seeds.push(("snapshot", "seed-payload".into(), whole));
    let position = u8::try_from(log.head()).expect("the samples are fewer than 256 events");
    let mut state = vec![2u8, position];
    state.extend(&payload[40..]);
    seeds.push(("snapshot", "seed-state".into(), state));
    let empty = hub_view::View::new(view_config(None));
    drop(empty);
    assert_eq!(framed(payload), file, "the snapshot layout changed");
}

fn vault_seeds(seeds: &mut Vec<Seed>) {
    let dir = scratch_dir();
    let vault = Vault::open(dir.path()).expect("a vault opens");
    let streams: Vec<StreamId> = [
        "blacklist/310000/sh-2025-0012",
        "blacklist/320500/a",
        "blacklist/330100/b",
    ]
    .iter()
    .map(|s| s.parse().expect("a stream"))
    .collect();
    let mut key = [0u8; 32];
    for s in &streams {
        key = *vault.get_or_create(s).expect("a key");
    }
    vault.destroy(&streams[1]).expect("destroy");
    drop(vault);
    let file = std::fs::read(dir.path().join(VAULT_FILE)).expect("the vault reads");
    for mode in [0u8, 1] {
        let mut input = vec![mode];
        input.extend(&file);
        seeds.push(("vault", format!("seed-{mode}"), input));
    }

    let fields =
        hub_proto::convert::personal_fields_from_proto("张*", "申报人才计划时虚报工作经历")
            .expect("valid fields");
    let sealed = vault::seal(&key, &streams[0], &fields);
    let mut input = key.to_vec();
    input.push(0);
    input.push(24);
    input.extend(&sealed.nonce);
    input.extend(&sealed.ciphertext);
    seeds.push(("sealed", "seed-sealed".into(), input));
    let mut input = key.to_vec();
    input.extend([1, 0]);
    input.extend("李*华\0以伪造的职业资格证书办理人才认定".as_bytes());
    seeds.push(("sealed", "seed-fields".into(), input));
}

fn audit_seeds(seeds: &mut Vec<Seed>) {
    let tree = MerkleTree::from_leaf_hashes((0..13u64).map(|i| leaf_hash(&i.to_be_bytes())));
    let inclusion = pb::GetInclusionProofRequest {
        position: 5,
        tree_size: 11,
    };
    let mut input = with_prefix(&[13, 0], &inclusion);
    input.push(0xff);
    for h in tree.inclusion_proof(4, 11).expect("a proof") {
        input.extend(h);
    }
    seeds.push(("audit_proofs", "seed-inclusion".into(), input));
    let consistency = pb::GetConsistencyProofRequest {
        old_size: 6,
        new_size: 0,
    };
    let mut input = with_prefix(&[13, 1], &consistency);
    input.push(0xff);
    for h in tree.consistency_proof(6, 13).expect("a proof") {
        input.extend(h);
    }
    seeds.push(("audit_proofs", "seed-consistency".into(), input));
}

fn config_seeds(seeds: &mut Vec<Seed>) {
    let files = [
        ("default", include_str!("../../config/default.toml")),
        (
            "city-shanghai",
            include_str!("../../config/city-shanghai.toml"),
        ),
        (
            "city-hangzhou",
            include_str!("../../config/city-hangzhou.toml"),
        ),
        ("roster", include_str!("../../config/roster.toml")),
    ];
    for (name, text) in files {
        seeds.push(("config", format!("seed-{name}"), text.as_bytes().to_vec()));
    }
}
