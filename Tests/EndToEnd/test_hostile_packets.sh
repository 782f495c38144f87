#!/usr/bin/env bash
# Malformed and odd packets injected from the client namespace at the online port, while real
# sessions are being copied. What the online kernel lets through to tcpcopy's raw socket is
# counted by reason (malformed_bad_data_offset, malformed_bad_flags) or as what it is (IP
# options and reassembled fragments parse normally: no_session; an odd zero-length segment:
# stray_control); what the kernel drops first (truncated IP headers, IHL < 5 or beyond the
# packet, a total length beyond the packet, a bad IP checksum, a lone fragment, non-TCP) never
# reaches tcpcopy, and the kernel's own counters show it arrived. Nothing crashes; every real
# request is copied exactly.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix hostile_packets)
repeat=5

# kernel_counters: the online namespace's IP input error counters, "name=value" words.
kernel_counters() {
    lab_exec online cat /proc/net/snmp /proc/net/netstat | awk '
        /^Ip: [A-Z]/ { split($0, names) ; next }
        /^Ip: [0-9]/ { for (i = 2; i <= NF; i++) ip[names[i]] = $i; next }
        /^IpExt: [A-Z]/ { split($0, xnames); next }
        /^IpExt: [0-9]/ { for (i = 2; i <= NF; i++) ipx[xnames[i]] = $i; next }
        END { printf "InHdrErrors=%d InTruncatedPkts=%d InCsumErrors=%d ReasmReqds=%d ReasmOKs=%d InUnknownProtos=%d\n",
              ip["InHdrErrors"], ipx["InTruncatedPkts"], ipx["InCsumErrors"], ip["ReasmReqds"], ip["ReasmOKs"], ip["InUnknownProtos"] }'
}
counter() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"; }

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_capture_start leak client "host $LAB_TARGET_IP or host $LAB_ONLINE_IP"
lab_intercept_start intercept "$LAB_ADMIN_IP"
lab_tcpcopy_start tcpcopy "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

before=$(kernel_counters)
safety_traffic_start 10
sleep 0.5
mac=$(safety_mac online to-client)
safety_py client packets.py malformed to-online "$mac" "$LAB_CLIENT_IP" "$LAB_ONLINE_IP" 80 \
    --repeat "$repeat" >"$LAB_DIR/cases.txt"
sed 's/^/    /' "$LAB_DIR/cases.txt" >&2
sleep 0.5
read -r ok sent < <(safety_traffic_stop 10)
after=$(kernel_counters)
lab_log "online kernel before: $before"
lab_log "online kernel after:  $after"
((ok == sent && sent > 0)) || lab_fail "online's answers while the packets were injected" "$sent" "$ok"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy after the hostile packets" "alive" "exited"
# The well-formed oddities carry "GET /hostile": tcpcopy may copy them as sessions it joins
# mid-way (the online server had none); they are not part of the comparison.
safety_expect_copies_exact "with hostile packets in between" 15 ' /hostile '
hostile_copied=$(grep -c ' /hostile ' "$(lab_nginx_access_log target)" || true)

lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept
lab_capture_stop leak
lab_expect_no_leak leak
log=$(lab_daemon_log tcpcopy)

# What reached tcpcopy: exactly the cases of each reason, nothing under any other reason.
expected() { awk -v r="$1" '$4 == "expect=" r { n += substr($3, 6) } END { print n + 0 }' "$LAB_DIR/cases.txt"; }
for reason in malformed_bad_data_offset malformed_bad_flags; do
    want=$(expected "$reason")
    got=$(lab_stat_int "$log" "$reason")
    ((got == want)) || lab_fail "tcpcopy's $reason" "$want" "$got"
done
want=$(($(expected malformed_bad_data_offset) + $(expected malformed_bad_flags)))
got=$(lab_stat_int "$log" malformed)
((got == want)) || lab_fail "tcpcopy's malformed (all reasons)" "$want" "$got"
# IP options and reassembled fragments parse like any packet: tcpcopy either joins them as
# sessions captured mid-way (sessions_synthesized; the repeats of one case are then that
# session's retransmissions) or counts their data as no_session: at least once per case.
got=$(($(lab_stat_int "$log" no_session) + $(lab_stat_int "$log" sessions_synthesized)))
((got >= 2)) || lab_fail "tcpcopy's no_session + sessions_synthesized (IP options, fragments)" ">= 2" "$got"
got=$(lab_stat_int "$log" stray_control)
((got >= $(expected stray_control))) || lab_fail "tcpcopy's stray_control" ">= $(expected stray_control)" "$got"

# What never reached it: the online kernel counted those on its way in.
hdr=$(($(counter "$after" InHdrErrors) - $(counter "$before" InHdrErrors)))
trunc=$(($(counter "$after" InTruncatedPkts) - $(counter "$before" InTruncatedPkts)))
csum=$(($(counter "$after" InCsumErrors) - $(counter "$before" InCsumErrors)))
reasm=$(($(counter "$after" ReasmReqds) - $(counter "$before" ReasmReqds)))
lab_log "online kernel dropped: header errors $hdr, truncated $trunc, checksum errors $csum; fragments queued $reasm"
((hdr + csum >= 3 * repeat)) || lab_fail "IP header errors the online kernel counted" ">= $((3 * repeat))" "$((hdr + csum))"
((trunc >= repeat)) || lab_fail "truncated packets the online kernel counted" ">= $repeat" "$trunc"
((reasm >= 3 * repeat)) || lab_fail "fragments the online kernel queued for reassembly" ">= $((3 * repeat))" "$reasm"

lab_log "PASS hostile_packets: $ok requests copied exactly; $(stat_value "$log" malformed) malformed counted by reason; $hostile_copied well-formed odd requests copied"
