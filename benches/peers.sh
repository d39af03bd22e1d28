#!/usr/bin/env bash
# cachet side by side with the tools it replaces, whole process, on this machine.
#
#   bash benches/peers.sh            # everything (installs what it can, ~15 min)
#   RUNS=10 bash benches/peers.sh    # at least 10 runs of every command (default 5)
#
# Installs what is missing: age, hyperfine and GNU time from Debian's packages,
# dotenvx from npm, ansible-core from PyPI (into target/peers, nothing global
# beyond the Debian packages). A peer that cannot be installed is skipped and
# reported, never faked. Prints a Markdown table (also written to
# target/peers/results.md) of medians and ratios, then peak memory for a 10 MB file.
#
# Every input is generated here: .env files of N random 24-character secrets
# (the same bytes for every tool), sealed by cachet, encrypted whole by age and
# ansible-vault, encrypted value by value by dotenvx.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-$ROOT/target/peers}
RUNS=${RUNS:-5}
mkdir -p "$WORK"

note() { printf '%s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
missing=()
command -v age >/dev/null || missing+=(age)
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    note "installing ${missing[*]} from Debian"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo build --release --quiet
CACHET=$ROOT/target/release/cachet

DOTENVX=""
if command -v npm >/dev/null; then
    if [ ! -x "$WORK/npm/node_modules/.bin/dotenvx" ]; then
        note "installing dotenvx from npm"
        npm install --silent --prefix "$WORK/npm" @dotenvx/dotenvx@2.38 >/dev/null 2>&1 || true
    fi
    [ -x "$WORK/npm/node_modules/.bin/dotenvx" ] && DOTENVX=$WORK/npm/node_modules/.bin/dotenvx
fi
[ -n "$DOTENVX" ] || note "dotenvx: not available (needs npm); skipped"

VAULT=""
if [ ! -x "$WORK/py/bin/ansible-vault" ]; then
    note "installing ansible-core from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check --target "$WORK/py" ansible-core \
        >/dev/null 2>&1 || true
fi
if [ -x "$WORK/py/bin/ansible-vault" ]; then
    VAULT="env PYTHONPATH=$WORK/py python3 $WORK/py/bin/ansible-vault"
else
    note "ansible-vault: not available (needs pip); skipped"
fi

# --- inputs --------------------------------------------------------------
cd "$WORK"
rm -rf run && mkdir run && cd run
"$CACHET" keygen -o key.txt >recipient.txt 2>/dev/null
R=$(cat recipient.txt)
printf 'benchmark-vault-password\n' >vault-pass.txt

# N random 24-character secrets, named like secrets so cachet's default rule and
# dotenvx both encrypt every one.
python3 - <<'EOF'
import secrets, string
alphabet = string.ascii_letters + string.digits
for n in (100, 1000):
    with open(f"plain{n}.env", "w") as f:
        for i in range(n):
            f.write(f"SERVICE_{i}_SECRET={''.join(secrets.choice(alphabet) for _ in range(24))}\n")
# A 10 MB configuration in each format, the same data: tables of a 64-character
# secret and plain settings.
import json
services = []
size = 0
while size < 10 * 1024 * 1024:
    i = len(services)
    pw = "".join(secrets.choice(alphabet) for _ in range(64))
    svc = {"host": f"svc-{i}.internal", "port": 1024 + i % 60000, "password": pw,
           "description": "plain text " * 12}
    services.append(svc)
    size += 260
with open("big.toml", "w") as f:
    for i, svc in enumerate(services):
        f.write(f"[service_{i}]\n")
        for k, v in svc.items():
            f.write(f"{k} = {json.dumps(v)}\n")
        f.write("\n")
with open("big.json", "w") as f:
    json.dump({f"service_{i}": svc for i, svc in enumerate(services)}, f, indent=2)
with open("big.yaml", "w") as f:
    for i, svc in enumerate(services):
        f.write(f"service_{i}:\n")
        for k, v in svc.items():
            f.write(f"  {k}: {json.dumps(v)}\n")
with open("big.env", "w") as f:
    for i, svc in enumerate(services):
        for k, v in svc.items():
            f.write(f"SERVICE_{i}_{k.upper()}={json.dumps(v) if isinstance(v, str) else v}\n")
EOF

for n in 100 1000; do
    "$CACHET" seal - --input-type env -r "$R" <plain$n.env >sealed$n.env 2>/dev/null
    age -e -r "$R" -o plain$n.env.age plain$n.env
    if [ -n "$DOTENVX" ]; then
        cp plain$n.env dotenvx$n.env
        "$DOTENVX" encrypt -f dotenvx$n.env -fk dotenvx$n.keys >/dev/null 2>&1
    fi
    if [ -n "$VAULT" ]; then
        $VAULT encrypt --vault-password-file vault-pass.txt --output vault$n.env plain$n.env \
            >/dev/null 2>&1
    fi
done
for f in toml json yaml env; do
    "$CACHET" seal big.$f -r "$R" --stdout >big.sealed.$f 2>/dev/null
done

# --- timing --------------------------------------------------------------
# Each group: hyperfine with no shell in between (-N), one warm-up run, then as
# many runs as fit in 3 s but at least RUNS (dotenvx takes seconds per run); the
# JSON export gives the median.
group() {
    local name=$1
    shift
    hyperfine -N --warmup 1 --min-runs "$RUNS" --export-json "$name.json" "$@" >/dev/null
}

for n in 100 1000; do
    group open$n \
        -n "cachet open ($n values)" "$CACHET open sealed$n.env -i key.txt" \
        -n "age -d (same bytes, whole file)" "age -d -i key.txt plain$n.env.age" \
        ${DOTENVX:+-n "dotenvx decrypt --stdout" "$DOTENVX decrypt -f dotenvx$n.env -fk dotenvx$n.keys --stdout"} \
        ${VAULT:+-n "ansible-vault view" "$VAULT view --vault-password-file vault-pass.txt vault$n.env"}
    group seal$n \
        -n "cachet seal ($n values)" "$CACHET seal plain$n.env -r $R --stdout" \
        -n "age -e (same bytes, whole file)" "age -e -r $R -o /dev/null plain$n.env" \
        ${DOTENVX:+-n "dotenvx encrypt" --prepare "cp plain$n.env d$n.env" "$DOTENVX encrypt -f d$n.env -fk d$n.keys"} \
        ${VAULT:+-n "ansible-vault encrypt" "$VAULT encrypt --vault-password-file vault-pass.txt --output - plain$n.env"}
done
group get100 \
    -n "cachet get (1 of 100)" "$CACHET get sealed100.env SERVICE_50_SECRET -i key.txt" \
    ${DOTENVX:+-n "dotenvx get" "$DOTENVX get SERVICE_50_SECRET -f dotenvx100.env -fk dotenvx100.keys"}

# --- report --------------------------------------------------------------
peak() { # peak resident set of one run, in MiB
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}
{
    for f in toml json yaml env; do
        printf '%s %s %s %s %s\n' $f "$(stat -c %s big.$f)" "$(stat -c %s big.sealed.$f)" \
            "$(peak "$CACHET" open big.sealed.$f -i key.txt)" \
            "$(peak "$CACHET" seal big.$f -r "$R" --stdout)"
    done
} >memory.txt
age_peak=$(peak age -d -i key.txt plain100.env.age)

python3 - "$age_peak" <<'EOF' | tee ../results.md
import json, platform, os, sys
age_peak = sys.argv[1]
print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} {platform.release()}\n")
print("| operation | command | median | min | max | time / cachet's |")
print("|---|---|---:|---:|---:|---:|")
for group in ["open100", "open1000", "seal100", "seal1000", "get100"]:
    results = json.load(open(f"{group}.json"))["results"]
    base = results[0]["median"]
    for r in results:
        ms = lambda s: f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"
        ratio = "1" if r is results[0] else f"{r['median'] / base:.1f}x"
        print(f"| {group} | {r['command']} | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} | {ratio} |")
mib = lambda b: int(b) / 1024 / 1024
print()
print("Peak memory (max RSS) for a 10 MB configuration; target: under 3 x the file + 8 MiB,")
print("the file being the sealed one (the larger of the two; see BENCHMARKS.md).")
print()
print("| format | plain | sealed | cachet open | cachet seal | 3 x sealed + 8 MiB | 3 x plain + 8 MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for line in open("memory.txt"):
    f, plain, sealed, open_peak, seal_peak = line.split()
    print(f"| {f} | {mib(plain):.1f} MiB | {mib(sealed):.1f} MiB | {open_peak} MiB | "
          f"{seal_peak} MiB | {3 * mib(sealed) + 8:.0f} MiB | {3 * mib(plain) + 8:.0f} MiB |")
print(f"\n`age -d` of a small file, for scale: {age_peak} MiB.")
EOF
