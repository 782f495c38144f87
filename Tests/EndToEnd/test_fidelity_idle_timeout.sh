#!/usr/bin/env bash
# Connections idle longer than tcpcopy's session timeout (-t 1) between requests: each idle gap
# ends the session (a RST releases the target's socket), and the client's next request opens a
# new one (a synthesised handshake, a new target connection). In order, the target connections
# of one online connection make up its stream byte for byte.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

fid_setup fidelity_idle_timeout
fid_server_start online
fid_server_start target
fid_pair_start -t 1
fid_client keepalive --conns 3 --requests 6 --pause-ms 2500 --pause-every 3
fid_finish --split
# Byte-exact alone would also hold if -t did nothing (one long session each): the timeout must
# have released the 3 sessions at least once each.
released=$(lab_stat_int "$(lab_daemon_log tcpcopy)" sessions_timed_out)
((released >= 3)) || lab_fail "sessions released by the session timeout (-t 1)" ">= 3" "$released"
