#!/usr/bin/env bash
# -o (link-layer send) steps around the online host's firewall. With a REJECT rule for the
# target's port on the online namespace's OUTPUT chain, the raw IP sink loses every copy (each
# counted as send_error_EPERM), while tcpcopy -o to-target copies every request exactly: its
# frames leave through an AF_PACKET socket that iptables OUTPUT never sees. The neighbour entry
# of the target is flushed first, so the MAC is found by the resolution tcpcopy triggers.
# (The rule names the copied port: a rule for the whole target address would also cut
# tcpcopy's control connection to intercept, which is ordinary TCP.)
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix link_send_reject)
ipt=$(lab_iptables)
reject_rule=(OUTPUT -d "$LAB_TARGET_IP" -p tcp --dport 80 -j REJECT)
raw_requests=50
link_requests=200

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_exec online "$ipt" -A "${reject_rule[@]}"

# The raw IP sink: every copy refused by the host's own firewall.
lab_tcpcopy_start raw "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
ok=$(lab_requests_close "$raw_requests")
((ok == raw_requests)) || lab_fail "online's answers under the REJECT rule" "$raw_requests" "$ok"
sleep 1
safety_stats raw
eperm=$(safety_stat raw send_error_EPERM)
((eperm >= raw_requests)) || lab_fail "raw sink's send_error_EPERM (a refused SYN per request at least)" ">= $raw_requests" "$eperm"
target=$(lab_nginx_count target)
((target == 0)) || lab_fail "requests the target served through the raw sink" 0 "$target"
lab_expect_clean_stop raw
lab_log "raw IP sink under REJECT: send_error_EPERM=$eperm, target served $target of $raw_requests"

# The link-layer sink, from an empty neighbour table.
lab_exec online ip neigh flush dev to-target
online_before=$(lab_nginx_count online)
lab_tcpcopy_start link "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -o to-target
grep -q 'next hop found' "$(lab_daemon_log link)" ||
    lab_fail "tcpcopy -o's log" "a 'next hop found' line for $LAB_TARGET_IP" "$(grep -a 'next hop' "$(lab_daemon_log link)" || echo none)"
ok=$(lab_requests_close "$link_requests")
((ok == link_requests)) || lab_fail "online's answers under the REJECT rule" "$link_requests" "$ok"
online=$(($(lab_nginx_count online) - online_before))
((online == link_requests)) || lab_fail "requests online served" "$link_requests" "$online"
target=$(lab_wait_count target "$link_requests" 15) ||
    lab_fail "requests the target served through -o" "$link_requests within 15 s" "$target"
sleep 0.5
target=$(lab_nginx_count target)
((target == online)) || lab_fail "requests the target served through -o" "$online (online's)" "$target"
safety_stats link
for key in send_errors next_hop_unresolved; do
    value=$(safety_stat link "$key")
    ((value == 0)) || lab_fail "tcpcopy -o's $key" 0 "$value"
done
lab_expect_stat_positive link packets_sent

lab_expect_clean_stop link
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS link_send_reject: raw sink send_error_EPERM=$eperm (0 copied), -o copied $target of $online"
