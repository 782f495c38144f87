# shellcheck shell=bash
# fidelity-lib.sh: what the Tests/EndToEnd/test_fidelity_*.sh tests share. Built on lab-lib.sh.
#
# A fidelity test runs Tests/Servers/record_server.py on the online server and the target (each
# records every connection's received bytes), tcpcopy between them, one conversation from the
# client (Tests/Servers/conversations.py), then checks the promise: every connection the online
# server accepted was replayed to the target byte for byte, and the target holds no half-open
# socket afterwards.
#
#     source Scripts/fidelity-lib.sh
#     fid_setup fidelity_keepalive          # lab (namespaces), cleanup trap
#     fid_server_start online               # record_server.py in ROLE; extra args are its own
#     fid_server_start target --delay-ms 200
#     fid_pair_start [TCPCOPY_ARGS...]      # target rule, intercept, tcpcopy
#     fid_client keepalive --conns 4 --requests 50
#     fid_finish [COMPARATOR_ARGS...]       # settle, half-open check, stop, compare, verdict
#
# Result lines (FIDELITY_RESULTS): test, "X of Y", half-open sockets, replay lag (s), tcpcopy's
# final stats.
# Environment: FID_PORT (service port, default 80), FID_SETTLE_TIMEOUT (seconds to wait for the
# target to finish, default 20), FID_MAX_LAG (seconds: fail if the target's last byte came
# later than this after the client finished; unset: no limit), FIDELITY_RESULTS (a file each
# test appends its result line to, for the per-case table), FID_TCPCOPY_ARGS (more tcpcopy
# options for every test, e.g. "-i any" to run the fidelity cases on the libpcap source),
# LAB_FAMILY=6 (the conversation over IPv6: the lab's IPv6 twins, the servers on [::], the route
# [online]:PORT-[target]:PORT with -i any unless an -i is given, since IPv6 is captured at the
# link layer only), FID_WRAPPER (a test running others: their namespaces are named after it too,
# tce2e-<tag>-WRAPPER-NAME-*, so that the runner's sweep finds what a killed one left).

# shellcheck source=lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab-lib.sh"

FID_SERVERS_DIR="$LAB_REPO_DIR/Tests/Servers"
FID_PORT=${FID_PORT:-80}
FID_NAME=""

# Debian's python3 (the CI package) when present; a pyenv shim may not reach root's sudo env.
fid_python() {
    if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3; else command -v python3; fi
}

# fid_setup NAME: the lab for test NAME (namespaces tce2e-<tag>-NAME-*), with IPv6 when
# LAB_FAMILY=6 (the test's name then ends in _ipv6 in its verdict and result line).
fid_setup() {
    FID_NAME=$1
    LAB_PREFIX=$(lab_test_prefix "${FID_WRAPPER:+$FID_WRAPPER-}$FID_NAME")
    [[ $LAB_FAMILY != 6 ]] || FID_NAME+=_ipv6
    [[ -n $(fid_python) ]] || lab_die "python3 is needed for the recording server"
    lab_init
    lab_create
}

# fid_server_start ROLE [RECORD_SERVER_ARGS...]: the recording server on FID_PORT in ROLE,
# recording into $LAB_DIR/rec-ROLE (on [::] with LAB_FAMILY=6).
fid_server_start() {
    local role=$1
    shift
    [[ $LAB_FAMILY != 6 ]] || set -- --bind :: "$@"
    mkdir -p "$LAB_DIR/rec-$role"
    lab_daemon_start "recorder-$role" "$role" "$(fid_python)" -u \
        "$FID_SERVERS_DIR/record_server.py" --port "$FID_PORT" --dir "$LAB_DIR/rec-$role" "$@"
    _lab_wait_daemon "recorder-$role" 10 _lab_listening "$role" "$FID_PORT" ||
        lab_die "the recording server in $role did not listen on port $FID_PORT within 10 s"
}

# fid_pair_start [TCPCOPY_ARGS...]: the target's rule, intercept (the admin address allowed)
# and tcpcopy copying FID_PORT from the online server to the target.
fid_pair_start() {
    lab_rules_apply target "$FID_PORT" 0
    fid_intercept_start
    fid_tcpcopy_start "$@"
}

# fid_intercept_start [IPV4_HOST...]: intercept with the admin address allowed, and the hosts
# given (e.g. 127.0.0.1). With LAB_FAMILY=6 both admin addresses, in the --allow form.
fid_intercept_start() {
    local hosts
    if [[ $LAB_FAMILY == 6 ]]; then
        hosts=$(IFS=,; echo "[$LAB_ADMIN_IP6],$LAB_ADMIN_IP${1:+,$*}")
        lab_intercept_start intercept --allow "$hosts"
    else
        hosts=$(IFS=:; echo "$LAB_ADMIN_IP${1:+:$*}")
        lab_intercept_start intercept "$hosts"
    fi
}

# fid_tcpcopy_start [TCPCOPY_ARGS...]: tcpcopy copying FID_PORT from the online server to the
# target, with FID_TCPCOPY_ARGS. With LAB_FAMILY=6 -i any unless an -i is among them.
fid_tcpcopy_start() {
    local -a extra
    read -ra extra <<<"${FID_TCPCOPY_ARGS:-}"
    if [[ $LAB_FAMILY == 6 && " $* ${extra[*]} " != *" -i "* ]]; then extra+=(-i any); fi
    lab_tcpcopy_start tcpcopy -x "$(lab_host online):$FID_PORT-$(lab_host target):$FID_PORT" \
        "$@" "${extra[@]}"
}

# fid_client CONVERSATION [ARGS...]: one conversation from the client namespace to the online
# server (bounded to 90 s). The online server must answer every request right: if it does not,
# the lab is broken and nothing about tcpcopy can be concluded.
fid_client() {
    local out="$LAB_DIR/client.log" rc=0
    lab_log "client: $*"
    lab_exec client timeout -k 5 90 "$(fid_python)" -u "$FID_SERVERS_DIR/conversations.py" \
        "$@" --server "$(lab_ip online)" --port "$FID_PORT" >>"$out" 2>&1 || rc=$?
    grep '^client:' "$out" | tail -n 11 | while read -r line; do lab_log "$line"; done
    ((rc == 0)) || lab_fail "the $1 conversation with the online server" "every answer right" \
        "exit $rc (see above)"
}

# fid_raw_client ARGS...: Tests/Servers/raw_client.py from the client namespace (a user-space
# TCP client choosing its ISNs and segments; the test must drop the client kernel's resets for
# its ports first). Fails like fid_client if the online server's answers are wrong.
fid_raw_client() {
    local out rc=0
    [[ $LAB_FAMILY != 6 ]] || lab_die "raw_client.py speaks IPv4 only"
    out=$(mktemp "$LAB_DIR/raw-client.XXXX")
    lab_log "raw client: $*"
    lab_exec client timeout -k 5 60 "$(fid_python)" -u "$FID_SERVERS_DIR/raw_client.py" \
        --source "$LAB_CLIENT_IP" --server "$LAB_ONLINE_IP" --port "$FID_PORT" "$@" \
        >"$out" 2>&1 || rc=$?
    grep '^client:' "$out" | head -n 11 | while read -r line; do lab_log "$line"; done
    ((rc == 0)) || lab_fail "the raw client's conversation with the online server" \
        "every answer right" "exit $rc (see above)"
}

# fid_half_open: the target's sockets on FID_PORT other than LISTEN and TIME-WAIT, one per line
# (state, local, peer).
fid_half_open() {
    # shellcheck disable=SC2016  # awk's own fields
    lab_exec target ss -Htan "sport = :$FID_PORT" 2>/dev/null |
        awk '$1 != "LISTEN" && $1 != "TIME-WAIT" { print $1, $4, $5 }'
}

# fid_recorded_bytes ROLE: bytes ROLE's recording server has received so far, in all.
fid_recorded_bytes() {
    # shellcheck disable=SC2012
    cat "$LAB_DIR/rec-$1"/conn-*.bin 2>/dev/null | wc -c | tr -d ' '
}

# fid_settle: waits until the target has received everything it will (its recorded
# bytes unchanged for 2 s) and holds no half-open socket, or FID_SETTLE_TIMEOUT passes. Prints the
# half-open count at the end (and logs their states). The replay lag (seconds from the call,
# i.e. the client's end, to the target's last byte) goes to $LAB_DIR/replay-lag.
fid_settle() {
    local timeout=${FID_SETTLE_TIMEOUT:-20} i bytes last=-1 stable=0 open changed=0
    for ((i = 0; i < timeout * 10; i++)); do
        bytes=$(fid_recorded_bytes target)
        if [[ $bytes == "$last" ]]; then stable=$((stable + 1)); else stable=0 changed=$i; fi
        last=$bytes
        open=$(fid_half_open | wc -l)
        ((stable >= 20 && open == 0)) && break
        sleep 0.1
    done
    printf '%d.%d\n' $((changed / 10)) $((changed % 10)) >"$LAB_DIR/replay-lag"
    open=$(fid_half_open | wc -l)
    if ((open > 0)); then
        # shellcheck disable=SC2016
        lab_log "target sockets on port $FID_PORT still open after ${timeout}s (not LISTEN or" \
            "TIME-WAIT): $open: $(fid_half_open |
                awk '{ n[$1]++ } END { for (s in n) printf "%s=%d ", s, n[s] }')"
        fid_half_open | head -n 5 | while read -r line; do lab_log "  $line"; done
    fi
    echo "$open"
}

# fid_close_reasons ROLE: "eof=N reset=M ..." from ROLE's recording server (how its
# connections ended).
fid_close_reasons() {
    # shellcheck disable=SC2016
    awk '$1 == "close" { n[$7]++ } END { for (r in n) printf "%s=%d ", r, n[r] }' \
        "$LAB_DIR/rec-$1/connections.log" 2>/dev/null
}

# fid_finish [COMPARATOR_ARGS...]: the end of every fidelity test. Waits for the target to
# settle, counts its half-open sockets (before tcpcopy stops: stopping resets every session,
# which would hide a session that never ended), stops the daemons (their stats lines are
# logged), compares the recordings and passes only with X == Y and no half-open socket.
fid_finish() {
    local half_open out rc=0 summary stats lag
    half_open=$(fid_settle)
    lag=$(cat "$LAB_DIR/replay-lag")
    lab_log "the target's last byte came ${lag}s after the client finished"
    lab_expect_clean_stop tcpcopy
    lab_expect_clean_stop intercept
    lab_daemon_stop recorder-online || true
    lab_daemon_stop recorder-target || true
    lab_log "online connections ended: $(fid_close_reasons online)"
    lab_log "target connections ended: $(fid_close_reasons target)"
    out=$("$(fid_python)" "$FID_SERVERS_DIR/compare_recordings.py" \
        --online "$LAB_DIR/rec-online" --target "$LAB_DIR/rec-target" "$@") || rc=$?
    while read -r line; do lab_log "$line"; done <<<"$out"
    summary=$(grep -o 'byte-exact: [0-9]* of [0-9]*' <<<"$out" | tail -n 1)
    summary=${summary#byte-exact: }
    stats=$(lab_stats_line "$(lab_daemon_log tcpcopy)" | sed 's/.*stats: *//')
    if [[ -n ${FIDELITY_RESULTS:-} ]]; then
        printf '%s\t%s\t%s\t%s\t%s\n' "$FID_NAME" "${summary:-none}" "$half_open" "$lag" "$stats" \
            >>"$FIDELITY_RESULTS"
    fi
    ((rc == 0)) || lab_fail "sessions replayed byte-exact" "all" "${summary:-no comparison}"
    ((half_open == 0)) || lab_fail "half-open target sockets after the run" 0 "$half_open"
    if [[ -n ${FID_MAX_LAG:-} ]] && awk -v lag="$lag" -v max="$FID_MAX_LAG" \
        'BEGIN { exit !(lag > max) }'; then
        lab_fail "the target's last byte after the client finished" "within ${FID_MAX_LAG}s" \
            "${lag}s"
    fi
    lab_log "PASS $FID_NAME: sessions replayed byte-exact: $summary, no half-open sockets"
}

# fid_run_tests WRAPPER NAME...: runs Tests/EndToEnd/test_NAME.sh for each NAME, one after the
# other, each in its own lab named after WRAPPER (FID_WRAPPER), with the caller's environment
# (e.g. LAB_FAMILY=6). Every test runs even when one fails; ends with one line per test and
# returns 1 if any failed.
fid_run_tests() {
    local wrapper=$1 name start rc failed=0
    shift
    local -a lines=()
    for name in "$@"; do
        lab_log "---- $name (LAB_FAMILY=$LAB_FAMILY${FID_TCPCOPY_ARGS:+, FID_TCPCOPY_ARGS=$FID_TCPCOPY_ARGS})"
        start=$SECONDS rc=0
        FID_WRAPPER=$wrapper LAB_FAMILY=$LAB_FAMILY bash "$LAB_REPO_DIR/Tests/EndToEnd/test_$name.sh" ||
            rc=$?
        if ((rc == 0)); then
            lines+=("PASS $name ($((SECONDS - start))s)")
        else
            lines+=("FAIL $name ($((SECONDS - start))s, exit $rc)")
            failed=$((failed + 1))
        fi
    done
    for name in "${lines[@]}"; do lab_log "$wrapper: $name"; done
    ((failed == 0)) || lab_log "$wrapper: $failed of $# failed"
    ((failed == 0))
}
