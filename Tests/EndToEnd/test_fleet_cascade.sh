#!/usr/bin/env bash
# A cascade of depth 3, A -> B -> C -> D: tcpcopy on A copies the client's sessions to B; on B
# (whose intercept drops B's responses and hands their headers to A's tcpcopy) a second tcpcopy
# copies what arrives at B on to C, and C's on to D. D serves exactly what A served: the same
# requests, from the same client address and ports, over connections of the same shape; and not
# one response of B, C or D reaches the client namespace. Then -n 2 at A: B, C and D each serve
# twice what A served.
#
#   client 10.80.1.2 ── 10.80.1.1 A 10.80.2.1 ── 10.80.2.2 B 10.80.3.1 ── 10.80.3.2 C 10.80.4.1 ── 10.80.4.2 D
#
# Every server runs with strict rp_filter, so the routes below are what makes it work:
# each of B, C and D routes the client's addresses (default route) back towards the server that
# copies to it, i.e. out of the interface the copies arrive on. That route is never used to send
# anything (the OUTPUT rule drops the responses first), but the kernel checks the copies' source
# address against it. A, B and C forward, so a response that escaped would travel back to the
# client namespace, where the capture sees it.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_cascade)
short=100 conns=20 per=5
client_ip=10.80.1.2 a_ip=10.80.1.1 b_ip=10.80.2.2 c_ip=10.80.3.2 d_ip=10.80.4.2

lab_init
lab_topo_node client a b c d
lab_topo_link client to-a "$client_ip/24" a to-client "$a_ip/24"
lab_topo_link a to-b 10.80.2.1/24 b to-a "$b_ip/24"
lab_topo_link b to-c 10.80.3.1/24 c to-b "$c_ip/24"
lab_topo_link c to-d 10.80.4.1/24 d to-c "$d_ip/24"
lab_topo_route client default via "$a_ip"
lab_topo_route b default via 10.80.2.1
lab_topo_route c default via 10.80.3.1
lab_topo_route d default via 10.80.4.1
# Towards the far servers, for the ping check and so a leak from C or D passes strict rp_filter
# on its way back.
lab_topo_route a 10.80.3.0/24 via "$b_ip"
lab_topo_route a 10.80.4.0/24 via "$b_ip"
lab_topo_route b 10.80.4.0/24 via "$c_ip"
lab_topo_router a b c
for node in a b c d; do lab_topo_rp_filter "$node" 1; done
# The echo replies take the path a leaked response would: D, C, B and A back to the client.
lab_topo_check_ping client "$b_ip" "$c_ip" "$d_ip"
lab_topo_created

for node in a b c d; do
    lab_nginx_start "$node"
    lab_topo_page "$node" p1 p2
done
for node in b c d; do lab_rules_apply "$node" 80 0; done
lab_capture_start leak client "tcp port 80"
# Downstream first: each tcpcopy needs its target's intercept, and must be copying before the
# first packet it should see arrives.
lab_topo_intercept_start d intercept-d
lab_topo_intercept_start c intercept-c
lab_topo_intercept_start b intercept-b
lab_topo_tcpcopy_start c tcpcopy-c -x "80-$d_ip:80"
lab_topo_tcpcopy_start b tcpcopy-b -x "80-$c_ip:80"
lab_topo_tcpcopy_start a tcpcopy-a "$a_ip" 80 "$b_ip" 80

# Phase 1, /p1.html: B, C and D serve exactly what A served.
url=http://$a_ip/p1.html
ok=$(lab_topo_requests_close client "$short" "$url")
((ok == short)) || lab_fail "200s A gave to short requests" "$short" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url")
((ok == conns * per)) || lab_fail "200s A gave to keep-alive requests" "$((conns * per))" "$ok"

online=$(lab_topo_served a /p1.html)
((online == short + conns * per)) || lab_fail "requests A served" "$((short + conns * per))" "$online"
for node in b c d; do
    got=$(lab_topo_wait_served "$node" "$online" 30 /p1.html) ||
        lab_fail "requests $node served" "$online within 30 s" "$got"
done

# The sessions as each server saw them: client address, port and request, one line each.
sessions() {
    _lab_topo_select "$1" /p1.html any | awk '{ print $1, $2, $8 }' | sort
}
sessions a >"$LAB_DIR/sessions-a"
report=()
for node in b c d; do
    served=$(lab_topo_served "$node" /p1.html)
    report+=("-n 1: $node served $served of A's $online ($(lab_topo_ratio "$served" "$online")x)")
    ((served == online)) || lab_fail "requests $node served" "$online" "$served"
    sessions "$node" >"$LAB_DIR/sessions-$node"
    if ! cmp -s "$LAB_DIR/sessions-a" "$LAB_DIR/sessions-$node"; then
        diff "$LAB_DIR/sessions-a" "$LAB_DIR/sessions-$node" | head -n 20 >&2 || true
        lab_fail "$node's requests (address, port, URI)" "exactly A's" "a difference (above)"
    fi
    for kind in close keepalive; do
        want=$(lab_topo_connection_shape a /p1.html "$kind")
        got=$(lab_topo_connection_shape "$node" /p1.html "$kind")
        [[ $got == "$want" ]] || lab_fail "$node's requests per connection ($kind)" "$want" "$got"
    done
done
lab_topo_expect_idle tcpcopy-a tcpcopy-b tcpcopy-c
lab_expect_clean_stop tcpcopy-a
lab_topo_expect_stat tcpcopy-a sessions_started == "$((short + conns))"
lab_topo_expect_stat tcpcopy-a sessions_completed == "$((short + conns))"

# Phase 2, /p2.html: -n 2 at A doubles what every later hop sees (B and C go on as they were).
short2=30 conns2=5
lab_topo_tcpcopy_start a tcpcopy-a2 "$a_ip" 80 "$b_ip" 80 -n 2
url=http://$a_ip/p2.html
ok=$(lab_topo_requests_close client "$short2" "$url")
((ok == short2)) || lab_fail "phase 2: 200s A gave to short requests" "$short2" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns2" "$per" "$url")
((ok == conns2 * per)) || lab_fail "phase 2: 200s A gave to keep-alive requests" \
    "$((conns2 * per))" "$ok"
online2=$(lab_topo_served a /p2.html)
for node in b c d; do
    got=$(lab_topo_wait_served "$node" $((2 * online2)) 30 /p2.html) ||
        lab_fail "phase 2: requests $node served" "$((2 * online2)) within 30 s" "$got"
    report+=("-n 2 at A: $node served $got of A's $online2 ($(lab_topo_ratio "$got" "$online2")x)")
    ((got == 2 * online2)) || lab_fail "phase 2: requests $node served" "$((2 * online2))" "$got"
    for kind in close keepalive; do
        want=$(lab_topo_connection_shape a /p2.html "$kind" |
            awk '{ split($1, f, "x"); print f[1] "x" 2 * f[2] }')
        got=$(lab_topo_connection_shape "$node" /p2.html "$kind")
        [[ $got == "$want" ]] ||
            lab_fail "phase 2: $node's requests per connection ($kind)" "$want" "$got"
    done
done

lab_topo_expect_idle tcpcopy-a2 tcpcopy-b tcpcopy-c
lab_topo_stop_all tcpcopy-a2 tcpcopy-b tcpcopy-c intercept-b intercept-c intercept-d
lab_topo_expect_stat tcpcopy-a2 sessions_completed == "$((2 * (short2 + conns2)))"
for name in tcpcopy-b tcpcopy-c; do
    sessions=$((short + conns + 2 * (short2 + conns2)))
    lab_topo_expect_stat "$name" sessions_started == "$sessions"
    lab_topo_expect_stat "$name" sessions_completed == "$sessions"
done
for name in tcpcopy-a tcpcopy-a2 tcpcopy-b tcpcopy-c; do
    lab_topo_expect_stat "$name" port_collisions == 0
done
for name in intercept-b intercept-c intercept-d; do
    lab_topo_expect_stat "$name" duplicate_registrations == 0
    lab_topo_expect_stat "$name" forwarded '>' 0
done
lab_capture_stop leak
lab_topo_expect_no_leak leak "$b_ip" "$c_ip" "$d_ip"

for line in "${report[@]}"; do lab_log "$line"; done
lab_log "PASS fleet_cascade: A $online requests; B, C and D served the same sessions; 0 leaked"
