#!/usr/bin/env bash
# Fuzzes the query decoder, the SigV4 parser/verifier and the whole request pipeline (raw HTTP bytes
# into the server, on an in-memory store) with cargo fuzz (libFuzzer), each target for N seconds
# (default 60): scripts/fuzz.sh [SECONDS] [TARGET...]. Runs at low priority (nice) by default. The corpus grows in
# fuzz/corpus/<target>, starting from the seeds in fuzz/seeds/<target>; a crash leaves its input in
# fuzz/artifacts/<target> and makes the script fail. Not part of CI (too slow); CI only checks that
# the targets build.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(query_decoder sigv4 pipeline)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz passes -Z flags to rustc; the machine's toolchain is stable, so let it accept them.
export RUSTC_BOOTSTRAP=1

for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${seconds}s"
    log="fuzz/logs/$target.log"
    mkdir -p fuzz/logs
    status=0
    nice -n "${EC2D_FUZZ_NICE:-19}" cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|Done)|panicked|SUMMARY|Test unit written' "$log" || true
    if [ "$status" -ne 0 ]; then
        echo "!!! $target failed (exit $status): see $log and fuzz/artifacts/$target" >&2
        exit 1
    fi
done
