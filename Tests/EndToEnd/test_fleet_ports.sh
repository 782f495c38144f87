#!/usr/bin/env bash
# The port space of one client address runs out, and tcpcopy counts it rather than reuse a port:
# -n 1000 and 70 short connections from one client address want 70,000 copies, but one client
# address has 64,512 ports at the target, and each copy the target closes first keeps its port
# in TIME_WAIT for 60 s. So: the copies beyond the space are counted (port_collisions > 0) and a
# log line says why; every copy that started is served; none is sent to a port the target holds
# in TIME_WAIT (the target's own counters) but the client's own ports, which copy 0 takes back
# as the client's TCP did (ports_reclaimed); and tcpcopy stays responsive all along (answers
# SIGUSR1 within 5 s, keeps its control link: heartbeats).
#
# About 65,000 sessions in about 40 s: the heaviest fleet test. The target is sized as in
# fleet_copies (lab_topo_nginx_capacity, intercept -q).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_ports)
copies=1000 short=70 ports=64512
wanted=$((copies * short))

lab_init
lab_create
lab_topo_raise_nofile 20000
lab_nginx_start online
lab_nginx_start target
lab_topo_nginx_capacity target 8192 8192
lab_rules_apply target 80 0
lab_intercept_start intercept -q 65536
lab_topo_tcpcopy_start online tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -n "$copies"

# One connection every 0.5 s (about 2,000 copies a second, within what a debug build keeps up
# with), each held open by the client for 3 s after the answer: the server closes first, and
# so, as long as tcpcopy is less than 3 s behind, does every copy's target, which then holds the
# port in TIME_WAIT for 60 s. (With curl, which closes at once, the FINs cross or the copy's comes
# first, the target then holds nothing, and how many ports stay busy is left to timing.)
start=$SECONDS
ok=$(lab_topo_requests_server_closes client "$short" "$LAB_ONLINE_IP" / 0.5 3)
((ok == short)) || lab_fail "200s online gave" "$short" "$ok"

# Every copy is either started or counted as a collision, then the started ones finish. Poll
# through SIGUSR1: lab_topo_stats_now fails the test if tcpcopy does not answer within 5 s.
settled=0
for ((i = 0; i < 60; i++)); do
    lab_topo_stats_now tcpcopy
    started=$(lab_topo_stat tcpcopy sessions_started)
    collisions=$(lab_topo_stat tcpcopy port_collisions)
    live=$(lab_topo_stat tcpcopy sessions_live)
    if ((started + collisions == wanted && live == 0)); then
        settled=1
        break
    fi
    sleep 1
done
((settled)) || lab_fail "copies started or counted, and finished, within 60 s" \
    "$wanted, 0 live" "$started started + $collisions collisions, $live live"
elapsed=$((SECONDS - start))
served=$(lab_topo_wait_served target "$started" 10) ||
    lab_fail "requests the target served" "$started (the copies started)" "$served"
distinct=$(_lab_topo_select target / any | awk '{ print $1 ":" $2 }' | sort -u | wc -l)
time_waits=$(lab_topo_tcpext target TW)
paws=$(lab_topo_tcpext target PAWSTimewait)
reclaimed=$(lab_topo_stat tcpcopy ports_reclaimed)
stale=$(lab_topo_stat tcpcopy stale_connections_reset)

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
summary="-n $copies x $short short connections: $started copies started, $collisions counted as"
summary+=" port_collisions, target served $served on $distinct distinct ports, its TW=$time_waits"
summary+=" PAWSTimewait=$paws, ports_reclaimed=$reclaimed, stale_connections_reset=$stale, ${elapsed}s"
lab_log "$summary"

((collisions > 0)) || lab_fail "port_collisions (more copies than ports)" ">0" "$collisions"
((served == started)) || lab_fail "requests the target served" "$started" "$served"
# No copy was sent to a port its target held in TIME_WAIT but those reclaimed: no more SYNs
# rejected there (PAWS) than reclaimed ports, each then reset and opened again (stale reset),
# and no more TIME_WAITs than ports and reclaims (a SYN the kernel accepts on a TIME_WAIT port
# ends in a second one).
((paws <= reclaimed)) ||
    lab_fail "target's SYNs rejected by a TIME_WAIT socket (PAWSTimewait)" "<= $reclaimed" "$paws"
((paws <= stale)) || lab_fail "stale_connections_reset (each PAWS rejection reset)" ">= $paws" "$stale"
((time_waits <= ports + reclaimed)) ||
    lab_fail "target's TIME_WAITs (TW)" "<= $ports + $reclaimed" "$time_waits"
lab_topo_expect_stat tcpcopy sessions_completed == "$started"
lab_topo_expect_stat tcpcopy control_link_failures == 0
lab_topo_expect_stat intercept connections_timed_out == 0
grep -Eqi 'exhaust|no free|port space' "$(lab_daemon_log tcpcopy)" ||
    lab_fail "tcpcopy's log" "a line saying the client's ports ran out" "none"

lab_log "PASS fleet_ports: $summary"
