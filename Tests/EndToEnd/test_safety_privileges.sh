#!/usr/bin/env bash
# Both daemons run without root, as user nobody, holding only CAP_NET_RAW and CAP_NET_ADMIN
# (ambient capabilities from setpriv, and file capabilities from setcap), and copy exactly;
# intercept even installs its rule and, with --remove-rule-on-exit, removes it. Without those capabilities each says which one
# it lacks and exits non-zero.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix safety_privileges)

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
with_caps=("${nobody[@]}" --inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin
    --bounding-set=-all,+net_raw,+net_admin --)
without_caps=("${nobody[@]}" --inh-caps=-all --bounding-set=-all --)

# expect_identity NAME: the daemon runs as uid 65534 with exactly CAP_NET_RAW and CAP_NET_ADMIN.
expect_identity() {
    local pid status uid eff
    pid=$(lab_daemon_pid "$1")
    status=$(cat "/proc/$pid/status")
    uid=$(awk '/^Uid:/ { print $3 }' <<<"$status")
    eff=$(awk '/^CapEff:/ { print $2 }' <<<"$status")
    [[ $uid == 65534 ]] || lab_fail "$1's effective uid" 65534 "$uid"
    [[ $eff == 0000000000003000 ]] || lab_fail "$1's effective capabilities" "0000000000003000 (NET_ADMIN, NET_RAW)" "$eff"
}

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
intercept_bin=$(lab_bin intercept)
tcpcopy_bin=$(lab_bin tcpcopy)

# 1. No capabilities: each names what it lacks and exits non-zero.
if lab_exec target "${without_caps[@]}" "$intercept_bin" >"$LAB_DIR/nocap-intercept.out" 2>&1; then
    lab_fail "intercept without capabilities" "a non-zero exit" "exit 0"
fi
grep -q "intercept lacks CAP_NET_ADMIN" "$LAB_DIR/nocap-intercept.out" ||
    lab_fail "intercept's message without capabilities" "names CAP_NET_ADMIN" "$(cat "$LAB_DIR/nocap-intercept.out")"
if lab_exec online "${without_caps[@]}" "$tcpcopy_bin" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 \
    >"$LAB_DIR/nocap-tcpcopy.out" 2>&1; then
    lab_fail "tcpcopy without capabilities" "a non-zero exit" "exit 0"
fi
grep -q "tcpcopy lacks CAP_NET_RAW" "$LAB_DIR/nocap-tcpcopy.out" ||
    lab_fail "tcpcopy's message without capabilities" "names CAP_NET_RAW" "$(cat "$LAB_DIR/nocap-tcpcopy.out")"
lab_log "without capabilities: $(grep -ho 'lacks CAP_[A-Z_]*' "$LAB_DIR"/nocap-*.out | tr '\n' ' ')"

# 2. Only CAP_NET_RAW and CAP_NET_ADMIN (ambient), as nobody: intercept installs its own rule.
lab_daemon_start intercept target "${with_caps[@]}" "$intercept_bin" --install-rule --service-port 80 \
    --remove-rule-on-exit
_lab_wait_daemon intercept 10 lab_queue_bound target 0 || lab_die "intercept did not bind its queue"
_lab_wait_daemon intercept 10 _lab_listening target "$LAB_CONTROL_PORT" || lab_die "intercept did not listen"
lab_daemon_start tcpcopy online "${with_caps[@]}" "$tcpcopy_bin" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
_lab_wait_daemon tcpcopy 10 _lab_established online "$LAB_CONTROL_PORT" || lab_die "tcpcopy did not connect"
sleep 0.3
expect_identity intercept
expect_identity tcpcopy
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
safety_expect_fresh_copies 30 "with both daemons unprivileged"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
rules=$(lab_exec target iptables-legacy -S OUTPUT | grep -c NFQUEUE || true)
((rules == 0)) || lab_fail "NFQUEUE rules left after the unprivileged intercept stopped" 0 "$rules"

# 3. File capabilities (setcap), the documented deployment: nobody with no capability of its own.
if command -v setcap >/dev/null 2>&1; then
    mkdir -p "$LAB_DIR/bin"
    cp "$intercept_bin" "$LAB_DIR/bin/intercept"
    chmod 0755 "$LAB_DIR/bin" "$LAB_DIR/bin/intercept"
    setcap cap_net_raw,cap_net_admin+ep "$LAB_DIR/bin/intercept"
    lab_rules_apply target 80 0
    lab_daemon_start intercept-setcap target "${nobody[@]}" --inh-caps=-all -- "$LAB_DIR/bin/intercept"
    _lab_wait_daemon intercept-setcap 10 lab_queue_bound target 0 || lab_die "intercept (setcap) did not bind its queue"
    expect_identity intercept-setcap
    lab_expect_clean_stop intercept-setcap
    lab_log "setcap cap_net_raw,cap_net_admin+ep: intercept ran as nobody"
else
    lab_log "setcap not installed (Debian: libcap2-bin); file-capability case skipped"
fi
lab_log "PASS safety_privileges: both daemons copied as nobody with CAP_NET_RAW+CAP_NET_ADMIN only"
