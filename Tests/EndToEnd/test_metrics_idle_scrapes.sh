#!/usr/bin/env bash
# The metrics endpoint under idle connections (issue 27, item 6): 16 connections that never
# send a request hold every scrape slot; a real scrape right after is answered within 2 s, on
# both daemons (13f11b9: the 17th connection was closed unanswered, and the idle ones were only
# reaped after 10 s, and only when another scrape woke the endpoint).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix metrics_idle_scrapes)
tm=127.0.0.1:9100
im=127.0.0.1:9101

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept --metrics-listen "$im"
lab_tcpcopy_start tcpcopy --metrics-listen "$tm" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
safety_expect_fresh_copies 5 "before the idle connections"

# idle ROLE HOST PORT: 16 connections that send nothing, held 8 s, in the background.
idle() {
    lab_exec "$1" python3 -c '
import socket, sys, time
socks = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) for _ in range(16)]
print("idle: 16 open", flush=True)
time.sleep(8)
' "$2" "$3" >"$LAB_DIR/idle-$1.out" 2>&1 &
    idlers+=($!)
}
idlers=()
for pair in "target $im intercept" "online $tm tcpcopy"; do
    read -r role address name <<<"$pair"
    idle "$role" "${address%:*}" "${address#*:}"
    lab_retry 50 0.1 grep -q "16 open" "$LAB_DIR/idle-$role.out" || lab_fail "16 idle connections to $name" "open" "$(cat "$LAB_DIR/idle-$role.out")"
    start=$(date +%s%N)
    text=$(lab_exec "$role" curl -sS --max-time 2 "http://$address/metrics" || true)
    took=$((($(date +%s%N) - start) / 1000000))
    value=$(lab_metric "$text" "${name}_connections_open")
    [[ $name == tcpcopy ]] && value=$(lab_metric "$text" tcpcopy_sessions_live)
    lab_log "$name: scrape with 16 idle connections answered in $took ms"
    ((value >= 0)) || lab_fail "$name's scrape with 16 idle connections" "answered within 2 s" "no answer after $took ms"
done
wait "${idlers[@]}" || true
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS metrics_idle_scrapes: both endpoints answered a scrape behind 16 idle connections within 2 s"
