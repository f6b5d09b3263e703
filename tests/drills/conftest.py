# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the fault drills: a memory emulator, and the printed table of bad inputs
(pytest_terminal_summary, shown even without -s)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from drillkit import BAD_INPUT_ROWS, common  # noqa: E402


@pytest.fixture(scope='module')
def memory_emulator(tmp_path_factory):
    with common.emulator(str(tmp_path_factory.mktemp('emu')), backend='memory') as emu:
        yield emu


def pytest_terminal_summary(terminalreporter):
    if not BAD_INPUT_ROWS:
        return
    rows = sorted(BAD_INPUT_ROWS, key=lambda r: r['n'])
    tr = terminalreporter
    tr.section('bad inputs: each refused with a clear message, nothing created or changed')
    headers = ['#', 'input', 'refused', 'writes sent/accepted', 'state same', 's', 'message']
    lines = [[str(r['n']), r['case'], 'yes' if r['refused'] else 'NO', '%d/%d' % (r['writes_sent'], r['writes_accepted']),
              'yes' if r['unchanged'] else 'NO', '%.1f' % r['wall'], r['message']] for r in rows]
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(headers[:-1])]
    tr.write_line(' | '.join(h.ljust(w) for h, w in zip(headers[:-1], widths)) + ' | message')
    for x in lines:
        tr.write_line(' | '.join(c.ljust(w) for c, w in zip(x[:-1], widths)) + ' | ' + x[-1])
    out = os.environ.get('OPENCLAW_GCP_DRILL_RESULTS')
    if out:
        with open(out, 'w') as f:
            json.dump(rows, f, indent=2)
