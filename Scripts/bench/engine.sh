#!/usr/bin/env bash
# bench/engine.sh [SESSIONS]: instructions and heap allocations per packet in tcpcopy's core.
# Builds Sources/EngineBench (TCPCOPY_BENCH=1, release, scratch path .build-enginebench) and
# feeds SESSIONS short HTTP sessions (default 20,000; five captured packets and five response
# headers each) through TCPCopyEngine, encoding every segment it sends, after 70 s (simulated)
# of the same traffic so that the engine's tables are in their steady state (BENCH_WARMUP
# sessions instead, if set). Each response header goes through the control decoder first, from
# its frame. Only the decoder's, the engine's and the encoder's calls are measured, so building
# the packets does not count:
#   instructions  callgrind, collecting only inside the bench's instrumented… functions;
#                 instruction counts do not depend on the machine's load, unlike timings
#   mallocs       calls to malloc, calloc, realloc and the aligned allocators inside the same
#                 calls, counted by Scripts/bench/malloc-count.c (LD_PRELOAD) in a native run
# Prints "instructions per packet" and "mallocs per packet"; the callgrind file stays in
# .build-enginebench/callgrind.out for callgrind_annotate. Needs valgrind and a C compiler.
# --reporter [SESSIONS]: intercept's AnswerReporter instead (Sources/EngineBench/ReporterBench.swift:
# compared short sessions, their pieces encoded); prints instructions and mallocs per session.
set -euo pipefail

mode=engine
if [[ ${1:-} == --reporter ]]; then mode=reporter; shift; fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
sessions=${1:-20000}
scratch=.build-enginebench
command -v valgrind >/dev/null || { echo "engine.sh: valgrind is not installed (Debian: valgrind)" >&2; exit 1; }
cc=$(command -v clang || command -v cc || true)
[[ -n $cc ]] || { echo "engine.sh: no C compiler (the Swift toolchain's clang, or Debian's gcc)" >&2; exit 1; }

# The bench target exists in Package.swift only with this set.
TCPCOPY_BENCH=1 swift build -c release --scratch-path "$scratch" --product EngineBench >&2
mkdir -p "$scratch"
"$cc" -O2 -shared -fPIC -o "$scratch/libmalloc-count.so" Scripts/bench/malloc-count.c
bench=("$scratch/release/EngineBench" "$sessions" ${BENCH_WARMUP:+"$BENCH_WARMUP"})
[[ $mode == engine ]] || bench=("$scratch/release/EngineBench" "$mode" "$sessions" ${BENCH_WARMUP:+"$BENCH_WARMUP"})

LD_PRELOAD=$PWD/$scratch/libmalloc-count.so "${bench[@]}" >"$scratch/engine-mallocs.txt"
out=$scratch/callgrind.out
# Valgrind 3.19 (Debian 12) cannot read the DWARF 5 that clang writes for the C shims linked in:
# callgrind runs a copy without debug information (function names come from the symbol table).
objcopy --strip-debug "${bench[0]}" "$scratch/EngineBench.callgrind"
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
    --toggle-collect='*instrumented*' "$scratch/EngineBench.callgrind" "${bench[@]:1}" >"$scratch/engine-bench.txt" 2>"$scratch/valgrind.txt" ||
    { cat "$scratch/valgrind.txt" >&2; exit 1; }
cat "$scratch/engine-bench.txt"

python3 - "$out" "$scratch/engine-bench.txt" "$scratch/engine-mallocs.txt" "$mode" <<'PY'
import sys
out, report, mallocs, mode = sys.argv[1:5]
def fields(path):
    words = open(path).readline().split()
    return dict(zip(words[0::2], words[1::2]))
counts = fields(report)
allocations = int(fields(mallocs)["allocations"])
instructions = next(int(line.split()[1]) for line in open(out) if line.startswith(("summary:", "totals:")))
packets = int(counts["packets"])
if mode == "reporter":
    sessions = int(counts["sessions"])
    print(f"sessions {sessions}, packets {packets}, pieces {counts['pieces']}, frame bytes {counts['frame_bytes']}")
    print(f"instructions per session {instructions / sessions:.0f} (per packet {instructions / packets:.0f})")
    print(f"mallocs per session {allocations / sessions:.2f}")
    sys.exit(0)
print(f"packets {packets} (captured {counts['captured']}, responses {counts['responses']}), segments encoded {counts['sent']}")
sessions = int(counts["sessions"])
print(f"instructions per packet {instructions / packets:.0f} (per session {instructions / sessions:.0f})")
print(f"mallocs per packet {allocations / packets:.2f}")
PY
