#!/usr/bin/env bash
# The systemd units in packaging/: systemd-analyze verify finds nothing to say about them, and
# each daemon started as its unit starts it (a non-root user, exactly the unit's
# AmbientCapabilities and bounding set, NoNewPrivileges, its ExecStart) copies, reopens its log
# on the unit's ExecReload signal, and stops cleanly on its KillSignal, intercept leaving the
# rule it installed in place (a restart of the unit leaks nothing).
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix service_units)
units=$LAB_REPO_DIR/packaging

lab_init
# unit_value UNIT KEY: the value of KEY= in packaging/UNIT.service.
unit_value() {
    sed -n "s/^$2=//p" "$units/$1.service" | head -n 1
}

# 1. systemd-analyze verify, with ExecStart pointing at the built binaries.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$LAB_DIR/units"
    for unit in tcpcopy intercept; do
        sed "s#/usr/local/bin/#$(dirname "$(lab_bin tcpcopy)")/#" "$units/$unit.service" >"$LAB_DIR/units/$unit.service"
    done
    said=$(cd "$LAB_DIR/units" && timeout 30 systemd-analyze verify ./tcpcopy.service ./intercept.service 2>&1) ||
        lab_fail "systemd-analyze verify" "exit 0" "$said"
    [[ -z $said ]] || lab_fail "systemd-analyze verify" "no complaint" "$said"
else
    lab_log "systemd-analyze not installed: unit syntax not verified"
fi

# 2. Run each daemon as its unit would.
for unit in tcpcopy intercept; do
    caps=$(unit_value "$unit" AmbientCapabilities)
    [[ $caps == "CAP_NET_RAW CAP_NET_ADMIN" ]] || lab_fail "$unit's AmbientCapabilities" "CAP_NET_RAW CAP_NET_ADMIN" "$caps"
    [[ $(unit_value "$unit" CapabilityBoundingSet) == "$caps" ]] || lab_fail "$unit's bounding set" "$caps" "other"
    [[ $(unit_value "$unit" User) != root && -n $(unit_value "$unit" User) ]] || lab_fail "$unit's User" "a non-root user" "root or none"
    # shellcheck disable=SC2016  # systemd's $MAINPID, literally
    [[ $(unit_value "$unit" ExecReload) == '/bin/kill -HUP $MAINPID' ]] || lab_fail "$unit's ExecReload" "kill -HUP" "other"
    [[ $(unit_value "$unit" KillSignal) == SIGTERM ]] || lab_fail "$unit's KillSignal" SIGTERM "other"
done
setcaps=$(unit_value tcpcopy AmbientCapabilities | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
as_unit=(setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --inh-caps="-all,$setcaps"
    --ambient-caps="-all,$setcaps" --bounding-set="-all,$setcaps" --)
exec_start() {
    unit_value "$1" ExecStart | sed "s#^/usr/local/bin/$1 \\\$[A-Z_]*OPTIONS##"
}
[[ -z $(exec_start tcpcopy) && -z $(exec_start intercept) ]] ||
    lab_fail "the units' ExecStart" "BINARY \$OPTIONS" "$(unit_value tcpcopy ExecStart)"

lab_create
lab_nginx_start online
lab_nginx_start target
logs=$LAB_DIR/unit-logs
mkdir -p "$logs"
chmod 0777 "$logs"
lab_daemon_start intercept target "${as_unit[@]}" "$(lab_bin intercept)" --install-rule --service-port 80 \
    -l "$logs/intercept.log"
_lab_wait_daemon intercept 10 lab_queue_bound target 0 || lab_fail "intercept as its unit" "queue 0 bound" "not"
_lab_wait_daemon intercept 10 _lab_listening target "$LAB_CONTROL_PORT" || lab_fail "intercept as its unit" "listening" "not"
lab_daemon_start tcpcopy online "${as_unit[@]}" "$(lab_bin tcpcopy)" -x "80-$LAB_TARGET_IP:80" -l "$logs/tcpcopy.log"
_lab_wait_daemon tcpcopy 10 _lab_established online "$LAB_CONTROL_PORT" || lab_fail "tcpcopy as its unit" "connected" "not"
sleep 0.3
ok=$(lab_requests_close 20)
[[ $ok == 20 ]] || lab_fail "requests answered by online" 20 "$ok"
got=$(lab_wait_count target 20 10) || lab_fail "copies served by the target" 20 "$got"

# ExecReload after logrotate; then KillSignal.
for d in tcpcopy intercept; do
    mv "$logs/$d.log" "$logs/$d.log.1"
    kill -HUP "$(lab_daemon_pid "$d")"
    kill -USR1 "$(lab_daemon_pid "$d")"
    lab_retry 50 0.1 grep -q 'stats:' "$logs/$d.log" || lab_fail "$d's log after ExecReload" "reopened" "not"
    lab_daemon_stop "$d" 10 || lab_fail "$d on SIGTERM" "exit within 10 s" "had to SIGKILL it"
done
rules=$(lab_exec target "$(lab_iptables)" -S OUTPUT | grep -c NFQUEUE || true)
[[ $rules == 1 ]] || lab_fail "NFQUEUE rules after intercept stopped (kept: the port stays dark)" 1 "$rules"
if grep -q "removed '-A OUTPUT" "$logs/intercept.log"; then
    lab_fail "intercept's log" "the rule kept" "removed"
fi
lab_exec target "$(lab_iptables)" -D OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0

lab_log "PASS service_units: verified, copied $got of 20 as nobody with the units' capabilities"
