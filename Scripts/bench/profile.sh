# shellcheck shell=bash
# shellcheck disable=SC2154  # duration, out and tools_dir are bench.sh's
# bench/profile.sh: where tcpcopy and intercept spend their time at 3,000 short req/s
# (BENCH_PROFILE_RATE=full: under wrk's full load instead, for perf; BENCH_PROFILE_MODE=keepalive:
# keep-alive connections). Sourced by bench.sh (--profile) inside its lab; writes to $out:
#   profile-perf-{tcpcopy,intercept}.txt       perf record -e cpu-clock (a software clock: VMs
#                                              often have no hardware counters), self time per
#                                              function, the daemon running at full speed
#   profile-callgrind-{tcpcopy,intercept}.txt  callgrind: instructions per function (self and
#                                              inclusive); the daemon runs ~50x slower under it,
#                                              so this run's rate is BENCH_CALLGRIND_RATE
#   profile.txt                                the top of each, demangled
# Either tool may be missing; each part says so and the rest goes on.

BENCH_PROFILE_TOP=${BENCH_PROFILE_TOP:-15}
BENCH_PROFILE_RATE=${BENCH_PROFILE_RATE:-3000}
BENCH_PROFILE_MODE=${BENCH_PROFILE_MODE:-short}

_bench_demangle() {
    if command -v swift-demangle >/dev/null 2>&1; then
        swift-demangle --simplified
    else
        cat
    fi
}

# _bench_start_daemons_wrapped BIN_DIR WRAPPER...: intercept and tcpcopy from BIN_DIR, each under
# WRAPPER (valgrind; @NAME@ in it becomes the daemon's name), with generous start-up time.
_bench_start_daemons_wrapped() {
    local intercept_bin=$1/intercept tcpcopy_bin=$1/tcpcopy
    shift
    local -a wrap=("$@")
    lab_daemon_start intercept target "${wrap[@]/@NAME@/intercept}" "$intercept_bin" \
        --allow "$LAB_ADMIN_IP" --tcpcopy-allow "$BENCH_ONLINE_ROUTER_SIDE_IP"
    _lab_wait_daemon intercept 120 _lab_listening target "$LAB_CONTROL_PORT" ||
        lab_die "intercept (profiled) did not listen within 120 s"
    _lab_wait_daemon intercept 60 lab_queue_bound target 0 ||
        lab_die "intercept (profiled) did not bind its queue within 60 s"
    lab_daemon_start tcpcopy online "${wrap[@]/@NAME@/tcpcopy}" "$tcpcopy_bin" \
        "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80
    _lab_wait_daemon tcpcopy 120 _lab_established online "$LAB_CONTROL_PORT" ||
        lab_die "tcpcopy (profiled) did not connect to intercept within 120 s"
    sleep 2
}

_bench_profile_perf() {
    if ! command -v perf >/dev/null 2>&1; then
        echo "perf: not installed (Debian: linux-perf)"
        return 0
    fi
    if ! perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
        echo "perf: perf record -e cpu-clock does not work here (perf_event_paranoid?)"
        return 0
    fi
    lab_log "profile: perf record -e cpu-clock, $BENCH_PROFILE_MODE load at $BENCH_PROFILE_RATE req/s for ${duration} s"
    start_daemons
    local name pid
    local -a perf_pids=()
    for name in tcpcopy intercept; do
        pid=$(lab_daemon_pid "$name")
        # perf attaches to the daemon by pid; it sends and receives nothing on any network.
        perf record -e cpu-clock -F 4999 -g -p "$pid" -o "$out/perf-$name.data" \
            >"$out/perf-$name.err" 2>&1 &
        perf_pids+=($!)
    done
    sleep 0.5
    run_load "$BENCH_PROFILE_MODE" "$BENCH_PROFILE_RATE" profile-perf >/dev/null
    sleep 1
    for pid in "${perf_pids[@]}"; do
        _lab_stop_pid "$pid" INT 30 perf || true
    done
    stop_daemons profile-perf
    for name in tcpcopy intercept; do
        perf report -i "$out/perf-$name.data" --no-children --sort symbol --stdio -g none \
            --percent-limit 0.5 2>/dev/null | _bench_demangle >"$out/profile-perf-$name.txt" || true
        echo "perf, $name: % of CPU time (cpu-clock samples) by object:"
        perf report -i "$out/perf-$name.data" --no-children --sort dso --stdio 2>/dev/null |
            { grep -E '^ +[0-9.]+%' || true; } | head -n 6 | sed -E 's/^ +/  /' || true
        echo "perf, $name: % of CPU time in each system call, inclusive (kernel call chains)"
        perf report -i "$out/perf-$name.data" --children --sort symbol --stdio -g none \
            2>/dev/null | { grep -E '^ +[0-9.]+% +[0-9.]+% +\[k\] (__x64_sys_|__do_sys_)' || true; } |
            awk '{ print "  " $1 "  " $4 }' | head -n 10 || true
        echo "perf, $name: % of CPU time, inclusive (call chains), user-space functions below 90%"
        perf report -i "$out/perf-$name.data" --children --sort symbol --stdio -g none \
            2>/dev/null | { grep -E '^ +[0-9.]+% +[0-9.]+% +\[\.\] ' || true; } |
            awk '$1 + 0 < 90 { sub(/^ +[0-9.]+% +[0-9.]+% +\[\.\] +/, "  " $1 "  "); print }' |
            _bench_demangle | sed -E 's/ +$//' | head -n "$BENCH_PROFILE_TOP" | cut -c1-160 || true
        echo "perf, $name: % of CPU time, self, top $BENCH_PROFILE_TOP ([k] kernel, [.] user)"
        { grep -E '^ +[0-9.]+%' "$out/profile-perf-$name.txt" || true; } |
            sed -E 's/^ +([0-9.]+%) +\[([.kH])\] +/  \1  \2 /' | head -n "$BENCH_PROFILE_TOP" |
            cut -c1-160 || true
        echo
    done
}

_bench_profile_callgrind() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "callgrind: valgrind not installed (Debian: valgrind)"
        return 0
    fi
    local rate=${BENCH_CALLGRIND_RATE:-3000} seconds=${BENCH_CALLGRIND_SECONDS:-$duration}
    lab_log "profile: callgrind, short load at $rate req/s for $seconds s"
    # Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes, and gives up on the whole
    # binary; copies without debug sections still have their symbol tables, which is all a
    # per-function profile needs.
    local bin_dir="$out/callgrind-bin" name
    mkdir -p "$bin_dir"
    for name in tcpcopy intercept; do
        objcopy --strip-debug "$(lab_bin "$name")" "$bin_dir/$name" ||
            { echo "callgrind: objcopy --strip-debug failed"; return 0; }
    done
    _bench_start_daemons_wrapped "$bin_dir" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.@NAME@.out"
    local online0 target0 online target
    online0=$(lab_nginx_count online)
    target0=$(lab_nginx_count target)
    lab_exec client "$tools_dir/pacer" -a "$LAB_ONLINE_IP" -r "$rate" -d "$seconds" -m close \
        >"$out/profile-callgrind-load.txt" 2>&1 || true
    wait_drained "$online0" "$target0"
    local raw_drops
    raw_drops=$(bench_raw_drops online)
    for name in tcpcopy intercept; do
        lab_daemon_stop "$name" 120 || lab_log "warning: $name (callgrind) had to be killed"
        [[ -e $LAB_DIR/$name.log ]] && mv "$LAB_DIR/$name.log" "$out/profile-callgrind-$name.log"
    done
    online=$(($(lab_nginx_count online) - online0))
    target=$(($(lab_nginx_count target) - target0))
    echo "callgrind run: $rate short req/s for $seconds s; online $online, target $target requests," \
        "raw socket drops $raw_drops"
    if ((target * 100 < online * 99)); then
        echo "  (under callgrind the daemons did not keep up: the profile includes their overload" \
            "paths; BENCH_CALLGRIND_RATE=1000 gives one of the steady state)"
    fi
    echo
    for name in tcpcopy intercept; do
        [[ -s $out/callgrind.$name.out ]] || { echo "callgrind, $name: no output"; continue; }
        callgrind_annotate --inclusive=no "$out/callgrind.$name.out" 2>/dev/null |
            _bench_demangle >"$out/profile-callgrind-$name.txt" || true
        callgrind_annotate --inclusive=yes "$out/callgrind.$name.out" 2>/dev/null |
            _bench_demangle >"$out/profile-callgrind-$name-inclusive.txt" || true
        echo "callgrind, $name: % of instructions (Ir), self, top $BENCH_PROFILE_TOP"
        _bench_callgrind_top "$out/profile-callgrind-$name.txt"
        echo
        echo "callgrind, $name: % of instructions (Ir), inclusive, top $BENCH_PROFILE_TOP"
        _bench_callgrind_top "$out/profile-callgrind-$name-inclusive.txt"
        echo
    done
}

# Lines of callgrind_annotate look like "12,345 (12.34%)  file:function [object]".
# The program total and the frames every sample passes through (main, the command, the daemon's
# run loop: 99% and up) are left out; so is the source file in front of each function.
_bench_callgrind_top() {
    { grep -E '^ *[0-9,]+ +\( *[0-9.]+%\) ' "$1" || true; } |
        sed -E 's/^ *[0-9,]+ +\( *([0-9.]+%)\) +/\1  /; s/ \[[^]]*\]$//' |
        awk '$1 + 0 < 99' | sed -E 's/^([0-9.]+%)  (\?\?\?|[^ :]+\.[A-Za-z]+):/  \1  /' |
        head -n "$BENCH_PROFILE_TOP" | cut -c1-160 || true
}

bench_profile() {
    # Each part logs its progress to the terminal and its results to profile.txt.
    _bench_profile_perf >"$out/profile.txt"
    _bench_profile_callgrind >>"$out/profile.txt"
    lab_log "profiles in $out/profile.txt"
}
