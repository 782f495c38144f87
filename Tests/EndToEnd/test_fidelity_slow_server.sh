#!/usr/bin/env bash
# A slow service: online and target both answer each request after 200 ms (keep-alive, 4
# connections of 10 requests).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_slow_server
fid_server_start online --delay-ms 200
fid_server_start target --delay-ms 200
fid_pair_start
fid_client keepalive --conns 4 --requests 10
fid_finish
