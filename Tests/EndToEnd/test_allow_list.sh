#!/usr/bin/env bash
# The allow-list: intercept ACCEPTs responses to listed addresses (the admin host talks to the
# target normally) and DROPs the rest (the client's direct request gets nothing). Each of the
# three ways to give the list on the command line is started once.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix allow_list)

# An address on the lists that no host has, so list parsing is exercised with two entries.
absent=10.77.1.9

lab_init
lab_create
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP"

# check_allow_list NAME ARGS...: starts intercept with ARGS, checks both directions, stops it.
check_allow_list() {
    local name=$1 code log
    shift
    lab_intercept_start "$name" "$@"
    code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5 --interface "$LAB_ADMIN_IP")
    [[ $code == 200 ]] ||
        lab_fail "allow-listed $LAB_ADMIN_IP -> target:80 (intercept $*)" "200" "$code"
    code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3 --interface "$LAB_CLIENT_IP")
    [[ $code == 000 ]] ||
        lab_fail "unlisted $LAB_CLIENT_IP -> target:80 (intercept $*)" "no response (000)" "$code"
    lab_expect_clean_stop "$name"
    log=$(lab_daemon_log "$name")
    lab_expect_stat_positive "$name" accepted
    lab_expect_stat_positive "$name" dropped
    lab_log "allow-list form '$*': accepted $(stat_value "$log" accepted)," \
        "dropped $(stat_value "$log" dropped)"
}

# The 0.4-era positional form (colon-separated), the 0.9-era -x form (comma-separated), and the
# long option.
check_allow_list intercept-positional "$LAB_ADMIN_IP:$absent"
check_allow_list intercept-x -x "$absent,$LAB_ADMIN_IP"
check_allow_list intercept-allow --allow "$LAB_ADMIN_IP"

lab_capture_stop leak
to_client=$(lab_capture_count leak "src host $LAB_TARGET_IP and dst host $LAB_CLIENT_IP")
if ((to_client != 0)); then
    lab_capture_show leak "src host $LAB_TARGET_IP and dst host $LAB_CLIENT_IP"
    lab_fail "target packets to the unlisted $LAB_CLIENT_IP" 0 "$to_client"
fi
to_admin=$(lab_capture_count leak "src host $LAB_TARGET_IP and dst host $LAB_ADMIN_IP")
((to_admin > 0)) || lab_fail "target packets to the allow-listed $LAB_ADMIN_IP" ">0" "$to_admin"

lab_log "PASS allow_list: 3 forms, $to_admin packets to the admin host, 0 to the client"
