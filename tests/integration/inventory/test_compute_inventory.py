# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openclaw.gcp.compute inventory against the emulator (memory backend).

Run the way users run it (`ansible-inventory`, `ansible-playbook` from the checkout, with the
shipped inventory/emulator.compute.yml where possible) and count the requests in the
emulator's log: building an inventory of N instances must cost ceil(N/500) aggregatedList
requests and one token exchange, never one request per zone.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import textwrap
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from emulator.testing import Emulator

ROOT = Path(__file__).resolve().parents[3]
PROJECT = 'openclaw-demo'
ZONES = ['us-central1-a', 'europe-west1-b', 'us-east1-b']


@pytest.fixture
def emu(tmp_path):
    with Emulator(str(tmp_path / 'emulator'), backend='memory') as emulator:
        yield emulator


def environment(emu, **extra):
    env = dict(os.environ)
    env.update(emu.env())
    env.update(extra)
    return env


def new_requests(emu, before):
    """Requests the emulator logged since ``before`` requests, admin calls left out."""
    return [r for r in emu.requests()[before:] if r.get('api') != 'admin']


def plain(value):
    """ansible-inventory marks untrusted (unsafe) strings as {"__ansible_unsafe": "..."}: unwrap."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def ansible_inventory(emu, source, *args, env=None, check=True, raw=False):
    proc = subprocess.run(['ansible-inventory', '-i', str(source), '--list', *args], cwd=ROOT,
                          env=env or environment(emu), capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        return (data if raw else plain(data)), proc
    return None, proc


def hosts_of(inventory, group):
    return sorted(inventory.get(group, {}).get('hosts', []))


def write_config(tmp_path, text, name='test.compute.yml'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def aggregated_calls(reqs):
    return [r for r in reqs if r['path'] == '/compute/v1/projects/%s/aggregated/instances' % PROJECT]


def test_pages_not_zones(emu, tmp_path):
    """600 gateways among 1200 VMs in three zones: 2 requests with the label filter, 3 without."""
    emu.preload(1200, zones=ZONES, gateway_every=2, prefix='fleet')

    before = len(emu.requests())
    inventory, dummy = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml')
    reqs = new_requests(emu, before)
    hostvars = inventory['_meta']['hostvars']
    assert len(hostvars) == 600
    assert all(h['gce_labels']['openclaw-role'] == 'gateway' for h in hostvars.values())
    calls = aggregated_calls(reqs)
    assert len(calls) == math.ceil(600 / 500) == 2
    assert [r['path'] for r in reqs if r['api'] == 'oauth2'] == ['/token']       # one token exchange
    assert len(reqs) == len(calls) + 1                                          # nothing per zone
    query = parse_qs(calls[0]['query'])
    assert query['maxResults'] == ['500']
    assert query['filter'] == ['(labels.openclaw-role = "gateway")']            # filtered by the server
    assert sorted({h['gce_zone'] for h in hostvars.values()}) == sorted(ZONES)
    for zone in ZONES:
        assert len(hosts_of(inventory, 'zone_' + zone.replace('-', '_'))) == 200

    config = write_config(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [openclaw-demo]
        labels: {}
    ''')
    before = len(emu.requests())
    inventory, dummy = ansible_inventory(emu, config)
    assert len(inventory['_meta']['hostvars']) == 1200
    assert len(aggregated_calls(new_requests(emu, before))) == math.ceil(1200 / 500) == 3


def test_shipped_emulator_config_groups_and_host_vars(emu, tmp_path):
    """Gateways created and one stopped with the modules; the shipped config groups them."""
    playbook = tmp_path / 'make.yml'
    playbook.write_text(textwrap.dedent('''
        - name: Three gateways in two zones, one stopped
          hosts: localhost
          connection: local
          gather_facts: false
          vars:
            ansible_python_interpreter: "{{ ansible_playbook_python }}"
          tasks:
            - name: Create
              openclaw.gcp.compute_instance:
                name: "{{ item.name }}"
                zone: "{{ item.zone }}"
                labels: {openclaw-role: gateway, managed-by: openclaw-gcp}
              loop:
                - {name: gw-a, zone: us-central1-a}
                - {name: gw-b, zone: us-central1-a}
                - {name: gw-c, zone: europe-west1-b}
            - name: Stop one
              openclaw.gcp.compute_instance:
                name: gw-b
                zone: us-central1-a
                state: stopped
            - name: A VM that is not a gateway
              openclaw.gcp.compute_instance:
                name: other-vm
                zone: us-central1-a
                labels: {team: web}
    '''))
    proc = subprocess.run(['ansible-playbook', '-i', 'localhost,', str(playbook)], cwd=ROOT,
                          env=environment(emu), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    inventory, dummy = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml')
    assert hosts_of(inventory, 'emulator') == ['gw-a', 'gw-b', 'gw-c']
    # memory-backend VMs have made-up public addresses: never playbook targets. The stopped one
    # lost its ephemeral address (as on Google): a target only through IAP (the plays'
    # ProxyCommand), whose relay refuses memory VMs; nothing dials its address.
    assert all(not h.startswith('127.') for h in (inventory['_meta']['hostvars'][n]['ansible_host']
                                                  for n in ('gw-a', 'gw-b', 'gw-c')))
    assert not inventory['_meta']['hostvars']['gw-b'].get('gce_external_ip')
    assert hosts_of(inventory, 'openclaw_gateways') == ['gw-b']
    assert hosts_of(inventory, 'zone_us_central1_a') == ['gw-a', 'gw-b']
    assert hosts_of(inventory, 'zone_europe_west1_b') == ['gw-c']
    assert hosts_of(inventory, 'status_running') == ['gw-a', 'gw-c']
    assert hosts_of(inventory, 'status_terminated') == ['gw-b']
    assert hosts_of(inventory, 'label_managed_by_openclaw_gcp') == ['gw-a', 'gw-b', 'gw-c']
    gw_a = inventory['_meta']['hostvars']['gw-a']
    assert gw_a['gce_machine_type'] == 'e2-small'
    assert gw_a['gce_region'] == 'us-central1'
    assert gw_a['ansible_host'] == gw_a['gce_external_ip']
    # group_vars/emulator.yml reaches the hosts through the `emulator` group, and turns no host
    # key checking off: the playbooks check the keys Google publishes, like on Google
    assert 'StrictHostKeyChecking=no' not in gw_a.get('ansible_ssh_common_args', '')
    assert gw_a['openclaw_gcp_tunnel'] == 'ssh'
    assert gw_a['gateway_base_image'] == 'openclaw-gcp/node:24-bookworm-slim'

    # values from the API are marked unsafe (never templated); group_vars values are not
    raw, dummy = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml', raw=True)
    raw_a = raw['_meta']['hostvars']['gw-a']
    assert raw_a['gce_name'] == {'__ansible_unsafe': 'gw-a'}
    assert raw_a['gce_labels']['openclaw-role'] == {'__ansible_unsafe': 'gateway'}
    assert raw_a['docker_engine_source'] == 'distro'

    # the status filter goes to the server too
    config = write_config(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [openclaw-demo]
        status: [TERMINATED, STOPPING]
    ''')
    before = len(emu.requests())
    inventory, dummy = ansible_inventory(emu, config)
    assert sorted(inventory['_meta']['hostvars']) == ['gw-b']
    calls = aggregated_calls(new_requests(emu, before))
    assert len(calls) == 1
    assert parse_qs(calls[0]['query'])['filter'] == [
        '(labels.openclaw-role = "gateway") AND ((status = "TERMINATED") OR (status = "STOPPING"))']

    # zones are picked from the same single answer
    config = write_config(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [openclaw-demo]
        zones: [europe-west1-b]
    ''')
    before = len(emu.requests())
    inventory, dummy = ansible_inventory(emu, config)
    assert sorted(inventory['_meta']['hostvars']) == ['gw-c']
    assert len(aggregated_calls(new_requests(emu, before))) == 1


def test_refresh_inventory_in_a_playbook_sees_a_new_vm(emu, tmp_path):
    """What site.yml relies on: create a VM, meta: refresh_inventory, the VM is a host."""
    playbook = tmp_path / 'refresh.yml'
    playbook.write_text(textwrap.dedent('''
        - name: Create and refresh
          hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: No gateway yet
              ansible.builtin.assert:
                that: groups['emulator'] | default([]) | length == 0
            - name: Create one
              openclaw.gcp.compute_instance:
                name: fresh-gw
                zone: us-east1-b
                machine_type: e2-medium
                labels: {openclaw-role: gateway}
            - name: Refresh
              ansible.builtin.meta: refresh_inventory
            - name: The new VM is in the inventory with its variables
              ansible.builtin.assert:
                that:
                  - groups['emulator'] == ['fresh-gw']
                  - groups['openclaw_gateways'] | default([]) == []
                  - "'fresh-gw' in groups['zone_us_east1_b']"
                  - hostvars['fresh-gw']['gce_machine_type'] == 'e2-medium'
                  - hostvars['fresh-gw']['ansible_host'] == hostvars['fresh-gw']['gce_external_ip']
    '''))
    proc = subprocess.run(['ansible-playbook', '-i', 'inventory/emulator.compute.yml', str(playbook)], cwd=ROOT,
                          env=environment(emu), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'failed=0' in proc.stdout


def test_transient_faults_are_retried(emu, tmp_path):
    """Requests answered 429/500/503 (seeded, at most 4): same inventory, failed pages asked again."""
    emu.preload(1100, zones=ZONES, gateway_every=1, prefix='gw')
    clean, dummy = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml')

    emu.set_faults(fault_rate=0.6, seed=3, budget=4)
    try:
        before = len(emu.requests())
        faulty, dummy = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml')
        reqs = new_requests(emu, before)
    finally:
        emu.set_faults(fault_rate=0.0, seed=0, budget=0)
    assert faulty['_meta']['hostvars'].keys() == clean['_meta']['hostvars'].keys()
    assert len(faulty['_meta']['hostvars']) == 1100
    faulted = [r for r in reqs if r.get('faulted')]
    assert faulted, 'the fault injection did not hit any request; the test proves nothing'
    successful_pages = [r for r in aggregated_calls(reqs) if r['status'] == 200]
    assert len(successful_pages) == math.ceil(1100 / 500)


def test_cache_then_flush(emu, tmp_path):
    emu.preload(3, zones=ZONES, gateway_every=1, prefix='c')
    config = write_config(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [openclaw-demo]
        cache: true
        cache_plugin: ansible.builtin.jsonfile
        cache_connection: %s
        cache_timeout: 600
    ''' % (tmp_path / 'cache'))
    before = len(emu.requests())
    first, dummy = ansible_inventory(emu, config)
    assert len(aggregated_calls(new_requests(emu, before))) == 1

    emu.preload(2, zones=ZONES, gateway_every=1, prefix='c')
    before = len(emu.requests())
    cached, dummy = ansible_inventory(emu, config)
    assert new_requests(emu, before) == []                       # served from the cache
    assert cached['_meta']['hostvars'].keys() == first['_meta']['hostvars'].keys()

    before = len(emu.requests())
    fresh, dummy = ansible_inventory(emu, config, '--flush-cache')
    assert len(aggregated_calls(new_requests(emu, before))) == 1
    assert len(fresh['_meta']['hostvars']) == 5


def test_api_errors_are_one_sentence(emu, tmp_path):
    config = write_config(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [no-such-project-1]
        retries: 1
    ''')
    env = environment(emu, ANSIBLE_INVENTORY_UNPARSED_FAILED='true')
    dummy, proc = ansible_inventory(emu, config, env=env, check=False)
    assert proc.returncode != 0
    assert 'openclaw.gcp.compute: Failed to list instances in project no-such-project-1: HTTP 4' in proc.stderr


def test_without_endpoint_overrides_the_plugin_calls_google_and_says_what_failed(emu):
    # No override: Google's own host, which the offline guard's dead proxy keeps off the network.
    env = {k: v for k, v in environment(emu).items() if not k.startswith('CLOUDSDK_API_ENDPOINT_OVERRIDES_')}
    env.update(HTTPS_PROXY='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9', ANSIBLE_INVENTORY_UNPARSED_FAILED='true')
    before = len(emu.requests())
    dummy, proc = ansible_inventory(emu, ROOT / 'inventory' / 'emulator.compute.yml', env=env, check=False)
    assert proc.returncode != 0
    assert 'openclaw.gcp.compute: Failed to list instances in project openclaw-demo: connection error' in proc.stderr
    # the key's token endpoint is the emulator's; the Compute API was never asked here
    assert [r['api'] for r in new_requests(emu, before) if r['api'] != 'oauth2'] == []
