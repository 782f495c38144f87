#!/usr/bin/env bash
# A target slow to read: it waits 3 s after accepting before reading anything, so its window
# closes under a 4 MB POST (the online server reads at once). tcpcopy must wait for the window
# to open (probing, or on the target's window update) and deliver every byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_zero_window
fid_server_start online
fid_server_start target --stall-ms 3000
fid_pair_start
fid_client post --sizes 65536,4194304
fid_finish
