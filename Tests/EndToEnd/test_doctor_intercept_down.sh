#!/usr/bin/env bash
# intercept not running: tcpcopy doctor says nothing listens on the control port, intercept
# doctor that no process reads the queue. intercept refusing this host: tcpcopy doctor says so.
# Without capabilities (user nobody), each doctor names the capability it lacks. Every fault
# makes doctor exit 1.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix doctor_intercept_down)
route="80-$LAB_TARGET_IP:80"

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0

# 1. intercept not running.
rc=$(lab_doctor down-online online tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80)
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor with intercept down" "exit 1" "exit $rc"
lab_expect_finding down-online FAULT "nothing listens on $LAB_TARGET_IP:$LAB_CONTROL_PORT (connection refused): intercept is not running"
rc=$(lab_doctor down-target target intercept --port 80)
[[ $rc == 1 ]] || lab_fail "intercept doctor with intercept down" "exit 1" "exit $rc"
lab_expect_finding down-target FAULT "no process reads queue 0: intercept is not running"
# The probe cannot run without the control connection, and says so.
rc=$(lab_doctor down-probe online tcpcopy -x "$route" --probe)
lab_expect_finding down-probe WARNING "not run: no control connection"

# 2. intercept up, but not allowing this host.
lab_intercept_start intercept --tcpcopy-allow 10.77.9.9
rc=$(lab_doctor refused-online online tcpcopy -x "$route")
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor refused by intercept" "exit 1" "exit $rc"
lab_expect_finding refused-online FAULT "refused this host"
lab_daemon_stop intercept

# 3. No capabilities: as nobody, with an empty bounding set.
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --)
for program in tcpcopy intercept; do
    role=online args=(-x "$route")
    [[ $program == tcpcopy ]] || role=target args=(--port 80)
    rc=0
    lab_exec "$role" timeout 30 "${nobody[@]}" "$(lab_bin "$program")" doctor "${args[@]}" \
        >"$LAB_DIR/nocap-$program.doctor" 2>&1 || rc=$?
    sed 's/^/    /' "$LAB_DIR/nocap-$program.doctor" >&2
    [[ $rc == 1 ]] || lab_fail "$program doctor without capabilities" "exit 1" "exit $rc"
done
lab_expect_finding nocap-tcpcopy FAULT "lacks CAP_NET_RAW"
lab_expect_finding nocap-intercept FAULT "lacks CAP_NET_ADMIN and CAP_NET_RAW"

lab_log "PASS doctor_intercept_down"
