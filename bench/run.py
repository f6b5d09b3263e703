# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: run the benchmark parts, print their tables, write bench/results/*.json.

    python bench/run.py                      # every part, the slow docker converge last
    python bench/run.py inventory lifecycle  # only these parts (inventory lifecycle fleet drills converge)

Environment: BENCH_RUNS (runs per median, default 3), BENCH_SIZES (inventory sizes, default
"100 1000 5000"), BENCH_FLEET (fleet sizes, default "1 5 20"), BENCH_LATENCY (emulator
operation latency for the fleet, default 3 s).
"""

import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PARTS = ['inventory', 'lifecycle', 'consistency', 'fleet', 'drills', 'converge']


def _ints(name, default):
    raw = os.environ.get(name)
    return [int(x) for x in raw.split()] if raw else default


def main(argv):
    wanted = argv[1:] or PARTS
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        print('unknown part(s): %s; choose from %s' % (' '.join(unknown), ' '.join(PARTS)), file=sys.stderr)
        return 2
    runs = max(3, int(os.environ.get('BENCH_RUNS', '3')))
    failed = []
    for part in [p for p in PARTS if p in wanted]:
        print('\n==================== bench: %s ====================' % part, flush=True)
        start = time.monotonic()
        try:
            if part == 'inventory':
                from bench import inventory
                inventory.run(sizes=_ints('BENCH_SIZES', inventory.SIZES), runs=runs)
            elif part == 'lifecycle':
                from bench import lifecycle
                lifecycle.run(runs=runs)
            elif part == 'consistency':
                from bench import consistency
                consistency.run()
            elif part == 'fleet':
                from bench import fleet
                fleet.run(sizes=_ints('BENCH_FLEET', fleet.SIZES),
                          latency=float(os.environ.get('BENCH_LATENCY', fleet.LATENCY)), runs=runs)
            elif part == 'drills':
                from bench import drills
                drills.run()
            elif part == 'converge':
                from bench import converge
                converge.run()
        except Exception:  # report, go on with the next part, fail at the end
            traceback.print_exc()
            failed.append(part)
        print('(%s: %.0f s)' % (part, time.monotonic() - start), flush=True)
    if failed:
        print('\nbench parts that failed: %s' % ' '.join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
