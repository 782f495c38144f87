#!/usr/bin/env python3
"""Compares what the online server and the target received, connection by connection.

For every connection the online server accepted (record_server.py's DIR/conn-*.bin), finds the
target connections from the same client address whose bytes are identical (by content: the
port may differ, and with --copies N there are N of them). Prints one line per mismatch (the
first differing offset and the bytes there) and ends with

    sessions replayed byte-exact: X of Y

Exit status 0 only if X == Y and the target received no data the online server did not.

--split: a copy may be spread over several target connections, in accept order (the target
  closed a keep-alive connection and tcpcopy reopened on a new port); their concatenation must
  equal the online stream.
--skip FILE: lines "IP PORT OFFSET": that online connection was already open when tcpcopy
  started, so the target can only see its bytes from OFFSET on.
"""

import argparse
import os
import re
import sys

# The address is IPv4 or IPv6 (record_server.py names files by the peer's address as given).
NAME = re.compile(r"^conn-(\d+)-(\d+\.\d+\.\d+\.\d+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)-(\d+)\.bin$")


class Recording:
    def __init__(self, directory, filename):
        match = NAME.match(filename)
        self.order = int(match.group(1))
        self.ip = match.group(2)
        self.port = int(match.group(3))
        with open(os.path.join(directory, filename), "rb") as f:
            self.data = f.read()
        self.used = False

    def label(self):
        host = "[%s]" % self.ip if ":" in self.ip else self.ip
        return "#%d %s:%d (%d bytes)" % (self.order, host, self.port, len(self.data))


def load(directory):
    recordings = []
    for filename in os.listdir(directory):
        if NAME.match(filename):
            recordings.append(Recording(directory, filename))
    recordings.sort(key=lambda r: r.order)
    return recordings


def common_prefix(a, b):
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def excerpt(data, offset, width=40):
    if offset >= len(data):
        return "<end of stream>"
    return repr(data[offset : offset + width])


def match_exact(expected, candidates):
    for t in candidates:
        if not t.used and t.data == expected:
            t.used = True
            return [t]
    return None


def match_split(expected, candidates):
    """Unused target connections, in accept order, whose data concatenates to expected."""
    chain, position = [], 0
    for t in candidates:
        if position == len(expected):
            break
        if t.used or not t.data:
            continue
        if expected[position : position + len(t.data)] == t.data:
            chain.append(t)
            position += len(t.data)
    if position != len(expected) or not chain:
        return None
    for t in chain:
        t.used = True
    return chain


def diagnose(online, expected, skip, candidates, split):
    """The target connection that came closest, and where it went wrong."""
    if not candidates:
        return "no target connection from %s at all" % online.ip
    best, best_prefix = None, -1
    for t in candidates:
        if not t.data:
            continue
        prefix = common_prefix(expected, t.data)
        if prefix > best_prefix:
            best, best_prefix = t, prefix
    if best is None:
        empty = sum(1 for t in candidates if not t.data)
        return "only %d empty target connection(s) from %s" % (empty, online.ip)
    where = best_prefix + skip
    text = "closest target %s%s: first difference at online offset %d: online %s, target %s" % (
        best.label(), " (already matched to another connection)" if best.used else "",
        where, excerpt(expected, best_prefix), excerpt(best.data, best_prefix))
    if best_prefix == len(expected):
        text += " (the target got %d bytes more)" % (len(best.data) - len(expected))
    elif best_prefix == len(best.data):
        text += " (the target got %d of %d bytes)" % (len(best.data), len(expected))
    if split:
        text += "; split mode: no chain of target connections concatenates to the stream"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--online", required=True, help="online server's recording dir")
    parser.add_argument("--target", required=True, help="target's recording dir")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--skip", help="file of 'IP PORT OFFSET' lines")
    parser.add_argument("--max-report", type=int, default=10)
    args = parser.parse_args()

    online = load(args.online)
    target = load(args.target)
    skips = {}
    if args.skip:
        with open(args.skip) as f:
            for line in f:
                words = line.split()
                if len(words) == 3:
                    skips[(words[0], int(words[1]))] = int(words[2])

    exact, reported, total = 0, 0, 0
    ports_kept = 0
    mismatches = []
    for o in online:
        total += 1
        skip = skips.get((o.ip, o.port), 0)
        expected = o.data[skip:]
        candidates = [t for t in target if t.ip == o.ip]
        if not expected:
            # Nothing to replay (an empty connection, or all of it before tcpcopy started):
            # no target connection, or empty ones, are both right.
            exact += 1
            continue
        ok = True
        for copy in range(args.copies):
            chain = (match_split if args.split else match_exact)(expected, candidates)
            if chain is None:
                ok = False
                mismatches.append("copy %d of online %s%s: %s" % (
                    copy + 1, o.label(), ", from offset %d" % skip if skip else "",
                    diagnose(o, expected, skip, candidates, args.split)))
                break
            if chain[0].port == o.port:
                ports_kept += 1
        if ok:
            exact += 1

    for line in mismatches[: args.max_report]:
        print("fidelity: MISMATCH " + line)
    if len(mismatches) > args.max_report:
        print("fidelity: ... and %d more mismatches" % (len(mismatches) - args.max_report))

    extra = [t for t in target if not t.used and t.data]
    empty = [t for t in target if not t.data]
    for t in extra[: args.max_report]:
        print("fidelity: EXTRA target connection %s matches no online connection: starts %s" % (
            t.label(), excerpt(t.data, 0)))
    print("fidelity: online connections %d, target connections %d (%d with data, %d empty, "
          "%d unmatched with data); copies on the client's own port: %d" % (
              len(online), len(target), len(target) - len(empty), len(empty), len(extra),
              ports_kept))
    print("sessions replayed byte-exact: %d of %d" % (exact, total))
    return 0 if exact == total and not extra and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
