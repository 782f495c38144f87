#!/usr/bin/env bash
# Offline replay keeps the file's timing: 21 requests recorded over 10 s (one every 0.5 s) are
# replayed with -a 1 (the requests reach the target over the same 10 s, within 3%), -a 10 (over
# 1 s, within 10%) and -I 100 (every 0.5 s gap shortened to 0.1 s: 2 s, within 10%). Spans are
# measured between the first and last request, in the file and on the target's interface.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix offline_pacing)
requests=21

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"

file="$LAB_DIR/paced.pcap"
: >"$LAB_DIR/capture-paced.err"
ip netns exec "$(lab_ns online)" tcpdump -i to-client -n --immediate-mode -U -Z root -s 4096 -B 65536 \
    -w "$file" "tcp port 80" >"$LAB_DIR/capture-paced.err" 2>&1 </dev/null &
echo $! >"$LAB_DIR/run/capture-paced.pid"
lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-paced.err" || lab_die "tcpdump did not start"
for ((i = 0; i < requests; i++)); do
    ((i == 0)) || sleep 0.5
    [[ $(lab_http_code client "http://$LAB_ONLINE_IP/?paced=$i" -H 'Connection: close') == 200 ]] ||
        lab_fail "request $i to online" 200 "no answer"
done
lab_capture_stop paced

requests_filter="tcp dst port 80 and src host $LAB_CLIENT_IP and (tcp[tcpflags] & tcp-push != 0)"
# span_of PCAP: seconds from the first request to the last in PCAP, and how many there were.
span_of() {
    tcpdump -r "$1" -n -tt "$requests_filter" 2>/dev/null |
        awk 'NR == 1 { first = $1 } { last = $1; n++ } END { printf "%.3f %d\n", last - first, n }'
}
read -r file_span file_count < <(span_of "$file")
[[ $file_count == "$requests" ]] || lab_fail "requests in the recording" "$requests" "$file_count"
lab_log "recorded $file_count requests over $file_span s"

# paced NAME EXPECTED_SPAN TOLERANCE_PERCENT ARGS...: replays the file with ARGS while capturing
# on the target, and checks the span of the requests the target received.
paced() {
    local name=$1 expected=$2 tolerance=$3 rc=0 span count
    shift 3
    lab_capture_start "$name" target "$requests_filter"
    ip netns exec "$(lab_ns online)" timeout 60 "$(lab_bin tcpcopy)" --offline "$file" \
        -x "80-$LAB_TARGET_IP:80" -t 10 "$@" >"$LAB_DIR/$name.log" 2>&1 </dev/null || rc=$?
    lab_capture_stop "$name"
    ((rc == 0)) || { cat "$LAB_DIR/$name.log" >&2; lab_fail "exit status of tcpcopy $*" 0 "$rc"; }
    read -r span count < <(span_of "$LAB_DIR/$name.pcap")
    [[ $count == "$requests" ]] || lab_fail "requests the target received ($*)" "$requests" "$count"
    awk -v s="$span" -v e="$expected" -v t="$tolerance" 'BEGIN { d = s - e; if (d < 0) d = -d; exit !(d <= e * t / 100) }' ||
        lab_fail "span of the replayed requests ($*)" "$expected s +-$tolerance%" "$span s"
    lab_log "replay $*: $count requests over $span s (expected $expected s +-$tolerance%)"
}
paced speed1 "$file_span" 3 -a 1
paced speed10 "$(awk -v s="$file_span" 'BEGIN { printf "%.3f", s / 10 }')" 10 -a 10
# -I 100: each of the 20 gaps between requests (0.5 s and a little more) becomes 0.1 s.
paced idle100 "$(awk -v n="$requests" 'BEGIN { printf "%.3f", (n - 1) * 0.1 }')" 10 -I 100

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS offline_pacing: -a 1, -a 10 and -I 100 kept the file's timing, 0 leaked"
