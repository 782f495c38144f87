#!/usr/bin/env bash
# Live link-layer capture: tcpcopy -i on the online server's client-facing veth (Ethernet), then
# -i any (Linux cooked), each copying short and keep-alive requests exactly (the target's access
# log against online's), with tcpcopy's own outgoing copies never captured again, the default
# filter shown at start, and not one target packet reaching the client.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix link_capture)
short=100
keepalive_connections=10
per_connection=10
total=$((short + keepalive_connections * per_connection))

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"

# The requests of an access log (request number on its connection, status, method, URI), sorted.
requests_of() { awk '{ print $4, $5, $7, $8 }' "$1" | sort; }

round=0
for iface in to-client any; do
    round=$((round + 1))
    name="tcpcopy-$round"
    lab_tcpcopy_start "$name" -i "$iface" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
    grep -q "filter=tcp and ((dst host $LAB_ONLINE_IP and dst port 80))" "$(lab_daemon_log "$name")" ||
        lab_fail "the default filter in the log of -i $iface" "shown at start" "$(head -n 5 "$(lab_daemon_log "$name")")"
    online_before=$(lab_nginx_count online)
    target_before=$(lab_nginx_count target)
    ok=$(lab_requests_close "$short")
    ok=$((ok + $(lab_requests_keepalive "$keepalive_connections" "$per_connection")))
    [[ $ok == "$total" ]] || lab_fail "responses from online (-i $iface)" "$total" "$ok"
    want=$((target_before + total))
    target=$(lab_wait_count target "$want" 15) ||
        lab_fail "requests the target served (-i $iface)" "$total within 15 s" "$((target - target_before))"
    sleep 0.5
    target=$(lab_nginx_count target)
    [[ $((target - target_before)) == "$total" ]] ||
        lab_fail "requests the target served (-i $iface)" "$total" "$((target - target_before))"
    expected=$(tail -n "$total" "$(lab_nginx_access_log online)" | requests_of /dev/stdin)
    got=$(tail -n "$total" "$(lab_nginx_access_log target)" | requests_of /dev/stdin)
    [[ $got == "$expected" ]] || lab_fail "the requests copied with -i $iface" "online's $total" \
        "$(diff <(echo "$expected") <(echo "$got") | head -5)"
    lab_expect_clean_stop "$name"
    log=$(lab_daemon_log "$name")
    # Every packet handed on was a client's: none of tcpcopy's own copies came back.
    started=$(lab_stat_int "$log" sessions_started)
    [[ $started == $((short + keepalive_connections)) ]] ||
        lab_fail "sessions started with -i $iface" "$((short + keepalive_connections))" "$started"
    [[ $(lab_stat_int "$log" other_port) == 0 ]] ||
        lab_fail "packets for other ports with -i $iface" 0 "$(lab_stat_int "$log" other_port)"
    [[ $(lab_stat_int "$log" capture_dropped) == 0 ]] ||
        lab_log "warning: -i $iface: $(lab_stat_int "$log" capture_dropped) packets dropped by the kernel"
done

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS link_capture: -i to-client and -i any each copied $total of $total requests, 0 leaked"
