#!/usr/bin/env bash
# The target is a different version of the service: its answers are half the size of the online
# server's. tcpcopy cannot wait for as many response bytes as the client read, yet must still
# send each request after the target's answer to the one before, and keep up (the replay lag is
# logged and reported). Keep-alive (4 connections of 20 requests) and pipelined requests.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

FID_MAX_LAG=2
fid_setup fidelity_target_answers_differ
fid_server_start online
fid_server_start target --size-percent 50
fid_pair_start
fid_client keepalive --conns 4 --requests 20
fid_client pipeline --conns 2 --depth 4 --rounds 3
fid_finish
