#!/usr/bin/env bash
# The port space of one client address runs out, and tcpcopy counts it rather than reuse a port:
# -n 1000 and 70 short connections from one client address want 70,000 copies, but one client
# address has 64,512 ports at the target, and each copy the target closes first keeps its port
# in TIME_WAIT for 60 s. So: some copies are not started (port_collisions > 0, and a log line
# says why), every copy that started is served once, on a port of its own, and tcpcopy stays
# responsive all along (answers SIGUSR1 within 5 s, keeps its control link: heartbeats).
#
# About 65,000 sessions over about 25 s: the heaviest fleet test. The target is sized as in
# fleet_copies (lab_topo_nginx_capacity).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_ports)
copies=1000 short=70 pace=0.1
wanted=$((copies * short))

lab_init
lab_create
lab_topo_raise_nofile 20000
lab_nginx_start online
lab_nginx_start target
lab_topo_nginx_capacity target 8192 8192
lab_rules_apply target 80 0
lab_intercept_start intercept
lab_topo_tcpcopy_start online tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -n "$copies"

# Paced, one connection every ${pace}s plus curl's time (about 3,000 copies a second), inside the
# 60 s the target's TIME_WAIT lasts: a burst of all 70,000 at once overloads the 2-core lab (the
# target resets copies, tcpcopy falls behind its control link), which is a load test, not this.
start=$SECONDS
ok=0
for ((i = 0; i < short; i++)); do
    ok=$((ok + $(lab_topo_requests_close client 1 "http://$LAB_ONLINE_IP/")))
    sleep "$pace"
done
((ok == short)) || lab_fail "200s online gave" "$short" "$ok"

# Every copy is either started or counted as a collision (a connection whose copies were all
# refused may be counted again when its request arrives), then the started ones finish. Poll
# through SIGUSR1: lab_topo_stats_now fails the test if tcpcopy does not answer within 5 s.
settled=0
for ((i = 0; i < 90; i++)); do
    lab_topo_stats_now tcpcopy
    started=$(lab_topo_stat tcpcopy sessions_started)
    collisions=$(lab_topo_stat tcpcopy port_collisions)
    live=$(lab_topo_stat tcpcopy sessions_live)
    if ((started + collisions >= wanted && live == 0)); then
        settled=1
        break
    fi
    sleep 1
done
((settled)) || lab_fail "copies started or counted, and finished, within 90 s" \
    "$wanted, 0 live" "$started started + $collisions collisions, $live live"
elapsed=$((SECONDS - start))
served=$(lab_topo_wait_served target "$started" 10) ||
    lab_fail "requests the target served" "$started (the copies started)" "$served"
distinct=$(_lab_topo_select target / any | awk '{ print $1 ":" $2 }' | sort -u | wc -l)

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
summary="-n $copies x $short short connections: $started copies started, $collisions counted as"
summary+=" port_collisions, target served $served on $distinct distinct ports, ${elapsed}s"
lab_log "$summary"

((collisions > 0)) || lab_fail "port_collisions (more copies than ports)" ">0" "$collisions"
((served == started)) || lab_fail "requests the target served" "$started" "$served"
lab_topo_expect_stat tcpcopy sessions_completed == "$started"
lab_topo_expect_stat tcpcopy control_link_failures == 0
lab_topo_expect_stat intercept connections_timed_out == 0
grep -Eqi 'exhaust|no free|port space' "$(lab_daemon_log tcpcopy)" ||
    lab_fail "tcpcopy's log" "a line saying the client's ports ran out" "none"

lab_log "PASS fleet_ports: $summary"
