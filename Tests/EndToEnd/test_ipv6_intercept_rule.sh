#!/usr/bin/env bash
# intercept over IPv6, first step (issue 24; docs/ipv6.md): addresses from fd00::/8 only.
#   1. --install-rule installs the ip6tables rule beside the iptables one (libip6tc);
#   2. fail-closed: the client's IPv6 connection to the target's nginx ([addr]:80) gets no
#      answer, and not one target packet reaches the client namespace; the allow-listed IPv6
#      admin address (--allow [ADDR],IPv4) gets its answer; counted ipv6_dropped, ipv6_accepted;
#   3. ip6tables -F OUTPUT: the rule is back within 2 s, the IPv4 rule untouched;
#   4. --remove-rule-on-exit removes both rules on SIGTERM;
#   5. scripts: rules.sh applies and removes both families;
#   7. intercept doctor --ipv6: rule6 ok with the rule, FAULT without it;
#   6. the control port listens on IPv6 too: a peer in --tcpcopy-allow [ADDR] is admitted, an
#      IPv6 peer outside it refused (and logged with its bracketed address).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix ipv6_intercept_rule)
ipt=iptables-legacy
ip6t=ip6tables-legacy
command -v "$ip6t" >/dev/null || lab_die "ip6tables-legacy is needed (intercept manages the legacy tables)"
rule4_present() { lab_exec target "$ipt" -S OUTPUT | grep -q -- "--sport 80 -j NFQUEUE --queue-num 0"; }
rule6_present() { lab_exec target "$ip6t" -S OUTPUT | grep -q -- "-p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 0"; }
url="http://[$LAB_TARGET_IP6]/"

lab_init
lab_create
lab_add_ipv6
LAB_NGINX_LISTEN6="[$LAB_TARGET_IP6]:80" lab_nginx_start target

# Without any rule the IPv6 path answers (so a 000 below means intercept dropped it).
code=$(lab_http_code client "$url" -g --max-time 5 --interface "$LAB_CLIENT_IP6")
[[ $code == 200 ]] || lab_fail "client -> [target]:80 over IPv6 with no rule" 200 "$code"

lab_capture_start leak client "ip6 and host $LAB_TARGET_IP6"

# 1. Both rules installed.
lab_intercept_start installer --install-rule --service-port 80 --allow "[$LAB_ADMIN_IP6],$LAB_ADMIN_IP" \
    --tcpcopy-allow "[$LAB_ADMIN_IP6],$LAB_ONLINE_TARGET_SIDE_IP"
rule6_present || lab_fail "ip6tables OUTPUT with --install-rule" "the NFQUEUE rule" "$(lab_exec target "$ip6t" -S OUTPUT)"
rule4_present || lab_fail "iptables OUTPUT with --install-rule" "the NFQUEUE rule" "$(lab_exec target "$ipt" -S OUTPUT)"
grep -q "installed 'ip6tables -A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0'" "$(lab_daemon_log installer)" ||
    lab_fail "installer's log" "the IPv6 rule's installation" "none"

# 2. Fail-closed for the client, answered for the allow-listed admin address; IPv4 unchanged.
code=$(lab_http_code client "$url" -g --max-time 3 --interface "$LAB_CLIENT_IP6")
[[ $code == 000 ]] || lab_fail "unlisted $LAB_CLIENT_IP6 -> [target]:80" "no response (000)" "$code"
code=$(lab_http_code client "$url" -g --max-time 5 --interface "$LAB_ADMIN_IP6")
[[ $code == 200 ]] || lab_fail "allow-listed $LAB_ADMIN_IP6 -> [target]:80" 200 "$code"
code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5 --interface "$LAB_ADMIN_IP")
[[ $code == 200 ]] || lab_fail "allow-listed $LAB_ADMIN_IP -> target:80 (IPv4)" 200 "$code"

# 6. The control port over IPv6: connect from each client address, send nothing, read what
# comes within 1 s (a refused peer gets a goodbye and the close; an admitted one waits for its
# hello).
control_connect() {
    lab_exec client python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3, source_address=(sys.argv[3], 0))
s.settimeout(1)
try:
    data = s.recv(100)
    print("closed" if data == b"" else "goodbye" if data else "")
except socket.timeout:
    print("open")
' "$LAB_TARGET_IP6" "$LAB_CONTROL_PORT" "$1"
}
got=$(control_connect "$LAB_ADMIN_IP6")
[[ $got == open ]] || lab_fail "control connection from the allowed $LAB_ADMIN_IP6" "open (waiting for hello)" "$got"
got=$(control_connect "$LAB_CLIENT_IP6")
[[ $got == goodbye || $got == closed ]] || lab_fail "control connection from $LAB_CLIENT_IP6" "refused" "$got"
grep -q "peer=\[$LAB_ADMIN_IP6\]:[0-9]* .*tcpcopy connected" "$(lab_daemon_log installer)" ||
    lab_fail "installer's log" "tcpcopy connected from [$LAB_ADMIN_IP6]" "none"
grep -q "peer=\[$LAB_CLIENT_IP6\]:[0-9]* reason=not in --tcpcopy-allow.*refused a control connection" \
    "$(lab_daemon_log installer)" ||
    lab_fail "installer's log" "the refusal of [$LAB_CLIENT_IP6]" "none"

# 7. doctor --ipv6 with the rule in place (and the IPv4 checks as before: the control port is
# the dual-stack socket now).
rc=$(lab_doctor doctor6 target intercept --port 80 --ipv6 --tcpcopy-host "$LAB_ONLINE_TARGET_SIDE_IP")
((rc == 0)) || lab_fail "intercept doctor --ipv6 on a healthy target" "exit 0" "exit $rc"
lab_expect_finding doctor6 ok "ip6tables -A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0 queues port 80"
lab_expect_finding doctor6 ok "queue 0 is read by intercept"

# 3. A firewall reload of ip6tables: back within 2 s.
flushed=$(date +%s%N)
lab_exec target "$ip6t" -F OUTPUT
back=""
for ((i = 0; i < 100; i++)); do
    if rule6_present; then
        back=$((($(date +%s%N) - flushed) / 1000000))
        break
    fi
    sleep 0.05
done
lab_log "ip6tables -F OUTPUT: the IPv6 rule back after ${back:-never} ms"
[[ -n $back ]] || lab_fail "the IPv6 rule after the flush" "back within 2 s" "not back within 5 s"
((back <= 2000)) || lab_fail "time until the IPv6 rule was back" "<= 2000 ms" "$back ms"
rule4_present || lab_fail "the IPv4 rule after ip6tables -F" "untouched" "gone"
lab_retry 30 0.1 grep -q "ip6tables .* had disappeared .* and is put back" "$(lab_daemon_log installer)" ||
    lab_fail "installer's log" "the IPv6 rule put back" "none"
code=$(lab_http_code client "$url" -g --max-time 3 --interface "$LAB_CLIENT_IP6")
[[ $code == 000 ]] || lab_fail "unlisted $LAB_CLIENT_IP6 after the rule came back" "no response (000)" "$code"

lab_expect_clean_stop installer
log=$(lab_daemon_log installer)
lab_expect_stat_positive installer ipv6_dropped
lab_expect_stat_positive installer ipv6_accepted
(($(lab_stat_int "$log" rule6_reinstalled) == 1)) ||
    lab_fail "installer's rule6_reinstalled" 1 "$(stat_value "$log" rule6_reinstalled || echo missing)"
rule6_present || lab_fail "ip6tables OUTPUT after SIGTERM" "the rule kept (the port stays dark)" "gone"

# 4. --remove-rule-on-exit: the rules are there already (someone else's now), so flush them
# first; intercept installs both and removes both on SIGTERM.
lab_exec target "$ip6t" -F OUTPUT
lab_exec target "$ipt" -F OUTPUT
lab_intercept_start remover --install-rule --service-port 80 --remove-rule-on-exit
rule6_present || lab_fail "ip6tables OUTPUT with --remove-rule-on-exit" "the rule" "none"
code=$(lab_http_code client "$url" -g --max-time 3 --interface "$LAB_CLIENT_IP6")
[[ $code == 000 ]] || lab_fail "unlisted $LAB_CLIENT_IP6 (remover)" "no response (000)" "$code"
lab_expect_clean_stop remover
if rule6_present || rule4_present; then
    lab_fail "rules after SIGTERM with --remove-rule-on-exit" "none" \
        "$(lab_exec target "$ipt" -S OUTPUT; lab_exec target "$ip6t" -S OUTPUT)"
fi

lab_capture_stop leak
to_client=$(lab_capture_count leak "src host $LAB_TARGET_IP6 and dst host $LAB_CLIENT_IP6 and tcp src port 80")
if ((to_client != 0)); then
    lab_capture_show leak "src host $LAB_TARGET_IP6 and dst host $LAB_CLIENT_IP6"
    lab_fail "target IPv6 packets to the unlisted $LAB_CLIENT_IP6" 0 "$to_client"
fi
to_admin=$(lab_capture_count leak "src host $LAB_TARGET_IP6 and dst host $LAB_ADMIN_IP6 and tcp src port 80")
((to_admin > 0)) || lab_fail "target IPv6 packets to the allow-listed $LAB_ADMIN_IP6" ">0" "$to_admin"

rc=$(lab_doctor doctor6-none target intercept --port 80 --ipv6)
((rc == 1)) || lab_fail "intercept doctor --ipv6 without the rules" "exit 1" "exit $rc"
lab_expect_finding doctor6-none FAULT "in ip6tables' OUTPUT"

# 5. rules.sh: both families, applied once, removed.
lab_rules_apply target 80 0
lab_rules_apply target 80 0 2>/dev/null
n6=$(lab_exec target "$ip6t" -S OUTPUT | grep -c -- "-j NFQUEUE" || true)
((n6 == 1)) || lab_fail "ip6tables NFQUEUE rules after rules.sh apply twice" 1 "$n6"
rule4_present || lab_fail "iptables rule after rules.sh apply" "present" "absent"
lab_rules_remove target 80 0
if rule6_present || rule4_present; then lab_fail "rules after rules.sh remove" "none" "some left"; fi

lab_log "PASS ipv6_intercept_rule: rule installed, back after $back ms, 0 target packets to $LAB_CLIENT_IP6, $to_admin to $LAB_ADMIN_IP6"
