#!/usr/bin/env bash
# POST bodies of 1 KB, 64 KB and 4 MB, one connection each and all three on one keep-alive
# connection. GRO/TSO stay on (the veth default), so tcpcopy captures segments far above the
# MTU and must split them: a capture on the online server shows such segments were there.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_post
fid_server_start online
fid_server_start target
lab_capture_start large online "tcp dst port $FID_PORT and greater 3000"
fid_pair_start
fid_client post --sizes 1024,65536,4194304
lab_capture_stop large
large=$(lab_capture_count large)
lab_log "captured client segments above 3000 bytes on the online server (GRO/TSO): $large"
((large > 0)) || lab_fail "segments above the MTU seen by the online server" ">0" "$large"
fid_finish
