# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/tasks/state_staged.yml + state_swap.yml, the one "staged state in place of the live
state" step of restore.yml and of update.yml's rollback, on local directories (connection local).

A tree laid out as `openclaw backup restore --target` stages it (manifest.json under the
archive root, the state asset and a workspace asset recorded apart) replaces a live state
directory: a plain directory is renamed aside; a mountpoint (the state disk's bind mount, when
this test may mount) stays and its contents are swapped; a workspace outside the state is
swapped too. A staged tree without the state, or with an asset the gateway does not mount, is
refused and the live state is untouched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import pytest

from local_play import ROOT, run_play
TASKS = os.path.join(ROOT, 'playbooks', 'tasks')

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_tasks: %(tasks)s/state_staged.yml
      vars:
        _ocg_staged_target: "{{ stage }}"
        _ocg_staged_output: 'restored {"archiveRoot": "root"}'
    - ansible.builtin.include_tasks: %(tasks)s/state_swap.yml
      vars:
        _ocg_swap_state: "{{ state }}"
        _ocg_swap_staged: "{{ _ocg_staged_state }}"
        _ocg_swap_inner: "{{ _ocg_staged_inner }}"
        _ocg_swap_workspace: "{{ workspace }}"
        _ocg_swap_owner: "{{ owner }}"
        _ocg_swap_suffix: failed-upgrade
    - ansible.builtin.copy:
        content: "{{ _ocg_swap_aside }}"
        dest: "{{ out }}/aside"
        mode: "0600"
""" % {'tasks': TASKS}


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'w') as handle:
        handle.write(text)


def read(path):
    with open(str(path)) as handle:
        return handle.read()


def layout(tmp_path, assets=None):
    """A live state and a staged restore of another one; {name: path}."""
    paths = {'state': tmp_path / 'home' / '.openclaw', 'stage': tmp_path / 'stage' / 'state', 'out': tmp_path}
    write(paths['state'] / 'openclaw.json', '{ migrated: true }\n')
    write(paths['state'] / 'workspace' / 'notes.md', 'written by the failed version\n')
    payload = paths['stage'] / 'root' / 'payload'
    write(payload / 'state' / 'openclaw.json', '{ gateway: { mode: "local" } }\n')
    write(payload / 'state' / 'agents' / 'main.json', '{}\n')
    write(payload / 'workspace' / 'notes.md', 'before the upgrade\n')
    if assets is None:
        assets = [{'kind': 'state', 'sourcePath': '/home/node/.openclaw', 'archivePath': 'root/payload/state'},
                  {'kind': 'workspace', 'sourcePath': '/home/node/.openclaw/workspace',
                   'archivePath': 'root/payload/workspace'}]
    write(paths['stage'] / 'root' / 'manifest.json', json.dumps({'assets': assets}))
    return paths


def swap(tmp_path, paths, workspace=None):
    return run_play(tmp_path, PLAY, dict(stage=str(paths['stage']), state=str(paths['state']), out=str(paths['out']),
                                         workspace=str(workspace or paths['state'] / 'workspace'), owner=os.getuid()))


def is_mount(path):
    """mountpoint(1): os.path.ismount misses a bind mount within one filesystem."""
    return subprocess.run(['mountpoint', '-q', str(path)], check=False).returncode == 0


def check_swapped(paths, proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = paths['state']
    aside = read(paths['out'] / 'aside')
    assert aside.startswith(str(state) + '.failed-upgrade-')
    assert read(state / 'openclaw.json') == '{ gateway: { mode: "local" } }\n'
    assert read(state / 'agents' / 'main.json') == '{}\n'
    # the workspace recorded apart goes back inside the state
    assert read(state / 'workspace' / 'notes.md') == 'before the upgrade\n'
    # what the failed version left is kept, whole
    assert read(os.path.join(aside, 'openclaw.json')) == '{ migrated: true }\n'
    assert read(os.path.join(aside, 'workspace', 'notes.md')) == 'written by the failed version\n'
    assert oct(os.stat(str(state)).st_mode & 0o777) == '0o700'
    return aside


def test_a_plain_state_directory_is_renamed_aside(tmp_path):
    paths = layout(tmp_path)
    check_swapped(paths, swap(tmp_path, paths))
    assert not is_mount(paths['state'])


def test_a_mounted_state_directory_stays_and_its_contents_are_swapped(tmp_path):
    paths = layout(tmp_path)
    disk = tmp_path / 'disk'
    os.rename(str(paths['state']), str(disk))
    os.mkdir(str(paths['state']))
    # make test runs as root (it installs Docker): a bind mount that fails is a failure, not a skip
    mounted = subprocess.run(['mount', '--bind', str(disk), str(paths['state'])], capture_output=True, text=True,
                             check=False)
    assert mounted.returncode == 0, 'bind mount failed: ' + mounted.stderr
    try:
        check_swapped(paths, swap(tmp_path, paths))
        assert is_mount(paths['state'])
        # the restored state is on the disk itself
        assert read(disk / 'openclaw.json') == '{ gateway: { mode: "local" } }\n'
    finally:
        subprocess.run(['umount', str(paths['state'])], check=False)


def test_a_workspace_outside_the_state_is_swapped_too(tmp_path):
    paths = layout(tmp_path)
    outside = tmp_path / 'home' / 'workspace'
    write(outside / 'notes.md', 'outside, written by the failed version\n')
    proc = swap(tmp_path, paths, workspace=outside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    aside = read(paths['out'] / 'aside')
    assert read(outside / 'notes.md') == 'before the upgrade\n'
    assert read(str(outside) + aside[len(str(paths['state'])):] + '/notes.md') == 'outside, written by the failed version\n'
    assert os.listdir(str(paths['state'] / 'workspace')) == []      # the mount point inside the state


@pytest.mark.parametrize('assets, named', [
    ([{'kind': 'workspace', 'sourcePath': '/home/node/.openclaw/workspace', 'archivePath': 'root/payload/workspace'}],
     'no state asset'),
    ([{'kind': 'state', 'sourcePath': '/home/node/.openclaw', 'archivePath': 'root/payload/state'},
      {'kind': 'state', 'sourcePath': '/srv/elsewhere', 'archivePath': 'root/payload/workspace'}], '/srv/elsewhere'),
])
def test_a_staged_tree_the_gateway_cannot_hold_is_refused_before_the_live_state_is_touched(tmp_path, assets, named):
    paths = layout(tmp_path, assets)
    proc = swap(tmp_path, paths)
    assert proc.returncode != 0
    assert named in proc.stdout and 'The live state was not touched.' in proc.stdout, proc.stdout
    assert read(paths['state'] / 'openclaw.json') == '{ migrated: true }\n'
    assert not [n for n in os.listdir(str(tmp_path / 'home')) if 'failed-upgrade' in n]
