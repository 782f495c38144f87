#!/usr/bin/env bash
# -c 10.77.9.1,10.77.9.2: the target sees only the rewritten client addresses, each real client
# always the same one (sticky), and every session completes: intercept routes the responses by
# the rewritten address to tcpcopy.
#
# The target is set up as a target behind anti-spoofing would be: strict rp_filter, and no route
# to the real clients at all (lab-lib's default route is replaced by one for 10.77.9.0/24 only),
# so the copies could not even be accepted with the real addresses. The rewritten addresses need
# a route towards the path where the OUTPUT rule drops their responses; any interface will do.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_rewrite)
rewritten=(10.77.9.1 10.77.9.2)
clients=(10.77.1.21 10.77.1.22 10.77.1.23 10.77.1.24)
short=25 conns=5 per=3

lab_init
lab_create
for ip in "${clients[@]}"; do lab_topo_addr client to-online "$ip/24"; done
ip -n "$(lab_ns target)" route del default
lab_topo_route target 10.77.9.0/24 via "$LAB_ONLINE_TARGET_SIDE_IP"
lab_topo_rp_filter target 1
lab_nginx_start online
lab_nginx_start target
for ip in "${clients[@]}"; do
    lab_topo_page online "c${ip##*.}"
    lab_topo_page target "c${ip##*.}"
done
lab_rules_apply target 80 0
lab_intercept_start intercept
list=$(IFS=,; echo "${rewritten[*]}")
lab_topo_tcpcopy_start online tcpcopy -x "80-$LAB_TARGET_IP:80" -c "$list"

# Each real client requests its own page, so the target's log tells them apart.
for ip in "${clients[@]}"; do
    url=http://$LAB_ONLINE_IP/c${ip##*.}.html
    ok=$(lab_topo_requests_close client "$short" "$url" --interface "$ip")
    ((ok == short)) || lab_fail "200s online gave $ip (short)" "$short" "$ok"
    ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url" --interface "$ip")
    ((ok == conns * per)) || lab_fail "200s online gave $ip (keep-alive)" "$((conns * per))" "$ok"
done
online=$(lab_topo_served online)
got=$(lab_topo_wait_served target "$online" 30) ||
    lab_fail "requests the target served" "$online within 30 s" "$got"
((got == online)) || lab_fail "requests the target served" "$online" "$got"

seen=$(lab_topo_addresses target)
report=("target saw client addresses: $seen (real: ${clients[*]})")
for address in $seen; do
    [[ " ${rewritten[*]} " == *" $address "* ]] ||
        lab_fail "client addresses the target saw" "only ${rewritten[*]}" "$seen"
done
for ip in "${clients[@]}"; do
    page=/c${ip##*.}.html
    stand_in=$(lab_topo_addresses target "$page")
    report+=("$ip -> $stand_in")
    [[ $stand_in =~ ^[0-9.]+$ ]] || lab_fail "addresses the target saw for $ip (sticky)" \
        "one of ${rewritten[*]}" "'$stand_in'"
    for kind in close keepalive; do
        want=$(lab_topo_connection_shape online "$page" "$kind")
        have=$(lab_topo_connection_shape target "$page" "$kind")
        [[ $have == "$want" ]] || lab_fail "requests per connection for $ip ($kind)" "$want" "$have"
    done
done

lab_topo_expect_idle tcpcopy
lab_topo_stop_all tcpcopy intercept
sessions=$((${#clients[@]} * (short + conns)))
lab_topo_expect_stat tcpcopy sessions_started == "$sessions"
lab_topo_expect_stat tcpcopy sessions_completed == "$sessions"
lab_topo_expect_stat tcpcopy port_collisions == 0
lab_topo_expect_stat intercept registrations == "$sessions"
lab_topo_expect_stat intercept unrouted == 0
lab_topo_expect_stat intercept forwarded '>' 0
# Responses to the rewritten addresses would go nowhere real even if let through, so instead of
# a capture: intercept accepted none of them.
lab_topo_expect_stat intercept accepted == 0

for line in "${report[@]}"; do lab_log "$line"; done
lab_log "PASS fleet_rewrite: the target served $got requests, all from ${rewritten[*]}"
