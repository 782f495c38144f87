#!/usr/bin/env bash
# The client's TCP timestamps wrap: a user-space client starts its TSval just below 2^32 (and
# its ISNs at chosen points). tcpcopy echoes the target's TSval and must keep the TSval it sends
# moving forward across the wrap, or the target's PAWS check drops the segments.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_timestamps_wrap
# The client kernel knows nothing of the raw client's connections and would reset them.
lab_exec client "$(lab_iptables)" -A OUTPUT -p tcp --sport 41000:41019 --tcp-flags RST RST \
    -j DROP
fid_server_start online
fid_server_start target
fid_pair_start
fid_raw_client --first-port 41000 --requests 30 --timestamps 4294967200 --isn 5000 \
    --isn 4294967000
fid_raw_client --first-port 41010 --requests 5 --body 30000 --timestamps 4294967280 \
    --isn 2147483000
fid_finish
