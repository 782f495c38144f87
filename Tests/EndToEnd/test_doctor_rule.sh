#!/usr/bin/env bash
# doctor on a healthy pair finds nothing wrong and its probe session is caught by intercept; then
# with the target's rule missing, each doctor names it (intercept doctor: no rule; tcpcopy
# doctor --probe: the response escaped to the client), and with the rule sending to another
# queue, intercept doctor names the queue and the probe says intercept never saw the SYN-ACK.
# Each fault makes doctor exit 1.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix doctor_rule)
route="80-$LAB_TARGET_IP:80"

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept "$LAB_ADMIN_IP"

# 1. Healthy: no fault on either side, exit 0, and the probe's SYN-ACK is caught.
rc=$(lab_doctor healthy-target target intercept --port 80 --client "$LAB_CLIENT_IP" --tcpcopy-host "$LAB_ONLINE_TARGET_SIDE_IP")
[[ $rc == 0 ]] || lab_fail "intercept doctor on a healthy target" "exit 0" "exit $rc"
lab_expect_no_fault healthy-target
lab_expect_finding healthy-target ok "queues port 80 to queue 0"
lab_expect_finding healthy-target ok "queue 0 is read by intercept"
rc=$(lab_doctor healthy-online online tcpcopy -x "$route" --probe)
[[ $rc == 0 ]] || lab_fail "tcpcopy doctor --probe on a healthy pair" "exit 0" "exit $rc"
lab_expect_no_fault healthy-online
lab_expect_finding healthy-online ok "answered the handshake"
lab_expect_finding healthy-online ok "intercept caught the SYN-ACK"
# The probe leaves no socket behind on the target.
sleep 0.5
left=$(lab_exec target ss -Htn state all "sport = :80" | grep -v LISTEN | grep -c "$LAB_ONLINE_TARGET_SIDE_IP" || true)
[[ $left == 0 ]] || lab_fail "target sockets left by the probe" 0 "$left"

# 2. No rule: the responses would reach the real clients.
lab_rules_remove target 80 0
rc=$(lab_doctor norule-target target intercept --port 80)
[[ $rc == 1 ]] || lab_fail "intercept doctor without the rule" "exit 1" "exit $rc"
lab_expect_finding norule-target FAULT "no NFQUEUE rule for port 80 and queue 0"
rc=$(lab_doctor norule-online online tcpcopy -x "$route" --probe)
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor --probe without the rule" "exit 1" "exit $rc"
lab_expect_finding norule-online FAULT "response escaped to the client"

# 3. The rule (added with iptables-nft this time) sends to queue 1, intercept reads queue 0.
lab_exec target iptables-nft -I OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 1
rc=$(lab_doctor otherqueue-target target intercept --port 80)
[[ $rc == 1 ]] || lab_fail "intercept doctor with the rule on queue 1" "exit 1" "exit $rc"
lab_expect_finding otherqueue-target FAULT "sends to another queue than 0"
rc=$(lab_doctor otherqueue-online online tcpcopy -x "$route" --probe)
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor --probe with the rule on queue 1" "exit 1" "exit $rc"
lab_expect_finding otherqueue-online FAULT "target answered but intercept never saw the SYN-ACK"

lab_log "PASS doctor_rule"
