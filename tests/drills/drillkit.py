# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the fault drills (imported by conftest.py and the tests)."""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import common  # noqa: E402

# Rows of the bad-input table, filled by test_bad_inputs.py, printed by conftest.py.
BAD_INPUT_ROWS = []


def drill_env():
    env = common.base_env()
    env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    env['ANSIBLE_CALLBACK_RESULT_FORMAT'] = 'json'
    return env


def credentials(emu):
    return dict(common.client_env(emu), GCP_PROJECT=common.PROJECT)


def run_playbook(path, env, args=(), timeout=600):
    cmd = ['ansible-playbook', '-i', 'localhost,', '-l', 'localhost'] + common.LOCAL_PYTHON + list(args) + [path]
    return common.run_measured(cmd, env, timeout=timeout)


def write_play(path, tasks=None, roles=None, play_vars=None):
    play = {'name': 'drill', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False}
    if play_vars:
        play['vars'] = play_vars
    if roles:
        play['roles'] = roles
    play['tasks'] = tasks or []
    with open(path, 'w') as f:
        json.dump([play], f)
    return path
