#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_resource_policy
short_description: Manage a snapshot schedule (a Compute Engine resource policy) for disk backups
version_added: 0.2.0
description:
  - Creates, updates or deletes one regional snapshot schedule resource policy
    (C(snapshotSchedulePolicy)) - when snapshots are taken, how long they are kept, what labels
    they carry and where they are stored.
  - The policy does nothing until it is attached to a disk; attach it with the C(resource_policies)
    option of M(openclaw.gcp.compute_disk) (or C(gcloud compute disks add-resource-policies)).
  - What Google lets change in place (C(resourcePolicies.patch), what
    C(gcloud compute resource-policies update snapshot-schedule) does) is changed with one PATCH
    that sends only the parts that differ - O(description), O(schedule), O(max_retention_days),
    O(on_source_disk_delete) and O(snapshot_labels). Snapshots already taken keep their labels.
  - O(storage_locations) cannot change once the policy exists. A different value fails with a
    clear message and no change, unless O(recreate=true), which deletes the policy and creates it
    anew. Google refuses to delete a policy that is attached to a disk (C(resourceInUseByAnotherResource));
    detach it from its disks first, then attach the new one again.
  - A policy that already matches costs a single GET and no write.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - Name of the resource policy (RFC 1035).
    type: str
    required: true
  region:
    description:
      - Region of the policy. It can only be attached to disks in the zones of this region.
    type: str
    required: true
  state:
    description:
      - Whether the policy should exist.
      - V(absent) fails (Google's C(resourceInUseByAnotherResource)) while a disk still carries the policy.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Free text description. Left as it is on an existing policy when not set.
    type: str
  schedule:
    description:
      - When snapshots are taken (times in UTC, on the hour). Required with O(state=present).
    type: dict
    suboptions:
      frequency:
        description:
          - V(hourly) every O(schedule.hours_in_cycle) hours, V(daily) once a day, V(weekly) on O(schedule.days).
        type: str
        choices: [hourly, daily, weekly]
        required: true
      start_time:
        description:
          - Start of the window in UTC, C(HH:00) (Google accepts whole hours only).
        type: str
        required: true
      hours_in_cycle:
        description:
          - Hours between two snapshots (1-23), with O(schedule.frequency=hourly) only.
        type: int
      days:
        description:
          - Days of the week (V(monday) ... V(sunday)), with O(schedule.frequency=weekly) only.
        type: list
        elements: str
  max_retention_days:
    description:
      - Scheduled snapshots older than this many days are deleted. Required with O(state=present).
    type: int
  on_source_disk_delete:
    description:
      - What happens to the scheduled snapshots of a disk that is deleted - kept for ever
        (V(keep_auto_snapshots), Google's default) or still deleted after O(max_retention_days)
        (V(apply_retention_policy)).
    type: str
    choices: [keep_auto_snapshots, apply_retention_policy]
    default: keep_auto_snapshots
  snapshot_labels:
    description:
      - Labels put on every scheduled snapshot. Left as they are on an existing policy when not
        set; V({}) removes them (from future snapshots).
    type: dict
  storage_locations:
    description:
      - Where the snapshots are stored - one multi-region (V(us), V(eu), V(asia)) or one region.
        Not set means Google's default (the multi-region nearest to the disk) on a new policy and
        "leave as it is" on an existing one.
      - Cannot change once the policy exists, see O(recreate).
    type: list
    elements: str
  recreate:
    description:
      - When a setting that Google cannot change in place (O(storage_locations)) differs, delete
        the policy and create it again instead of failing. The policy must not be attached to a disk.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each operation.
    type: int
    default: 300
seealso:
  - module: openclaw.gcp.compute_snapshot_info
  - name: Scheduled snapshots (Google Cloud documentation)
    description: Snapshot schedules, their limits and what can be changed.
    link: https://cloud.google.com/compute/docs/disks/scheduled-snapshots
'''

EXAMPLES = r'''
- name: Nightly snapshots of the gateway state disk, kept two weeks
  openclaw.gcp.compute_resource_policy:
    project: my-openclaw-project
    name: openclaw-state-nightly
    region: us-central1
    schedule:
      frequency: daily
      start_time: "03:00"
    max_retention_days: 14
    on_source_disk_delete: keep_auto_snapshots
    snapshot_labels:
      app: openclaw
      backup: nightly
    storage_locations: [us]

- name: Every 6 hours, kept 3 days
  openclaw.gcp.compute_resource_policy:
    name: openclaw-state-6h
    region: europe-west1
    schedule:
      frequency: hourly
      hours_in_cycle: 6
      start_time: "00:00"
    max_retention_days: 3

- name: Remove the schedule (detach it from its disks first)
  openclaw.gcp.compute_resource_policy:
    name: openclaw-state-6h
    region: europe-west1
    state: absent
'''

RETURN = r'''
policy:
  description: The policy after the task (predicted in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Policy name.
      type: str
      sample: openclaw-state-nightly
    region:
      description: Region.
      type: str
      sample: us-central1
    description:
      description: Description.
      type: str
    schedule:
      description: The schedule, in the shape of the O(schedule) option.
      type: dict
      sample: {"frequency": "daily", "start_time": "03:00", "hours_in_cycle": null, "days": null}
    max_retention_days:
      description: Retention in days.
      type: int
      sample: 14
    on_source_disk_delete:
      description: V(keep_auto_snapshots) or V(apply_retention_policy).
      type: str
    snapshot_labels:
      description: Labels put on scheduled snapshots.
      type: dict
    storage_locations:
      description: Storage locations (empty means Google's default).
      type: list
      elements: str
    status:
      description: Google's status of the policy (C(READY)).
      type: str
    self_link:
      description: Google's link to the policy (what a disk's C(resourcePolicies) lists).
      type: str
actions:
  description: What the task did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: ["update max_retention_days, snapshot_labels"]
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    Applied,
    GcpError,
    GcpModule,
    short_name,
    stringify_labels,
    validate_labels,
    validate_name,
)

DAYS = ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')
START_TIME_RE = re.compile(r'^([01][0-9]|2[0-3]):00$')
REGION_RE = re.compile(r'^[a-z]+-[a-z]+[0-9]+$')
MULTI_REGIONS = ('us', 'eu', 'asia')
# Changed in place by one PATCH (what Google's resourcePolicies.patch accepts for a snapshot schedule).
MUTABLE = ('description', 'schedule', 'max_retention_days', 'on_source_disk_delete', 'snapshot_labels')
# Only by deleting and creating the policy again.
IMMUTABLE = ('storage_locations',)


def schedule_view(schedule):
    """Our ``schedule`` option shape from Google's ``schedule`` message."""
    schedule = schedule or {}
    view = {'frequency': None, 'start_time': None, 'hours_in_cycle': None, 'days': None}
    if schedule.get('hourlySchedule'):
        spec = schedule['hourlySchedule']
        view.update(frequency='hourly', start_time=spec.get('startTime'), hours_in_cycle=spec.get('hoursInCycle'))
    elif schedule.get('dailySchedule'):
        view.update(frequency='daily', start_time=schedule['dailySchedule'].get('startTime'))
    elif schedule.get('weeklySchedule'):
        entries = schedule['weeklySchedule'].get('dayOfWeeks') or []
        times = sorted(set(e.get('startTime') for e in entries))
        view.update(frequency='weekly', start_time=times[0] if len(times) == 1 else ','.join(times),
                    days=sorted((str(e.get('day', '')).lower() for e in entries), key=day_order))
    return view


def day_order(day):
    return DAYS.index(day) if day in DAYS else len(DAYS)


def schedule_body(view):
    """Google's ``schedule`` message from our option shape."""
    if view['frequency'] == 'hourly':
        return {'hourlySchedule': {'hoursInCycle': view['hours_in_cycle'], 'startTime': view['start_time']}}
    if view['frequency'] == 'daily':
        return {'dailySchedule': {'daysInCycle': 1, 'startTime': view['start_time']}}
    return {'weeklySchedule': {'dayOfWeeks': [{'day': day.upper(), 'startTime': view['start_time']} for day in view['days']]}}


def summarize(policy):
    if not policy:
        return {}
    ssp = policy.get('snapshotSchedulePolicy') or {}
    retention = ssp.get('retentionPolicy') or {}
    props = ssp.get('snapshotProperties') or {}
    on_delete = retention.get('onSourceDiskDelete') or 'KEEP_AUTO_SNAPSHOTS'
    if on_delete == 'UNSPECIFIED_ON_SOURCE_DISK_DELETE':
        on_delete = 'KEEP_AUTO_SNAPSHOTS'
    return {
        'name': policy.get('name'),
        'region': short_name(policy.get('region')),
        'description': policy.get('description') or '',
        'schedule': schedule_view(ssp.get('schedule')),
        'max_retention_days': retention.get('maxRetentionDays'),
        'on_source_disk_delete': on_delete.lower(),
        'snapshot_labels': dict(props.get('labels') or {}),
        'storage_locations': list(props.get('storageLocations') or []),
        'status': policy.get('status'),
        'self_link': policy.get('selfLink'),
    }


def desired_from_params(params):
    """The wanted policy; ``None`` marks what the task leaves alone."""
    schedule = params['schedule']
    view = None
    if schedule:
        view = {'frequency': schedule['frequency'], 'start_time': schedule['start_time'],
                'hours_in_cycle': schedule.get('hours_in_cycle') if schedule['frequency'] == 'hourly' else None,
                'days': sorted(set(d.lower() for d in schedule.get('days') or []), key=day_order)
                if schedule['frequency'] == 'weekly' else None}
    return {
        'name': params['name'],
        'region': params['region'],
        'description': params['description'],
        'schedule': view,
        'max_retention_days': params['max_retention_days'],
        'on_source_disk_delete': params['on_source_disk_delete'],
        'snapshot_labels': stringify_labels(params['snapshot_labels']),
        'storage_locations': None if params['storage_locations'] is None else list(params['storage_locations']),
    }


def creation_view(desired):
    view = dict(desired, status='READY', self_link=None)
    for key, empty in (('description', ''), ('snapshot_labels', {}), ('storage_locations', [])):
        if view[key] is None:
            view[key] = empty
    return view


def changed_fields(current, desired, fields):
    return [key for key in fields if desired.get(key) is not None and current.get(key) != desired.get(key)]


def to_body(desired):
    """The REST body of resourcePolicies.insert."""
    props = {}
    if desired['snapshot_labels']:
        props['labels'] = desired['snapshot_labels']
    if desired['storage_locations']:
        props['storageLocations'] = desired['storage_locations']
    ssp = {'schedule': schedule_body(desired['schedule']),
           'retentionPolicy': {'maxRetentionDays': desired['max_retention_days'],
                               'onSourceDiskDelete': desired['on_source_disk_delete'].upper()}}
    if props:
        ssp['snapshotProperties'] = props
    body = {'name': desired['name'], 'snapshotSchedulePolicy': ssp}
    if desired['description']:
        body['description'] = desired['description']
    return body


def patch_body(current, desired, fields):
    """The REST body of resourcePolicies.patch: only the parts in ``fields``."""
    body, ssp = {}, {}
    if 'description' in fields:
        body['description'] = desired['description']
    if 'schedule' in fields:
        ssp['schedule'] = schedule_body(desired['schedule'])
    if 'max_retention_days' in fields or 'on_source_disk_delete' in fields:
        ssp['retentionPolicy'] = {
            'maxRetentionDays': desired['max_retention_days'] or current['max_retention_days'],
            'onSourceDiskDelete': (desired['on_source_disk_delete'] or current['on_source_disk_delete']).upper()}
    if 'snapshot_labels' in fields:
        ssp['snapshotProperties'] = {'labels': desired['snapshot_labels']}
    if ssp:
        body['snapshotSchedulePolicy'] = ssp
    return body


def validate(params):
    errors = []
    for problem in (validate_name(params['name'], 'Resource policy name'),):
        if problem:
            errors.append(problem)
    if not REGION_RE.match(params['region'] or ''):
        errors.append('region %r is not a region name such as us-central1' % (params['region'],))
    if params['state'] == 'absent':
        return errors
    schedule = params['schedule']
    if not schedule:
        errors.append('schedule is required with state=present')
    else:
        if not START_TIME_RE.match(schedule.get('start_time') or ''):
            errors.append('schedule.start_time %r must be a whole hour in UTC, HH:00 (such as 03:00)' % (schedule.get('start_time'),))
        hours, days = schedule.get('hours_in_cycle'), schedule.get('days')
        if schedule['frequency'] == 'hourly':
            if hours is None or not 1 <= hours <= 23:
                errors.append('schedule.hours_in_cycle must be between 1 and 23 with frequency=hourly, got %s' % (hours,))
        elif hours is not None:
            errors.append('schedule.hours_in_cycle is only for frequency=hourly')
        if schedule['frequency'] == 'weekly':
            bad = [d for d in days or [] if str(d).lower() not in DAYS]
            if not days or bad:
                errors.append('schedule.days must list days of the week (monday ... sunday) with frequency=weekly, got %s' % (days,))
        elif days:
            errors.append('schedule.days is only for frequency=weekly')
    retention = params['max_retention_days']
    if retention is None:
        errors.append('max_retention_days is required with state=present')
    elif not 1 <= retention <= 65536:
        errors.append('max_retention_days must be between 1 and 65536, got %s' % retention)
    errors.extend(validate_labels(stringify_labels(params['snapshot_labels'])))
    locations = params['storage_locations']
    if locations is not None:
        if len(locations) > 1:
            errors.append('storage_locations takes at most one location, got %d' % len(locations))
        for location in locations:
            if location not in MULTI_REGIONS and not REGION_RE.match(location):
                errors.append('storage location %r is neither a multi-region (us, eu, asia) nor a region' % (location,))
    return errors


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        region=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        description=dict(type='str'),
        schedule=dict(type='dict', options=dict(
            frequency=dict(type='str', required=True, choices=['hourly', 'daily', 'weekly']),
            start_time=dict(type='str', required=True),
            hours_in_cycle=dict(type='int'),
            days=dict(type='list', elements='str'),
        )),
        max_retention_days=dict(type='int'),
        on_source_disk_delete=dict(type='str', default='keep_auto_snapshots',
                                   choices=['keep_auto_snapshots', 'apply_retention_policy']),
        snapshot_labels=dict(type='dict'),
        storage_locations=dict(type='list', elements='str'),
        recreate=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg='Invalid options for resource policy %s: %s (no request was sent).' % (params['name'], '; '.join(errors)),
                         errors=errors)

    client = module.client
    project = client.project
    collection = 'projects/%s/regions/%s/resourcePolicies' % (project, params['region'])
    path = '%s/%s' % (collection, params['name'])
    resource = 'resource policy %s (project %s, region %s)' % (params['name'], project, params['region'])
    timeout = float(params['timeout'])

    def read():
        return client.get('compute', path, 'read', resource)

    def result(changed, before, after, actions):
        out = {'changed': changed, 'policy': after, 'actions': actions}
        if module._diff:  # pylint: disable=protected-access
            out['diff'] = {'before': before or {'state': 'absent'}, 'after': after or {'state': 'absent'}}
        return out

    def delete(why):
        try:
            client.compute_mutation('DELETE', path, 'delete', resource, timeout=timeout,
                                    reconcile=lambda: Applied(None) if read() is None else None)
        except GcpError as exc:
            if exc.reason == 'resourceInUseByAnotherResource':
                raise exc.amend('a disk still carries it: detach it from every disk before %s' % why)
            raise

    def create(desired):
        client.compute_mutation('POST', collection, 'create', resource, body=to_body(desired), timeout=timeout,
                                reconcile=lambda: Applied(None) if read() is not None else None)
        return summarize(read())

    try:
        current = read()
        before = summarize(current)
        if params['state'] == 'absent':
            if current is None:
                module.exit_json(**result(False, before, {}, []))
            if not module.check_mode:
                delete('deleting it')
            module.exit_json(**result(True, before, {}, ['delete']))

        desired = desired_from_params(params)
        if current is None:
            after = creation_view(desired)
            if not module.check_mode:
                after = create(desired) or after
            module.exit_json(**result(True, before, after, ['create']))

        fixed = changed_fields(before, desired, IMMUTABLE)
        if fixed:
            if not params['recreate']:
                module.fail_json(msg='Cannot change %s of %s in place: Google does not allow it. Set recreate=true to delete and '
                                     'create the policy again (detach it from its disks first); no change was made.' % (
                                         ', '.join(fixed), resource), before=before)
            wanted = dict(desired)
            for key in MUTABLE:
                if wanted[key] is None:
                    wanted[key] = before[key]
            after = creation_view(wanted)
            if not module.check_mode:
                delete('recreating it')
                after = create(wanted) or after
            module.exit_json(**result(True, before, after, ['recreate (%s)' % ', '.join(fixed)]))

        fields = changed_fields(before, desired, MUTABLE)
        if not fields:
            module.exit_json(**result(False, before, before, []))
        after = dict(before)
        for key in fields:
            after[key] = desired[key]
        if not module.check_mode:
            def reconcile():
                now = summarize(read())
                return Applied(None) if now and not changed_fields(now, desired, MUTABLE) else None
            client.compute_mutation('PATCH', path, 'update', resource, body=patch_body(before, desired, fields),
                                    reconcile=reconcile, timeout=timeout)
            after = summarize(read()) or after
        module.exit_json(**result(True, before, after, ['update %s' % ', '.join(fields)]))
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
