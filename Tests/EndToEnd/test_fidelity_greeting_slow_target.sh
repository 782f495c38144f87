#!/usr/bin/env bash
# A greeting protocol where the target greets 800 ms later than the online server and answers
# each command 100 ms later: the client's first command must wait for the target's banner (the
# target refuses a client that speaks first), the next ones for each answer.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_greeting_slow_target
fid_server_start online --greeting
fid_server_start target --greeting --greeting-delay-ms 800 --delay-ms 100
fid_pair_start
fid_client greeting --conns 4 --requests 10
fid_finish
