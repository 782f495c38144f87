#!/usr/bin/env bash
# Issue 24: redis-benchmark over IPv6 (redis-benchmark -h fd00:77:1::1; keep-alive, then
# 16-deep pipelining), test_fidelity_redis.sh with LAB_FAMILY=6: the target's INFO
# commandstats equal the online server's, command by command, no half-open target socket.
set -euo pipefail
# shellcheck source=../../Scripts/fidelity-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/fidelity-lib.sh"

LAB_FAMILY=6 fid_run_tests ipv6_redis fidelity_redis
