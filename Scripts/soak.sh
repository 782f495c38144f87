#!/usr/bin/env bash
# soak.sh: mixed traffic through the pair for a long while (10 minutes by default), to show that
# the session table and memory stay bounded. Not part of the test suite (too long for CI).
#   Scripts/soak.sh [--seconds N] [--debug]
# Every 30 s it samples the daemons' resident memory and live sessions; at the end it prints
# the samples, RSS at start and end, and what online and target served.
set -euo pipefail
seconds=600
config=release
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --debug) config=debug; shift ;;
        -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown option $1 (try --help)" >&2; exit 64 ;;
    esac
done
((seconds >= 30 && seconds <= 7200)) || { echo "soak.sh: --seconds must be 30..7200" >&2; exit 64; }

source "$(dirname "${BASH_SOURCE[0]}")/lab-lib.sh"
LAB_PREFIX=soak-
lab_require_root
lab_init
# LAB_BIN_DIR set: use those binaries; otherwise build them.
[[ -n ${LAB_BIN_DIR:-} ]] || lab_build "$config"
export LAB_BIN_DIR
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept
# Short session and keep-alive timeouts, so that idle keep-alive copies come and go as well.
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -t 30 -k 10 --stats-interval 30

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$(lab_daemon_pid "$1")/status"; }
live() { lab_stat_int "$(lab_daemon_log tcpcopy)" sessions_live; }

# One request on a keep-alive connection, then 12 s of silence (past tcpcopy's -k 10).
idle_client='
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
s.recv(65536)
time.sleep(12)
s.close()
'
samples="$LAB_DIR/soak-samples"
printf '%8s %14s %14s %14s\n' seconds tcpcopy_rss_kb intercept_rss_kb sessions_live >"$samples"
start=$SECONDS
next_sample=0
rounds=0
idle_pids=()
while ((SECONDS - start < seconds)); do
    if ((SECONDS - start >= next_sample)); then
        printf '%8d %14s %14s %14s\n' $((SECONDS - start)) "$(rss tcpcopy)" "$(rss intercept)" "$(live)" >>"$samples"
        next_sample=$((next_sample + 30))
    fi
    # A mix: short connections, keep-alive connections, and connections left idle past -k.
    lab_requests_close 20 >/dev/null
    lab_requests_keepalive 4 5 >/dev/null
    lab_exec client timeout 15 python3 -c "$idle_client" "$LAB_ONLINE_IP" &
    idle_pids+=($!)
    rounds=$((rounds + 1))
    sleep 0.5
done
# Only the curls: the daemons and servers are background jobs of this shell too.
for pid in "${idle_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
printf '%8d %14s %14s %14s\n' $((SECONDS - start)) "$(rss tcpcopy)" "$(rss intercept)" "$(live)" >>"$samples"
sleep 12  # let the last keep-alive copies time out
online=$(lab_nginx_count online)
target=$(lab_wait_count target "$online" 20) || true
lab_daemon_stop tcpcopy
lab_daemon_stop intercept

echo "==== soak: ${seconds}s of mixed traffic, $rounds rounds ===="
cat "$samples"
first=$(awk 'NR == 2 { print $2 }' "$samples")
last=$(awk 'END { print $2 }' "$samples")
echo "tcpcopy RSS: start ${first} kB, end ${last} kB"
echo "online served $online, target served $target"
echo "tcpcopy $(lab_stats_line "$(lab_daemon_log tcpcopy)")"
