#!/usr/bin/env bash
# Forged NFQUEUE messages: another process (with CAP_NET_ADMIN) sends packet messages straight to
# intercept's netlink socket, one of them baiting an ACCEPT for an allow-listed address. intercept
# reads only what the kernel sends: each forged datagram is counted (netlink_malformed), no
# verdict goes back for a forged id (the kernel would have answered it with an error:
# netlink_errors), and the queue keeps working both ways afterwards.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix hostile_netlink)

lab_init
lab_create
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"

# intercept's netlink port id: the peer of queue 0, as the kernel lists it.
# shellcheck disable=SC2016  # awk's own $1, $2
portid=$(lab_exec target awk '$1 == 0 { print $2 }' /proc/net/netfilter/nfnetlink_queue)
[[ $portid =~ ^[0-9]+$ ]] || lab_fail "intercept's netlink port id" "a number" "'$portid'"
out=$(safety_py target netlink_forger.py "$portid" 0 "$LAB_TARGET_IP" "$LAB_ADMIN_IP")
lab_log "$out"
[[ $out == "forged sent=5" ]] || lab_fail "forged messages sent" "forged sent=5" "$out"

# Still a working queue: the allow-listed host is answered, the client is not.
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5 --interface "$LAB_ADMIN_IP")
[[ $code == 200 ]] || lab_fail "admin -> target:80 after the forgeries" "200" "$code"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3 --interface "$LAB_CLIENT_IP")
[[ $code == 000 ]] || lab_fail "client -> target:80 after the forgeries" "no response (000)" "$code"

lab_expect_clean_stop intercept
log=$(lab_daemon_log intercept)
malformed=$(lab_stat_int "$log" netlink_malformed)
((malformed == 5)) || lab_fail "intercept netlink_malformed" 5 "$malformed"
errors=$(lab_stat_int "$log" netlink_errors)
((errors == 0)) || lab_fail "intercept netlink_errors (verdicts for forged ids)" 0 "$errors"
lab_expect_stat_positive intercept accepted
lab_expect_stat_positive intercept dropped

lab_capture_stop leak
to_client=$(lab_capture_count leak "src host $LAB_TARGET_IP and dst host $LAB_CLIENT_IP")
if ((to_client != 0)); then
    lab_capture_show leak "src host $LAB_TARGET_IP and dst host $LAB_CLIENT_IP"
    lab_fail "target packets to the unlisted $LAB_CLIENT_IP" 0 "$to_client"
fi

lab_log "PASS hostile_netlink: 5 forged datagrams counted, no verdict for them, queue still working"
