#!/usr/bin/env bash
# The capture sees the client's segments out of order, duplicated and overlapping (a lossy,
# reordering path between client and online server): a user-space client sends each request in
# small segments in a random order, one of them twice and one overlapping two others. The online
# kernel reassembles them; tcpcopy must too (queue ahead-of-sequence data, trim overlaps, drop
# duplicates), so the target gets each stream byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_reordered
fid_server_start online
fid_server_start target
# The client kernel knows nothing of the raw client's connections and would reset them.
lab_exec client "$(lab_iptables)" -A OUTPUT -p tcp --sport 41000:41019 --tcp-flags RST RST \
    -j DROP
fid_pair_start
fid_raw_client --first-port 41000 --requests 20 --scramble --segment 40 --isn 1000000 \
    --isn 4294967200 --isn 3000000000
fid_raw_client --first-port 41010 --requests 5 --scramble --segment 1000 --body 20000 \
    --isn 2000000000 --isn 4294960000
fid_finish
