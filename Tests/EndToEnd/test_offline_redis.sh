#!/usr/bin/env bash
# Offline replay of a real protocol: redis-benchmark traffic to the online server's redis
# (keep-alive connections, then 16-deep pipelining) is recorded with tcpdump, then tcpcopy
# --offline replays the file with no live traffic at all against a fresh redis on the target:
# the target's INFO commandstats call counts must equal the online server's, command by command.
# The replay ends by itself with exit status 0 and its summary; not one target packet reaches
# the client.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix offline_redis)
port=6379

lab_init
lab_require_tools redis-benchmark redis-cli redis-server
lab_create
lab_redis_start online "$port"
lab_redis_start target "$port"
lab_rules_apply target "$port" 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
# 127.0.0.1 is allowed so that redis-cli inside the target namespace can read its counters.
lab_intercept_start intercept "$LAB_ADMIN_IP:127.0.0.1"

# The recording, on online's client-facing veth. Without immediate mode libpcap uses its
# TPACKET_V3 ring, packets back to back in blocks: the benchmark's bursts fit in 128 MB.
pcap="$LAB_DIR/redis.pcap"
: >"$LAB_DIR/capture-redis.err"
ip netns exec "$(lab_ns online)" tcpdump -i to-client -n -U -Z root -s 4096 -B 131072 \
    -w "$pcap" "tcp port $port" >"$LAB_DIR/capture-redis.err" 2>&1 </dev/null &
echo $! >"$LAB_DIR/run/capture-redis.pid"
lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-redis.err" || lab_die "tcpdump did not start"

bench() {
    local out
    lab_log "redis-benchmark $*"
    out=$(lab_exec client timeout -k 5 60 redis-benchmark -h "$LAB_ONLINE_IP" -p "$port" -q "$@" 2>&1) ||
        lab_fail "redis-benchmark $* against the online server" "exit 0" "failure: $out"
}
bench -c 10 -n 2000 -P 1 -t set,get,incr,lpush,lpop
bench -c 4 -n 10000 -P 16 -t set,get,incr
# tcpdump writes out its last block when it stops; give the last packets time to arrive first.
sleep 1
lab_capture_stop redis
dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$LAB_DIR/capture-redis.err")
[[ ${dropped:-0} == 0 ]] || lab_die "the recording lost $dropped packets (a busy machine): no exact replay possible"
online=$(lab_redis_commandstats online "$port")
[[ -n $online ]] || lab_fail "the online server's INFO commandstats" "commands" "none"
[[ -z $(lab_redis_commandstats target "$port") ]] ||
    lab_fail "the target's commands before the replay" "none" "$(lab_redis_commandstats target "$port")"

lab_log "replaying $(tcpdump -r "$pcap" -n 2>/dev/null | wc -l) packets with tcpcopy --offline"
rc=0
ip netns exec "$(lab_ns online)" timeout 120 "$(lab_bin tcpcopy)" --offline "$pcap" \
    -x "$port-$LAB_TARGET_IP:$port" -t 10 >"$LAB_DIR/replay.log" 2>&1 </dev/null || rc=$?
log="$LAB_DIR/replay.log"
[[ $rc == 0 ]] || { cat "$log" >&2; lab_fail "exit status of the replay" 0 "$rc"; }
grep -a "replayed $pcap" "$log" || lab_fail "the replay's summary" "replayed $pcap: ..." "$(tail -n 3 "$log")"

# The target answers the copies a moment after the last one was sent.
target=""
for ((i = 0; i < 50; i++)); do
    target=$(lab_redis_commandstats target "$port")
    [[ $target == "$online" ]] && break
    sleep 0.2
done
table=$(join -a 1 -a 2 -e 0 -o 0,1.2,2.2 <(echo "$online") <(echo "$target"))
equal=0 commands=0 online_calls=0 target_calls=0
while read -r name o t; do
    [[ -n $name ]] || continue
    commands=$((commands + 1))
    online_calls=$((online_calls + o))
    target_calls=$((target_calls + t))
    [[ $o != "$t" ]] || equal=$((equal + 1))
    lab_log "commandstats $name: online $o, target $t"
done <<<"$table"
summary="$equal of $commands commands equal (calls: online $online_calls, target $target_calls)"
((commands > 0 && equal == commands)) || lab_fail "the target's INFO commandstats after the replay" \
    "the online server's" "$summary"

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS offline_redis: $summary, 0 leaked"
