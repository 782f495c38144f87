# shellcheck shell=bash
# bench/lab.sh: what the benchmark adds to lab-lib.sh: a fourth namespace, a router between the
# online and the target hosts (the layout of the original's published figures), and readings of
# a process's CPU time and peak memory. Source lab-lib.sh first.
#
#   client  to-online 10.77.1.2/24 (+ admin 10.77.1.3) ── default via 10.77.1.1
#      │
#   online  to-client 10.77.1.1/24, to-router 10.77.3.1/24 ── 10.77.2.0/24 via 10.77.3.2
#      │
#   router  to-online 10.77.3.2/24, to-target 10.77.2.1/24, ip_forward=1
#      │
#   target  to-router 10.77.2.2/24 ── default via 10.77.2.1
#
# The client, online and target namespaces keep lab-lib's names and addresses, so every lab_*
# function works on them unchanged. The router namespace is recorded in the lab's namespace list,
# so lab_destroy removes it with the others.

BENCH_ONLINE_ROUTER_SIDE_IP=10.77.3.1
BENCH_ROUTER_ONLINE_SIDE_IP=10.77.3.2
BENCH_ROUTER_TARGET_SIDE_IP=10.77.2.1

bench_router_ns() {
    printf '%srouter\n' "$LAB_PREFIX"
}

# bench_lab_create: the four namespaces, veths, addresses and routes; checks client → target.
bench_lab_create() {
    local client online router target ns
    client=$(lab_ns client)
    online=$(lab_ns online)
    target=$(lab_ns target)
    router=$(bench_router_ns)
    for ns in "$client" "$online" "$router" "$target"; do
        if _lab_ns_exists "$ns"; then
            lab_die "namespace $ns already exists: another benchmark is running with prefix" \
                "'$LAB_PREFIX', or one was left behind (remove it: ip netns del NAME)"
        fi
    done
    # Record ownership before the first add, so a failure half-way is still cleaned up.
    echo "$client $online $router $target" >"$LAB_DIR/run/namespaces"
    for ns in "$client" "$online" "$router" "$target"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    # Each veth is created inside a lab namespace with its peer moved to another lab namespace:
    # nothing is ever added to the root namespace.
    ip -n "$client" link add to-online type veth peer name to-client netns "$online"
    ip -n "$online" link add to-router type veth peer name to-online netns "$router"
    ip -n "$router" link add to-target type veth peer name to-router netns "$target"

    ip -n "$client" addr add "$LAB_CLIENT_IP/24" dev to-online
    ip -n "$client" addr add "$LAB_ADMIN_IP/24" dev to-online
    ip -n "$online" addr add "$LAB_ONLINE_IP/24" dev to-client
    ip -n "$online" addr add "$BENCH_ONLINE_ROUTER_SIDE_IP/24" dev to-router
    ip -n "$router" addr add "$BENCH_ROUTER_ONLINE_SIDE_IP/24" dev to-online
    ip -n "$router" addr add "$BENCH_ROUTER_TARGET_SIDE_IP/24" dev to-target
    ip -n "$target" addr add "$LAB_TARGET_IP/24" dev to-router

    ip -n "$client" link set to-online up
    ip -n "$online" link set to-client up
    ip -n "$online" link set to-router up
    ip -n "$router" link set to-online up
    ip -n "$router" link set to-target up
    ip -n "$target" link set to-router up

    ip -n "$client" route add default via "$LAB_ONLINE_IP"
    ip -n "$online" route add 10.77.2.0/24 via "$BENCH_ROUTER_ONLINE_SIDE_IP"
    ip -n "$router" route add 10.77.1.0/24 via "$BENCH_ONLINE_ROUTER_SIDE_IP"
    ip -n "$target" route add default via "$BENCH_ROUTER_TARGET_SIDE_IP"
    ip netns exec "$online" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
    # Short connections at full load open tens of thousands of connections in a run: give the
    # client the whole port range (a sysctl of the client namespace only).
    ip netns exec "$client" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

    lab_retry 50 0.1 lab_exec client ping -c1 -W1 -q "$LAB_TARGET_IP" >/dev/null ||
        lab_die "the benchmark lab's routing does not work: client cannot ping $LAB_TARGET_IP"
    lab_log "bench lab created: $client $online $router $target (dir $LAB_DIR)"
}

# bench_cpu PID...: "TICKS NS", the CPU time the processes have used so far, summed: utime +
# stime from /proc/PID/stat (clock ticks, the kernel's accounting) and the scheduler's run time
# of every thread from /proc/PID/task/*/schedstat (nanoseconds, far finer than a tick).
# A process that is gone counts 0.
bench_cpu() {
    local pid stat ticks=0 ns=0 task run
    local -a fields
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        # Fields after the command name (which may contain spaces): state is field 3, so utime
        # (14) and stime (15) are the 12th and 13th words after ") ".
        read -ra fields <<<"${stat##*) }"
        ticks=$((ticks + fields[11] + fields[12]))
        for task in /proc/"$pid"/task/*/schedstat; do
            read -r run _ <"$task" 2>/dev/null || continue
            ns=$((ns + run))
        done
    done
    echo "$ticks $ns"
}

# bench_vmhwm PID: peak resident set (VmHWM) in kB; 0 if the process is gone.
bench_vmhwm() {
    awk '/^VmHWM:/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" \
        2>/dev/null || echo 0
}

# bench_nginx_pids ROLE: the master and worker pids of ROLE's nginx.
bench_nginx_pids() {
    local master workers
    master=$(<"$LAB_DIR/run/nginx-$1.pid")
    workers=$(pgrep -P "$master" 2>/dev/null || true)
    echo "$master" "${workers//$'\n'/ }"
}

# bench_raw_drops ROLE: packets the kernel dropped because a raw TCP socket's receive buffer was
# full (the drops column of /proc/net/raw, summed over ROLE's IPPROTO_TCP raw sockets): copies
# lost before tcpcopy (or the raw loop) could read them.
bench_raw_drops() {
    # shellcheck disable=SC2016  # awk's own fields
    lab_exec "$1" awk 'NR > 1 && $2 ~ /:0006$/ { drops += $NF } END { print drops + 0 }' \
        /proc/net/raw 2>/dev/null || echo 0
}

# bench_queue_drops ROLE QUEUE: "QUEUE_DROPPED USER_DROPPED" of NFQUEUE QUEUE in ROLE: packets
# the kernel dropped because the queue was full, or could not be sent to the reader.
bench_queue_drops() {
    # shellcheck disable=SC2016
    lab_exec "$1" awk -v q="$2" '$1 == q { print $6, $7; found = 1 } END { if (!found) print 0, 0 }' \
        /proc/net/netfilter/nfnetlink_queue 2>/dev/null || echo 0 0
}
