#!/usr/bin/env bash
# bench/replay.sh: offline replay at top speed. Needs root; not part of Scripts/test.sh.
#
# In the benchmark's four-namespace lab (Scripts/bench/lab.sh: client ── online ── router ──
# target, nginx with access logs on online and target), Scripts/bench/pacer.c sends SESSIONS
# short requests (Connection: close) to online at RATE a second while tcpdump records the
# clients' packets on online's client-facing veth. Then, with no live traffic, tcpcopy
# --offline replays the recording against the target (intercept there, as live) once for each
# acceleration in ACCELS: `-a 100000` sends every packet as soon as the sessions before it let
# it. For each replay: its wall time (start to exit, the drain of the last sessions included),
# tcpcopy's CPU time (user + system, from bash's `time`), sessions a second, sessions per
# tcpcopy CPU-second, fidelity (requests the target served / requests online served in the
# recording), intercept's CPU time over the replay and its drain, both daemons' peak private
# memory (RssAnon, Scripts/bench/memory-peak.py) and resident set, and tcpcopy's own session
# counts.
#
# Usage: Scripts/bench/replay.sh [options]
#   --sessions N    requests recorded (default 100000; 1000..1000000)
#   --rate R        requests a second while recording (default 4000)
#   --accel LIST    comma-separated -a values, one replay each (default 10,100000)
#   --file PCAP     replay this recording (one made here before: DIR/recording.pcap) instead
#                   of recording anew; the requests it holds are counted from its SYNs. The
#                   same file replayed by two builds compares them on the same sessions.
#   --no-build      use the release binaries already in .build-bench (or LAB_BIN_DIR)
#   --out DIR       where results go (default .build-bench/results/replay-DATE-TIME)
# Environment: BENCH_TCPCOPY_ARGS: more options for tcpcopy (say "--stats-interval 1").
# Output: one line a replay on stdout and in DIR/replay.txt, tcpcopy's logs in DIR.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=../lab-lib.sh
source "$BENCH_DIR/../lab-lib.sh"
# shellcheck source=../lab-topology.sh
source "$BENCH_DIR/../lab-topology.sh"
# shellcheck source=lab.sh
source "$BENCH_DIR/lab.sh"

sessions=100000
rate=4000
accels=10,100000
build=1
out=""
file=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while (($#)); do
    case $1 in
        --sessions) sessions=${2:-}; shift ;;
        --rate) rate=${2:-}; shift ;;
        --accel) accels=${2:-}; shift ;;
        --file) file=${2:-}; shift ;;
        --no-build) build=0 ;;
        --out) out=${2:-}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; lab_die "unknown option '$1'" ;;
    esac
    shift
done
[[ $sessions =~ ^[0-9]+$ ]] && ((sessions >= 1000 && sessions <= 1000000)) ||
    lab_die "--sessions must be a whole number from 1000 to 1000000, not '$sessions'"
[[ $rate =~ ^[0-9]+$ ]] && ((rate >= 100 && rate <= 20000)) ||
    lab_die "--rate must be a whole number from 100 to 20000, not '$rate'"
IFS=, read -ra accel_list <<<"$accels"
for accel in "${accel_list[@]}"; do
    [[ $accel =~ ^[0-9]+(\.[0-9]+)?$ ]] || lab_die "--accel takes numbers, not '$accel'"
done

lab_require_root
lab_require_tools
for tool in gcc tcpdump; do
    command -v "$tool" >/dev/null 2>&1 || lab_die "missing $tool (Debian: apt-get install gcc tcpdump)"
done
[[ -n $out ]] || out="$REPO_DIR/.build-bench/results/replay-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ((build)); then
    LAB_SWIFT_FLAGS="--scratch-path $REPO_DIR/.build-bench" lab_build release
elif [[ -z ${LAB_BIN_DIR:-} ]]; then
    LAB_BIN_DIR=$(cd "$REPO_DIR" && swift build -c release --scratch-path .build-bench --show-bin-path)
fi
export LAB_BIN_DIR
tools_dir="$REPO_DIR/.build-bench/bench-tools"
mkdir -p "$tools_dir"
gcc -O2 -Wall -o "$tools_dir/pacer" "$BENCH_DIR/pacer.c" || lab_die "cannot compile pacer.c"

LAB_PREFIX=${BENCH_PREFIX:-tcreplay-$$-}
export TMPDIR=${BENCH_TMPDIR:-/tmp/tcbench}
mkdir -p "$TMPDIR"
chmod 0755 "$TMPDIR"
lab_init
bench_lab_create
# A replay at top speed opens sessions far faster than the recording did, and when the machine
# stalls one side for a moment thousands are open at once: with 4,096 worker_connections (2
# workers) a burst of 7,855 live sessions had the target's nginx reset 8,992 copies (its
# "worker_connections are not enough"), a limit of the lab's target, not of the replay.
lab_topo_raise_nofile 20000
lab_nginx_start online
lab_nginx_start target
lab_topo_nginx_capacity online 4096 4096
lab_topo_nginx_capacity target 4096 16384
lab_rules_apply target 80 0
lab_intercept_start intercept --allow "$LAB_ADMIN_IP" --tcpcopy-allow "$BENCH_ONLINE_ROUTER_SIDE_IP"
intercept_pid=$(lab_daemon_pid intercept)

if [[ -n $file ]]; then
    [[ -r $file ]] || lab_die "cannot read the recording $file"
    pcap=$file
    # One per connection: a SYN sent again has the same source and sequence number.
    recorded=$(tcpdump -r "$pcap" -n 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null |
        awk '{ print $3, $9 }' | sort -u | wc -l)
    lab_log "replaying $pcap: $recorded connections"
else
    # The recording: only the clients' packets (what a replay sends), TPACKET_V3 blocks in 256 MB.
    pcap="$out/recording.pcap"
    : >"$LAB_DIR/capture-recording.err"
    ip netns exec "$(lab_ns online)" tcpdump -i to-client -n -U -Z root -s 2048 -B 262144 \
        -w "$pcap" "tcp dst port 80" >"$LAB_DIR/capture-recording.err" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/run/capture-recording.pid"
    lab_retry 50 0.1 grep -q 'listening on' "$LAB_DIR/capture-recording.err" || lab_die "tcpdump did not start"
    seconds=$(((sessions + rate - 1) / rate))
    lab_log "recording $sessions short requests at $rate a second ($seconds s)"
    lab_exec client timeout $((seconds + 60)) "$tools_dir/pacer" -a "$LAB_ONLINE_IP" -p 80 -r "$rate" \
        -d "$seconds" -m close >"$out/recording-load.txt" 2>&1 || true
    sleep 1.5
    lab_capture_stop recording
    capture_dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$LAB_DIR/capture-recording.err")
    recorded=$(lab_nginx_count online)
    lab_log "online served $recorded requests; tcpdump dropped ${capture_dropped:-0} packets; $(du -h "$pcap" | cut -f1)"
fi

# wait_target WANT: until the target served WANT, or its count stood still for 10 s.
wait_target() {
    local want=$1 got last=-1 still=0 i
    for ((i = 0; i < 1200; i++)); do
        got=$(lab_nginx_count target)
        ((got >= want)) && break
        if ((got == last)); then ((++still < 100)) || break; else still=0 last=$got; fi
        sleep 0.1
    done
    lab_nginx_count target
}

results="$out/replay.txt"
: >"$results"
for accel in "${accel_list[@]}"; do
    before=$(lab_nginx_count target)
    log="$out/replay-a$accel.log"
    lab_log "replaying with -a $accel"
    TIMEFORMAT='%R %U %S'
    ic_cpu0=$(bench_cpu "$intercept_pid")
    read -ra tcpcopy_extra <<<"${BENCH_TCPCOPY_ARGS:-}"
    { time ip netns exec "$(lab_ns online)" "$(lab_bin tcpcopy)" --offline "$pcap" \
        -x "80-$LAB_TARGET_IP:80" -a "$accel" -t 10 "${tcpcopy_extra[@]}" >"$log" 2>&1 </dev/null; } \
        2>"$out/time-a$accel.txt" &
    timer=$!
    # ip netns exec execs tcpcopy: the timing subshell's one child is tcpcopy itself.
    lab_retry 50 0.1 pgrep -P "$timer" >/dev/null || lab_die "tcpcopy did not start"
    tcpcopy_pid=$(pgrep -P "$timer" | head -n 1)
    python3 "$BENCH_DIR/memory-peak.py" "$out/replay-a$accel" tc="$tcpcopy_pid" ic="$intercept_pid" \
        >"$out/memory-a$accel.txt" 2>&1 &
    sampler=$!
    rc=0
    # At most 600 s, as the replay's own limit.
    for ((i = 0; i < 6000; i++)); do kill -0 "$tcpcopy_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$tcpcopy_pid" 2>/dev/null && lab_log "warning: the replay ran 600 s; stopped"
    wait "$timer" || rc=$?
    read -r wall user system <"$out/time-a$accel.txt"
    served=$(($(wait_target $((before + recorded))) - before))
    ic_cpu1=$(bench_cpu "$intercept_pid")
    kill -TERM "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    memory=$(grep '^tc_anon_peak_kb=' "$out/memory-a$accel.txt" || true)
    stats=$(lab_stats_line "$log" | sed 's/.*stats://')
    line=$(awk -v a="$accel" -v n="$recorded" -v s="$served" -v w="$wall" -v u="$user" -v y="$system" -v rc="$rc" \
        'BEGIN { c = u + y; printf "accel=%s exit=%s sessions=%d served=%d fidelity=%.2f%% wall_s=%.2f tcpcopy_cpu_s=%.2f sessions_per_s=%.0f sessions_per_cpu_s=%.0f", a, rc, n, s, 100 * s / n, w, c, n / w, (c > 0 ? n / c : 0) }')
    read -ra a <<<"$ic_cpu0"
    read -ra b <<<"$ic_cpu1"
    line+=" intercept_cpu_s=$(awk -v t=$((b[0] - a[0])) 'BEGIN { printf "%.2f", t / 100 }') $memory"
    for key in sessions_started sessions_completed sessions_aborted sessions_timed_out retransmissions; do
        line+=" $key=$(lab_stat_int "$log" "$key")"
    done
    echo "$line" | tee -a "$results"
    [[ $rc == 0 ]] || lab_log "warning: tcpcopy exited $rc (see $log)"
done
cp "$LAB_DIR/nginx-target/error.log" "$out/target-nginx-error.log" 2>/dev/null || true
lab_log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
