#!/usr/bin/env bash
# 200 short connections (Connection: close) to the online server are each copied to the target,
# and not one of the target's responses reaches the client namespace.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix copy_short)
requests=200

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
# Both directions of both servers, so the leak count has a positive control (online's packets).
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

ok=$(lab_requests_close "$requests")
[[ $ok == "$requests" ]] || lab_fail "200 responses from online" "$requests" "$ok"
online=$(lab_nginx_count online)
[[ $online == "$requests" ]] || lab_fail "requests online served" "$requests" "$online"

# Copies lag behind the originals: poll, then let stragglers land to catch duplicates too.
target=$(lab_wait_count target "$requests" 10) ||
    lab_fail "requests the target served (copies)" "$requests within 10 s" "$target"
sleep 0.5
target=$(lab_nginx_count target)
[[ $target == "$requests" ]] || lab_fail "requests the target served (copies)" "$requests" "$target"
# Copies keep the real client's address.
from_client=$(awk -v ip="$LAB_CLIENT_IP" '$1 == ip' "$(lab_nginx_access_log target)" | wc -l)
[[ $from_client == "$requests" ]] ||
    lab_fail "target requests from the client's own address $LAB_CLIENT_IP" "$requests" "$from_client"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_expect_stat_positive intercept dropped
lab_expect_stat_positive intercept forwarded

lab_log "PASS copy_short: online $online, target $target, 0 leaked"
