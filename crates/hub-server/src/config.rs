//! Configuration: built-in defaults → `--config` file → `TALENT_HUB__…` environment →
//! flags, then [`Config::validate`].
//!
//! Optional values (`node.member`, `node.signing_key_file`, `privacy.alliance_key_file`,
//! `roster.file`) are `Option`s here; in the TOML, the environment and flags, `""` means
//! none, as it always has (see `empty_is_none`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use hub_types::roster::Roster;
use hub_types::subject::AllianceKey;
use hub_types::MemberId;
use hub_view::{ScreeningRules, Thresholds};
use serde::{Deserialize, Serialize};

use crate::identity::Role;

/// The built-in defaults (`config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Everything a node is configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who this node is and where it keeps data.
    pub node: NodeConfig,
    /// The gRPC listener and its limits.
    pub server: ServerConfig,
    /// Live subscriptions.
    pub subscribe: SubscribeConfig,
    /// The view.
    pub view: ViewSection,
    /// Personal-data protection.
    pub privacy: PrivacyConfig,
    /// The alliance roster.
    pub roster: RosterConfig,
    /// Caller authentication.
    pub auth: AuthConfig,
    /// The admin listener: metrics, probes, the console.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Mutual TLS; required when listening beyond loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::tls::TlsConfig>,
    /// Replication over Kafka; absent for a standalone node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<hub_replication::KafkaConfig>,
}

/// `[node]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The city this node publishes for; none (`""`) for a read replica.
    #[serde(default, with = "empty_is_none")]
    pub member: Option<MemberId>,
    /// Where the log and snapshots live.
    pub data_dir: PathBuf,
    /// Bytes the log keeps free in the data directory's file system (0 = none).
    pub min_free_bytes: u64,
    /// Development sandbox: the node publishes for every roster city.
    pub sandbox: bool,
    /// The city's ed25519 key file (`{member}` is replaced by the city code); none (`""`) =
    /// the built-in development keys.
    #[serde(default, with = "empty_is_none")]
    pub signing_key_file: Option<String>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Largest message accepted or sent.
    pub max_message_bytes: usize,
    /// Deadline of unary requests.
    pub request_timeout_ms: u64,
    /// Unary requests served at once before shedding load.
    pub max_in_flight: usize,
    /// Most events in one append.
    pub max_events_per_append: usize,
    /// Most subscriptions open at once.
    pub max_subscribers: usize,
    /// Most `AppendStream` calls open at once.
    pub max_append_streams: usize,
    /// Most client connections open at once; more are closed as soon as accepted.
    pub max_connections: usize,
    /// Most HTTP/2 streams (calls) open at once on one connection; a client queues more.
    pub max_streams_per_connection: u32,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
    /// Unary requests per second each member may make (0 = unlimited).
    pub member_rate_per_second: u64,
    /// Requests a member may make at once above its rate.
    pub member_burst: u64,
}

/// `[subscribe]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeConfig {
    /// Events buffered per subscriber.
    pub buffer: usize,
    /// How long a full buffer is tolerated before the subscriber is cut off.
    pub lag_timeout_ms: u64,
    /// Heartbeat interval on an idle stream.
    pub heartbeat_ms: u64,
}

/// `[view]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSection {
    /// Snapshot interval in events (0 = never).
    pub snapshot_every: u64,
    /// Most of its time the view spends writing snapshots, in (0, 1].
    pub snapshot_busy_share: f64,
    /// Shortage alert thresholds.
    pub thresholds: Thresholds,
    /// Duplicate-application rules of `ScreenApplication` (`[view.screening]`).
    #[serde(default)]
    pub screening: ScreeningRules,
}

/// `[privacy]`
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The alliance HMAC key as text (development).
    pub alliance_key: String,
    /// A file with the key's raw bytes; wins when set (`""` = none).
    #[serde(default, with = "empty_is_none")]
    pub alliance_key_file: Option<PathBuf>,
    /// Erase the personal data of this node's own blacklist entries, white-list entries
    /// and awards this many days after they end (`hub_view::View::due_for_erasure`);
    /// 0 = only by order.
    pub retention_days: u32,
    /// How often the node looks for entities past their retention, in seconds.
    pub retention_sweep_s: u64,
}

impl std::fmt::Debug for PrivacyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyConfig")
            .field("alliance_key", &"<redacted>")
            .field("alliance_key_file", &self.alliance_key_file)
            .field("retention_days", &self.retention_days)
            .field("retention_sweep_s", &self.retention_sweep_s)
            .finish()
    }
}

/// `[roster]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterConfig {
    /// Roster file; none (`""`) for the built-in roster.
    #[serde(default, with = "empty_is_none")]
    pub file: Option<PathBuf>,
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Bearer tokens.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
}

/// One bearer token and who it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret the client sends as `authorization: Bearer <token>`.
    pub token: String,
    /// The member city of the caller.
    pub member: String,
    /// The caller's role.
    pub role: Role,
}

/// Values given as command-line flags, the last layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<String>,
    /// `--admin-listen`
    pub admin_listen: Option<String>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--member`
    pub member: Option<String>,
    /// `--sandbox`
    pub sandbox: bool,
}

/// A configuration error, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("config: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads the layers and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with_env(file, overrides, Env::prefixed("TALENT_HUB__").split("__"))
    }

    fn load_with_env(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(env);
        if let Some(v) = &overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", v));
        }
        if let Some(v) = &overrides.admin_listen {
            figment = figment.merge(Serialized::default("admin.listen", v));
        }
        if let Some(v) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("node.data_dir", v));
        }
        if let Some(v) = &overrides.member {
            figment = figment.merge(Serialized::default("node.member", v));
        }
        if overrides.sandbox {
            figment = figment.merge(Serialized::default("node.sandbox", true));
        }
        let config: Config = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The built-in defaults alone (valid by construction, checked by a test).
    pub fn defaults() -> Self {
        Self::load_with_env(
            None,
            &Overrides::default(),
            Env::prefixed("TALENT_HUB_NEVER_SET__"),
        )
        .expect("the built-in defaults are valid")
    }

    /// Checks every value, naming the key of the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        let addr = self.listen_addr()?;
        if !addr.ip().is_loopback() && self.tls.is_none() {
            return err(
                "server.listen",
                format!("{addr} is beyond loopback: configure [tls] (mutual TLS); bearer tokens are for loopback development only"),
            );
        }
        self.admin.validate(self.tls.is_some())?;
        self.alliance_key()?;
        let roster = self.roster()?;
        if let Some(m) = self.member() {
            if !roster.contains(m) {
                return err("node.member", format!("{m} is not in the roster"));
            }
        }
        let s = &self.server;
        let positive = [
            ("server.max_message_bytes", s.max_message_bytes as u64),
            ("server.request_timeout_ms", s.request_timeout_ms),
            ("server.max_in_flight", s.max_in_flight as u64),
            (
                "server.max_events_per_append",
                s.max_events_per_append as u64,
            ),
            ("server.max_subscribers", s.max_subscribers as u64),
            ("server.max_append_streams", s.max_append_streams as u64),
            ("server.max_connections", s.max_connections as u64),
            (
                "server.max_streams_per_connection",
                u64::from(s.max_streams_per_connection),
            ),
            ("admin.max_tails", self.admin.max_tails as u64),
            ("subscribe.buffer", self.subscribe.buffer as u64),
            ("subscribe.lag_timeout_ms", self.subscribe.lag_timeout_ms),
            ("subscribe.heartbeat_ms", self.subscribe.heartbeat_ms),
            ("privacy.retention_sweep_s", self.privacy.retention_sweep_s),
        ];
        for (key, v) in positive {
            if v == 0 {
                return err(key, "must be greater than 0".into());
            }
        }
        if let Some(k) = &self.kafka {
            if k.brokers.trim().is_empty() {
                return err(
                    "kafka.brokers",
                    "must name at least one broker (host:port)".into(),
                );
            }
            if k.topic.trim().is_empty() {
                return err("kafka.topic", "must not be empty".into());
            }
        }
        if s.max_message_bytes < 1024 {
            return err("server.max_message_bytes", "must be at least 1024".into());
        }
        let share = self.view.snapshot_busy_share;
        if !(share > 0.0 && share <= 1.0) {
            return err(
                "view.snapshot_busy_share",
                format!("must be above 0 and at most 1, got {share}"),
            );
        }
        let t = &self.view.thresholds;
        if !(t.growth.is_finite() && t.growth > 0.0) {
            return err(
                "view.thresholds.growth",
                format!("must be a positive number, got {}", t.growth),
            );
        }
        if !(t.forecast_growth.is_finite() && t.forecast_growth > 0.0) {
            return err(
                "view.thresholds.forecast_growth",
                format!("must be a positive number, got {}", t.forecast_growth),
            );
        }
        for (i, token) in self.auth.tokens.iter().enumerate() {
            if token.token.len() < 8 {
                return err(
                    &format!("auth.tokens[{i}].token"),
                    "must be at least 8 characters".into(),
                );
            }
            match token.member.parse::<MemberId>() {
                Ok(m) if roster.contains(m) => {}
                Ok(m) => {
                    return err(
                        &format!("auth.tokens[{i}].member"),
                        format!("{m} is not in the roster"),
                    )
                }
                Err(e) => return err(&format!("auth.tokens[{i}].member"), e.to_string()),
            }
            if self.auth.tokens[..i].iter().any(|o| o.token == token.token) {
                return err(&format!("auth.tokens[{i}].token"), "is listed twice".into());
            }
        }
        Ok(())
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|e| {
            ConfigError(format!(
                "server.listen: expected host:port, got {:?} ({e})",
                self.server.listen
            ))
        })
    }

    /// The city this node publishes for.
    pub fn member(&self) -> Option<MemberId> {
        self.node.member
    }

    /// The roster, from its file or built in.
    pub fn roster(&self) -> Result<Roster, ConfigError> {
        let Some(path) = &self.roster.file else {
            return Ok(Roster::builtin());
        };
        let file = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("roster.file: cannot read {file}: {e}")))?;
        Roster::from_toml(&text).map_err(|e| ConfigError(format!("roster.file: {file}: {e}")))
    }

    /// The alliance HMAC key, from its file or the config text.
    pub fn alliance_key(&self) -> Result<AllianceKey, ConfigError> {
        let p = &self.privacy;
        if let Some(file) = &p.alliance_key_file {
            let bytes = std::fs::read(file).map_err(|e| {
                ConfigError(format!(
                    "privacy.alliance_key_file: cannot read {}: {e}",
                    file.display()
                ))
            })?;
            return AllianceKey::new(bytes)
                .map_err(|e| ConfigError(format!("privacy.alliance_key_file: {e}")));
        }
        AllianceKey::new(p.alliance_key.as_bytes().to_vec())
            .map_err(|e| ConfigError(format!("privacy.alliance_key: {e}")))
    }

    /// The effective configuration as TOML, for `--dump-config`; secrets are redacted.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.privacy.alliance_key.is_empty() {
            shown.privacy.alliance_key = "<redacted>".into();
        }
        for t in &mut shown.auth.tokens {
            if !t.token.starts_with("dev-") {
                t.token = "<redacted>".into();
            }
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// `""` means "none" for an optional value, in every layer: TOML, the environment and flags
/// (`--member ""`). Anything else must parse, or the load fails naming the key. Numbers are
/// read as their digits, since the environment layer turns `330400` into a number. Written
/// back as `""` for none, so `--dump-config` reads as it always has.
mod empty_is_none {
    use std::fmt;
    use std::marker::PhantomData;
    use std::str::FromStr;

    use serde::de::{self, Deserializer, Visitor};
    use serde::{Serialize, Serializer};

    /// Writes `""` for none, the value otherwise.
    pub(super) fn serialize<T: Serialize, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => v.serialize(serializer),
            None => serializer.serialize_str(""),
        }
    }

    /// Reads `""` as none and parses anything else.
    pub(super) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
        D: Deserializer<'de>,
    {
        deserializer.deserialize_any(Text(PhantomData))
    }

    struct Text<T>(PhantomData<T>);

    impl<T> Visitor<'_> for Text<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string (\"\" for none)")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            self.visit_str(&n.to_string())
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            self.visit_str(&n.to_string())
        }
    }
}

/// `[admin]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener; empty = no admin listener.
    pub listen: String,
    /// Most `/api/tail` streams open at once.
    pub max_tails: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9464".into(),
            max_tails: 16,
        }
    }
}

impl AdminConfig {
    /// The address to listen on, or `None` when the listener is off.
    pub fn addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.listen.trim().is_empty() {
            return Ok(None);
        }
        self.listen.parse().map(Some).map_err(|e| {
            ConfigError(format!(
                "admin.listen: expected host:port or \"\" (off), got {:?} ({e})",
                self.listen
            ))
        })
    }

    /// Checks the address; beyond loopback the node must have `[tls]`.
    pub fn validate(&self, has_tls: bool) -> Result<(), ConfigError> {
        match self.addr()? {
            Some(addr) if !addr.ip().is_loopback() && !has_tls => Err(ConfigError(format!(
                "admin.listen: {addr} is beyond loopback: configure [tls] (mutual TLS) or listen on loopback"
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        // figment reads the process environment; tests use a unique prefix per case so
        // they do not see each other's variables.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let prefix = format!("TH_TEST_{}_{n}__", std::process::id());
        for (k, v) in pairs {
            std::env::set_var(format!("{prefix}{k}"), v);
        }
        Env::prefixed(&prefix).split("__")
    }

    #[test]
    fn defaults_are_valid_and_standalone() {
        let c = Config::defaults();
        assert_eq!(c.server.listen, "127.0.0.1:50051");
        assert_eq!(c.node.data_dir, PathBuf::from("./data"));
        assert_eq!(c.member().map(|m| m.to_string()).as_deref(), Some("310000"));
        assert!(c.roster().expect("roster").members.len() >= 8);
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:7000\"\nmax_in_flight = 7\n[node]\nmember = \"330400\"\n")
            .expect("write");
        let e = env(&[("SERVER__MAX_IN_FLIGHT", "9"), ("SUBSCRIBE__BUFFER", "10")]);
        let overrides = Overrides {
            listen: Some("127.0.0.1:7001".into()),
            ..Default::default()
        };
        let c = Config::load_with_env(Some(&file), &overrides, e).expect("load");
        assert_eq!(c.server.listen, "127.0.0.1:7001", "flags win");
        assert_eq!(c.server.max_in_flight, 9, "environment beats the file");
        assert_eq!(c.subscribe.buffer, 10);
        assert_eq!(
            c.member().map(|m| m.to_string()).as_deref(),
            Some("330400"),
            "the file beats the defaults"
        );
        assert_eq!(
            c.server.max_events_per_append, 1000,
            "defaults fill the rest"
        );
    }

    #[test]
    fn bad_values_are_rejected_naming_the_key() {
        let cases = [
            ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
            ("[node]\nmember = \"999999\"\n", "node.member"),
            ("[node]\nmember = \"320300\"\n", "node.member"),
            ("[server]\nmax_in_flight = 0\n", "server.max_in_flight"),
            (
                "[privacy]\nretention_sweep_s = 0\n",
                "privacy.retention_sweep_s",
            ),
            ("[privacy]\nretention_days = -1\n", "retention_days"),
            (
                "[view.thresholds]\ngrowth = -1.0\n",
                "view.thresholds.growth",
            ),
            (
                "[view]\nsnapshot_busy_share = 0.0\n",
                "view.snapshot_busy_share",
            ),
            (
                "[view]\nsnapshot_busy_share = 1.5\n",
                "view.snapshot_busy_share",
            ),
            ("[server]\nno_such_key = 1\n", "no_such_key"),
            (
                "[[auth.tokens]]\ntoken = \"short\"\nmember = \"310000\"\nrole = \"member\"\n",
                "auth.tokens[0].token",
            ),
            (
                "[[auth.tokens]]\ntoken = \"long-enough\"\nmember = \"310000\"\nrole = \"king\"\n",
                "role",
            ),
            (
                "[roster]\nfile = \"/nonexistent/roster.toml\"\n",
                "roster.file",
            ),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, (text, key)) in cases.iter().enumerate() {
            let file = dir.path().join(format!("c{i}.toml"));
            std::fs::write(&file, text).expect("write");
            let err = Config::load_with_env(Some(&file), &Overrides::default(), env(&[]))
                .expect_err(text);
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
        let missing = Config::load_with_env(
            Some(Path::new("/nonexistent.toml")),
            &Overrides::default(),
            env(&[]),
        );
        assert!(missing
            .expect_err("missing file")
            .to_string()
            .contains("does not exist"));
    }

    #[test]
    fn an_empty_string_means_none_in_every_layer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("replica.toml");
        std::fs::write(
            &file,
            "[node]\nmember = \"\"\nsigning_key_file = \"\"\n[privacy]\nalliance_key_file = \"\"\n[roster]\nfile = \"\"\n",
        )
        .expect("write");
        let c = Config::load_with_env(Some(&file), &Overrides::default(), env(&[]))
            .expect("a read replica");
        assert_eq!(c.node.member, None);
        assert_eq!(c.node.signing_key_file, None);
        assert_eq!(c.privacy.alliance_key_file, None);
        assert_eq!(c.roster.file, None);
        let dump = c.to_toml();
        assert!(dump.contains("member = \"\""), "{dump}");
        let back: Config = toml::from_str(&dump).expect("parse dump");
        assert_eq!(back.node, c.node);
        assert_eq!(back.roster, c.roster);

        let flag = Overrides {
            member: Some(String::new()),
            ..Default::default()
        };
        let c = Config::load_with_env(None, &flag, env(&[])).expect("--member \"\"");
        assert_eq!(c.member(), None, "an empty flag makes a read replica");

        let c = Config::load_with_env(None, &Overrides::default(), env(&[("NODE__MEMBER", "")]))
            .expect("empty variable");
        assert_eq!(c.member(), None, "an empty variable makes a read replica");
    }

    #[test]
    fn optional_values_are_typed_from_every_layer() {
        // The environment layer reads `330400` as a number.
        let e = env(&[
            ("NODE__MEMBER", "330400"),
            ("ROSTER__FILE", "../../config/roster.toml"),
        ]);
        let c = Config::load_with_env(None, &Overrides::default(), e).expect("load");
        assert_eq!(c.member().map(|m| m.to_string()).as_deref(), Some("330400"));
        assert_eq!(
            c.roster.file.as_deref(),
            Some(Path::new("../../config/roster.toml"))
        );
        assert_eq!(c.roster().expect("roster"), Roster::builtin());

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        for (text, key) in [
            ("[node]\nmember = \"31000\"\n", "node.member"),
            ("[node]\nmember = \" \"\n", "node.member"),
            (
                "[privacy]\nalliance_key_file = \"/nonexistent/alliance.key\"\n",
                "privacy.alliance_key_file",
            ),
        ] {
            std::fs::write(&file, text).expect("write");
            let err = Config::load_with_env(Some(&file), &Overrides::default(), env(&[]))
                .expect_err(text);
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn the_shipped_city_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("config dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with("city-") && name.ends_with(".toml") {
                let c = Config::load_with_env(Some(&path), &Overrides::default(), env(&[]))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(c.kafka.is_some(), "{name} replicates");
                assert!(c.member().is_some(), "{name} publishes for a city");
                seen += 1;
            }
        }
        assert_eq!(seen, 3);
    }

    #[test]
    fn the_effective_config_dump_parses_and_hides_the_key() {
        let c = Config::defaults();
        let dump = c.to_toml();
        assert!(
            !dump.contains("talenthub-dev-alliance-key"),
            "the key is redacted"
        );
        let back: Config = toml::from_str(&dump).expect("parse dump");
        assert_eq!(back.server, c.server);
        assert_eq!(back.auth, c.auth);
    }
}
