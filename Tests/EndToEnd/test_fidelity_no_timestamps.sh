#!/usr/bin/env bash
# TCP timestamps off on the client (so its SYN has none and neither side uses them): a mixed
# conversation (keep-alive, pipelined, POSTs, half-close) is replayed byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_no_timestamps
lab_exec client sysctl -qw net.ipv4.tcp_timestamps=0
fid_server_start online
fid_server_start target
fid_pair_start
fid_client mixed
fid_finish
