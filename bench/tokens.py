# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller cost per host (issue 14): a play over N simulated gateways (localhost aliases, one
fork each up to 10), each reading its instance and checking its firewall rule in check mode, with
and without the per-user token cache. Token exchanges per run, API requests per host, wall time
per host. `python -m bench.tokens [N ...]` (after `source scripts/env.sh`), default 10 50."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from bench import common

TASKS = [
    {'name': 'instance', 'openclaw.gcp.compute_instance_info': {'name': 'gw-{{ inventory_hostname }}', 'zone': 'us-central1-a'}},
    {'name': 'firewall', 'check_mode': True, 'openclaw.gcp.compute_firewall': {
        'name': 'fw-{{ inventory_hostname }}', 'allowed': [{'protocol': 'tcp', 'ports': ['22']}], 'source_ranges': ['10.0.0.0/8']}},
]


def one(emu, work, hosts, cache):
    inv = os.path.join(work, 'hosts-%d.ini' % hosts)
    with open(inv, 'w') as f:
        f.write('[gw]\n' + ''.join('h%d ansible_connection=local ansible_python_interpreter=%s\n' % (i, sys.executable)
                                   for i in range(hosts)))
    book = os.path.join(work, 'play.yml')
    with open(book, 'w') as f:
        json.dump([{'hosts': 'gw', 'gather_facts': False, 'tasks': TASKS}], f)
    env = dict(common.base_env(), **common.client_env(emu))
    env.update({'XDG_CACHE_HOME': tempfile.mkdtemp(dir=work), 'OPENCLAW_GCP_TOKEN_CACHE': '1' if cache else '0',
                'ANSIBLE_FORKS': '10', 'ANSIBLE_HOST_KEY_CHECKING': 'false'})
    window = common.RequestWindow(emu).start()
    start = time.monotonic()
    m = common.run_measured(['ansible-playbook', '-i', inv, book], env)
    wall = time.monotonic() - start
    window.stop()
    m.check('ansible-playbook (%d hosts)' % hosts)
    s = window.summary()
    return [hosts, 'on' if cache else 'off', s['token_exchanges'], s['requests'], s['requests'] / hosts, wall, wall / hosts]


def main(sizes):
    rows = []
    with common.workdir('tokens') as work:
        with common.emulator(os.path.join(work, 'emu')) as emu:
            for hosts in sizes:
                for cache in (False, True):
                    rows.append(one(emu, work, hosts, cache))
    common.table('Controller cost per host (2 tasks per host, forks 10)',
                 ['hosts', 'token cache', 'token exchanges', 'API requests', 'requests/host', 'wall s', 'wall s/host'],
                 rows)


if __name__ == '__main__':
    main([int(a) for a in sys.argv[1:]] or [10, 50])
