#!/usr/bin/env bash
# The best combination of source and sink together: tcpcopy -i to-client (libpcap, TPACKET_V3)
# -o to-target (Ethernet frames from an AF_PACKET socket). The POST case (bodies of 1 KB, 64 KB
# and 4 MB, GRO/TSO on) then short and keep-alive conversations: the target must receive every
# byte the online server did, in order, and no copy leaves by the raw IP socket.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_link_both
fid_server_start online
fid_server_start target
fid_pair_start -i to-client -o to-target
fid_client post --sizes 1024,65536,4194304
fid_client keepalive --conns 4 --requests 20
log=$(lab_daemon_log tcpcopy)
grep -q 'sending copies at the link layer' "$log" ||
    lab_fail "tcpcopy's log" "'sending copies at the link layer'" "$(grep -a -m3 'link' "$log" || echo none)"
grep -q 'filter=tcp and' "$log" ||
    lab_fail "tcpcopy's log" "the capture filter of -i" "$(head -n 5 "$log")"
fid_finish
