#!/usr/bin/env bash
# 2% of the target's answers are lost before intercept sees them (dropped in the target's OUTPUT
# chain ahead of the NFQUEUE rule): tcpcopy misses response headers, the target retransmits,
# and every session must still complete byte for byte and end cleanly. (LAB_FAMILY=6: the
# same over IPv6, with ip6tables.)
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_response_loss
fid_server_start online
fid_server_start target
fid_pair_start
lab_exec target "$(lab_ip_tables)" -I OUTPUT 1 -p tcp --sport "$FID_PORT" \
    -m statistic --mode random --probability 0.02 -j DROP
fid_client mixed
fid_client keepalive --conns 4 --requests 50
fid_client post --sizes 4194304
dropped=$(lab_exec target "$(lab_ip_tables)" -L OUTPUT -v -n -x |
    awk '$3 == "DROP" { print $1 }')
lab_log "target packets dropped before intercept: ${dropped:-?}"
fid_finish
