#!/usr/bin/env bash
# tcpcopy -o on an interface where the target's MAC cannot be found (to-client: no route to the
# target goes through it, so the target is taken as on link there, and nothing answers its ARP
# requests). tcpcopy keeps running, says which address it could not resolve and why, drops the
# copies counted as next_hop_unresolved (the target serves none), and retries at most once a
# second.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix link_send_unresolved)
requests=20

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -o to-client
log=$(lab_daemon_log tcpcopy)
warning=$(grep -a -m1 "cannot resolve the next hop of $LAB_TARGET_IP on to-client" "$log" || true)
[[ -n $warning ]] || lab_fail "tcpcopy's warning" "cannot resolve the next hop of $LAB_TARGET_IP on to-client" \
    "$(grep -a 'next hop' "$log" || echo none)"
[[ $warning == *"no ARP answer"* ]] || lab_fail "the warning's reason" "no ARP answer" "$warning"
lab_log "tcpcopy said: ${warning#*warning}"

# Two bursts 1.5 s apart: the second finds the retry due, and looks the next hop up again.
start=$(date +%s)
ok=$(lab_requests_close "$((requests / 2))")
sleep 1.5
ok=$((ok + $(lab_requests_close "$((requests / 2))")))
((ok == requests)) || lab_fail "online's answers" "$requests" "$ok"
sleep 1
safety_stats tcpcopy
unresolved=$(safety_stat tcpcopy next_hop_unresolved)
((unresolved >= requests)) || lab_fail "next_hop_unresolved (a dropped SYN per request at least)" ">= $requests" "$unresolved"
lookups=$(safety_stat tcpcopy next_hop_lookups)
elapsed=$(($(date +%s) - start + 1))
# One lookup at start, then at most one a second (plus one for the turn in progress).
((lookups >= 2)) || lab_fail "next_hop_lookups after the retry interval" ">= 2" "$lookups"
((lookups <= elapsed + 2)) || lab_fail "next_hop_lookups in about ${elapsed}s" "<= $((elapsed + 2))" "$lookups"
target=$(lab_nginx_count target)
((target == 0)) || lab_fail "requests the target served" 0 "$target"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy with an unresolvable next hop" "alive" "exited"
warnings=$(grep -ac "cannot resolve the next hop" "$log" || true)
((warnings == 1)) || lab_fail "warnings about the unresolved next hop" 1 "$warnings"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS link_send_unresolved: next_hop_unresolved=$unresolved, lookups=$lookups, one warning, target served 0"
