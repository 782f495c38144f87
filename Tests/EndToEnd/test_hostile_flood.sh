#!/usr/bin/env bash
# 100,000 SYNs from random ports against the online port (a bounded raw-socket loop in the
# client namespace, from an address on the client's link that no host answers for, so that no
# RST ends the sessions early: the worst case for the table): tcpcopy's session table never exceeds --max-sessions (table_full counts the
# rest), its resident memory stays under -m, and real sessions after the flood are copied
# exactly. Then a second tcpcopy with a -m just above its own footprint: the memory cap refuses
# new sessions (memory_full) instead of growing, and once the flood's sessions are over, real
# sessions are copied again in the memory they left.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix hostile_flood)
syns=${FLOOD_SYNS:-100000}
max_sessions=1000
memory_mb=64
# On the client's /24, held by no one: the online server's SYN-ACKs to it go unanswered.
flood_source=10.77.1.50

# flood_and_watch NAME COUNT: floods, sampling NAME's live sessions and RSS every 0.5 s; prints
# "MAX_LIVE PEAK_RSS_KB".
flood_and_watch() {
    local name=$1 count=$2 pid max_live=0 live flood_pid i
    pid=$(lab_daemon_pid "$name")
    safety_py client packets.py flood "$flood_source" "$LAB_ONLINE_IP" 80 "$count" >"$LAB_DIR/flood-$name.out" &
    flood_pid=$!
    for ((i = 0; i < 600; i++)); do
        safety_stats "$name"
        live=$(safety_stat "$name" sessions_live)
        ((live > max_live)) && max_live=$live
        kill -0 "$flood_pid" 2>/dev/null || break
        sleep 0.5
    done
    wait "$flood_pid" || lab_fail "the SYN flood" "sent" "$(cat "$LAB_DIR/flood-$name.out")"
    lab_log "$(cat "$LAB_DIR/flood-$name.out")"
    echo "$max_live $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")"
}

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 --max-sessions "$max_sessions" \
    -m "$memory_mb" -t 5
safety_expect_fresh_copies 20 "before the flood"
safety_stats tcpcopy
base_kb=$(safety_stat tcpcopy rss_kb)

# Run in this shell (not a subshell), so that a failure inside ends the test.
flood_and_watch tcpcopy "$syns" >"$LAB_DIR/watch.out"
read -r max_live peak_kb <"$LAB_DIR/watch.out"
safety_wait_idle tcpcopy 30
table_full=$(safety_stat tcpcopy table_full)
lab_log "flood of $syns SYNs: live sessions at most $max_live (cap $max_sessions), table_full=$table_full, peak RSS $((peak_kb / 1024)) MiB (cap $memory_mb MiB), started=$(safety_stat tcpcopy sessions_started), captured=$(safety_stat tcpcopy captured), capture_dropped=$(safety_stat tcpcopy capture_dropped)"
((max_live <= max_sessions)) || lab_fail "live sessions during the flood" "<= $max_sessions" "$max_live"
((table_full > 0)) || lab_fail "table_full during the flood" ">0" "$table_full"
((peak_kb < memory_mb * 1024)) || lab_fail "tcpcopy's peak RSS" "< $memory_mb MiB" "$((peak_kb / 1024)) MiB"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy after the flood" "alive" "exited"
safety_expect_fresh_copies 50 "after the flood"
lab_expect_clean_stop tcpcopy

# The memory cap itself: 3 MiB above what tcpcopy needed idle before the flood, no session
# limit to speak of.
cap_mb=$(((base_kb + 1023) / 1024 + 3))
((cap_mb >= 16)) || cap_mb=16
lab_tcpcopy_start tcpcopy-m "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 --max-sessions 65536 -m "$cap_mb" -t 3
flood_and_watch tcpcopy-m $((syns / 2)) >"$LAB_DIR/watch.out"
read -r max_live peak_kb <"$LAB_DIR/watch.out"
refused=$(safety_stat tcpcopy-m memory_full)
lab_log "flood of $((syns / 2)) SYNs under -m $cap_mb: memory_full=$refused, live at most $max_live, peak RSS $((peak_kb / 1024)) MiB"
((refused > 0)) || lab_fail "sessions refused for memory (memory_full)" ">0" "$refused"
# Checked every 100 ms and every 128 SYNs; what can still overshoot is one growth of the session
# table, which doubles at once: the sessions' memory at most doubles past the cap.
((peak_kb < 2 * cap_mb * 1024)) || lab_fail "peak RSS under -m $cap_mb (+ one table growth)" "< $((2 * cap_mb)) MiB" "$((peak_kb / 1024)) MiB"
safety_wait_idle tcpcopy-m 30
lab_log "after the flood: resident $(safety_stat tcpcopy-m rss_kb) KiB, memory session limit $(safety_stat tcpcopy-m memory_session_limit)"
refused_before=$(safety_stat tcpcopy-m memory_full)
sleep 0.3
safety_expect_fresh_copies 30 "after the memory-capped flood"
safety_stats tcpcopy-m
refused_after=$(safety_stat tcpcopy-m memory_full)
((refused_after == refused_before)) ||
    lab_fail "real sessions refused for memory after the flood ended" 0 "$((refused_after - refused_before))"
lab_expect_clean_stop tcpcopy-m
lab_expect_clean_stop intercept
lab_log "PASS hostile_flood"
