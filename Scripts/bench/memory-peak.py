#!/usr/bin/env python3
"""bench/memory-peak.py: the peak private memory of processes while a load runs.

  memory-peak.py OUT_PREFIX NAME=PID...

Every 50 ms, reads RssAnon (the process's private, anonymous resident pages: heap, stacks,
the runtime's allocations; not the binary, the shared libraries or a mapped packet ring, which
are file-backed) and VmRSS from /proc/PID/status of each process. VmHWM, the kernel's own peak,
counts file-backed pages too, so it cannot say what a daemon holds privately; the kernel keeps
no peak of RssAnon, hence the sampling. At each new peak of RssAnon by 256 kB or more, keeps
/proc/PID/smaps, so that the mappings holding the peak can be read afterwards.

Runs until SIGTERM or SIGINT, or until every process is gone, then prints one line
"NAME_anon_peak_kb=N NAME_rss_peak_kb=N ..." and writes OUT_PREFIX-NAME-smaps.txt for each
process: the mappings at its peak, largest anonymous first (Anonymous: kB, then the mapping).
"""
import os
import signal
import sys
import time

INTERVAL = 0.05
SNAPSHOT_STEP_KB = 256


class Status:
    """/proc/PID/status kept open and read again from its start: the sampler's own CPU time
    (it runs beside the daemons on the same cores) is mostly opening files otherwise."""

    def __init__(self, pid):
        try:
            self.fd = os.open("/proc/%s/status" % pid, os.O_RDONLY)
        except OSError:
            self.fd = None

    def read(self):
        """(RssAnon, VmRSS) in kB, or None once the process is gone."""
        if self.fd is None:
            return None
        try:
            text = os.pread(self.fd, 8192, 0)
        except OSError:
            text = b""
        if not text:
            os.close(self.fd)
            self.fd = None
            return None
        return field(text, b"RssAnon:"), field(text, b"VmRSS:")


def field(text, name):
    start = text.find(name)
    if start < 0:
        return 0
    return int(text[start + len(name):text.index(b"kB", start)])


def smaps_summary(pid):
    """The mappings of PID with their anonymous and resident kB, largest anonymous first."""
    try:
        text = open("/proc/%s/smaps" % pid).read()
    except OSError:
        return None
    rows, current = [], None
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if not words[0].endswith(":") or "-" in words[0]:
            current = {"map": " ".join(words[:1] + words[5:]) or words[0], "anon": 0, "rss": 0}
            rows.append(current)
        elif current is not None and words[0] == "Anonymous:":
            current["anon"] = int(words[1])
        elif current is not None and words[0] == "Rss:":
            current["rss"] = int(words[1])
    rows.sort(key=lambda r: -r["anon"])
    lines = ["%8d kB anon %8d kB rss  %s" % (r["anon"], r["rss"], r["map"]) for r in rows if r["rss"]]
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    prefix = argv[0]
    procs = [arg.split("=", 1) for arg in argv[1:]]
    peaks = {name: {"anon": 0, "rss": 0, "snap_at": -SNAPSHOT_STEP_KB, "smaps": None}
             for name, _ in procs}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    statuses = {name: Status(pid) for name, pid in procs}
    while not stop:
        alive = 0
        for name, pid in procs:
            fields = statuses[name].read()
            if fields is None:
                continue
            alive += 1
            peak = peaks[name]
            anon, rss = fields
            peak["rss"] = max(peak["rss"], rss)
            if anon > peak["anon"]:
                peak["anon"] = anon
                if anon >= peak["snap_at"] + SNAPSHOT_STEP_KB:
                    snapshot = smaps_summary(pid)
                    if snapshot is not None:
                        peak["smaps"] = snapshot
                        peak["snap_at"] = anon
        if alive == 0:
            break
        time.sleep(INTERVAL)
    words = []
    for name, _ in procs:
        peak = peaks[name]
        words.append("%s_anon_peak_kb=%d %s_rss_peak_kb=%d" % (name, peak["anon"], name, peak["rss"]))
        if peak["smaps"]:
            with open("%s-%s-smaps.txt" % (prefix, name), "w") as f:
                f.write("# peak RssAnon %d kB (this snapshot at %d kB)\n" % (peak["anon"], peak["snap_at"]))
                f.write(peak["smaps"])
    print(" ".join(words), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
