#!/usr/bin/env bash
# bench.sh: the performance benchmark of issue 6. Needs root; not part of Scripts/test.sh.
#
# A four-namespace lab (client ── online ── router ── target, Scripts/bench/lab.sh on top of
# lab-lib.sh and lab-topology.sh), nginx with
# access logs on online and target serving a ~1 KB page. Every load runs twice, without and then
# with copying (intercept and tcpcopy started fresh for it), and gives one table row:
#   online req/s, target req/s, fidelity (target access-log lines / online), CPU-s per 10k
#   requests of tcpcopy, intercept and both nginx (utime+stime from /proc/PID/stat), online
#   p50/p99 without and with copying, peak RSS (VmHWM) of both daemons.
# Loads: paced 200, 1,000 and 3,000 req/s (Scripts/bench/pacer.c, open-loop, wrk2-style: Debian's
# wrk has no rate option) and full load (Debian's wrk), each with short (Connection: close) and
# keep-alive connections. Then: the daemons' idle CPU over the same duration, fresh and after
# traffic; and the ceiling: a trivial raw forwarding loop (Scripts/bench/rawloop.c, one recv + one
# sendto per packet) in tcpcopy's place under the same loads, packets per CPU-second, and the
# same loop batched (64 packets a recvmmsg and a sendmmsg) beside it.
# With --profile, tcpcopy and intercept are also profiled under the 3,000 short req/s load.
#
# Usage: Scripts/bench.sh [options]
#   --quick            3 s per load (a smoke run) instead of 10 s
#   --duration S       seconds per load (1..120; default 10)
#   --repeat N         run each load N times (1..9) and report the median of each figure
#   --loads LIST       comma-separated loads (default: all): short-200,short-1000,short-3000,
#                      short-full,keepalive-200,keepalive-1000,keepalive-3000,keepalive-full
#   --workers N        nginx worker processes on online and target (default: one per core, as
#                      nginx's "auto": at full load the online server can use the whole machine)
#   --connections N    wrk connections at full load (default 32; wrk uses 2 threads)
#   --backlog N        listen backlog of both nginx, with somaxconn and tcp_max_syn_backlog in
#                      their namespaces to match (default 511, nginx's own; 4096 is what a
#                      server tuned for bursts of connections has)
#   --profile          also profile both daemons at 3,000 short req/s (perf, and callgrind;
#                      BENCH_PROFILE_RATE=full and BENCH_PROFILE_MODE=keepalive move perf's load)
#   --no-idle, --no-rawloop   skip those parts
#   --veth-rx MODE     threaded (default): every veth end receives in its own NAPI kernel
#                      thread, as a host's NIC does, so each namespace's network stack runs on
#                      its own account, and sends through a transmit queue (pfifo_fast, 1000
#                      packets) as a NIC's driver does, instead of dropping a burst that finds
#                      the NAPI ring full (--no-veth-queue leaves the veths without one, to see
#                      what that drops); inline: the kernel's default for veths, where a sender
#                      runs its receiver's stack in its own context and is charged for it
#                      (tcpcopy's sendmmsg then pays for the target's TCP, and nginx for wrk's)
#   --source SOURCE    how tcpcopy captures: raw (default: the raw IP socket) or pcap
#                      (tcpcopy -i to-client: libpcap's TPACKET_V3 ring on the online server's
#                      client-facing veth); its capture drops are then tcpcopy's capture_dropped
#   --sink SINK        how tcpcopy sends its copies: raw (default: the raw IP socket) or link
#                      (tcpcopy -o to-router: Ethernet frames from an AF_PACKET socket, the next
#                      hop being the router, whose MAC tcpcopy looks up itself)
#   --compare          run both daemons with --compare (tcpcopy compares every answer, intercept
#                      reports the target's answers): its cost, against a run without (issue 25)
#   --no-build         use the binaries already in .build-bench (or LAB_BIN_DIR)
#   --out DIR          where results go (default .build-bench/results/DATE-TIME)
# Environment: BENCH_TCPCOPY_ARGS, BENCH_INTERCEPT_ARGS: more options for the daemons (say
# "--batch-window 2000"), for trying settings; the report shows them.
# Output: the table on stdout and in DIR/table.txt, every figure in DIR/results.json, the raw
# measurements in DIR/runs.txt, the daemons' logs and profiles in DIR.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bench
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=lab-lib.sh
source "$BENCH_DIR/../lab-lib.sh"
# shellcheck source=lab-topology.sh
source "$BENCH_DIR/../lab-topology.sh"
# shellcheck source=bench/lab.sh
source "$BENCH_DIR/lab.sh"

duration=10
repeat=1
loads="short-200,short-1000,short-3000,short-full,keepalive-200,keepalive-1000,keepalive-3000,keepalive-full"
workers=$(nproc)
connections=32
backlog=511
profile=0
idle=1
rawloop=1
build=1
out=""
quick=0
veth_rx=threaded
veth_queue=pfifo_fast
sink=raw
source=raw
compare=0

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

number_in() {
    local value=$1 low=$2 high=$3 what=$4
    if ! [[ $value =~ ^[0-9]+$ ]] || ((value < low || value > high)); then
        lab_die "$what must be a whole number from $low to $high, not '$value'"
    fi
}

while (($#)); do
    case $1 in
        --quick) quick=1 duration=3 ;;
        --duration) duration=${2:-}; shift ;;
        --repeat) repeat=${2:-}; shift ;;
        --loads) loads=${2:-}; shift ;;
        --workers) workers=${2:-}; shift ;;
        --connections) connections=${2:-}; shift ;;
        --backlog) backlog=${2:-}; shift ;;
        --profile) profile=1 ;;
        --no-idle) idle=0 ;;
        --no-rawloop) rawloop=0 ;;
        --veth-rx) veth_rx=${2:-}; shift ;;
        --no-veth-queue) veth_queue=none ;;
        --sink) sink=${2:-}; shift ;;
        --source) source=${2:-}; shift ;;
        --compare) compare=1 ;;
        --no-build) build=0 ;;
        --out) out=${2:-}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; lab_die "unknown option '$1'" ;;
    esac
    shift
done
number_in "$duration" 1 120 --duration
number_in "$repeat" 1 9 --repeat
number_in "$workers" 1 16 --workers
number_in "$connections" 1 1000 --connections
number_in "$backlog" 16 65535 --backlog
[[ $sink == raw || $sink == link ]] || lab_die "--sink must be raw or link, not '$sink'"
[[ $source == raw || $source == pcap ]] || lab_die "--source must be raw or pcap, not '$source'"
[[ $veth_rx == threaded || $veth_rx == inline ]] ||
    lab_die "--veth-rx must be threaded or inline, not '$veth_rx'"
IFS=, read -ra load_list <<<"$loads"
for load in "${load_list[@]}"; do
    [[ $load =~ ^(short|keepalive)-([0-9]+|full)$ ]] ||
        lab_die "unknown load '$load' (short-RATE, keepalive-RATE, short-full, keepalive-full)"
done

lab_require_root
lab_require_tools
needed=(gcc python3 awk pgrep)
[[ $veth_rx == inline ]] || needed+=(ethtool)
((profile == 0)) || needed+=(objcopy)
# wrk drives the full loads only; the paced ones use our own generator.
[[ ,$loads, != *-full,* ]] || needed+=(wrk)
for tool in "${needed[@]}"; do
    command -v "$tool" >/dev/null 2>&1 ||
        lab_die "missing $tool (Debian: apt-get install wrk gcc binutils python3 procps ethtool)"
done
if ((profile)); then
    command -v perf >/dev/null 2>&1 || command -v valgrind >/dev/null 2>&1 ||
        lab_die "--profile needs perf or valgrind (Debian: apt-get install linux-perf valgrind)"
fi

export LAB_NGINX_WORKERS=$workers
[[ -n $out ]] || out="$REPO_DIR/.build-bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
runs_file="$out/runs.txt"
: >"$runs_file"

# ---------------------------------------------------------------------------------------------
# Build: release daemons in their own scratch path, and the two C helpers.

if ((build)); then
    lab_log "building release binaries (swift build -c release --scratch-path .build-bench)"
    LAB_SWIFT_FLAGS="--scratch-path $REPO_DIR/.build-bench" lab_build release
elif [[ -z ${LAB_BIN_DIR:-} ]]; then
    LAB_BIN_DIR=$(cd "$REPO_DIR" && swift build -c release --scratch-path .build-bench --show-bin-path)
fi
export LAB_BIN_DIR
lab_bin tcpcopy >/dev/null
lab_bin intercept >/dev/null
tools_dir="$REPO_DIR/.build-bench/bench-tools"
mkdir -p "$tools_dir"
gcc -O2 -Wall -o "$tools_dir/pacer" "$BENCH_DIR/pacer.c" || lab_die "cannot compile pacer.c"
gcc -O2 -Wall -o "$tools_dir/rawloop" "$BENCH_DIR/rawloop.c" || lab_die "cannot compile rawloop.c"

# ---------------------------------------------------------------------------------------------
# The lab

# A prefix no other lab or benchmark uses: this run's pid (BENCH_PREFIX overrides it, as the
# smoke test does). The lab's temp dir goes in a parent of our own, out of the way of anything
# that sweeps /tmp/tcpcopy-lab.* on a shared machine.
LAB_PREFIX=${BENCH_PREFIX:-tcbench-$$-}
export TMPDIR=${BENCH_TMPDIR:-/tmp/tcbench}
mkdir -p "$TMPDIR"
chmod 0755 "$TMPDIR"
lab_init
trap bench_on_exit EXIT
bench_lab_create
[[ $veth_rx == inline ]] || bench_lab_napi_threads "$veth_queue"
lab_nginx_start online
lab_nginx_start target
if ((backlog != 511)); then
    lab_topo_nginx_capacity online "$backlog" 4096
    lab_topo_nginx_capacity target "$backlog" 4096
fi
lab_rules_apply target 80 0
lab_log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
online_url="http://$LAB_ONLINE_IP/"

# The EXIT trap: lab_cleanup does the work (daemons stopped with SIGTERM, namespaces deleted);
# should the lab dir have vanished under us, its list of namespaces went with it, so end the
# processes in our namespaces and delete them here first.
bench_on_exit() {
    local status=$? ns pids
    set +e
    if [[ ! -d $LAB_DIR/run ]]; then
        for ns in $(ip netns list | awk '{print $1}' | grep -- "^$LAB_PREFIX" || true); do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            # shellcheck disable=SC2086  # one pid per word
            [[ -z $pids ]] || kill -TERM $pids 2>/dev/null || true
            sleep 0.5
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            # shellcheck disable=SC2086
            [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        done
    fi
    (exit "$status")
    lab_cleanup
}

start_daemons() {
    local -a intercept_extra tcpcopy_extra
    read -ra intercept_extra <<<"${BENCH_INTERCEPT_ARGS:-}"
    read -ra tcpcopy_extra <<<"${BENCH_TCPCOPY_ARGS:-}"
    [[ $sink == raw ]] || tcpcopy_extra=(-o to-router "${tcpcopy_extra[@]}")
    [[ $source == raw ]] || tcpcopy_extra=(-i to-client "${tcpcopy_extra[@]}")
    if ((compare)); then
        tcpcopy_extra=(--compare "${tcpcopy_extra[@]}")
        intercept_extra=(--compare "${intercept_extra[@]}")
    fi
    # The router is the tcpcopy's source on the target's side: let it in.
    lab_intercept_start intercept --allow "$LAB_ADMIN_IP" --tcpcopy-allow "$BENCH_ONLINE_ROUTER_SIDE_IP" \
        "${intercept_extra[@]}"
    lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 "${tcpcopy_extra[@]}"
}

# stop_daemons TAG: SIGTERM both (their final stats lines), keep their logs as DIR/TAG-NAME.log.
stop_daemons() {
    local tag=$1 name
    for name in tcpcopy intercept; do
        lab_daemon_stop "$name" 15 || lab_log "warning: $name had to be killed"
        if [[ -e $LAB_DIR/$name.log ]]; then
            mv "$LAB_DIR/$name.log" "$out/$tag-$name.log"
        fi
    done
}

# run_load MODE RATE TAG: runs one load from the client namespace; writes the generator's
# output to DIR/TAG-load.txt and prints "ok p50_ms p99_ms".
run_load() {
    local mode=$1 rate=$2 tag=$3 file="$out/$3-load.txt"
    if [[ $rate == full ]]; then
        local -a header=()
        [[ $mode == short ]] && header=(-H 'Connection: close')
        lab_exec client timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" \
            --latency "${header[@]}" "$online_url" >"$file" 2>&1 || true
        python3 "$BENCH_DIR/report.py" parse-wrk "$file"
    else
        local pacer_mode=close
        [[ $mode == keepalive ]] && pacer_mode=keepalive
        lab_exec client timeout $((duration + 30)) "$tools_dir/pacer" -a "$LAB_ONLINE_IP" -p 80 \
            -r "$rate" -d "$duration" -m "$pacer_mode" >"$file" 2>&1 || true
        python3 "$BENCH_DIR/report.py" parse-pacer "$file"
    fi
}

# wait_drained ONLINE_BEFORE TARGET_BEFORE: copies lag behind the originals; waits until the
# target has logged as many requests as online did, or its count stopped moving for 17 s
# (bounded to 45 s in all). 17 s covers the target's SYN-ACK back-off (Linux repeats a SYN-ACK
# after 1, 2, 4, 8 and 16 s) as well as tcpcopy's own retransmissions (at most 5 s apart). With
# 6 s, busy short full-load runs ended with 29 to 255 sessions still retrying
# (sessions_aborted), each a copy counted as lost.
wait_drained() {
    local online_before=$1 target_before=$2 want got last=-1 still=0 i
    want=$(($(lab_nginx_count online) - online_before))
    for ((i = 0; i < 450; i++)); do
        got=$(($(lab_nginx_count target) - target_before))
        ((got >= want)) && return 0
        if ((got == last)); then
            if ((++still >= 170)); then
                lab_log "  drain: the target's count stood still for 17 s at $got of $want"
                return 0
            fi
        else
            still=0
            last=$got
        fi
        sleep 0.1
    done
    lab_log "  drain: stopped waiting after 45 s at $got of $want"
}

# cpu_readings ARRAY: ARRAY[NAME] = the CPU so far (bench_cpu) of the processes of measure's
# pids[NAME], for each of the four names.
cpu_readings() {
    local -n readings=$1
    local name
    for name in on tg tc ic; do
        # A list of pids; `readings` is the caller's associative array (a nameref).
        # shellcheck disable=SC2086,SC2034,SC2004
        readings[$name]=$(bench_cpu ${pids[$name]})
    done
}

# measure LOAD COPY REP: one run; appends one line of key=value to runs.txt.
measure() {
    local load=$1 copy=$2 rep=$3 mode=${1%%-*} rate=${1#*-} tag
    tag="$load-$([[ $copy == 1 ]] && echo copy || echo plain)-$rep"
    lab_log "run $tag (${duration} s)"
    local tcpcopy_pid=0 intercept_pid=0 sampler_pid=0
    if ((copy)); then
        start_daemons
        tcpcopy_pid=$(lab_daemon_pid tcpcopy)
        intercept_pid=$(lab_daemon_pid intercept)
        # Private memory (RssAnon) sampled through the load and the drain: the kernel keeps
        # no peak of it, only of the whole resident set (VmHWM), most of which is the binary.
        python3 "$BENCH_DIR/memory-peak.py" "$out/$tag" tc="$tcpcopy_pid" ic="$intercept_pid" \
            >"$out/$tag-memory.txt" 2>&1 &
        sampler_pid=$!
    fi
    # CPU readings of the four processes, by short name: on (online nginx), tg (target nginx),
    # tc (tcpcopy), ic (intercept). A pid of 0 (no daemons in a run without copying) reads 0.
    local -A pids cpu0 cpu1
    pids[on]=$(bench_nginx_pids online)
    pids[tg]=$(bench_nginx_pids target)
    pids[tc]=$tcpcopy_pid
    pids[ic]=$intercept_pid
    local name online0 target0 started ended listen0 links0 service0
    online0=$(lab_nginx_count online)
    target0=$(lab_nginx_count target)
    listen0="$(bench_listen_drops online) $(bench_listen_drops target)"
    links0=$(bench_link_drops)
    service0=$(bench_service_packets)
    cpu_readings cpu0
    # The machine's CPU over the load alone (the drain after it is the daemons' catching up):
    # the budget the copying and the online work shared.
    local machine0 machine1
    local -A cpu_load
    machine0=$(bench_machine_cpu)
    started=$(date +%s.%N)
    local result
    result=$(run_load "$mode" "$rate" "$tag")
    ended=$(date +%s.%N)
    machine1=$(bench_machine_cpu)
    cpu_readings cpu_load
    if ((copy)); then
        wait_drained "$online0" "$target0"
    else
        sleep 0.5
    fi
    local online1 target1 hwm_tc=0 hwm_ic=0 listen1 links1 service1
    online1=$(lab_nginx_count online)
    target1=$(lab_nginx_count target)
    listen1="$(bench_listen_drops online) $(bench_listen_drops target)"
    links1=$(bench_link_drops)
    service1=$(bench_service_packets)
    cpu_readings cpu1
    local tc_stats="" ic_stats="" raw_drops=0 queue_drops="0 0" memory_peaks=""
    if ((copy)); then
        raw_drops=$(bench_raw_drops online)
        queue_drops=$(bench_queue_drops target 0)
        hwm_tc=$(bench_vmhwm "$tcpcopy_pid")
        hwm_ic=$(bench_vmhwm "$intercept_pid")
        kill -TERM "$sampler_pid" 2>/dev/null || true
        wait "$sampler_pid" 2>/dev/null || true
        memory_peaks=$(grep '^tc_anon_peak_kb=' "$out/$tag-memory.txt" || true)
        stop_daemons "$tag"
        tc_stats=$(lab_stats_line "$out/$tag-tcpcopy.log" | sed 's/.*stats://')
        # libpcap's ring is not a raw socket: its drops are the ones tcpcopy counts.
        [[ $source == raw ]] || raw_drops=$(lab_stat_int "$out/$tag-tcpcopy.log" capture_dropped)
        ic_stats=$(lab_stats_line "$out/$tag-intercept.log" | sed 's/.*stats://')
    fi
    # Fields: two-word CPU readings become NAME_ticks and NAME_ns.
    local -a a b
    local line loadavg1
    loadavg1=$(cut -d' ' -f1 /proc/loadavg)
    line="load=$load copy=$copy rep=$rep duration=$duration loadavg1=$loadavg1"
    line+=" wall=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')"
    line+=" online_requests=$((online1 - online0)) target_requests=$((target1 - target0))"
    for name in on tg tc ic; do
        read -ra a <<<"${cpu0[$name]}"
        read -ra b <<<"${cpu1[$name]}"
        line+=" cpu_${name}_ticks=$((b[0] - a[0])) cpu_${name}_ns=$((b[1] - a[1]))"
        read -ra b <<<"${cpu_load[$name]}"
        line+=" cpu_${name}_load_ticks=$((b[0] - a[0]))"
    done
    read -ra a <<<"$machine0"
    read -ra b <<<"$machine1"
    line+=" machine_busy_ticks=$((b[0] - a[0])) machine_total_ticks=$((b[1] - a[1]))"
    line+=" machine_steal_ticks=$((b[2] - a[2]))"
    read -ra a <<<"$listen0"
    read -ra b <<<"$listen1"
    line+=" online_listen_drops=$((b[0] - a[0])) target_listen_drops=$((b[1] - a[1]))"
    line+=" link_drops=$((links1 - links0)) service_packets=$((service1 - service0))"
    line+=" hwm_tc_kb=$hwm_tc hwm_ic_kb=$hwm_ic $memory_peaks raw_drops=$raw_drops"
    line+=" queue_dropped=${queue_drops% *} queue_user_dropped=${queue_drops#* } $result"
    line+=" tc_stats=$(echo "$tc_stats" | tr -s ' ' | sed 's/^ //; s/ $//; s/ /,/g')"
    line+=" ic_stats=$(echo "$ic_stats" | tr -s ' ' | sed 's/^ //; s/ $//; s/ /,/g')"
    echo "$line" >>"$runs_file"
    lab_log "  online $((online1 - online0)), target $((target1 - target0)), client: $result"
}

# ---------------------------------------------------------------------------------------------
# Idle CPU: fresh daemons, then the same daemons a few seconds after traffic.

if ((idle)); then
    start_daemons
    tc=$(lab_daemon_pid tcpcopy)
    ic=$(lab_daemon_pid intercept)
    for phase in fresh after_traffic; do
        if [[ $phase == after_traffic ]]; then
            lab_exec client "$tools_dir/pacer" -a "$LAB_ONLINE_IP" -r 1000 -d 2 -m close \
                >"$out/idle-traffic-load.txt" 2>&1 || true
            sleep 3
        else
            sleep 1
        fi
        t0=$(bench_cpu "$tc")
        i0=$(bench_cpu "$ic")
        sleep "$duration"
        t1=$(bench_cpu "$tc")
        i1=$(bench_cpu "$ic")
        read -ra a <<<"$t0"
        read -ra b <<<"$t1"
        read -ra c <<<"$i0"
        read -ra d <<<"$i1"
        echo "idle=$phase duration=$duration cpu_tc_ticks=$((b[0] - a[0])) cpu_tc_ns=$((b[1] - a[1]))" \
            "cpu_ic_ticks=$((d[0] - c[0])) cpu_ic_ns=$((d[1] - c[1]))" \
            "hwm_tc_kb=$(bench_vmhwm "$tc") hwm_ic_kb=$(bench_vmhwm "$ic")" \
            "tc_anon_kb=$(bench_rss_anon "$tc") ic_anon_kb=$(bench_rss_anon "$ic")" >>"$runs_file"
        lab_log "idle ($phase): $(tail -n 1 "$runs_file")"
    done
    stop_daemons idle
fi

# ---------------------------------------------------------------------------------------------
# The loads

for load in "${load_list[@]}"; do
    for ((rep = 1; rep <= repeat; rep++)); do
        measure "$load" 0 "$rep"
        measure "$load" 1 "$rep"
    done
done

# ---------------------------------------------------------------------------------------------
# The ceiling: the raw loop in tcpcopy's place, under the same short loads (3,000 req/s and
# full). The target's rule stays and no intercept reads the queue, so the target's answers to
# the forwarded packets are dropped on the target. Each run is followed by one of the same loop
# batched (64 packets a recvmmsg and a sendmmsg), reported beside it: the kernel's share of a
# batching copier's cost, without any session logic.
if ((rawloop)); then
    for load in short-3000 short-full; do
        [[ ,$loads, == *,$load,* ]] || continue
        for ((rep = 1; rep <= repeat; rep++)); do
            for batch in 1 64; do
                tag="rawloop-$load-$rep"
                ((batch == 1)) || tag="rawloop-batch$batch-$load-$rep"
                lab_log "run $tag (${duration} s)"
                lab_daemon_start rawloop online "$tools_dir/rawloop" 80 "$LAB_TARGET_IP" "$batch"
                lab_retry 50 0.1 grep -q forwarding "$LAB_DIR/rawloop.log" ||
                    lab_die "rawloop did not start"
                pid=$(lab_daemon_pid rawloop)
                c0=$(bench_cpu "$pid")
                s0=$(bench_service_packets)
                result=$(run_load short "${load#short-}" "$tag")
                sleep 0.5
                s1=$(bench_service_packets)
                c1=$(bench_cpu "$pid")
                raw_drops=$(bench_raw_drops online)
                lab_daemon_stop rawloop 5 || true
                mv "$LAB_DIR/rawloop.log" "$out/$tag.log"
                read -ra a <<<"$c0"
                read -ra b <<<"$c1"
                received=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$out/$tag.log")
                forwarded=$(sed -n 's/.*forwarded=\([0-9]*\).*/\1/p' "$out/$tag.log")
                echo "rawloop=$load batch=$batch rep=$rep duration=$duration cpu_rl_ticks=$((b[0] - a[0]))" \
                    "cpu_rl_ns=$((b[1] - a[1])) received=${received:-0} forwarded=${forwarded:-0}" \
                    "raw_drops=$raw_drops service_packets=$((s1 - s0))" \
                    "$result" >>"$runs_file"
                lab_log "  $(tail -n 1 "$runs_file")"
            done
        done
    done
fi

# ---------------------------------------------------------------------------------------------
# Profiles at 3,000 short req/s

if ((profile)); then
    # shellcheck source=bench/profile.sh
    source "$BENCH_DIR/profile.sh"
    bench_profile
fi

loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
machine="$(nproc) cores, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo)"
python3 "$BENCH_DIR/report.py" report "$runs_file" --out "$out" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "machine=$machine" \
    --meta "kernel=$(uname -r)" --meta "commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --meta "duration=$duration" --meta "repeat=$repeat" --meta "workers=$workers" \
    --meta "connections=$connections" --meta "loadavg_start=$loadavg_start" --meta "veth_rx=$veth_rx" \
    --meta "veth_queue=$veth_queue" --meta "backlog=$backlog" --meta "sink=$sink" --meta "source=$source" \
    --meta "compare=$compare" \
    --meta "tcpcopy_args=${BENCH_TCPCOPY_ARGS:-}" --meta "intercept_args=${BENCH_INTERCEPT_ARGS:-}" \
    --meta "binaries=$LAB_BIN_DIR" \
    --meta "loadavg_end=$loadavg_end" --meta "quick=$quick"
lab_log "results in $out"
