#!/usr/bin/env bash
# A real protocol nobody here wrote: redis-server on the online server and the target,
# redis-benchmark from the client (keep-alive, then 16-deep pipelining). The target's
# INFO commandstats call counts must equal the online server's, command by command, and the
# target must hold no half-open socket afterwards. LAB_FAMILY=6 runs it over IPv6.
set -euo pipefail
FID_PORT=6379
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

command -v redis-benchmark >/dev/null 2>&1 ||
    lab_die "redis-benchmark is missing (Debian: apt-get install redis-tools)"
fid_setup fidelity_redis
lab_redis_start online "$FID_PORT"
lab_redis_start target "$FID_PORT"
lab_rules_apply target "$FID_PORT" 0
# 127.0.0.1 is allowed so that redis-cli inside the target namespace can read its counters.
fid_intercept_start 127.0.0.1
fid_tcpcopy_start

bench() {
    local out
    lab_log "redis-benchmark $*"
    out=$(lab_exec client timeout -k 5 60 redis-benchmark -h "$(lab_ip online)" -p "$FID_PORT" \
        -q "$@" 2>&1) || lab_fail "redis-benchmark $* against the online server" "exit 0" \
        "failure: $out"
    tr '\r' '\n' <<<"$out" | grep -a 'requests per second' |
        while read -r line; do lab_log "  $line"; done
}
bench -c 10 -n 2000 -t set,get,incr,lpush,lpop
bench -c 4 -n 20000 -P 16 -t set,get,incr

online=$(lab_redis_commandstats online "$FID_PORT")
target=""
# The replay lag: how long after the client finished the target's counters caught up.
lag=">10"
for ((i = 0; i < 50; i++)); do
    target=$(lab_redis_commandstats target "$FID_PORT")
    if [[ $target == "$online" ]]; then
        lag=$((i / 5)).$((i % 5 * 2))
        break
    fi
    sleep 0.2
done
lab_log "the target's counters caught up ${lag}s after the client finished"
half_open=$(fid_settle)
# Read while intercept still runs: without it the rule drops redis-cli's answers too.
target=$(lab_redis_commandstats target "$FID_PORT")
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept

# One line per command: name, online calls, target calls.
table=$(join -a 1 -a 2 -e 0 -o 0,1.2,2.2 <(echo "$online") <(echo "$target"))
equal=0 commands=0 online_calls=0 target_calls=0
while read -r name o t; do
    [[ -n $name ]] || continue
    commands=$((commands + 1))
    online_calls=$((online_calls + o))
    target_calls=$((target_calls + t))
    if [[ $o == "$t" ]]; then equal=$((equal + 1)); fi
    lab_log "commandstats $name: online $o, target $t"
done <<<"$table"
summary="$equal of $commands commands equal (calls: online $online_calls, target $target_calls)"
if [[ -n ${FIDELITY_RESULTS:-} ]]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$FID_NAME" "$summary" "$half_open" "$lag" \
        "$(lab_stats_line "$(lab_daemon_log tcpcopy)" | sed 's/.*stats: *//')" >>"$FIDELITY_RESULTS"
fi
((commands > 0 && equal == commands)) ||
    lab_fail "target's INFO commandstats" "the online server's" "$summary"
((half_open == 0)) || lab_fail "half-open target sockets after the run" 0 "$half_open"
lab_log "PASS $FID_NAME: $summary, no half-open sockets"
