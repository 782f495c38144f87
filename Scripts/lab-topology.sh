# shellcheck shell=bash
# lab-topology.sh: labs of more than the three namespaces of lab-lib.sh: cascades, several online
# servers feeding one target, one online server feeding several targets.
#
# Source it after lab-lib.sh, then describe the topology node by node:
#     source Scripts/lab-lib.sh; source Scripts/lab-topology.sh
#     LAB_PREFIX=$(lab_test_prefix NAME)
#     lab_init
#     lab_topo_node client a b                            # namespaces PREFIXclient, PREFIXa, ...
#     lab_topo_link client to-a 10.88.1.2/24  a to-client 10.88.1.1/24
#     lab_topo_link a to-b 10.88.2.1/24       b to-a 10.88.2.2/24
#     lab_topo_route client default via 10.88.1.1
#     lab_topo_route b default via 10.88.2.1
#     lab_topo_router a                                  # ip_forward=1
#     lab_topo_check_ping client 10.88.2.2
#     lab_nginx_start b; lab_rules_apply b 80 0          # lab-lib's helpers take node names too
#     lab_topo_intercept_start b intercept-b
#     lab_topo_tcpcopy_start a tcpcopy-a -x 80-10.88.2.2:80
#
# Every node is a role for lab-lib.sh's helpers (lab_exec, lab_nginx_*, lab_rules_*,
# lab_daemon_*, lab_capture_*), and is deleted by lab-lib.sh's cleanup trap like the standard
# three. The standard roles (client, online, target) keep their meaning, so lab_create can be
# combined with extra nodes (e.g. a second target next to lab_create's three): call lab_create
# first, since it starts the lab's list of namespaces afresh.
#
# Like lab-lib.sh, everything happens inside namespaces this file creates: veths are created from
# inside a node (`ip -n NODE link add ... peer ... netns OTHER`), and routes, sysctls and rules
# are set with `ip -n` / `ip netns exec` only.

# Extra roles, in creation order.
LAB_TOPO_NODES=()

# lab_ns learns the extra roles. The standard three still go through lab-lib.sh's own lab_ns
# (kept under another name), so its behaviour for them, and its error for unknown roles, stay.
if ! declare -F _lab_topo_standard_ns >/dev/null; then
    eval "$(declare -f lab_ns | sed '1s/^lab_ns /_lab_topo_standard_ns /')"
fi
lab_ns() {
    local node
    for node in "${LAB_TOPO_NODES[@]}"; do
        if [[ $node == "$1" ]]; then
            printf '%s%s\n' "$LAB_PREFIX" "$1"
            return 0
        fi
    done
    _lab_topo_standard_ns "$1"
}

# ---------------------------------------------------------------------------------------------
# Building the topology

# lab_topo_node NODE...: a namespace per NODE (PREFIX+NODE), loopback up. Node names are short
# words ([a-z0-9]); interface names are chosen by the caller (at most 15 characters).
lab_topo_node() {
    local node ns
    [[ -n $LAB_DIR && -d $LAB_DIR/run ]] || lab_die "lab_topo_node before lab_init"
    for node in "$@"; do
        [[ $node =~ ^[a-z0-9]+$ ]] || lab_die "node name '$node': use [a-z0-9] only"
        ns=$LAB_PREFIX$node
        if _lab_ns_exists "$ns"; then
            lab_die "namespace $ns already exists: another lab is running with prefix" \
                "'${LAB_PREFIX}', or one was left behind (remove it: ip netns del NAME)"
        fi
        LAB_TOPO_NODES+=("$node")
        # Recorded before it is added, so a failure half-way is still cleaned up.
        echo "$ns" >>"$LAB_DIR/run/namespaces"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
}

# lab_topo_link NODE1 IF1 CIDR1 NODE2 IF2 CIDR2: a veth pair between two nodes, addressed and up.
# A CIDR of "-" leaves that end without an address (e.g. an end that joins a bridge).
lab_topo_link() {
    local n1=$1 if1=$2 a1=$3 n2=$4 if2=$5 a2=$6 ns1 ns2
    ns1=$(lab_ns "$n1")
    ns2=$(lab_ns "$n2")
    ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2"
    [[ $a1 == - ]] || ip -n "$ns1" addr add "$a1" dev "$if1"
    [[ $a2 == - ]] || ip -n "$ns2" addr add "$a2" dev "$if2"
    ip -n "$ns1" link set "$if1" up
    ip -n "$ns2" link set "$if2" up
}

# lab_topo_bridge NODE BRIDGE CIDR PORT...: a bridge in NODE, addressed CIDR, with the node's
# interfaces PORT... as its ports (a LAN that several other nodes share).
lab_topo_bridge() {
    local node=$1 bridge=$2 cidr=$3 ns port
    shift 3
    ns=$(lab_ns "$node")
    ip -n "$ns" link add "$bridge" type bridge
    for port in "$@"; do
        ip -n "$ns" link set "$port" master "$bridge"
    done
    ip -n "$ns" addr add "$cidr" dev "$bridge"
    ip -n "$ns" link set "$bridge" up
}

# lab_topo_addr NODE IF CIDR...: more addresses on an interface.
lab_topo_addr() {
    local node=$1 dev=$2 cidr
    shift 2
    for cidr in "$@"; do
        ip -n "$(lab_ns "$node")" addr add "$cidr" dev "$dev"
    done
}

# lab_topo_route NODE ROUTE...: `ip route add ROUTE...` in NODE.
lab_topo_route() {
    local node=$1
    shift
    ip -n "$(lab_ns "$node")" route add "$@"
}

# lab_topo_sysctl NODE KEY=VALUE...: sysctls of NODE's own network namespace.
lab_topo_sysctl() {
    local node=$1
    shift
    ip netns exec "$(lab_ns "$node")" sysctl -qw "$@" >/dev/null
}

# lab_topo_router NODE...: ip_forward=1. Servers between the client and the last target forward,
# so that a response escaping any target would travel back to the client namespace, where a
# capture makes the leak visible (as the standard lab's online server does).
lab_topo_router() {
    local node
    for node in "$@"; do lab_topo_sysctl "$node" net.ipv4.ip_forward=1; done
}

# lab_topo_rp_filter NODE MODE: reverse-path filtering of NODE (0 off, 1 strict, 2 loose) on
# every interface (the kernel uses the larger of "all" and the interface's own value).
lab_topo_rp_filter() {
    local node=$1 mode=$2 dev
    lab_topo_sysctl "$node" "net.ipv4.conf.all.rp_filter=$mode" \
        "net.ipv4.conf.default.rp_filter=$mode"
    for dev in $(ip -n "$(lab_ns "$node")" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        lab_topo_sysctl "$node" "net.ipv4.conf.$dev.rp_filter=$mode"
    done
}

# lab_topo_check_ping NODE ADDRESS...: bounded check that NODE reaches each ADDRESS.
lab_topo_check_ping() {
    local node=$1 address
    shift
    for address in "$@"; do
        lab_retry 50 0.1 lab_exec "$node" ping -c1 -W1 -q "$address" >/dev/null ||
            lab_die "the lab's routing does not work: $node cannot ping $address"
    done
}

# lab_topo_created: logs the nodes (call when the topology is complete).
lab_topo_created() {
    lab_log "topology created: ${LAB_TOPO_NODES[*]} (prefix $LAB_PREFIX, dir $LAB_DIR)"
}

# lab_topo_listen_drops NODE: the kernel's counters of connections NODE's listening sockets lost
# (accept queue full, SYN queue full, SYN cookies sent), as "ListenOverflows=N ListenDrops=N
# SyncookiesSent=N". Each namespace has its own /proc/net/netstat.
lab_topo_listen_drops() {
    # shellcheck disable=SC2016  # awk's own $ fields
    lab_exec "$1" awk '
        $1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++) name[i] = $i; names = 1; next }
        $1 == "TcpExt:" { for (i = 2; i <= NF; i++) v[name[i]] = $i }
        END {
            printf "ListenOverflows=%d ListenDrops=%d SyncookiesSent=%d\n",
                v["ListenOverflows"], v["ListenDrops"], v["SyncookiesSent"]
        }' /proc/net/netstat
}

# lab_topo_tcpext NODE NAME: one of the kernel's TcpExt counters in NODE's namespace (e.g. TW,
# the connections that entered TIME_WAIT; PAWSTimewait, the SYNs a TIME_WAIT socket rejected).
lab_topo_tcpext() {
    # shellcheck disable=SC2016  # awk's own $ fields
    lab_exec "$1" awk -v want="$2" '
        $1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++) name[i] = $i; names = 1; next }
        $1 == "TcpExt:" { for (i = 2; i <= NF; i++) if (name[i] == want) v = $i }
        END { print v + 0 }' /proc/net/netstat
}

# lab_topo_raise_nofile WANT: raises this shell's open-file limit (which nginx, started later,
# inherits) to WANT, or to the hard limit when that is lower (then says so).
lab_topo_raise_nofile() {
    local want=$1 hard soft
    hard=$(ulimit -Hn)
    soft=$(ulimit -Sn)
    if [[ $hard != unlimited ]] && ((hard < want)); then
        lab_log "warning: open-file hard limit $hard, below the $want wanted"
        want=$hard
    fi
    [[ $soft == unlimited ]] || ((want <= soft)) || ulimit -Sn "$want"
}

# lab_topo_nginx_capacity NODE BACKLOG CONNECTIONS: a target that must accept thousands of copied
# connections within seconds (start it with lab_nginx_start first).
#  - BACKLOG: at -n 100 the 100 copies of every captured connection arrive together, and nginx's
#    default listen backlog (511) overflows: the kernel drops the handshakes' last ACKs
#    (ListenDrops) and answers with SYN cookies, and the copies only get through by
#    retransmission. Sets somaxconn and tcp_max_syn_backlog in NODE's namespace and backlog= on
#    the listen line.
#  - CONNECTIONS: nginx's worker_connections (lab-lib's 4096). Beyond it nginx closes idle
#    keep-alive connections ("worker_connections are not enough, reusing connections"), which
#    at -n 1000 cut copied keep-alive sessions short. Raise the open-file limit (ulimit -n) above
#    it before lab_nginx_start: nginx inherits it.
# Edits lab-lib's generated nginx.conf, reloads nginx (SIGHUP) and waits until the listening
# socket has the new backlog (ss shows it as Send-Q).
lab_topo_nginx_capacity() {
    local node=$1 backlog=$2 connections=$3 dir="$LAB_DIR/nginx-$1" i
    lab_topo_sysctl "$node" "net.core.somaxconn=$backlog" "net.ipv4.tcp_max_syn_backlog=$backlog"
    sed -i -e "s/^\( *listen [0-9]*\) default_server;/\1 default_server backlog=$backlog;/" \
        -e "s/^events { .* }$/events { worker_connections $connections; multi_accept on; }/" \
        "$dir/nginx.conf"
    if ! grep -q "backlog=$backlog" "$dir/nginx.conf" ||
        ! grep -q "worker_connections $connections;" "$dir/nginx.conf"; then
        lab_die "could not set the backlog and worker_connections in $dir/nginx.conf"
    fi
    kill -HUP "$(<"$dir/nginx.pid")"
    for ((i = 0; i < 100; i++)); do
        # shellcheck disable=SC2016  # awk's own $3
        [[ $(lab_exec "$node" ss -Hltn 'sport = :80' | awk '{ print $3 }') == "$backlog" ]] &&
            return 0
        sleep 0.1
    done
    lab_die "nginx in $node did not take the listen backlog $backlog within 10 s"
}

# ---------------------------------------------------------------------------------------------
# Daemons on any node

# lab_topo_intercept_start NODE NAME ARGS...: intercept in NODE; returns once it listens on the
# control port and has bound its queue (LAB_QUEUE, default 0).
lab_topo_intercept_start() {
    local node=$1 name=$2 bin
    shift 2
    bin=$(lab_bin intercept)
    lab_daemon_start "$name" "$node" "$bin" "$@"
    _lab_wait_daemon "$name" 10 _lab_listening "$node" "$LAB_CONTROL_PORT" ||
        lab_die "$name did not listen on port $LAB_CONTROL_PORT within 10 s"
    _lab_wait_daemon "$name" 10 lab_queue_bound "$node" "${LAB_QUEUE:-0}" ||
        lab_die "$name listens but did not bind NFQUEUE ${LAB_QUEUE:-0} within 10 s"
}

# lab_topo_tcpcopy_start NODE NAME ARGS...: tcpcopy in NODE; returns once it has connected to
# every target's intercept and opened its capture socket (it logs "copying" then).
lab_topo_tcpcopy_start() {
    local node=$1 name=$2 bin log
    shift 2
    bin=$(lab_bin tcpcopy)
    log=$(lab_daemon_log "$name")
    : >"$log"
    lab_daemon_start "$name" "$node" "$bin" "$@"
    _lab_wait_daemon "$name" 15 grep -aq ' copying' "$log" ||
        lab_die "$name did not start copying within 15 s (connected to every intercept?)"
    # As lab_tcpcopy_start: let the capture socket settle so the first SYN is not missed.
    sleep 0.3
    lab_daemon_alive "$name" || lab_die "$name exited right after starting"
}

# lab_topo_stop_all NAME...: stops each daemon (SIGTERM, so it writes its final stats line) and
# checks that each exited cleanly with one.
lab_topo_stop_all() {
    local name
    for name in "$@"; do lab_expect_clean_stop "$name"; done
}

# lab_topo_stats_now NAME: asks daemon NAME for its counters (SIGUSR1) and waits (5 s at most)
# for the new stats line, so that lab_topo_stat then reads current values.
lab_topo_stats_now() {
    local name=$1 log before
    log=$(lab_daemon_log "$name")
    before=$(grep -ac 'stats:' "$log" || true)
    kill -USR1 "$(lab_daemon_pid "$name")" 2>/dev/null || lab_die "$name is not running"
    lab_retry 50 0.1 _lab_topo_stats_lines_above "$log" "$before" ||
        lab_fail "$name's stats line after SIGUSR1" "within 5 s" "none (its event loop is stuck?)"
}

_lab_topo_stats_lines_above() {
    (($(grep -ac 'stats:' "$1" || true) > $2))
}

# lab_topo_wait_idle NAME [TIMEOUT_S]: waits until tcpcopy NAME has no live session left
# (sessions_live=0): the target may have served every request while the copies' closing
# handshakes are still under way, and stopping tcpcopy then would abort them. Returns 1 if
# sessions are still live after TIMEOUT_S (30).
lab_topo_wait_idle() {
    local name=$1 timeout=${2:-30} i
    for ((i = 0; i < timeout * 2; i++)); do
        lab_topo_stats_now "$name"
        (($(lab_topo_stat "$name" sessions_live) == 0)) && return 0
        sleep 0.5
    done
    return 1
}

# lab_topo_expect_idle NAME...: each tcpcopy NAME ends up with no live session within 30 s.
lab_topo_expect_idle() {
    local name
    for name in "$@"; do
        lab_topo_wait_idle "$name" 30 ||
            lab_fail "$name's live sessions 30 s after the traffic" 0 \
                "$(lab_topo_stat "$name" sessions_live)"
    done
}

# lab_topo_stat NAME KEY: KEY from daemon NAME's last stats line (-1 when missing).
lab_topo_stat() {
    lab_stat_int "$(lab_daemon_log "$1")" "$2"
}

# lab_topo_expect_stat NAME KEY OP VALUE: e.g. lab_topo_expect_stat tcpcopy port_collisions == 0.
lab_topo_expect_stat() {
    local name=$1 key=$2 op=$3 want=$4 got
    got=$(lab_topo_stat "$name" "$key")
    case $op in
        ==) ((got == want)) ;;
        '>') ((got > want)) ;;
        '>=') ((got >= want)) ;;
        '<=') ((got <= want)) ;;
        *) lab_die "lab_topo_expect_stat: unknown operator $op" ;;
    esac || lab_fail "$name stats $key" "$op $want" "$got"
}

# ---------------------------------------------------------------------------------------------
# Traffic from any node (curl inside it). CURL_ARGS may choose the source address
# (--interface ADDRESS) or anything else curl takes.

# lab_topo_requests_close NODE COUNT URL [CURL_ARGS...]: COUNT one-request connections
# (Connection: close) to URL?close=I, 50 per curl process. Prints how many got 200.
lab_topo_requests_close() {
    local node=$1 count=$2 url=$3 ok=0 done=0 batch n i
    shift 3
    local -a urls
    while ((done < count)); do
        batch=$((count - done > 50 ? 50 : count - done))
        urls=()
        for ((i = 0; i < batch; i++)); do urls+=("${url}?close=$((done + i))"); done
        n=$(lab_exec "$node" curl -s --max-time 30 -H 'Connection: close' "$@" \
            -o /dev/null -w '%{http_code}\n' "${urls[@]}" 2>/dev/null | grep -c '^200$' || true)
        ok=$((ok + n))
        done=$((done + batch))
    done
    echo "$ok"
}

# lab_topo_requests_keepalive NODE CONNECTIONS PER_CONNECTION URL [CURL_ARGS...]: each curl
# process fetches URL?conn=C&req=I for I in 0..PER_CONNECTION-1 over one connection. Prints
# how many got 200.
lab_topo_requests_keepalive() {
    local node=$1 conns=$2 per=$3 url=$4 ok=0 c i n
    shift 4
    local -a urls
    for ((c = 0; c < conns; c++)); do
        urls=()
        for ((i = 0; i < per; i++)); do urls+=("${url}?conn=$c&req=$i"); done
        n=$(lab_exec "$node" curl -s --max-time 30 "$@" -o /dev/null -w '%{http_code}\n' \
            "${urls[@]}" 2>/dev/null | grep -c '^200$' || true)
        ok=$((ok + n))
    done
    echo "$ok"
}

# lab_topo_requests_ports NODE FIRST_PORT COUNT URL [CURL_ARGS...]: COUNT one-request
# connections, the I-th from local port FIRST_PORT+I (so two clients can present exactly the same
# address and ports to two servers). One shell in NODE runs the loop. Prints how many got 200.
lab_topo_requests_ports() {
    local node=$1 first=$2 count=$3 url=$4
    shift 4
    # shellcheck disable=SC2016  # expanded by the inner shell
    lab_exec "$node" bash -c '
        first=$1 count=$2 url=$3; shift 3
        for ((i = 0; i < count; i++)); do
            curl -s --max-time 10 -H "Connection: close" --local-port $((first + i)) "$@" \
                -o /dev/null -w "%{http_code}\n" "${url}?port=$((first + i))" || true
        done' requests "$first" "$count" "$url" "$@" 2>/dev/null | grep -c '^200$' || true
}

# lab_topo_requests_held NODE FIRST_PORT COUNT URL [CURL_ARGS...]: COUNT connections at once, the
# I-th from local port FIRST_PORT+I, each carrying two requests a second apart (curl --rate), so
# that the connections of two clients started together overlap for about a second. Prints how
# many requests got 200.
lab_topo_requests_held() {
    local node=$1 first=$2 count=$3 url=$4
    shift 4
    # shellcheck disable=SC2016  # expanded by the inner shell
    lab_exec "$node" bash -c '
        first=$1 count=$2 url=$3; shift 3
        for ((i = 0; i < count; i++)); do
            port=$((first + i))
            curl -s --max-time 10 --rate 1/s --local-port "$port" "$@" -o /dev/null \
                -w "%{http_code}\n" "${url}?held=$port&req=0" "${url}?held=$port&req=1" &
        done
        wait' requests "$first" "$count" "$url" "$@" 2>/dev/null | grep -c '^200$' || true
}

# lab_topo_requests_server_closes NODE COUNT ADDRESS PATH [GAP_S] [LINGER_S]: COUNT one-request
# connections to ADDRESS:80 (PATH?n=I, Connection: close) started GAP_S (0.1) apart, each in its
# own shell: read the whole answer, keep the socket open LINGER_S (1) more, then close. The server
# thus always closes first, so a copy's target does too and holds the port in TIME_WAIT, which
# curl, closing at once, leaves to chance. Prints how many got 200.
lab_topo_requests_server_closes() {
    local node=$1 count=$2 address=$3 path=$4 gap=${5:-0.1} linger=${6:-1}
    # shellcheck disable=SC2016  # expanded by the inner shell
    lab_exec "$node" bash -c '
        count=$1 address=$2 path=$3 gap=$4 linger=$5
        for ((i = 0; i < count; i++)); do
            (
                exec 3<>"/dev/tcp/$address/80" || exit 0
                printf "GET %s?n=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" \
                    "$path" "$i" "$address" >&3
                timeout 10 head -n 1 <&3
                timeout 10 cat <&3 >/dev/null
                sleep "$linger"
                exec 3>&-
            ) &
            sleep "$gap"
        done
        wait' requests "$count" "$address" "$path" "$gap" "$linger" 2>/dev/null |
        grep -c '^HTTP/1.1 200' || true
}

# ---------------------------------------------------------------------------------------------
# Reading the access logs (fields: see lab-lib.sh; $7 is the method, $8 the request URI)

# lab_topo_served NODE [PATH_PREFIX] [KIND]: requests NODE's nginx served with status 200 whose
# URI starts with PATH_PREFIX (default: any), of KIND: close (URI has ?close=), keepalive
# (?conn=), or any (default).
lab_topo_served() {
    local node=$1 path=${2:-/} kind=${3:-any}
    _lab_topo_select "$node" "$path" "$kind" | wc -l | tr -d ' '
}

# lab_topo_connections NODE [PATH_PREFIX] [KIND]: distinct connections among those requests.
lab_topo_connections() {
    local node=$1 path=${2:-/} kind=${3:-any}
    _lab_topo_select "$node" "$path" "$kind" | awk '{ seen[$3] = 1 } END { print length(seen) }'
}

# lab_topo_connection_shape NODE [PATH_PREFIX] [KIND]: how many requests each connection carried,
# as "REQUESTS_PER_CONNECTION xCONNECTIONS" words sorted (e.g. "1x500 5x100"); two logs with the
# same shape (up to the multiplier) served whole sessions alike.
lab_topo_connection_shape() {
    local node=$1 path=${2:-/} kind=${3:-any}
    _lab_topo_select "$node" "$path" "$kind" |
        awk '{ n[$3]++ } END { for (c in n) shape[n[c]]++; for (s in shape) print s "x" shape[s] }' |
        sort -n | tr '\n' ' ' | sed 's/ $//'
}

# lab_topo_addresses NODE [PATH_PREFIX]: the distinct client addresses ($remote_addr) NODE saw.
lab_topo_addresses() {
    local node=$1 path=${2:-/}
    _lab_topo_select "$node" "$path" any | awk '{ print $1 }' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

_lab_topo_select() {
    local node=$1 path=$2 kind=$3 log
    log=$(lab_nginx_access_log "$node")
    [[ -e $log ]] || return 0
    awk -v path="$path" -v kind="$kind" '
        $5 == 200 && index($8, path) == 1 {
            if (kind == "close" && $8 !~ /[?&]close=/) next
            if (kind == "keepalive" && $8 !~ /[?&]conn=/) next
            print
        }' "$log"
}

# lab_topo_wait_served NODE WANT TIMEOUT_S [PATH_PREFIX] [KIND]: polls until NODE served at least
# WANT such requests, then waits until the count stays put for a second (so duplicates show);
# prints the final count. Returns 1 if WANT was not reached in time.
lab_topo_wait_served() {
    local node=$1 want=$2 timeout=$3 path=${4:-/} kind=${5:-any} got=0 last=-1 i
    for ((i = 0; i < timeout * 10; i++)); do
        got=$(lab_topo_served "$node" "$path" "$kind")
        ((got >= want)) && break
        sleep 0.1
    done
    for ((i = 0; i < 20 && got != last; i++)); do
        last=$got
        sleep 1
        got=$(lab_topo_served "$node" "$path" "$kind")
    done
    echo "$got"
    ((got >= want))
}

# lab_topo_page NODE NAME...: more copies of the index page in NODE's document root (NAME.html),
# so that phases of one test are told apart by path in the access logs.
lab_topo_page() {
    local node=$1 name dir
    shift
    dir="$LAB_DIR/nginx-$node/html"
    for name in "$@"; do
        cp "$dir/index.html" "$dir/$name.html"
        chmod a+r "$dir/$name.html"
    done
}

# lab_topo_ratio GOT BASE: GOT/BASE with 3 decimals (awk; bash has no floating point).
lab_topo_ratio() {
    awk -v g="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f\n", g / b }'
}

# lab_topo_within GOT WANT TOLERANCE_PERCENT: true when GOT is within TOLERANCE% of WANT.
lab_topo_within() {
    awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * t / 100) }'
}

# lab_topo_expect_no_leak CAPTURE SOURCES...: not one packet from any of the servers' addresses
# SOURCES in CAPTURE (taken in the client namespace), while it did see packets at all.
lab_topo_expect_no_leak() {
    local name=$1 filter="" address leaked total
    shift
    for address in "$@"; do filter+="${filter:+ or }src host $address"; done
    leaked=$(lab_capture_count "$name" "$filter")
    if ((leaked != 0)); then
        lab_capture_show "$name" "$filter"
        lab_fail "target packets that reached the client namespace ($filter)" 0 "$leaked"
    fi
    total=$(lab_capture_count "$name")
    ((total > 0)) || lab_fail "packets seen by the client capture (the control)" ">0" "$total"
}
