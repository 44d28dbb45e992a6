//! Coverage-guided fuzzing of every decoder and validator that sees outside bytes.
//!
//! - [`targets`]: one plain function per target, asserting what must hold beyond "no
//!   panic" (round trips, errors that name their field, proofs that verify).
//! - `fuzz_targets/`: the libFuzzer binaries, one line each around a target
//!   (`cargo +nightly fuzz run <target>`, feature `libfuzzer`).
//! - `corpus/<target>/` and `regressions/<target>/`: inputs replayed through their target
//!   by `tests/replay.rs` on the stable toolchain (`cargo test --manifest-path
//!   fuzz/Cargo.toml --no-default-features --features replay`), which is how CI runs them.
//! - [`seeds`]: the seed inputs made from real samples (`tests/replay.rs` rewrites them
//!   on request).
//! - [`fixtures`]: what targets share (a view of the samples, the development keys).

pub mod fixtures;
pub mod seeds;
pub mod targets;
