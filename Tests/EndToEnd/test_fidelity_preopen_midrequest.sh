#!/usr/bin/env bash
# tcpcopy starts in the middle of a request: 4 connections each made a request and sent half of
# a 256 KB POST, then tcpcopy starts, then they send the rest and close. The first packet
# tcpcopy sees is in the middle of the body; from there on (a synthesised handshake) the target
# must receive each stream byte for byte, and the session must end cleanly.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_preopen_midrequest
fid_server_start online
fid_server_start target
skip="$LAB_DIR/preopen-skip.txt" ready="$LAB_DIR/preopen-ready" go="$LAB_DIR/preopen-go"
fid_client preopen --conns 4 --before 1 --midstream 262144 --requests 0 --skip-file "$skip" \
    --ready-file "$ready" --go-file "$go" &
client=$!
lab_retry 300 0.1 test -e "$ready" ||
    lab_fail "the client ready (connections open)" "within 30 s" "not ready"
fid_pair_start
touch "$go"
wait "$client" || lab_fail "the preopen conversation" "exit 0" "failed"
fid_finish --skip "$skip"
