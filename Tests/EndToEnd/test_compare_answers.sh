#!/usr/bin/env bash
# tcpcopy --compare against a target that differs on purpose (Tests/Servers/compare_server.py):
# /same answers alike, /status 500 for 200, /length a longer body, /slow 50 ms later. Each
# exchange is counted under its outcome, the Nth answer paired with the Nth request on
# keep-alive connections; the target's p50 latency on /slow exceeds production's by 45-60 ms,
# and on /same is within 3 ms of it (the control link's delay taken out);
# /stamp differs only in a header line --compare-ignore-header leaves out: the same. Pipelined
# requests (/same, /status, /length in one write, 4 times on one connection) are compared one by
# one (HTTP/1.x framing): each batch counts 1 same, 1 first line differs, 1 length differs.
# Then the same traffic, recorded with tcpdump -w on the online server, replayed with
# --offline --compare gives the same outcome counts.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

per_path=20
batches=4
fid_setup compare_answers
server="$FID_SERVERS_DIR/compare_server.py"
for role in online target; do
    lab_daemon_start "server-$role" "$role" "$(fid_python)" -u "$server" server --role "$role" --port 80
    _lab_wait_daemon "server-$role" 10 _lab_listening "$role" 80 || lab_die "compare_server in $role did not listen"
done
recording="$LAB_DIR/online.pcap"
# Whole packets (lab_capture_start keeps headers only), without the copies to the target.
: >"$LAB_DIR/capture-recording.err"
ip netns exec "$(lab_ns online)" tcpdump -i any -n --immediate-mode -U -Z root -s 0 -B 16384 -w "$recording" \
    "tcp port 80 and not host $LAB_TARGET_IP" >"$LAB_DIR/capture-recording.err" 2>&1 </dev/null &
echo $! >"$LAB_DIR/run/capture-recording.pid"
lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-recording.err" || lab_die "tcpdump did not start"

lab_rules_apply target 80 0
lab_intercept_start intercept "$LAB_ADMIN_IP" --compare
log="$LAB_DIR/compare.jsonl"
tm=127.0.0.1:9464
lab_tcpcopy_start tcpcopy -x "$LAB_ONLINE_IP:80-$LAB_TARGET_IP:80" --compare --compare-log "$log" --compare-log-all \
    --compare-ignore-header x-request-stamp \
    --metrics-listen "$tm"
sleep 0.5

for path in /same /status /length /slow /stamp; do
    got=$(lab_exec client timeout -k 5 60 "$(fid_python)" -u "$server" client --host "$LAB_ONLINE_IP" \
        --path "$path" --count "$per_path")
    [[ $got == "$per_path" ]] || lab_fail "answers from online to $path" "$per_path" "$got"
done
got=$(lab_exec client timeout -k 5 60 "$(fid_python)" -u "$server" client --host "$LAB_ONLINE_IP" \
    --paths /same-pipelined,/status-pipelined,/length-pipelined --count $((3 * batches)) --pipeline 3)
[[ $got == $((3 * batches)) ]] || lab_fail "pipelined answers from online" $((3 * batches)) "$got"
sleep 2
# SIGUSR1: the stats line and the summary table; Prometheus: the counters and both histograms.
kill -USR1 "$(lab_daemon_pid tcpcopy)"
lab_retry 30 0.1 grep -q "compare summary" "$(lab_daemon_log tcpcopy)" ||
    lab_fail "the summary table on SIGUSR1" "logged" "absent"
# (A connection's last batch closes when its copy ends, after it lingers: up to one exchange
# of each of the 5 keep-alive connections and 3 of the pipelined one are still open.)
scrape=$(lab_scrape online "$tm")
# The counters by service port (the stats line has the totals): the outcomes add up to the
# exchanges, and /status's 20 are under first line differs.
closed=$(lab_metric "$scrape" 'tcpcopy_compare_exchanges_total{port="80"}')
((closed >= 5 * per_path + 3 * batches - 8)) ||
    lab_fail 'tcpcopy_compare_exchanges_total{port="80"}' ">= $((5 * per_path + 3 * batches - 8))" "$closed"
sum=0
for outcome in target_reset target_silent first_line_differs length_differs bytes_differ same; do
    value=$(lab_metric "$scrape" "tcpcopy_compare_${outcome}_total{port=\"80\"}")
    ((value >= 0)) || lab_fail "tcpcopy_compare_${outcome}_total{port=\"80\"}" "served" "absent"
    sum=$((sum + value))
done
((sum == closed)) || lab_fail "the outcomes by port added up" "$closed" "$sum"
differs=$(lab_metric "$scrape" 'tcpcopy_compare_first_line_differs_total{port="80"}')
((differs >= per_path)) || lab_fail 'tcpcopy_compare_first_line_differs_total{port="80"}' ">= $per_path" "$differs"
for side in online target; do
    count=$(grep -E "^tcpcopy_answer_latency_seconds_count\{.*side=\"$side\"" <<<"$scrape" | awk '{ print $2 }')
    [[ $count == "$closed" ]] ||
        lab_fail "tcpcopy_answer_latency_seconds{side=\"$side\"} count" "$closed" "${count:-none}"
done
lab_capture_stop recording
lab_expect_clean_stop tcpcopy
tlog=$(lab_daemon_log tcpcopy)
check_counts() {
    local what=$1 file=$2 name want got
    for pair in compare_exchanges:$((5 * per_path + 3 * batches)) compare_same:$((3 * per_path + batches)) \
        compare_first_line_differs:$((per_path + batches)) compare_length_differs:$((per_path + batches)) \
        compare_bytes_differ:0 \
        compare_target_silent:0 compare_target_reset:0; do
        name=${pair%%:*} want=${pair#*:}
        got=$(lab_stat_int "$file" "$name")
        [[ $got == "$want" ]] || lab_fail "$what $name" "$want" "$got"
    done
}
check_counts live "$tlog"
grep -q "compare summary" "$tlog" || lab_fail "the summary table at exit" "logged" "absent"

# Pairing: on every connection, exchanges numbered 1..N, each request's answer its own.
"$(fid_python)" - "$log" "$per_path" "$batches" <<'PY' || lab_fail "the compare log" "paired and timed right" "see above"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
per, batches = int(sys.argv[2]), int(sys.argv[3])
by_key = {}
for r in records:
    by_key.setdefault(r["request"], []).append(r)
bad = 0
for request, rows in by_key.items():
    numbers = sorted(r["exchange"] for r in rows)
    # Pipelined: /same, /status, /length in turn on one connection, each its own exchange.
    order = ["/same-", "/status-", "/length-"]
    first = 1 + next((i for i, path in enumerate(order) if path in request), 0)
    want = list(range(first, 3 * batches + 1, 3)) if "pipelined" in request else list(range(1, per + 1))
    if numbers != want:
        print("exchanges of %s numbered %s, not %s" % (request, numbers, want)); bad += 1
outcomes = {"GET /same-pipelined HTTP/1.1": "compare_same",
            "GET /status-pipelined HTTP/1.1": "compare_first_line_differs",
            "GET /length-pipelined HTTP/1.1": "compare_length_differs"}
for request, outcome in outcomes.items():
    got = [r["outcome"] for r in by_key.get(request, [])]
    if got != [outcome] * batches:
        print("pipelined %s: outcomes %s, not %d x %s" % (request, got, batches, outcome)); bad += 1
def p50(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None
slow = by_key.get("GET /slow HTTP/1.1", [])
online, target = p50(r["online_latency_us"] for r in slow), p50(r["target_latency_us"] for r in slow)
print("slow: online p50 %s us, target p50 %s us" % (online, target))
if online is None or target is None or not 45000 <= target - online <= 60000:
    print("target p50 - online p50 outside 45-60 ms"); bad += 1
same = by_key.get("GET /same HTTP/1.1", [])
online, target = p50(r["online_latency_us"] for r in same), p50(r["target_latency_us"] for r in same)
print("same: online p50 %s us, target p50 %s us" % (online, target))
if online is None or target is None or abs(target - online) > 3000:
    print("target p50 - online p50 on /same over 3 ms apart"); bad += 1
status = by_key.get("GET /status HTTP/1.1", [])
if any(r["target_first_line"] != "HTTP/1.1 500 Oops" or r["online_first_line"] != "HTTP/1.1 200 OK" for r in status):
    print("a /status exchange paired with another answer"); bad += 1
sys.exit(1 if bad else 0)
PY

# The live log as a report a person looks at: the table's rows, and a headless chromium in a
# namespace with only a loopback renders it (the page and the screenshot are kept in
# $TMPDIR/tcpcopy-e2e-keep/compare_answers/).
command -v chromium >/dev/null || lab_die "chromium is needed (Debian: apt-get install chromium)"
html=$LAB_DIR/report.html
"$(lab_bin tcpcopy)" report "$log" -o "$html" >/dev/null 2>"$LAB_DIR/report.err" ||
    lab_fail "tcpcopy report on the live log" "exit 0" "$(cat "$LAB_DIR/report.err")"
for path in same status length slow; do
    grep -qF "<td class=\"key\">GET /$path</td><td>$per_path</td>" "$html" ||
        lab_fail "the report's row for /$path" "$per_path exchanges" "absent"
done
grep -qF "<td class=\"key\">GET /status</td><td>$per_path</td><td>0</td><td>0</td><td>0</td><td class=\"bad\">$per_path</td>" "$html" ||
    lab_fail "the report's /status row" "$per_path first-line differences" "$(grep -F 'GET /status</td>' "$html" | head -c 300)"
ns=${LAB_PREFIX}browser
echo "$ns" >>"$LAB_DIR/run/namespaces"
ip netns add "$ns"
ip -n "$ns" link set lo up
png=$LAB_DIR/report.png
timeout 90 ip netns exec "$ns" chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$LAB_DIR/chromium-profile" --screenshot="$png" --window-size=1200,1600 \
    "file://$html" >"$LAB_DIR/chromium.log" 2>&1 ||
    lab_fail "chromium --screenshot of the live report" "exit 0" "$(tail -5 "$LAB_DIR/chromium.log")"
(($(stat -c %s "$png") > 20000)) || lab_fail "the screenshot" "a rendered page (> 20 kB)" "$(stat -c %s "$png") bytes"
keep=${TMPDIR:-/tmp}/tcpcopy-e2e-keep/compare_answers
mkdir -p "$keep"
cp "$html" "$png" "$log" "$keep/"

# The recording, replayed: the same outcomes.
lab_daemon_start replay online "$(lab_bin tcpcopy)" -x "$LAB_ONLINE_IP:80-$LAB_TARGET_IP:80" \
    --offline "$recording" --compare --compare-ignore-header X-Request-Stamp
for ((i = 0; i < 300; i++)); do
    lab_daemon_alive replay || break
    sleep 0.1
done
lab_daemon_alive replay && lab_fail "the offline replay" "done within 30 s" "still running"
check_counts offline "$(lab_daemon_log replay)"

lab_expect_clean_stop intercept
lab_expect_stat_positive intercept answer_pieces
lab_log "PASS compare_answers: live and offline counts agree; $(grep -c . "$log") exchanges logged"
