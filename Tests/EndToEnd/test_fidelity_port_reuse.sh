#!/usr/bin/env bash
# One client port used again and again: 20 connections in turn from the same port, one request
# each, the server closing first (so the client may reuse the port at once; the servers accept
# the new SYN over their TIME-WAIT). Each must reach the target as its own session, byte for
# byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_port_reuse
fid_server_start online --close-after 1
fid_server_start target --close-after 1
fid_pair_start
fid_client portreuse --conns 20
fid_finish
