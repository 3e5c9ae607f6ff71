#!/usr/bin/env python3
"""Turns the runs that benches/load.sh recorded into one table (markdown, so it pastes into
the README as it is).

    load_report.py RUNS.tsv CLK_TCK META      the final table
    load_report.py --progress RUNS.tsv CLK_TCK one line about the last run (to stderr)

Per run: the generator's own figures (wrk's text, oha's JSON), the server's CPU time
(utime+stime from /proc/PID/stat, nginx's master and worker summed) over the run divided by
the requests completed, the server's peak RSS (VmHWM after a clear_refs reset), and the
generator's CPU time (its parent shell's cutime+cstime). Across rounds: medians, except
errors, which are summed.
"""

import json
import re
import statistics
import sys

UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
# Thresholds for "this core was the bottleneck".
BUSY = 90.0
# The server's and the generator's cores (from the meta file's cores=S:G; None when unpinned).
SRV_CORE = None
GEN_CORE = None


def read_runs(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def parse_size(text):
    m = re.match(r"([\d.]+)\s*([KMGT]?B)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else 0.0


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * TIME_UNITS[m.group(2)] if m else float("nan")


def parse_wrk(text):
    r = {"errors": 0, "non2xx": 0, "deadline": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+[KMGT]?B) read", text)
    if not m:
        raise ValueError("no summary in wrk's output")
    r["completed"] = int(m.group(1))
    r["seconds"] = parse_ms(m.group(2) + m.group(3)) / 1000.0
    r["bytes"] = parse_size(m.group(4))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        r[key] = parse_ms(m.group(1)) if m else float("nan")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["errors"] = sum(int(g) for g in m.groups())
        r["error_detail"] = "connect %s read %s write %s timeout %s" % m.groups()
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def parse_oha(text):
    data = json.loads(text)
    summary = data["summary"]
    codes = {str(k): int(v) for k, v in (data.get("statusCodeDistribution") or {}).items()}
    errors = {str(k): int(v) for k, v in (data.get("errorDistribution") or {}).items()}
    # Requests cut off by the end of the run are not the server's errors.
    deadline = sum(v for k, v in errors.items() if "deadline" in k.lower())
    pct = data.get("latencyPercentiles") or {}
    seconds = float(summary.get("total") or 0.0)
    return {
        "completed": sum(codes.values()),
        "seconds": seconds,
        "bytes": float(summary.get("sizePerSec") or 0.0) * seconds,
        "p50": float(pct.get("p50") or float("nan")) * 1000.0,
        "p99": float(pct.get("p99") or float("nan")) * 1000.0,
        "errors": sum(errors.values()) - deadline,
        "deadline": deadline,
        "non2xx": sum(v for k, v in codes.items() if not k.startswith("2")),
        "error_detail": "; ".join("%s x%d" % (k, v) for k, v in errors.items() if "deadline" not in k.lower()),
    }


def core_deltas(before, after):
    """{core: (busy ticks incl. nice, nice+steal ticks, total ticks)} between two /proc/stat snapshots."""
    def parse(text):
        cores = {}
        for line in text.split(";"):
            f = line.split()
            if f and f[0].startswith("cpu") and f[0] != "cpu":
                cores[int(f[0][3:])] = [int(x) for x in f[1:9]]
        return cores

    a, b = parse(before), parse(after)
    out = {}
    for core in a.keys() & b.keys():
        d = [y - x for x, y in zip(a[core], b[core])]
        user, nice, system, idle, iowait, irq, softirq, steal = d
        out[core] = (user + nice + system + irq + softirq, nice + steal, sum(d))
    return out


def stat_ticks(line):
    """utime+stime+cutime+cstime of a /proc/PID/stat line."""
    rest = line.rsplit(")", 1)[-1].split()
    return sum(int(x) for x in rest[11:15])


def measure(run, clk_tck):
    try:
        with open(run["out"]) as f:
            text = f.read()
        r = parse_wrk(text) if run["gen"] == "wrk" else parse_oha(text)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        return {"failed": str(e)}
    wall = float(run["wall"]) or 1.0
    srv_s = int(run["srv_ticks"]) / clk_tck
    gen_s = stat_ticks(run["gen_stat"]) / clk_tck
    # How busy the server's and the generator's cores were, and how much of that was other
    # processes (the machine may be shared): busy - our process's own CPU time.
    cores = core_deltas(run.get("cores_before", ""), run.get("cores_after", ""))
    core_pct, others_pct = {}, []
    ksirq = {"srv": int(run.get("ksoftirqd_srv") or 0) / clk_tck, "gen": int(run.get("ksoftirqd_gen") or 0) / clk_tck}
    for role, core, own in (("srv", SRV_CORE, srv_s + ksirq["srv"]), ("gen", GEN_CORE, gen_s + ksirq["gen"])):
        if core is None or core not in cores:
            continue
        busy, _, total = cores[core]
        if total:
            core_pct[role] = 100.0 * busy / total
            others_pct.append(max(0.0, 100.0 * (busy / total) - 100.0 * own / wall))
    seconds = r["seconds"] or wall
    done = r["completed"]
    r.update(
        rps=done / seconds,
        mibps=r["bytes"] / seconds / 1024**2,
        cpu_us=srv_s / done * 1e6 if done else float("nan"),
        segs=int(run["segs"]) / done if done and run.get("segs") else float("nan"),
        user_us=int(run.get("srv_user_ticks") or 0) / clk_tck / done * 1e6 if done and "srv_user_ticks" in run else float("nan"),
        srv_pct=100.0 * srv_s / wall,
        gen_pct=100.0 * gen_s / wall,
        rss_mib=int(run["rss_kib"]) / 1024.0,
        tw=int(run["tw_before"] or 0),
        srv_core_pct=core_pct.get("srv", float("nan")),
        gen_core_pct=core_pct.get("gen", float("nan")),
        others_pct=max(others_pct) if others_pct else float("nan"),
        ksirq_pct=100.0 * ksirq["srv"] / wall,
    )
    return r


def median(values):
    values = [v for v in values if v == v]  # drop NaN
    return statistics.median(values) if values else float("nan")


def fmt(value, digits=0):
    if value != value:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(value)
    return "{:.{}f}".format(value, digits)


def ratio(a, b):
    if a != a or b != b or b == 0:
        return "-"
    return "{:.2f}".format(a / b)


def bound(srv, gen, others=float("nan")):
    if srv >= BUSY and gen >= BUSY:
        return "both"
    if gen >= BUSY:
        return "generator"
    if srv >= BUSY:
        return "server"
    if others >= 10:
        # Both cores were full, partly with other processes: the one of ours that got more of its
        # core is the likelier bottleneck (the other one waited, and its idle time went to others).
        if gen > 1.5 * srv:
            return "generator?"
        if srv > 1.5 * gen:
            return "server?"
        return "other load"
    return "neither"


def progress(runs_path, clk_tck):
    runs = read_runs(runs_path)
    run = runs[-1]
    m = measure(run, clk_tck)
    if "failed" in m:
        print("  round %s %-6s %s %-16s FAILED: %s" % (run["round"], run["scenario"], run["gen"], run["server"], m["failed"]))
        return
    print(
        "  round %s %-6s %s %-16s %8s req/s %8s MiB/s p50 %7s p99 %7s ms %6s us/conn srv %3.0f%% gen %3.0f%% ksirq0 %3.0f%% others %3.0f%%"
        " err %d non2xx %d rss %.1f MiB (tw %d)"
        % (
            run["round"], run["scenario"], run["gen"], run["server"], fmt(m["rps"]), fmt(m["mibps"], 1),
            fmt(m["p50"], 3), fmt(m["p99"], 2), fmt(m["cpu_us"], 1), m["srv_pct"], m["gen_pct"], m["ksirq_pct"], m["others_pct"], m["errors"], m["non2xx"],
            m["rss_mib"], m["tw"],
        )
    )


def set_cores(text):
    global SRV_CORE, GEN_CORE
    srv, _, gen = text.partition(":")
    SRV_CORE = int(srv) if srv.isdigit() else None
    GEN_CORE = int(gen) if gen.isdigit() else None


def report(runs_path, clk_tck, meta_path):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    set_cores(meta.get("cores", ""))
    runs = read_runs(runs_path)
    groups = {}
    failed = []
    for run in runs:
        m = measure(run, clk_tck)
        if "failed" in m:
            failed.append((run, m["failed"]))
            continue
        groups.setdefault((run["scenario"], run["gen"], run["server"]), []).append(m)
    servers = []
    for run in runs:
        if run["server"] not in servers:
            servers.append(run["server"])
    # rawserve's rows first, then the peers: nginx (the baseline of every ×), h2o, the floor.
    peer_order = {"nginx": 1, "h2o": 2, "floor": 3}
    servers.sort(key=lambda s: (peer_order.get(s, 0), s != "rawserve", s))
    scenarios, gens = [], []
    for run in runs:
        if run["scenario"] not in scenarios:
            scenarios.append(run["scenario"])
        if run["gen"] not in gens:
            gens.append(run["gen"])

    agg = {}
    for key, ms in groups.items():
        rps = [m["rps"] for m in ms]
        agg[key] = {
            "n": len(ms),
            "rps": median(rps),
            "spread": (max(rps) - min(rps)) / median(rps) * 100 if len(rps) > 1 and median(rps) else float("nan"),
            "mibps": median([m["mibps"] for m in ms]),
            "p50": median([m["p50"] for m in ms]),
            "p99": median([m["p99"] for m in ms]),
            "errors": sum(m["errors"] for m in ms),
            "non2xx": sum(m["non2xx"] for m in ms),
            "cpu_us": median([m["cpu_us"] for m in ms]),
            "user_us": median([m["user_us"] for m in ms]),
            "segs": median([m["segs"] for m in ms]),
            "srv_pct": median([m["srv_pct"] for m in ms]),
            "gen_pct": median([m["gen_pct"] for m in ms]),
            "srv_core_pct": median([m["srv_core_pct"] for m in ms]),
            "gen_core_pct": median([m["gen_core_pct"] for m in ms]),
            "others_pct": median([m["others_pct"] for m in ms]),
            "ksirq_pct": median([m["ksirq_pct"] for m in ms]),
            "rss_mib": max(m["rss_mib"] for m in ms),
            "detail": "; ".join(sorted({m.get("error_detail", "") for m in ms if m["errors"]})),
        }

    print()
    print("## rawserve vs nginx, h2o and a C floor")
    print()
    for key in ("machine", "versions", "pinning", "settings", "kernel", "load"):
        if key in meta:
            print("- %s: %s" % (key, meta[key]))
    print()
    header = [
        "scenario", "gen", "server", "req/s", "±%", "MiB/s", "p50 ms", "p99 ms", "sock err", "non-2xx",
        "CPU µs/conn", "user µs", "segs/conn", "srv %", "gen %", "core0 %", "core1 %", "ksoftirqd0 %", "others %", "peak RSS MiB", "× req/s", "× MiB/s", "× p50", "× p99",
        "× CPU/conn", "× RSS", "× h2o req/s", "× h2o p50", "× floor p50", "bound by",
    ]
    rows = []
    for scenario in scenarios:
        for gen in gens:
            base = agg.get((scenario, gen, "nginx"))
            h2o = agg.get((scenario, gen, "h2o"))
            floor = agg.get((scenario, gen, "floor"))
            for server in servers:
                a = agg.get((scenario, gen, server))
                if a is None:
                    continue
                label = meta.get("label." + server, server)
                is_base = server == "nginx"

                def r(x, y, is_base=is_base):
                    return "1" if is_base else ratio(x, y) if y is not None else "-"

                def against(peer, field, a=a, server=server):
                    # A server against a peer other than nginx: "1" on the peer's own row.
                    if peer is None:
                        return "-"
                    return "1" if peer is a else ratio(a[field], peer[field])

                rows.append([
                    scenario, gen, label, fmt(a["rps"]), fmt(a["spread"]), fmt(a["mibps"], 1), fmt(a["p50"], 3),
                    fmt(a["p99"], 2), str(a["errors"]), str(a["non2xx"]), fmt(a["cpu_us"], 1), fmt(a["user_us"], 1), fmt(a["segs"], 1), fmt(a["srv_pct"]),
                    fmt(a["gen_pct"]), fmt(a["srv_core_pct"]), fmt(a["gen_core_pct"]),
                    fmt(a["ksirq_pct"]), fmt(a["others_pct"]),
                    fmt(a["rss_mib"], 1),
                    r(a["rps"], base and base["rps"]), r(a["mibps"], base and base["mibps"]),
                    r(a["p50"], base and base["p50"]), r(a["p99"], base and base["p99"]),
                    r(a["cpu_us"], base and base["cpu_us"]), r(a["rss_mib"], base and base["rss_mib"]),
                    against(h2o, "rps"), against(h2o, "p50"), against(floor, "p50"),
                    bound(a["srv_pct"], a["gen_pct"], a["others_pct"]),
                ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    numeric = set(range(3, len(header) - 1))

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]))
        return "| " + " | ".join(out) + " |"

    print(line(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(line(row))
    print()
    print(
        "Medians over %s rounds (± = req/s spread, (max-min)/median); sock err and non-2xx are totals over the rounds;"
        " peak RSS is the largest of the rounds%s." % (
            max((a["n"] for a in agg.values()), default=0),
            "" if meta.get("rss_reset") == "yes" else " (VmHWM could not be reset: peak since start)",
        )
    )
    print(
        "× = this server / nginx in the same scenario and generator: above 1 is better for req/s and MiB/s, below 1 is"
        " better for latency, CPU µs/conn and RSS; × h2o req/s, × h2o p50 and × floor p50 are the same against h2o and"
        " against the C floor (benches/floor.c: accept, read, one write of a fixed 1 KiB answer, close; only the"
        " /1k.html scenarios). The -ka scenarios send no Connection header: nginx and h2o keep the connection open,"
        " rawserve and the floor close after every response, so their clients pay a TCP handshake per request. CPU µs/conn = server utime+stime over the run / requests completed"
        " (nginx: master + worker); user µs = the part of it in user space (the server's own code; the rest is"
        " the kernel: TCP, and on loopback also the client's receive path, run in the sender's context); segs/conn ="
        " TCP segments sent on the whole machine (/proc/net/snmp OutSegs) per request, both directions on loopback."
        " srv % / gen % = that process's CPU time / wall time, of one core;"
        " core0 % / core1 % = how busy the server's / generator's core was in all (/proc/stat, kernel softirq"
        " work included); ksoftirqd0 % = the server core's softirq thread (loopback TCP work charged to no"
        " server process); others % = the larger of the two cores' busy time spent neither in our processes nor in"
        " ksoftirqd: other processes on a shared machine."
    )
    print(
        "bound by: a core at >= %d%% busy. 'generator' means the load generator's core was saturated and the server's"
        " was not: that req/s is the generator's limit, compare CPU µs/conn instead. 'both' means neither figure"
        " is the server's alone. A '?' means both cores were also busy with other processes (others %% >= 10):"
        " the one of ours that used more of its core is the likelier bottleneck." % BUSY
    )

    gen_bound = [(k, a) for k, a in agg.items() if bound(a["srv_pct"], a["gen_pct"], a["others_pct"]) == "generator"]
    gen_likely = [k for k, a in agg.items() if bound(a["srv_pct"], a["gen_pct"], a["others_pct"]) == "generator?"]
    contended = [(k, a) for k, a in agg.items() if a["others_pct"] >= 10]
    if contended:
        print()
        print(
            "**Other load:** in %d of %d rows another process (or uncharged kernel work) used >= 10%% of the server's"
            " or the generator's core; those figures are noisy. Worst: %s (%.0f%%)." % (
                len(contended), len(agg),
                " / ".join(max(contended, key=lambda ka: ka[1]["others_pct"])[0]),
                max(a["others_pct"] for _, a in contended),
            )
        )
    if gen_bound:
        print()
        print("**The generator, not the server, was the bottleneck in:**")
        for (scenario, gen, server), a in sorted(gen_bound):
            print(
                "- %s / %s / %s: generator core %.0f%%, server core %.0f%%"
                % (scenario, gen, meta.get("label." + server, server), a["gen_pct"], a["srv_pct"])
            )
    if gen_likely:
        print()
        print(
            "Likely generator-bound (both cores also busy with other work; the generator used > 1.5x the server's"
            " share): " + ", ".join(" / ".join(k[:2]) + " / " + meta.get("label." + k[2], k[2]) for k in sorted(gen_likely))
        )
    errs = [(k, a) for k, a in agg.items() if a["errors"] and a["detail"]]
    if errs:
        print()
        print("Socket errors:")
        for (scenario, gen, server), a in sorted(errs):
            print("- %s / %s / %s: %s" % (scenario, gen, meta.get("label." + server, server), a["detail"]))

    longs = {k[2]: a for k, a in agg.items() if k[0] == "c1000-long"}
    if longs:
        print()
        print("Peak RSS at 1000 connections, short run vs long run (wrk):")
        print()
        print("| server | 10 s run: peak RSS MiB | long run: peak RSS MiB | long / short | long-run errors | long-run non-2xx |")
        print("|---|---:|---:|---:|---:|---:|")
        for server in servers:
            short = agg.get(("c1000", "wrk", server))
            long = longs.get(server)
            if long is None:
                continue
            s = short["rss_mib"] if short else float("nan")
            print(
                "| %s | %s | %s | %s | %d | %d |"
                % (meta.get("label." + server, server), fmt(s, 1), fmt(long["rss_mib"], 1), ratio(long["rss_mib"], s),
                   long["errors"], long["non2xx"])
            )
    if failed:
        print()
        print("Runs whose output could not be read:")
        for run, why in failed:
            print("- round %s %s %s %s: %s" % (run["round"], run["scenario"], run["gen"], run["server"], why))


def main(argv):
    if len(argv) >= 4 and argv[1] == "--progress":
        set_cores(argv[4] if len(argv) > 4 else "")
        progress(argv[2], int(argv[3]))
    elif len(argv) == 4:
        report(argv[1], int(argv[2]), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
