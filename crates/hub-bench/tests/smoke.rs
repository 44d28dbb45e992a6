//! The binary runs tiny `log`, `grpc` and `replication` benchmarks and prints only
//! well-formed `BENCH` lines.

use std::process::Command;

/// True for `BENCH <name> <value> <unit>` with a plain decimal value.
fn is_bench_line(line: &str) -> bool {
    let words: Vec<&str> = line.split(' ').collect();
    matches!(
        words.as_slice(),
        ["BENCH", name, value, unit]
            if !name.is_empty()
                && !unit.is_empty()
                && !value.is_empty()
                && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && !name.contains(char::is_whitespace)
                && !unit.contains(char::is_whitespace)
    )
}

/// Runs `hub-bench log <args>` as [`run_bench`] does.
fn run_log_bench(args: &[&str]) -> String {
    run_bench("log", args)
}

/// Runs `hub-bench <subcommand> <args> --dir <a temporary directory>`, as
/// [`run_bench_in`] does.
fn run_bench(subcommand: &str, args: &[&str]) -> String {
    run_bench_in(subcommand, args, "--dir")
}

/// Runs `hub-bench <subcommand> <args>` with `dir_flag` naming a temporary directory;
/// returns its stdout after checking that it succeeded and printed nothing but `BENCH`
/// lines.
fn run_bench_in(subcommand: &str, args: &[&str], dir_flag: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_hub-bench"))
        .arg(subcommand)
        .args(args)
        .arg(dir_flag)
        .arg(dir.path())
        .output()
        .expect("run hub-bench");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    assert!(
        output.status.success(),
        "hub-bench failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout.lines() {
        assert!(is_bench_line(line), "not a BENCH line: {line:?}");
    }
    stdout
}

fn has_figure(stdout: &str, name: &str) -> bool {
    stdout.lines().any(|l| l.split(' ').nth(1) == Some(name))
}

#[test]
fn log_bench_prints_only_bench_lines() {
    let stdout = run_log_bench(&["--seconds", "0.2", "--writers", "1,2", "--batches", "1,3"]);
    for name in [
        "log.append.batch1.writers1",
        "log.append.batch3.writers2",
        "log.append.batch3.writers2.p99",
        "log.baseline.fsync_per_event",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn log_bench_runs_to_a_fixed_event_count() {
    let stdout = run_log_bench(&[
        "--events",
        "30",
        "--writers",
        "4",
        "--batches",
        "5",
        "--no-baseline",
    ]);
    assert!(
        has_figure(&stdout, "log.append.batch5.writers4"),
        "{stdout}"
    );
    assert!(
        !has_figure(&stdout, "log.baseline.fsync_per_event"),
        "{stdout}"
    );
}

#[test]
fn log_bench_compares_appends_with_and_without_metrics() {
    let stdout = run_log_bench(&[
        "--events",
        "40",
        "--writers",
        "2",
        "--batches",
        "4",
        "--metrics",
        "--rounds",
        "2",
        "--no-baseline",
    ]);
    for name in [
        "log.metrics.off.batch4.writers2",
        "log.metrics.on.batch4.writers2",
        "log.metrics.on_over_off.batch4.writers2",
        "log.metrics_cost.batch4.writers2",
        "log.metrics.record_per_append",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
    assert!(
        !has_figure(&stdout, "log.append.batch4.writers2"),
        "the comparison replaces the plain point: {stdout}"
    );
}

#[test]
fn console_bench_times_the_page_and_every_call_it_makes() {
    let stdout = run_bench("console", &["--events", "3000", "--loads", "1"]);
    for name in [
        "console.node_open_ms",
        "console.page_load_ms",
        "console.page_load.warm_ms",
        "console.page_load.moving_ms",
        "console.api.status_ms",
        "console.api.recognition_matrix.warm_ms",
        "console.api.demand_trends_ms",
        "console.api.shortage_alerts_ms",
        "console.api.blacklist_counts_ms",
        "console.api.tail_caught_up_ms",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn grpc_bench_measures_every_phase_through_a_real_node() {
    let stdout = run_bench(
        "grpc",
        &[
            "--seconds",
            "0.3",
            "--events",
            "2000",
            "--clients",
            "4",
            "--batch-clients",
            "2",
            "--batch",
            "10",
            "--subscribers",
            "3",
            "--rate",
            "500",
            "--register-events",
            "2000",
        ],
    );
    for name in [
        "grpc.append.clients4",
        "grpc.append.clients4.p99",
        "grpc.append.batch10.clients2",
        "grpc.query.is_recognized.clients4",
        "grpc.echo.health_check.clients4",
        "grpc.query.vs_echo.ratio",
        "grpc.subscribe.catch_up",
        "grpc.fanout.subscribers3.publish_rate",
        "grpc.fanout.subscribers3.p99",
        "grpc.fanout.subscribers3.from_send.p99",
        "grpc.query.screen_application.clients4",
        "grpc.query.screen_application.clients4.p99",
        "grpc.query.check_subject.clients4",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn grpc_bench_names_its_nodelay_figures_apart() {
    let stdout = run_bench(
        "grpc",
        &[
            "--seconds",
            "0.2",
            "--events",
            "500",
            "--clients",
            "2",
            "--batch-clients",
            "1",
            "--subscribers",
            "1",
            "--rate",
            "200",
            "--register-events",
            "500",
            "--tcp-nodelay",
        ],
    );
    assert!(
        has_figure(&stdout, "grpc.nodelay.query.vs_echo.ratio"),
        "{stdout}"
    );
    assert!(
        stdout.lines().all(|l| l.starts_with("BENCH grpc.nodelay.")),
        "{stdout}"
    );
}

#[test]
fn replication_bench_measures_lag_between_two_nodes() {
    let stdout = run_bench("replication", &["--seconds", "0.3", "--rates", "200"]);
    for name in [
        "replication.publish.rate200",
        "replication.lag.rate200.p50",
        "replication.lag.rate200.p99",
        "replication.stored.rate200.p99",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn view_bench_measures_replay_queries_the_register_and_the_vault() {
    let args = ["--events", "3000", "--queries", "300", "--replays", "1"];
    let stdout = run_bench_in("view", &args, "--sled");
    for name in [
        "view.replay",
        "view.check_subject.p99",
        "view.screen_application.p99",
        "view.screen_application.register.p99",
        "view.screen_application.unknown.p99",
        "view.whitelist_status.p99",
        "view.list_awards.p99",
        "view.register_summary.p99",
        "view.record_time.screen_application.p99",
        "vault.create_key.p99",
        "view.personal_open.p99",
        "vault.destroy_key.p99",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn bench_line_shape_is_enforced() {
    assert!(is_bench_line(
        "BENCH log.append.batch1.writers1 1234 events/s"
    ));
    assert!(is_bench_line("BENCH x 0.25 us"));
    assert!(!is_bench_line("BENCH x 12 events/s extra"));
    assert!(!is_bench_line("BENCH x -1 us"));
    assert!(!is_bench_line("progress: 50%"));
}

#[test]
fn audit_bench_measures_verification_and_proofs() {
    let output = Command::new(env!("CARGO_BIN_EXE_hub-bench"))
        .args([
            "audit", "--events", "500", "--leaves", "1000", "--proofs", "50",
        ])
        .output()
        .expect("run hub-bench");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout.lines() {
        assert!(is_bench_line(line), "not a BENCH line: {line:?}");
    }
    for name in [
        "audit.verify.rate",
        "audit.verify.signatures",
        "audit.inclusion_proof.p99",
        "audit.consistency_proof.p99",
    ] {
        assert!(has_figure(&stdout, name), "{name} missing:\n{stdout}");
    }
}

#[test]
fn scale_bench_measures_every_phase_in_processes_of_its_own() {
    let args = ["--events", "2000", "--queries", "200", "--appends", "20"];
    let stdout = run_bench("scale", &args);
    for name in [
        "scale.build",
        "scale.log.record_bytes_per_event",
        "scale.disk.log.bytes_per_event",
        "scale.disk.snapshot.bytes_per_event",
        "scale.replay.open_ms",
        "scale.replay.view_s",
        "scale.replay.rate",
        "scale.snapshot.write_ms",
        "scale.restart.open_ms",
        "scale.restart.view_ms",
        "scale.restart.ms",
        "scale.view.rss.bytes_per_event",
        "scale.rss_mib",
        "scale.query.check_subject.p99",
        "scale.query.screen_application.p99",
        "scale.query.is_recognized.p99",
        "scale.append.p99",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
}

#[test]
fn scale_bench_refuses_a_large_run_not_asked_for() {
    let output = Command::new(env!("CARGO_BIN_EXE_hub-bench"))
        .args(["scale", "--events", "2000000"])
        .output()
        .expect("run hub-bench");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--events 2000000 is above 1000000: add --large"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no figure for a refused run");
}

#[test]
fn restart_bench_kills_a_node_under_load_and_times_its_return() {
    let binary = hub_system_tests::binary::talent_hub().expect("the talent-hub binary");
    let binary = binary.to_str().expect("a utf-8 path");
    let args = [
        "--events",
        "2000",
        "--cycles",
        "2",
        "--appends",
        "40",
        "--clients",
        "4",
        "--binary",
        binary,
    ];
    let stdout = run_bench("restart", &args);
    for name in [
        "restart.serving.p50",
        "restart.serving.p99",
        "restart.serving.max",
        "restart.cpu.p50",
        "restart.audit.p50",
        "restart.audit.p99",
        "restart.since_snapshot.max",
    ] {
        assert!(has_figure(&stdout, name), "no figure {name} in:\n{stdout}");
    }
    // Two cycles of at least 40 acknowledged appends each, all folded after the
    // snapshot the build wrote, and none lost.
    let figure = |name: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("BENCH {name} ")))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no figure {name} in:\n{stdout}"))
    };
    assert!(figure("restart.since_snapshot.max") >= 80.0, "{stdout}");
    assert_eq!(figure("restart.lost"), 0.0, "{stdout}");
}

#[test]
fn restart_bench_refuses_bad_options_naming_them() {
    for (args, message) in [
        (&["--cycles", "0"][..], "--cycles must be at least 1"),
        (&["--appends", "0"][..], "--appends must be at least 1"),
        (&["--clients", "0"][..], "--clients must be at least 1"),
        (
            &["--events", "500"][..],
            "--events must be 1000 to 1000000, got 500",
        ),
        (
            &["--data", "/nonexistent/hub-bench-data"][..],
            "--data /nonexistent/hub-bench-data: no log directory in it",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_hub-bench"))
            .arg("restart")
            .args(args)
            .output()
            .expect("run hub-bench");
        assert!(!output.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "no figure for a refused run");
    }
}
