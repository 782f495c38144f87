#!/usr/bin/env bash
# The NFQUEUE rule disappears under a running intercept (a firewall reload: iptables -F OUTPUT),
# with real client traffic being copied (issue 27, item 2):
#   1. intercept --install-rule puts it back within 2 s; the target packets that reached the
#      client namespace in that window are counted and printed (13f11b9: the rule never came
#      back, and every response from then on leaked);
#   2. without --install-rule, intercept logs an error at every check (within 2 s) and shows it:
#      rule_missing=1 in the stats line, intercept_rule_present 0 on the metrics endpoint
#      (13f11b9: nothing logged, nothing shown);
#   3. tcpcopy registering sessions for a target port the rule does not queue draws a warning.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix safety_rule_flush)
ipt=iptables-legacy
command -v "$ipt" >/dev/null || lab_die "iptables-legacy is needed (intercept manages the legacy tables)"
rule_present() { lab_exec target "$ipt" -S OUTPUT | grep -q -- "-j NFQUEUE --queue-num 0"; }
metrics="$LAB_TARGET_IP:9464"

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"

# 1. --install-rule: flushed mid-run, back within 2 s.
lab_intercept_start installer --install-rule --service-port 80
lab_tcpcopy_start tcpcopy -x "80-$LAB_TARGET_IP:80" -t 10
safety_expect_fresh_copies 20 "before the flush"
safety_traffic_start 10
sleep 2
before=$(lab_capture_count leak "src host $LAB_TARGET_IP")
flushed=$(date +%s%N)
lab_exec target "$ipt" -F OUTPUT
back=""
for ((i = 0; i < 100; i++)); do
    if rule_present; then
        back=$((($(date +%s%N) - flushed) / 1000000))
        break
    fi
    sleep 0.05
done
sleep 2
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers around the flush" "$sent" "$ok"
leaked=$(($(lab_capture_count leak "src host $LAB_TARGET_IP") - before))
lab_log "flush with --install-rule: rule back after ${back:-never} ms; $leaked target packets reached the client namespace in that window ($sent requests online)"
[[ -n $back ]] || lab_fail "the rule after the flush" "back within 2 s" "not back within 5 s"
((back <= 2000)) || lab_fail "time until the rule was back" "<= 2000 ms" "$back ms"
safety_wait_log installer "had disappeared .* and is put back" 2
safety_stats installer
(($(safety_stat installer rule_reinstalled) == 1)) ||
    lab_fail "intercept's rule_reinstalled" 1 "$(safety_stat installer rule_reinstalled)"
safety_expect_fresh_copies 20 "after the rule came back"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop installer
lab_capture_stop leak

# 2. Without --install-rule: the operator's rule flushed: an error within 2 s, and shown.
lab_exec target "$ipt" -F OUTPUT  # the installer's rule stayed (by design)
lab_rules_apply target 80 0
lab_intercept_start watcher --metrics-listen "$metrics"
lab_tcpcopy_start tcpcopy2 -x "80-$LAB_TARGET_IP:80" -t 10
safety_expect_fresh_copies 10 "with the operator's rule"
present=$(lab_metric "$(lab_scrape target "$metrics")" intercept_rule_present)
((present == 1)) || lab_fail "intercept_rule_present with the rule" 1 "$present"
lab_exec target "$ipt" -F OUTPUT
safety_wait_log watcher "no NFQUEUE rule for queue 0 .*REACH THE REAL CLIENTS" 2
sleep 1.5
# Two checks a second: at least two errors.
errors=$(grep -c "error intercept: .*no NFQUEUE rule for queue 0" "$(lab_daemon_log watcher)" || true)
((errors >= 2)) || lab_fail "errors logged while the rule is missing (one per check)" ">= 2 in 1.5 s" "$errors"
present=$(lab_metric "$(lab_scrape target "$metrics")" intercept_rule_present)
((present == 0)) || lab_fail "intercept_rule_present with the rule flushed" 0 "$present"
safety_stats watcher
(($(safety_stat watcher rule_missing) == 1)) || lab_fail "intercept's rule_missing" 1 "$(safety_stat watcher rule_missing)"
lab_rules_apply target 80 0
for ((i = 0; i < 30; i++)); do
    present=$(lab_metric "$(lab_scrape target "$metrics")" intercept_rule_present)
    ((present == 1)) && break
    sleep 0.1
done
((present == 1)) || lab_fail "intercept_rule_present once the rule is back" "1 within 3 s" "$present"
lab_log "flush without --install-rule: $errors errors logged in 1.5 s, rule_missing=1, intercept_rule_present 0, then 1 once restored"

# 3. A rule for another port: tcpcopy's registrations for port 80 draw a warning.
lab_exec target "$ipt" -F OUTPUT
lab_exec target "$ipt" -A OUTPUT -p tcp --sport 8080 -j NFQUEUE --queue-num 0
sleep 1.5  # intercept's next rule check reads the new rule
lab_requests_close 3 >/dev/null
safety_wait_log watcher "registers sessions for target port 80, which the NFQUEUE rule for queue 0 does not queue" 5
lab_expect_clean_stop tcpcopy2
lab_expect_clean_stop watcher
lab_exec target "$ipt" -F OUTPUT
lab_log "PASS safety_rule_flush: rule back in $back ms ($leaked packets leaked meanwhile), missing rule logged and exposed, uncovered port warned"
