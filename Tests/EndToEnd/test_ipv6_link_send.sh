#!/usr/bin/env bash
# The link-layer sink over IPv6 (issue 24; docs/ipv6.md "Link-layer sink over IPv6"): one
# tcpcopy copies an IPv6 route and an IPv4 route with -o to-target, so copies of both families
# leave as Ethernet frames of their own EtherType from one AF_PACKET socket.
#   - the IPv6 next hop is found in the IPv6 routing and neighbour tables (the log names it, and
#     the online namespace's neighbour table holds the target's MAC for fd00:77:2::2);
#   - an ip6tables and an iptables OUTPUT rule in the online namespace drop every packet to the
#     target's port 80: only frames that bypass the host's IP output (the link-layer sink) reach
#     the target, so each copy counted proves the sink sent it;
#   - the target's nginx logs each request exactly once per family, from the client's address.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix ipv6_link_send)
ip6t=ip6tables-legacy
ipt=iptables-legacy
command -v "$ip6t" >/dev/null || lab_die "ip6tables-legacy is needed"
requests=40

# served ROLE ADDRESS: requests ROLE's nginx logged from ADDRESS.
served() {
    awk -v a="$2" '$1 == a' "$(lab_nginx_access_log "$1")" | wc -l | tr -d ' '
}

lab_init
lab_create
lab_add_ipv6
LAB_NGINX_LISTEN6="[$LAB_ONLINE_IP6]:80" lab_nginx_start online
LAB_NGINX_LISTEN6="[$LAB_TARGET_IP6]:80" lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept

# Nothing the online host sends through its IP stack reaches the target's port 80.
lab_exec online "$ip6t" -A OUTPUT -d "$LAB_TARGET_IP6" -p tcp --dport 80 -j DROP
lab_exec online "$ipt" -A OUTPUT -d "$LAB_TARGET_IP" -p tcp --dport 80 -j DROP
got=$(lab_http_code online "http://[$LAB_TARGET_IP6]/" -g --max-time 1)
[[ $got == 000 ]] || lab_fail "online -> [target]:80 through the host's IP output (the DROP rule)" 000 "$got"
# No neighbour entry yet: the sink must resolve it.
lab_exec online ip -6 neigh flush dev to-target

lab_tcpcopy_start tcpcopy -x "80-[$LAB_TARGET_IP6]:80,80-$LAB_TARGET_IP:80" -i any -o to-target
log=$(lab_daemon_log tcpcopy)
grep -q 'sending copies at the link layer' "$log" ||
    lab_fail "tcpcopy's log" "'sending copies at the link layer'" "$(grep -a -m3 'link' "$log" || echo none)"
found=$(grep -a -m1 "destination=$LAB_TARGET_IP6 .*next hop found" "$log" || true)
[[ -n $found ]] || lab_fail "tcpcopy's log" "next hop found for $LAB_TARGET_IP6" \
    "$(grep -a 'next hop' "$log" || echo none)"
lab_log "tcpcopy: ${found#*info tcpcopy: }"
grep -q "next_hop=$LAB_TARGET_IP6 " <<<"$found " || lab_fail "the IPv6 next hop" "$LAB_TARGET_IP6 (on link)" "$found"
if grep -aq "IPv6 copies leave through the raw IPv6 socket" "$log"; then
    lab_fail "tcpcopy's log" "no notice that -o skips IPv6" "the notice"
fi
mac=$(lab_exec target cat /sys/class/net/to-online/address)
neigh=$(lab_exec online ip -6 neigh show "$LAB_TARGET_IP6" dev to-target)
[[ $neigh == *"lladdr $mac"* ]] || lab_fail "online's IPv6 neighbour entry for the target" "lladdr $mac" "$neigh"

ok=$(lab_topo_requests_close client "$requests" "http://[$LAB_ONLINE_IP6]/" -g --interface "$LAB_CLIENT_IP6")
((ok == requests)) || lab_fail "online's answers over IPv6" "$requests" "$ok"
ok=$(lab_topo_requests_close client "$requests" "http://$LAB_ONLINE_IP/" --interface "$LAB_CLIENT_IP")
((ok == requests)) || lab_fail "online's answers over IPv4" "$requests" "$ok"
lab_wait_count target "$((2 * requests))" 20 >/dev/null || true
sleep 1
got6=$(served target "$LAB_CLIENT_IP6")
got4=$(served target "$LAB_CLIENT_IP")
((got6 == requests)) || lab_fail "IPv6 copies the target served (sent through -o only)" "$requests" "$got6"
((got4 == requests)) || lab_fail "IPv4 copies the target served (sent through -o only)" "$requests" "$got4"
dropped6=$(lab_exec online "$ip6t" -vnL OUTPUT | awk '/DROP/ { print $1; exit }')
lab_log "the online host's IPv6 output rule dropped $dropped6 packets (the check's curl; the copies bypassed it)"

lab_expect_clean_stop tcpcopy
unresolved=$(lab_stat_int "$log" next_hop_unresolved)
((unresolved <= 0)) || lab_fail "next_hop_unresolved" 0 "$unresolved"
lab_expect_clean_stop intercept
lab_log "PASS ipv6_link_send: $got6 IPv6 and $got4 IPv4 copies through -o to-target, IPv6 neighbour $mac"
