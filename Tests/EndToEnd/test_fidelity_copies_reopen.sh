#!/usr/bin/env bash
# -n 2 and a target that closes each keep-alive connection after 3 answers: each copy goes on
# over new connections, and each copy's connections, in order, make up the online stream.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_copies_reopen
fid_server_start online
fid_server_start target --close-after 3
fid_pair_start -n 2
fid_client keepalive --conns 3 --requests 10
fid_finish --split --copies 2
