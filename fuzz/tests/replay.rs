//! Replays every input of `corpus/<target>/` and `regressions/<target>/` through its
//! target, on the stable toolchain: the corpus a campaign grew stays free of panics, and
//! every crash a campaign found stays fixed. CI runs it:
//! `cargo test --manifest-path fuzz/Cargo.toml --no-default-features --features replay`.

use std::path::{Path, PathBuf};

use hub_fuzz::targets::{by_name, ALL};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The files of `dir/<target>/`, sorted; none when the directory is missing.
fn inputs(dir: &Path, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `files` through `target`, naming the first file that panics.
fn replay(target: &str, files: &[PathBuf]) {
    let run = by_name(target).expect("a listed target");
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} panics (replay it with `cargo +nightly fuzz run {target} {}`)",
            file.display(),
            file.display()
        );
    }
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let root = root();
    let mut total = 0;
    for (target, _) in ALL {
        let corpus = inputs(&root.join("corpus"), target);
        let regressions = inputs(&root.join("regressions"), target);
        assert!(
            !corpus.is_empty(),
            "{target}: corpus/{target}/ holds no input"
        );
        replay(target, &corpus);
        replay(target, &regressions);
        println!(
            "replayed {target}: {} corpus, {} regression inputs",
            corpus.len(),
            regressions.len()
        );
        total += corpus.len() + regressions.len();
    }
    println!("replayed {total} inputs through {} targets", ALL.len());
}

#[test]
fn every_directory_belongs_to_a_target() {
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                assert!(by_name(&name).is_some(), "{dir}/{name}/ names no target");
            }
        }
    }
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    for (target, _) in ALL {
        let bin = root().join("fuzz_targets").join(format!("{target}.rs"));
        assert!(bin.is_file(), "{} is missing", bin.display());
    }
}

/// Rewrites the seeds (`HUB_FUZZ_WRITE_SEEDS=1`), then checks each one passes its target.
#[test]
fn the_seeds_pass_their_targets() {
    let write = std::env::var_os("HUB_FUZZ_WRITE_SEEDS").is_some();
    for (target, name, bytes) in hub_fuzz::seeds::all() {
        let run = by_name(target).expect("a listed target");
        run(&bytes);
        if write {
            let dir = root().join("corpus").join(target);
            std::fs::create_dir_all(&dir).expect("the corpus directory");
            std::fs::write(dir.join(&name), &bytes).expect("a seed file");
        }
    }
}

/// The seeds reach past the first checks: the sample history verifies, and the real
/// snapshot restores in every framing.
#[test]
fn the_seeds_reach_the_deep_paths() {
    let records = hub_fuzz::fixtures::sample_records();
    let positions = (1..).zip(records);
    let report = hub_audit::Verifier::new(hub_fuzz::fixtures::roster_keys())
        .verify(positions, |_| {})
        .expect("the signed samples verify");
    assert!(report.signatures > 0);
    for (target, name, bytes) in hub_fuzz::seeds::all() {
        if target == "snapshot" {
            assert!(
                hub_fuzz::targets::snapshot_restored(&bytes),
                "snapshot seed {name} is not restored"
            );
        }
    }
}
