# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_disk and compute_instance attached_disks against the emulator: check, apply, check
again, apply again; grow only; a used disk is never deleted; the disk outlives its VM."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
import urllib.request

from gcp_playbooks import api_writes

ZONE = 'us-central1-a'
DISK = {'name': 'gw-state', 'zone': ZONE, 'size_gb': 10, 'labels': {'openclaw-role': 'state'}}
ATTACH = [{'name': 'gw-state', 'device_name': 'openclaw-state'}]


def api(emulator, method, path, body=None):
    request = urllib.request.Request('%s/compute/v1/projects/openclaw-demo/%s' % (emulator.endpoint, path),
                                     data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + emulator.token})
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback only
        return json.loads(answer.read() or b'null')


def writes(emulator, start):
    return [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in api_writes(emulator.requests()[start:])]


def test_disk_check_apply_check_apply(emulator, runner):
    task = {'openclaw.gcp.compute_disk': DISK}
    first = dict(runner.play([dict(task, name='disk')], check=True, diff=True))['disk']
    assert first['changed'] is True and first['actions'] == ['create'] and first['diff']['before'] == {'state': 'absent'}
    assert writes(emulator, 0) == []
    start = len(emulator.requests())
    created = dict(runner.play([dict(task, name='disk')]))['disk']
    assert created['changed'] is True and created['disk']['size_gb'] == 10 and created['disk']['status'] == 'READY'
    assert created['disk']['type'] == 'pd-balanced' and created['disk']['users'] == []
    assert writes(emulator, start) == [('POST', 'disks')]
    start = len(emulator.requests())
    again = dict(runner.play([dict(task, name='check'), dict(task, name='apply')], check=False))
    assert again['check']['changed'] is False and again['apply']['changed'] is False
    assert writes(emulator, start) == []
    gets = [e for e in emulator.requests()[start:] if e['method'] == 'GET' and e['path'].endswith('/disks/gw-state')]
    assert len(gets) == 2, 'one GET per unchanged run'

    # grow only: a smaller size fails before any write, a larger one resizes
    start = len(emulator.requests())
    grown = dict(runner.play([{'name': 'grow', 'openclaw.gcp.compute_disk': dict(DISK, size_gb=20)},
                              {'name': 'shrink', 'ignore_errors': True, 'openclaw.gcp.compute_disk': dict(DISK, size_gb=15)}],
                             diff=True))
    assert grown['grow']['actions'] == ['resize to 20 GB'] and grown['grow']['disk']['size_gb'] == 20
    assert grown['shrink']['failed'] is True and 'Cannot shrink disk gw-state' in grown['shrink']['msg']
    assert writes(emulator, start) == [('POST', 'resize')]

    # labels kept unless purged
    start = len(emulator.requests())
    labelled = dict(runner.play([
        {'name': 'add', 'openclaw.gcp.compute_disk': dict(DISK, size_gb=None, labels={'team': 'ops'})},
        {'name': 'keep', 'openclaw.gcp.compute_disk': dict(DISK, size_gb=None, labels={'team': 'ops'})},
        {'name': 'purge', 'openclaw.gcp.compute_disk': dict(DISK, size_gb=None, labels={'team': 'ops'}, purge_labels=True)},
    ]))
    assert labelled['add']['disk']['labels'] == {'openclaw-role': 'state', 'team': 'ops'}
    assert labelled['keep']['changed'] is False
    assert labelled['purge']['disk']['labels'] == {'team': 'ops'}
    assert writes(emulator, start) == [('POST', 'setLabels'), ('POST', 'setLabels')]


def test_attach_detach_and_the_disk_outlives_its_vm(emulator, runner):
    vm = {'name': 'gw-disk', 'zone': ZONE, 'machine_type': 'e2-micro'}
    created = dict(runner.play([
        {'name': 'disk', 'openclaw.gcp.compute_disk': DISK},
        {'name': 'vm', 'openclaw.gcp.compute_instance': dict(vm, attached_disks=ATTACH)},
        {'name': 'disk again', 'openclaw.gcp.compute_disk': DISK},
    ]))
    assert created['vm']['instance']['attached_disks'] == [
        {'name': 'gw-state', 'device_name': 'openclaw-state', 'mode': 'READ_WRITE', 'auto_delete': False}]
    assert created['disk again']['disk']['users'] == ['gw-disk']

    start = len(emulator.requests())
    same = dict(runner.play([{'name': 'vm', 'openclaw.gcp.compute_instance': dict(vm, attached_disks=ATTACH)}]))
    assert same['vm']['changed'] is False and writes(emulator, start) == []

    # a used disk is never deleted (also not in check mode)
    start = len(emulator.requests())
    for check in (True, False):
        refused = dict(runner.play([{'name': 'delete', 'ignore_errors': True,
                                     'openclaw.gcp.compute_disk': dict(DISK, state='absent')}], check=check))['delete']
        assert refused['failed'] is True and 'attached to instance gw-disk' in refused['msg']
    assert writes(emulator, start) == []

    # detach on the running VM, check first, then again (no change)
    detach = dict(vm, attached_disks=[{'name': 'gw-state', 'state': 'absent'}])
    start = len(emulator.requests())
    results = dict(runner.play([{'name': 'check', 'openclaw.gcp.compute_instance': detach}], check=True, diff=True))
    assert results['check']['actions'] == ['detach disk gw-state'] and writes(emulator, start) == []
    results = dict(runner.play([{'name': 'detach', 'openclaw.gcp.compute_instance': detach},
                                {'name': 'again', 'openclaw.gcp.compute_instance': detach}]))
    assert results['detach']['instance']['attached_disks'] == [] and results['again']['changed'] is False
    assert writes(emulator, start) == [('POST', 'detachDisk')]

    # attach to the existing VM, delete the VM: the disk stays and a new VM gets it back
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'attach', 'openclaw.gcp.compute_instance': dict(vm, attached_disks=ATTACH)},
        {'name': 'delete vm', 'openclaw.gcp.compute_instance': dict(vm, state='absent')},
        {'name': 'disk after', 'openclaw.gcp.compute_disk': DISK},
        {'name': 'new vm', 'openclaw.gcp.compute_instance': dict(vm, attached_disks=ATTACH)},
    ]))
    assert results['attach']['actions'] == ['attach disk gw-state as openclaw-state']
    assert results['disk after']['changed'] is False and results['disk after']['disk']['users'] == []
    assert results['new vm']['instance']['attached_disks'][0]['name'] == 'gw-state'
    assert writes(emulator, start) == [('POST', 'attachDisk'), ('DELETE', 'gw-disk'), ('POST', 'instances')]


def test_disk_from_a_snapshot(emulator, runner):
    runner.play([{'name': 'disk', 'openclaw.gcp.compute_disk': dict(DISK, size_gb=20)}])
    api(emulator, 'POST', 'zones/%s/disks/gw-state/createSnapshot' % ZONE, {'name': 'gw-state-snap'})
    for dummy in range(100):  # bounded: the snapshot turns READY after the emulator's latency
        if api(emulator, 'GET', 'global/snapshots/gw-state-snap')['status'] == 'READY':
            break
        time.sleep(0.1)
    restored = {'name': 'gw-restored', 'zone': ZONE, 'source_snapshot': 'gw-state-snap', 'labels': {'openclaw-role': 'state'}}
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'too small', 'ignore_errors': True, 'openclaw.gcp.compute_disk': dict(restored, size_gb=10)},
        {'name': 'missing', 'ignore_errors': True, 'openclaw.gcp.compute_disk': dict(restored, source_snapshot='no-such-snap')},
        {'name': 'check', 'check_mode': True, 'openclaw.gcp.compute_disk': restored},
    ], diff=True))
    assert 'the snapshot is of a 20 GB disk' in results['too small']['msg']
    assert 'from snapshot no-such-snap: it does not exist' in results['missing']['msg']
    assert results['check']['actions'] == ['create from snapshot gw-state-snap'] and results['check']['disk']['size_gb'] == 20
    assert writes(emulator, start) == []
    results = dict(runner.play([
        {'name': 'create', 'openclaw.gcp.compute_disk': restored},
        {'name': 'again', 'openclaw.gcp.compute_disk': restored},
        {'name': 'other', 'openclaw.gcp.compute_disk': dict(restored, source_snapshot='another-snap')},
    ]))
    created = results['create']['disk']
    assert created['size_gb'] == 20 and created['source_snapshot'] == 'gw-state-snap' and created['status'] in ('READY', 'RESTORING')
    assert results['again']['changed'] is False and 'warnings' not in results['again']
    assert results['other']['changed'] is False and 'source_snapshot=another-snap only applies when creating' in results['other']['warnings'][0]
    assert writes(emulator, start) == [('POST', 'disks')]
    stored = api(emulator, 'GET', 'zones/%s/disks/gw-restored' % ZONE)
    assert stored['sourceSnapshot'].endswith('/global/snapshots/gw-state-snap') and stored['sizeGb'] == '20'
