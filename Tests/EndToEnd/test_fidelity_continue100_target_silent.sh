#!/usr/bin/env bash
# "Expect: 100-continue" POSTs where only the online server sends "100 Continue": the target
# (another server) ignores the Expect header and waits for the body. The client sent its body
# after the online server's interim answer, so tcpcopy waits for a target answer that never
# comes; it must still send the body soon (curl itself gives up waiting after 1 s), not after a
# long fixed wait: the target's last byte must come within 3 s of the client's.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

FID_MAX_LAG=3
fid_setup fidelity_continue100_target_silent
fid_server_start online
fid_server_start target --no-continue
fid_pair_start
fid_client continue100 --sizes 2048,65536
fid_finish
