#!/usr/bin/env bash
# Offline replay: real traffic (short and keep-alive requests to nginx) is captured with
# tcpdump, then tcpcopy --offline replays the file with no live traffic at all: the target serves
# exactly the requests online served, from the Ethernet capture, from the same file converted
# to pcapng, from a Linux-cooked capture of the same traffic (-i FILE), and from the Ethernet
# file rewritten with VLAN and QinQ tags, as raw IP, NULL and LOOP, and without any SYN (every
# session then starts with a made-up handshake). A file cut at a 96-byte snap length counts its
# truncated packets and still ends by itself. Each replay ends by
# itself with a summary and exit status 0. A truncated file, a garbage file and a missing file
# each give a clear error and a non-zero exit. Not one target packet reaches the client.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix offline_replay)
short=30
keepalive_connections=6
per_connection=5
total=$((short + keepalive_connections * per_connection))

lab_init
lab_require_tools editcap
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"

# The recording: full packets, on the online server's client-facing Ethernet veth and, for the
# cooked link type, on every interface.
record() {
    local name=$1 iface=$2
    : >"$LAB_DIR/capture-$name.err"
    # In immediate mode each ring slot holds a whole snap length: 4 KiB (the requests are far
    # smaller) in 64 MiB gives 16,000 slots, where the full 256 KiB gave 256 and dropped bursts.
    ip netns exec "$(lab_ns online)" tcpdump -i "$iface" -n --immediate-mode -U -Z root -s "${SNAP:-4096}" -B 65536 \
        -w "$LAB_DIR/$name.pcap" "tcp port 80" >"$LAB_DIR/capture-$name.err" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/run/capture-$name.pid"
    lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-$name.err" ||
        lab_die "tcpdump $name did not start"
}
record ethernet to-client
record cooked any
SNAP=96 record snapped to-client
ok=$(lab_requests_close "$short")
ok=$((ok + $(lab_requests_keepalive "$keepalive_connections" "$per_connection")))
[[ $ok == "$total" ]] || lab_fail "responses from online" "$total" "$ok"
lab_capture_stop ethernet
lab_capture_stop cooked
lab_capture_stop snapped
online=$(lab_nginx_count online)
[[ $online == "$total" ]] || lab_fail "requests online served" "$total" "$online"
[[ $(lab_nginx_count target) == 0 ]] || lab_fail "target requests before any replay" 0 "$(lab_nginx_count target)"
editcap -F pcapng "$LAB_DIR/ethernet.pcap" "$LAB_DIR/ethernet.pcapng"
# The same frames behind the other link layers: 802.1Q and QinQ tags, raw IP (an ipip tunnel),
# NULL and LOOP (this lab's kernel has no vlan or ipip devices to record them live).
for kind in vlan qinq raw null loop nosyn; do
    python3 "$(dirname "${BASH_SOURCE[0]}")/tools/pcap-relink.py" "$LAB_DIR/ethernet.pcap" "$LAB_DIR/$kind.pcap" "$kind"
done

# replay NAME ARGS...: tcpcopy in the online namespace, in the foreground (bounded); prints its
# exit status.
replay() {
    local name=$1 rc=0
    shift
    lab_log "replaying: tcpcopy $*"
    # -t 10: a session left open by a packet missing from the file ends the replay in 10 s, not 120.
    set -- "$@" -t 10
    ip netns exec "$(lab_ns online)" timeout 60 "$(lab_bin tcpcopy)" "$@" >"$LAB_DIR/$name.log" 2>&1 </dev/null ||
        rc=$?
    echo "$rc"
}

# The requests of an access log (request number on its connection, status, method, URI), sorted: what the target must have served.
requests_of() { awk '{ print $4, $5, $7, $8 }' "$1" | sort; }
expected=$(requests_of "$(lab_nginx_access_log online)")

served=0
for file in ethernet.pcap ethernet.pcapng cooked.pcap vlan.pcap qinq.pcap raw.pcap null.pcap loop.pcap nosyn.pcap; do
    before=$(lab_nginx_count target)
    if [[ $file == cooked.pcap ]]; then
        rc=$(replay "replay-$file" -i "$LAB_DIR/$file" -x "80-$LAB_TARGET_IP:80")
    else
        rc=$(replay "replay-$file" --offline "$LAB_DIR/$file" -x "80-$LAB_TARGET_IP:80")
    fi
    log="$LAB_DIR/replay-$file.log"
    [[ $rc == 0 ]] || { cat "$log" >&2; lab_fail "exit status of the replay of $file" 0 "$rc"; }
    grep -q "replayed $LAB_DIR/$file: sessions in the file $((short + keepalive_connections))," "$log" ||
        { cat "$log" >&2; lab_fail "summary of the replay of $file" "sessions in the file $((short + keepalive_connections))" "$(grep replayed "$log" || echo none)"; }
    lab_log "$(grep -a "replayed $LAB_DIR" "$log" | sed 's/.*replayed/replayed/')"
    sleep 0.3
    after=$(lab_nginx_count target)
    [[ $((after - before)) == "$total" ]] ||
        lab_fail "requests the target served from $file" "$total" "$((after - before))"
    got=$(tail -n "$total" "$(lab_nginx_access_log target)" | requests_of /dev/stdin)
    [[ $got == "$expected" ]] || lab_fail "the requests replayed from $file" "online's $total requests" \
        "$(diff <(echo "$expected") <(echo "$got") | head -5)"
    # A cooked capture marks online's answers as outgoing: skipped before they are looked at.
    answers=$(($(lab_stat_int "$log" replay_answers_skipped) + $(lab_stat_int "$log" capture_outgoing)))
    ((answers > 0)) || lab_fail "online's answers in $file, skipped" ">0" "$answers"
    if [[ $file == nosyn.pcap ]]; then
        synthesized=$(lab_stat_int "$log" sessions_synthesized)
        [[ $synthesized == $((short + keepalive_connections)) ]] ||
            lab_fail "sessions started with a made-up handshake (no SYN in the file)" \
                "$((short + keepalive_connections))" "$synthesized"
    fi
    served=$((served + after - before))
done

# A recording cut at 96 bytes a packet: the requests' packets are counted as truncated, their
# sessions see a capture gap, and the replay still ends by itself with exit status 0.
before=$(lab_nginx_count target)
rc=$(replay snapped --offline "$LAB_DIR/snapped.pcap" -x "80-$LAB_TARGET_IP:80")
((rc == 0)) || { cat "$LAB_DIR/snapped.log" >&2; lab_fail "exit status of the replay of a snapped file" 0 "$rc"; }
truncated=$(lab_stat_int "$LAB_DIR/snapped.log" capture_truncated)
((truncated >= total)) || lab_fail "packets counted as truncated (snap length 96)" ">= $total" "$truncated"
lab_log "snapped file: $truncated packets truncated, target served $(($(lab_nginx_count target) - before))"

# Broken files: a clear error, a non-zero exit, no crash.
size=$(stat -c %s "$LAB_DIR/ethernet.pcap")
head -c $((size - 30)) "$LAB_DIR/ethernet.pcap" >"$LAB_DIR/truncated.pcap"
head -c 4096 /dev/urandom >"$LAB_DIR/garbage.pcap"
printf 'not a capture' >"$LAB_DIR/text.pcap"
check_error() {
    local file=$1 message=$2 rc
    rc=$(replay "error-$file" --offline "$LAB_DIR/$file" -x "80-$LAB_TARGET_IP:80")
    ((rc != 0 && rc < 128)) || lab_fail "exit status for $file" "non-zero, not a crash" "$rc"
    grep -q "$message" "$LAB_DIR/error-$file.log" ||
        { cat "$LAB_DIR/error-$file.log" >&2; lab_fail "error for $file" "$message" "$(tail -n 2 "$LAB_DIR/error-$file.log")"; }
}
check_error truncated.pcap "is corrupt or cut short"
check_error garbage.pcap "cannot read the capture file"
check_error text.pcap "cannot read the capture file"
check_error missing.pcap "No such file or directory"
# -F applies to a file: a filter that leaves none of the client's packets leaves nothing to replay.
rc=$(replay filtered --offline "$LAB_DIR/ethernet.pcap" -x "80-$LAB_TARGET_IP:80" -F "not host $LAB_CLIENT_IP")
((rc != 0 && rc < 128)) || lab_fail "exit status for a file filtered to nothing by -F" "non-zero" "$rc"
grep -q "holds no packet for the routes" "$LAB_DIR/filtered.log" || lab_fail "error for -F leaving nothing" \
    "holds no packet for the routes" "$(tail -n 2 "$LAB_DIR/filtered.log")"
# A file with no packet for the routes (port 8080 is in no packet of it).
rc=$(replay no-route --offline "$LAB_DIR/ethernet.pcap" -x "8080-$LAB_TARGET_IP:80")
((rc != 0 && rc < 128)) || lab_fail "exit status for a file without the routes' packets" "non-zero" "$rc"
grep -q "holds no packet for the routes" "$LAB_DIR/no-route.log" || lab_fail "error for no route packets" \
    "holds no packet for the routes" "$(tail -n 2 "$LAB_DIR/no-route.log")"

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS offline_replay: online $online, target $served from 9 replays, errors clear, 0 leaked"
