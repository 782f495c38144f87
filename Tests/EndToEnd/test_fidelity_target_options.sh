#!/usr/bin/env bash
# The target refuses TCP timestamps and window scaling while the client uses both: tcpcopy must
# send no timestamp option to it and respect its unscaled 64 KB window (4 MB POST, mixed
# conversation).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_target_options
lab_exec target sysctl -qw net.ipv4.tcp_timestamps=0
lab_exec target sysctl -qw net.ipv4.tcp_window_scaling=0
fid_server_start online
fid_server_start target
fid_pair_start
fid_client mixed
fid_client post --sizes 4194304
fid_finish
