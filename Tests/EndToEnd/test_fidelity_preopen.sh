#!/usr/bin/env bash
# Sessions already open when tcpcopy starts: 4 connections make 2 requests each, then tcpcopy
# starts, then they make 10 more. tcpcopy synthesises a handshake from the first packet it sees;
# the target must receive each stream from that point on, byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_preopen
fid_server_start online
fid_server_start target
skip="$LAB_DIR/preopen-skip.txt" ready="$LAB_DIR/preopen-ready" go="$LAB_DIR/preopen-go"
fid_client preopen --conns 4 --before 2 --requests 10 --skip-file "$skip" --ready-file "$ready" \
    --go-file "$go" &
client=$!
lab_retry 300 0.1 test -e "$ready" ||
    lab_fail "the client ready (connections open)" "within 30 s" "not ready"
fid_pair_start
touch "$go"
wait "$client" || lab_fail "the preopen conversation" "exit 0" "failed"
fid_finish --skip "$skip"
