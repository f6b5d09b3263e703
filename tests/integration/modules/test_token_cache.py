# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One OAuth token exchange per playbook run: many tasks, loop items and forks share one token
(the emulator logs every exchange as an ``api: "oauth2"`` line); without the cache every module
process exchanges its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

HOSTS = ['gw%d' % n for n in range(1, 5)]
ITEMS = ['a', 'b', 'c']


def tasks():
    return [
        {'name': 'instances by label', 'openclaw.gcp.compute_instance_info': {'labels': {'role': '{{ item }}'}},
         'loop': ITEMS},
        {'name': 'firewall in check mode', 'check_mode': True, 'openclaw.gcp.compute_firewall': {
            'name': 'fw-{{ inventory_hostname }}-{{ item }}', 'allowed': [{'protocol': 'tcp', 'ports': ['22']}],
            'source_ranges': ['10.0.0.0/8']},
         'loop': ITEMS},
        {'name': 'one instance', 'openclaw.gcp.compute_instance_info': {
            'name': 'absent-{{ inventory_hostname }}', 'zone': 'us-central1-a'}},
    ]


MODULE_RUNS = len(HOSTS) * (len(ITEMS) * 2 + 1)


def play(runner, tmp_path, name, **env):
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[gateways]\n' + ''.join('%s ansible_connection=local\n' % h for h in HOSTS))
    book = tmp_path / ('%s.yml' % name)
    book.write_text(json.dumps([{'hosts': 'gateways', 'gather_facts': False, 'tasks': tasks()}]))
    cfg = tmp_path / 'ansible.cfg'
    cfg.write_text('[defaults]\nretry_files_enabled = False\nforks = 4\n')
    start = len(runner.emulator.requests())
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory), str(book)],
                          env=runner.env(ANSIBLE_CONFIG=str(cfg), **env), cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, check=False)
    report = json.loads(proc.stdout)
    stats = report['stats']
    assert sorted(stats) == HOSTS and all(s['failures'] == 0 and s['unreachable'] == 0 for s in stats.values()), proc.stdout[-3000:]
    log = runner.emulator.requests()[start:]
    return proc, log


def exchanges(log):
    return len([e for e in log if e['api'] == 'oauth2'])


def test_one_token_exchange_per_playbook_run(runner, tmp_path):
    cache = tmp_path / 'cache'
    proc, log = play(runner, tmp_path, 'first', XDG_CACHE_HOME=str(cache))
    compute = [e for e in log if e['api'] == 'compute']
    assert len(compute) >= MODULE_RUNS, 'every module run asked the API'
    assert exchanges(log) == 1
    # the token is in the user's cache, private, and never in the output
    files = [f for f in os.listdir(str(cache / 'openclaw-gcp')) if not f.endswith('.lock')]
    assert len(files) == 1 and oct(os.stat(str(cache / 'openclaw-gcp' / files[0])).st_mode & 0o777) == '0o600'
    token = json.loads((cache / 'openclaw-gcp' / files[0]).read_text())['token']
    assert token not in proc.stdout and token not in proc.stderr
    # the next run within the token's lifetime exchanges nothing
    dummy, log = play(runner, tmp_path, 'second', XDG_CACHE_HOME=str(cache))
    assert exchanges(log) == 0 and len([e for e in log if e['api'] == 'compute']) >= MODULE_RUNS


def test_without_the_cache_every_module_process_exchanges(runner, tmp_path):
    cache = tmp_path / 'cache'
    dummy, log = play(runner, tmp_path, 'off', XDG_CACHE_HOME=str(cache), OPENCLAW_GCP_TOKEN_CACHE='0')
    assert exchanges(log) == MODULE_RUNS
    assert not (cache / 'openclaw-gcp').exists()
