#!/usr/bin/env bash
# The target's server stopped mid-run and started again: the target's kernel answers the copies
# with RSTs, which end those sessions cleanly (sessions_reset_by_target), nothing leaks, the
# online service is unaffected, and copying resumes once the server is back.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix fault_target_restart)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -t 10

safety_traffic_start 10
sleep 1
lab_log "stopping the target's nginx"
lab_nginx_stop target
sleep 3
lab_log "starting the target's nginx again"
lab_nginx_start target
sleep 1
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers while the target was down" "$sent" "$ok"
sleep 1
safety_expect_fresh_copies 50 "after the target came back"
safety_stats tcpcopy
reset=$(safety_stat tcpcopy sessions_reset_by_target)
((reset > 0)) || lab_fail "sessions ended by the target's RSTs" ">0" "$reset"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy" "alive" "exited"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS fault_target_restart: $reset sessions reset by the target while it was down, copying resumed"
