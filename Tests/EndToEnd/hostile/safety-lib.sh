# shellcheck shell=bash
# safety-lib.sh: helpers shared by the safety, fault and hostile end-to-end tests, on top of
# Scripts/lab-lib.sh (source that first). Everything stays inside the lab's namespaces.

SAFETY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# safety_py ROLE SCRIPT ARGS...: one of the Python tools here, inside ROLE (Debian's python3).
safety_py() {
    local role=$1 script=$2
    shift 2
    lab_exec "$role" python3 "$SAFETY_DIR/$script" "$@"
}

# safety_traffic_start [PER_ROUND] [MAX_ROUNDS]: real client traffic in the background, rounds of
# PER_ROUND (10) short requests to the online server, until safety_traffic_stop (at most
# MAX_ROUNDS, 1000), a tenth of a second apart. Each round's count of 200s goes to
# $LAB_DIR/traffic.counts.
safety_traffic_start() {
    local per=${1:-10} rounds=${2:-1000}
    rm -f "$LAB_DIR/traffic.stop"
    : >"$LAB_DIR/traffic.counts"
    (
        for ((r = 0; r < rounds; r++)); do
            [[ -e $LAB_DIR/traffic.stop ]] && break
            lab_requests_close "$per" >>"$LAB_DIR/traffic.counts"
            sleep 0.1
        done
    ) &
    SAFETY_TRAFFIC_PID=$!
}

# safety_traffic_stop: ends the background traffic (after its current round) and prints how
# many requests got 200 from the online server, and how many were sent, as "OK SENT".
safety_traffic_stop() {
    local i
    touch "$LAB_DIR/traffic.stop"
    # Callers read the result through a process substitution, a subshell where `wait` cannot
    # wait for the generator (not its child): poll until it is gone (bounded: 60 s), so that no
    # round of it is still under way when the caller counts requests next.
    for ((i = 0; i < 1200; i++)); do
        kill -0 "$SAFETY_TRAFFIC_PID" 2>/dev/null || break
        sleep 0.05
    done
    wait "$SAFETY_TRAFFIC_PID" 2>/dev/null || true
    awk -v per="${1:-10}" '{ ok += $1; sent += per } END { print ok + 0, sent + 0 }' \
        "$LAB_DIR/traffic.counts"
}

# safety_stats NAME: asks daemon NAME for a stats line (SIGUSR1) and waits until it is logged.
safety_stats() {
    local name=$1 log before pid i
    log=$(lab_daemon_log "$name")
    before=$(grep -ac 'stats:' "$log" || true)
    pid=$(lab_daemon_pid "$name")
    kill -USR1 "$pid"
    for ((i = 0; i < 50; i++)); do
        (($(grep -ac 'stats:' "$log" || true) > before)) && return 0
        sleep 0.1
    done
    lab_fail "$name's stats line after SIGUSR1" "within 5 s" "none"
}

# safety_stat NAME KEY: KEY from NAME's latest stats line (-1 when absent).
safety_stat() {
    lab_stat_int "$(lab_daemon_log "$1")" "$2"
}

# safety_expect_copies_exact WHEN [TIMEOUT_S] [EXCLUDE]: the target served exactly what online
# served (copies lag: poll, then let stragglers land so duplicates would show). Requests whose
# line matches EXCLUDE (a grep -E pattern) are left out on both sides.
safety_expect_copies_exact() {
    local when=$1 timeout=${2:-15} exclude=${3:-} online target i
    _safety_count() {
        local log
        log=$(lab_nginx_access_log "$1")
        if [[ -n $exclude ]]; then grep -cvE "$exclude" "$log" || true; else wc -l <"$log" | tr -d ' '; fi
    }
    online=$(_safety_count online)
    for ((i = 0; i < timeout * 10; i++)); do
        target=$(_safety_count target)
        ((target >= online)) && break
        sleep 0.1
    done
    sleep 0.5
    # Online again too: nginx logs a request just after answering it, so the last few lines can
    # land after the client has its answers (seen once in CI: online 490 read, then 500).
    online=$(_safety_count online)
    target=$(_safety_count target)
    [[ $target == "$online" ]] || lab_fail "requests the target served $when" "$online (as online)" "$target"
    lab_log "copies exact $when: online $online, target $target"
}

# safety_mac ROLE IFACE: the MAC address of IFACE in ROLE.
safety_mac() {
    lab_exec "$1" cat "/sys/class/net/$2/address"
}

# safety_expect_fresh_copies N WHEN: N new requests now are each copied exactly once (the
# counts on both sides grow by N), which shows copying works at this point.
safety_expect_fresh_copies() {
    local n=$1 when=$2 online0 target0 ok online target i
    online0=$(lab_nginx_count online)
    target0=$(lab_nginx_count target)
    ok=$(lab_requests_close "$n")
    ((ok == n)) || lab_fail "online's answers $when" "$n" "$ok"
    for ((i = 0; i < 100; i++)); do
        target=$(lab_nginx_count target)
        ((target - target0 >= n)) && break
        sleep 0.1
    done
    sleep 0.5
    online=$(lab_nginx_count online)
    target=$(lab_nginx_count target)
    ((online - online0 == n)) || lab_fail "requests online served $when" "$n" "$((online - online0))"
    ((target - target0 == n)) || lab_fail "copies the target served $when" "$n" "$((target - target0))"
    lab_log "copying works $when: $n requests, $n copies"
}

# safety_wait_log NAME PATTERN TIMEOUT_S: waits until daemon NAME's log has a line matching
# PATTERN (grep -E); fails the test otherwise.
safety_wait_log() {
    local name=$1 pattern=$2 timeout=$3 log
    log=$(lab_daemon_log "$name")
    lab_retry $((timeout * 10)) 0.1 grep -qE "$pattern" "$log" ||
        lab_fail "$name's log" "a line matching '$pattern' within ${timeout}s" "none"
}

# safety_expect_no_target_leak CAPTURE: not one packet from the target in CAPTURE (taken in the
# client namespace).
safety_expect_no_target_leak() {
    local leaked
    leaked=$(lab_capture_count "$1" "src host $LAB_TARGET_IP")
    if ((leaked != 0)); then
        lab_capture_show "$1" "src host $LAB_TARGET_IP"
        lab_fail "target packets that reached the client namespace" 0 "$leaked"
    fi
}

# safety_wait_idle NAME [TIMEOUT_S]: waits until tcpcopy NAME has no live session (sessions
# delayed by a fault finish or time out first, so later counts are not mixed with theirs).
safety_wait_idle() {
    local name=$1 timeout=${2:-20} i
    for ((i = 0; i < timeout * 2; i++)); do
        safety_stats "$name"
        (($(safety_stat "$name" sessions_live) == 0)) && return 0
        sleep 0.5
    done
    lab_fail "$name's live sessions" "0 within ${timeout}s" "$(safety_stat "$name" sessions_live)"
}
