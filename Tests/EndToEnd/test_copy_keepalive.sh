#!/usr/bin/env bash
# 50 keep-alive connections of 5 requests each: every request is copied, over 50 connections
# on the target too, and no response reaches the client namespace.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix copy_keepalive)
connections=50 per_connection=5
requests=$((connections * per_connection))

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

ok=$(lab_requests_keepalive "$connections" "$per_connection")
[[ $ok == "$requests" ]] || lab_fail "200 responses from online" "$requests" "$ok"
online=$(lab_nginx_count online)
[[ $online == "$requests" ]] || lab_fail "requests online served" "$requests" "$online"
online_conns=$(lab_nginx_connections online)
[[ $online_conns == "$connections" ]] ||
    lab_fail "connections online saw (curl reusing its connection)" "$connections" "$online_conns"

target=$(lab_wait_count target "$requests" 10) ||
    lab_fail "requests the target served (copies)" "$requests within 10 s" "$target"
sleep 0.5
target=$(lab_nginx_count target)
[[ $target == "$requests" ]] || lab_fail "requests the target served (copies)" "$requests" "$target"
target_conns=$(lab_nginx_connections target)
[[ $target_conns == "$connections" ]] ||
    lab_fail "distinct connections in the target's log" "$connections" "$target_conns"
# Each copied connection carried the same 5 requests as the original one.
deepest=$(awk '{ if ($4 > m) m = $4 } END { print m + 0 }' "$(lab_nginx_access_log target)")
[[ $deepest == "$per_connection" ]] ||
    lab_fail "most requests on one target connection" "$per_connection" "$deepest"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_expect_stat_positive intercept dropped
lab_expect_stat_positive intercept forwarded

lab_log "PASS copy_keepalive: online $online/$online_conns conns, target $target/$target_conns conns"
