#!/usr/bin/env bash
# -n 1, 10 and 100: the target serves exactly N times what the online server served, for short
# (Connection: close) and keep-alive connections alike, each copy a whole session of its own
# (N x 50 one-request connections, N x 10 five-request connections), and tcpcopy counts no port
# collision.
#
# Each -n runs its own tcpcopy process, with traffic from its own client address (10.77.1.20, .21,
# ...) and page (/nN.html), so that each phase's counts and checks stand alone.
#
# Tuned on the target, and why:
#  - nginx's listen backlog 8192 (and somaxconn, tcp_max_syn_backlog; lab_topo_nginx_capacity):
#    the 100 copies of a captured connection arrive together, and with nginx's default 511 the
#    accept queue overflowed (ListenDrops in the thousands, SYN cookies): the copies still all
#    arrived, but by retransmission, three times slower. The report prints the ListenDrops.
#  - intercept's queue (-q 65536): the kernel's default of 1024 packets overflowed at -n 100,
#    dropping a fifth of the target's packets before intercept saw them (kernel_queue_dropped);
#    the copies recovered by retransmission (about 1,700 of them).
#  - worker_connections 8192 and the open-file limit nginx inherits, 20000 (Debian's default soft
#    limit is 1024, below even lab-lib's 4096 worker_connections): at four times the default
#    volume nginx ran out of descriptors (EMFILE) at 1024, and at -n 1000 4096 connections were
#    not enough (nginx then closes idle keep-alive connections, cutting copied sessions short).
#
# E2E_FLEET_COPIES="1 10" chooses the -n values; E2E_FLEET_SHORT / E2E_FLEET_KEEPALIVE the
# volumes (50 short, 10 keep-alive connections of 5 requests).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../../Scripts/lab-lib.sh
source "$here/../../Scripts/lab-lib.sh"
# shellcheck source=../../Scripts/lab-topology.sh
source "$here/../../Scripts/lab-topology.sh"
LAB_PREFIX=$(lab_test_prefix fleet_copies)

copies_list=${E2E_FLEET_COPIES:-1 10 100}
short=${E2E_FLEET_SHORT:-50}
conns=${E2E_FLEET_KEEPALIVE:-10} per=5

lab_init
lab_create
# The phase of the I-th -n value sends from 10.77.1.(20+I).
index=0
for n in $copies_list; do
    lab_topo_addr client to-online "10.77.1.$((20 + index))/24"
    index=$((index + 1))
done
lab_topo_raise_nofile 20000
lab_nginx_start online
lab_nginx_start target
lab_topo_nginx_capacity target 8192 8192
for n in $copies_list; do
    lab_topo_page online "n$n"
    lab_topo_page target "n$n"
done
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP" -q 65536

report=()
index=0
for n in $copies_list; do
    source_ip=10.77.1.$((20 + index)) page=/n$n.html url=http://$LAB_ONLINE_IP/n$n.html
    name=tcpcopy-n$n
    lab_topo_tcpcopy_start online "$name" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80 -n "$n"
    start=$SECONDS

    ok=$(lab_topo_requests_close client "$short" "$url" --interface "$source_ip")
    ((ok == short)) || lab_fail "-n $n: 200s online gave to short requests" "$short" "$ok"
    ok=$(lab_topo_requests_keepalive client "$conns" "$per" "$url" --interface "$source_ip")
    ((ok == conns * per)) || lab_fail "-n $n: 200s online gave to keep-alive requests" \
        "$((conns * per))" "$ok"

    online_short=$(lab_topo_served online "$page" close)
    online_keep=$(lab_topo_served online "$page" keepalive)
    want=$((n * (online_short + online_keep)))
    target_all=$(lab_topo_wait_served target "$want" 60 "$page") ||
        lab_fail "-n $n: requests the target served" "$want within 60 s" "$target_all"
    elapsed=$((SECONDS - start))
    lab_topo_expect_idle "$name"
    lab_expect_clean_stop "$name"

    target_short=$(lab_topo_served target "$page" close)
    target_keep=$(lab_topo_served target "$page" keepalive)
    ratio_short=$(lab_topo_ratio "$target_short" "$online_short")
    ratio_keep=$(lab_topo_ratio "$target_keep" "$online_keep")
    relocated=$(lab_topo_stat "$name" ports_relocated)
    line="-n $n: short $online_short -> $target_short (${ratio_short}x), keep-alive"
    line+=" $online_keep -> $target_keep (${ratio_keep}x), ${elapsed}s, ports_relocated=$relocated,"
    line+=" retransmissions=$(lab_topo_stat "$name" retransmissions),"
    line+=" target $(lab_topo_listen_drops target)"
    lab_topo_stats_now intercept
    line+=" intercept kernel_queue_dropped=$(lab_topo_stat intercept kernel_queue_dropped)"
    lab_log "$line"
    report+=("$line")

    ((target_short == n * online_short)) ||
        lab_fail "-n $n: short requests the target served" "$((n * online_short))" "$target_short"
    ((target_keep == n * online_keep)) ||
        lab_fail "-n $n: keep-alive requests the target served" "$((n * online_keep))" \
            "$target_keep"
    # Every copy is a session of its own, carrying what the original carried.
    shape=$(lab_topo_connection_shape target "$page" close)
    [[ $shape == "1x$((n * short))" ]] ||
        lab_fail "-n $n: requests per target connection, short" "1x$((n * short))" "$shape"
    shape=$(lab_topo_connection_shape target "$page" keepalive)
    [[ $shape == "${per}x$((n * conns))" ]] ||
        lab_fail "-n $n: requests per target connection, keep-alive" "${per}x$((n * conns))" "$shape"
    seen=$(lab_topo_addresses target "$page")
    [[ $seen == "$source_ip" ]] || lab_fail "-n $n: client addresses the target saw" "$source_ip" "$seen"

    sessions=$((n * (short + conns)))
    lab_topo_expect_stat "$name" port_collisions == 0
    lab_topo_expect_stat "$name" sessions_started == "$sessions"
    lab_topo_expect_stat "$name" sessions_completed == "$sessions"
    index=$((index + 1))
done

lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
lab_topo_expect_stat intercept duplicate_registrations == 0

for line in "${report[@]}"; do lab_log "$line"; done
lab_log "PASS fleet_copies"
