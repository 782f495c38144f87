#!/usr/bin/env bash
# POST bodies of 1 KB, 64 KB and 4 MB copied byte for byte with tcpcopy -i on the online
# server's client-facing veth (Ethernet, libpcap). GRO/TSO stay on, so the capture holds
# segments far above the MTU, which tcpcopy must split as it does for the raw socket.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_link_post
fid_server_start online
fid_server_start target
lab_capture_start large online "tcp dst port $FID_PORT and greater 3000"
fid_pair_start -i to-client
fid_client post --sizes 1024,65536,4194304
lab_capture_stop large
large=$(lab_capture_count large)
lab_log "captured client segments above 3000 bytes on the online server (GRO/TSO): $large"
((large > 0)) || lab_fail "segments above the MTU seen by the online server" ">0" "$large"
fid_finish
