#!/usr/bin/env bash
# The control port under attack, with a real tcpcopy copying throughout: peers that send
# garbage, a wrong version, an oversized frame or an over-long body, a peer that stays silent,
# one that stops reading until intercept's 8 MiB output cap fills, and one from a host that is
# not allowed. Each is disconnected (and logged and counted) alone: the real tcpcopy's link
# never drops, and every request online served is copied exactly.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix hostile_control)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
# Default policy: this host's networks (10.77.2.0/24, where tcpcopy is) and loopback.
lab_intercept_start intercept "$LAB_ADMIN_IP" --heartbeat-timeout 5
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
port=$LAB_CONTROL_PORT

safety_traffic_start 10
# The silent peer runs alongside the others (it takes the heartbeat timeout to be dropped).
safety_py online control_peer.py silent "$LAB_TARGET_IP" "$port" --seconds 12 >"$LAB_DIR/silent.out" &
silent_pid=$!

expect_peer() {
    local mode=$1 role=$2 want_goodbye=$3 out
    out=$(safety_py "$role" control_peer.py "$mode" "$LAB_TARGET_IP" "$port" --seconds "${4:-10}")
    lab_log "$out"
    [[ $out == *"closed=yes"* ]] || lab_fail "intercept closing the $mode peer" "closed=yes" "$out"
    [[ $out == *"goodbye=$want_goodbye "* ]] ||
        lab_fail "goodbye reason sent to the $mode peer" "$want_goodbye" "$out"
}
# goodbye reasons: 2 unsupported version, 3 protocol error, 4 not allowed
expect_peer garbage online 3
expect_peer version online 2
expect_peer oversized online 3
expect_peer long-body online 3
# From the client namespace (10.77.1.2): routed in from another network, so refused by default.
expect_peer refused client 4
stall=$(safety_py online control_peer.py stall "$LAB_TARGET_IP" "$port" --seconds 60)
lab_log "$stall"
[[ $stall == *"closed=yes"* ]] || lab_fail "intercept dropping the peer that never reads" "closed=yes" "$stall"
wait "$silent_pid" || true
silent=$(cat "$LAB_DIR/silent.out")
lab_log "$silent"
[[ $silent == *"closed=yes"* ]] || lab_fail "intercept dropping the silent peer" "closed=yes" "$silent"

read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers during the attacks" "$sent" "$ok"
safety_expect_copies_exact "during the attacks"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
ilog=$(lab_daemon_log intercept)
tlog=$(lab_daemon_log tcpcopy)
expect_stat() {
    local log=$1 key=$2 op=$3 want=$4 v
    v=$(lab_stat_int "$log" "$key")
    [ "$v" "$op" "$want" ] || lab_fail "intercept/tcpcopy counter $key" "$op $want" "$v"
}
expect_stat "$ilog" connections_rejected -ge 4
expect_stat "$ilog" connections_refused -eq 1
# The silent peer never says hello: dropped 2 s after connecting (the handshake deadline).
expect_stat "$ilog" handshake_timeouts -ge 1
expect_stat "$ilog" connections_overflowed -eq 1
expect_stat "$tlog" control_link_failures -eq 0
for pattern in "corrupt control stream" "refused a control connection" "not reading" "no complete handshake" \
    "protocol misuse"; do
    grep -q "$pattern" "$ilog" || lab_fail "intercept's log" "a line with '$pattern'" "none"
done
# A real tcpcopy from a host that is not listed: refused at once, told why, exits non-zero.
lab_daemon_start intercept-locked target "$(lab_bin intercept)" --queue 5 -p 36600 --tcpcopy-allow 10.77.2.99
_lab_wait_daemon intercept-locked 10 _lab_listening target 36600 || lab_die "intercept-locked did not listen"
if lab_exec online timeout 30 "$(lab_bin tcpcopy)" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -p 36600 \
    >"$LAB_DIR/refused-tcpcopy.out" 2>&1; then
    lab_fail "tcpcopy refused by intercept" "a non-zero exit" "exit 0"
fi
grep -q "intercept refused this host: add it to intercept --tcpcopy-allow" "$LAB_DIR/refused-tcpcopy.out" ||
    lab_fail "tcpcopy's message when refused" "names --tcpcopy-allow" "$(tail -n 3 "$LAB_DIR/refused-tcpcopy.out")"
lab_expect_clean_stop intercept-locked
(($(lab_stat_int "$(lab_daemon_log intercept-locked)" connections_refused) == 1)) ||
    lab_fail "intercept-locked's connections_refused" 1 "$(lab_stat_int "$(lab_daemon_log intercept-locked)" connections_refused)"

lab_log "PASS hostile_control: $ok requests copied exactly while 7 hostile peers were disconnected"
