#!/usr/bin/env bash
# tcpcopy --compare with 1% of the packets lost on every leg (iptables statistic rules inside
# the namespaces): client -> online, online -> client, tcpcopy's copies -> target, target's
# answers before intercept's queue. Retransmissions on both sides, repeats in both captures:
# no outcome changes (the counts are those of test_compare_answers).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

per_path=40
fid_setup compare_loss
server="$FID_SERVERS_DIR/compare_server.py"
for role in online target; do
    lab_daemon_start "server-$role" "$role" "$(fid_python)" -u "$server" server --role "$role" --port 80
    _lab_wait_daemon "server-$role" 10 _lab_listening "$role" 80 || lab_die "compare_server in $role did not listen"
done
lab_rules_apply target 80 0
lose() { # ROLE RULE...: drop 1% of the packets RULE matches in ROLE's OUTPUT chain, first
    local role=$1
    shift
    lab_exec "$role" "$(lab_iptables)" -I OUTPUT 1 -p tcp "$@" -m statistic --mode random --probability 0.01 -j DROP
}
lose client -d "$LAB_ONLINE_IP" --dport 80
lose online -d "$LAB_CLIENT_IP" --sport 80
lose online -d "$LAB_TARGET_IP" --dport 80
lose target --sport 80
lab_intercept_start intercept "$LAB_ADMIN_IP" --compare
lab_tcpcopy_start tcpcopy -x "$LAB_ONLINE_IP:80-$LAB_TARGET_IP:80" --compare --compare-log "$LAB_DIR/compare.jsonl"
sleep 0.5

for path in /same /status /length /slow; do
    got=$(lab_exec client timeout -k 5 90 "$(fid_python)" -u "$server" client --host "$LAB_ONLINE_IP" \
        --path "$path" --count "$per_path" --connections 2 --gap 0.005)
    [[ $got == $((2 * per_path)) ]] || lab_fail "answers from online to $path" "$((2 * per_path))" "$got"
done
sleep 3
dropped=0
for role in client online target; do
    n=$(lab_exec "$role" "$(lab_iptables)" -L OUTPUT -v -n -x | awk '$3 == "DROP" { s += $1 } END { print s + 0 }')
    dropped=$((dropped + n))
done
lab_log "packets dropped by the loss rules: $dropped"
((dropped > 0)) || lab_fail "packets lost" "> 0 (else this test shows nothing)" "$dropped"
lab_expect_clean_stop tcpcopy
tlog=$(lab_daemon_log tcpcopy)
all=$((8 * per_path))
for pair in compare_exchanges:$all compare_same:$((all / 2)) compare_first_line_differs:$((all / 4)) \
    compare_length_differs:$((all / 4)) compare_bytes_differ:0 compare_target_silent:0 compare_target_reset:0; do
    name=${pair%%:*} want=${pair#*:}
    got=$(lab_stat_int "$tlog" "$name")
    [[ $got == "$want" ]] ||
        lab_fail "$name with 1% loss" "$want" "$got (mismatches: $(grep -v first_line "$LAB_DIR/compare.jsonl" | grep -v length_differs | head -c 800))"
done
lab_expect_clean_stop intercept
lab_log "PASS compare_loss: $all exchanges, outcomes unchanged with $dropped packets lost"
