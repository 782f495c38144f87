#!/usr/bin/env bash
# HTTP keep-alive, 50 requests on each of 4 connections: each target connection receives the
# byte-identical request stream of its online connection, and ends cleanly.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_keepalive
fid_server_start online
fid_server_start target
fid_pair_start
fid_client keepalive --conns 4 --requests 50
fid_finish
