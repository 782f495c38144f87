#!/usr/bin/env bash
# -n 3: every online connection is replayed three times, each copy on its own port, each byte
# for byte (4 keep-alive connections of 20 requests).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_copies
fid_server_start online
fid_server_start target
fid_pair_start -n 3
fid_client keepalive --conns 4 --requests 20
fid_finish --copies 3
