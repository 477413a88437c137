#!/usr/bin/env bash
# Runs every fuzz target for ${FUZZ_SECONDS:-20} seconds with -seed=1: on stable without a
# sanitizer (-s none), and again under AddressSanitizer when a nightly toolchain is installed.
# Installs nothing: cargo-fuzz must be there (cargo install cargo-fuzz --locked).
#
# Each run starts from the committed seeds in corpus/<target>/ and writes what it finds to a
# scratch corpus (corpus-work/, git-ignored), so the committed corpus never changes. Prints one
# line per run (target, sanitizer, seconds, executions) and exits non-zero on any crash, with
# the path of the crash input.
#
# Usage: fuzz/run-ci.sh [target...]     (default: every target of `cargo fuzz list`)
set -uo pipefail

cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

sanitizers=("none")
if rustup toolchain list 2>/dev/null | grep -q nightly; then
    sanitizers+=("address")
fi

failed=0
printf '%-32s %-9s %7s %12s\n' target sanitizer seconds executions
for sanitizer in "${sanitizers[@]}"; do
    if [ "$sanitizer" = none ]; then
        toolchain=()
    else
        toolchain=("+nightly")
    fi
    if ! cargo "${toolchain[@]}" fuzz build -s "$sanitizer" >"build-$sanitizer.log" 2>&1; then
        echo "build failed for sanitizer $sanitizer; see fuzz/build-$sanitizer.log" >&2
        failed=1
        continue
    fi
    rm -f "build-$sanitizer.log"
    for target in "${targets[@]}"; do
        work="corpus-work/$target"
        mkdir -p "$work" "artifacts/$target"
        log="$(mktemp)"
        cargo "${toolchain[@]}" fuzz run -s "$sanitizer" "$target" "$work" "corpus/$target" -- \
            -max_total_time="$seconds" -seed=1 -print_final_stats=1 >"$log" 2>&1
        status=$?
        # libFuzzer's last "#N" status line carries the execution count.
        executions="$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -E 's/^#([0-9]+).*/\1/')"
        if [ -z "$executions" ]; then
            executions="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
        fi
        printf '%-32s %-9s %7s %12s\n' "$target" "$sanitizer" "$seconds" "${executions:-?}"
        if [ "$status" -ne 0 ]; then
            failed=1
            crash="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)"
            echo "CRASH in $target ($sanitizer): ${crash:-no artifact written}" >&2
            grep -m 1 -A 2 'panicked at' "$log" >&2 || tail -n 20 "$log" >&2
        fi
        rm -f "$log"
    done
done
exit "$failed"
