//! Configuration files: the node's TOML config (as `--config` loads it) and roster files.

use hub_server::config::{Config, Overrides};
use hub_types::roster::Roster;

use crate::fixtures::scratch_dir;

/// A config file loaded as `talent-hub --config` does (over the built-in defaults, then
/// validated): refused with a message naming the key, or loaded; a loaded config's
/// `--dump-config` text loads back to the same config (secrets aside). The same text as a
/// roster file parses or is refused without a panic.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Roster::from_toml(text);
    let dir = scratch_dir();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write the config: {e}"));
    let config = match Config::load(Some(&path), &Overrides::default()) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.0.is_empty(), "a refusal says nothing");
            return;
        }
    };
    let dumped = config.to_toml();
    let mut again: Config = toml::from_str(&dumped)
        .unwrap_or_else(|e| panic!("the dumped config does not parse: {e}\n{dumped}"));
    // The dump redacts secrets: put them back before comparing.
    again
        .privacy
        .alliance_key
        .clone_from(&config.privacy.alliance_key);
    for (shown, real) in again.auth.tokens.iter_mut().zip(&config.auth.tokens) {
        shown.token.clone_from(&real.token);
    }
    assert_eq!(again, config, "the dumped config reads back differently");
    again
        .validate()
        .unwrap_or_else(|e| panic!("the dumped config is invalid: {e}"));
}
