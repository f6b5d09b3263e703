# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drill: a flaky API. The emulator answers 20% of requests with a transient error (429/5xx)
and processes 10% but loses the answer. Provisioning 3 gateways must still succeed with no failed
task, and exactly 3 instances must exist afterwards (no duplicates from retried inserts).

Two provisioning paths: the provision play of site.yml (playbooks/provision.yml, limited to the
controller: the SSH wait needs real VMs) and openclaw.gcp.compute_instance with one fork per
gateway. OPENCLAW_GCP_DRILL_GATEWAYS changes the count (bench runs more)."""

import json
import os

import pytest

from drillkit import common, credentials, drill_env

GATEWAYS = int(os.environ.get('OPENCLAW_GCP_DRILL_GATEWAYS', '3'))
FAULT_RATE = 0.2
LOST_RATE = 0.1
ZONES = ['us-central1-a', 'us-central1-b', 'europe-west1-b']

FORKS_PLAYBOOK = '''---
- name: Provision the gateways of the inventory, one fork each
  hosts: gateways
  gather_facts: false
  tasks:
    - name: Create the gateway VM
      openclaw.gcp.compute_instance:
        name: "{{ inventory_hostname }}"
        zone: "{{ gce_zone }}"
        machine_type: e2-small
        labels:
          openclaw-role: gateway
        state: started
'''


def _names(n):
    return ['drill-gw-%d' % i for i in range(1, n + 1)]


def _failed_tasks(stdout):
    start = stdout.find('{')
    data = json.loads(stdout[start:])
    failed = []
    for play in data.get('plays', []):
        for task in play.get('tasks', []):
            for host, res in task.get('hosts', {}).items():
                if res.get('failed') or res.get('unreachable'):
                    failed.append((task['task']['name'], host, res.get('msg')))
    return failed, data.get('stats', {})


@pytest.mark.parametrize('path', ['site.yml provision', 'compute_instance forks'])
def test_provision_survives_transient_and_lost_responses(path, tmp_path):
    tmp = str(tmp_path)
    seed = 11 if path.startswith('site') else 12
    with common.emulator(os.path.join(tmp, 'emu'), backend='memory', latency=0.2, fault_rate=FAULT_RATE,
                         lost_rate=LOST_RATE, fault_seed=seed) as emu:
        env = dict(drill_env(), **credentials(emu))
        names = _names(GATEWAYS)
        if path.startswith('site'):
            extra = {'openclaw_gcp_project': common.PROJECT,
                     'openclaw_gcp_gateways': [{'name': n, 'zone': ZONES[i % len(ZONES)]} for i, n in enumerate(names)],
                     'openclaw_gcp_ssh_key_file': os.path.join(tmp, 'ssh', 'id_ed25519')}
            with open(os.path.join(tmp, 'extra.json'), 'w') as f:
                json.dump(extra, f)
            cmd = (['ansible-playbook', '-i', 'localhost,', '-l', 'localhost'] + common.LOCAL_PYTHON
                   + ['-e', '@' + os.path.join(tmp, 'extra.json'), os.path.join(common.ROOT, 'playbooks', 'provision.yml')])
        else:
            inv = os.path.join(tmp, 'inv.ini')
            with open(inv, 'w') as f:
                hosts = ['%s gce_zone=%s ansible_connection=local\n' % (n, ZONES[i % len(ZONES)])
                         for i, n in enumerate(names)]
                f.write('[gateways]\n' + ''.join(hosts))
            pb = os.path.join(tmp, 'forks.yml')
            with open(pb, 'w') as f:
                f.write(FORKS_PLAYBOOK)
            cmd = ['ansible-playbook', '-i', inv, '--forks', str(GATEWAYS)] + common.LOCAL_PYTHON + [pb]

        window = common.RequestWindow(emu).start()
        m = common.run_measured(cmd, env, timeout=900)
        window.stop()
        # Verify with faults off: the checks must not be faulted themselves.
        emu.set_faults(fault_rate=0.0, lost_rate=0.0)
        found = common.instances(emu)

        faulted = [x for x in window.lines if x.get('faulted')]
        failed, stats = _failed_tasks(m.stdout)
        print('\n%s: %d gateways, %d API requests, %d faulted (%s), %.1f s, instances: %s' % (
            path, GATEWAYS, window.summary()['requests'], len(faulted),
            ', '.join(sorted(set(str(x.get('faulted')) for x in faulted))), m.wall, sorted(found)))

        assert faulted, 'the emulator injected no fault: the drill proved nothing'
        if path.startswith('site'):
            # Sequential requests, seeded dice: this run meets both kinds of fault.
            kinds = set(str(x.get('faulted')) for x in faulted)
            assert 'lost' in kinds and kinds - {'lost'}, 'expected transient and lost faults, got %s' % kinds
        assert m.rc == 0, 'provisioning failed under faults: %s' % (failed or (m.stdout[-2000:] + m.stderr[-2000:]))
        assert not failed, 'tasks failed: %s' % failed
        assert sorted(found) == sorted(names), 'expected exactly %s, found %s' % (names, sorted(found))
        for name, (zone, status, *_rest) in found.items():
            assert status == 'RUNNING', '%s is %s' % (name, status)
