# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_resource_policy and compute_snapshot_info: validation before any request, check mode,
diff, one GET when nothing changes, PATCH of what Google lets change, recreate of the rest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from fake_gcp import GOOGLE, FakeGoogle, error
from ansible_collections.openclaw.gcp.plugins.modules import compute_resource_policy as rp
from ansible_collections.openclaw.gcp.plugins.modules import compute_snapshot_info as info


class PolicyGoogle(FakeGoogle):
    """FakeGoogle plus regional resource policies, their operations and global snapshots."""

    def __init__(self, project='demo'):
        super(PolicyGoogle, self).__init__(project)
        self.policies = {}
        self.attached = set()
        self.snapshots = []

    def region_operation(self, kind, region, target):
        op = self.operation(kind, target)
        op['region'] = GOOGLE + 'projects/%s/regions/%s' % (self.project, region)
        op['selfLink'] = op['selfLink'].replace('/global/', '/regions/%s/' % region)
        self.operations[op['name']]['region'] = op['region']
        return op

    def _compute(self, method, rest, params, body):
        if rest[:1] == ['regions'] and rest[2:3] == ['operations']:
            return 200, self.operations[rest[3]]
        if rest[:1] == ['regions'] and rest[2:3] == ['resourcePolicies']:
            return self.resource_policy(method, rest[1], rest[3:], body)
        if rest == ['global', 'snapshots']:
            return 200, {'items': copy.deepcopy(self.snapshots)}
        return super(PolicyGoogle, self)._compute(method, rest, params, body)

    def resource_policy(self, method, region, rest, body):
        if not rest:
            name = body['name']
            target = 'projects/%s/regions/%s/resourcePolicies/%s' % (self.project, region, name)
            if (region, name) in self.policies:
                return error(409, 'alreadyExists', "The resource '%s' already exists" % target)
            stored = copy.deepcopy(body)
            stored.update(kind='compute#resourcePolicy', status='READY', selfLink=GOOGLE + target,
                          region=GOOGLE + 'projects/%s/regions/%s' % (self.project, region))
            stored['snapshotSchedulePolicy'].setdefault('retentionPolicy', {}).setdefault('onSourceDiskDelete', 'KEEP_AUTO_SNAPSHOTS')
            self.policies[(region, name)] = stored
            return 200, self.region_operation('insert', region, target)
        name = rest[0]
        target = 'projects/%s/regions/%s/resourcePolicies/%s' % (self.project, region, name)
        current = self.policies.get((region, name))
        if current is None:
            return error(404, 'notFound', "The resource '%s' was not found" % target)
        if method == 'GET':
            return 200, copy.deepcopy(current)
        if method == 'DELETE':
            if name in self.attached:
                return error(400, 'resourceInUseByAnotherResource', "The resource_policy resource '%s' is already being used by "
                             "'projects/%s/zones/us-central1-a/disks/state'" % (target, self.project))
            del self.policies[(region, name)]
            return 200, self.region_operation('delete', region, target)
        ssp = current['snapshotSchedulePolicy']
        given = body.get('snapshotSchedulePolicy') or {}
        if 'storageLocations' in (given.get('snapshotProperties') or {}):
            return error(400, 'invalid', 'The storage location of a snapshot schedule cannot be changed.')
        for key in ('schedule', 'retentionPolicy'):
            if key in given:
                ssp[key] = given[key]
        if 'labels' in (given.get('snapshotProperties') or {}):
            ssp.setdefault('snapshotProperties', {})['labels'] = given['snapshotProperties']['labels']
        if 'description' in body:
            current['description'] = body['description']
        return 200, self.region_operation('patch', region, target)


@pytest.fixture
def google(monkeypatch):
    import google.auth.transport.requests as transport  # pylint: disable=import-outside-toplevel
    from ansible_collections.openclaw.gcp.plugins.module_utils import gcp  # pylint: disable=import-outside-toplevel

    fake = PolicyGoogle()
    monkeypatch.setattr(transport, 'AuthorizedSession', fake.session_factory)
    monkeypatch.setattr(gcp.time, 'sleep', fake.sleep)
    return fake


AUTH = {'project': 'demo', 'auth_kind': 'accesstoken', 'access_token': 'x', 'api_endpoint_overrides': {'compute': 'http://fake.invalid/compute/v1/'}}
NIGHTLY = dict(AUTH, name='nightly', region='us-central1', schedule={'frequency': 'daily', 'start_time': '03:00'},
               max_retention_days=14, snapshot_labels={'backup': 'nightly'}, storage_locations=['us'])


def writes(google):
    return [(c[0], c[1].rsplit('/', 1)[-1]) for c in google.writes()]


@pytest.mark.parametrize('change, fragment', [
    ({'name': 'Nightly'}, "Resource policy name 'Nightly' is invalid"),
    ({'region': 'us-central1-a'}, "region 'us-central1-a' is not a region name"),
    ({'schedule': {'frequency': 'daily', 'start_time': '03:30'}}, 'must be a whole hour in UTC'),
    ({'schedule': {'frequency': 'hourly', 'start_time': '03:00'}}, 'hours_in_cycle must be between 1 and 23'),
    ({'schedule': {'frequency': 'daily', 'start_time': '03:00', 'hours_in_cycle': 4}}, 'only for frequency=hourly'),
    ({'schedule': {'frequency': 'weekly', 'start_time': '03:00', 'days': ['funday']}}, 'schedule.days must list days'),
    ({'schedule': None}, 'schedule is required'),
    ({'max_retention_days': 0}, 'max_retention_days must be between 1 and 65536'),
    ({'max_retention_days': None}, 'max_retention_days is required'),
    ({'snapshot_labels': {'Bad': 'x'}}, "label key 'Bad' is invalid"),
    ({'storage_locations': ['us', 'eu']}, 'at most one location'),
    ({'storage_locations': ['mars']}, "storage location 'mars'"),
])
def test_bad_input_fails_before_any_request(google, run, change, fragment):
    result = run(rp, dict(NIGHTLY, **change))
    assert result['failed'] is True and fragment in result['msg'] and 'no request was sent' in result['msg']
    assert google.calls == []


def test_check_apply_check_apply(google, run):
    first = run(rp, NIGHTLY, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['create'] and google.writes() == []
    assert first['diff']['before'] == {'state': 'absent'}
    assert first['policy']['schedule'] == {'frequency': 'daily', 'start_time': '03:00', 'hours_in_cycle': None, 'days': None}
    created = run(rp, NIGHTLY)
    assert created['changed'] is True and writes(google) == [('POST', 'resourcePolicies')]
    body = [c for c in google.calls if c[0] == 'POST'][0][3]
    assert body['snapshotSchedulePolicy'] == {
        'schedule': {'dailySchedule': {'daysInCycle': 1, 'startTime': '03:00'}},
        'retentionPolicy': {'maxRetentionDays': 14, 'onSourceDiskDelete': 'KEEP_AUTO_SNAPSHOTS'},
        'snapshotProperties': {'labels': {'backup': 'nightly'}, 'storageLocations': ['us']}}
    assert created['policy']['self_link'].endswith('/regions/us-central1/resourcePolicies/nightly')
    del google.calls[:]
    assert run(rp, NIGHTLY, check=True)['changed'] is False
    again = run(rp, NIGHTLY, diff=True)
    assert again['changed'] is False and again['diff']['before'] == again['diff']['after']
    assert [c[0] for c in google.calls] == ['GET', 'GET']


def test_update_patches_only_what_changed(google, run):
    run(rp, NIGHTLY)
    del google.calls[:]
    changed = dict(NIGHTLY, max_retention_days=7, on_source_disk_delete='apply_retention_policy', snapshot_labels={})
    predicted = run(rp, changed, check=True, diff=True)
    assert predicted['changed'] is True and google.writes() == []
    assert predicted['actions'] == ['update max_retention_days, on_source_disk_delete, snapshot_labels']
    result = run(rp, changed, diff=True)
    assert result['actions'] == predicted['actions'] and result['policy'] == predicted['policy'] | {'status': 'READY'}
    patch = [c for c in google.calls if c[0] == 'PATCH']
    assert len(patch) == 1 and patch[0][3] == {'snapshotSchedulePolicy': {
        'retentionPolicy': {'maxRetentionDays': 7, 'onSourceDiskDelete': 'APPLY_RETENTION_POLICY'},
        'snapshotProperties': {'labels': {}}}}
    assert result['diff']['before']['max_retention_days'] == 14 and result['diff']['after']['max_retention_days'] == 7
    del google.calls[:]
    assert run(rp, changed)['changed'] is False and google.writes() == []


def test_weekly_and_hourly_schedules(google, run):
    weekly = dict(NIGHTLY, schedule={'frequency': 'weekly', 'start_time': '01:00', 'days': ['Sunday', 'monday']})
    run(rp, weekly)
    stored = google.policies[('us-central1', 'nightly')]['snapshotSchedulePolicy']['schedule']
    assert stored == {'weeklySchedule': {'dayOfWeeks': [{'day': 'MONDAY', 'startTime': '01:00'}, {'day': 'SUNDAY', 'startTime': '01:00'}]}}
    assert run(rp, dict(weekly, schedule=dict(weekly['schedule'], days=['monday', 'sunday'])))['changed'] is False
    hourly = dict(NIGHTLY, schedule={'frequency': 'hourly', 'start_time': '00:00', 'hours_in_cycle': 6})
    result = run(rp, hourly)
    assert result['actions'] == ['update schedule']
    assert result['policy']['schedule']['hours_in_cycle'] == 6


def test_storage_location_needs_recreate(google, run):
    run(rp, NIGHTLY)
    del google.calls[:]
    moved = dict(NIGHTLY, storage_locations=['eu'])
    refused = run(rp, moved)
    assert refused['failed'] is True and 'Cannot change storage_locations' in refused['msg'] and 'recreate=true' in refused['msg']
    assert google.writes() == []
    predicted = run(rp, dict(moved, recreate=True), check=True)
    assert predicted['changed'] is True and predicted['actions'] == ['recreate (storage_locations)'] and google.writes() == []
    # attached to a disk: Google refuses the delete, the message says what to do
    google.attached.add('nightly')
    blocked = run(rp, dict(moved, recreate=True))
    assert blocked['failed'] is True and 'detach it from every disk before recreating it' in blocked['msg']
    assert blocked['reason'] == 'resourceInUseByAnotherResource'
    google.attached.clear()
    del google.calls[:]
    done = run(rp, dict(moved, recreate=True))
    assert done['changed'] is True and done['policy']['storage_locations'] == ['eu']
    assert done['policy']['max_retention_days'] == 14
    assert writes(google) == [('DELETE', 'nightly'), ('POST', 'resourcePolicies')]


def test_absent(google, run):
    assert run(rp, dict(AUTH, name='nightly', region='us-central1', state='absent'))['changed'] is False
    run(rp, NIGHTLY)
    google.attached.add('nightly')
    blocked = run(rp, dict(AUTH, name='nightly', region='us-central1', state='absent'))
    assert blocked['failed'] is True and 'before deleting it' in blocked['msg']
    google.attached.clear()
    assert run(rp, dict(AUTH, name='nightly', region='us-central1', state='absent'), check=True)['changed'] is True
    assert ('us-central1', 'nightly') in google.policies
    assert run(rp, dict(AUTH, name='nightly', region='us-central1', state='absent'))['changed'] is True
    assert google.policies == {}


def test_lost_create_answer_is_not_repeated(google, run):
    google.inject('lost', 'POST', 'resourcePolicies$')
    result = run(rp, NIGHTLY)
    assert result['changed'] is True and len(google.policies) == 1
    assert len([c for c in google.calls if c[0] == 'POST' and c[1].endswith('resourcePolicies')]) == 1


def snapshot(name, disk, when, auto=False, labels=None):
    out = {'name': name, 'status': 'READY', 'diskSizeGb': '20', 'storageBytes': '1024', 'autoCreated': auto,
           'sourceDisk': GOOGLE + 'projects/demo/zones/us-central1-a/disks/%s' % disk, 'labels': labels or {},
           'creationTimestamp': '2026-12-0%dT03:00:00.000-08:00' % when, 'selfLink': GOOGLE + 'projects/demo/global/snapshots/' + name}
    if auto:
        out['sourceSnapshotSchedulePolicy'] = GOOGLE + 'projects/demo/regions/us-central1/resourcePolicies/nightly'
    return out


def test_snapshot_info_filters_and_sorts(google, run):
    google.snapshots = [snapshot('a', 'state', 1, auto=True), snapshot('b', 'state', 3, auto=True),
                        snapshot('c', 'state', 2), snapshot('d', 'other', 4, auto=True)]
    result = run(info, dict(AUTH, disk='state', zone='us-central1-a', auto_created=True))
    assert [s['name'] for s in result['snapshots']] == ['b', 'a']
    assert result['snapshots'][0]['schedule'] == 'nightly' and result['snapshots'][0]['disk_size_gb'] == 20
    query = google.calls[-1][2]
    assert query['filter'] == '(sourceDisk eq ".*/projects/demo/zones/us-central1-a/disks/state") (autoCreated = true)'
    assert [s['name'] for s in run(info, AUTH)['snapshots']] == ['d', 'b', 'c', 'a']
    assert run(info, dict(AUTH, disk='state'))['failed'] is True
    assert google.writes() == []
