#!/usr/bin/env python3
"""Samples what the host does under a benchmark, five times a second, one line per sample (UTC time first).

CPU busy/system/iowait/steal per cent of the interval, the page cache's dirty and under-write-back megabytes, the
megabytes written out (pgpgout) and the pages scanned for reclaim by the kernel thread (kswapd) and in direct
reclaim. With a process id, also the CPU time of each of that process's threads (by thread name, digits dropped,
the five busiest per sample, the kernel's kswapd among them). bursts-vs-host.py lines these up with the bursts of slow updates that `gradstream bench
pipeline` prints; docs/benchmarks.md ("Page-cache write-back") shows what they found. Linux only; reads /proc, needs
no privilege.

    python3 tools/scripts/host-sampler.py host.txt [PID] &   # then run the benchmark, then: kill %1
"""
import collections
import os
import re
import datetime
import sys
import time

INTERVAL = 0.2
MEMINFO = ("Dirty", "Writeback", "MemFree")
VMSTAT = ("pgpgout", "pgscan_kswapd", "pgscan_direct")


def cpu_ticks():
    # user nice system idle iowait irq softirq steal
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def fields(path, names, split):
    values = {}
    with open(path) as f:
        for line in f:
            key, value = split(line)
            if key in names:
                values[key] = int(value.split()[0])
    return values


def kernel_reclaimers():
    """The kernel's page reclaim threads (kswapd), whose CPU time is reclaim's cost."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith("kswapd"):
                    found.append(f"/proc/{pid}/stat")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def thread_ticks(pid, extra):
    """CPU ticks (user + system) per thread name of process pid and of the extra stat files, digits dropped so that
    pools add up."""
    ticks = collections.Counter()
    if pid is None:
        return ticks
    base = f"/proc/{pid}/task"
    try:
        stats = [f"{base}/{tid}/stat" for tid in os.listdir(base)] + extra
    except FileNotFoundError:
        return ticks
    for path in stats:
        try:
            with open(path) as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between the listing and the read
        name = re.sub(r"\d+", "#", stat[stat.index("(") + 1 : stat.rindex(")")])
        rest = stat[stat.rindex(")") + 2 :].split()
        ticks[name] += int(rest[11]) + int(rest[12])  # utime, stime: fields 14 and 15 of stat
    return ticks


def main(out_path, pid=None):
    with open(out_path, "w") as out:
        prev_cpu, prev_vm = cpu_ticks(), fields("/proc/vmstat", VMSTAT, str.split)
        reclaimers = kernel_reclaimers()
        prev_threads = thread_ticks(pid, reclaimers)
        while True:
            time.sleep(INTERVAL - time.time() % INTERVAL)
            now = time.time()
            cpu, vm, threads = cpu_ticks(), fields("/proc/vmstat", VMSTAT, str.split), thread_ticks(pid, reclaimers)
            mem = fields("/proc/meminfo", MEMINFO, lambda line: line.split(":"))
            d = [a - b for a, b in zip(cpu, prev_cpu)]
            total = sum(d) or 1
            pct = lambda ticks: round(100 * ticks / total)
            stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            out.write(
                f"{stamp} busy={pct(total - d[3] - d[4])} sys={pct(d[2] + d[5] + d[6])} iow={pct(d[4])} "
                f"st={pct(d[7])} dirtyMB={mem['Dirty'] // 1024} wbMB={mem['Writeback'] // 1024} "
                f"freeMB={mem['MemFree'] // 1024} outMB={(vm['pgpgout'] - prev_vm['pgpgout']) // 1024} "
                f"scand={vm['pgscan_direct'] - prev_vm['pgscan_direct']} "
                f"scank={vm['pgscan_kswapd'] - prev_vm['pgscan_kswapd']}")
            busiest = (threads - prev_threads).most_common(5)
            out.write("".join(f" t:{name.replace(' ', '_')}={n}" for name, n in busiest) + "\n")
            out.flush()
            prev_cpu, prev_vm, prev_threads = cpu, vm, threads


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: host-sampler.py OUTPUT [PID]")
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else None)
