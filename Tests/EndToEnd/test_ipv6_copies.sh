#!/usr/bin/env bash
# Issue 24, counts over IPv6 (fd00::/8 only; nginx on [addr]:80 as well as on port 80):
#   1. -n 10 over IPv6: 20 short and 4 keep-alive x 5 requests from [fd00:77:1::2], each served
#      exactly 10 times by the target, each copy a session of its own (1x200 and 5x40
#      connections), no port collision, 240 sessions started;
#   2. one tcpcopy copying an IPv4 route and an IPv6 route at once
#      (-x 80-10.77.2.2:80,80-[fd00:77:2::2]:80 -i any): 30 short and 5 keep-alive x 4
#      requests over each family, sent at the same time, each served exactly once by the
#      target, from the client's address of its family;
#   3. -c 10.77.9.1,[fd00:77:9::1] on such a tcpcopy, this one without -i (an IPv6 route makes
#      tcpcopy capture with -i any by itself): the target sees each family's sessions from that
#      family's rewritten address only, 20 short requests each, all served once;
#   4. throughout: no target packet of either family in the client namespace.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix ipv6_copies)
n=10 short=20 conns=4 per=5
mixed_short=30 mixed_conns=5 mixed_per=4
rewritten4=10.77.9.1 rewritten6=fd00:77:9::1
from_targets="(src host $LAB_TARGET_IP or (ip6 and src host $LAB_TARGET_IP6)) and src port 80"

lab_init
lab_create
lab_add_ipv6
LAB_NGINX_LISTEN6="[$LAB_ONLINE_IP6]:80" lab_nginx_start online
LAB_NGINX_LISTEN6="[$LAB_TARGET_IP6]:80" lab_nginx_start target
for role in online target; do lab_topo_page "$role" n10 v4 v6 c4 c6; done
got=$(lab_http_code client "http://[$LAB_ONLINE_IP6]/n10.html" -g --max-time 5 --interface "$LAB_CLIENT_IP6")
[[ $got == 200 ]] || lab_fail "client -> [online]:80 over IPv6 (the lab)" 200 "$got"
lab_rules_apply target 80 0
lab_capture_start leak client \
    "host $LAB_TARGET_IP or host $LAB_ONLINE_IP or (ip6 and (host $LAB_TARGET_IP6 or host $LAB_ONLINE_IP6))"
lab_intercept_start intercept

# 1. -n 10.
lab_topo_tcpcopy_start online tcpcopy-n10 -x "[$LAB_ONLINE_IP6]:80-[$LAB_TARGET_IP6]:80" -i any -n "$n"
url="http://[$LAB_ONLINE_IP6]/n10.html"
ok=$(lab_topo_requests_close client "$short" "$url" -g --interface "$LAB_CLIENT_IP6")
((ok == short)) || lab_fail "-n $n: 200s online gave to short requests" "$short" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url" -g --interface "$LAB_CLIENT_IP6")
((ok == conns * per)) || lab_fail "-n $n: 200s online gave to keep-alive requests" "$((conns * per))" "$ok"
online_short=$(lab_topo_served online /n10 close)
online_keep=$(lab_topo_served online /n10 keepalive)
want=$((n * (online_short + online_keep)))
got=$(lab_topo_wait_served target "$want" 60 /n10) || true
target_short=$(lab_topo_served target /n10 close)
target_keep=$(lab_topo_served target /n10 keepalive)
lab_log "-n $n over IPv6: short $online_short -> $target_short, keep-alive $online_keep ->" \
    "$target_keep, target connections $(lab_topo_connection_shape target /n10 close)," \
    "$(lab_topo_connection_shape target /n10 keepalive)"
((target_short == n * online_short)) ||
    lab_fail "-n $n: short requests the target served" "$((n * online_short))" "$target_short"
((target_keep == n * online_keep)) ||
    lab_fail "-n $n: keep-alive requests the target served" "$((n * online_keep))" "$target_keep"
shape=$(lab_topo_connection_shape target /n10 close)
[[ $shape == "1x$((n * short))" ]] || lab_fail "-n $n: requests per target connection, short" \
    "1x$((n * short))" "$shape"
shape=$(lab_topo_connection_shape target /n10 keepalive)
[[ $shape == "${per}x$((n * conns))" ]] || lab_fail "-n $n: requests per target connection, keep-alive" \
    "${per}x$((n * conns))" "$shape"
seen=$(lab_topo_addresses target /n10)
[[ $seen == "$LAB_CLIENT_IP6" ]] || lab_fail "-n $n: client addresses the target saw" "$LAB_CLIENT_IP6" "$seen"
lab_topo_expect_idle tcpcopy-n10
lab_topo_expect_stat tcpcopy-n10 port_collisions == 0
lab_topo_expect_stat tcpcopy-n10 sessions_started == "$((n * (short + conns)))"
lab_expect_clean_stop tcpcopy-n10

# 2. Both families in one tcpcopy, at once.
lab_topo_tcpcopy_start online tcpcopy-mixed -x "80-$LAB_TARGET_IP:80,80-[$LAB_TARGET_IP6]:80" -i any
traffic() {
    local page=$1 host=$2 from=$3
    {
        lab_topo_requests_close client "$mixed_short" "http://$host/$page.html" -g --interface "$from"
        lab_topo_requests_keepalive client "$mixed_conns" "$mixed_per" "http://$host/$page.html" \
            -g --interface "$from"
    } >"$LAB_DIR/traffic-$page"
}
traffic v4 "$LAB_ONLINE_IP" "$LAB_CLIENT_IP" &
v4=$!
traffic v6 "[$LAB_ONLINE_IP6]" "$LAB_CLIENT_IP6" &
v6=$!
wait "$v4" "$v6"
report=()
for family in v4 v6; do
    ok=$(awk '{ s += $1 } END { print s + 0 }' "$LAB_DIR/traffic-$family")
    want=$((mixed_short + mixed_conns * mixed_per))
    ((ok == want)) || lab_fail "200s online gave to the $family requests" "$want" "$ok"
    online=$(lab_topo_served online "/$family")
    ((online == want)) || lab_fail "$family requests online logged" "$want" "$online"
    got=$(lab_topo_wait_served target "$online" 30 "/$family") || true
    report+=("$family: online $online, target $got ($(lab_topo_connection_shape target "/$family"))")
done
lab_log "one tcpcopy, both families at once: ${report[*]}"
for family in v4 v6; do
    online=$(lab_topo_served online "/$family")
    target=$(lab_topo_served target "/$family")
    ((target == online)) || lab_fail "$family requests the target served (copies)" "$online" "$target"
    shape=$(lab_topo_connection_shape target "/$family")
    [[ $shape == "$(lab_topo_connection_shape online "/$family")" ]] ||
        lab_fail "$family requests per target connection" \
            "online's $(lab_topo_connection_shape online "/$family")" "$shape"
done
seen=$(lab_topo_addresses target /v4)
[[ $seen == "$LAB_CLIENT_IP" ]] || lab_fail "client addresses of the IPv4 copies" "$LAB_CLIENT_IP" "$seen"
seen=$(lab_topo_addresses target /v6)
[[ $seen == "$LAB_CLIENT_IP6" ]] || lab_fail "client addresses of the IPv6 copies" "$LAB_CLIENT_IP6" "$seen"
lab_topo_expect_idle tcpcopy-mixed
lab_topo_expect_stat tcpcopy-mixed sessions_started == "$((2 * (mixed_short + mixed_conns)))"
lab_expect_clean_stop tcpcopy-mixed

# 3. Rewritten client addresses of both families (the target's default routes lead back to the
# online server, so that the copies are accepted and their answers reach the OUTPUT rule).
lab_topo_tcpcopy_start online tcpcopy-rewrite -x "80-$LAB_TARGET_IP:80,80-[$LAB_TARGET_IP6]:80" \
    -c "$rewritten4,[$rewritten6]"
ok=$(lab_topo_requests_close client 20 "http://$LAB_ONLINE_IP/c4.html" --interface "$LAB_CLIENT_IP")
ok6=$(lab_topo_requests_close client 20 "http://[$LAB_ONLINE_IP6]/c6.html" -g --interface "$LAB_CLIENT_IP6")
((ok == 20 && ok6 == 20)) || lab_fail "200s online gave (IPv4, IPv6) with -c" "20, 20" "$ok, $ok6"
got=$(lab_topo_wait_served target 20 30 /c4) || true
got6=$(lab_topo_wait_served target 20 30 /c6) || true
seen=$(lab_topo_addresses target /c4)
seen6=$(lab_topo_addresses target /c6)
lab_log "-c $rewritten4,[$rewritten6]: IPv4 copies $got from $seen, IPv6 copies $got6 from $seen6"
((got == 20 && got6 == 20)) || lab_fail "requests the target served with -c (IPv4, IPv6)" "20, 20" \
    "$got, $got6"
[[ $seen == "$rewritten4" ]] || lab_fail "client addresses of the IPv4 copies with -c" "$rewritten4" "$seen"
[[ $seen6 == "$rewritten6" ]] || lab_fail "client addresses of the IPv6 copies with -c" "$rewritten6" "$seen6"
lab_topo_expect_idle tcpcopy-rewrite
lab_topo_expect_stat tcpcopy-rewrite sessions_completed == 40
lab_expect_clean_stop tcpcopy-rewrite
lab_expect_clean_stop intercept

# 4. The capture.
lab_capture_stop leak
leaked=$(lab_capture_count leak "$from_targets")
if ((leaked != 0)); then
    lab_capture_show leak "$from_targets"
    lab_fail "target packets (either family) in the client namespace" 0 "$leaked"
fi
for online in "src host $LAB_ONLINE_IP" "ip6 and src host $LAB_ONLINE_IP6"; do
    seen=$(lab_capture_count leak "$online")
    ((seen > 0)) || lab_fail "online server packets seen by the client capture ($online)" ">0" "$seen"
done

lab_log "PASS ipv6_copies: -n $n over IPv6 exact ($target_short short, $target_keep keep-alive)," \
    "${report[*]}, -c rewrote both families, 0 leaked"
