#!/usr/bin/env bash
# One tcpcopy, two targets (-x 80-TARGET:80,80-TARGET2:80): each target, with its own intercept,
# serves exactly what the online server served, over connections of the same shape, and neither
# leaks a response to the client namespace.
#
#   client ── online 10.77.2.1 ── 10.77.2.2 target    (lab-lib.sh's three namespaces)
#                    10.77.5.1 ── 10.77.5.2 target2   (one more, on a link of its own)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_targets)
short=100 conns=20 per=5
target2_ip=10.77.5.2

lab_init
lab_create
lab_topo_node target2
lab_topo_link online to-target2 10.77.5.1/24 target2 to-online "$target2_ip/24"
lab_topo_route target2 default via 10.77.5.1
lab_topo_check_ping client "$target2_ip"
lab_topo_created

for node in online target target2; do lab_nginx_start "$node"; done
lab_rules_apply target 80 0
lab_rules_apply target2 80 0
lab_capture_start leak client "tcp port 80"
lab_topo_intercept_start target intercept
lab_topo_intercept_start target2 intercept2
lab_topo_tcpcopy_start online tcpcopy -x "80-$LAB_TARGET_IP:80,80-$target2_ip:80"

url=http://$LAB_ONLINE_IP/
ok=$(lab_topo_requests_close client "$short" "$url")
((ok == short)) || lab_fail "200s online gave to short requests" "$short" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url")
((ok == conns * per)) || lab_fail "200s online gave to keep-alive requests" "$((conns * per))" "$ok"
online=$(lab_topo_served online)

report=()
for node in target target2; do
    got=$(lab_topo_wait_served "$node" "$online" 30) ||
        lab_fail "requests $node served" "$online within 30 s" "$got"
    report+=("$node served $got of online's $online ($(lab_topo_ratio "$got" "$online")x)")
    ((got == online)) || lab_fail "requests $node served" "$online" "$got"
    for kind in close keepalive; do
        want=$(lab_topo_connection_shape online / "$kind")
        got=$(lab_topo_connection_shape "$node" / "$kind")
        [[ $got == "$want" ]] || lab_fail "$node's requests per connection ($kind)" "$want" "$got"
    done
    seen=$(lab_topo_addresses "$node")
    [[ $seen == "$LAB_CLIENT_IP" ]] || lab_fail "client addresses $node saw" "$LAB_CLIENT_IP" "$seen"
done

lab_topo_expect_idle tcpcopy
lab_topo_stop_all tcpcopy intercept intercept2
lab_topo_expect_stat tcpcopy sessions_started == $((2 * (short + conns)))
lab_topo_expect_stat tcpcopy sessions_completed == $((2 * (short + conns)))
lab_topo_expect_stat tcpcopy port_collisions == 0
for name in intercept intercept2; do
    lab_topo_expect_stat "$name" registrations == $((short + conns))
    lab_topo_expect_stat "$name" duplicate_registrations == 0
done
lab_capture_stop leak
lab_topo_expect_no_leak leak "$LAB_TARGET_IP" "$target2_ip"

for line in "${report[@]}"; do lab_log "$line"; done
lab_log "PASS fleet_targets"
