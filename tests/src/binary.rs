//! The `talent-hub` binary under test.
//!
//! `env!("CARGO_BIN_EXE_talent-hub")` exists only in `hub-server`'s own tests, so this
//! crate finds the binary itself, in this order:
//!
//! 1. `TALENT_HUB_BIN`, when set (e.g. to test a release build);
//! 2. otherwise it runs `cargo build -p hub-server --bin talent-hub` (with the `cargo` that
//!    runs the tests, `$CARGO`, into the same target directory and profile), which is a
//!    no-op when the binary is fresh and makes `cargo test -p hub-system-tests` alone
//!    test current code; then it takes `<target>/<profile>/talent-hub`, the directory
//!    above the test executable's `deps/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context};

/// The path of the `talent-hub` binary, built if needed (once per test process).
pub fn talent_hub() -> anyhow::Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| locate().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TALENT_HUB_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("cannot find the test executable")?;
    // <target>/<profile>/deps/<test executable>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not under <target>/<profile>/deps")?;
    let target_dir = profile_dir
        .parent()
        .context("the profile directory has no parent")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate is not inside the workspace")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args([
            "build",
            "--quiet",
            "-p",
            "hub-server",
            "--bin",
            "talent-hub",
        ])
        .env("CARGO_TARGET_DIR", target_dir);
    // `cargo test` builds the binary with the `test` profile into `debug/`: build the same,
    // so this is a no-op after `cargo test --workspace` rather than a rebuild.
    let profile = if profile == "debug" { "test" } else { profile };
    build.args(["--profile", profile]);
    let status = build
        .status()
        .context("cannot run cargo to build talent-hub")?;
    let bin = profile_dir.join(format!("talent-hub{}", std::env::consts::EXE_SUFFIX));
    if !status.success() {
        bail!("building talent-hub failed ({status}); set TALENT_HUB_BIN to a built binary");
    }
    if !bin.exists() {
        bail!("talent-hub was built but is not at {}", bin.display());
    }
    Ok(bin)
}
