#!/usr/bin/env bash
# Client initial sequence numbers near 2^32 and 2^31: the kernel will not choose them, so a
# user-space client on a raw socket (Tests/Servers/raw_client.py) does, and its streams cross
# the wrap (2^32 - 1: the first data byte is sequence 0) and the half-way point where
# wrap-aware comparisons turn around. Each connection must reach the target byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_isn_wrap
fid_server_start online
fid_server_start target
# The client kernel knows nothing of the raw client's connections and would reset them.
lab_exec client "$(lab_iptables)" -A OUTPUT -p tcp --sport 41000:41019 --tcp-flags RST RST \
    -j DROP
lab_capture_start syn online \
    "dst host $LAB_ONLINE_IP and tcp dst port $FID_PORT and tcp[tcpflags] & tcp-syn != 0"
fid_pair_start
fid_raw_client --first-port 41000 --requests 20 --isn 4294967295 --isn 4294967000 \
    --isn 4294966000 --isn 2147483000 --isn 2147483647
fid_raw_client --first-port 41010 --requests 4 --body 8192 --isn 4294960000 --isn 2147480000
# The SYNs the online server got carry the chosen numbers (so the test tests what it says).
lab_capture_stop syn
seen=$(tcpdump -r "$LAB_DIR/syn.pcap" -n -S 2>/dev/null | grep -c -e 'seq 4294967295,' \
    -e 'seq 2147483647,' || true)
((seen == 2)) || lab_fail "SYNs with ISN 2^32-1 and 2^31-1 seen by the online server" 2 "$seen"
fid_finish
