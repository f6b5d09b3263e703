"""Record the peak memory of a cgroup (v1 memory controller) while a converge runs.

usage: sample_memory.py CGROUP_DIR OUT_JSON MAX_SECONDS

Every 0.5 s reads memory.usage_in_bytes and memory.stat (hierarchical totals, so the inner
Docker's containers count) and keeps the maxima in OUT_JSON. Stops after MAX_SECONDS, when the
cgroup goes away, or on SIGTERM. Maxima already in OUT_JSON (an earlier converge of the same
VM, e.g. Molecule's idempotence run) are kept.
"""

import json
import os
import signal
import sys
import time


def read_stat(cgroup):
    with open(os.path.join(cgroup, "memory.stat"), encoding="ascii") as handle:
        return {key: int(value) for key, value in (line.split() for line in handle)}


def read_int(cgroup, name):
    with open(os.path.join(cgroup, name), encoding="ascii") as handle:
        return int(handle.read().strip())


def main():
    cgroup, out, max_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    peak = {"samples": 0, "peak_rss_bytes": 0, "peak_rss_plus_cache_bytes": 0, "peak_usage_bytes": 0}
    try:
        with open(out, encoding="ascii") as handle:
            peak.update(json.load(handle))
    except (OSError, ValueError):
        pass
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        try:
            stat = read_stat(cgroup)
            usage = read_int(cgroup, "memory.usage_in_bytes")
        except OSError:
            break
        rss = stat.get("total_rss", 0) + stat.get("total_shmem", 0)
        peak["samples"] += 1
        peak["peak_rss_bytes"] = max(peak["peak_rss_bytes"], rss)
        peak["peak_rss_plus_cache_bytes"] = max(peak["peak_rss_plus_cache_bytes"], rss + stat.get("total_cache", 0))
        peak["peak_usage_bytes"] = max(peak["peak_usage_bytes"], usage)
        peak["limit_bytes"] = stat.get("hierarchical_memory_limit", 0)
        tmp = out + ".tmp"
        with open(tmp, "w", encoding="ascii") as handle:
            json.dump(peak, handle)
        os.replace(tmp, out)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
