#!/usr/bin/env bash
# Two online servers, each with its own clients and tcpcopy, feeding one target (one intercept):
#   1. different clients, both tcpcopy with -f 0, traffic at the same time: the target serves
#      the sum, each online server's share from its own clients, and no response goes to the
#      wrong tcpcopy (every session of each completes; intercept counts 0 duplicate
#      registrations);
#   2. the same client address and ports at both online servers (two clients sharing an address,
#      curl --local-port), tcpcopy -f 0 and -f 1: the same, the copies on distinct ports;
#   3. the control: the same clients with -f 0 on both, connections overlapping in time:
#      intercept counts the duplicate registrations (and keeps the first owner's route) rather
#      than misrouting silently.
#
#   client1 10.81.1.2 ── 10.81.1.1 online1 10.81.0.1 ─┐
#                                                      lan 10.81.0.2 target (a bridge)
#   client2 10.81.3.2 ── 10.81.3.1 online2 10.81.0.3 ─┘
#           +10.81.1.2 (the same address as client1, for 2 and 3)
#
# The target routes each online server's clients back towards it (never used: the OUTPUT rule
# drops the responses first; it keeps rp_filter content).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_online)
short=100 conns=10 per=5 same=100 control=10
client1_ip=10.81.1.2 online1_ip=10.81.1.1 client2_ip=10.81.3.2 online2_ip=10.81.3.1
target_ip=10.81.0.2 shared_ip=10.81.1.2

lab_init
lab_topo_node client1 client2 online1 online2 target
lab_topo_link client1 to-online "$client1_ip/24" online1 to-client "$online1_ip/24"
lab_topo_link client2 to-online "$client2_ip/24" online2 to-client "$online2_ip/24"
lab_topo_link online1 to-target 10.81.0.1/24 target to-online1 -
lab_topo_link online2 to-target 10.81.0.3/24 target to-online2 -
lab_topo_bridge target lan "$target_ip/24" to-online1 to-online2
# client2 also owns client1's address; online2 reaches it through its client link.
lab_topo_addr client2 to-online "$shared_ip/32"
lab_topo_route online2 "$shared_ip/32" dev to-client
lab_topo_route client1 default via "$online1_ip"
lab_topo_route client2 default via "$online2_ip"
lab_topo_route target 10.81.1.0/24 via 10.81.0.1
lab_topo_route target 10.81.3.0/24 via 10.81.0.3
lab_topo_router online1 online2
lab_topo_rp_filter target 1
lab_topo_check_ping client1 "$target_ip"
lab_topo_check_ping client2 "$target_ip"
lab_topo_created

for node in online1 online2 target; do
    lab_nginx_start "$node"
    lab_topo_page "$node" mixed same control
done
lab_rules_apply target 80 0
lab_capture_start leak1 client1 "tcp port 80"
lab_capture_start leak2 client2 "tcp port 80"
lab_topo_intercept_start target intercept

# lab_topo_requests_* print the count of 200s; these run them in the background into files.
traffic_mixed() { # NODE URL SOURCE
    {
        lab_topo_requests_close "$1" "$short" "$2" --interface "$3"
        lab_topo_requests_keepalive "$1" "$conns" "$per" "$2" --interface "$3"
    } | awk '{ sum += $1 } END { print sum + 0 }'
}
report=()

# 1. Different clients, -f 0 on both, at the same time.
lab_topo_tcpcopy_start online1 tcpcopy1 -x "80-$target_ip:80"
lab_topo_tcpcopy_start online2 tcpcopy2 -x "80-$target_ip:80"
traffic_mixed client1 "http://$online1_ip/mixed.html" "$client1_ip" >"$LAB_DIR/ok1" &
pid1=$!
traffic_mixed client2 "http://$online2_ip/mixed.html" "$client2_ip" >"$LAB_DIR/ok2" &
pid2=$!
wait "$pid1" "$pid2"
want=$((short + conns * per))
for i in 1 2; do
    ok=$(<"$LAB_DIR/ok$i")
    ((ok == want)) || lab_fail "phase 1: 200s online$i gave" "$want" "$ok"
done
got=$(lab_topo_wait_served target $((2 * want)) 30 /mixed.html) ||
    lab_fail "phase 1: requests the target served" "$((2 * want)) within 30 s" "$got"
lab_topo_expect_idle tcpcopy1 tcpcopy2
lab_topo_stop_all tcpcopy1 tcpcopy2
for i in 1 2; do
    online=$(lab_topo_served "online$i" /mixed.html)
    from=$([[ $i == 1 ]] && echo "$client1_ip" || echo "$client2_ip")
    target=$(_lab_topo_select target /mixed.html any | awk -v a="$from" '$1 == a' | wc -l)
    report+=("phase 1 (different clients, -f 0 and -f 0): online$i $online, target from $from $target")
    ((target == online)) || lab_fail "phase 1: target requests from $from" "$online" "$target"
    for kind in close keepalive; do
        shape_online=$(lab_topo_connection_shape "online$i" /mixed.html "$kind")
        shape_target=$(_lab_topo_select target /mixed.html "$kind" | awk -v a="$from" '$1 == a' |
            awk '{ n[$3]++ } END { for (c in n) s[n[c]]++; for (k in s) print k "x" s[k] }' |
            sort -n | tr '\n' ' ' | sed 's/ $//')
        [[ $shape_target == "$shape_online" ]] ||
            lab_fail "phase 1: requests per connection from $from ($kind)" "$shape_online" \
                "$shape_target"
    done
done
total=$(lab_topo_served target /mixed.html)
report+=("phase 1: target $total = sum $((2 * want))")
((total == 2 * want)) || lab_fail "phase 1: requests the target served" "$((2 * want))" "$total"

# Every session of each tcpcopy completed: none starved of responses another one received.
expect_whole_sessions() { # PHASE NAME SESSIONS
    local unmatched responses
    lab_topo_expect_stat "$2" sessions_started == "$3"
    lab_topo_expect_stat "$2" sessions_completed == "$3"
    lab_topo_expect_stat "$2" port_collisions == 0
    unmatched=$(lab_topo_stat "$2" responses_unmatched)
    responses=$(lab_topo_stat "$2" responses)
    report+=("$1: $2 sessions $3 completed $3, responses $responses, unmatched $unmatched")
    # A late duplicate after a session ended is harmless; misrouted headers would be many.
    ((unmatched * 100 <= responses)) ||
        lab_fail "$1: $2 responses_unmatched" "<= 1% of $responses" "$unmatched"
}
expect_whole_sessions "phase 1" tcpcopy1 $((short + conns))
expect_whole_sessions "phase 1" tcpcopy2 $((short + conns))

# intercept's counters so far (SIGUSR1 prints them).
intercept_stat() { # KEY
    lab_topo_stats_now intercept
    lab_topo_stat intercept "$1"
}
dup=$(intercept_stat duplicate_registrations)
((dup == 0)) || lab_fail "phase 1: intercept duplicate_registrations" 0 "$dup"

# 2. The same client address and ports at both online servers: -f 0 and -f 1.
lab_topo_tcpcopy_start online1 tcpcopy1 -x "80-$target_ip:80" -f 0
lab_topo_tcpcopy_start online2 tcpcopy2 -x "80-$target_ip:80" -f 1
lab_topo_requests_ports client1 20000 "$same" "http://$online1_ip/same.html" \
    --interface "$shared_ip" >"$LAB_DIR/ok1" &
pid1=$!
lab_topo_requests_ports client2 20000 "$same" "http://$online2_ip/same.html" \
    --interface "$shared_ip" >"$LAB_DIR/ok2" &
pid2=$!
wait "$pid1" "$pid2"
for i in 1 2; do
    ok=$(<"$LAB_DIR/ok$i")
    ((ok == same)) || lab_fail "phase 2: 200s online$i gave" "$same" "$ok"
    seen=$(lab_topo_addresses "online$i" /same.html)
    [[ $seen == "$shared_ip" ]] || lab_fail "phase 2: client address online$i saw" "$shared_ip" "$seen"
done
got=$(lab_topo_wait_served target $((2 * same)) 30 /same.html) ||
    lab_fail "phase 2: requests the target served" "$((2 * same)) within 30 s" "$got"
lab_topo_expect_idle tcpcopy1 tcpcopy2
lab_topo_stop_all tcpcopy1 tcpcopy2
total=$(lab_topo_served target /same.html)
ports=$(_lab_topo_select target /same.html any | awk '{ print $1 ":" $2 }' | sort -u | wc -l)
report+=("phase 2 (same clients, -f 0 and -f 1): online 2x$same, target $total on $ports distinct ports")
((total == 2 * same)) || lab_fail "phase 2: requests the target served" "$((2 * same))" "$total"
((ports == 2 * same)) || lab_fail "phase 2: distinct client ports at the target" "$((2 * same))" "$ports"
# Both online servers' sessions, each once: the URI names the client's port.
for i in 1 2; do
    absent=$(comm -23 <(_lab_topo_select "online$i" /same.html any | awk '{ print $8 }' | sort) \
        <(_lab_topo_select target /same.html any | awk '{ print $8 }' | sort -u) | wc -l)
    ((absent == 0)) || lab_fail "phase 2: online$i's requests missing at the target" 0 "$absent"
done
expect_whole_sessions "phase 2" tcpcopy1 "$same"
expect_whole_sessions "phase 2" tcpcopy2 "$same"
dup=$(intercept_stat duplicate_registrations)
((dup == 0)) || lab_fail "phase 2: intercept duplicate_registrations" 0 "$dup"

# 3. The control: the same clients, -f 0 on both. Their copies meet on the same ports: held
# connections started together from the same ports overlap, so each pair registers one route twice.
lab_topo_tcpcopy_start online1 tcpcopy1 -x "80-$target_ip:80"
lab_topo_tcpcopy_start online2 tcpcopy2 -x "80-$target_ip:80"
lab_topo_requests_held client1 21000 "$control" "http://$online1_ip/control.html" \
    --interface "$shared_ip" >/dev/null &
pid1=$!
lab_topo_requests_held client2 21000 "$control" "http://$online2_ip/control.html" \
    --interface "$shared_ip" >/dev/null &
pid2=$!
wait "$pid1" "$pid2"
sleep 1
dup=$(intercept_stat duplicate_registrations)
report+=("phase 3 (same clients, -f 0 and -f 0, the control): duplicate_registrations $dup")
((dup > 0)) || lab_fail "phase 3: intercept duplicate_registrations (shared ports)" ">0" "$dup"
grep -aq 'duplicate registration refused' "$(lab_daemon_log intercept)" ||
    lab_fail "intercept's log" "a line about the refused duplicate registration" "none"
lab_topo_stop_all tcpcopy1 tcpcopy2 intercept

lab_capture_stop leak1
lab_capture_stop leak2
lab_topo_expect_no_leak leak1 "$target_ip"
lab_topo_expect_no_leak leak2 "$target_ip"
for line in "${report[@]}"; do lab_log "$line"; done
lab_log "PASS fleet_online"
