#!/usr/bin/env bash
# Runs a fuzzing campaign: every target (or those named) one after the other for
# SECONDS each, growing corpus/<target>/ in place, then prints one line of figures per
# target from libFuzzer's final stats. Needs nightly and cargo-fuzz (see README.md).
#
#   fuzz/campaign.sh 1800                 # every target, 30 minutes each
#   fuzz/campaign.sh 600 query snapshot   # two targets, 10 minutes each
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: campaign.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
logs=${FUZZ_LOGS:-target/campaign-logs}
mkdir -p "$logs"
# Safe Rust: no sanitizer (twice the executions); debug assertions stay on.
cargo +nightly fuzz build -s none
for t in "${targets[@]}"; do
    echo "==> $t for ${seconds}s"
    # Crashes land in artifacts/<target>/; the campaign goes on with the next target.
    cargo +nightly fuzz run -s none "$t" -- -max_total_time="$seconds" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$logs/$t.log" 2>&1 ||
        echo "    $t stopped early: see $logs/$t.log and artifacts/$t/"
done
printf '%-16s %12s %8s %8s %8s %10s\n' target execs seconds cov ft corpus
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' || true)
    last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1 || true)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | awk '{print $2}' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | awk '{print $2}' || true)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' <<<"$last" | awk '{print $2}' || true)
    printf '%-16s %12s %8s %8s %8s %10s\n' "$t" "${execs:-?}" "${secs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
done
