#!/usr/bin/env bash
# The fidelity checks with libpcap as the source: keep-alive (4 connections of 50 requests) and
# pipelined requests copied byte for byte with -i any (Linux cooked), then POST bodies up to
# 4 MB with GRO/TSO on (segments far above the MTU, as the raw socket sees them) with -i on the
# online server's client-facing veth (Ethernet).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_link_capture
fid_server_start online
fid_server_start target
fid_pair_start -i any
fid_client keepalive --conns 4 --requests 50
fid_client pipeline --conns 4 --depth 8 --rounds 5
fid_finish
