#!/usr/bin/env bash
# The counter registry: every key of each daemon's stats line is served by --metrics-listen under
# the program's name, with a "# HELP" line (the declaration's help text) and the "# TYPE" the
# declaration gives (a gauge for a level such as sessions_live, a counter with _total otherwise),
# and the same value once traffic has stopped.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix metrics_help)
requests=10
tm=127.0.0.1:9100
im=127.0.0.1:9101

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept --metrics-listen "$im"
lab_tcpcopy_start tcpcopy --metrics-listen "$tm" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

ok=$(lab_requests_close "$requests")
[[ $ok == "$requests" ]] || lab_fail "requests answered by online" "$requests" "$ok"
got=$(lab_wait_count target "$requests" 10) || lab_fail "copies served" "$requests" "$got"
sleep 1

# check PROGRAM NAMESPACE ADDRESS: SIGUSR1 for a fresh stats line, then every key against a scrape.
check() {
    local program=$1 ns=$2 address=$3 line scrape key value name count=0
    kill -USR1 "$(lab_daemon_pid "$program")"
    sleep 0.3
    line=$(lab_stats_line "$(lab_daemon_log "$program")")
    scrape=$(lab_scrape "$ns" "$address")
    [[ -n $line ]] || lab_fail "$program's stats line" "a line" "none"
    for word in ${line#*stats: }; do
        key=${word%%=*}
        value=${word#*=}
        [[ $value =~ ^[0-9]+$ ]] || continue
        if grep -q "^# TYPE ${program}_$key gauge\$" <<<"$scrape"; then
            name=${program}_$key
        else
            name=${program}_${key}_total
            grep -q "^# TYPE $name counter\$" <<<"$scrape" ||
                lab_fail "$program: # TYPE of $key" "$name counter (or ${program}_$key gauge)" "none"
        fi
        grep -q "^# HELP $name ." <<<"$scrape" || lab_fail "$program: # HELP of $key" "a help line for $name" "none"
        count=$((count + 1))
    done
    # Values agree for counters that stand still without traffic.
    for key in sessions_started responses queued forwarded; do
        value=$(stat_value "$(lab_daemon_log "$program")" "$key" || true)
        [[ -n $value ]] || continue
        [[ $(lab_metric "$scrape" "${program}_${key}_total") == "$value" ]] ||
            lab_fail "$program: $key, stats line vs scrape" "$value" "$(lab_metric "$scrape" "${program}_${key}_total")"
    done
    ((count >= 20)) || lab_fail "$program: keys checked" ">= 20" "$count"
    local gauge=${program}_connections_open
    [[ $program == tcpcopy ]] && gauge=tcpcopy_sessions_live
    grep -q "^# TYPE $gauge gauge\$" <<<"$scrape" || lab_fail "$program: a level" "$gauge as a gauge" "none"
    lab_log "$program: $count keys, each with # HELP and # TYPE"
}
check tcpcopy online "$tm"
check intercept target "$im"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS metrics_help"
