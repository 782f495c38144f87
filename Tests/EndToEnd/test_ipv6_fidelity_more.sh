#!/usr/bin/env bash
# Issue 24, fidelity over IPv6, continued (test_ipv6_fidelity.sh says how they run): 1% of the
# packets to the target dropped (ip6tables in the online namespace), sessions already open
# when tcpcopy starts (mid-session start), and an MTU of 1280, IPv6's minimum, between the
# online server and the target. Each byte-exact with no half-open target socket.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

LAB_FAMILY=6 fid_run_tests ipv6_fidelity_more \
    fidelity_loss fidelity_preopen fidelity_small_mtu
