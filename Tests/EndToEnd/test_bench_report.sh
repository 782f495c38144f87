#!/usr/bin/env bash
# Scripts/bench/report.py's throughput ratio at full load is the median of each repeat's own
# ratio (a copying run against the run without copying just before it), not the ratio of two
# medians taken from different repeats; each repeat's ratio is listed, with the host's steal
# where it reached 1%, and a repeat with 5% or more is warned about. Synthetic readings: no lab.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
out=$(mktemp -d "${TMPDIR:-/tmp}/tcpcopy-bench-report.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Repeat by repeat: 190,000/200,000 = 0.95 (steal 15% in the run without copying),
# 160,000/240,000 = 0.667, 150,000/230,000 = 0.652. Median 0.667; the medians' ratio would be
# 160,000/230,000 = 0.696.
run() { # REP COPY REQUESTS STEAL_TICKS
    echo "load=short-full copy=$2 rep=$1 duration=10 wall=10 online_requests=$3" \
        "target_requests=$(($2 ? $3 : 0)) machine_busy_ticks=1900 machine_total_ticks=2000" \
        "machine_steal_ticks=$4"
}
{
    run 1 0 200000 300
    run 1 1 190000 0
    run 2 0 240000 0
    run 2 1 160000 0
    run 3 0 230000 0
    run 3 1 150000 0
} >"$out/runs.txt"
python3 "$LAB_REPO_DIR/Scripts/bench/report.py" report "$out/runs.txt" --out "$out" >/dev/null ||
    lab_fail "report.py" "exit 0" "exit $?"

ratio=$(python3 -c 'import json, sys
print("%.3f" % json.load(open(sys.argv[1]))["loads"]["short-full"]["online_rps_ratio"])' "$out/results.json")
[[ $ratio == 0.667 ]] || lab_fail "short-full with/w/o" "0.667 (the median of 0.95, 0.667, 0.652)" "$ratio"
grep -q '^short-full with/w/o, repeat by repeat (the median above): 0.95 (steal 15.0%), 0.67, 0.65$' \
    "$out/table.txt" || lab_fail "the repeat-by-repeat line" "0.95 (steal 15.0%), 0.67, 0.65" "$(cat "$out/table.txt")"
grep -q '^warning: short-full: the VM.s host took 5% or more' "$out/table.txt" ||
    lab_fail "the steal warning" "a warning line" "$(cat "$out/table.txt")"
grep -q 'online throughput with/without copying, short-full | *0.67x .*FAIL' "$out/table.txt" ||
    lab_fail "the bar's line" "0.67x, FAIL" "$(grep 'short-full' "$out/table.txt")"
lab_log "PASS bench_report: full-load ratio $ratio, the median of the repeats' own ratios"
