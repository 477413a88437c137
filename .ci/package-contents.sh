#!/usr/bin/env bash
# The published `xaa` crate holds what a user of the library needs and nothing else: its code,
# the documents its comments cite, the README (compiled as doctests), the changelog, the
# security policy and the licenses. Fails on a missing file or on any other file.
set -euo pipefail
cd "$(dirname "$0")/.."

listing=$(cargo package -p xaa --list --allow-dirty --locked)

required=(Cargo.toml README.md CHANGELOG.md SECURITY.md LICENSE-APACHE LICENSE-MIT
    src/lib.rs docs/design.md docs/protocol.md docs/decisions.md)
status=0
for file in "${required[@]}"; do
    if ! grep -qxF "$file" <<<"$listing"; then
        echo "missing from the package: $file"
        status=1
    fi
done

# Cargo's own files, the allow-listed top-level files, the code and the cited documents.
allowed='^(\.cargo_vcs_info\.json|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|CHANGELOG\.md|SECURITY\.md|LICENSE-APACHE|LICENSE-MIT|src/.*\.rs|docs/[a-z_-]+\.md)$'
unexpected=$(grep -vE "$allowed" <<<"$listing" || true)
if [ -n "$unexpected" ]; then
    echo "not for the package:"
    echo "$unexpected"
    status=1
fi
count=$(wc -l <<<"$listing")
echo "xaa package: $count files"
exit $status
