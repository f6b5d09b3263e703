# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_resource_policy and compute_snapshot_info against the emulator: check, apply, check
again, apply again; an in-place update; a storage location that needs recreate; a policy in use
by a disk; the scheduled snapshots of a disk found for a restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import urllib.request

from gcp_playbooks import api_writes

PROJECT = 'openclaw-demo'
ZONE = 'us-central1-a'
REGION = 'us-central1'
POLICY = {'name': 'state-nightly', 'region': REGION, 'schedule': {'frequency': 'daily', 'start_time': '03:00'},
          'max_retention_days': 7, 'snapshot_labels': {'backup': 'nightly'}, 'storage_locations': ['us']}


def admin(emulator, action, body):
    request = urllib.request.Request(emulator.endpoint + '/_emulator/' + action, data=json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'}, method='POST')
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback only
        return json.loads(answer.read())


def api(emulator, method, path, body=None):
    request = urllib.request.Request('%s/compute/v1/projects/%s/%s' % (emulator.endpoint, PROJECT, path),
                                     data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + emulator.token})
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback only
        return json.loads(answer.read() or b'null')


def test_check_apply_check_apply_update_and_recreate(emulator, runner):
    task = {'name': 'policy', 'openclaw.gcp.compute_resource_policy': POLICY}
    checked = dict(runner.play([task], check=True, diff=True))['policy']
    assert checked['changed'] is True and checked['actions'] == ['create']
    assert api_writes(emulator.requests()) == []
    applied = dict(runner.play([task]))['policy']
    assert applied['changed'] is True and applied['policy']['status'] == 'READY'
    assert applied['policy']['self_link'].endswith('/regions/us-central1/resourcePolicies/state-nightly')
    start = len(emulator.requests())
    again = dict(runner.play([dict(task, name='check'), dict(task, name='apply')], check=False))
    assert again['check']['changed'] is False and again['apply']['changed'] is False
    assert api_writes(emulator.requests()[start:]) == []
    gets = [e for e in emulator.requests()[start:] if e['api'] == 'compute']
    assert len(gets) == 2  # one GET per run

    # what Google lets change: one PATCH
    start = len(emulator.requests())
    changed = dict(POLICY, max_retention_days=3, on_source_disk_delete='apply_retention_policy')
    update = {'name': 'update', 'openclaw.gcp.compute_resource_policy': changed}
    updated = dict(runner.play([update, dict(update, name='again')], diff=True))
    assert updated['update']['actions'] == ['update max_retention_days, on_source_disk_delete']
    assert updated['update']['diff']['after']['max_retention_days'] == 3
    assert updated['again']['changed'] is False
    assert [e['method'] for e in api_writes(emulator.requests()[start:])] == ['PATCH']
    stored = api(emulator, 'GET', 'regions/%s/resourcePolicies/state-nightly' % REGION)['snapshotSchedulePolicy']
    assert stored['retentionPolicy'] == {'maxRetentionDays': 3, 'onSourceDiskDelete': 'APPLY_RETENTION_POLICY'}

    # storage location: refused without recreate, no write
    start = len(emulator.requests())
    moved = dict(POLICY, max_retention_days=3, on_source_disk_delete='apply_retention_policy', storage_locations=['eu'])
    refused = dict(runner.play([{'name': 'move', 'ignore_errors': True, 'openclaw.gcp.compute_resource_policy': moved}]))['move']
    assert refused['failed'] is True and 'recreate=true' in refused['msg']
    assert api_writes(emulator.requests()[start:]) == []
    recreated = dict(runner.play([{'name': 'move', 'openclaw.gcp.compute_resource_policy': dict(moved, recreate=True)}]))['move']
    assert recreated['changed'] is True and recreated['policy']['storage_locations'] == ['eu']
    assert [e['method'] for e in api_writes(emulator.requests()[start:])] == ['DELETE', 'POST']


def test_in_use_policy_and_snapshot_info(emulator, runner):
    runner.play([
        {'name': 'vm', 'openclaw.gcp.compute_instance': {'name': 'snap-gw', 'zone': ZONE, 'machine_type': 'e2-small'}},
        {'name': 'policy', 'openclaw.gcp.compute_resource_policy': POLICY},
    ])
    disk = api(emulator, 'GET', 'zones/%s/disks/snap-gw' % ZONE)
    api(emulator, 'POST', 'zones/%s/disks/snap-gw/addResourcePolicies' % ZONE,
        {'resourcePolicies': ['projects/%s/regions/%s/resourcePolicies/state-nightly' % (PROJECT, REGION)]})
    first = admin(emulator, 'resource-policies/run', {'region': REGION, 'name': 'state-nightly'})['created']
    second = admin(emulator, 'resource-policies/run', {'region': REGION, 'name': 'state-nightly', 'elapsed_days': 1})['created']
    api(emulator, 'POST', 'zones/%s/disks/snap-gw/createSnapshot' % ZONE, {'name': 'manual-before-upgrade'})

    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'scheduled', 'openclaw.gcp.compute_snapshot_info': dict(disk='snap-gw', zone=ZONE, auto_created=True, status='READY')},
        {'name': 'all', 'openclaw.gcp.compute_snapshot_info': {'disk': 'snap-gw', 'zone': ZONE}},
        {'name': 'labelled', 'openclaw.gcp.compute_snapshot_info': {'labels': {'backup': 'nightly'}}},
        {'name': 'delete', 'ignore_errors': True, 'openclaw.gcp.compute_resource_policy': {
            'name': 'state-nightly', 'region': REGION, 'state': 'absent'}},
    ]))
    scheduled = results['scheduled']['snapshots']
    assert [s['name'] for s in scheduled] == second + first  # newest first
    assert scheduled[0]['schedule'] == 'state-nightly' and scheduled[0]['source_disk'] == 'snap-gw'
    assert scheduled[0]['disk_size_gb'] == int(disk['sizeGb']) and scheduled[0]['labels'] == {'backup': 'nightly'}
    assert {s['name'] for s in results['all']['snapshots']} == set(first + second + ['manual-before-upgrade'])
    assert len(results['labelled']['snapshots']) == 2
    refused = results['delete']
    assert refused['failed'] is True and refused['reason'] == 'resourceInUseByAnotherResource'
    assert 'detach it from every disk before deleting it' in refused['msg']
    assert [e['method'] for e in api_writes(emulator.requests()[start:])] == ['DELETE']  # refused by Google, nothing changed

    api(emulator, 'POST', 'zones/%s/disks/snap-gw/removeResourcePolicies' % ZONE,
        {'resourcePolicies': ['projects/%s/regions/%s/resourcePolicies/state-nightly' % (PROJECT, REGION)]})
    gone = dict(runner.play([{'name': 'delete', 'openclaw.gcp.compute_resource_policy': {
        'name': 'state-nightly', 'region': REGION, 'state': 'absent'}}]))['delete']
    assert gone['changed'] is True
