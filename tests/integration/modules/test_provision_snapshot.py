# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""provision.yml with a state snapshot (memory backend, controller only): a missing snapshot or an
existing state disk fails before any write with a sentence naming it; otherwise the new gateway's
state disk is made from the snapshot, at least the snapshot's size."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import requests

from emulator.testing import Emulator
from gcp_playbooks import ROOT, Runner, api_writes

PROJECT = 'openclaw-demo'
ZONE = 'us-central1-a'


def provision(emu, workdir, extra):
    """The provision.yml run (its JSON report when it passed, else its output)."""
    extra = dict({'openclaw_gcp_project': PROJECT, 'openclaw_gcp_ssh_key_file': os.path.join(workdir, 'ssh', 'id_ed25519'),
                  'openclaw_gcp_known_hosts_file': os.path.join(workdir, 'known_hosts')}, **extra)
    path = os.path.join(workdir, 'snapshot-extra.json')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(extra, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-l', 'localhost',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@' + path, os.path.join(ROOT, 'playbooks', 'provision.yml')]
    proc = subprocess.run(cmd, env=Runner(emu, workdir).env(), cwd=workdir, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def compute(emu, method, path, body=None):
    answer = requests.request(method, '%s/compute/v1/projects/%s/%s' % (emu.endpoint, PROJECT, path), json=body, timeout=30,
                              headers={'Authorization': 'Bearer ' + emu.token})
    return answer.status_code, answer.json() if answer.content else None


def test_provision_restores_a_state_disk_from_a_snapshot(tmp_path):
    with Emulator(tmp_path / 'emulator', backend='memory', propagation_delay=0) as emu:
        work = str(tmp_path)
        code, out = provision(emu, work, {'openclaw_gcp_gateways': [{'name': 'gw-snap-src', 'zone': ZONE}]})
        assert code == 0, out[-4000:]
        compute(emu, 'POST', 'zones/%s/disks/gw-snap-src-state/createSnapshot' % ZONE, {'name': 'gw-snap'})
        for dummy in range(100):  # bounded
            if compute(emu, 'GET', 'global/snapshots/gw-snap')[1]['status'] == 'READY':
                break
            time.sleep(0.1)

        start = len(emu.requests())
        refused = [
            ({'openclaw_gcp_gateways': [{'name': 'gw-snap-new', 'zone': ZONE, 'state_snapshot': 'no-such-snap'}]},
             'no-such-snap (the state_snapshot of gateway gw-snap-new) is not a snapshot of project openclaw-demo'),
            ({'openclaw_gcp_gateways': [{'name': 'gw-snap-src', 'zone': ZONE}], 'openclaw_gcp_restore_snapshot': 'gw-snap'},
             'The state disk gw-snap-src-state of gateway gw-snap-src already exists, so it cannot be created from snapshot gw-snap'),
            ({'openclaw_gcp_gateways': [{'name': 'gw-a', 'zone': ZONE}, {'name': 'gw-b', 'zone': ZONE}],
              'openclaw_gcp_restore_snapshot': 'gw-snap'},
             'openclaw_gcp_restore_snapshot restores one gateway, but openclaw_gcp_gateways has 2'),
        ]
        for extra, sentence in refused:
            code, out = provision(emu, work, extra)
            assert code != 0 and sentence in out, out[-4000:]
        assert api_writes(emu.requests()[start:]) == []

        code, out = provision(emu, work, {'openclaw_gcp_gateways': [
            {'name': 'gw-snap-new', 'zone': ZONE, 'state_snapshot': 'gw-snap', 'state_disk_size_gb': 12}]})
        assert code == 0, out[-4000:]
        status, disk = compute(emu, 'GET', 'zones/%s/disks/gw-snap-new-state' % ZONE)
        assert status == 200 and disk['sourceSnapshot'].endswith('/global/snapshots/gw-snap') and disk['sizeGb'] == '12'
        assert disk['users'][0].endswith('/instances/gw-snap-new')
