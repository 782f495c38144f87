#!/usr/bin/env bash
# Both doctors over IPv6 (issue 24; docs/ipv6.md "Doctor over IPv6"), addresses from fd00::/8:
#   1. tcpcopy doctor -x 80-[target6]:80 with intercept running: ok (the IPv6 route to the
#      target, the handshake with intercept over IPv6), and --probe from this host's own IPv6
#      address and from the client's: intercept caught the SYN-ACK;
#   2. intercept doctor without --ipv6 on a target with IPv6 checks the ip6tables rule (rule6 ok),
#      the IPv6 way back (default route, --client [addr]); the IPv6 rule removed: FAULT rule6,
#      and tcpcopy doctor's probe FAULT (the response escaped to the client, seen by the raw
#      IPv6 watch);
#   3. the target without an IPv6 route back to the clients: intercept doctor FAULT for the
#      client, WARNING for the default route, tcpcopy doctor's probe from the client's address
#      FAULT (its SYN-ACK is never sent);
#   4. a target the online host has no IPv6 route to: FAULT target route;
#   5. intercept stopped: tcpcopy doctor FAULT (nothing listens on [target6]:36524).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix doctor_ipv6)
ip6t=ip6tables-legacy
command -v "$ip6t" >/dev/null || lab_die "ip6tables-legacy is needed (intercept doctor reads the legacy tables)"
route="80-[$LAB_TARGET_IP6]:80"
rule6=(OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0)

lab_init
lab_create
lab_add_ipv6
LAB_NGINX_LISTEN6="[$LAB_TARGET_IP6]:80" lab_nginx_start target
lab_rules_apply target 80 0
lab_exec target "$ip6t" -C "${rule6[@]}" || lab_fail "rules.sh apply" "the ip6tables rule" "none"
lab_intercept_start intercept

# 1. A healthy IPv6 route.
rc=$(lab_doctor healthy online tcpcopy -x "$route")
((rc == 0)) || lab_fail "tcpcopy doctor over IPv6 with intercept running" "exit 0" "exit $rc"
lab_expect_no_fault healthy
lab_expect_finding healthy ok "target $LAB_TARGET_IP6: fd00:77:2::/64 dev to-target"
lab_expect_finding healthy ok "intercept at [$LAB_TARGET_IP6]:$LAB_CONTROL_PORT answered the handshake"
rc=$(lab_doctor probe-own online tcpcopy -x "$route" --probe)
((rc == 0)) || lab_fail "tcpcopy doctor --probe over IPv6" "exit 0" "exit $rc"
lab_expect_finding probe-own ok "probe $LAB_ONLINE_TARGET_SIDE_IP6 -> [$LAB_TARGET_IP6]:80: the target answered and intercept caught the SYN-ACK"
rc=$(lab_doctor probe-client online tcpcopy -x "$route" --probe --probe-client "$LAB_CLIENT_IP6")
((rc == 0)) || lab_fail "tcpcopy doctor --probe --probe-client $LAB_CLIENT_IP6" "exit 0" "exit $rc"
lab_expect_finding probe-client ok "probe $LAB_CLIENT_IP6 -> [$LAB_TARGET_IP6]:80: the target answered"
# The probes left no socket on the target (each ends with a RST).
sleep 0.2
left=$(lab_exec target ss -Htn state syn-recv "( sport = :80 )" | wc -l)
((left == 0)) || lab_fail "half-open sockets on the target after the probes" 0 "$left"

# 2. intercept doctor: IPv6 examined without --ipv6 (the target has a routable IPv6 address).
rc=$(lab_doctor target-ok target intercept --port 80 --client "[$LAB_CLIENT_IP6],$LAB_CLIENT_IP" \
    --tcpcopy-host "$LAB_ONLINE_TARGET_SIDE_IP")
((rc == 0)) || lab_fail "intercept doctor on a healthy IPv6 target" "exit 0" "exit $rc"
lab_expect_finding target-ok ok "ip6tables -A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0 queues port 80 to queue 0"
lab_expect_finding target-ok ok "client $LAB_CLIENT_IP6: default via $LAB_ONLINE_TARGET_SIDE_IP6 dev to-online"
rc=$(lab_doctor target-any target intercept --port 80)
lab_expect_finding target-any ok "IPv6 default via $LAB_ONLINE_TARGET_SIDE_IP6 dev to-online"
lab_exec target "$ip6t" -D "${rule6[@]}"
rc=$(lab_doctor target-norule target intercept --port 80)
((rc == 1)) || lab_fail "intercept doctor without the ip6tables rule" "exit 1" "exit $rc"
lab_expect_finding target-norule FAULT "no NFQUEUE rule for port 80 and queue 0 in ip6tables' OUTPUT"
lab_expect_finding target-norule ok "-A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0 queues port 80"
rc=$(lab_doctor probe-norule online tcpcopy -x "$route" --probe)
((rc == 1)) || lab_fail "tcpcopy doctor --probe without the target's IPv6 rule" "exit 1" "exit $rc"
lab_expect_finding probe-norule FAULT "probe $LAB_ONLINE_TARGET_SIDE_IP6 -> [$LAB_TARGET_IP6]:80: response escaped to the client"
grep -qF "fix: on the target: ip6tables -I OUTPUT -p tcp --sport 80 -j NFQUEUE" "$LAB_DIR/probe-norule.doctor" ||
    lab_fail "the escaped probe's remedy" "the ip6tables rule" "$(grep 'fix:' "$LAB_DIR/probe-norule.doctor")"
lab_exec target "$ip6t" -I "${rule6[@]}"

# 3. No IPv6 route back to the clients.
lab_exec target ip -6 route del default
rc=$(lab_doctor noroute-target target intercept --port 80 --client "[$LAB_CLIENT_IP6]")
((rc == 1)) || lab_fail "intercept doctor without an IPv6 route back" "exit 1" "exit $rc"
lab_expect_finding noroute-target FAULT "no route to client $LAB_CLIENT_IP6"
rc=$(lab_doctor noroute-any target intercept --port 80)
lab_expect_finding noroute-any WARNING "no IPv6 default route"
rc=$(lab_doctor noroute-probe online tcpcopy -x "$route" --probe --probe-client "$LAB_CLIENT_IP6")
((rc == 1)) || lab_fail "tcpcopy doctor --probe without the target's route back" "exit 1" "exit $rc"
lab_expect_finding noroute-probe FAULT "probe $LAB_CLIENT_IP6 -> [$LAB_TARGET_IP6]:80: nothing came back through intercept"
lab_exec target ip -6 route add default via "$LAB_ONLINE_TARGET_SIDE_IP6"

# 4. A target the online host has no IPv6 route to.
rc=$(lab_doctor unrouted online tcpcopy -x "80-[fd00:77:5::2]:80")
((rc == 1)) || lab_fail "tcpcopy doctor for an unrouted IPv6 target" "exit 1" "exit $rc"
lab_expect_finding unrouted FAULT "no route to target fd00:77:5::2"

# 5. intercept down.
lab_daemon_stop intercept
rc=$(lab_doctor down online tcpcopy -x "$route")
((rc == 1)) || lab_fail "tcpcopy doctor over IPv6 with intercept stopped" "exit 1" "exit $rc"
lab_expect_finding down FAULT "nothing listens on [$LAB_TARGET_IP6]:$LAB_CONTROL_PORT (connection refused)"

lab_log "PASS doctor_ipv6"
