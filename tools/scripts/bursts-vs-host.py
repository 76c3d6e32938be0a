#!/usr/bin/env python3
"""Lines up the bursts of slow updates of `gradstream bench pipeline` with host-sampler.py's samples.

For each burst ("arriving in bursts at (UTC) HH:MM:SS.mmm (N, max M ms" in the benchmark's output) it looks at the
samples from M + 400 ms before the burst's first slow update to 200 ms after it (the stall began at most M ms before
that update arrived) and prints the busiest CPU sample, the pages reclaimed, the megabytes written out, the highest
iowait and steal, the least free memory and, where sampled, the three threads with the most CPU ticks. Then, for each of three conditions (at least WRITEBACK_MB written out, a
sample with the CPUs at least BUSY_PCT busy, any page scanned for reclaim), it counts the bursts whose window meets it,
against the share of all sampled instants between the first and the last burst whose window of the median burst's
width meets it: the chance that a burst falls on it if the two were unrelated.

    python3 tools/scripts/bursts-vs-host.py bench.log host.txt
"""
import datetime
import re
import statistics
import sys

WRITEBACK_MB = 150
BUSY_PCT = 90
CONDITIONS = {
    f"written out >= {WRITEBACK_MB} MB": lambda w: sum(d["outMB"] for d in w) >= WRITEBACK_MB,
    f"CPUs >= {BUSY_PCT} % busy": lambda w: max(d["busy"] for d in w) >= BUSY_PCT,
    "pages reclaimed": lambda w: sum(d["scand"] + d["scank"] for d in w) > 0,
}
BURST = re.compile(r"(\d\d:\d\d:\d\d\.\d+) \((\d+), max (\d+) ms")


def parse_time(text):
    return datetime.datetime.strptime(text, "%H:%M:%S.%f")


def samples(path):
    """(time, {metric: value}) per line; a thread's ticks are under "t:NAME" (host-sampler.py with a PID)."""
    rows = []
    for line in open(path):
        stamp, *pairs = line.split()
        rows.append((parse_time(stamp), {k: int(v) for k, v in (p.rsplit("=", 1) for p in pairs)}))
    return rows


def busiest_threads(w, n=3):
    ticks = {}
    for d in w:
        for k, v in d.items():
            if k.startswith("t:"):
                ticks[k[2:]] = ticks.get(k[2:], 0) + v
    return " ".join(f"{k}={v}" for k, v in sorted(ticks.items(), key=lambda kv: -kv[1])[:n])


def bursts(path):
    found = []
    for line in open(path):
        if "arriving in bursts at" in line:
            found += [(parse_time(m[1]), int(m[2]), int(m[3])) for m in BURST.finditer(line)]
    return found


def window(rows, start, end):
    return [d for t, d in rows if start <= t <= end]


def before_after(t, before_ms, after_ms=200):
    return t - datetime.timedelta(milliseconds=before_ms), t + datetime.timedelta(milliseconds=after_ms)


def main(bench_log, host_log):
    rows, found = samples(host_log), bursts(bench_log)
    if not found:
        print("no bursts of slow updates in " + bench_log)
        return
    print("burst (UTC)      updates  max ms | busy %  reclaim direct  kswapd  written MB  iowait %  steal %  free MB")
    hits = dict.fromkeys(CONDITIONS, 0)
    for t, n, worst in found:
        w = window(rows, *before_after(t, worst + 400))
        if not w:
            continue
        written = sum(d["outMB"] for d in w)
        for name, holds in CONDITIONS.items():
            hits[name] += holds(w)
        print(f"{t:%H:%M:%S.%f}"[:-3] + f" {n:9d} {worst:7d} | {max(d['busy'] for d in w):6d} "
              f"{sum(d['scand'] for d in w):15d} {sum(d['scank'] for d in w):7d} {written:11d} "
              f"{max(d['iow'] for d in w):9d} {max(d['st'] for d in w):8d} {min(d['freeMB'] for d in w):8d}  "
              + busiest_threads(w))
    width = statistics.median(worst for _, _, worst in found) + 400
    span = [t for t, _ in rows if found[0][0] - datetime.timedelta(seconds=5) <= t <= found[-1][0]]
    windows = [w for w in (window(rows, *before_after(t, width)) for t in span) if w]
    for name, holds in CONDITIONS.items():
        base = sum(holds(w) for w in windows)
        print(f"{name}: {hits[name]} of {len(found)} bursts; {base} of {len(windows)} sampled instants "
              f"({base / max(len(windows), 1):.2f}) in a window of {width:.0f} + 200 ms")

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bursts-vs-host.py BENCH_OUTPUT HOST_SAMPLES")
    main(sys.argv[1], sys.argv[2])
