#!/usr/bin/env bash
# A protocol where the server speaks first (a banner, then line commands, like SMTP): the
# client's first command was written after it read the online banner, so tcpcopy must hold it
# until the target's banner came. Both servers greet after 300 ms and refuse a client that
# spoke first (as SMTP servers do).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_greeting
fid_server_start online --greeting --greeting-delay-ms 300
fid_server_start target --greeting --greeting-delay-ms 300
fid_pair_start
fid_client greeting --conns 4 --requests 10
fid_finish
