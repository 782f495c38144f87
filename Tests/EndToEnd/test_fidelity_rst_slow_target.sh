#!/usr/bin/env bash
# The client resets while tcpcopy still holds its requests: two requests and half a POST, then
# SO_LINGER 0, against a target that answers each request after 300 ms. The target must get
# every byte the online server got before the reset, then the reset.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_rst_slow_target
fid_server_start online
fid_server_start target --delay-ms 300
fid_pair_start
fid_client rst --conns 4
fid_finish
