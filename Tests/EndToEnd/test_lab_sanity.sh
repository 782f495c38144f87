#!/usr/bin/env bash
# The lab itself, without the daemons: routing, both nginx servers, the rule, and the capture
# that the other tests rely on to see leaks. Without the positive control here (a leak the
# capture does see) a "0 leaked packets" elsewhere could just mean a broken capture.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix lab_sanity)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target

# 1. The client reaches the online server, and (through online's forwarding) the target.
code=$(lab_http_code client "http://$LAB_ONLINE_IP/")
[[ $code == 200 ]] || lab_fail "client -> online:80" "200" "$code"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5)
[[ $code == 200 ]] || lab_fail "client -> target:80 without the rule" "200" "$code"

# 2. The access logs count requests and carry the fields the tests read.
ok=$(lab_requests_close 10)
[[ $ok == 10 ]] || lab_fail "10 Connection: close requests to online" "10 x 200" "$ok"
ok=$(lab_requests_keepalive 3 4)
[[ $ok == 12 ]] || lab_fail "3 keep-alive connections x 4 requests" "12 x 200" "$ok"
n=$(lab_nginx_count online)
[[ $n == 23 ]] || lab_fail "online access-log lines" 23 "$n"
conns=$(lab_nginx_connections online)
# 1 + 10 one-request connections + 3 keep-alive ones.
[[ $conns == 14 ]] || lab_fail "distinct connections in online's log" 14 "$conns"
maxreq=$(awk '$1 == "'"$LAB_CLIENT_IP"'" { if ($4 > m) m = $4 } END { print m + 0 }' \
    "$(lab_nginx_access_log online)")
[[ $maxreq == 4 ]] || lab_fail "most requests on one keep-alive connection" 4 "$maxreq"

# 3. Positive control: with no rule, target responses do reach the client namespace, and the
#    capture the copy tests use counts them.
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5)
[[ $code == 200 ]] || lab_fail "client -> target:80 during capture" "200" "$code"
code=$(lab_http_code client "http://$LAB_ONLINE_IP/" --max-time 5)
sleep 0.3
seen=$(lab_capture_count leak "src host $LAB_TARGET_IP")
((seen > 0)) || lab_fail "target packets captured in client ns with no rule" ">0" "$seen"
seen_online=$(lab_capture_count leak "src host $LAB_ONLINE_IP")
((seen_online > 0)) || lab_fail "online packets captured in client ns" ">0" "$seen_online"
lab_capture_stop leak

# 4. The rule with nobody reading the queue: the port is dark, nothing reaches the client.
lab_rules_apply target 80 0
lab_rules_show target | grep -q -- '--queue-num 0' ||
    lab_fail "rule listed in target" "an NFQUEUE rule" "$(lab_rules_show target)"
# Applying twice must not add a second copy.
lab_rules_apply target 80 0 2>/dev/null
copies=$(lab_rules_show target | grep -c -- '-j NFQUEUE' || true)
[[ $copies == 1 ]] || lab_fail "NFQUEUE rules after applying twice" 1 "$copies"

lab_capture_start dark client "host $LAB_TARGET_IP"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3)
[[ $code == 000 ]] || lab_fail "client -> target:80 with the rule and no intercept" \
    "no response (000)" "$code"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3 --interface "$LAB_ADMIN_IP")
[[ $code == 000 ]] || lab_fail "admin -> target:80 with the rule and no intercept" \
    "no response (000)" "$code"
leaked=$(lab_capture_count dark "src host $LAB_TARGET_IP")
if ((leaked != 0)); then
    lab_capture_show dark "src host $LAB_TARGET_IP"
    lab_fail "target packets in client ns with the rule and no intercept" 0 "$leaked"
fi
sent=$(lab_capture_count dark "dst host $LAB_TARGET_IP")
((sent > 0)) || lab_fail "client SYNs to the target seen by the capture" ">0" "$sent"
# The target did receive the SYNs (its nginx would answer): it is the rule that holds them.
lab_capture_stop dark

# 5. Removing the rule brings the port back.
lab_rules_remove target 80 0
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5)
[[ $code == 200 ]] || lab_fail "client -> target:80 after removing the rule" "200" "$code"

lab_log "PASS lab_sanity"
