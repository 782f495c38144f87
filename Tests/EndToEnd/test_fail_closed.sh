#!/usr/bin/env bash
# Fail-closed: with the rule in place and intercept dead (SIGKILL, the crash case), the target's
# port is dark to everyone and copied traffic leaks no response. The online server keeps
# serving its clients throughout.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix fail_closed)

# expect_dark WHEN: direct requests from the client and the admin address get nothing.
expect_dark() {
    local when=$1 code from
    for from in "$LAB_CLIENT_IP" "$LAB_ADMIN_IP"; do
        code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3 --interface "$from")
        [[ $code == 000 ]] ||
            lab_fail "$from -> target:80 $when" "no response (000)" "$code"
    done
}

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"

# 1. Rule in place, intercept never started.
expect_dark "before intercept ever ran"

# 2. Intercept running: the admin host gets through, which shows it reads the queue.
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5 --interface "$LAB_ADMIN_IP")
[[ $code == 200 ]] || lab_fail "admin -> target:80 with intercept running" "200" "$code"

# 3. Intercept crashes.
sleep 0.3
answered_before_kill=$(lab_capture_count leak "src host $LAB_TARGET_IP")
lab_daemon_kill intercept
queue_released() { ! lab_queue_bound target 0; }
lab_retry 50 0.1 queue_released ||
    lab_fail "NFQUEUE 0 after intercept was killed" "unbound within 5 s" "still bound"
expect_dark "after intercept was killed"

# Copied traffic: the online server answers its clients as usual; tcpcopy may have exited or
# be reconnecting, and either is fine, as long as nothing the target sends gets out.
ok=$(lab_requests_close 50)
[[ $ok == 50 ]] || lab_fail "online's answers while intercept is down" "50 x 200" "$ok"
sleep 2
if lab_daemon_alive tcpcopy; then
    lab_log "tcpcopy still running after intercept died; stopping it"
    lab_daemon_stop tcpcopy || lab_log "tcpcopy needed SIGKILL (tolerated here)"
else
    lab_log "tcpcopy exited after intercept died (tolerated)"
fi
expect_dark "after the copied traffic"

lab_capture_stop leak
# Step 2's answer to the admin host was allowed; not one target packet may have come after it.
total=$(lab_capture_count leak "src host $LAB_TARGET_IP")
if ((total != answered_before_kill)); then
    lab_capture_show leak "src host $LAB_TARGET_IP" 40
    lab_fail "target packets in the client namespace after intercept was killed" 0 \
        "$((total - answered_before_kill))"
fi
seen=$(lab_capture_count leak "src host $LAB_ONLINE_IP")
((seen > 0)) || lab_fail "online server packets seen by the client capture (the control)" \
    ">0" "$seen"

lab_log "PASS fail_closed"
