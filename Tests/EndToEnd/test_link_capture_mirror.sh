#!/usr/bin/env bash
# Live capture of the link types a production host sees on a tagged trunk or an ipip tunnel,
# without the vlan and ipip kernel modules this lab's kernel lacks: a mirror port in software
# (Tests/EndToEnd/tools/mirror-port.py, in the online namespace) copies every frame of online's
# client-facing veth, both directions, into a TAP device with an 802.1Q tag, then with QinQ
# tags, and the bare IP packets into a TUN device (DLT_RAW, what tunl0 gives). tcpcopy -i on
# the device copies short and keep-alive requests exactly (the target's access log against
# online's): frames the kernel receives from a TAP or TUN file descriptor are incoming, so the
# inbound-only direction keeps them, and online's answers in the mirror are filtered out. Not
# one target packet reaches the client.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix link_capture_mirror)
short=60
keepalive_connections=6
per_connection=10
total=$((short + keepalive_connections * per_connection))
mirror="$(dirname "${BASH_SOURCE[0]}")/tools/mirror-port.py"

lab_init
lab_require_tools python3
[[ -c /dev/net/tun ]] || lab_die "/dev/net/tun is missing: the mirror needs TAP and TUN devices"
lab_create
online_ns=$(lab_ns online)
ip -n "$online_ns" tuntap add dev mirror-tap mode tap
ip -n "$online_ns" tuntap add dev mirror-tun mode tun
ip -n "$online_ns" link set mirror-tap up
ip -n "$online_ns" link set mirror-tun up
# The TUN device hands the kernel a second copy of each client packet, addressed to online
# itself: strict reverse-path filtering drops it (the client is reached through to-client), after
# the capture has seen it, so online's TCP never sees a duplicate. The TAP copies are addressed
# to to-client's MAC, not the TAP's: the kernel drops them as another host's.
lab_exec online sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.mirror-tun.rp_filter=1
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"

# The requests of an access log (request number on its connection, status, method, URI), sorted.
requests_of() { awk '{ print $4, $5, $7, $8 }' "$1" | sort; }

for kind in vlan qinq raw; do
    device=mirror-tap
    [[ $kind != raw ]] || device=mirror-tun
    lab_daemon_start "mirror-$kind" online python3 "$mirror" to-client "$device" "$kind" 90
    lab_retry 50 0.1 grep -q mirroring "$(lab_daemon_log "mirror-$kind")" ||
        lab_die "the mirror port ($kind) did not start: $(cat "$(lab_daemon_log "mirror-$kind")")"
    name="tcpcopy-$kind"
    lab_tcpcopy_start "$name" -i "$device" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
    log=$(lab_daemon_log "$name")
    online_before=$(lab_nginx_count online)
    target_before=$(lab_nginx_count target)
    ok=$(lab_requests_close "$short")
    ok=$((ok + $(lab_requests_keepalive "$keepalive_connections" "$per_connection")))
    [[ $ok == "$total" ]] || lab_fail "responses from online ($kind)" "$total" "$ok"
    [[ $(($(lab_nginx_count online) - online_before)) == "$total" ]] ||
        lab_fail "requests online served ($kind: no duplicate from the mirror)" "$total" \
            "$(($(lab_nginx_count online) - online_before))"
    target=$(lab_wait_count target "$((target_before + total))" 15) ||
        lab_fail "requests the target served (-i $device, $kind)" "$total within 15 s" "$((target - target_before))"
    sleep 0.5
    target=$(lab_nginx_count target)
    [[ $((target - target_before)) == "$total" ]] ||
        lab_fail "requests the target served (-i $device, $kind)" "$total" "$((target - target_before))"
    expected=$(tail -n "$total" "$(lab_nginx_access_log online)" | requests_of /dev/stdin)
    got=$(tail -n "$total" "$(lab_nginx_access_log target)" | requests_of /dev/stdin)
    [[ $got == "$expected" ]] || lab_fail "the requests copied with -i $device ($kind)" "online's $total" \
        "$(diff <(echo "$expected") <(echo "$got") | head -5)"
    lab_expect_clean_stop "$name"
    lab_daemon_stop "mirror-$kind" 5 || lab_fail "the mirror port ($kind) stopping on SIGTERM" "exit" "killed"
    copied=$(sed -n 's/^copied=//p' "$(lab_daemon_log "mirror-$kind")")
    started=$(lab_stat_int "$log" sessions_started)
    [[ $started == $((short + keepalive_connections)) ]] ||
        lab_fail "sessions started with -i $device ($kind)" "$((short + keepalive_connections))" "$started"
    for counter in capture_not_ip capture_outgoing capture_truncated other_port; do
        [[ $(lab_stat_int "$log" "$counter") == 0 ]] ||
            lab_fail "$counter with -i $device ($kind)" 0 "$(lab_stat_int "$log" "$counter")"
    done
    lab_log "$kind on $device: $total of $total copied, $started sessions, the mirror copied $copied frames"
done

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS link_capture_mirror: 802.1Q, QinQ (TAP) and raw IP (TUN) each copied $total of $total, 0 leaked"
