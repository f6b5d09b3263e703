# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the module integration tests: write a playbook for localhost, run it with
ansible-playbook against the emulator and return each task's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

PLAYBOOK_TIMEOUT = 180


def _collections_path():
    base = os.path.join(ROOT, '.cache', 'collections')
    link = os.path.join(base, 'ansible_collections', 'openclaw', 'gcp')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join('..', '..', '..', '..'), link)
    return base


def _to_yaml(value):
    """Playbooks are written as JSON, which is valid YAML."""
    return json.dumps(value, indent=1)


class Runner(object):
    """Writes a playbook for localhost and runs it; results come back per task."""

    def __init__(self, emulator, workdir):
        self.emulator = emulator
        self.workdir = workdir
        self.count = 0

    def env(self, **overrides):
        env = dict(os.environ)
        for name in list(env):
            if name.startswith(('GCP_', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_', 'GOOGLE_CLOUD_UNIVERSE')):
                del env[name]
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': _collections_path(),
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
            'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json',
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_CONFIG': os.path.join(self.workdir, 'ansible.cfg'),
            # offline guard: google-auth's background lookups must stay on this machine
            'HTTPS_PROXY': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9',
            'NO_PROXY': '127.0.0.1,localhost', 'no_proxy': '127.0.0.1,localhost',
        })
        env.update(self.emulator.env())
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def play(self, tasks, check=False, diff=False, env=None, vars_=None):
        """Run ``tasks`` on localhost; return ``[(task name, result dict), ...]``."""
        self.count += 1
        path = os.path.join(self.workdir, 'play%d.yml' % self.count)
        play = {'hosts': 'localhost', 'gather_facts': False, 'connection': 'local', 'tasks': tasks}
        if vars_:
            play['vars'] = vars_
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(_to_yaml([play]))
        cfg = os.path.join(self.workdir, 'ansible.cfg')
        if not os.path.exists(cfg):
            with open(cfg, 'w', encoding='utf-8') as handle:
                handle.write('[defaults]\nretry_files_enabled = False\n')
        cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        proc = subprocess.run(cmd, env=self.env(**(env or {})), cwd=self.workdir, capture_output=True, text=True,
                              timeout=PLAYBOOK_TIMEOUT, check=False)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError('ansible-playbook printed no JSON (rc %s):\n%s\n%s' % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        results = []
        for task in report['plays'][0]['tasks']:
            result = task['hosts'].get('localhost', {})
            results.append((task['task']['name'], result))
        return results


def api_writes(entries):
    """Writes to Google APIs in a slice of the request log (the token exchange is not a write)."""
    return [e for e in entries if e['write'] and e['api'] not in ('oauth2', 'admin')]
