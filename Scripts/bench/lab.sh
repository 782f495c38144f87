# shellcheck shell=bash
# bench/lab.sh: what the benchmark adds to lab-lib.sh and lab-topology.sh: its four-namespace
# lab, with a router between the online and the target hosts (the layout of the original's
# published figures), and readings of a process's CPU time, peak memory and the kernel's drops.
# Source lab-lib.sh and lab-topology.sh first.
#
#   client  to-online 10.77.1.2/24 (+ admin 10.77.1.3) ── default via 10.77.1.1
#      │
#   online  to-client 10.77.1.1/24, to-router 10.77.3.1/24 ── 10.77.2.0/24 via 10.77.3.2
#      │
#   router  to-online 10.77.3.2/24, to-target 10.77.2.1/24 ── 10.77.1.0/24 via 10.77.3.1
#      │
#   target  to-router 10.77.2.2/24 ── default via 10.77.2.1
#
# The client, online and target nodes keep lab-lib's names and addresses, so every lab_*
# function works on them unchanged; "router" is a lab-topology node like them.

BENCH_ONLINE_ROUTER_SIDE_IP=10.77.3.1
BENCH_ROUTER_ONLINE_SIDE_IP=10.77.3.2
BENCH_ROUTER_TARGET_SIDE_IP=10.77.2.1

# bench_lab_create: the four namespaces, veths, addresses and routes; checks client → target.
bench_lab_create() {
    lab_topo_node client online router target
    lab_topo_link client to-online "$LAB_CLIENT_IP/24" online to-client "$LAB_ONLINE_IP/24"
    lab_topo_addr client to-online "$LAB_ADMIN_IP/24"
    lab_topo_link online to-router "$BENCH_ONLINE_ROUTER_SIDE_IP/24" \
        router to-online "$BENCH_ROUTER_ONLINE_SIDE_IP/24"
    lab_topo_link router to-target "$BENCH_ROUTER_TARGET_SIDE_IP/24" target to-router "$LAB_TARGET_IP/24"
    lab_topo_route client default via "$LAB_ONLINE_IP"
    lab_topo_route online 10.77.2.0/24 via "$BENCH_ROUTER_ONLINE_SIDE_IP"
    lab_topo_route router 10.77.1.0/24 via "$BENCH_ONLINE_ROUTER_SIDE_IP"
    lab_topo_route target default via "$BENCH_ROUTER_TARGET_SIDE_IP"
    # The online host forwards too, as in lab-lib's lab: a response escaping the target would
    # travel on to the client namespace.
    lab_topo_router online router
    # Short connections at full load open tens of thousands of connections in a run: give the
    # client the whole port range, and let connect() reuse a port whose TIME_WAIT is over a
    # second old, as load generators are set up to (sysctls of the client namespace only).
    # Without reuse, each run left the client tens of thousands of TIME_WAIT ports for the next:
    # connect() tries even ports first, so once they were taken every connect scanned them all.
    # The copying run, always second, paid for its predecessor: 30 s copying runs after 30 s
    # runs without did 3,743 and 5,895 req/s against 30,142 and 29,025, and perf in such a run
    # put 63% of the machine's samples in wrk's kernel time, 38% in connect()'s port search.
    lab_topo_sysctl client net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
    lab_topo_check_ping client "$LAB_TARGET_IP"
    lab_topo_created
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

# bench_machine_cpu: "BUSY TOTAL STEAL", clock ticks summed over every CPU so far, from
# the first line of /proc/stat (user nice system idle iowait irq softirq steal ...). Busy is
# user + nice + system + irq + softirq; total adds idle, iowait and steal (time the hypervisor
# gave to someone else, which no process here could use).
bench_machine_cpu() {
    awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9, $9; exit }' \
        /proc/stat
}

# bench_vmhwm PID: peak resident set (VmHWM) in kB; 0 if the process is gone.
bench_vmhwm() {
    awk '/^VmHWM:/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" \
        2>/dev/null || echo 0
}

# bench_rss_anon PID: private resident memory (RssAnon) in kB now; 0 if the process is gone.
bench_rss_anon() {
    awk '/^RssAnon:/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" \
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

# bench_service_packets: packets the online server has received from the client side so far
# (rx_packets of its link to the client): the service's inbound traffic, every packet tcpcopy
# (or the raw loop) is there to handle, including those its capture filter leaves to the kernel.
bench_service_packets() {
    lab_exec online cat /sys/class/net/to-client/statistics/rx_packets 2>/dev/null || echo 0
}

# bench_queue_drops ROLE QUEUE: "QUEUE_DROPPED USER_DROPPED" of NFQUEUE QUEUE in ROLE: packets
# the kernel dropped because the queue was full, or could not be sent to the reader.
bench_queue_drops() {
    # shellcheck disable=SC2016
    lab_exec "$1" awk -v q="$2" '$1 == q { print $6, $7; found = 1 } END { if (!found) print 0, 0 }' \
        /proc/net/netfilter/nfnetlink_queue 2>/dev/null || echo 0 0
}

# bench_listen_drops ROLE: connections ROLE's listening sockets lost so far (the kernel's
# ListenDrops, which includes ListenOverflows: accept queue full).
bench_listen_drops() {
    local line
    line=$(lab_topo_listen_drops "$1" 2>/dev/null || true)
    line=${line#*ListenDrops=}
    echo "${line%% *}" | grep -E '^[0-9]+$' || echo 0
}

# bench_link_drops: packets the lab's links lost so far, summed over every veth end of the four
# namespaces: the device's receive and transmit drops plus its queueing discipline's drops. A
# veth end whose peer's NAPI thread is not scheduled drops what its 256-slot ring cannot hold
# (counted as a transmit drop); a full transmit queue drops too.
bench_link_drops() {
    local node ns total=0 n
    for node in client online router target; do
        ns=$(lab_ns "$node")
        # shellcheck disable=SC2016  # awk's own fields
        n=$(ip -n "$ns" -s link show type veth 2>/dev/null |
            awk '/RX:|TX:/ { getline; drops += $4 } END { print drops + 0 }')
        total=$((total + n))
        n=$(ip netns exec "$ns" tc -s qdisc show 2>/dev/null |
            sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | awk '{ drops += $1 } END { print drops + 0 }')
        total=$((total + n))
    done
    echo "$total"
}

# bench_lab_napi_threads: every veth end receives through its own NAPI kernel thread, as a NIC
# does, instead of in the sender's context. A veth queues to NAPI only when its receiving end
# has GRO on and, for TCP, its sending end has TSO off (veth_skb_is_eligible_for_gro).
#
# And every veth end gets a transmit queue (pfifo_fast, txqueuelen 1000 packets), as a NIC's
# driver has: a veth's own default is none (noqueue), and then a packet that finds the peer's
# 256-slot NAPI ring full is dropped at once. tcpcopy sends a loop turn's packets in one burst
# (sendmmsg); at full load, with the router's NAPI thread waiting for a core, that dropped 330,000
# of 1.1 million packets per 10 s run before they left the online host, where a NIC would have
# queued them. With a queue the veth stops it while the ring is full and the NAPI thread restarts
# it (Linux 6.16 and later), so a burst waits instead of being lost. QUEUE: the discipline, or
# none to keep the veth's default.
bench_lab_napi_threads() {
    local queue=$1 node ns dev
    for node in client online router target; do
        ns=$(lab_ns "$node")
        for dev in $(ip -n "$ns" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1); do
            ip netns exec "$ns" ethtool -K "$dev" tso off gro on >/dev/null 2>&1 ||
                lab_die "ethtool -K $dev tso off gro on failed in $ns"
            ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded" ||
                lab_die "cannot switch $dev to threaded NAPI in $ns"
            [[ $queue == none ]] || ip netns exec "$ns" tc qdisc replace dev "$dev" root "$queue" ||
                lab_die "cannot give $dev a transmit queue in $ns"
        done
    done
}
