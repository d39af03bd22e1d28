#!/usr/bin/env bash
# cachet's main job, end to end, on the bundled example, in a temporary directory:
# make an environment key, seal the example config, show the form that is
# committed, open it again (byte for byte the original), read one value.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
cachet="$root/target/release/cachet"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== 1. an environment key: the public key seals, the secret key opens"
recipient=$("$cachet" keygen -o production.key)
echo "public key: $recipient"

echo "== 2. seal (only the public key is needed)"
cp "$root/testdata/example/app.toml" app.toml
"$cachet" seal app.toml -r "$recipient"

echo "== 3. what gets committed"
cat app.toml

echo "== 4. open with the environment key"
"$cachet" open app.toml -i production.key -o opened.toml
cmp opened.toml "$root/testdata/example/app.toml"
echo "opened file is byte for byte testdata/example/app.toml"

echo "== 5. read one value"
printf 'database.password = %s\n' "$("$cachet" get app.toml database.password -i production.key)"
