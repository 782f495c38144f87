#!/usr/bin/env bash
# intercept --install-rule stops while tcpcopy copies (issue 27, item 1), with real client
# traffic flowing (well under 1,000 req/s) and a capture in the client namespace:
#   1. two SIGTERM + restarts, as `systemctl restart` does: the rule stays in place throughout
#      (13f11b9 removed it at every SIGTERM: 6,011 target packets leaked over two restarts);
#   2. intercept under a descriptor limit low enough that accept() fails with EMFILE: counted
#      and logged, intercept keeps running and copying (13f11b9 exited and removed the rule);
#   3. intercept never coming back: tcpcopy sends the target nothing but RSTs from the moment
#      the link drops, and the sessions that would start are counted (sessions_without_link).
# Not one target packet reaches the client namespace.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix safety_intercept_stop)
ipt=iptables-legacy
command -v "$ipt" >/dev/null || lab_die "iptables-legacy is needed (intercept manages the legacy tables)"
command -v prlimit >/dev/null || lab_die "prlimit (util-linux) is needed"

queue_rule="-A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 0"
expect_rule() {
    lab_exec target "$ipt" -S OUTPUT | grep -qx -- "$queue_rule" ||
        lab_fail "the NFQUEUE rule $1" "'$queue_rule'" "$(lab_exec target "$ipt" -S OUTPUT | tr '\n' ';')"
}

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept0 --install-rule --service-port 80
expect_rule "after start"
lab_tcpcopy_start tcpcopy -x "80-$LAB_TARGET_IP:80" -t 10
safety_expect_fresh_copies 20 "at the start"
tlog=$(lab_daemon_log tcpcopy)

# 1. Two restarts as systemd does them: SIGTERM, wait for the exit, start again.
safety_traffic_start 10
for round in 1 2; do
    sleep 2
    lab_expect_clean_stop "intercept$((round - 1))"
    expect_rule "after SIGTERM $round"
    lab_intercept_start "intercept$round" --install-rule --service-port 80
    lab_retry 400 0.1 bash -c "(( \$(grep -c 'reconnected to intercept' '$tlog') >= $round ))" ||
        lab_fail "tcpcopy reconnecting after restart $round" "within 40 s" "no"
done
sleep 2
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers across the restarts" "$sent" "$ok"
leaked=$(lab_capture_count leak "src host $LAB_TARGET_IP")
lab_log "restarts: $sent requests online, $leaked target packets in the client namespace (13f11b9: 6011)"
((leaked == 0)) || safety_expect_no_target_leak leak
safety_expect_fresh_copies 20 "after two restarts"

# 2. Out of descriptors: the next accept() fails with EMFILE.
ipid=$(lab_daemon_pid intercept2)
open_fds=$(find "/proc/$ipid/fd" -mindepth 1 | wc -l)
soft=$(prlimit --pid "$ipid" --nofile --noheadings --output SOFT | tr -d ' ')
prlimit --pid "$ipid" --nofile="$open_fds:"
safety_traffic_start 10
safety_py online control_hog.py slots "$LAB_TARGET_IP" "$LAB_CONTROL_PORT" --count 4 --seconds 4 >"$LAB_DIR/slots.out"
lab_log "$(cat "$LAB_DIR/slots.out")"
safety_wait_log intercept2 "accept\(\) on the control port failed: .*EMFILE" 5
lab_daemon_alive intercept2 || lab_fail "intercept out of descriptors" "still running" "exited"
expect_rule "with accept() failing"
safety_stats intercept2
(($(safety_stat intercept2 accept_error_EMFILE) > 0)) ||
    lab_fail "intercept's accept_error_EMFILE" ">0" "$(safety_stat intercept2 accept_error_EMFILE)"
prlimit --pid "$ipid" --nofile="$soft:"
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers while accept failed" "$sent" "$ok"
safety_expect_fresh_copies 20 "after accept() failed (the link never dropped)"

# 3. intercept stops for good: tcpcopy sends the target nothing but RSTs.
lab_capture_start to-target target "src host $LAB_CLIENT_IP and dst port 80"
safety_traffic_start 10
sleep 1
lab_expect_clean_stop intercept2
safety_wait_log tcpcopy "intercept said goodbye" 5
after_stop=$(date +%s.%N)
sleep 6
read -r ok sent < <(safety_traffic_stop 10)
((ok == sent && sent > 0)) || lab_fail "online's answers with intercept gone" "$sent" "$ok"
expect_rule "with intercept gone"
lab_capture_stop to-target
# Packets to the target after the goodbye was handled (a 0.2 s grace for those in flight).
late=$(tcpdump -r "$LAB_DIR/to-target.pcap" -n -tt 2>/dev/null |
    awk -v t="$after_stop" '$1 > t + 0.2 && $0 !~ /Flags \[R/' | wc -l)
safety_stats tcpcopy
without=$(safety_stat tcpcopy sessions_without_link)
lab_log "intercept gone: $sent requests online, sessions_without_link=$without, $late non-RST packets to the target"
((late == 0)) || lab_fail "packets tcpcopy sent to the target without a link (RSTs aside)" 0 "$late"
((without > 0)) || lab_fail "tcpcopy's sessions_without_link" ">0" "$without"

lab_expect_clean_stop tcpcopy
lab_capture_stop leak
lab_expect_no_leak leak
lab_exec target "$ipt" -D OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0
lab_log "PASS safety_intercept_stop: 2 restarts, EMFILE, intercept gone: 0 target packets leaked (13f11b9: 6011 over two restarts), $without sessions held back"
