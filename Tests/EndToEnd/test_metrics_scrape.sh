#!/usr/bin/env bash
# --metrics-listen: both daemons serve GET /metrics in the Prometheus text format from their event
# loop. The counters are the stats line's and move with traffic (sessions started, responses,
# intercept's forwarded packets); tcpcopy's histograms of response latency and session duration
# count the copied sessions. Other paths get 404; a scraper that never sends a request does not
# stop the daemon from answering the next.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix metrics_scrape)
requests=30
tm=127.0.0.1:9100
im=127.0.0.1:9101

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept --metrics-listen "$im"
lab_tcpcopy_start tcpcopy --metrics-listen "$tm" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

# Before traffic.
before=$(lab_scrape online "$tm")
ibefore=$(lab_scrape target "$im")
grep -q '^# TYPE tcpcopy_sessions_started_total counter' <<<"$before" ||
    lab_fail "tcpcopy's scrape" "a counter tcpcopy_sessions_started_total" "$(head -n 5 <<<"$before")"
grep -q '^# TYPE tcpcopy_sessions_live gauge' <<<"$before" || lab_fail "tcpcopy's scrape" "a gauge sessions_live" "none"
grep -q '^# TYPE tcpcopy_response_latency_seconds histogram' <<<"$before" ||
    lab_fail "tcpcopy's scrape" "the response latency histogram" "none"
grep -q '^# TYPE intercept_queued_total counter' <<<"$ibefore" || lab_fail "intercept's scrape" "intercept_queued_total" "none"
s0=$(lab_metric "$before" tcpcopy_sessions_started_total)
f0=$(lab_metric "$ibefore" intercept_forwarded_total)

# A silent scraper holds a connection open; the endpoint still answers.
lab_exec online timeout 3 bash -c "exec 3<>/dev/tcp/${tm%:*}/${tm#*:}; sleep 2" &
silent=$!
sleep 0.3
code=$(lab_exec online curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$tm/other")
[[ $code == 404 ]] || lab_fail "GET /other" 404 "$code"

ok=$(lab_requests_close "$requests")
[[ $ok == "$requests" ]] || lab_fail "requests answered by online" "$requests" "$ok"
got=$(lab_wait_count target "$requests" 10) || lab_fail "copies served" "$requests" "$got"
# Sessions are unregistered (their duration recorded) once they stop lingering.
sleep 4  # past the 3 s a finished session lingers before it is unregistered
wait "$silent" 2>/dev/null || true

after=$(lab_scrape online "$tm")
iafter=$(lab_scrape target "$im")
s1=$(lab_metric "$after" tcpcopy_sessions_started_total)
r1=$(lab_metric "$after" tcpcopy_responses_total)
c1=$(lab_metric "$after" tcpcopy_sessions_completed_total)
l1=$(lab_metric "$after" tcpcopy_response_latency_seconds_count)
d1=$(lab_metric "$after" tcpcopy_session_duration_seconds_count)
f1=$(lab_metric "$iafter" intercept_forwarded_total)
lab_log "tcpcopy: sessions_started $s0 -> $s1, responses $r1, completed $c1, latency count $l1, duration count $d1"
lab_log "intercept: forwarded $f0 -> $f1"
((s1 - s0 >= requests)) || lab_fail "tcpcopy_sessions_started_total increase" ">= $requests" "$((s1 - s0))"
((r1 >= 3 * requests)) || lab_fail "tcpcopy_responses_total" ">= $((3 * requests))" "$r1"
((l1 >= requests)) || lab_fail "tcpcopy_response_latency_seconds_count" ">= $requests" "$l1"
((d1 >= requests)) || lab_fail "tcpcopy_session_duration_seconds_count" ">= $requests" "$d1"
((f1 - f0 >= 3 * requests)) || lab_fail "intercept_forwarded_total increase" ">= $((3 * requests))" "$((f1 - f0))"
# Latencies in a lab are milliseconds: every observation under the 1 s bucket.
under=$(lab_metric "$after" 'tcpcopy_response_latency_seconds_bucket{le="1.0"}')
((under == l1)) || lab_fail "latency observations under 1 s" "$l1" "$under"

# The scrape agrees with the stats line (the same counters): SIGUSR1, then compare.
kill -USR1 "$(lab_daemon_pid tcpcopy)"
sleep 0.3
stat=$(lab_stat_int "$(lab_daemon_log tcpcopy)" sessions_started)
now=$(lab_metric "$(lab_scrape online "$tm")" tcpcopy_sessions_started_total)
[[ $stat == "$now" ]] || lab_fail "sessions_started: stats line vs scrape" "$stat" "$now"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS metrics_scrape: sessions_started +$((s1 - s0)), latency count $l1, forwarded +$((f1 - f0))"
