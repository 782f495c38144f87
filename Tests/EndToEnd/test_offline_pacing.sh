#!/usr/bin/env bash
# Offline replay keeps the file's timing. A 20 s recording: 5 s of requests in quick succession,
# 10 s of silence, 5 s of requests again. Replayed with -a 1 (the requests reach the target over
# the same 20 s, within 3%), -a 10 (over 2 s, within 10%) and -I 100 (every gap longer than
# 0.1 s shortened to 0.1 s: the silence goes, so the replay ends about 10 s sooner; the expected
# span is the file's with each gap so shortened, within 10%). Spans are measured between the
# first and last request, in the file and on the target's interface.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix offline_pacing)
burst_seconds=5 silence_seconds=10

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
# burst: requests one after the other for burst_seconds, counted in $requests.
requests=0
burst() {
    local until=$((SECONDS + burst_seconds))
    while ((SECONDS < until)); do
        [[ $(lab_http_code client "http://$LAB_ONLINE_IP/?paced=$requests" -H 'Connection: close') == 200 ]] ||
            lab_fail "request $requests to online" 200 "no answer"
        requests=$((requests + 1))
    done
}
burst
sleep "$silence_seconds"
burst
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
# -I 100: each gap between requests longer than 0.1 s (the silence, and any slow request of the
# bursts) becomes 0.1 s.
idle_span=$(tcpdump -r "$file" -n -tt "$requests_filter" 2>/dev/null |
    awk 'NR > 1 { g = $1 - last; span += (g > 0.1 ? 0.1 : g) } { last = $1 } END { printf "%.3f", span }')
awk -v f="$file_span" -v i="$idle_span" -v s="$silence_seconds" 'BEGIN { d = f - i - s; if (d < 0) d = -d; exit !(d <= s * 0.1) }' ||
    lab_fail "time -I 100 should save (the silence)" "$silence_seconds s +-10%" "$(awk -v f="$file_span" -v i="$idle_span" 'BEGIN { print f - i }') s"
paced idle100 "$idle_span" 10 -I 100

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS offline_pacing: -a 1, -a 10 and -I 100 kept the file's timing, 0 leaked"
