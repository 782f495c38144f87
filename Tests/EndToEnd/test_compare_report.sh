#!/usr/bin/env bash
# tcpcopy report turns a compare log into one self-contained HTML page that a real browser
# renders: headless chromium, inside a namespace of its own with no network at all (so nothing
# the page needed could have been fetched), screenshots it; the screenshot is decoded and must
# show the page's ink and both latency series' colours, and the page must hold every request's
# row and both series. The log is hand-made (seeded), so no daemons run.
# The page and the screenshot are kept in $TMPDIR/tcpcopy-e2e-keep/compare_report/.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
prefix=$(lab_test_prefix compare_report)
command -v chromium >/dev/null || lab_die "chromium is needed (Debian: apt-get install chromium)"
tcpcopy=$(lab_bin tcpcopy)

lab_init
out=$LAB_DIR
keep=${TMPDIR:-/tmp}/tcpcopy-e2e-keep/compare_report

# 630 exchanges: /same (300), /slow (100, the target 50 ms slower), /status (60, the target
# answers 500), /length (40), POST /api/orders (50: 5 bytes differ, 3 silent, 2 reset), and
# redis on port 6379 (80, not HTTP: keyed by port); plus one line that is not a record.
python3 - "$out/compare.log" <<'PY'
import json, random, sys
rng = random.Random(25)
ok = "HTTP/1.1 200 OK"
lines = []
def latency(median_us):
    return max(50, int(rng.lognormvariate(0, 0.35) * median_us))
def record(n, request, outcome, port=80, online_line=ok, target_line=ok, online_len=612, target_len=612,
           online_digest="5f3a1c9e", target_digest="5f3a1c9e", online_us=2000, target_us=2300,
           target_ending="answered"):
    answered = target_ending == "answered"
    lines.append(json.dumps({
        "session": "10.77.1.2:%d" % (40000 + n % 500), "exchange": 1 + n % 7, "port": port,
        "request": request, "outcome": outcome,
        "online_ending": "answered", "online_first_line": online_line, "online_length": online_len,
        "online_compared_length": online_len, "online_digest": online_digest,
        "online_latency_us": latency(online_us),
        "target_ending": target_ending, "target_first_line": target_line if answered else None,
        "target_length": target_len if answered else 0, "target_compared_length": target_len if answered else 0,
        "target_digest": target_digest if answered else None,
        "target_latency_us": latency(target_us) if answered else None,
    }))
n = 0
for _ in range(300):
    n += 1; record(n, "GET /same HTTP/1.1", "compare_same")
for _ in range(100):
    n += 1; record(n, "GET /slow?id=%d HTTP/1.1" % n, "compare_same", online_us=3000, target_us=53000)
for _ in range(60):
    n += 1; record(n, "GET /status HTTP/1.1", "compare_first_line_differs",
                   target_line="HTTP/1.1 500 Internal Server Error", target_len=190, target_digest="0badf00d")
for _ in range(40):
    n += 1; record(n, "GET /length HTTP/1.1", "compare_length_differs", target_len=1024, target_digest="0000beef")
for i in range(50):
    n += 1
    if i < 5:
        record(n, "POST /api/orders HTTP/1.1", "compare_bytes_differ", target_digest="77777777", online_us=8000, target_us=9000)
    elif i < 8:
        record(n, "POST /api/orders HTTP/1.1", "compare_target_silent", target_ending="silent", online_us=8000)
    elif i < 10:
        record(n, "POST /api/orders HTTP/1.1", "compare_target_reset", target_ending="reset", online_us=8000)
    else:
        record(n, "POST /api/orders HTTP/1.1", "compare_same", online_us=8000, target_us=9000)
for _ in range(80):
    n += 1; record(n, "*3", "compare_same", port=6379, online_line="+OK", target_line="+OK",
                   online_len=5, target_len=5, online_us=150, target_us=180)
lines.insert(17, "this line is not a record")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

said=$("$tcpcopy" report "$out/compare.log" -o "$out/report.html" 2>"$out/report.err") ||
    lab_fail "tcpcopy report" "exit 0" "exit $?: $(cat "$out/report.err")"
[[ $said == *"630 exchanges, 1 lines skipped"* ]] ||
    lab_fail "tcpcopy report's summary" "630 exchanges, 1 lines skipped" "$said"
grep -q ':18: skipped' "$out/report.err" || lab_fail "the skipped line named" "line 18" "$(cat "$out/report.err")"

html=$out/report.html
expect_row() { # KEY EXCHANGES
    grep -qF "<tr class=\"key-row\"><td class=\"key\">$1</td><td>$2</td>" "$html" ||
        lab_fail "the table's row for $1" "$2 exchanges" "$(grep -oF "<td class=\"key\">$1</td><td>[0-9]*" "$html" || echo none)"
}
expect_row "GET /same" 300
expect_row "GET /slow" 100
expect_row "GET /status" 60
expect_row "GET /length" 40
expect_row "POST /api/orders" 50
expect_row "port 6379" 80
grep -qF '<td class="key">GET /status</td><td>60</td><td>0</td><td>0</td><td>0</td><td class="bad">60</td>' "$html" ||
    lab_fail "/status" "60 first-line differences" "$(grep -F 'GET /status</td><td>60' "$html")"
for series in online target; do
    count=$(grep -o "class=\"series-$series\"" "$html" | wc -l)
    ((count == 2)) || lab_fail "the $series series" "drawn in both charts (2)" "$count"
done
if grep -qiE '<script|src=|href=|url\(|@import' "$html"; then
    lab_fail "a self-contained page" "no script, src, href, url() or @import" "$(grep -oiE '<script|src=|href=|url\(|@import' "$html" | sort -u)"
fi

# Chromium in a namespace with only a loopback: the page cannot fetch anything, and chromium's
# own background requests go nowhere.
ns=${prefix}browser
echo "$ns" >"$LAB_DIR/run/namespaces"
ip netns add "$ns"
ip -n "$ns" link set lo up
png=$out/report.png
timeout 90 ip netns exec "$ns" chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$out/chromium-profile" --screenshot="$png" --window-size=1200,1600 \
    "file://$html" >"$out/chromium.log" 2>&1 ||
    lab_fail "chromium --screenshot" "exit 0" "exit $?: $(tail -5 "$out/chromium.log")"
[[ -s $png ]] || lab_fail "the screenshot" "a file" "none ($(tail -5 "$out/chromium.log"))"
mkdir -p "$keep"
cp "$html" "$png" "$out/compare.log" "$keep/"

# Decode the PNG (zlib and the row filters, in plain python) and look at its pixels.
python3 - "$png" <<'PY' || lab_fail "the screenshot's pixels" "a rendered page with both series" "see above"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
        channels = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
stride = width * channels
rows, previous = [], bytearray(stride)
for y in range(height):
    kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - channels] if i >= channels else 0
        b, c = previous[i], previous[i - channels] if i >= channels else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    previous = line
def near(pixel, colour, slack=40):
    return all(abs(p - c) <= slack for p, c in zip(pixel, colour))
ink = online = target = 0
for line in rows:
    for x in range(0, stride, channels):
        pixel = line[x:x + 3]
        if sum(pixel) < 600: ink += 1
        if near(pixel, (0x1f, 0x77, 0xb4)): online += 1
        if near(pixel, (0xe8, 0x73, 0x1a)): target += 1
total = width * height
print("screenshot %dx%d: %.1f%% ink, %d online-blue pixels, %d target-orange pixels"
      % (width, height, 100.0 * ink / total, online, target))
assert (width, height) == (1200, 1600), "window size"
assert ink > total * 0.02, "too little ink: a blank page?"
assert online > 500 and target > 500, "a series is missing from the picture"
PY
lab_log "PASS compare_report: 6 rows, both series, screenshot $keep/report.png ($(stat -c %s "$png") bytes)"
