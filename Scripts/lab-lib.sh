# shellcheck shell=bash
# lab-lib.sh: the three-namespace lab every demo, end-to-end test and benchmark is built on.
#
# Source it, then:
#     LAB_PREFIX=mytest-           # namespaces become mytest-client, -online, -target
#                                  # (tests: LAB_PREFIX=$(lab_test_prefix NAME))
#     lab_init                     # temp dir + cleanup trap (EXIT INT TERM)
#     lab_create                   # namespaces, veths, addresses, routes
#     lab_nginx_start online; lab_nginx_start target
#     lab_rules_apply target 80 0
#     lab_intercept_start intercept -x 10.77.1.3
#     lab_tcpcopy_start tcpcopy 10.77.1.1 80 10.77.2.2 80
#     ...
# Teardown is automatic on exit; lab_destroy may also be called directly.
#
# Topology (addresses exist only inside the namespaces this library creates):
#
#   client  to-online 10.77.1.2/24 + 10.77.1.3/24 (admin) ── default via 10.77.1.1
#      │
#   online  to-client 10.77.1.1/24, to-target 10.77.2.1/24, ip_forward=1
#      │    (forwarding is deliberate: a response that escaped the target would be routed on to
#      │     the client namespace, where a capture makes the leak visible)
#   target  to-online 10.77.2.2/24 ── default via 10.77.2.1
#
# Every veth is created from inside a lab namespace (`ip -n NS link add ... peer ... netns NS2`),
# so nothing, not even transiently, is added to the root namespace.
#
# Nginx access log fields (space separated; $request last because it contains spaces):
#   1 $remote_addr  2 $remote_port  3 $connection  4 $connection_requests  5 $status  6 $msec
#   7.. $request
#
# Environment read (all optional):
#   LAB_PREFIX      namespace name prefix (default: none: client, online, target)
#   LAB_BIN_DIR     where the tcpcopy and intercept binaries are (default: swift build's bin path)
#   LAB_KEEP=1      keep the lab's temp dir (logs, captures) on exit and print its path
#   LAB_VERBOSE=1   log every command run in a namespace
#   LAB_NGINX_WORKERS  nginx worker_processes (default 1)
#   LAB_FAMILY      4 (default) or 6: with 6, lab_create adds the IPv6 twins (lab_add_ipv6), and
#                   lab_ip, lab_host and lab_ip_tables answer for IPv6 (the tests written for one
#                   family run over the other: the fidelity tests, Tests/EndToEnd/test_ipv6_*)

set -euo pipefail

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO_DIR=$(cd "$LAB_LIB_DIR/.." && pwd)

# Lab addresses, named so tests read as prose.
LAB_CLIENT_IP=10.77.1.2
LAB_ADMIN_IP=10.77.1.3
LAB_ONLINE_IP=10.77.1.1
LAB_ONLINE_TARGET_SIDE_IP=10.77.2.1
LAB_TARGET_IP=10.77.2.2
LAB_CONTROL_PORT=36524
# IPv6 twins of the addresses above (fd00::/8 only), added by lab_add_ipv6.
LAB_CLIENT_IP6=fd00:77:1::2
LAB_ADMIN_IP6=fd00:77:1::3
LAB_ONLINE_IP6=fd00:77:1::1
LAB_ONLINE_TARGET_SIDE_IP6=fd00:77:2::1
LAB_TARGET_IP6=fd00:77:2::2

LAB_FAMILY=${LAB_FAMILY:-4}

LAB_PREFIX=${LAB_PREFIX:-}
# Always a fresh temp dir of our own (lab_init): cleanup deletes it, so it is never inherited.
LAB_DIR=""

# ---------------------------------------------------------------------------------------------
# Messages

lab_log() {
    printf '%s [lab%s] %s\n' "$(date +%H:%M:%S)" "${LAB_PREFIX:+ ${LAB_PREFIX%-}}" "$*" >&2
}

lab_die() {
    lab_log "FATAL: $*"
    exit 1
}

# A failed assertion: says what was expected and what was seen, then exits non-zero (which
# triggers the cleanup trap, which prints the daemons' log tails).
lab_fail() {
    local what=$1 expected=$2 got=$3
    lab_log "FAIL: $what: expected $expected, got $got"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Preconditions

# Root and the ability to create a namespace: without either every later step would fail in a
# confusing way, so say so once, clearly.
lab_require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        lab_log "this needs root (network namespaces, iptables, raw sockets); run it with sudo"
        return 1
    fi
    local probe="labprobe-$$-$RANDOM"
    if ! ip netns add "$probe" 2>/dev/null; then
        lab_log "cannot create a network namespace (ip netns add failed): a container without" \
            "CAP_SYS_ADMIN, or no iproute2?"
        return 1
    fi
    ip netns del "$probe"
}

lab_require_tools() {
    local tool missing=()
    for tool in ip nginx tcpdump curl ss sysctl timeout ping pgrep "$(lab_iptables)" \
        "$(lab_iptables)-restore"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        lab_log "missing tools: ${missing[*]} (the Debian packages of Scripts/packages.txt;" \
            "Scripts/lab.sh and Scripts/test.sh install them when run as root)"
        return 1
    fi
}

# The iptables binary the lab uses. libiptc (which intercept links) reads and writes the legacy
# tables, so a rule there is one intercept can see; iptables-nft is the fallback.
lab_iptables() {
    if command -v iptables-legacy >/dev/null 2>&1; then
        echo iptables-legacy
    else
        echo iptables
    fi
}

# ---------------------------------------------------------------------------------------------
# Lifecycle

# Creates the temp dir and installs the cleanup trap (replacing any EXIT/INT/TERM trap the
# caller had). Call once, before anything else.
lab_init() {
    LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tcpcopy-lab.XXXXXX")
    # nginx workers run unprivileged and must read the document root below this dir.
    chmod 0755 "$LAB_DIR"
    mkdir -p "$LAB_DIR/run"
    trap lab_cleanup EXIT
    # Turn signals into an ordinary exit so the EXIT trap does the cleanup exactly once.
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# lab_test_prefix NAME: the namespace prefix of one end-to-end test. It carries the runner's
# run tag (E2E_RUN_TAG; the test's own pid when run alone), so two runs on one machine never
# share, or sweep, each other's namespaces.
lab_test_prefix() {
    printf 'tce2e-%s-%s-\n' "${E2E_RUN_TAG:-$$}" "$1"
}

lab_ns() {
    local role=$1
    case $role in
        client | online | target) printf '%s%s\n' "$LAB_PREFIX" "$role" ;;
        *) lab_die "unknown lab role '$role' (client, online or target)" ;;
    esac
}

lab_exec() {
    local role=$1
    shift
    [[ ${LAB_VERBOSE:-0} == 1 ]] && lab_log "[$role] $*"
    ip netns exec "$(lab_ns "$role")" "$@"
}

lab_create() {
    local client online target role
    client=$(lab_ns client)
    online=$(lab_ns online)
    target=$(lab_ns target)
    for role in client online target; do
        if ip netns list | awk '{print $1}' | grep -qx -- "$(lab_ns "$role")"; then
            lab_die "namespace $(lab_ns "$role") already exists: another lab is running with" \
                "prefix '${LAB_PREFIX}', or one was left behind (remove it: ip netns del NAME)"
        fi
    done
    # Record ownership before the first add, so a failure half-way is still cleaned up.
    echo "$client $online $target" >"$LAB_DIR/run/namespaces"
    for role in client online target; do
        ip netns add "$(lab_ns "$role")"
        ip -n "$(lab_ns "$role")" link set lo up
    done

    ip -n "$client" link add to-online type veth peer name to-client netns "$online"
    ip -n "$online" link add to-target type veth peer name to-online netns "$target"

    ip -n "$client" addr add "$LAB_CLIENT_IP/24" dev to-online
    ip -n "$client" addr add "$LAB_ADMIN_IP/24" dev to-online
    ip -n "$online" addr add "$LAB_ONLINE_IP/24" dev to-client
    ip -n "$online" addr add "$LAB_ONLINE_TARGET_SIDE_IP/24" dev to-target
    ip -n "$target" addr add "$LAB_TARGET_IP/24" dev to-online

    ip -n "$client" link set to-online up
    ip -n "$online" link set to-client up
    ip -n "$online" link set to-target up
    ip -n "$target" link set to-online up

    ip -n "$client" route add default via "$LAB_ONLINE_IP"
    ip -n "$target" route add default via "$LAB_ONLINE_TARGET_SIDE_IP"
    ip netns exec "$online" sysctl -qw net.ipv4.ip_forward=1

    # Bounded check that both links carry traffic before anyone relies on them (veths come up
    # at once, but duplicate address detection and ARP are not instant).
    lab_retry 50 0.1 lab_exec client ping -c1 -W1 -q "$LAB_TARGET_IP" >/dev/null ||
        lab_die "the lab's routing does not work: client cannot ping $LAB_TARGET_IP"
    lab_log "lab created: $client $online $target (dir $LAB_DIR)"
    if [[ $LAB_FAMILY == 6 ]]; then lab_add_ipv6; fi
}

# lab_add_ipv6: gives the lab's veths their IPv6 twins (LAB_*_IP6, /64, nodad so that nothing
# waits for duplicate address detection), routes and forwarding. Opt-in: IPv4 tests keep their
# captures free of IPv6 traffic.
lab_add_ipv6() {
    local client online target
    client=$(lab_ns client)
    online=$(lab_ns online)
    target=$(lab_ns target)
    ip -n "$client" addr add "$LAB_CLIENT_IP6/64" dev to-online nodad
    # The admin address is deprecated (preferred_lft 0), so that a client that does not choose
    # its source (curl without --interface, conversations.py, redis-benchmark) speaks from
    # LAB_CLIENT_IP6, as IPv4's secondary address leaves it to LAB_CLIENT_IP; otherwise the
    # kernel picks the address added last. Binding to it explicitly still works.
    ip -n "$client" addr add "$LAB_ADMIN_IP6/64" dev to-online nodad preferred_lft 0
    ip -n "$online" addr add "$LAB_ONLINE_IP6/64" dev to-client nodad
    ip -n "$online" addr add "$LAB_ONLINE_TARGET_SIDE_IP6/64" dev to-target nodad
    ip -n "$target" addr add "$LAB_TARGET_IP6/64" dev to-online nodad
    ip netns exec "$online" sysctl -qw net.ipv6.conf.all.forwarding=1
    ip -n "$client" -6 route add default via "$LAB_ONLINE_IP6"
    ip -n "$target" -6 route add default via "$LAB_ONLINE_TARGET_SIDE_IP6"
    lab_retry 50 0.1 lab_exec client ping -6 -c1 -W1 -q "$LAB_TARGET_IP6" >/dev/null ||
        lab_die "the lab's IPv6 routing does not work: client cannot ping $LAB_TARGET_IP6"
    lab_log "lab IPv6 added: client $LAB_CLIENT_IP6 and $LAB_ADMIN_IP6, target $LAB_TARGET_IP6"
}

# lab_ip NAME: the lab's address NAME (client, admin, online, online_target_side, target) in
# LAB_FAMILY: lab_ip target is LAB_TARGET_IP, or LAB_TARGET_IP6 with LAB_FAMILY=6.
lab_ip() {
    local var
    case $1 in
        client | admin | online | online_target_side | target) var=LAB_${1^^}_IP ;;
        *) lab_die "unknown lab address '$1' (client, admin, online, online_target_side, target)" ;;
    esac
    case $LAB_FAMILY in
        4) ;;
        6) var+=6 ;;
        *) lab_die "LAB_FAMILY must be 4 or 6, got '$LAB_FAMILY'" ;;
    esac
    printf '%s\n' "${!var}"
}

# lab_host NAME: lab_ip NAME as URLs and endpoints write it: bracketed for IPv6
# ([fd00:77:2::2], so that "$(lab_host target):80" and "http://$(lab_host online)/" work for both).
lab_host() {
    local ip
    ip=$(lab_ip "$1")
    if [[ $ip == *:* ]]; then printf '[%s]\n' "$ip"; else printf '%s\n' "$ip"; fi
}

# lab_ip_tables: lab_iptables for LAB_FAMILY (ip6tables-legacy, or ip6tables, with 6).
lab_ip_tables() {
    local ipt
    ipt=$(lab_iptables)
    if [[ $LAB_FAMILY == 6 ]]; then echo "${ipt/iptables/ip6tables}"; else echo "$ipt"; fi
}

# Stops everything this lab started, kills whatever is still inside its namespaces, deletes
# them (the temp dir stays until lab_cleanup). Safe to call more than once, and after a
# partial lab_create.
lab_destroy() {
    local f name
    [[ -n $LAB_DIR && -d $LAB_DIR/run ]] || return 0
    # Daemons first, with SIGTERM, so their final stats lines are written.
    for f in "$LAB_DIR"/run/daemon-*.pid; do
        [[ -e $f ]] || continue
        name=${f##*/daemon-}
        lab_daemon_stop "${name%.pid}" || true
    done
    for f in "$LAB_DIR"/run/capture-*.pid; do
        [[ -e $f ]] || continue
        name=${f##*/capture-}
        lab_capture_stop "${name%.pid}" || true
    done
    for f in "$LAB_DIR"/run/nginx-*.pid; do
        [[ -e $f ]] || continue
        name=${f##*/nginx-}
        lab_nginx_stop "${name%.pid}" || true
    done
    if [[ -s $LAB_DIR/run/namespaces ]]; then
        local ns
        for ns in $(<"$LAB_DIR/run/namespaces"); do
            _lab_ns_exists "$ns" || continue
            _lab_kill_ns_pids "$ns"
            ip netns del "$ns" 2>/dev/null || lab_log "warning: could not delete namespace $ns"
        done
        rm -f "$LAB_DIR/run/namespaces"
    fi
}

# The EXIT trap: on failure, show the daemons' logs while they still exist, then tear down.
lab_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    if [[ -n $LAB_DIR && -d $LAB_DIR ]]; then
        lab_destroy
        if ((status != 0)); then
            local log
            for log in "$LAB_DIR"/*.log "$LAB_DIR"/nginx-*/error.log; do
                [[ -s $log ]] || continue
                lab_log "---- last lines of ${log#"$LAB_DIR"/} ----"
                tail -n 15 "$log" >&2
            done
        fi
        if [[ ${LAB_KEEP:-0} == 1 ]]; then
            lab_log "kept lab dir $LAB_DIR"
        else
            rm -rf "$LAB_DIR"
        fi
    fi
    exit "$status"
}

_lab_ns_exists() {
    ip netns list | awk '{print $1}' | grep -qx -- "$1"
}

# A namespace of ours may still hold processes (a daemon that ignored SIGTERM, a stray curl);
# end exactly those, by pid, before deleting it.
_lab_kill_ns_pids() {
    local ns=$1 pids i
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] || return 0
    lab_log "ending processes left in $ns: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086  # one pid per word
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -n $pids ]] || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
}

# ---------------------------------------------------------------------------------------------
# Small helpers

# lab_retry COUNT INTERVAL CMD...: runs CMD until it succeeds, at most COUNT times.
lab_retry() {
    local count=$1 interval=$2 i
    shift 2
    for ((i = 0; i < count; i++)); do
        if "$@"; then return 0; fi
        sleep "$interval"
    done
    return 1
}

# True while PID is a live process (a zombie counts as gone: kill -0 would still succeed on it).
_lab_alive() {
    local pid=$1 stat
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Sends SIGNAL to PID and waits up to TIMEOUT seconds for it to go; SIGKILL after that.
# Returns 1 if SIGKILL was needed.
_lab_stop_pid() {
    local pid=$1 signal=$2 timeout=$3 what=$4 i
    _lab_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$signal" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        _lab_alive "$pid" || break
        sleep 0.1
    done
    local forced=0
    if _lab_alive "$pid"; then
        lab_log "warning: $what (pid $pid) did not exit ${timeout}s after SIG$signal; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        forced=1
        for ((i = 0; i < 20; i++)); do
            _lab_alive "$pid" || break
            sleep 0.1
        done
    fi
    # Reap it if it is our child; its exit status is not what callers check.
    wait "$pid" 2>/dev/null || true
    return "$forced"
}

# lab_wait_port ROLE PORT [TIMEOUT_S]: waits until something listens on TCP PORT in ROLE.
lab_wait_port() {
    local role=$1 port=$2 timeout=${3:-10}
    lab_retry $((timeout * 10)) 0.1 _lab_listening "$role" "$port"
}

_lab_listening() {
    [[ -n $(lab_exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]
}

# lab_wait_established ROLE DPORT [TIMEOUT_S]: waits for an established TCP connection from
# ROLE to port DPORT (how we know tcpcopy has reached intercept).
lab_wait_established() {
    local role=$1 port=$2 timeout=${3:-10}
    lab_retry $((timeout * 10)) 0.1 _lab_established "$role" "$port"
}

_lab_established() {
    [[ -n $(lab_exec "$1" ss -Htn state established "dport = :$2" 2>/dev/null) ]]
}

# lab_wait_queue ROLE QUEUE [TIMEOUT_S]: waits until a process has bound NFQUEUE QUEUE in
# ROLE's namespace (the kernel lists bound queues per namespace in /proc).
lab_wait_queue() {
    local role=$1 queue=$2 timeout=${3:-10}
    lab_retry $((timeout * 10)) 0.1 lab_queue_bound "$role" "$queue"
}

lab_queue_bound() {
    # shellcheck disable=SC2016  # awk's own $1
    lab_exec "$1" awk -v q="$2" '$1 == q { found = 1 } END { exit !found }' \
        /proc/net/netfilter/nfnetlink_queue 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# nginx

# lab_nginx_start ROLE [PORT]: nginx on PORT (80) in ROLE, with its own prefix dir, config,
# access log and a ~1 KB index.html, all under $LAB_DIR/nginx-ROLE.
# LAB_NGINX_LISTEN6=[ADDR]:PORT adds an IPv6 listen directive.
lab_nginx_start() {
    local role=$1 port=${2:-80}
    local dir="$LAB_DIR/nginx-$role"
    mkdir -p "$dir/html" "$dir/tmp"
    _lab_index_html >"$dir/html/index.html"
    # One fixed mtime for every server's page: nginx derives Last-Modified and the ETag from
    # it, and two servers started on either side of a second would otherwise answer differently.
    touch -d '2026-01-01 00:00:00 UTC' "$dir/html/index.html"
    chmod -R a+rX "$dir"
    cat >"$dir/nginx.conf" <<EOF
# Generated by lab-lib.sh for the $role namespace; runs in the foreground, owned by the lab.
daemon off;
worker_processes ${LAB_NGINX_WORKERS:-1};
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    log_format lab '\$remote_addr \$remote_port \$connection \$connection_requests \$status \$msec \$request';
    access_log $dir/access.log lab;
    keepalive_requests 1000;
    keepalive_timeout 65s;
    server_tokens off;
    default_type text/html;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen $port default_server;${LAB_NGINX_LISTEN6:+
        listen $LAB_NGINX_LISTEN6 default_server;}
        root $dir/html;
        index index.html;
    }
}
EOF
    : >"$dir/access.log"
    # Started with ip netns exec directly (not through a shell function, which would fork a
    # subshell) so that $! is nginx's master itself.
    ip netns exec "$(lab_ns "$role")" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        >"$dir/stdout.log" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/run/nginx-$role.pid"
    if ! lab_wait_port "$role" "$port" 10; then
        cat "$dir/stdout.log" "$dir/error.log" >&2 2>/dev/null || true
        lab_die "nginx in $role did not listen on port $port within 10 s"
    fi
}

lab_nginx_stop() {
    local role=$1 pidfile="$LAB_DIR/run/nginx-$1.pid"
    [[ -e $pidfile ]] || return 0
    _lab_stop_pid "$(<"$pidfile")" TERM 10 "nginx in $role" || true
    rm -f "$pidfile"
}

lab_nginx_access_log() {
    printf '%s\n' "$LAB_DIR/nginx-$1/access.log"
}

# lab_nginx_count ROLE: requests ROLE's nginx has logged.
lab_nginx_count() {
    local log
    log=$(lab_nginx_access_log "$1")
    if [[ -e $log ]]; then wc -l <"$log" | tr -d ' '; else echo 0; fi
}

# lab_nginx_connections ROLE: distinct connections (by nginx's $connection) in the access log.
lab_nginx_connections() {
    local log
    log=$(lab_nginx_access_log "$1")
    awk '{ seen[$3] = 1 } END { print length(seen) }' "$log"
}

# lab_wait_count ROLE N [TIMEOUT_S]: polls until ROLE has logged at least N requests (copies
# lag behind the originals), then prints the count it saw; returns 1 if it never got there.
lab_wait_count() {
    local role=$1 want=$2 timeout=${3:-10} got=0 i
    for ((i = 0; i < timeout * 10; i++)); do
        got=$(lab_nginx_count "$role")
        ((got >= want)) && break
        sleep 0.1
    done
    echo "$got"
    ((got >= want))
}

_lab_index_html() {
    local i
    printf '<!doctype html>\n<html><head><title>tcpcopy lab</title></head><body>\n'
    printf '<h1>tcpcopy lab</h1>\n'
    # 14 lines of ~64 bytes bring the page to about 1 KB, a typical small static response.
    for ((i = 1; i <= 14; i++)); do
        printf '<p>line %02d of the static page served in the lab namespaces.</p>\n' "$i"
    done
    printf '</body></html>\n'
}

# ---------------------------------------------------------------------------------------------
# Traffic

# lab_curl ROLE ARGS...: curl inside ROLE.
lab_curl() {
    local role=$1
    shift
    lab_exec "$role" curl -sS "$@"
}

# lab_http_code ROLE URL [CURL_ARGS...]: prints the HTTP status (000 when nothing came back).
lab_http_code() {
    local role=$1 url=$2
    shift 2
    lab_exec "$role" curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# lab_requests_close COUNT [URL]: COUNT requests from client, one connection each
# (Connection: close), in batches so one curl process serves many URLs. Prints how many got 200.
lab_requests_close() {
    local count=$1 url=${2:-http://$LAB_ONLINE_IP/} ok=0 done=0 batch n i
    local -a urls
    while ((done < count)); do
        batch=$((count - done > 50 ? 50 : count - done))
        urls=()
        for ((i = 0; i < batch; i++)); do urls+=("${url}?close=$((done + i))"); done
        n=$(lab_exec client curl -s --max-time 30 -H 'Connection: close' \
            -o /dev/null -w '%{http_code}\n' "${urls[@]}" 2>/dev/null | grep -c '^200$' || true)
        ok=$((ok + n))
        done=$((done + batch))
    done
    echo "$ok"
}

# lab_requests_keepalive CONNECTIONS PER_CONNECTION [URL]: each curl invocation fetches
# PER_CONNECTION URLs over one reused connection. Prints how many got 200.
lab_requests_keepalive() {
    local conns=$1 per=$2 url=${3:-http://$LAB_ONLINE_IP/} ok=0 c i n
    local -a urls
    for ((c = 0; c < conns; c++)); do
        urls=()
        for ((i = 0; i < per; i++)); do urls+=("${url}?conn=$c&req=$i"); done
        n=$(lab_exec client curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' \
            "${urls[@]}" 2>/dev/null | grep -c '^200$' || true)
        ok=$((ok + n))
    done
    echo "$ok"
}

# ---------------------------------------------------------------------------------------------
# Packet capture

# lab_capture_start NAME ROLE FILTER: tcpdump on every interface of ROLE into
# $LAB_DIR/NAME.pcap; returns once tcpdump says it is listening.
lab_capture_start() {
    local name=$1 role=$2 filter=$3
    local pcap="$LAB_DIR/$name.pcap" log="$LAB_DIR/capture-$name.err"
    # --immediate-mode: without it libpcap hands packets over in ring-buffer blocks about once a
    # second, and a capture stopped within that second loses them: a leak would read as zero.
    # -U: write each packet to the file at once, so a count taken while it runs is current.
    # -Z root: the pcap lives in our root-owned temp dir.
    # -s 200 -B 16384: headers only, in a 16 MB ring. In immediate mode libpcap sizes each ring
    # slot by the snap length, so the default 256 KB snap length leaves a few dozen slots and a
    # burst on a busy machine is dropped.
    : >"$log"
    ip netns exec "$(lab_ns "$role")" tcpdump -i any -n --immediate-mode -U -Z root \
        -s 200 -B 16384 -w "$pcap" "$filter" >"$log" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/run/capture-$name.pid"
    if ! lab_retry 50 0.1 grep -q 'listening on' "$log"; then
        cat "$log" >&2
        lab_die "tcpdump ($name in $role) did not start within 5 s"
    fi
}

lab_capture_stop() {
    local name=$1 pidfile="$LAB_DIR/run/capture-$1.pid"
    [[ -e $pidfile ]] || return 0
    # Packets still in flight between namespaces arrive within a few milliseconds.
    sleep 0.2
    _lab_stop_pid "$(<"$pidfile")" TERM 5 "tcpdump $name" || true
    rm -f "$pidfile"
    local dropped
    dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$LAB_DIR/capture-$name.err")
    # A leak is a stream of packets (SYN-ACKs and their retransmissions), so a few lost to the
    # capture cannot hide one; still, say so.
    if [[ -n $dropped && $dropped != 0 ]]; then
        lab_log "warning: capture $name: $dropped packets dropped by the kernel"
    fi
}

# lab_capture_count NAME [READ_FILTER]: packets in the capture (optionally only those matching
# READ_FILTER). Works while the capture runs and after it stopped.
lab_capture_count() {
    local name=$1 filter=${2:-} pcap="$LAB_DIR/$1.pcap"
    [[ -s $pcap ]] || { echo 0; return 0; }
    # shellcheck disable=SC2086  # an empty filter must vanish, not become ''
    tcpdump -r "$pcap" -n ${filter:+"$filter"} 2>/dev/null | wc -l | tr -d ' '
}

# lab_capture_show NAME [READ_FILTER] [MAX]: the first MAX (20) packets, for failure messages.
lab_capture_show() {
    local name=$1 filter=${2:-} max=${3:-20} pcap="$LAB_DIR/$1.pcap"
    [[ -s $pcap ]] || return 0
    # shellcheck disable=SC2086
    tcpdump -r "$pcap" -n ${filter:+"$filter"} 2>/dev/null | head -n "$max" >&2 || true
}

# ---------------------------------------------------------------------------------------------
# Target rules (delegates to Scripts/rules.sh, which refuses to touch the root namespace)

lab_rules_apply() {
    "$LAB_LIB_DIR/rules.sh" apply "$(lab_ns "$1")" "${2:-80}" "${3:-0}"
}

lab_rules_remove() {
    "$LAB_LIB_DIR/rules.sh" remove "$(lab_ns "$1")" "${2:-80}" "${3:-0}"
}

lab_rules_show() {
    "$LAB_LIB_DIR/rules.sh" show "$(lab_ns "$1")"
}

# ---------------------------------------------------------------------------------------------
# The daemons

# lab_bin NAME: path of a built binary (tcpcopy, intercept).
lab_bin() {
    local dir=${LAB_BIN_DIR:-}
    if [[ -z $dir ]]; then
        dir=$(cd "$LAB_REPO_DIR" && swift build --show-bin-path)
        LAB_BIN_DIR=$dir
    fi
    [[ -x $dir/$1 ]] || lab_die "no $1 binary in $dir: build first (swift build)"
    printf '%s\n' "$dir/$1"
}

# lab_build [debug|release]: builds both daemons and points LAB_BIN_DIR at them.
# LAB_SWIFT_FLAGS adds flags to swift build (e.g. "--scratch-path .build-lab"). A release build
# links the Swift runtime statically, as the README builds for production: the binaries need no
# Swift installed, and start with about 3 MB less resident memory than with the shared runtime.
lab_build() {
    local config=${1:-debug}
    local -a flags
    read -ra flags <<<"${LAB_SWIFT_FLAGS:-}"
    [[ $config == release ]] && flags+=(--static-swift-stdlib)
    (cd "$LAB_REPO_DIR" && swift build -c "$config" "${flags[@]}" --product tcpcopy &&
        swift build -c "$config" "${flags[@]}" --product intercept) >&2 ||
        lab_die "swift build failed"
    LAB_BIN_DIR=$(cd "$LAB_REPO_DIR" && swift build -c "$config" "${flags[@]}" --show-bin-path)
}

# lab_daemon_start NAME ROLE COMMAND ARGS...: runs COMMAND in ROLE, stdout and stderr to
# $LAB_DIR/NAME.log. The pid recorded is the command's own (ip netns exec execs it), so
# signals reach the daemon itself.
lab_daemon_start() {
    local name=$1 role=$2
    shift 2
    local log="$LAB_DIR/$name.log"
    lab_log "starting $name in $role: $*"
    ip netns exec "$(lab_ns "$role")" "$@" >>"$log" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/run/daemon-$name.pid"
}

lab_daemon_pid() {
    cat "$LAB_DIR/run/daemon-$1.pid" 2>/dev/null
}

lab_daemon_alive() {
    local pid
    pid=$(lab_daemon_pid "$1") || return 1
    _lab_alive "$pid"
}

lab_daemon_log() {
    printf '%s\n' "$LAB_DIR/$1.log"
}

# lab_daemon_stop NAME [TIMEOUT_S]: SIGTERM, then waits (bounded) so the final stats line is
# written; SIGKILL only if it hangs. Returns 1 if it had to be killed.
lab_daemon_stop() {
    local name=$1 timeout=${2:-10} pidfile="$LAB_DIR/run/daemon-$1.pid" rc=0
    [[ -e $pidfile ]] || return 0
    _lab_stop_pid "$(<"$pidfile")" TERM "$timeout" "$name" || rc=1
    rm -f "$pidfile"
    return "$rc"
}

# lab_daemon_kill NAME: SIGKILL, the crash case: no final stats, no cleanup by the daemon.
lab_daemon_kill() {
    local name=$1 pidfile="$LAB_DIR/run/daemon-$1.pid"
    [[ -e $pidfile ]] || return 0
    # bash may report the job as "Killed" below this line; that is this kill.
    lab_log "killing $name with SIGKILL (simulated crash)"
    _lab_stop_pid "$(<"$pidfile")" KILL 5 "$name" || true
    rm -f "$pidfile"
}

# lab_intercept_start NAME ARGS...: intercept in the target namespace; returns once it listens
# on the control port and has bound its queue. ARGS are intercept's own (allow-list etc.);
# pass --queue N / -p PORT there and set LAB_QUEUE / LAB_CONTROL_PORT to match.
lab_intercept_start() {
    local name=$1 bin
    shift
    bin=$(lab_bin intercept)
    lab_daemon_start "$name" target "$bin" "$@"
    _lab_wait_daemon "$name" 10 _lab_listening target "$LAB_CONTROL_PORT" ||
        lab_die "$name did not listen on port $LAB_CONTROL_PORT within 10 s"
    _lab_wait_daemon "$name" 10 lab_queue_bound target "${LAB_QUEUE:-0}" ||
        lab_die "$name listens but did not bind NFQUEUE ${LAB_QUEUE:-0} within 10 s"
}

# _lab_wait_daemon NAME TIMEOUT_S CHECK...: polls CHECK while daemon NAME is alive; dies at once
# with a clear message if the daemon exits (no point waiting out the timeout for a dead one).
_lab_wait_daemon() {
    local name=$1 timeout=$2 i
    shift 2
    for ((i = 0; i < timeout * 10; i++)); do
        if "$@"; then return 0; fi
        lab_daemon_alive "$name" ||
            lab_die "$name exited during startup (its log is printed below)"
        sleep 0.1
    done
    return 1
}

# lab_tcpcopy_start NAME ARGS...: tcpcopy in the online namespace; returns once its control
# connection to intercept is established.
lab_tcpcopy_start() {
    local name=$1 bin
    shift
    bin=$(lab_bin tcpcopy)
    lab_daemon_start "$name" online "$bin" "$@"
    _lab_wait_daemon "$name" 10 _lab_established online "$LAB_CONTROL_PORT" ||
        lab_die "$name did not connect to intercept (port $LAB_CONTROL_PORT) within 10 s"
    # The raw socket may be opened just after the control connection; give it a moment so the
    # first copied SYN is not missed.
    sleep 0.3
    lab_daemon_alive "$name" || lab_die "$name exited right after starting"
}

# ---------------------------------------------------------------------------------------------
# Stats lines

# lab_stats_line LOGFILE: the last line containing "stats:".
lab_stats_line() {
    grep -a 'stats:' "$1" 2>/dev/null | tail -n 1
}

# stat_value LOGFILE KEY: KEY's value from the last "stats:" line (key=value words after
# "stats:"). Prints nothing and returns 1 if there is no such line or key.
stat_value() {
    local file=$1 key=$2 line word
    local -a words
    line=$(lab_stats_line "$file") || return 1
    [[ -n $line ]] || return 1
    read -ra words <<<"${line#*stats:}"
    for word in "${words[@]}"; do
        if [[ $word == "$key="* ]]; then
            word=${word#*=}
            # Tolerate "key=12," style separators.
            printf '%s\n' "${word%%[,;]}"
            return 0
        fi
    done
    return 1
}

# lab_stat_int LOGFILE KEY: like stat_value, but prints -1 unless the value is an integer, so
# callers can compare without tripping set -e.
lab_stat_int() {
    local v
    v=$(stat_value "$1" "$2" || true)
    if [[ $v =~ ^[0-9]+$ ]]; then echo "$v"; else echo -1; fi
}

# ---------------------------------------------------------------------------------------------
# Checks shared by the tests, demo and benchmarks

# lab_expect_no_leak CAPTURE: no packet from the target in CAPTURE (taken in the client
# namespace), while the same capture did see the online server's packets, which shows it was
# capturing at all.
lab_expect_no_leak() {
    local name=$1 leaked seen
    leaked=$(lab_capture_count "$name" "src host $LAB_TARGET_IP")
    if ((leaked != 0)); then
        lab_capture_show "$name" "src host $LAB_TARGET_IP"
        lab_fail "target packets that reached the client namespace" 0 "$leaked"
    fi
    seen=$(lab_capture_count "$name" "src host $LAB_ONLINE_IP")
    ((seen > 0)) || lab_fail "online server packets seen by the client capture (the control)" \
        ">0" "$seen"
}

# lab_expect_clean_stop NAME: SIGTERM, the daemon exits within 10 s and leaves a stats line.
lab_expect_clean_stop() {
    local name=$1 log
    log=$(lab_daemon_log "$name")
    lab_daemon_stop "$name" 10 ||
        lab_fail "$name on SIGTERM" "exit within 10 s" "still running; had to SIGKILL it"
    [[ -n $(lab_stats_line "$log") ]] ||
        lab_fail "$name's final stats line" "a line containing 'stats:'" "none in $log"
    lab_log "$name $(lab_stats_line "$log" | sed 's/.*stats:/stats:/')"
}

# lab_expect_stat_positive NAME KEY: KEY in NAME's last stats line is an integer above 0.
lab_expect_stat_positive() {
    local name=$1 key=$2 v
    v=$(lab_stat_int "$(lab_daemon_log "$name")" "$key")
    ((v > 0)) || lab_fail "$name stats $key" ">0" "$(stat_value "$(lab_daemon_log "$name")" \
        "$key" || echo missing)"
}

# ---------------------------------------------------------------------------------------------
# redis (Debian's redis-server and redis-tools; the fidelity tests replay a real protocol)

# lab_redis_start ROLE [PORT]: redis-server on PORT (6379) in ROLE (IPv4, and IPv6 with
# LAB_FAMILY=6), no persistence, its files under $LAB_DIR/redis-ROLE, run as a lab daemon named
# redis-ROLE.
lab_redis_start() {
    local role=$1 port=${2:-6379} dir="$LAB_DIR/redis-$1"
    command -v redis-server >/dev/null 2>&1 ||
        lab_die "redis-server is missing (Debian: apt-get install redis-server redis-tools)"
    mkdir -p "$dir"
    local -a bind=(0.0.0.0)
    # With LAB_FAMILY=6 on [::] as well (redis-cli keeps asking 127.0.0.1 for the counters).
    [[ $LAB_FAMILY != 6 ]] || bind+=(::)
    lab_daemon_start "redis-$role" "$role" redis-server --port "$port" --bind "${bind[@]}" \
        --protected-mode no --save "" --appendonly no --daemonize no --dir "$dir" \
        --logfile "" --databases 1
    _lab_wait_daemon "redis-$role" 10 _lab_listening "$role" "$port" ||
        lab_die "redis-server in $role did not listen on port $port within 10 s"
}

# lab_redis_cli ROLE ARGS...: redis-cli against ROLE's own redis (127.0.0.1), bounded to 10 s.
lab_redis_cli() {
    local role=$1
    shift
    lab_exec "$role" timeout 10 redis-cli -h 127.0.0.1 "$@"
}

# lab_redis_commandstats ROLE [PORT]: "command calls" per line, sorted, from INFO commandstats
# (the INFO calls themselves left out: each side is asked a different number of times).
lab_redis_commandstats() {
    local role=$1 port=${2:-6379}
    # shellcheck disable=SC2016  # awk's own fields
    lab_redis_cli "$role" -p "$port" INFO commandstats | tr -d '\r' |
        awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" { print substr($1, 9), $3 }' | sort
}

# ---------------------------------------------------------------------------------------------
# doctor

# lab_doctor NAME ROLE PROGRAM ARGS...: runs `PROGRAM doctor ARGS...` (PROGRAM: tcpcopy or
# intercept) in ROLE, bounded to 30 s. Its report goes to $LAB_DIR/NAME.doctor and to the log;
# prints its exit status (doctor exits 1 when it finds a fault).
lab_doctor() {
    local name=$1 role=$2 program=$3 bin rc=0
    shift 3
    bin=$(lab_bin "$program")
    lab_exec "$role" timeout 30 "$bin" doctor "$@" >"$LAB_DIR/$name.doctor" 2>&1 || rc=$?
    lab_log "$program doctor $* (in $role) exited $rc:"
    sed 's/^/    /' "$LAB_DIR/$name.doctor" >&2
    echo "$rc"
}

# lab_expect_finding NAME SEVERITY TEXT: doctor report NAME has a finding of SEVERITY (ok, info,
# WARNING, FAULT) whose line contains TEXT.
lab_expect_finding() {
    local name=$1 severity=$2 text=$3
    grep "^$severity " "$LAB_DIR/$name.doctor" | grep -qF -- "$text" ||
        lab_fail "doctor report $name" "a $severity finding with '$text'" \
            "$(grep -c "^$severity " "$LAB_DIR/$name.doctor" || true) $severity lines, none with it"
}

# lab_expect_no_fault NAME: doctor report NAME has no FAULT line.
lab_expect_no_fault() {
    local name=$1
    if grep -q '^FAULT ' "$LAB_DIR/$name.doctor"; then
        lab_fail "doctor report $name" "no FAULT" "$(grep '^FAULT ' "$LAB_DIR/$name.doctor" | head -n 3)"
    fi
}

# lab_daemon_adopt NAME PIDFILE: takes a daemon that detached itself (-d) as lab daemon NAME,
# by the pid in PIDFILE, so that lab_daemon_stop and the cleanup stop it like the others.
lab_daemon_adopt() {
    local name=$1 pidfile=$2 pid
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid ]] || lab_die "no pid in $pidfile"
    echo "$pid" >"$LAB_DIR/run/daemon-$name.pid"
}

# lab_scrape ROLE ADDRESS:PORT: the Prometheus text of the daemon's --metrics-listen endpoint in
# ROLE (curl, bounded to 5 s).
lab_scrape() {
    lab_exec "$1" curl -sS --max-time 5 "http://$2/metrics"
}

# lab_metric TEXT NAME: the value of sample NAME (exactly, labels included) in scraped TEXT, as
# an integer (-1 when absent).
lab_metric() {
    # shellcheck disable=SC2016  # awk's own fields
    awk -v n="$2" '$1 == n { printf "%d\n", $2; found = 1 } END { if (!found) print -1 }' <<<"$1"
}
