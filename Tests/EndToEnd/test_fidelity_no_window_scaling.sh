#!/usr/bin/env bash
# Window scaling off on the client (its SYN has no window scale option, so the target scales
# nothing): a mixed conversation is replayed byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_no_window_scaling
lab_exec client sysctl -qw net.ipv4.tcp_window_scaling=0
fid_server_start online
fid_server_start target
fid_pair_start
fid_client mixed
fid_finish
