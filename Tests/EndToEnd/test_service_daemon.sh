#!/usr/bin/env bash
# Both daemons as services: -d returns once the daemon is set up (its pid printed), -P writes
# the pid file, -l the log. SIGHUP after the log was moved away (logrotate) reopens it: the next
# lines go to a new file at the path. SIGTERM stops each cleanly: final stats, pid file removed,
# and intercept's installed rule removed (--remove-rule-on-exit). A second start with the same pid file is refused, and
# -d whose daemon fails to start exits 1.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix service_daemon)

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
run=$LAB_DIR/svc
mkdir -p "$run"

# rules_in_target: the NFQUEUE rules in the target's legacy OUTPUT chain.
rules_in_target() {
    lab_exec target "$(lab_iptables)" -S OUTPUT | grep -c NFQUEUE || true
}

# 1. intercept -d -P -l, installing its rule.
out=$(lab_exec target "$(lab_bin intercept)" -d -P "$run/intercept.pid" -l "$run/intercept.log" \
    --install-rule --service-port 80 --remove-rule-on-exit)
lab_log "intercept -d said: $out"
[[ $out == "intercept started in the background (pid "* ]] ||
    lab_fail "intercept -d's message" "started in the background (pid N)" "$out"
[[ -s $run/intercept.pid ]] || lab_fail "intercept's pid file" "written" "missing"
lab_daemon_adopt intercept "$run/intercept.pid"
ipid=$(<"$run/intercept.pid")
[[ $out == *"(pid $ipid)"* ]] || lab_fail "the pid -d printed" "$ipid (the pid file's)" "$out"
[[ $(cat "/proc/$ipid/comm") == intercept ]] || lab_fail "pid file's process" intercept "$(cat "/proc/$ipid/comm")"
# Detached: its own session, no terminal.
sid=$(awk '{ print $6 }' "/proc/$ipid/stat")
[[ $sid != "$(awk '{ print $6 }' /proc/$$/stat)" ]] || lab_fail "intercept's session" "its own" "ours"
grep -q intercepting "$run/intercept.log" || lab_fail "intercept's log" "'intercepting'" "$(tail -n 3 "$run/intercept.log")"
[[ $(rules_in_target) == 1 ]] || lab_fail "rules after intercept --install-rule" 1 "$(rules_in_target)"
lab_wait_queue target 0 5 || lab_fail "queue 0" "bound" "unbound"

# A second intercept with the same pid file is refused.
if lab_exec target "$(lab_bin intercept)" -P "$run/intercept.pid" -p 36999 --queue 5 >"$run/second.out" 2>&1; then
    lab_fail "a second intercept with the same pid file" "refused" "it ran"
fi
grep -q "already running (pid $ipid" "$run/second.out" || lab_fail "the refusal" "already running (pid $ipid" "$(cat "$run/second.out")"

# 2. tcpcopy -d -P -l.
out=$(lab_exec online "$(lab_bin tcpcopy)" -d -P "$run/tcpcopy.pid" -l "$run/tcpcopy.log" \
    "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80)
lab_log "tcpcopy -d said: $out"
[[ -s $run/tcpcopy.pid ]] || lab_fail "tcpcopy's pid file" "written" "missing"
lab_daemon_adopt tcpcopy "$run/tcpcopy.pid"
tpid=$(<"$run/tcpcopy.pid")
[[ $(cat "/proc/$tpid/comm") == tcpcopy ]] || lab_fail "pid file's process" tcpcopy "$(cat "/proc/$tpid/comm")"
ok=$(lab_requests_close 20)
[[ $ok == 20 ]] || lab_fail "requests answered by online" 20 "$ok"
got=$(lab_wait_count target 20 10) || lab_fail "copies served by the target" 20 "$got"

# 3. logrotate: move the logs away, SIGHUP, then SIGUSR1 writes a stats line: to the new file.
for d in intercept tcpcopy; do
    mv "$run/$d.log" "$run/$d.log.1"
    pid=$(<"$run/$d.pid")
    kill -HUP "$pid"
    sleep 0.2
    _lab_alive "$pid" || lab_fail "$d after SIGHUP" "running" "gone"
    kill -USR1 "$pid"
    lab_retry 50 0.1 grep -q 'stats:' "$run/$d.log" ||
        lab_fail "$d's log after SIGHUP" "a new $run/$d.log with the stats line" "$(ls "$run")"
    if grep -q 'stats:' "$run/$d.log.1"; then
        lab_fail "$d's moved log" "no stats line after the move" "$(grep 'stats:' "$run/$d.log.1" | head -n 1)"
    fi
done

# 4. SIGTERM: exits, final stats, pid file removed; intercept removes its rule (asked to).
for d in tcpcopy intercept; do
    lab_daemon_stop "$d" 10 || lab_fail "$d on SIGTERM" "exit within 10 s" "had to SIGKILL it"
    [[ ! -e $run/$d.pid ]] || lab_fail "$d's pid file after SIGTERM" "removed" "still there"
    [[ $(grep -c 'stats:' "$run/$d.log") -ge 2 ]] || lab_fail "$d's final stats line" "in the new log" "none"
done
[[ $(rules_in_target) == 0 ]] || lab_fail "rules after intercept stopped" 0 "$(rules_in_target)"
stats=$(lab_stats_line "$run/tcpcopy.log")
[[ $stats == *"sessions_completed="* ]] || lab_fail "tcpcopy's final stats" "a stats line" "$stats"

# 5. -d whose daemon cannot start (intercept not running): exit 1, said so; no pid file.
if lab_exec online "$(lab_bin tcpcopy)" -d -P "$run/fail.pid" -l "$run/fail.log" \
    -x "80-$LAB_TARGET_IP:80" >"$run/fail.out" 2>&1; then
    lab_fail "tcpcopy -d without intercept" "exit 1" "exit 0"
fi
grep -q "failed to start" "$run/fail.out" || lab_fail "tcpcopy -d's failure message" "failed to start" "$(cat "$run/fail.out")"
[[ ! -e $run/fail.pid ]] || lab_fail "pid file of a failed start" "none" "written"
# -d without -l is refused before anything starts.
if lab_exec online "$(lab_bin tcpcopy)" -d -x "80-$LAB_TARGET_IP:80" >"$run/nolog.out" 2>&1; then
    lab_fail "tcpcopy -d without -l" "refused" "accepted"
fi
grep -q -- "-d needs -l FILE" "$run/nolog.out" || lab_fail "the refusal of -d without -l" "-d needs -l FILE" "$(cat "$run/nolog.out")"

lab_log "PASS service_daemon"
