#!/usr/bin/env bash
# -r 30: the target serves 30% +/- 3 points of the sessions (2,500 short and 100 keep-alive
# connections of 3 requests), and every session it serves is whole: each copied connection
# carries exactly the requests of one original connection, once.
#
# Sessions are chosen by a hash of the client's address and port, and the client's ports differ
# from run to run, so the share is a sample: with 2,600 sessions its standard deviation is 0.9
# points, and 3 points is 3.4 of them (a spurious failure about once in 1,500 runs; with 1,000
# sessions it would be once in 25). E2E_FLEET_RATE_SHORT / _KEEPALIVE change the volumes.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_rate)
export LC_ALL=C # sort and join below must agree on the order
rate=30 tolerance=3
short=${E2E_FLEET_RATE_SHORT:-2500} conns=${E2E_FLEET_RATE_KEEPALIVE:-100} per=3

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept
lab_topo_tcpcopy_start online tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -r "$rate"

url=http://$LAB_ONLINE_IP/
ok=$(lab_topo_requests_close client "$short" "$url")
((ok == short)) || lab_fail "200s online gave to short requests" "$short" "$ok"
ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url")
((ok == conns * per)) || lab_fail "200s online gave to keep-alive requests" "$((conns * per))" "$ok"
online_sessions=$(lab_topo_connections online)
((online_sessions == short + conns)) ||
    lab_fail "connections online served" "$((short + conns))" "$online_sessions"

# Wait for the copies to settle (the count the target will reach is not known in advance).
sleep 1
lab_topo_wait_served target 1 30 >/dev/null || lab_fail "requests the target served" ">0" 0
lab_topo_expect_idle tcpcopy
lab_expect_clean_stop tcpcopy
started=$(lab_topo_stat tcpcopy sessions_started)
skipped=$(lab_topo_stat tcpcopy sessions_skipped_by_rate)
((started + skipped == online_sessions)) ||
    lab_fail "tcpcopy sessions_started + sessions_skipped_by_rate" "$online_sessions" \
        "$started + $skipped"
lab_topo_expect_stat tcpcopy sessions_completed == "$started"

# Sessions by what they carried: the URI's close=I or conn=C names the original connection.
session_table() { # NODE: "CONNECTION SESSION REQUESTS", one line per connection
    _lab_topo_select "$1" / any | awk '{
        id = $8; sub(/^[^?]*\?/, "", id); sub(/&req=.*/, "", id)
        if (($3 in session) && session[$3] != id) mixed[$3] = 1
        session[$3] = id; n[$3]++
    } END { for (c in n) print c, (c in mixed ? "MIXED" : session[c]), n[c] }' | sort -k2,2
}
session_table online >"$LAB_DIR/sessions-online"
session_table target >"$LAB_DIR/sessions-target"
served_sessions=$(wc -l <"$LAB_DIR/sessions-target")
served_short=$(lab_topo_connections target / close)
served_keep=$(lab_topo_connections target / keepalive)
percent=$(awk -v t="$served_sessions" -v o="$online_sessions" 'BEGIN { printf "%.2f", 100 * t / o }')
summary="-r $rate: target served $served_sessions of $online_sessions sessions ($percent%;"
summary+=" $served_short of $short short, $served_keep of $conns keep-alive)"
lab_log "$summary"
((served_sessions == started)) || lab_fail "sessions the target served" "$started (started)" \
    "$served_sessions"
awk -v p="$percent" -v r="$rate" -v t="$tolerance" 'BEGIN { exit !(p >= r - t && p <= r + t) }' ||
    lab_fail "share of sessions the target served" "$rate% +/- $tolerance" "$percent%"

# Whole: every target connection carried one original session (not MIXED), each session at most
# once, with as many requests as the original connection had.
mixed=$(awk '$2 == "MIXED"' "$LAB_DIR/sessions-target" | wc -l)
((mixed == 0)) || lab_fail "target connections carrying requests of several sessions" 0 "$mixed"
twice=$(awk '{ print $2 }' "$LAB_DIR/sessions-target" | uniq -d | wc -l)
((twice == 0)) || lab_fail "sessions the target served more than once" 0 "$twice"
partial=$(join -1 2 -2 2 -o 1.3,2.3,0 "$LAB_DIR/sessions-target" "$LAB_DIR/sessions-online" |
    awk '$1 != $2' | wc -l)
unknown=$(join -1 2 -2 2 -v 1 "$LAB_DIR/sessions-target" "$LAB_DIR/sessions-online" | wc -l)
((partial == 0)) || lab_fail "served sessions with fewer or more requests than the original" 0 "$partial"
((unknown == 0)) || lab_fail "served sessions the online server never saw" 0 "$unknown"

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_log "PASS fleet_rate: $summary, every one whole"
