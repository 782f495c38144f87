#!/usr/bin/env bash
# Heavy loss both ways between tcpcopy and the target: 5% of the packets tcpcopy sends and 3% of
# the target's answers (before intercept) are dropped. Every session must still complete byte
# for byte and end cleanly. (LAB_FAMILY=6: the same over IPv6, with ip6tables.)
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_heavy_loss
fid_server_start online
fid_server_start target
lab_exec online "$(lab_ip_tables)" -A OUTPUT -d "$(lab_ip target)" -p tcp --dport "$FID_PORT" \
    -m statistic --mode random --probability 0.05 -j DROP
fid_pair_start
lab_exec target "$(lab_ip_tables)" -I OUTPUT 1 -p tcp --sport "$FID_PORT" \
    -m statistic --mode random --probability 0.03 -j DROP
fid_client mixed
fid_client keepalive --conns 4 --requests 30
fid_client post --sizes 1048576
fid_finish
