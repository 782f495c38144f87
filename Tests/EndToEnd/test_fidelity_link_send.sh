#!/usr/bin/env bash
# The POST fidelity test (bodies of 1 KB, 64 KB and 4 MB, one connection each and all three on
# one keep-alive connection, GRO/TSO on) with tcpcopy -o to-target: copies leave as Ethernet
# frames from an AF_PACKET socket instead of the raw IP socket, and the target must still
# receive every byte the online server did, in order.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_link_send
fid_server_start online
fid_server_start target
fid_pair_start -o to-target
fid_client post --sizes 1024,65536,4194304
log=$(lab_daemon_log tcpcopy)
grep -q 'sending copies at the link layer' "$log" ||
    lab_fail "tcpcopy's log" "'sending copies at the link layer'" "$(grep -a -m3 'link' "$log" || echo none)"
fid_finish
