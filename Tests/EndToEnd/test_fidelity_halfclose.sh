#!/usr/bin/env bash
# Client half-close: 3 pipelined requests, shutdown(SHUT_WR), then the client reads the
# responses until the server closes. The target must get the requests and then the FIN, answer,
# and close: no socket left in CLOSE-WAIT or FIN-WAIT.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_halfclose
fid_server_start online
fid_server_start target
fid_pair_start
fid_client halfclose --conns 4 --requests 3
fid_finish
