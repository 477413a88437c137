#!/usr/bin/env bash
# Runs the MCP conformance suite (@modelcontextprotocol/conformance) against xaa-rmcp's
# conformance client: the enterprise-managed-authorization flow on 0.2.0-alpha.12 and on the
# released 0.1.16 line (where it is called auth/cross-app-access-complete-flow), and the
# workload-identity jwt-bearer scenario on 0.2.0-alpha.12.
#
# Needs only the Rust toolchain, Node 20 and npm: each suite version is installed, with a
# Node 22 from the npm registry (the suite needs Node >= 22), into its own prefix under
# target/conformance/<version>/ when missing. No expected-failures file: every scenario must
# pass. Prints each scenario's check counts and exits non-zero if any scenario fails.
#
# Usage: tests/conformance/run.sh            (from anywhere in the repository)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# version scenario
scenarios=(
    "0.2.0-alpha.12 auth/enterprise-managed-authorization"
    "0.2.0-alpha.12 auth/wif-jwt-bearer"
    "0.1.16 auth/cross-app-access-complete-flow"
)
node_package="node@22"

echo "::: building the conformance client"
cargo build --locked -p xaa-rmcp --example conformance_client
target_dir=${CARGO_TARGET_DIR:-$root/target}
client="$target_dir/debug/examples/conformance_client"
case "$client" in
*" "*)
    # The runner splits --command on spaces.
    echo "the client's path has a space, which the conformance runner cannot handle: $client" >&2
    exit 2
    ;;
esac
[ -x "$client" ] || {
    echo "no client binary at $client" >&2
    exit 2
}

conformance_root="$root/target/conformance"

install_suite() {
    local version=$1
    local prefix="$conformance_root/$version"
    local installed="$prefix/node_modules/@modelcontextprotocol/conformance/package.json"
    if [ -x "$prefix/node_modules/.bin/conformance" ] && [ -x "$prefix/node_modules/.bin/node" ] &&
        grep -q "\"version\": \"$version\"" "$installed" 2>/dev/null; then
        return
    fi
    echo "::: installing @modelcontextprotocol/conformance@$version and $node_package into $prefix"
    mkdir -p "$prefix"
    (
        cd "$prefix"
        [ -f package.json ] || npm init -y >/dev/null
        npm install --no-audit --no-fund --loglevel=error \
            "$node_package" "@modelcontextprotocol/conformance@$version"
    )
}

# Prints "SUCCESS n, FAILURE n, WARNING n" for a checks.json; exits 1 if it has a FAILURE or
# a WARNING or no check at all.
count_checks() {
    node -e '
        const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const count = (status) => checks.filter((c) => c.status === status).length;
        const [ok, failed, warned] = ["SUCCESS", "FAILURE", "WARNING"].map(count);
        console.log(`SUCCESS ${ok}, FAILURE ${failed}, WARNING ${warned}`);
        for (const c of checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING")) {
            console.log(`  ${c.status} ${c.id}: ${c.description}`);
        }
        process.exit(failed === 0 && warned === 0 && ok > 0 ? 0 : 1);
    ' "$1"
}

failures=0
summary=()
for entry in "${scenarios[@]}"; do
    read -r version scenario <<<"$entry"
    install_suite "$version"
    prefix="$conformance_root/$version"
    results="$conformance_root/results/$version/${scenario//\//_}"
    rm -rf "$results"
    mkdir -p "$results"
    echo "::: $scenario (conformance $version)"
    status=0
    PATH="$prefix/node_modules/.bin:$PATH" conformance client \
        --command "$client" --scenario "$scenario" -o "$results" >"$results/runner.log" 2>&1 ||
        status=$?
    checks=$(find "$results" -name checks.json -print -quit)
    if [ -z "$checks" ]; then
        counts="no checks.json"
        [ "$status" -ne 0 ] || status=1
    elif ! counts=$(PATH="$prefix/node_modules/.bin:$PATH" count_checks "$checks"); then
        [ "$status" -ne 0 ] || status=1
    fi
    if [ "$status" -eq 0 ]; then
        verdict=PASSED
    else
        verdict=FAILED
        failures=$((failures + 1))
        tail -n 40 "$results/runner.log"
    fi
    echo "$counts"
    summary+=("$verdict $scenario (conformance $version): $(head -n 1 <<<"$counts")")
done

echo "::: conformance summary"
printf '%s\n' "${summary[@]}"
if [ "$failures" -ne 0 ]; then
    echo "$failures scenario(s) failed" >&2
    exit 1
fi
echo "all ${#scenarios[@]} scenarios passed"
