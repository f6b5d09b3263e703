# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault drills of tests/drills, run from `make bench`: the same assertions as in `make test`
(3 gateways under 20% transient + 10% lost responses, the bad-input table), with the bad-input
table printed and saved. The gateway-recovery drills need a deployed gateway: see converge.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench import common


def run(gateways=3):
    os.makedirs(common.RESULTS_DIR, exist_ok=True)
    rows_file = os.path.join(common.RESULTS_DIR, 'drills-bad-inputs.json')
    env = dict(os.environ, OPENCLAW_GCP_DRILL_RESULTS=rows_file, OPENCLAW_GCP_DRILL_GATEWAYS=str(gateways))
    cmd = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rA', '-s',
           os.path.join(common.ROOT, 'tests', 'drills')]
    proc = subprocess.run(cmd, env=env, cwd=common.ROOT, capture_output=True, text=True, timeout=1800,
                          check=False)
    print(proc.stdout[-20000:], flush=True)
    if proc.stderr.strip():
        print(proc.stderr[-3000:], file=sys.stderr, flush=True)
    rows = []
    if os.path.exists(rows_file):
        with open(rows_file) as f:
            rows = json.load(f)
    faults = [line for line in proc.stdout.splitlines() if ' faulted (' in line]
    common.write_results('drills', {'exit': proc.returncode, 'bad_inputs': rows, 'fault_runs': faults,
                                    'summary': proc.stdout.strip().splitlines()[-1:]})
    if proc.returncode != 0:
        raise RuntimeError('fault drills failed (pytest exit %d)' % proc.returncode)
    return rows
