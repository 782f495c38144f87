#!/usr/bin/env bash
# lab.sh: the demo. Builds tcpcopy and intercept, builds three network namespaces
# (client, online, target), copies the client's traffic to the online server onto the target,
# and shows how many requests each server served and what the daemons counted.
#
#   sudo Scripts/lab.sh [--requests N] [--debug] [--no-build]
#
# --requests N  requests the client sends (default 100): half as one-request connections with
#               Connection: close, half as keep-alive connections of 5 requests each
# --debug       use a debug build (quicker to build; the default is release, because the demo
#               shows the daemons as they would be deployed and a debug build is several times
#               slower per packet, which would make copies lag more than they should)
# --no-build    use the binaries in LAB_BIN_DIR as they are
#
# Everything it creates (namespaces, processes, temp dir) is removed on exit. Needs root; installs
# the Debian packages it lacks first (Scripts/packages.txt).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab-lib.sh
source "$here/lab-lib.sh"

usage() {
    sed -n '/^#   sudo/,/^# Everything/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

requests=100 config=release build=1
while (($#)); do
    case $1 in
        --requests)
            (($# >= 2)) || usage
            requests=$2
            shift 2
            ;;
        --requests=*)
            requests=${1#*=}
            shift
            ;;
        --debug) config=debug && shift ;;
        --no-build) build=0 && shift ;;
        -h | --help) usage ;;
        *)
            echo "lab.sh: unknown option '$1'" >&2
            usage
            ;;
    esac
done
if ! [[ $requests =~ ^[0-9]+$ ]] || ((requests < 1 || requests > 100000)); then
    echo "lab.sh: --requests must be a number from 1 to 100000, got '$requests'" >&2
    exit 2
fi

lab_require_root || exit 1
# A fresh Debian 12 machine lacks the lab's packages: install them (Scripts/packages.txt).
# shellcheck source=packages-lib.sh
source "$here/packages-lib.sh"
packages_install_missing lab.sh || exit 1
lab_require_tools || exit 1
if ((build)); then
    packages_swift_on_path || { lab_log "no swift on PATH or in /opt/swift: install Swift 6 first"; exit 1; }
    lab_log "building ($config)"
    lab_build "$config"
fi
lab_log "binaries: $(dirname "$(lab_bin tcpcopy)")"

# The demo's namespaces are exactly client, online and target.
LAB_PREFIX=""
lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
# Everything from the target, and online's SYN-ACKs as proof the capture works.
lab_capture_start leak client \
    "src host $LAB_TARGET_IP or (src host $LAB_ONLINE_IP and tcp[tcpflags] & tcp-syn != 0)"

# The 0.4-era command lines: the allow-list as intercept's first argument, then tcpcopy.
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

keepalive_conns=$((requests / 2 / 5))
keepalive=$((keepalive_conns * 5))
close=$((requests - keepalive))
lab_log "sending $close Connection: close requests and $keepalive_conns keep-alive connections" \
    "x 5 requests to online ($LAB_ONLINE_IP)"
ok_close=$(lab_requests_close "$close")
ok_keepalive=0
((keepalive_conns == 0)) || ok_keepalive=$(lab_requests_keepalive "$keepalive_conns" 5)

online=$(lab_nginx_count online)
# Copies lag a little behind; wait (bounded) for the target to catch up.
target=$(lab_wait_count target "$online" 10 || true)
admin_code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 5 --interface "$LAB_ADMIN_IP")
client_code=$(lab_http_code client "http://$LAB_TARGET_IP/" --max-time 3 --interface "$LAB_CLIENT_IP")

lab_daemon_stop tcpcopy || true
lab_daemon_stop intercept || true
lab_capture_stop leak
leaked=$(lab_capture_count leak "src host $LAB_TARGET_IP and dst host $LAB_CLIENT_IP")
loss=$(awk -v o="$online" -v t="$target" 'BEGIN { printf "%.2f", o ? (o - t) * 100 / o : 0 }')

stats_of() {
    local line
    line=$(lab_stats_line "$(lab_daemon_log "$1")")
    if [[ -n $line ]]; then echo "stats:${line#*stats:}"; else echo "(no stats line)"; fi
}

row() { printf '%-38s %s\n' "$1" "$2"; }
echo
echo "==== tcpcopy lab ($config build) ===="
row "client requests answered by online:" "$((ok_close + ok_keepalive)) of $requests"
row "online ($LAB_ONLINE_IP) served:" "$online"
row "target ($LAB_TARGET_IP) served:" "$target   (copies; loss $loss%)"
row "target packets that reached client:" "$leaked"
row "admin $LAB_ADMIN_IP -> target:80:" "HTTP $admin_code   (allow-listed: intercept lets it through)"
row "client $LAB_CLIENT_IP -> target:80:" "HTTP $client_code   (not listed: dropped; 000 expected)"
row "intercept" "$(stats_of intercept)"
row "tcpcopy" "$(stats_of tcpcopy)"

# The loss funnel: each step of a copy, in order, from both daemons' final counters; a drop
# between two steps is where copies were lost, and the reasons below say why.
funnel_of() {
    local name=$1 log key v
    log=$(lab_daemon_log "$name")
    shift
    for key in "$@"; do
        v=$(stat_value "$log" "$key" || echo '?')
        printf '  %-28s %s\n' "$key" "$v"
    done
}
losses_of() {
    local name=$1 log key v any=0
    log=$(lab_daemon_log "$name")
    shift
    for key in "$@"; do
        v=$(stat_value "$log" "$key" || echo 0)
        [[ $v == 0 ]] && continue
        printf '  %-28s %s\n' "$key" "$v"
        any=1
    done
    ((any)) || printf "  (%s: none)\n" "$name"
}
echo
echo "==== loss funnel ===="
echo "tcpcopy (online):"
funnel_of tcpcopy captured sessions_started syns_sent syn_acks_seen data_segments_sent response_data_seen \
    responses sessions_completed
echo "intercept (target):"
funnel_of intercept queued dropped forwarded acks_coalesced accepted
echo "lost or left over, by reason (zeros omitted):"
losses_of tcpcopy no_session sessions_skipped_by_rate table_full memory_full port_collisions capture_dropped \
    send_errors sessions_timed_out sessions_gave_up sessions_aborted sessions_reset_by_target responses_unmatched
losses_of intercept unrouted held_expired backlog_dropped queue_overruns kernel_queue_dropped kernel_user_dropped

# The demo fails if the lab leaked a response or the online service itself suffered.
((leaked == 0)) || lab_die "target responses reached the client: the rule or intercept is broken"
((online == requests)) || lab_die "online served $online of $requests requests"
