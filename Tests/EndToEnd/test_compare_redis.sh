#!/usr/bin/env bash
# tcpcopy --compare on a protocol nobody here wrote: redis-benchmark against two identical
# redis servers, deterministic commands only (PING, SET, GET: INCR and LPOP answers depend on
# how concurrent connections interleave, which differs between the two servers), keep-alive
# then 16-deep pipelining. Every exchange must be the same.
set -euo pipefail
FID_PORT=6379
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

command -v redis-benchmark >/dev/null 2>&1 ||
    lab_die "redis-benchmark is missing (Debian: apt-get install redis-tools)"
fid_setup compare_redis
lab_redis_start online "$FID_PORT"
lab_redis_start target "$FID_PORT"
lab_rules_apply target "$FID_PORT" 0
# 127.0.0.1 is allowed so that redis-cli inside the target namespace can read its counters.
lab_intercept_start intercept "$LAB_ADMIN_IP:127.0.0.1" --compare
lab_tcpcopy_start tcpcopy -x "$LAB_ONLINE_IP:$FID_PORT-$LAB_TARGET_IP:$FID_PORT" --compare \
    --compare-log "$LAB_DIR/compare.jsonl"
sleep 0.5

for args in "-c 10 -n 2000 -t ping,set,get" "-c 4 -n 8000 -P 16 -t set,get"; do
    # shellcheck disable=SC2086  # the words of $args are redis-benchmark's options
    lab_exec client timeout -k 5 60 redis-benchmark -h "$LAB_ONLINE_IP" -p "$FID_PORT" -q $args >/dev/null 2>&1 ||
        lab_fail "redis-benchmark $args against the online server" "exit 0" "a failure"
done
# The copies go at the target's pace: wait (bounded) until the target has served as much.
online=$(lab_redis_commandstats online "$FID_PORT")
for ((i = 0; i < 150; i++)); do
    [[ $(lab_redis_commandstats target "$FID_PORT") == "$online" ]] && break
    sleep 0.2
done
sleep 1
lab_expect_clean_stop tcpcopy
tlog=$(lab_daemon_log tcpcopy)
exchanges=$(lab_stat_int "$tlog" compare_exchanges)
same=$(lab_stat_int "$tlog" compare_same)
((exchanges >= 4000)) || lab_fail "compared exchanges" ">= 4000" "$exchanges"
[[ $same == "$exchanges" ]] ||
    lab_fail "exchanges alike on identical redis servers" "$exchanges" "$same (first mismatches: $(head -c 600 "$LAB_DIR/compare.jsonl"))"
lab_expect_clean_stop intercept
lab_log "PASS compare_redis: $same of $exchanges exchanges the same"
