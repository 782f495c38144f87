#!/usr/bin/env bash
# Issue 24, the pair over IPv6 (fd00::/8 only; nginx listening on [addr]:80 on both servers):
#   1. the allow-list: --allow [fd00:77:1::3] gets its answer from the target, the client's
#      own direct request gets nothing;
#   2. 100 short (Connection: close) and 20 keep-alive x 5 requests to [fd00:77:1::1]:80,
#      copied with -x [fd00:77:1::1]:80-[fd00:77:2::2]:80 -i any: the target's access log
#      holds each exactly once, from the client's own IPv6 address, 20 connections of 5;
#   3. fail-closed: intercept SIGKILLed with the ip6tables rule in place: the port is dark for
#      the client and the admin address, copied traffic leaks nothing, online keeps serving;
#   4. throughout: not one target packet (ip6, source port 80) reaches the client's address,
#      none at all after intercept died, while the capture saw the online server's.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix ipv6_copy)
short=100 conns=20 per=5
online_url="http://[$LAB_ONLINE_IP6]/"
target_url="http://[$LAB_TARGET_IP6]/"
from_target="ip6 and src host $LAB_TARGET_IP6 and src port 80"

# code FROM URL [CURL_ARGS...]: the HTTP status FROM (a client namespace address) gets.
code() {
    local from=$1 url=$2
    shift 2
    lab_http_code client "$url" -g --interface "$from" "$@"
}

# expect_dark WHEN: direct IPv6 requests from the client and the admin address get nothing.
expect_dark() {
    local when=$1 from got
    for from in "$LAB_CLIENT_IP6" "$LAB_ADMIN_IP6"; do
        got=$(code "$from" "$target_url" --max-time 3)
        [[ $got == 000 ]] || lab_fail "[$from] -> [target]:80 $when" "no response (000)" "$got"
    done
}

lab_init
lab_create
lab_add_ipv6
LAB_NGINX_LISTEN6="[$LAB_ONLINE_IP6]:80" lab_nginx_start online
LAB_NGINX_LISTEN6="[$LAB_TARGET_IP6]:80" lab_nginx_start target

# The lab itself over IPv6, before any rule: the online and the target server answer.
got=$(code "$LAB_CLIENT_IP6" "$online_url" --max-time 5)
[[ $got == 200 ]] || lab_fail "client -> [online]:80 over IPv6 (the lab)" 200 "$got"
got=$(code "$LAB_CLIENT_IP6" "$target_url" --max-time 5)
[[ $got == 200 ]] || lab_fail "client -> [target]:80 over IPv6 with no rule (the lab)" 200 "$got"
: >"$(lab_nginx_access_log online)"
: >"$(lab_nginx_access_log target)"

lab_rules_apply target 80 0
lab_capture_start leak client "ip6 and (host $LAB_TARGET_IP6 or host $LAB_ONLINE_IP6)"
expect_dark "with the rule and no intercept"

# 1. The allow-list.
lab_intercept_start intercept --allow "[$LAB_ADMIN_IP6]"
got=$(code "$LAB_ADMIN_IP6" "$target_url" --max-time 5)
[[ $got == 200 ]] || lab_fail "allow-listed [$LAB_ADMIN_IP6] -> [target]:80" 200 "$got"
got=$(code "$LAB_CLIENT_IP6" "$target_url" --max-time 3)
[[ $got == 000 ]] || lab_fail "unlisted [$LAB_CLIENT_IP6] -> [target]:80" "no response (000)" "$got"

# 2. Short and keep-alive copies.
lab_topo_tcpcopy_start online tcpcopy -x "[$LAB_ONLINE_IP6]:80-[$LAB_TARGET_IP6]:80" -i any
ok=$(lab_topo_requests_close client "$short" "$online_url" -g --interface "$LAB_CLIENT_IP6")
((ok == short)) || lab_fail "200s online gave to short requests over IPv6" "$short" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$online_url" -g --interface "$LAB_CLIENT_IP6")
((ok == conns * per)) || lab_fail "200s online gave to keep-alive requests over IPv6" \
    "$((conns * per))" "$ok"
online_short=$(lab_topo_served online / close)
online_keep=$(lab_topo_served online / keepalive)
((online_short == short && online_keep == conns * per)) ||
    lab_fail "requests online logged (short, keep-alive)" "$short, $((conns * per))" \
        "$online_short, $online_keep"
got=$(lab_topo_wait_served target "$((short + conns * per))" 20 "/?") || true
target_short=$(lab_topo_served target / close)
target_keep=$(lab_topo_served target / keepalive)
lab_log "copied over IPv6: short $online_short -> $target_short, keep-alive $online_keep ->" \
    "$target_keep (target connections: $(lab_topo_connection_shape target / keepalive))"
((target_short == short)) || lab_fail "short requests the target served (copies)" "$short" "$target_short"
((target_keep == conns * per)) ||
    lab_fail "keep-alive requests the target served (copies)" "$((conns * per))" "$target_keep"
shape=$(lab_topo_connection_shape target / keepalive)
[[ $shape == "${per}x$conns" ]] || lab_fail "requests per target connection, keep-alive" \
    "${per}x$conns" "$shape"
seen=$(lab_topo_addresses target /?)
[[ $seen == "$LAB_CLIENT_IP6" ]] || lab_fail "client addresses in the target's log of the copies" \
    "$LAB_CLIENT_IP6" "$seen"
lab_topo_expect_idle tcpcopy
lab_topo_expect_stat tcpcopy sessions_started == "$((short + conns))"
lab_topo_stats_now intercept
lab_topo_expect_stat intercept forwarded '>' 0

# 3. Fail-closed: intercept crashes.
answered_before_kill=$(lab_capture_count leak "$from_target")
lab_daemon_kill intercept
queue_released() { ! lab_queue_bound target 0; }
lab_retry 50 0.1 queue_released ||
    lab_fail "NFQUEUE 0 after intercept was killed" "unbound within 5 s" "still bound"
expect_dark "after intercept was killed"
ok=$(lab_topo_requests_close client 30 "$online_url" -g --interface "$LAB_CLIENT_IP6")
((ok == 30)) || lab_fail "online's answers over IPv6 while intercept is down" 30 "$ok"
sleep 2
if lab_daemon_alive tcpcopy; then
    lab_daemon_stop tcpcopy || lab_log "tcpcopy needed SIGKILL (tolerated here)"
else
    lab_log "tcpcopy exited after intercept died (tolerated)"
fi
expect_dark "after the copied traffic"

# 4. The capture.
lab_capture_stop leak
to_client=$(lab_capture_count leak "$from_target and dst host $LAB_CLIENT_IP6")
if ((to_client != 0)); then
    lab_capture_show leak "$from_target and dst host $LAB_CLIENT_IP6"
    lab_fail "target packets to the client's $LAB_CLIENT_IP6 in the client namespace" 0 "$to_client"
fi
total=$(lab_capture_count leak "$from_target")
if ((total != answered_before_kill)); then
    lab_capture_show leak "$from_target" 40
    lab_fail "target packets in the client namespace after intercept was killed" 0 \
        "$((total - answered_before_kill))"
fi
((answered_before_kill > 0)) || lab_fail "target packets to the allow-listed $LAB_ADMIN_IP6" ">0" \
    "$answered_before_kill"
seen=$(lab_capture_count leak "ip6 and src host $LAB_ONLINE_IP6")
((seen > 0)) || lab_fail "online server packets seen by the client capture (the control)" ">0" "$seen"

lab_log "PASS ipv6_copy: short $target_short of $short, keep-alive $target_keep of" \
    "$((conns * per)) on $conns connections, $answered_before_kill packets to the admin" \
    "address, 0 to the client, 0 after intercept died"
