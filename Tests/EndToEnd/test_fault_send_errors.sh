#!/usr/bin/env bash
# Raw send failures on the online host, with traffic flowing: EPERM (an OUTPUT DROP rule in the
# online namespace for one copied packet in four, as a full conntrack table produces) and
# EMSGSIZE (the path to the target narrowed to a 1000-byte MTU under tcpcopy -M 1500, then a
# request bigger than that). Each is counted per errno (send_error_EPERM, send_error_EMSGSIZE),
# tcpcopy carries on, and copying is exact again once the cause is gone.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix fault_send_errors)
ipt=$(lab_iptables)
drop_rule=(OUTPUT -d "$LAB_TARGET_IP" -p tcp --dport 80 -m statistic --mode nth --every 4 --packet 0 -j DROP)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -M 1500 -t 10

# EPERM: one copied packet in four refused by the online host's own firewall.
lab_exec online "$ipt" -I "${drop_rule[@]}"
ok=$(lab_requests_close 100)
((ok == 100)) || lab_fail "online's answers with the DROP rule" 100 "$ok"
sleep 2
safety_stats tcpcopy
eperm=$(safety_stat tcpcopy send_error_EPERM)
((eperm > 0)) || lab_fail "tcpcopy's send_error_EPERM" ">0" "$eperm"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy after EPERM" "alive" "exited"
lab_exec online "$ipt" -D "${drop_rule[@]}"
safety_wait_idle tcpcopy
lab_log "EPERM counted $eperm times; copies served under the rule: $(lab_nginx_count target) of $(lab_nginx_count online)"
safety_expect_fresh_copies 50 "after the DROP rule was removed"

# EMSGSIZE: a 1400-byte request on a path whose MTU is now 1000.
lab_exec online ip link set to-target mtu 1000
pad=$(head -c 1300 /dev/zero | tr '\0' x)
code=$(lab_http_code client "http://$LAB_ONLINE_IP/?big=1" -H "X-Pad: $pad" --max-time 5)
[[ $code == 200 ]] || lab_fail "online's answer to the big request" 200 "$code"
sleep 1
safety_stats tcpcopy
emsgsize=$(safety_stat tcpcopy send_error_EMSGSIZE)
((emsgsize > 0)) || lab_fail "tcpcopy's send_error_EMSGSIZE" ">0" "$emsgsize"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy after EMSGSIZE" "alive" "exited"
lab_exec online ip link set to-target mtu 1500
safety_wait_idle tcpcopy
safety_expect_fresh_copies 50 "after the MTU was restored"

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_log "PASS fault_send_errors: send_error_EPERM=$eperm send_error_EMSGSIZE=$emsgsize, tcpcopy carried on"
