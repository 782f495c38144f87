#!/usr/bin/env bash
# The target closes each keep-alive connection after 3 responses while the online server keeps
# it open and the client keeps using it: tcpcopy must go on over new connections (new ports),
# whose streams, in order, make up the online connection's stream byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_target_closes
fid_server_start online
fid_server_start target --close-after 3
fid_pair_start
fid_client keepalive --conns 3 --requests 10
fid_finish --split
