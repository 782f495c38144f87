#!/usr/bin/env bash
# POSTs with "Expect: 100-continue" (curl sends it for any body above 1 KB): the client sends
# the headers, waits for "100 Continue", then sends the body. Its body segments acknowledge the
# online server's interim answer, so tcpcopy must send them once the target's own "100 Continue"
# came, not wait for a full answer. Bodies of 2 KB, 64 KB and 1 MB.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

FID_MAX_LAG=2
fid_setup fidelity_continue100
fid_server_start online
fid_server_start target
fid_pair_start
fid_client continue100 --sizes 2048,65536,1048576
fid_finish
