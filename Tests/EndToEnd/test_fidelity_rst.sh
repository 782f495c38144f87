#!/usr/bin/env bash
# The client resets mid-request: two requests answered, then half of a 64 KB POST and a close
# with SO_LINGER 0. The target must get the same bytes, then the reset (no socket left).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_rst
fid_server_start online
fid_server_start target
fid_pair_start
fid_client rst --conns 4
fid_finish
