#!/usr/bin/env bash
# intercept --install-rule: the NFQUEUE rule appears in the legacy filter table when intercept
# starts and stays after every exit (SIGTERM, SIGINT, SIGKILL: the port stays fail-closed);
# only --remove-rule-on-exit removes exactly that rule, on SIGTERM or SIGINT, leaving every other
# rule alone. A rule that was there before is used and left in place. Without --install-rule and without a rule, intercept warns. --queue-bypass installs
# the bypass variant, and the port then answers while no intercept runs (the documented risk).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix safety_rule_lifecycle)
ipt=iptables-legacy
command -v "$ipt" >/dev/null || lab_die "iptables-legacy is needed (intercept manages the legacy tables)"

output_rules() { lab_exec target "$ipt" -S OUTPUT | grep -v '^-P' || true; }
expect_rules() {
    local when=$1 want=$2 got
    got=$(output_rules)
    [[ $got == "$want" ]] || lab_fail "target OUTPUT rules $when" "'$want'" "'$got'"
}
queue_rule="-A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 3"
other_rule="-A OUTPUT -p udp -m udp --dport 9999 -j ACCEPT"

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
export LAB_QUEUE=3
# A rule of someone else's, which must survive everything below.
lab_exec target "$ipt" -A OUTPUT -p udp --dport 9999 -j ACCEPT
expect_rules "at the start" "$other_rule"

# 1. Without --install-rule and without a rule: a clear warning.
lab_intercept_start plain --queue 3
safety_wait_log plain "no NFQUEUE rule for queue 3 .*REACH THE REAL CLIENTS" 5
lab_expect_clean_stop plain

# 2. Installed on start, copying works through it, kept after SIGTERM (the default).
lab_intercept_start installer --queue 3 --install-rule --service-port 80
expect_rules "while intercept runs" "$queue_rule
$other_rule"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
safety_expect_fresh_copies 20 "through the installed rule"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop installer
expect_rules "after SIGTERM (kept: the port stays dark)" "$queue_rule
$other_rule"
if grep -q "removed '-A OUTPUT" "$(lab_daemon_log installer)"; then
    lab_fail "installer's log" "no removal without --remove-rule-on-exit" "a removal"
fi
lab_exec target "$ipt" -D OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 3

# 2b. --remove-rule-on-exit: exactly that rule removed on SIGTERM.
lab_intercept_start remover --queue 3 --install-rule --service-port 80 --remove-rule-on-exit
expect_rules "while intercept --remove-rule-on-exit runs" "$queue_rule
$other_rule"
lab_expect_clean_stop remover
expect_rules "after SIGTERM with --remove-rule-on-exit" "$other_rule"
grep -q "removed '-A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 3'" "$(lab_daemon_log remover)" ||
    lab_fail "remover's log" "the removal" "none"

# 3. SIGINT with --remove-rule-on-exit removes it too.
lab_intercept_start installer-int --queue 3 --install-rule --service-port 80 --remove-rule-on-exit
expect_rules "while intercept runs (2)" "$queue_rule
$other_rule"
kill -INT "$(lab_daemon_pid installer-int)"
lab_retry 100 0.1 bash -c "! kill -0 $(lab_daemon_pid installer-int) 2>/dev/null" ||
    lab_fail "intercept on SIGINT" "exit within 10 s" "still running"
expect_rules "after SIGINT" "$other_rule"

# 4. SIGKILL leaves it (the port stays dark: fail-closed); a restart adopts it and leaves it.
lab_intercept_start installer-kill --queue 3 --install-rule --service-port 80
lab_daemon_kill installer-kill
expect_rules "after SIGKILL" "$queue_rule
$other_rule"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 2 --interface "$LAB_ADMIN_IP")
[[ $code == 000 ]] || lab_fail "target port with the rule left behind" "dark (000)" "$code"
lab_intercept_start adopter --queue 3 --install-rule --service-port 80
safety_wait_log adopter "already in the legacy filter table; using it, and leaving it in place" 5
lab_expect_clean_stop adopter
expect_rules "after the adopter stopped" "$queue_rule
$other_rule"
lab_exec target "$ipt" -D OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 3

# 5. --queue-bypass: installed as such; with intercept gone (SIGKILL) the port answers anyone.
lab_intercept_start bypass --queue 3 --install-rule --service-port 80 --queue-bypass "$LAB_ADMIN_IP"
expect_rules "with --queue-bypass" "$queue_rule --queue-bypass
$other_rule"
safety_wait_log bypass "queue-bypass: while intercept is not running" 5
lab_daemon_kill bypass
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3)
[[ $code == 200 ]] || lab_fail "target port under --queue-bypass with no intercept (the risk)" 200 "$code"
lab_exec target "$ipt" -D OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 3 --queue-bypass
expect_rules "at the end" "$other_rule"

# 6. Bad combinations are refused before anything is touched.
for args in "--install-rule" "--queue-bypass" "--service-port 80" "--remove-rule-on-exit"; do
    # shellcheck disable=SC2086
    if lab_exec target "$(lab_bin intercept)" $args >"$LAB_DIR/bad.out" 2>&1; then
        lab_fail "intercept $args" "refused" "started"
    fi
done
lab_log "PASS safety_rule_lifecycle: installed, kept after SIGTERM and SIGKILL, removed on SIGTERM and SIGINT only with --remove-rule-on-exit, others' rules untouched"
