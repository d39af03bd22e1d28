#!/usr/bin/env bash
# cachet's main job, end to end, on the bundled example, in a temporary directory:
# a repository with a policy and a production environment, the example config
# sealed with nothing but the public key, opened again by a member through the
# keyring (byte for byte the original), and read and run by a deploy target that
# holds only the environment's key.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
cachet="$root/target/release/cachet"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A home of its own, so the demo neither uses nor touches your identity or pins.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset CACHET_IDENTITY CACHET_IDENTITY_FILE CACHET_IDENTITY_COMMAND CACHET_RECIPIENT
mkdir -p "$XDG_CONFIG_HOME/cachet" "$work/repo/config/production" "$work/deploy"
cd "$work/repo"

echo "== 1. your identity, and a repository whose policy has a production environment"
"$cachet" keygen -o "$XDG_CONFIG_HOME/cachet/identity.txt" >/dev/null
"$cachet" init --env production --files 'config/production/**' --self-name demo
cat .cachet.toml

echo "== 2. seal (only the public key in .cachet.toml is needed)"
cp "$root/testdata/example/app.toml" config/production/app.toml
"$cachet" seal config/production/app.toml

echo "== 3. what gets committed: the sealed file and the keyring"
cat config/production/app.toml
head -n 2 .cachet/keys/production.age

echo "== 4. a member opens it through the keyring"
"$cachet" open config/production/app.toml -o "$work/opened.toml"
cmp "$work/opened.toml" "$root/testdata/example/app.toml"
echo "opened file is byte for byte testdata/example/app.toml"

echo "== 5. a deploy target holds only the environment key: no policy, no keyring"
(umask 077 && "$cachet" env key production > "$work/production.key")
cp config/production/app.toml "$work/deploy/app.toml"
cd "$work/deploy"
printf 'database.password = %s\n' \
    "$(CACHET_IDENTITY="$(cat "$work/production.key")" "$cachet" get app.toml database.password)"

echo "== 6. the deploy starts the service with cachet exec: every value as a variable"
# The "service" here prints the names it received and the length of one secret;
# a real one is e.g. `uvicorn app:app` (examples/fastapi).
CACHET_IDENTITY_FILE="$work/production.key" "$cachet" exec -f app.toml --separator __ -- \
    sh -c 'echo "service sees: $(env | grep -E "^(SERVICE_NAME|DATABASE__|JWT__|WEBHOOKS)" | cut -d= -f1 | sort | tr "\n" " ")"
           echo "DATABASE__PASSWORD has ${#DATABASE__PASSWORD} characters"'
