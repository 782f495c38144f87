#!/usr/bin/env bash
# Pipelined HTTP: 8 requests written at once before any response, 5 times on each of 4
# connections. The target must get each connection's stream byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_pipeline
fid_server_start online
fid_server_start target
fid_pair_start
fid_client pipeline --conns 4 --depth 8 --rounds 5
fid_finish
