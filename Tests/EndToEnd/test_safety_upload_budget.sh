#!/usr/bin/env bash
# 300 concurrent 4 MB POSTs copied to a target whose server accepts and never reads: each copy
# would queue nearly all of its 4 MB in tcpcopy (the target's window closes after its receive
# buffer fills), 1.2 GB in all. With one byte budget for every session's queued and in-flight
# data (a quarter of -m, BufferBudget), tcpcopy -m 128 stays under 128 MiB resident, sheds the
# sessions over it (sessions_over_budget, not started again from their next segment), and every
# online request succeeds.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix safety_upload_budget)
posts=${UPLOAD_POSTS:-300}
size=$((4 << 20))
memory_mb=128
port=8080

lab_init
lab_create
lab_daemon_start online-server online python3 -u "$SAFETY_DIR/uploads.py" serve "$port" 100
lab_daemon_start target-sink target python3 -u "$SAFETY_DIR/uploads.py" sink "$port" 100
lab_wait_port online "$port" 10 || lab_die "the online server did not listen on $port"
lab_wait_port target "$port" 10 || lab_die "the target's sink did not listen on $port"
lab_rules_apply target "$port" 0
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" "$port" "$LAB_TARGET_IP" "$port" -m "$memory_mb"
pid=$(lab_daemon_pid tcpcopy)

lab_exec client timeout -k 5 90 python3 -u "$SAFETY_DIR/uploads.py" post "$LAB_ONLINE_IP" "$port" \
    "$posts" "$size" >"$LAB_DIR/posts.out" 2>"$LAB_DIR/posts.err" ||
    lab_fail "the uploads" "finished" "$(tail -n 3 "$LAB_DIR/posts.err")"
lab_log "$(cat "$LAB_DIR/posts.out")"
ok=$(sed -n 's/^posts ok=\([0-9]*\) .*/\1/p' "$LAB_DIR/posts.out")
sleep 2
safety_stats tcpcopy
peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
shed=$(safety_stat tcpcopy sessions_over_budget)
lab_log "$posts POSTs of $size bytes to a target that never reads: online answered $ok," \
    "tcpcopy peak RSS $((peak_kb / 1024)) MiB (cap $memory_mb MiB), sessions_over_budget=$shed," \
    "buffered_kb=$(safety_stat tcpcopy buffered_kb) sessions_live=$(safety_stat tcpcopy sessions_live)" \
    "sessions_synthesized=$(safety_stat tcpcopy sessions_synthesized) no_session=$(safety_stat tcpcopy no_session)"
((ok == posts)) || lab_fail "online requests that succeeded" "$posts" "$ok"
((peak_kb < memory_mb * 1024)) || lab_fail "tcpcopy's peak RSS" "< $memory_mb MiB" "$((peak_kb / 1024)) MiB"
# A quarter of -m (BufferBudget), read after the uploads: the tick has shed what was over it.
buffered_kb=$(safety_stat tcpcopy buffered_kb)
((buffered_kb <= memory_mb * 256)) || lab_fail "client bytes held by all sessions (buffered_kb)" \
    "<= $((memory_mb * 256)) KiB" "$buffered_kb KiB"
((shed > 0)) || lab_fail "sessions shed over the byte budget (sessions_over_budget)" ">0" "$shed"
# One start per connection: from its SYN, or synthesized from its data when the capture lost the
# SYN. A shed connection's next segment must not start it again (each would grow and be shed
# again, once per segment burst): then the starts would exceed the connections by the sheds.
starts=$(($(safety_stat tcpcopy sessions_started) - $(safety_stat tcpcopy sessions_reopened) +
    $(safety_stat tcpcopy memory_full) + $(safety_stat tcpcopy table_full)))
lab_log "sessions started or refused for new connections: $starts (connections: $posts)"
((starts <= posts)) || lab_fail "sessions started or refused for new connections" "<= $posts" "$starts"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS safety_upload_budget"
