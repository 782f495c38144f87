#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds the libFuzzer targets (packet parser, control decoder) with
# -sanitize=fuzzer,address in their own scratch path (.build-fuzz) and runs each for SECONDS
# (default 60), starting from a small seed corpus of valid packets and frames.
# Prints each target's executions and crashes, and ends with "fuzz: N passed, M failed".
# A crash leaves its input in .fuzz/crashes/TARGET/: turn each into a unit test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
seconds=${1:-60}
targets=(FuzzPacketParser FuzzControlDecoder)
work=.fuzz
# The fuzz targets exist in Package.swift only with this set (an ordinary build must not link
# them: they hand main to libFuzzer's driver). Release: the optimised code is what ships.
export TCPCOPY_FUZZ=1
flags=(--scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
mkdir -p "$work"

# Seeds: valid IPv4/TCP and IPv6/TCP packets (SYN with options, data, IP options, IPv6 extension
# headers), a route in text, and valid control frames.
seed() {
    python3 - "$work/corpus" <<'PY'
import os, struct, sys
root = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF
def packet(flags, payload=b"", tcpopt=b"", ipopt=b""):
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, (5 + len(tcpopt) // 4) << 4, flags, 64240, 0, 0) + tcpopt
    ihl = 5 + len(ipopt) // 4
    total = ihl * 4 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, 0x4000, 64, 6, 0, bytes([10, 77, 1, 2]), bytes([10, 77, 1, 1])) + ipopt
    return ip + tcp + payload
def frame(kind, body, flags=0):
    head = struct.pack("!HBBH", 0x5443, kind, flags, len(body))
    return head + struct.pack("!H", csum(head + body)) + body
syn_opts = bytes([2, 4, 5, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
packets = [packet(0x02, tcpopt=syn_opts), packet(0x18, b"GET / HTTP/1.1\r\n\r\n"), packet(0x10, ipopt=bytes([1, 1, 1, 0])), packet(0x11)]
def packet6(flags, payload=b"", tcpopt=b"", ext=b"", first=6):
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, (5 + len(tcpopt) // 4) << 4, flags, 64240, 0, 0) + tcpopt
    src, dst = bytes([0xFD, 0, 0, 1] + [0] * 11 + [2]), bytes([0xFD, 0, 0, 1] + [0] * 11 + [1])
    return struct.pack("!IHBB", 6 << 28, len(ext) + len(tcp) + len(payload), first, 64) + src + dst + ext + tcp + payload
# IPv6: a SYN, data behind hop-by-hop and destination options, and a fragment header.
packets += [packet6(0x02, tcpopt=syn_opts), packet6(0x18, b"GET /", ext=bytes([60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0]), first=0), packet6(0x10, ext=bytes([6, 0, 0, 1, 0, 0, 0, 1]), first=44), b"[fd00:1::2]:80-[fd00:2::2]:80"]
key = bytes([10, 77, 1, 2, 0x9C, 0x40, 10, 77, 2, 2, 0, 80])
key6 = bytes([0xFD, 0, 0, 1] + [0] * 11 + [2]) + b"\x9c\x40" + bytes([0xFD, 0, 0, 2] + [0] * 11 + [2]) + b"\0\x50"
frames = [frame(1, b"\0\4"), frame(2, b"\0\4"), frame(3, b"\0\4"), frame(4, key), frame(5, key), frame(7, b""), frame(6, packets[0][:60]),
          frame(8, bytes(range(32))), frame(9, bytes(range(32, 64))), frame(10, key + b"\0\1"), frame(11, key),
          frame(12, key + struct.pack("!IIHHIBQB", 0, 0, 17, 17, 0x1234, 0, 99, 17) + b"HTTP/1.1 200 OK\r\n"),
          frame(12, key + struct.pack("!IIHHIBQB", 5, 1, 0, 0, 0, 4, 100, 0)), frame(13, b"Date\nX-Request-Id\n"),
          frame(14, struct.pack("!Q", 123456789)), frame(15, struct.pack("!QQ", 123456789, 987654321)),
          # Version 4: IPv6 keys (flag 0x01) and an IPv6 response.
          frame(4, key6, 1), frame(10, key6 + b"\0\2", 1), frame(6, packets[4][:80]),
          frame(12, key6 + struct.pack("!IIHHIBQB", 0, 0, 17, 17, 0x1234, 0, 99, 17) + b"HTTP/1.1 200 OK\r\n", 1)]
for name, seeds, prefix in (("FuzzPacketParser", packets, b"\0"), ("FuzzControlDecoder", frames, b"\7")):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for i, s in enumerate(seeds):
        open(os.path.join(root, name, "seed-%d" % i), "wb").write(prefix + s)
    if name == "FuzzControlDecoder":
        open(os.path.join(root, name, "seed-all"), "wb").write(b"\3" + b"".join(frames))
PY
}
seed

passed=0 failed=0
for target in "${targets[@]}"; do
    echo "==== fuzz $target (${seconds}s)"
    mkdir -p "$work/crashes/$target"
    if ! swift build "${flags[@]}" --product "$target" >"$work/build-$target.log" 2>&1; then
        echo "fuzz: $target did not build:"
        tail -n 30 "$work/build-$target.log"
        failed=$((failed + 1))
        continue
    fi
    bin="$(swift build "${flags[@]}" --show-bin-path)/$target"
    log="$work/$target.log"
    rc=0
    # -rss_limit_mb keeps a runaway allocation a finding, not a machine problem.
    "$bin" "$work/corpus/$target" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=1024 \
        -artifact_prefix="$work/crashes/$target/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    executions=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    crashes=$(find "$work/crashes/$target" -type f | wc -l | tr -d ' ')
    echo "fuzz: $target: ${executions:-?} executions in ${seconds}s, $crashes crashes, exit $rc"
    if ((rc != 0 || crashes != 0)); then
        grep -E 'ERROR|SUMMARY|Fatal error|precondition' "$log" | head -n 10 || true
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
