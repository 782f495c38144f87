#!/usr/bin/env bash
# The link between online server and target has an MTU of 1280 (the client's has 1500, with
# GRO/TSO on): the target announces a smaller MSS, and tcpcopy (left at its default -M 1500)
# must split what it captured to that MSS instead of failing with "Message too long". POSTs of
# 1 KB, 64 KB and 4 MB, and keep-alive.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_small_mtu
ip -n "$(lab_ns online)" link set to-target mtu 1280
ip -n "$(lab_ns target)" link set to-online mtu 1280
fid_server_start online
fid_server_start target
fid_pair_start
fid_client post --sizes 1024,65536,4194304
fid_client keepalive --conns 2 --requests 20
fid_finish
