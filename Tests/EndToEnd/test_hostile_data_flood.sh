#!/usr/bin/env bash
# 200,000 spoofed data segments (ACK + 1 byte) from random addresses and ports against the online
# port: connections nobody saw open, each of which tcpcopy could take for one opened before it
# started and synthesize a session for. -m 64 must bound them as it bounds SYNs: tcpcopy's peak
# resident memory stays under 64 MiB, its table under --max-sessions (synthesized sessions get
# half of each, SessionAdmission), and real sessions after the flood are still copied byte-exact.
# The target drops the flood's addresses (as a target on another network would never see them),
# so that its recording server only holds the real sessions: the flood's sessions then stay in
# tcpcopy's table retransmitting their SYNs, the worst case for its memory.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
segments=${FLOOD_SEGMENTS:-200000}
max_sessions=65536
memory_mb=64
flood_net=10.100

fid_setup hostile_data_flood
fid_server_start online
fid_server_start target
lab_exec target "$(lab_iptables)" -I INPUT -s "$flood_net.0.0/16" -j DROP
fid_pair_start --max-sessions "$max_sessions" -m "$memory_mb"
fid_client post --sizes 1024,65536

pid=$(lab_daemon_pid tcpcopy)
safety_py client packets.py dataflood "$flood_net" "$LAB_ONLINE_IP" "$FID_PORT" "$segments" \
    >"$LAB_DIR/flood.out" &
flood_pid=$!
max_live=0
for ((i = 0; i < 600; i++)); do
    safety_stats tcpcopy
    live=$(safety_stat tcpcopy sessions_live)
    ((live > max_live)) && max_live=$live
    kill -0 "$flood_pid" 2>/dev/null || break
    sleep 0.5
done
wait "$flood_pid" || lab_fail "the data flood" "sent" "$(cat "$LAB_DIR/flood.out")"
lab_log "$(cat "$LAB_DIR/flood.out")"
sleep 1
safety_stats tcpcopy
live=$(safety_stat tcpcopy sessions_live)
((live > max_live)) && max_live=$live
peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
lab_log "flood of $segments data segments: live sessions at most $max_live (cap $max_sessions)," \
    "synthesized=$(safety_stat tcpcopy sessions_synthesized) memory_full=$(safety_stat tcpcopy memory_full)" \
    "table_full=$(safety_stat tcpcopy table_full) no_session=$(safety_stat tcpcopy no_session)" \
    "captured=$(safety_stat tcpcopy captured) capture_dropped=$(safety_stat tcpcopy capture_dropped)," \
    "peak RSS $((peak_kb / 1024)) MiB (cap $memory_mb MiB)"
((max_live <= max_sessions)) || lab_fail "live sessions during the flood" "<= $max_sessions" "$max_live"
refused=$(($(safety_stat tcpcopy memory_full) + $(safety_stat tcpcopy table_full)))
((refused > 0)) || lab_fail "flood sessions refused (memory_full + table_full)" ">0" "$refused"
((peak_kb < memory_mb * 1024)) || lab_fail "tcpcopy's peak RSS" "< $memory_mb MiB" "$((peak_kb / 1024)) MiB"

# Real sessions after the flood, while its sessions still fill half the table.
fid_client post --sizes 1024,65536,1048576
fid_client keepalive --conns 4 --requests 20
peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
((peak_kb < memory_mb * 1024)) || lab_fail "tcpcopy's peak RSS after the real sessions" "< $memory_mb MiB" \
    "$((peak_kb / 1024)) MiB"
fid_finish
