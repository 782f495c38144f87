#!/usr/bin/env bash
# The target is slower than the online server (200 ms per answer against none): the client's
# requests come faster than the target answers, so tcpcopy must hold each one until the target
# answered the one before (4 connections of 10 requests, and 2 pipelined).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_target_slower
fid_server_start online
fid_server_start target --delay-ms 200
fid_pair_start
fid_client keepalive --conns 4 --requests 10
fid_client pipeline --conns 2 --depth 4 --rounds 2
fid_finish
