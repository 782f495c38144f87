#!/usr/bin/env bash
# The client's FIN rides on its last data segment (a client that writes its request and closes
# at once; a user-space client makes sure of it): tcpcopy must deliver the data, then the FIN,
# and the target answers and closes.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_fin_with_data
# The client kernel knows nothing of the raw client's connections and would reset them.
lab_exec client "$(lab_iptables)" -A OUTPUT -p tcp --sport 41000:41019 --tcp-flags RST RST \
    -j DROP
fid_server_start online
fid_server_start target
fid_pair_start
fid_raw_client --first-port 41000 --requests 3 --close-with-data --isn 1000 --isn 4294967000 \
    --isn 3000000000
fid_raw_client --first-port 41010 --requests 1 --close-with-data --body 20000 --isn 2000000000
fid_finish
