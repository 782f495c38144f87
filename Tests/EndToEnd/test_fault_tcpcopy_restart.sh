#!/usr/bin/env bash
# tcpcopy killed with SIGKILL under load, then restarted: the online service is unaffected (every
# client request gets its 200), the target's sockets of the sessions cut short are released by
# timeouts (none left but TIME_WAIT), nothing leaks to the client, and copying resumes.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix fault_tcpcopy_restart)

# target_sockets: the target's port-80 sockets towards the client address, but TIME_WAIT (which
# the kernel ends by itself), one "state" per line.
target_sockets() {
    lab_exec target ss -Htan "sport = :80" | awk -v c="$LAB_CLIENT_IP" '$1 != "TIME-WAIT" && index($5, c ":") == 1 { print $1 }'
}

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
# Short server-side timeouts on the target, as a test server would use to shed dead clients:
# a session cut short before its request is closed by nginx after 5 s, the orphaned FIN is
# retried once, and so is the SYN-ACK of a handshake the kill cut short (its SYN-RECV socket
# then goes after 3 s), so the test need not wait out the defaults (60 s, 63 s, and minutes).
sed -i 's/^http {/http {\n    client_header_timeout 5s;\n    client_body_timeout 5s;\n    send_timeout 5s;/; s/keepalive_timeout 65s;/keepalive_timeout 5s;/' \
    "$LAB_DIR/nginx-target/nginx.conf"
kill -HUP "$(cat "$LAB_DIR/run/nginx-target.pid")"
lab_exec target sysctl -qw net.ipv4.tcp_orphan_retries=1 net.ipv4.tcp_fin_timeout=5 net.ipv4.tcp_synack_retries=1
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

# Five keep-alive connections that stay open after their first request: their copies are idle
# ESTABLISHED sockets at the target when tcpcopy dies.
lab_exec client bash -c 'for i in 1 2 3 4 5; do
        exec {fd}<>"/dev/tcp/'"$LAB_ONLINE_IP"'/80"
        printf "GET /?held=%s HTTP/1.1\r\nHost: lab\r\n\r\n" "$i" >&"$fd"
    done
    sleep 30' >/dev/null 2>&1 &
held_pid=$!
lab_retry 50 0.1 bash -c '[[ $(wc -l <"$1") -ge 5 ]]' _ "$(lab_nginx_access_log target)" ||
    lab_fail "copies of the five held connections" "5 within 5 s" "$(lab_nginx_count target)"
safety_traffic_start 10
sleep 2
lab_daemon_kill tcpcopy
held=$(target_sockets | wc -l)
lab_log "target sockets of copied sessions right after the kill (not TIME_WAIT): $held"
((held >= 5)) || lab_fail "target sockets held by the cut-short copies" ">= 5" "$held"
sleep 3
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers while tcpcopy died" "$sent" "$ok"
safety_wait_log intercept "tcpcopy disconnected" 10

# Released by the target's own timeouts.
released() { [[ -z $(target_sockets) ]]; }
if ! lab_retry 300 0.1 released; then
    lab_exec target ss -tan "sport = :80" >&2
    lab_fail "target sockets towards the client after the kill" "all released within 30 s" \
        "$(target_sockets | sort | uniq -c | tr '\n' ' ')"
fi
lab_log "target sockets released (were $held)"

kill "$held_pid" 2>/dev/null || true
lab_tcpcopy_start tcpcopy2 "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
safety_expect_fresh_copies 50 "after tcpcopy was restarted"
lab_expect_clean_stop tcpcopy2
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS fault_tcpcopy_restart: $ok/$sent online answers during the crash, $held target sockets released, 0 leaked"
