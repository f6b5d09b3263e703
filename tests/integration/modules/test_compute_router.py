# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_router against the emulator (check, apply, check, apply; diff; writes counted from
the emulator's request log), and provision.yml in private mode: no external IP, a router with
Cloud NAT in each gateway region, SSH admitted from IAP's range only, no 0.0.0.0/0 rule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from emulator.testing import Emulator
from gcp_playbooks import ROOT, Runner, api_writes

PROJECT = 'openclaw-demo'
REGION = 'us-central1'
ROUTER_PATH = '/compute/v1/projects/%s/regions/%s/routers/gw-router' % (PROJECT, REGION)
IAP_RANGE = '35.235.240.0/20'


def router(**options):
    args = {'name': 'gw-router', 'region': REGION, 'nats': [{'name': 'gw-nat'}]}
    args.update(options)
    return args


def api_calls(entries):
    return [(e['method'], e['path']) for e in entries if e['api'] not in ('oauth2', 'admin', 'iamcredentials')]


def test_router_check_apply_check_apply_and_diff(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'predict', 'openclaw.gcp.compute_router': router()},
    ], check=True, diff=True))
    assert results['predict']['changed'] is True and results['predict']['actions'] == ['create']
    assert results['predict']['diff']['before'] == {'state': 'absent'}
    assert api_writes(emulator.requests()[start:]) == []

    start = len(emulator.requests())
    results = dict(runner.play([{'name': 'create', 'openclaw.gcp.compute_router': router()}]))
    created = results['create']
    assert created['changed'] is True
    assert created['router']['nats'] == [{'name': 'gw-nat', 'nat_ip_allocate_option': 'AUTO_ONLY',
                                          'source_subnetwork_ip_ranges_to_nat': 'ALL_SUBNETWORKS_ALL_IP_RANGES',
                                          'logging': False, 'log_filter': 'ALL', 'min_ports_per_vm': None}]
    assert created['router']['self_link'].endswith('/regions/us-central1/routers/gw-router')
    writes = [(e['method'], e['path']) for e in api_writes(emulator.requests()[start:])]
    assert writes == [('POST', '/compute/v1/projects/%s/regions/%s/routers' % (PROJECT, REGION))]

    # nothing to do: one GET of the router per run, no write, in check mode and for real
    for check in (True, False):
        start = len(emulator.requests())
        results = dict(runner.play([{'name': 'again', 'openclaw.gcp.compute_router': router()}], check=check))
        assert results['again']['changed'] is False
        assert api_calls(emulator.requests()[start:]) == [('GET', ROUTER_PATH)]

    # a change: predicted with a diff, applied with one PATCH, then stable
    change = router(nats=[{'name': 'gw-nat', 'logging': True, 'log_filter': 'ERRORS_ONLY', 'min_ports_per_vm': 128}])
    start = len(emulator.requests())
    predicted = dict(runner.play([{'name': 'predict', 'openclaw.gcp.compute_router': change}], check=True, diff=True))['predict']
    assert predicted['changed'] is True and predicted['actions'] == ['update NAT gw-nat']
    assert api_writes(emulator.requests()[start:]) == []
    results = dict(runner.play([
        {'name': 'apply', 'openclaw.gcp.compute_router': change},
        {'name': 'again', 'openclaw.gcp.compute_router': change},
    ], diff=True))
    assert results['apply']['actions'] == ['update NAT gw-nat'] and results['apply']['changed'] is True
    assert results['apply']['diff']['before']['nats'][0]['logging'] is False
    assert results['apply']['diff']['after']['nats'][0] == {
        'name': 'gw-nat', 'nat_ip_allocate_option': 'AUTO_ONLY', 'source_subnetwork_ip_ranges_to_nat': 'ALL_SUBNETWORKS_ALL_IP_RANGES',
        'logging': True, 'log_filter': 'ERRORS_ONLY', 'min_ports_per_vm': 128}
    assert predicted['diff']['after'] == dict(results['apply']['diff']['after'])
    assert results['again']['changed'] is False
    writes = [(e['method'], e['path']) for e in api_writes(emulator.requests()[start:])]
    assert writes == [('PATCH', ROUTER_PATH)]

    # delete: predicted, done with one DELETE, then nothing to do
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'predict', 'openclaw.gcp.compute_router': {'name': 'gw-router', 'region': REGION, 'state': 'absent'}},
    ], check=True))
    assert results['predict']['changed'] is True and api_writes(emulator.requests()[start:]) == []
    results = dict(runner.play([
        {'name': 'delete', 'openclaw.gcp.compute_router': {'name': 'gw-router', 'region': REGION, 'state': 'absent'}},
        {'name': 'again', 'openclaw.gcp.compute_router': {'name': 'gw-router', 'region': REGION, 'state': 'absent'}},
    ]))
    assert results['delete']['changed'] is True and results['again']['changed'] is False
    writes = [(e['method'], e['path']) for e in api_writes(emulator.requests()[start:])]
    assert writes == [('DELETE', ROUTER_PATH)]


def test_google_refusal_is_one_sentence_and_bad_input_sends_nothing(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'zone as region', 'ignore_errors': True, 'openclaw.gcp.compute_router': router(region='us-central1-a')},
        {'name': 'bad nat name', 'ignore_errors': True, 'openclaw.gcp.compute_router': router(nats=[{'name': 'NAT 1'}])},
        {'name': 'no region', 'ignore_errors': True, 'openclaw.gcp.compute_router': {'name': 'gw-router'}},
    ]))
    assert "region 'us-central1-a' is a zone" in results['zone as region']['msg']
    assert "NAT name 'NAT 1' is invalid" in results['bad nat name']['msg']
    assert 'region' in results['no region']['msg']
    assert api_calls(emulator.requests()[start:]) == []
    # a network the project does not have: Google's refusal, named
    results = dict(runner.play([
        {'name': 'no such network', 'ignore_errors': True, 'openclaw.gcp.compute_router': router(network='prod')},
    ]))
    msg = results['no such network']['msg']
    assert msg.startswith('Failed to create router gw-router in region us-central1 (project openclaw-demo)'), msg
    assert 'The referenced network resource cannot be found.' in msg


def _provision(emu, workdir, extra):
    """Run playbooks/provision.yml on the controller only (memory backend: no SSH)."""
    runner = Runner(emu, workdir)
    with open(os.path.join(workdir, 'ansible.cfg'), 'w', encoding='utf-8') as handle:
        handle.write('[defaults]\nretry_files_enabled = False\n')
    extra = dict({'openclaw_gcp_project': PROJECT, 'openclaw_gcp_ssh_key_file': os.path.join(workdir, 'ssh', 'id_ed25519'),
                  'openclaw_gcp_known_hosts_file': os.path.join(workdir, 'known_hosts')}, **extra)
    with open(os.path.join(workdir, 'extra.json'), 'w', encoding='utf-8') as handle:
        json.dump(extra, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-l', 'localhost',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@' + os.path.join(workdir, 'extra.json'),
           os.path.join(ROOT, 'playbooks', 'provision.yml')]
    proc = subprocess.run(cmd, env=runner.env(), cwd=workdir, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    return report['stats']['localhost']


def _get(emu, path):
    import requests  # pylint: disable=import-outside-toplevel
    answer = requests.get('%s/compute/v1/projects/%s/%s' % (emu.endpoint, PROJECT, path), timeout=30,
                          headers={'Authorization': 'Bearer ' + emu.token})
    answer.raise_for_status()
    return answer.json()


def test_provision_private_mode_is_the_default(tmp_path):
    gateways = [{'name': 'gw-private-a', 'zone': 'us-central1-a'}, {'name': 'gw-private-b', 'zone': 'europe-west1-b'}]
    with Emulator(tmp_path / 'emulator', backend='memory', propagation_delay=0) as emu:
        work = tmp_path / 'work'
        work.mkdir()
        # no openclaw_gcp_public_ip: private mode is the default
        stats = _provision(emu, str(work), {'openclaw_gcp_gateways': gateways,
                                            # ignored in private mode: SSH comes from IAP only
                                            'openclaw_gcp_ssh_source_ranges': ['0.0.0.0/0']})
        assert stats['failures'] == 0 and stats['changed'] > 0
        rule = _get(emu, 'global/firewalls/openclaw-allow-ssh')
        assert rule['sourceRanges'] == [IAP_RANGE]
        assert rule['targetTags'] == ['openclaw-gateway']
        assert rule['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}]
        created = [f for f in _get(emu, 'global/firewalls')['items'] if not f['name'].startswith('default-')]
        assert [f['name'] for f in created] == ['openclaw-allow-ssh']
        assert all('0.0.0.0/0' not in f.get('sourceRanges', []) for f in created)
        for gateway in gateways:
            inst = _get(emu, 'zones/%s/instances/%s' % (gateway['zone'], gateway['name']))
            assert 'accessConfigs' not in inst['networkInterfaces'][0], inst['networkInterfaces'][0]
            region = gateway['zone'][:-2]
            got = _get(emu, 'regions/%s/routers/openclaw-router-default' % region)
            assert got['network'].endswith('/global/networks/default')
            assert [(n['name'], n['natIpAllocateOption'], n['sourceSubnetworkIpRangesToNat']) for n in got['nats']] == [
                ('openclaw-nat-default', 'AUTO_ONLY', 'ALL_SUBNETWORKS_ALL_IP_RANGES')]
            status = _get(emu, 'regions/%s/routers/openclaw-router-default/getRouterStatus' % region)
            assert status['result']['natStatus'][0]['numVmEndpointsWithNatMappings'] == 1
            # the state disk outlives the VM and carries its region's snapshot schedule
            disk = _get(emu, 'zones/%s/disks/%s-state' % (gateway['zone'], gateway['name']))
            assert disk['resourcePolicies'] == [
                '%s/compute/v1/projects/%s/regions/%s/resourcePolicies/openclaw-state-daily' % (
                    disk['selfLink'].split('/compute/v1/')[0], PROJECT, region)]
            policy = _get(emu, 'regions/%s/resourcePolicies/openclaw-state-daily' % region)
            schedule = policy['snapshotSchedulePolicy']
            assert schedule['schedule']['dailySchedule']['startTime'] == '04:00'
            assert schedule['retentionPolicy'] == {'maxRetentionDays': 14, 'onSourceDiskDelete': 'KEEP_AUTO_SNAPSHOTS'}

        # a second run changes nothing and writes nothing
        start = len(emu.requests())
        again = _provision(emu, str(work), {'openclaw_gcp_public_ip': False, 'openclaw_gcp_gateways': gateways})
        assert again['changed'] == 0 and again['failures'] == 0
        assert api_writes(emu.requests()[start:]) == []


def test_provision_public_mode_is_unchanged(tmp_path):
    gateways = [{'name': 'gw-public', 'zone': 'us-central1-a'}]
    with Emulator(tmp_path / 'emulator', backend='memory', propagation_delay=0) as emu:
        work = tmp_path / 'work'
        work.mkdir()
        stats = _provision(emu, str(work), {'openclaw_gcp_gateways': gateways, 'openclaw_gcp_public_ip': True,
                                            'openclaw_gcp_ssh_source_ranges': ['203.0.113.0/24']})
        assert stats['failures'] == 0
        # public mode never touches routers
        assert not [e for e in emu.requests() if '/routers' in e['path']]
        assert _get(emu, 'global/firewalls/openclaw-allow-ssh')['sourceRanges'] == ['203.0.113.0/24']
        inst = _get(emu, 'zones/us-central1-a/instances/gw-public')
        assert inst['networkInterfaces'][0]['accessConfigs'][0]['natIP']
        assert not any(scoped.get('routers') for scoped in _get(emu, 'aggregated/routers')['items'].values())
