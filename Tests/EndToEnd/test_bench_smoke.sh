#!/usr/bin/env bash
# Scripts/bench.sh (the benchmark, not itself part of the suite) still runs end to end: one
# second of 200 short req/s without and with copying, in its own four-namespace lab, gives a
# table and a JSON with that load's row, and leaves no namespace behind.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
prefix=$(lab_test_prefix bench_smoke)
out=$(mktemp -d "${TMPDIR:-/tmp}/tcpcopy-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT

# The runner's binaries (LAB_BIN_DIR), not a release build: this checks the script, not speed.
BENCH_PREFIX=$prefix "$LAB_REPO_DIR/Scripts/bench.sh" --no-build --duration 1 --loads short-200 \
    --no-idle --no-rawloop --out "$out" || lab_fail "Scripts/bench.sh" "exit 0" "exit $?"

grep -q 'short-200' "$out/table.txt" || lab_fail "the table" "a short-200 row" "$(cat "$out/table.txt")"
fidelity=$(python3 -c 'import json, sys
row = json.load(open(sys.argv[1]))["loads"]["short-200"]["with_copying"]
print("%.0f" % (row["fidelity_pct"] or 0))' "$out/results.json") ||
    lab_fail "results.json" "a short-200 row with a fidelity" "unreadable"
# Copying happened at all (the copy tests check the exact counts).
((fidelity > 0)) || lab_fail "fidelity of the copying run" ">0%" "$fidelity%"
# The daemons' private memory was sampled through the load (Scripts/bench/memory-peak.py).
anon=$(python3 -c 'import json, sys
row = json.load(open(sys.argv[1]))["loads"]["short-200"]["with_copying"]
print("%d %d" % (row["anon_tc_mb"] * 1024, row["anon_ic_mb"] * 1024))' "$out/results.json") ||
    lab_fail "results.json" "the daemons' peak RssAnon" "none"
read -r anon_tc anon_ic <<<"$anon"
((anon_tc > 0 && anon_ic > 0)) || lab_fail "peak RssAnon of tcpcopy and intercept" "> 0 kB each" "$anon kB"
left=$(ip netns list | awk '{print $1}' | grep -c -- "^$prefix" || true)
((left == 0)) || lab_fail "namespaces left behind by bench.sh" 0 "$left"
lab_log "PASS bench_smoke: fidelity $fidelity% at 200 short req/s for 1 s, private memory $anon_tc / $anon_ic kB"
