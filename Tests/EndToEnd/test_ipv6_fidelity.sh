#!/usr/bin/env bash
# Issue 24, fidelity over IPv6 (fd00::/8 only): the fidelity tests most at risk run with
# LAB_FAMILY=6 (record_server.py on [::], the route [fd00:77:1::1]:80-[fd00:77:2::2]:80,
# tcpcopy -i any, since IPv6 is captured at the link layer), each byte-exact with no half-open
# target socket, as over IPv4: keep-alive (4 x 50), pipelined (4 x 8 deep x 5), POST bodies of
# 1 KB, 64 KB and 4 MB with GRO/TSO on, and the greeting protocol (the server speaks first).
# test_ipv6_fidelity_more.sh holds the others (1% loss, mid-session start, MTU 1280).
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

LAB_FAMILY=6 fid_run_tests ipv6_fidelity \
    fidelity_keepalive fidelity_pipeline fidelity_post fidelity_greeting
