# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_instance attached_disks: attached at insert, attachDisk/detachDisk on an existing VM,
only the disks the option names, check/diff, one GET when nothing changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.openclaw.gcp.plugins.modules import compute_instance as ci
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import plan_disk_attachments, wanted_attached_disks

VM = {'name': 'vm1', 'zone': 'us-central1-a'}
STATE = [{'name': 'state', 'device_name': 'openclaw-state'}]


def verbs(google):
    return [c[1].rsplit('/', 1)[-1] if c[0] == 'POST' else c[0] for c in google.writes()]


def test_plan_touches_only_the_named_disks():
    current = [{'name': 'other', 'device_name': 'other', 'mode': 'READ_WRITE', 'auto_delete': True},
               {'name': 'state', 'device_name': 'openclaw-state', 'mode': 'READ_WRITE', 'auto_delete': True}]
    steps, warnings = plan_disk_attachments(current, wanted_attached_disks(
        [{'name': 'state', 'device_name': 'state-dev', 'mode': 'READ_WRITE', 'auto_delete': False}, {'name': 'new'}]))
    assert [(k, i['name']) for k, i in steps] == [('auto_delete', 'state'), ('attach', 'new')]
    assert warnings == ['disk state is attached with device name openclaw-state, not state-dev; detach it to change that']
    steps, warnings = plan_disk_attachments(current, wanted_attached_disks([{'name': 'x', 'device_name': 'other'}]))
    assert steps == [] and 'device name other is used by disk other' in warnings[0]
    steps, dummy = plan_disk_attachments(current, wanted_attached_disks([{'name': 'other', 'state': 'absent'}, {'name': 'gone', 'state': 'absent'}]))
    assert [(k, i['device_name']) for k, i in steps] == [('detach', 'other')]


def test_attached_at_insert(google, run):
    google.add_disk('state')
    check = run(ci, dict(VM, attached_disks=STATE), check=True, diff=True)
    assert check['changed'] and check['actions'] == ['create'] and google.writes() == []
    assert check['instance']['attached_disks'] == [{'name': 'state', 'device_name': 'openclaw-state', 'mode': 'READ_WRITE', 'auto_delete': False}]
    created = run(ci, dict(VM, attached_disks=STATE))
    body = google.writes()[0][3]
    assert body['disks'][1] == {'source': 'projects/demo/zones/us-central1-a/disks/state', 'deviceName': 'openclaw-state',
                                'mode': 'READ_WRITE', 'autoDelete': False, 'boot': False, 'type': 'PERSISTENT'}
    assert created['instance']['attached_disks'][0]['name'] == 'state'
    assert google.disks[('us-central1-a', 'state')]['users'] == [google.instances[('us-central1-a', 'vm1')]['selfLink']]
    del google.calls[:]
    assert run(ci, dict(VM, attached_disks=STATE))['changed'] is False
    assert [c[0] for c in google.calls] == ['GET']


def test_missing_disk_fails_before_any_write(google, run):
    for check in (True, False):
        result = run(ci, dict(VM, attached_disks=STATE), check=check)
        assert result['failed'] and 'Disk state does not exist in zone us-central1-a' in result['msg']
    google.add_instance('vm1')
    result = run(ci, dict(VM, attached_disks=STATE), check=True)
    assert result['failed'] and 'create it first with openclaw.gcp.compute_disk' in result['msg']
    assert google.writes() == []


def test_attach_and_detach_on_an_existing_instance(google, run):
    google.add_instance('vm1')
    google.add_disk('state')
    google.add_disk('scratch')
    run(ci, dict(VM, attached_disks=[{'name': 'scratch'}]))
    check = run(ci, dict(VM, attached_disks=STATE), check=True, diff=True)
    assert check['actions'] == ['attach disk state as openclaw-state']
    assert [d['name'] for d in check['diff']['after']['attached_disks']] == ['state', 'scratch']
    assert [d['name'] for d in check['diff']['before']['attached_disks']] == ['scratch']
    del google.calls[:]
    attached = run(ci, dict(VM, attached_disks=STATE))
    assert verbs(google) == ['attachDisk']
    assert google.writes()[0][3]['deviceName'] == 'openclaw-state'
    # scratch is not named by this task: it stays
    assert sorted(d['name'] for d in attached['instance']['attached_disks']) == ['scratch', 'state']
    del google.calls[:]
    assert run(ci, dict(VM, attached_disks=STATE))['changed'] is False and google.writes() == []
    detached = run(ci, dict(VM, attached_disks=[{'name': 'state', 'state': 'absent'}]))
    assert detached['actions'] == ['detach disk state'] and verbs(google) == ['detachDisk']
    assert google.writes()[0][2]['deviceName'] == 'openclaw-state'
    assert [d['name'] for d in detached['instance']['attached_disks']] == ['scratch']
    assert google.disks[('us-central1-a', 'state')]['users'] == []
    del google.calls[:]
    assert run(ci, dict(VM, attached_disks=[{'name': 'state', 'state': 'absent'}]))['changed'] is False and google.writes() == []


def test_auto_delete_is_updated_in_place(google, run):
    google.add_disk('state')
    run(ci, dict(VM, attached_disks=[{'name': 'state', 'auto_delete': True}]))
    del google.calls[:]
    result = run(ci, dict(VM, attached_disks=[{'name': 'state'}]))
    assert result['actions'] == ['set auto-delete of disk state to false'] and verbs(google) == ['setDiskAutoDelete']
    assert google.writes()[0][2]['autoDelete'] == 'false'
    assert result['instance']['attached_disks'][0]['auto_delete'] is False


def test_disk_survives_instance_deletion(google, run):
    google.add_disk('state')
    run(ci, dict(VM, attached_disks=STATE))
    run(ci, dict(VM, state='absent'))
    assert google.disks[('us-central1-a', 'state')]['users'] == []


def test_lost_attach_is_not_sent_twice(google, run):
    google.add_instance('vm1')
    google.add_disk('state')
    google.inject('lost', method='POST', pattern='/attachDisk$')
    result = run(ci, dict(VM, attached_disks=STATE))
    assert result['changed'] and len([w for w in google.writes() if w[1].endswith('/attachDisk')]) == 1


def test_bad_attached_disks_fail_before_any_request(google, run):
    result = run(ci, dict(VM, attached_disks=[{'name': 'a', 'device_name': 'dev'}, {'name': 'b', 'device_name': 'dev'}]))
    assert result['failed'] and 'attached_disks names device name dev twice' in result['msg'] and google.calls == []
    result = run(ci, dict(VM, attached_disks=[{'name': 'Bad_Disk'}]))
    assert result['failed'] and "attached_disks Disk name 'Bad_Disk' is invalid" in result['msg']
