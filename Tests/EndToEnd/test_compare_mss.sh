#!/usr/bin/env bash
# tcpcopy --compare when the two sides cut their answers differently: the target's path MTU is
# 576 (its segments carry 536 bytes), production's 1500. 16 KiB answers that are alike are
# the same (the digest is of the byte stream, joined from intercept's per-segment CRCs), and a
# length difference is still seen.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

per_path=20
fid_setup compare_mss
server="$FID_SERVERS_DIR/compare_server.py"
for role in online target; do
    lab_daemon_start "server-$role" "$role" "$(fid_python)" -u "$server" server --role "$role" --port 80
    _lab_wait_daemon "server-$role" 10 _lab_listening "$role" 80 || lab_die "compare_server in $role did not listen"
done
lab_exec target ip route replace default via 10.77.2.1 mtu lock 576
lab_rules_apply target 80 0
lab_intercept_start intercept "$LAB_ADMIN_IP" --compare
lab_tcpcopy_start tcpcopy -x "$LAB_ONLINE_IP:80-$LAB_TARGET_IP:80" --compare --compare-log "$LAB_DIR/compare.jsonl"
sleep 0.5
for path in /big /length; do
    got=$(lab_exec client timeout -k 5 90 "$(fid_python)" -u "$server" client --host "$LAB_ONLINE_IP" \
        --path "$path" --count "$per_path")
    [[ $got == "$per_path" ]] || lab_fail "answers from online to $path" "$per_path" "$got"
done
sleep 3
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
tlog=$(lab_daemon_log tcpcopy)
ilog=$(lab_daemon_log intercept)
pieces=$(lab_stat_int "$ilog" answer_pieces)
# Each answer in several pieces (GSO packets of the target, as the queue gives them whole).
((pieces > per_path * 2)) || lab_fail "answer pieces (the target's packets)" "> $((per_path * 2))" "$pieces"
for pair in compare_exchanges:$((2 * per_path)) compare_same:"$per_path" compare_length_differs:"$per_path" \
    compare_first_line_differs:0 compare_bytes_differ:0 compare_target_silent:0 compare_target_reset:0; do
    name=${pair%%:*} want=${pair#*:}
    got=$(lab_stat_int "$tlog" "$name")
    [[ $got == "$want" ]] || lab_fail "$name with another MSS on the target" "$want" "$got"
done
lab_log "PASS compare_mss: $per_path 16 KiB answers the same from $pieces pieces; $per_path length differences"
