# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_disk: create, grow only, labels kept unless purged, resource policies, refusal to delete a used disk."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import compute_disk as cd

DISK = {'name': 'state', 'zone': 'us-central1-a', 'size_gb': 10, 'labels': {'openclaw-role': 'state'}}


def only_gets(google):
    return [c[0] for c in google.calls] == ['GET']


def test_check_apply_check_apply(google, run):
    first = run(cd, DISK, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['create'] and google.writes() == []
    assert first['diff']['before'] == {'state': 'absent'}
    assert first['disk']['size_gb'] == 10 and first['disk']['type'] == 'pd-balanced' and first['disk']['users'] == []
    created = run(cd, DISK)
    assert created['changed'] is True and created['disk']['id'] is not None
    insert = google.writes()
    assert len(insert) == 1 and insert[0][1].endswith('/zones/us-central1-a/disks')
    assert insert[0][3]['sizeGb'] == '10' and insert[0][3]['type'] == 'projects/demo/zones/us-central1-a/diskTypes/pd-balanced'
    assert insert[0][2]['requestId']
    del google.calls[:]
    assert run(cd, DISK, check=True)['changed'] is False
    again = run(cd, DISK, diff=True)
    assert again['changed'] is False and again['actions'] == [] and again['diff']['before'] == again['diff']['after']
    assert [c[0] for c in google.calls] == ['GET', 'GET']


def test_create_needs_a_size(google, run):
    result = run(cd, dict(DISK, size_gb=None))
    assert result['failed'] and 'without size_gb' in result['msg'] and google.writes() == []


def test_grow_only(google, run):
    google.add_disk('state', size_gb=20)
    del google.calls[:]
    shrink = run(cd, dict(DISK, size_gb=10))
    assert shrink['failed'] and 'Cannot shrink disk state' in shrink['msg'] and 'from 20 GB to 10 GB' in shrink['msg']
    assert google.writes() == []
    assert run(cd, dict(DISK, size_gb=10), check=True)['failed'] is True
    grown = run(cd, dict(DISK, size_gb=30, labels=None), diff=True)
    assert grown['changed'] and grown['actions'] == ['resize to 30 GB'] and grown['disk']['size_gb'] == 30
    assert grown['diff']['before']['size_gb'] == 20 and grown['diff']['after']['size_gb'] == 30
    assert [w[1].rsplit('/', 1)[-1] for w in google.writes()] == ['resize']
    assert google.disks[('us-central1-a', 'state')]['sizeGb'] == '30'


def test_labels_kept_unless_purged(google, run):
    google.add_disk('state', labels={'goog-backup': 'x', 'openclaw-role': 'old'})
    result = run(cd, DISK)
    assert result['actions'] == ['set labels'] and result['disk']['labels'] == {'goog-backup': 'x', 'openclaw-role': 'state'}
    del google.calls[:]
    assert run(cd, DISK)['changed'] is False and google.writes() == []
    purged = run(cd, dict(DISK, purge_labels=True))
    assert purged['changed'] and purged['disk']['labels'] == {'openclaw-role': 'state'}


def test_stale_label_fingerprint_is_merged_again(google, run):
    google.add_disk('state')
    real = google.disk_route

    def racing(method, zone, rest, params, body):
        if rest[1:] == ['setLabels'] and not google.disks[('us-central1-a', 'state')]['labels']:
            disk = google.disks[('us-central1-a', 'state')]
            disk['labels'] = {'other': 'tool'}
            disk['labelFingerprint'] = google.fingerprint(disk['labels'])
        return real(method, zone, rest, params, body)
    google.disk_route = racing
    result = run(cd, DISK)
    assert result['changed'] and result['disk']['labels'] == {'other': 'tool', 'openclaw-role': 'state'}
    assert len([w for w in google.writes() if w[1].endswith('/setLabels')]) == 2


def test_resource_policies(google, run):
    google.add_disk('state')
    added = run(cd, dict(DISK, labels=None, resource_policies=['daily']), check=True)
    assert added['actions'] == ['add resource policies daily'] and google.writes() == []
    added = run(cd, dict(DISK, labels=None, resource_policies=['daily']))
    assert added['disk']['resource_policies'] == ['daily']
    body = google.writes()[-1][3]
    assert body == {'resourcePolicies': ['projects/demo/regions/us-central1/resourcePolicies/daily']}
    del google.calls[:]
    assert run(cd, dict(DISK, labels=None, resource_policies=['daily']))['changed'] is False and google.writes() == []
    swapped = run(cd, dict(DISK, labels=None, resource_policies=['projects/demo/regions/us-central1/resourcePolicies/weekly']))
    assert swapped['actions'] == ['remove resource policies daily', 'add resource policies weekly']
    assert swapped['disk']['resource_policies'] == ['weekly']
    cleared = run(cd, dict(DISK, labels=None, resource_policies=[]))
    assert cleared['disk']['resource_policies'] == []
    # not set: left alone
    google.disks[('us-central1-a', 'state')]['resourcePolicies'] = ['x/regions/us-central1/resourcePolicies/daily']
    del google.calls[:]
    assert run(cd, dict(DISK, labels=None))['changed'] is False and google.writes() == []


def test_unknown_policy_fails_with_one_sentence(google, run):
    google.add_disk('state')
    result = run(cd, dict(DISK, labels=None, resource_policies=['nope']))
    assert result['failed'] and result['msg'].startswith('Failed to add resource policies disk state in zone us-central1-a')
    assert 'HTTP 404' in result['msg']


def test_delete_refused_while_attached(google, run):
    google.add_disk('state', users=[google.add_instance('gw')['selfLink']])
    for check in (True, False):
        result = run(cd, dict(DISK, state='absent'), check=check)
        assert result['failed'] and 'attached to instance gw' in result['msg'] and 'no change was made' in result['msg']
    assert google.writes() == [] and ('us-central1-a', 'state') in google.disks


def test_delete(google, run):
    google.add_disk('state')
    check = run(cd, dict(DISK, state='absent'), check=True, diff=True)
    assert check['changed'] and check['actions'] == ['delete'] and check['diff']['after'] == {'state': 'absent'}
    assert google.writes() == []
    assert run(cd, dict(DISK, state='absent'))['changed'] is True and not google.disks
    del google.calls[:]
    assert run(cd, dict(DISK, state='absent'))['changed'] is False and only_gets(google)


def test_lost_insert_is_not_sent_twice(google, run):
    google.inject('lost', method='POST', pattern='/disks$')
    result = run(cd, DISK)
    assert result['changed'] and len(google.disks) == 1
    assert len([w for w in google.writes() if w[1].endswith('/disks')]) == 1


def test_creation_only_options_warn(google, run):
    google.add_disk('state', disk_type='pd-standard')
    params = dict(DISK, labels=None, type='pd-ssd', description='new')
    del google.calls[:]
    assert run(cd, params)['changed'] is False and google.writes() == []
    warnings = cd.creation_warnings(cd.disk_summary(google.disks[('us-central1-a', 'state')]), params)
    assert len(warnings) == 2 and 'type=pd-ssd only applies when creating' in warnings[0]


def test_create_from_a_snapshot(google, run):
    google.add_snapshot('state-snap', disk_size_gb=20)
    task = dict(DISK, size_gb=None, source_snapshot='state-snap')
    check = run(cd, task, check=True, diff=True)
    assert check['changed'] and check['actions'] == ['create from snapshot state-snap'] and google.writes() == []
    assert check['disk']['size_gb'] == 20 and check['disk']['source_snapshot'] == 'state-snap'
    assert check['diff']['after']['source_snapshot'] == 'state-snap'
    created = run(cd, task)
    assert created['changed'] and created['disk']['size_gb'] == 20 and created['disk']['source_snapshot'] == 'state-snap'
    body = google.writes()[0][3]
    assert body['sourceSnapshot'] == 'projects/demo/global/snapshots/state-snap' and body['sizeGb'] == '20'
    # the disk exists now: the option is ignored, nothing is written; another snapshot is reported
    del google.calls[:]
    assert run(cd, task)['changed'] is False and google.writes() == []
    google.add_snapshot('other-snap')
    other = run(cd, dict(task, source_snapshot='projects/demo/global/snapshots/other-snap'))
    assert other['changed'] is False and google.writes() == [] and other['disk']['source_snapshot'] == 'state-snap'
    warnings = cd.creation_warnings(other['disk'], dict(task, source_snapshot='other-snap'))
    assert warnings == ['Disk state already exists (it was created from snapshot state-snap); source_snapshot=other-snap '
                        'only applies when creating, so it was ignored and the disk left as it is.']
    assert 'created blank' in cd.creation_warnings(dict(other['disk'], source_snapshot=''), task)[0]


def test_create_from_a_larger_size_than_the_snapshot(google, run):
    google.add_snapshot('state-snap', disk_size_gb=10)
    created = run(cd, dict(DISK, size_gb=30, source_snapshot='state-snap'))
    assert created['disk']['size_gb'] == 30 and google.writes()[0][3]['sizeGb'] == '30'


@pytest.mark.parametrize('snapshot, size, fragment', [
    (None, None, 'from snapshot state-snap: it does not exist'),
    ('CREATING', None, 'it is CREATING, not READY yet'),
    ('READY', 10, 'with 10 GB: the snapshot is of a 20 GB disk; give size_gb 20 or more'),
])
def test_bad_snapshot_fails_before_any_write(google, run, snapshot, size, fragment):
    if snapshot:
        google.add_snapshot('state-snap', disk_size_gb=20, status=snapshot)
    for check in (True, False):
        result = run(cd, dict(DISK, size_gb=size, source_snapshot='state-snap'), check=check)
        assert result['failed'] and fragment in result['msg'] and 'no change was made' in result['msg']
    assert google.writes() == [] and not google.disks


@pytest.mark.parametrize('change, fragment', [
    ({'name': 'Bad_Name'}, "Disk name 'Bad_Name' is invalid"),
    ({'zone': 'us-central1'}, "Zone 'us-central1' is not a zone name"),
    ({'size_gb': 5}, 'size_gb must be between 10 and 65536 for a pd-balanced disk'),
    ({'labels': {'Bad': 'x'}}, "label key 'Bad' is invalid"),
    ({'labels': None, 'purge_labels': True}, 'purge_labels needs labels'),
    ({'resource_policies': ['Bad!']}, "Resource policy name 'Bad!' is invalid"),
    ({'timeout': 0}, 'timeout must be a positive number'),
    ({'source_snapshot': 'Bad_Snap'}, "Snapshot name 'Bad_Snap' is invalid"),
])
def test_bad_input_fails_before_any_request(google, run, change, fragment):
    result = run(cd, dict(DISK, **change))
    assert result['failed'] and fragment in result['msg'] and 'no request was sent' in result['msg']
    assert google.calls == []
