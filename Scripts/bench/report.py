#!/usr/bin/env python3
"""bench/report.py: the benchmark's arithmetic, apart from the shell that runs the lab.

  report.py parse-wrk FILE      wrk --latency output   -> "ok=N errors=N p50_ms=X p99_ms=Y"
  report.py parse-pacer FILE    pacer's key=value line -> the same keys (and pacer's own)
  report.py report RUNS --out DIR [--meta KEY=VALUE ...]
                                runs.txt -> the tables (stdout and DIR/table.txt) and
                                DIR/results.json

Every figure of a run is computed first and the median over repeats taken last, so a row's
ratios come from the same runs as its absolute figures. The throughput ratio (with/w/o) is the
median of each repeat's ratio: a copying run against the run without copying just before it.
"""
import json
import re
import statistics
import sys

CLOCK_TICKS = 100  # USER_HZ, the unit of utime/stime in /proc/PID/stat

# The original's figures (issue 6) and the bar, for the summary lines.
ORIGINAL = {
    "tcpcopy_vs_nginx": 1.6,
    "intercept_vs_nginx": 1.4,
    "full_short": 0.60,
    "full_keepalive": 0.57,
    "idle_tcpcopy_pct": 0.4,
    "idle_intercept_pct": "3-5",
    "rss_tcpcopy_mb": "9-19",
    "rss_intercept_mb": "6-22",
    "rawloop_ratio": 0.55,
}
BAR = {
    "fidelity_pct": 99.99,
    "tcpcopy_vs_nginx": 0.8,
    "intercept_vs_nginx": 0.7,
    "full_ratio": 0.75,
    "idle_pct": 0.1,
    "rss_mb": 16,
    "rawloop_ratio": 1.0,
}
# Issue 26's bars (besides the raw loop's, the same as issue 6's).
BAR26 = {
    "of_ceiling": 0.95,
    "tc_short": 0.25,
    "ic_short": 0.35,
    "tc_keepalive": 0.2,
    "ic_keepalive": 0.2,
    "anon_tc_mb": 7,
    "anon_ic_mb": 4,
    "rss_mb": 16,
}


def to_ms(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(path):
    text = open(path, errors="replace").read()
    fields = {"ok": 0, "errors": 0, "p50_ms": "nan", "p99_ms": "nan"}
    match = re.search(r"(\d+) requests in", text)
    requests = int(match.group(1)) if match else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(non2xx.group(1)) if non2xx else 0
    fields["ok"] = requests - bad
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    # wrk counts the server's close of a Connection: close response as a read error when it
    # races its own close; count only connect errors and timeouts as lost requests.
    if errors:
        fields["errors"] = int(errors.group(1)) + int(errors.group(4))
    for percent, key in (("50", "p50_ms"), ("99", "p99_ms")):
        match = re.search(r"^\s+%s%%\s+(\S+)" % percent, text, re.M)
        if match and to_ms(match.group(1)) is not None:
            fields[key] = "%.3f" % to_ms(match.group(1))
    return fields


def parse_pacer(path):
    text = open(path, errors="replace").read()
    line = [l for l in text.splitlines() if l.startswith("due=")]
    if not line:
        return {"ok": 0, "errors": -1, "p50_ms": "nan", "p99_ms": "nan"}
    fields = dict(word.split("=", 1) for word in line[-1].split())
    fields["pacer_rate"] = fields.pop("rate", "0")
    return fields


def read_runs(path):
    runs = []
    for line in open(path):
        record = {}
        for word in line.split():
            if "=" in word:
                key, value = word.split("=", 1)
                record[key] = value
        if record:
            runs.append(record)
    return runs


def number(record, key, default=0.0):
    try:
        return float(record.get(key, default))
    except ValueError:
        return default


def handled_packets(run, fallback):
    """The service's packets a daemon handled: what reached the online server from the client
    side (rx_packets of its link), less what the daemon's capture socket dropped. tcpcopy's
    capture filter leaves the client's bare ACKs to the kernel, so its own `captured` counts
    fewer; the raw loop reads them all. Runs from before the field fall back to the daemon's
    own count."""
    if "service_packets" not in run:
        return fallback
    return max(0.0, number(run, "service_packets") - number(run, "raw_drops"))


def stats_map(text):
    result = {}
    for item in (text or "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            try:
                result[key] = int(value)
            except ValueError:
                pass
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def per_10k(cpu_seconds, requests):
    return cpu_seconds / requests * 10000 if requests > 0 else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def run_figures(run):
    """Everything a table shows, from one run."""
    duration = number(run, "duration", 1)
    online = number(run, "online_requests")
    target = number(run, "target_requests")
    figures = {
        "online_rps": online / duration,
        "target_rps": target / duration,
        "fidelity_pct": 100.0 * target / online if online > 0 else None,
        "client_ok_rps": number(run, "ok") / duration,
        "client_errors": number(run, "errors"),
        "p50_ms": number(run, "p50_ms", float("nan")),
        "p99_ms": number(run, "p99_ms", float("nan")),
        "unsent": number(run, "unsent"),
    }
    for name, requests in (("tc", online), ("ic", target), ("on", online), ("tg", target)):
        ticks = number(run, "cpu_%s_ticks" % name)
        ns = number(run, "cpu_%s_ns" % name)
        figures["cpu_%s_s" % name] = ticks / CLOCK_TICKS
        figures["cpu_%s_per10k" % name] = per_10k(ticks / CLOCK_TICKS, requests)
        figures["cpu_%s_per10k_sched" % name] = per_10k(ns / 1e9, requests)
    # Share of one core over the run's wall time (load and drain): 100% is a saturated daemon.
    wall = number(run, "wall", duration) or duration
    figures["tc_core_pct"] = 100 * figures["cpu_tc_s"] / wall
    figures["ic_core_pct"] = 100 * figures["cpu_ic_s"] / wall
    figures["tc_vs_nginx"] = ratio(figures["cpu_tc_per10k"], figures["cpu_on_per10k"])
    figures["ic_vs_nginx"] = ratio(figures["cpu_ic_per10k"], figures["cpu_tg_per10k"])
    figures["tc_vs_nginx_sched"] = ratio(figures["cpu_tc_per10k_sched"], figures["cpu_on_per10k_sched"])
    figures["ic_vs_nginx_sched"] = ratio(figures["cpu_ic_per10k_sched"], figures["cpu_tg_per10k_sched"])
    # The whole machine over the load's wall time (/proc/stat), and the daemons' and the target
    # nginx's share of it over the same window: what the CPU budget table is made of.
    # (Runs written before the readings existed have none: their figures are None.)
    busy = number(run, "machine_busy_ticks") / CLOCK_TICKS
    total = number(run, "machine_total_ticks") / CLOCK_TICKS
    daemons = (number(run, "cpu_tc_load_ticks") + number(run, "cpu_ic_load_ticks")) / CLOCK_TICKS
    machine = {
        "machine_busy_s": busy,
        "machine_busy_pct": 100 * busy / total if total > 0 else None,
        "machine_steal_pct": 100 * number(run, "machine_steal_ticks") / CLOCK_TICKS / total if total > 0 else None,
        "machine_per10k": per_10k(busy, online),
        "daemons_load_s": daemons,
        "daemons_load_per10k": per_10k(daemons, online),
        "tg_load_per10k": per_10k(number(run, "cpu_tg_load_ticks") / CLOCK_TICKS, online),
    }
    figures.update(machine if total > 0 else dict.fromkeys(machine))
    figures["hwm_tc_mb"] = number(run, "hwm_tc_kb") / 1024
    figures["hwm_ic_mb"] = number(run, "hwm_ic_kb") / 1024
    # Peak private memory (RssAnon sampled through the load and drain); runs from before the
    # sampler have none.
    for name in ("tc", "ic"):
        key = "%s_anon_peak_kb" % name
        figures["anon_%s_mb" % name] = number(run, key) / 1024 if key in run else None
    tc = stats_map(run.get("tc_stats"))
    ic = stats_map(run.get("ic_stats"))
    figures["tc_captured"] = tc.get("captured")
    figures["tc_packets_sent"] = tc.get("packets_sent")
    cpu_tc = number(run, "cpu_tc_ticks") / CLOCK_TICKS
    handled = handled_packets(run, tc.get("captured"))
    figures["tc_pps_per_core"] = handled / cpu_tc if handled is not None and cpu_tc > 0 else None
    ns_tc = number(run, "cpu_tc_ns") / 1e9
    figures["tc_pps_per_core_sched"] = handled / ns_tc if handled is not None and ns_tc > 0 else None
    figures["raw_drops"] = number(run, "raw_drops")
    figures["link_drops"] = number(run, "link_drops")
    figures["tc_retransmissions"] = tc.get("retransmissions")
    figures["online_listen_drops"] = number(run, "online_listen_drops")
    figures["target_listen_drops"] = number(run, "target_listen_drops")
    figures["queue_dropped"] = number(run, "queue_dropped") + number(run, "queue_user_dropped")
    figures["tc_sessions_started"] = tc.get("sessions_started")
    figures["tc_sessions_completed"] = tc.get("sessions_completed")
    figures["tc_sessions_aborted"] = tc.get("sessions_aborted")
    figures["tc_sessions_timed_out"] = tc.get("sessions_timed_out")
    figures["ic_queued"] = ic.get("queued")
    figures["ic_queue_overruns"] = ic.get("queue_overruns")
    figures["tc_counters"] = tc
    figures["ic_counters"] = ic
    return figures


def median_figures(runs):
    figures = [run_figures(r) for r in runs]
    keys = [k for k in figures[0] if not k.endswith("_counters")]
    merged = {}
    for key in keys:
        values = [f[key] for f in figures if isinstance(f[key], (int, float)) and f[key] == f[key]]
        merged[key] = median(values)
    merged["tc_counters"] = figures[-1]["tc_counters"]
    merged["ic_counters"] = figures[-1]["ic_counters"]
    merged["runs"] = len(runs)
    return merged


def paired_ratios(plain, copy):
    """Online req/s with copying over without, repeat by repeat: each copying run against the
    run without copying just before it, so that a ratio compares two runs ten seconds apart
    rather than the medians of runs minutes apart (the machine drifts between repeats). Each
    with the larger of the two runs' steal, the time the VM's host took from it."""
    before = {r.get("rep"): run_figures(r) for r in plain}
    pairs = []
    for run in copy:
        w = before.get(run.get("rep"))
        c = run_figures(run)
        value = ratio(c["online_rps"], w["online_rps"]) if w else None
        if value is not None:
            steals = [f["machine_steal_pct"] for f in (w, c) if f["machine_steal_pct"] is not None]
            # The same repeat's ceiling (the ratio with daemons that cost nothing), and the
            # ratio over it: how close the copier came to what this machine allowed.
            budget = cpu_budget(w, c)
            ceiling = budget["ratio_free_daemons"] if budget else None
            pairs.append({"rep": run.get("rep"), "ratio": value, "steal_pct": max(steals) if steals else None,
                          "ceiling": ceiling, "of_ceiling": ratio(value, ceiling)})
    return pairs


def describe_pairs(pairs):
    """The pairs as text, such as "0.89 (steal 13.6%), 0.73, 0.67": steal where it reached 1%."""
    return ", ".join("%.2f%s" % (p["ratio"], " (steal %.1f%%)" % p["steal_pct"]
                                 if (p["steal_pct"] or 0) >= 1 else "") for p in pairs)


def cpu_budget(w, c):
    """What copying cost the whole machine per request at a load, and what the bar allows.

    With the machine saturated in both runs, each online request without copying costs u =
    busy / requests of the machine (client, online nginx, the kernel); with copying it costs u
    plus the copy path (tcpcopy, intercept, the target nginx, the target's and the router's
    kernel work). A ratio of 0.75x leaves the copy path u / 0.75 - u = u / 3 per request.
    "Free daemons" is the ratio this run would have shown had tcpcopy and intercept used no
    CPU at all: the same busy time spread over requests that cost only the rest.
    """
    keys = ("machine_per10k", "machine_busy_s", "daemons_load_s")
    if any(w.get(k) is None or c.get(k) is None for k in keys) or not w.get("machine_per10k"):
        return None
    u = w["machine_per10k"]
    free = None
    if c["machine_busy_s"] > c["daemons_load_s"] > 0 and w["online_rps"]:
        free = c["online_rps"] * c["machine_busy_s"] / (c["machine_busy_s"] - c["daemons_load_s"]) / w["online_rps"]
    return {
        "busy_pct_without": w["machine_busy_pct"],
        "busy_pct_with": c["machine_busy_pct"],
        "steal_pct": max(w["machine_steal_pct"] or 0, c["machine_steal_pct"] or 0),
        "per10k_without": u,
        "per10k_with": c["machine_per10k"],
        "copy_path_per10k": c["machine_per10k"] - u,
        "allowed_per10k": u * (1 / BAR["full_ratio"] - 1),
        "target_nginx_per10k": c["tg_load_per10k"],
        "daemons_per10k": c["daemons_load_per10k"],
        "ratio_free_daemons": free,
    }


def issue26_bars(loads, rawloop):
    """The bars of issue 26 that one run of the bench can check, each with its figure."""
    bars = []

    def bar(number, what, value, ok, limit):
        bars.append({"bar_number": number, "what": what, "value": value, "pass": ok, "bar": limit})

    for load in ("short-full", "keepalive-full"):
        value = (loads.get(load) or {}).get("of_ceiling")
        if value is not None:
            bar(1, "with/w/o / the ceiling with free daemons, %s" % load, "%.2f" % value,
                value >= BAR26["of_ceiling"], ">= %.2f" % BAR26["of_ceiling"])
    value = (rawloop.get("short-full") or {}).get("ratio")
    if value is not None:
        bar(2, "tcpcopy packets per CPU-s / the raw loop's, short-full", "%.2fx" % value,
            value >= BAR["rawloop_ratio"], ">= 1.0x")
    for load, limits in (("short-3000", ("tc_short", "ic_short")),
                         ("keepalive-3000", ("tc_keepalive", "ic_keepalive"))):
        c = (loads.get(load) or {}).get("with_copying") or {}
        for key, name, limit in (("tc_vs_nginx", "tcpcopy / online nginx", limits[0]),
                                 ("ic_vs_nginx", "intercept / target nginx", limits[1])):
            if c.get(key) is not None:
                bar(3, "%s CPU per request, %s" % (name, load), "%.2fx" % c[key],
                    c[key] <= BAR26[limit], "<= %.2fx" % BAR26[limit])
    copying = [(load, e["with_copying"]) for load, e in loads.items() if e["with_copying"]]
    for key, name, limit in (("anon_tc_mb", "tcpcopy private memory (RssAnon)", "anon_tc_mb"),
                             ("anon_ic_mb", "intercept private memory (RssAnon)", "anon_ic_mb"),
                             ("hwm_tc_mb", "tcpcopy peak RSS (VmHWM)", "rss_mb"),
                             ("hwm_ic_mb", "intercept peak RSS (VmHWM)", "rss_mb")):
        measured = [(load, c[key]) for load, c in copying if c.get(key) is not None]
        if measured:
            worst = max(measured, key=lambda x: x[1])
            bar(4, "%s, worst load (%s)" % (name, worst[0]), "%.1f MB" % worst[1],
                worst[1] <= BAR26[limit], "<= %d MB" % BAR26[limit])
    fidelities = [(load, c["fidelity_pct"]) for load, c in copying if c.get("fidelity_pct") is not None]
    if fidelities:
        worst = min(fidelities, key=lambda x: x[1])
        bar(5, "fidelity, worst load (%s)" % worst[0], "%.3f%%" % worst[1], worst[1] >= 100.0, "100%")
        drops = sum((c.get("raw_drops") or 0) + (c.get("queue_dropped") or 0) for _, c in copying)
        bar(5, "capture and NFQUEUE drops, all loads", "%.0f" % drops, drops == 0, "0")
    return bars


def fmt(value, spec="%.2f", none="-"):
    return none if value is None else spec % value


def table(headers, rows):
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = [" | ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in rows:
        lines.append(" | ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def report(runs_path, out_dir, meta):
    runs = read_runs(runs_path)
    load_runs = [r for r in runs if "load" in r]
    order = []
    for run in load_runs:
        if run["load"] not in order:
            order.append(run["load"])
    loads = {}
    for load in order:
        plain = [r for r in load_runs if r["load"] == load and r.get("copy") == "0"]
        copy = [r for r in load_runs if r["load"] == load and r.get("copy") == "1"]
        loads[load] = {
            "without_copying": median_figures(plain) if plain else None,
            "with_copying": median_figures(copy) if copy else None,
        }
        w, c = loads[load]["without_copying"], loads[load]["with_copying"]
        if w and c:
            pairs = paired_ratios(plain, copy)
            loads[load]["online_rps_ratios"] = pairs
            loads[load]["online_rps_ratio"] = (
                median([p["ratio"] for p in pairs]) if pairs else ratio(c["online_rps"], w["online_rps"]))
            loads[load]["budget"] = cpu_budget(w, c)
            loads[load]["of_ceiling"] = median([p["of_ceiling"] for p in pairs])

    idle = {}
    for run in runs:
        if "idle" in run:
            duration = number(run, "duration", 1)
            idle[run["idle"]] = {
                "tcpcopy_pct": 100 * number(run, "cpu_tc_ticks") / CLOCK_TICKS / duration,
                "intercept_pct": 100 * number(run, "cpu_ic_ticks") / CLOCK_TICKS / duration,
                "tcpcopy_pct_sched": 100 * number(run, "cpu_tc_ns") / 1e9 / duration,
                "intercept_pct_sched": 100 * number(run, "cpu_ic_ns") / 1e9 / duration,
                "hwm_tc_mb": number(run, "hwm_tc_kb") / 1024,
                "hwm_ic_mb": number(run, "hwm_ic_kb") / 1024,
                "anon_tc_mb": number(run, "tc_anon_kb") / 1024 if "tc_anon_kb" in run else None,
                "anon_ic_mb": number(run, "ic_anon_kb") / 1024 if "ic_anon_kb" in run else None,
                "duration": duration,
            }

    def loop_pps(load, batched):
        """Median service packets per CPU-second of the loop's runs at `load`, one packet a
        syscall (runs from before the batched loop carry no batch field) or batched."""
        values = []
        values_sched = []
        for run in [r for r in runs if r.get("rawloop") == load and (number(r, "batch", 1) > 1) == batched]:
            cpu = number(run, "cpu_rl_ticks") / CLOCK_TICKS
            ns = number(run, "cpu_rl_ns") / 1e9
            handled = handled_packets(run, number(run, "received"))
            values.append(handled / cpu if cpu > 0 else None)
            values_sched.append(handled / ns if ns > 0 else None)
        return median(values), median(values_sched)

    rawloop = {}
    for load in sorted({r["rawloop"] for r in runs if "rawloop" in r}):
        pps, pps_sched = loop_pps(load, batched=False)
        entry = {"rawloop_pps_per_core": pps, "rawloop_pps_per_core_sched": pps_sched}
        batched, _ = loop_pps(load, batched=True)
        if batched is not None:
            entry["batched_loop_pps_per_core"] = batched
            entry["batched_ratio"] = ratio(batched, pps)
        if load in loads and loads[load]["with_copying"]:
            c = loads[load]["with_copying"]
            entry["tcpcopy_pps_per_core"] = c["tc_pps_per_core"]
            entry["tcpcopy_pps_per_core_sched"] = c["tc_pps_per_core_sched"]
            entry["ratio"] = ratio(c["tc_pps_per_core"], entry["rawloop_pps_per_core"])
            entry["ratio_sched"] = ratio(c["tc_pps_per_core_sched"], entry["rawloop_pps_per_core_sched"])
        rawloop[load] = entry

    lines = []
    title = "tcpcopy-swift benchmark, %s, %s" % (meta.get("date", "?"), meta.get("machine", "?"))
    lines.append(title)
    lines.append(
        "commit %s, kernel %s, %s s per load, %s repeat(s) (medians), nginx workers %s, "
        "listen backlog %s, veth receive %s%s, load average %s at start, %s at end"
        % (meta.get("commit"), meta.get("kernel"), meta.get("duration"), meta.get("repeat"),
           meta.get("workers"), meta.get("backlog", 511), meta.get("veth_rx", "inline"),
           " (transmit queue %s)" % meta.get("veth_queue", "none") if meta.get("veth_rx") == "threaded" else "",
           meta.get("loadavg_start"),
           meta.get("loadavg_end")))
    lines.append("tcpcopy captures with the %s and sends through the %s" % (
        "libpcap ring (-i to-client, TPACKET_V3)" if meta.get("source") == "pcap" else "raw IP socket",
        "link layer (-o to-router, AF_PACKET)" if meta.get("sink") == "link" else "raw IP socket"))
    extra = ["%s %s" % (name, meta[name + "_args"]) for name in ("tcpcopy", "intercept")
             if meta.get(name + "_args")]
    if meta.get("compare") == "1":
        extra.insert(0, "both --compare")
    if extra:
        lines.append("daemons run with extra options: " + "; ".join(extra))
    during = [number(r, "loadavg1") for r in load_runs if "loadavg1" in r]
    if during:
        meta["loadavg1_runs"] = "%.2f-%.2f" % (min(during), max(during))
        lines.append("1-minute load average at the end of each run: %.2f to %.2f (the benchmark's "
                     "own processes included)" % (min(during), max(during)))
    lines.append("")
    lines.append("Throughput, fidelity and latency (paced loads: pacer; full: wrk -t2 -c%s)"
                 % meta.get("connections"))
    rows = []
    for load, entry in loads.items():
        w, c = entry["without_copying"] or {}, entry["with_copying"] or {}
        rows.append([
            load,
            fmt(w.get("online_rps"), "%.0f"),
            fmt(c.get("online_rps"), "%.0f"),
            fmt(entry.get("online_rps_ratio"), "%.2fx"),
            fmt(c.get("target_rps"), "%.0f"),
            fmt(c.get("fidelity_pct"), "%.2f%%"),
            "%s / %s" % (fmt(w.get("p50_ms")), fmt(w.get("p99_ms"))),
            "%s / %s" % (fmt(c.get("p50_ms")), fmt(c.get("p99_ms"))),
        ])
    lines.append(table(
        ["load", "online req/s w/o", "online req/s with", "with/w/o", "target req/s",
         "fidelity", "p50/p99 ms w/o", "p50/p99 ms with"], rows))
    lines.append("")
    lines.append("CPU-s per 10k requests (utime+stime, /proc/PID/stat), peak RSS (VmHWM) and peak private "
                 "memory (RssAnon, sampled every 50 ms), copying runs")
    rows = []
    for load, entry in loads.items():
        c = entry["with_copying"] or {}
        rows.append([
            load,
            fmt(c.get("cpu_tc_per10k"), "%.3f"),
            fmt(c.get("cpu_on_per10k"), "%.3f"),
            fmt(c.get("tc_vs_nginx"), "%.2fx"),
            fmt(c.get("cpu_ic_per10k"), "%.3f"),
            fmt(c.get("cpu_tg_per10k"), "%.3f"),
            fmt(c.get("ic_vs_nginx"), "%.2fx"),
            fmt(c.get("hwm_tc_mb"), "%.1f"),
            fmt(c.get("hwm_ic_mb"), "%.1f"),
            fmt(c.get("anon_tc_mb"), "%.1f"),
            fmt(c.get("anon_ic_mb"), "%.1f"),
        ])
    lines.append(table(
        ["load", "tcpcopy", "online nginx", "tcpcopy/nginx", "intercept", "target nginx",
         "intercept/nginx", "tcpcopy MB", "intercept MB", "tcpcopy private MB",
         "intercept private MB"], rows))
    lines.append("")

    lines.append("Where copies go (copying runs): tcpcopy's counters, and the kernel's drops")
    rows = []
    for load, entry in loads.items():
        c = entry["with_copying"] or {}
        rows.append([
            load,
            fmt(c.get("tc_captured"), "%.0f"),
            fmt(c.get("raw_drops"), "%.0f"),
            fmt(c.get("link_drops"), "%.0f"),
            "%s / %s / %s" % (fmt(c.get("tc_sessions_started"), "%.0f"),
                              fmt(c.get("tc_sessions_completed"), "%.0f"),
                              fmt(c.get("tc_sessions_aborted"), "%.0f")),
            fmt(c.get("ic_queued"), "%.0f"),
            fmt(c.get("queue_dropped"), "%.0f"),
            fmt(c.get("target_listen_drops"), "%.0f"),
            fmt(c.get("tc_retransmissions"), "%.0f"),
            fmt(c.get("tc_pps_per_core"), "%.0f"),
            fmt((rawloop.get(load) or {}).get("ratio"), "%.2fx"),
            "%s / %s" % (fmt(c.get("tc_core_pct"), "%.0f%%"), fmt(c.get("ic_core_pct"), "%.0f%%")),
        ])
    lines.append(table(
        ["load", "captured", "capture drops", "link drops", "sessions started/completed/aborted",
         "NFQUEUE queued", "NFQUEUE drops", "target listen drops", "retransmissions",
         "tcpcopy service packets/CPU-s", "of the raw loop's",
         "tcpcopy/intercept % of a core"],
        rows))
    lines.append("")

    budgets = [(load, e["budget"]) for load, e in loads.items()
               if load.endswith("-full") and e.get("budget")]
    if budgets:
        lines.append("CPU budget at full load: the whole machine (/proc/stat) over the load's wall time, "
                     "CPU-s per 10k online requests")
        rows = []
        for load, b in budgets:
            rows.append([
                load,
                "%s / %s" % (fmt(b["busy_pct_without"], "%.0f%%"), fmt(b["busy_pct_with"], "%.0f%%")),
                fmt(b["steal_pct"], "%.1f%%"),
                fmt(b["per10k_without"], "%.3f"),
                fmt(b["per10k_with"], "%.3f"),
                fmt(b["copy_path_per10k"], "%.3f"),
                fmt(b["allowed_per10k"], "%.3f"),
                fmt(b["target_nginx_per10k"], "%.3f"),
                fmt(b["daemons_per10k"], "%.3f"),
                fmt(b["ratio_free_daemons"], "%.2fx"),
                fmt(loads[load].get("of_ceiling"), "%.2f"),
            ])
        lines.append(table(
            ["load", "machine busy w/o / with", "steal", "machine w/o", "machine with",
             "copy path (with - w/o)", "copy path allowed at 0.75x", "of it: target nginx",
             "of it: tcpcopy + intercept", "with/w/o had the daemons used no CPU",
             "with/w/o / that ceiling (each repeat's, median)"], rows))
        lines.append("")

    for phase, entry in idle.items():
        lines.append(
            "Idle CPU (%s, %.0f s): tcpcopy %.3f%%, intercept %.3f%% of a core (schedstat; "
            "/proc/PID/stat: %.2f%%, %.2f%%)"
            % (phase.replace("_", " "), entry["duration"], entry["tcpcopy_pct_sched"],
               entry["intercept_pct_sched"], entry["tcpcopy_pct"], entry["intercept_pct"]))
        if entry["anon_tc_mb"] is not None:
            lines.append(
                "  memory: peak RSS tcpcopy %.1f MB, intercept %.1f MB; private (RssAnon) %.1f MB, %.1f MB"
                % (entry["hwm_tc_mb"], entry["hwm_ic_mb"], entry["anon_tc_mb"], entry["anon_ic_mb"]))
    for load, entry in rawloop.items():
        lines.append(
            "Raw loop at %s: %s service packets/s per core; tcpcopy %s service packets/s per core: %s "
            "(schedstat: %s)"
            % (load, fmt(entry.get("rawloop_pps_per_core"), "%.0f"),
               fmt(entry.get("tcpcopy_pps_per_core"), "%.0f"), fmt(entry.get("ratio"), "%.2fx"),
               fmt(entry.get("ratio_sched"), "%.2fx")))
        if entry.get("batched_loop_pps_per_core") is not None:
            lines.append(
                "  the loop batched (64 packets a recvmmsg/sendmmsg, no sessions): %s service packets/s "
                "per core, %s the raw loop's; tcpcopy %s of it"
                % (fmt(entry["batched_loop_pps_per_core"], "%.0f"), fmt(entry.get("batched_ratio"), "%.2fx"),
                   fmt(ratio(entry.get("tcpcopy_pps_per_core"), entry["batched_loop_pps_per_core"]), "%.2fx")))
    lines.append("")

    # The bar of issue 6, each with the original's figure.
    checks = []

    def check(what, value, ok, bar, original):
        checks.append({"what": what, "value": value, "pass": ok, "bar": bar, "original": original})

    fidelities = [(load, e["with_copying"]["fidelity_pct"]) for load, e in loads.items()
                  if e["with_copying"] and e["with_copying"]["fidelity_pct"] is not None]
    if fidelities:
        worst = min(fidelities, key=lambda x: x[1])
        check("fidelity, worst load (%s)" % worst[0], "%.3f%%" % worst[1],
              worst[1] >= BAR["fidelity_pct"], ">= 99.99%", "100%")
    s3k = (loads.get("short-3000") or {}).get("with_copying")
    if s3k:
        if s3k.get("tc_vs_nginx") is not None:
            check("tcpcopy CPU / online nginx CPU at 3,000 short req/s",
                  "%.2fx" % s3k["tc_vs_nginx"], s3k["tc_vs_nginx"] <= BAR["tcpcopy_vs_nginx"],
                  "<= 0.8x", "1.6x")
        if s3k.get("ic_vs_nginx") is not None:
            check("intercept CPU / target nginx CPU at 3,000 short req/s",
                  "%.2fx" % s3k["ic_vs_nginx"], s3k["ic_vs_nginx"] <= BAR["intercept_vs_nginx"],
                  "<= 0.7x", "1.4x")
        check("peak RSS at 3,000 short req/s (tcpcopy, intercept)",
              "%.1f MB, %.1f MB" % (s3k["hwm_tc_mb"], s3k["hwm_ic_mb"]),
              max(s3k["hwm_tc_mb"], s3k["hwm_ic_mb"]) <= BAR["rss_mb"], "<= 16 MB",
              "9-19 MB, 6-22 MB")
    for load, original in (("short-full", "0.60x"), ("keepalive-full", "0.57x")):
        value = (loads.get(load) or {}).get("online_rps_ratio")
        if value is not None:
            check("online throughput with/without copying, %s" % load, "%.2fx" % value,
                  value >= BAR["full_ratio"], ">= 0.75x", original)
    fresh = idle.get("fresh")
    if fresh:
        worst = max(fresh["tcpcopy_pct_sched"], fresh["intercept_pct_sched"])
        check("idle CPU (tcpcopy, intercept)",
              "%.3f%%, %.3f%%" % (fresh["tcpcopy_pct_sched"], fresh["intercept_pct_sched"]),
              worst <= BAR["idle_pct"], "<= 0.1%", "0.4%, 3-5%")
    for load, entry in rawloop.items():
        if entry.get("ratio") is not None:
            check("tcpcopy packets per core / raw loop's, %s" % load, "%.2fx" % entry["ratio"],
                  entry["ratio"] >= BAR["rawloop_ratio"], ">= 1.0x", "0.55x")
    if checks:
        lines.append("The bar of issue 6 (measured in this run; the original's figure for comparison)")
        lines.append(table(["check", "measured", "bar", "original", ""],
                           [[c["what"], c["value"], c["bar"], c["original"],
                             "PASS" if c["pass"] else "FAIL"] for c in checks]))
    bars = issue26_bars(loads, rawloop)
    if bars:
        lines.append("")
        lines.append("The bars of issue 26 (measured in this run)")
        lines.append(table(["bar", "check", "measured", "bar", ""],
                           [[c["bar_number"], c["what"], c["value"], c["bar"],
                             "PASS" if c["pass"] else "FAIL"] for c in bars]))
    for load in ("short-full", "keepalive-full"):
        pairs = (loads.get(load) or {}).get("online_rps_ratios") or []
        if len(pairs) > 1:
            lines.append("%s with/w/o, repeat by repeat (the median above): %s" % (load, describe_pairs(pairs)))
        if any((p["steal_pct"] or 0) >= 5 for p in pairs):
            lines.append("warning: %s: the VM's host took 5%% or more of the machine in a repeat "
                         "(steal); its ratio says more about the host than about copying" % load)
    # Paced loads the generator did not deliver make their row meaningless: say so.
    for load, entry in loads.items():
        rate = load.split("-")[1]
        for label in ("without_copying", "with_copying"):
            e = entry[label]
            if rate != "full" and e and e["client_ok_rps"] < 0.97 * float(rate):
                lines.append("warning: %s %s: the client got %.0f ok responses/s of %s asked"
                             % (load, label.replace("_", " "), e["client_ok_rps"], rate))
            if e and e.get("client_errors"):
                lines.append("note: %s %s: %d client errors" % (load, label.replace("_", " "),
                                                                 e["client_errors"]))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_dir:
        open("%s/table.txt" % out_dir, "w").write(text)
        json.dump({"meta": meta, "loads": loads, "idle": idle, "rawloop": rawloop,
                   "checks": checks, "issue26": bars, "original": ORIGINAL}, open("%s/results.json" % out_dir, "w"),
                  indent=2, sort_keys=False)


def main(argv):
    if len(argv) >= 2 and argv[0] in ("parse-wrk", "parse-pacer"):
        fields = parse_wrk(argv[1]) if argv[0] == "parse-wrk" else parse_pacer(argv[1])
        print(" ".join("%s=%s" % (k, v) for k, v in fields.items()))
        return 0
    if len(argv) >= 2 and argv[0] == "report":
        out_dir, meta, i = None, {}, 2
        while i < len(argv):
            if argv[i] == "--out":
                out_dir = argv[i + 1]
                i += 2
            elif argv[i] == "--meta":
                key, value = argv[i + 1].split("=", 1)
                meta[key] = value
                i += 2
            else:
                raise SystemExit("report.py: unknown argument %s" % argv[i])
        report(argv[1], out_dir, meta)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
