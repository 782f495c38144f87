#!/usr/bin/env bash
# Large answers: the target sends 1 MB per request (keep-alive) and 256 KB per request
# (pipelined), all to tcpcopy, which must acknowledge that stream itself fast enough for the
# target to go on, and still send each next request at the right time.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_large_responses
fid_server_start online
fid_server_start target
fid_pair_start
fid_client keepalive --conns 3 --requests 10 --size 1048576
fid_client pipeline --conns 2 --depth 4 --rounds 3 --size 262144
fid_finish
