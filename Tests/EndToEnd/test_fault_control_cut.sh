#!/usr/bin/env bash
# The control connection cut for 10 s (its packets dropped inside the target namespace), with
# traffic flowing: both sides notice through the heartbeat (tcpcopy: intercept silent; intercept:
# tcpcopy silent past --heartbeat-timeout), say so in the log and the counters, and tcpcopy
# reconnects once the path is back; copying resumes; nothing leaks meanwhile.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix fault_control_cut)
ipt=$(lab_iptables)
cut_rules=(
    "INPUT -p tcp --dport $LAB_CONTROL_PORT -j DROP"
    "OUTPUT -p tcp --sport $LAB_CONTROL_PORT -j DROP"
)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
safety_expect_fresh_copies 20 "before the cut"

safety_traffic_start 10
sleep 1
lab_log "cutting the control connection for 10 s"
for rule in "${cut_rules[@]}"; do
    # shellcheck disable=SC2086  # a rule is words
    lab_exec target "$ipt" -I $rule
done
start=$SECONDS
safety_wait_log tcpcopy "intercept silent for" 10
safety_wait_log intercept "silent for .* ms \(--heartbeat-timeout\)" 10
noticed=$((SECONDS - start))
sleep $((10 - noticed > 0 ? 10 - noticed : 0))
for rule in "${cut_rules[@]}"; do
    # shellcheck disable=SC2086
    lab_exec target "$ipt" -D $rule
done
lab_log "control path restored after $((SECONDS - start)) s (both sides noticed within ${noticed} s)"
safety_wait_log tcpcopy "reconnected to intercept" 40
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers during the cut" "$sent" "$ok"
sleep 1
safety_expect_fresh_copies 50 "after the control path came back"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
tlog=$(lab_daemon_log tcpcopy)
ilog=$(lab_daemon_log intercept)
(($(lab_stat_int "$tlog" control_link_failures) == 1)) ||
    lab_fail "tcpcopy's control_link_failures" 1 "$(lab_stat_int "$tlog" control_link_failures)"
(($(lab_stat_int "$ilog" connections_timed_out) == 1)) ||
    lab_fail "intercept's connections_timed_out" 1 "$(lab_stat_int "$ilog" connections_timed_out)"
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS fault_control_cut: both sides noticed within ${noticed}s, reconnected, copies resumed, 0 leaked"
