#!/usr/bin/env bash
# 1% of the packets tcpcopy sends to the target are dropped (iptables, or ip6tables with
# LAB_FAMILY=6, in the online namespace):
# tcpcopy must retransmit on its own timer, and every session still completes byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_loss
fid_server_start online
fid_server_start target
lab_exec online "$(lab_ip_tables)" -A OUTPUT -d "$(lab_ip target)" -p tcp --dport "$FID_PORT" \
    -m statistic --mode random --probability 0.01 -j DROP
fid_pair_start
fid_client mixed
fid_client keepalive --conns 4 --requests 50
fid_client post --sizes 1024,65536,4194304
dropped=$(lab_exec online "$(lab_ip_tables)" -L OUTPUT -v -n -x | awk '$3 == "DROP" { print $1 }')
lab_log "packets to the target dropped by the loss rule: ${dropped:-?}"
fid_finish
