#!/usr/bin/env bash
# intercept killed with SIGKILL under load, then restarted: not one target packet reaches the
# client namespace at any moment; tcpcopy notices, retries with backoff (logged), starts no
# session towards the target while its link is down (counted: sessions_without_link), reconnects,
# and copying resumes; whatever copies are lost in between are accounted for by the counters.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix fault_intercept_restart)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy -x "80-$LAB_TARGET_IP:80" -t 10
safety_expect_fresh_copies 20 "before the crash"

safety_traffic_start 10
sleep 2
lab_daemon_kill intercept
safety_wait_log tcpcopy "lost the control connection to intercept" 10
sleep 3
lab_log "restarting intercept"
lab_intercept_start intercept2
safety_wait_log tcpcopy "reconnected to intercept" 40
sleep 2
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers while intercept was down" "$sent" "$ok"
sleep 2
safety_expect_fresh_copies 50 "after intercept came back"

safety_stats tcpcopy
log=$(lab_daemon_log tcpcopy)
online=$(lab_nginx_count online)
target=$(lab_nginx_count target)
without=$(safety_stat tcpcopy sessions_without_link)
lost=$(($(safety_stat tcpcopy sessions_aborted) + without))
lab_log "online $online requests, target $target copies; counted: sessions_aborted=$(safety_stat tcpcopy sessions_aborted) sessions_without_link=$without registrations_without_link=$(safety_stat tcpcopy registrations_without_link) sessions_gave_up=$(safety_stat tcpcopy sessions_gave_up) sessions_timed_out=$(safety_stat tcpcopy sessions_timed_out)"
((without > 0)) || lab_fail "sessions held back while the link was down" ">0" "$without"
(($(safety_stat tcpcopy control_link_failures) == 1)) ||
    lab_fail "tcpcopy's control_link_failures" 1 "$(safety_stat tcpcopy control_link_failures)"
((lost >= online - target)) || lab_fail "lost copies accounted for (aborted + registered without link)" \
    ">= $((online - target))" "$lost"
grep -qE "still unreachable \(attempt 1: .*next attempt in 1000 ms" "$log" ||
    lab_fail "tcpcopy's backoff log" "attempt 1 ... next attempt in 1000 ms" "$(grep -c unreachable "$log") lines"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept2
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS fault_intercept_restart: online $online, target $target ($((online - target)) lost, at most $lost accounted for), $without held back while the link was down, 0 leaked"
