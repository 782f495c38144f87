#!/usr/bin/env bash
# The target's way back to the clients: with strict rp_filter and an asymmetric route (copies
# arrive on to-online, the route back to the client network leaves by another interface),
# intercept doctor names rp_filter on to-online, and tcpcopy doctor's probe from a client-side
# address says its SYN never reached the target. With no route back to the clients at all,
# intercept doctor names the missing route, and the probe again stops before the target.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix doctor_routing)
route="80-$LAB_TARGET_IP:80"

lab_init
lab_create
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept

# 1. Strict rp_filter, and the client network routed out of a second interface.
lab_exec target ip link add side0 type veth peer name side1
lab_exec target ip link set side0 up
lab_exec target ip link set side1 up
lab_exec target ip route add 10.77.1.0/24 dev side0
lab_exec target sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.to-online.rp_filter=1
rc=$(lab_doctor rpfilter-target target intercept --port 80 --client "$LAB_CLIENT_IP" \
    --tcpcopy-host "$LAB_ONLINE_TARGET_SIDE_IP")
[[ $rc == 1 ]] || lab_fail "intercept doctor with strict rp_filter" "exit 1" "exit $rc"
lab_expect_finding rpfilter-target FAULT "copies arrive on to-online, strict rp_filter there drops those from $LAB_CLIENT_IP"
lab_expect_finding rpfilter-target ok "client $LAB_CLIENT_IP: 10.77.1.0/24 dev side0"
# Not told where copies come from (no tcpcopy connected), it still warns.
rc=$(lab_doctor rpfilter-guess target intercept --port 80 --client "$LAB_CLIENT_IP")
lab_expect_finding rpfilter-guess WARNING "if copies arrive on to-online, strict rp_filter"
# The probe, from online's client-side address (online's own, so an answer would come back here).
rc=$(lab_doctor rpfilter-online online tcpcopy -x "$route" --probe --probe-client "$LAB_ONLINE_IP")
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor --probe with strict rp_filter on the target" "exit 1" "exit $rc"
lab_expect_finding rpfilter-online ok "answered the handshake"
lab_expect_finding rpfilter-online FAULT "SYN never reached the target"

# 2. Loose rp_filter, but no route back to the clients at all.
lab_exec target sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.to-online.rp_filter=0
lab_exec target ip route del 10.77.1.0/24 dev side0
lab_exec target ip route del default
rc=$(lab_doctor noroute-target target intercept --port 80 --client "$LAB_CLIENT_IP")
[[ $rc == 1 ]] || lab_fail "intercept doctor without a route back" "exit 1" "exit $rc"
lab_expect_finding noroute-target FAULT "no route to client $LAB_CLIENT_IP"
rc=$(lab_doctor noroute-nolist target intercept --port 80)
lab_expect_finding noroute-nolist WARNING "no default route"
rc=$(lab_doctor noroute-online online tcpcopy -x "$route" --probe --probe-client "$LAB_ONLINE_IP")
[[ $rc == 1 ]] || lab_fail "tcpcopy doctor --probe without a route back" "exit 1" "exit $rc"
lab_expect_finding noroute-online FAULT "SYN never reached the target (or its answer never came back)"

lab_log "PASS doctor_routing"
