#!/usr/bin/env bash
# Many sessions at once: 150 keep-alive connections of 4 requests, opened together, and 40
# pipelined ones; each must reach the target byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_many
fid_server_start online
fid_server_start target
fid_pair_start
fid_client keepalive --conns 150 --requests 4
fid_client pipeline --conns 40 --depth 4 --rounds 2
fid_finish
