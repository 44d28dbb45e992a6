//! What the targets share: a runtime, the development signing keys, and a view of the
//! sample events of `config/samples/`, built once per process.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use hub_audit::{SigningKey, VerifyingKey};
use hub_log::{ChainSigner, Log, MemStore};
use hub_proto::pb::EventRecord;
use hub_proto::record::Hash;
use hub_types::roster::Roster;
use hub_types::{ExpectedVersion, MemberId, NewEvent, OriginSeq, StreamId};
use hub_view::{View, ViewConfig};

/// The sample event files, as `hubctl publish` loads them.
pub const SAMPLES: [&str; 3] = [
    include_str!("../../config/samples/recognition.jsonl"),
    include_str!("../../config/samples/demand.jsonl"),
    include_str!("../../config/samples/blacklist.jsonl"),
];

/// The development keys of every city (public: they sign only test data).
const DEV_KEYS: [(&str, &str); 13] = [
    ("310000", include_str!("../../config/keys/dev-310000.key")),
    ("320100", include_str!("../../config/keys/dev-320100.key")),
    ("320200", include_str!("../../config/keys/dev-320200.key")),
    ("320400", include_str!("../../config/keys/dev-320400.key")),
    ("320500", include_str!("../../config/keys/dev-320500.key")),
    ("320600", include_str!("../../config/keys/dev-320600.key")),
    ("330100", include_str!("../../config/keys/dev-330100.key")),
    ("330200", include_str!("../../config/keys/dev-330200.key")),
    ("330400", include_str!("../../config/keys/dev-330400.key")),
    ("330500", include_str!("../../config/keys/dev-330500.key")),
    ("330600", include_str!("../../config/keys/dev-330600.key")),
    ("340100", include_str!("../../config/keys/dev-340100.key")),
    ("340200", include_str!("../../config/keys/dev-340200.key")),
];

/// A single-threaded runtime for the log's async calls.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime needs no resources that can fail")
    })
}

/// Signs chain heads with the development keys of [`DEV_KEYS`].
#[derive(Debug)]
pub struct DevSigner(BTreeMap<MemberId, SigningKey>);

impl DevSigner {
    /// The signer of the development keys.
    pub fn new() -> Self {
        let keys = DEV_KEYS
            .iter()
            .map(|(code, text)| {
                let member: MemberId = code.parse().expect("a shipped city code");
                let key = hub_audit::parse_signing_key_text(text).expect("a shipped key file");
                (member, key)
            })
            .collect();
        Self(keys)
    }
}

impl Default for DevSigner {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainSigner for DevSigner {
    fn sign(&self, origin: MemberId, seq: OriginSeq, record_hash: &Hash) -> Option<Vec<u8>> {
        let key = self.0.get(&origin)?;
        hub_audit::sign_chain_head(key, &origin.to_string(), seq.get(), record_hash)
            .ok()
            .map(|s| s.to_vec())
    }
}

/// The public keys of the built-in roster, by member code, as an auditor trusts them.
pub fn roster_keys() -> &'static BTreeMap<String, VerifyingKey> {
    static KEYS: OnceLock<BTreeMap<String, VerifyingKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        hub_audit::roster_keys(&Roster::builtin())
            .expect("the built-in roster's keys parse")
            .into_iter()
            .map(|(m, k)| (m.to_string(), k))
            .collect()
    })
}

/// The sample events, grouped into one append per stream in file order.
pub fn sample_appends() -> Vec<(StreamId, Vec<NewEvent>)> {
    let mut appends: Vec<(StreamId, Vec<NewEvent>)> = Vec::new();
    for text in SAMPLES {
        let events = hub_proto::jsonl::parse_lines(text).expect("the shipped samples are valid");
        for (stream, event) in events {
            match appends.iter_mut().find(|(s, _)| *s == stream) {
                Some((_, batch)) => batch.push(event),
                None => appends.push((stream, vec![event])),
            }
        }
    }
    appends
}

/// A signed in-memory log holding the sample events (those of cities whose development
/// keys [`DevSigner`] holds are signed).
pub fn sample_log() -> Log<MemStore> {
    let log = Log::in_memory_signed(Arc::new(DevSigner::new()));
    runtime().block_on(async {
        for (stream, events) in sample_appends() {
            log.append(&stream, ExpectedVersion::Any, events)
                .await
                .expect("the samples append to an empty log");
        }
    });
    log
}

/// The records of [`sample_log`], in log order.
pub fn sample_records() -> Vec<EventRecord> {
    let log = sample_log();
    let records = log
        .read_all(hub_types::Position::FIRST, usize::MAX)
        .expect("an in-memory log reads")
        .into_iter()
        .map(|e| e.record)
        .collect();
    runtime().block_on(log.close());
    records
}

/// The log and view every query target asks: the samples, folded once.
pub struct Samples {
    /// The log the view follows.
    pub log: Log<MemStore>,
    /// The view of it.
    pub view: View,
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Samples")
            .field("position", &self.view.position())
            .finish()
    }
}

/// The shared sample log and view.
pub fn samples() -> &'static Samples {
    static SAMPLES_VIEW: OnceLock<Samples> = OnceLock::new();
    SAMPLES_VIEW.get_or_init(|| {
        let log = sample_log();
        let view = View::open(view_config(None), &log).expect("the sample view builds");
        Samples { log, view }
    })
}

/// The view configuration of the targets: the built-in roster, small pages.
pub fn view_config(snapshot_dir: Option<std::path::PathBuf>) -> ViewConfig {
    ViewConfig {
        roster: Roster::builtin(),
        snapshot_dir,
        ..ViewConfig::default()
    }
}

/// A directory for files a target writes: in memory when the machine has `/dev/shm`.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("a temporary directory")
}
