#!/usr/bin/env bash
# tcpcopy -o on a device without a link header (a tun device, ARPHRD_NONE, standing in for the
# ipip or gre tunnels this kernel may lack): the sink uses no MAC and no neighbour lookup, and
# each copy leaves as a bare IP packet. Tests/Servers/tun_relay.py reads them from the tun
# device and sends them on to the target, so every request must be copied exactly, and the
# relay must have carried the copies (a positive control that they went through tun0).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix link_send_headerless)
requests=100
[[ -c /dev/net/tun ]] || lab_die "this test needs /dev/net/tun"

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_exec online ip tuntap add dev tun0 mode tun
lab_daemon_start relay online python3 -u "$LAB_REPO_DIR/Tests/Servers/tun_relay.py" --device tun0
lab_retry 50 0.1 grep -q 'attached to tun0' "$(lab_daemon_log relay)" ||
    lab_die "tun_relay did not attach to tun0"
lab_exec online ip link set tun0 up
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -o tun0
grep -q 'no link header' "$(lab_daemon_log tcpcopy)" ||
    lab_fail "tcpcopy's log" "tun0 seen as having no link header" "$(grep -a 'link layer' "$(lab_daemon_log tcpcopy)" || echo none)"

ok=$(lab_requests_close "$requests")
((ok == requests)) || lab_fail "online's answers" "$requests" "$ok"
target=$(lab_wait_count target "$requests" 15) ||
    lab_fail "requests the target served through tun0" "$requests within 15 s" "$target"
sleep 0.5
target=$(lab_nginx_count target)
((target == requests)) || lab_fail "requests the target served through tun0" "$requests" "$target"
safety_stats tcpcopy
sent=$(safety_stat tcpcopy packets_sent)
errors=$(safety_stat tcpcopy send_errors)
((errors == 0)) || lab_fail "tcpcopy's send_errors" 0 "$errors"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_daemon_stop relay
relayed=$(lab_stat_int "$(lab_daemon_log relay)" relayed)
((relayed >= sent && sent > 0)) || lab_fail "packets tun_relay carried" ">= tcpcopy's packets_sent ($sent)" "$relayed"
lab_log "PASS link_send_headerless: target served $target of $requests, tun0 carried $relayed packets (tcpcopy sent $sent)"
