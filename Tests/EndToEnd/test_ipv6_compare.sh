#!/usr/bin/env bash
# Issue 24: tcpcopy --compare over IPv6 (fd00::/8 only), live and offline. compare_server.py on
# [::]:80 on both servers answers /same alike, /status with 500 for 200 and /length with a
# longer body on the target; 20 requests to each on one keep-alive connection from
# [fd00:77:1::2], copied with -x [fd00:77:1::1]:80-[fd00:77:2::2]:80 -i any --compare: 60
# exchanges, 20 the same, 20 first line differs, 20 length differs, none silent or reset.
# The same traffic recorded with tcpdump on the online server (Linux cooked, IPv6) and
# replayed with --offline --compare gives the same counts.
set -euo pipefail
LAB_FAMILY=6
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

per_path=20
fid_setup ipv6_compare
server="$FID_SERVERS_DIR/compare_server.py"
for role in online target; do
    lab_daemon_start "server-$role" "$role" "$(fid_python)" -u "$server" server --role "$role" --port 80 --bind ::
    _lab_wait_daemon "server-$role" 10 _lab_listening "$role" 80 || lab_die "compare_server in $role did not listen"
done
recording="$LAB_DIR/online.pcap"
# Whole packets (lab_capture_start keeps headers only), without the copies to the target.
: >"$LAB_DIR/capture-recording.err"
ip netns exec "$(lab_ns online)" tcpdump -i any -n --immediate-mode -U -Z root -s 0 -B 16384 -w "$recording" \
    "ip6 and tcp port 80 and not host $LAB_TARGET_IP6" >"$LAB_DIR/capture-recording.err" 2>&1 </dev/null &
echo $! >"$LAB_DIR/run/capture-recording.pid"
lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-recording.err" || lab_die "tcpdump did not start"

lab_rules_apply target 80 0
lab_intercept_start intercept --allow "[$LAB_ADMIN_IP6]" --compare
lab_tcpcopy_start tcpcopy -x "[$LAB_ONLINE_IP6]:80-[$LAB_TARGET_IP6]:80" -i any --compare \
    --compare-log "$LAB_DIR/compare.jsonl" --compare-log-all
sleep 0.5
for path in /same /status /length; do
    got=$(lab_exec client timeout -k 5 60 "$(fid_python)" -u "$server" client --host "$LAB_ONLINE_IP6" \
        --path "$path" --count "$per_path")
    [[ $got == "$per_path" ]] || lab_fail "answers from [online] to $path" "$per_path" "$got"
done
sleep 2
lab_capture_stop recording
lab_expect_clean_stop tcpcopy

check_counts() {
    local what=$1 file=$2 pair name want got
    for pair in compare_exchanges:$((3 * per_path)) compare_same:"$per_path" \
        compare_first_line_differs:"$per_path" compare_length_differs:"$per_path" compare_bytes_differ:0 \
        compare_target_silent:0 compare_target_reset:0; do
        name=${pair%%:*} want=${pair#*:}
        got=$(lab_stat_int "$file" "$name")
        [[ $got == "$want" ]] || lab_fail "$what $name" "$want" "$got"
    done
    lab_log "$what: $(lab_stats_line "$file" | tr ' ' '\n' | grep '^compare_' | tr '\n' ' ')"
}
check_counts live "$(lab_daemon_log tcpcopy)"
logged=$(grep -c '"online_first_line"' "$LAB_DIR/compare.jsonl" || true)
((logged == 3 * per_path)) || lab_fail "exchanges in the compare log" "$((3 * per_path))" "$logged"

# The recording, replayed.
lab_daemon_start replay online "$(lab_bin tcpcopy)" -x "[$LAB_ONLINE_IP6]:80-[$LAB_TARGET_IP6]:80" \
    --offline "$recording" --compare
for ((i = 0; i < 300; i++)); do
    lab_daemon_alive replay || break
    sleep 0.1
done
lab_daemon_alive replay && lab_fail "the offline replay of the IPv6 recording" "done within 30 s" "still running"
check_counts offline "$(lab_daemon_log replay)"

lab_expect_clean_stop intercept
lab_log "PASS ipv6_compare: live and offline, $((3 * per_path)) exchanges compared over IPv6"
