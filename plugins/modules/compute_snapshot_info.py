#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_snapshot_info
short_description: List the snapshots of a disk (newest first), for restore tooling
version_added: 0.2.0
description:
  - Reads Compute Engine snapshots (a global collection); never writes.
  - With O(disk) and O(zone), only the snapshots taken of that disk; O(auto_created) keeps only the
    scheduled (or only the manual) ones; O(labels) only those carrying these labels. The conditions are
    sent to Google as one server-side filter and checked again on the answer; every page is read.
  - The result is sorted newest first, so C(snapshots[0]) is the one to restore from.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.read_only
options:
  disk:
    description:
      - Only snapshots of the disk with this name (needs O(zone)).
    type: str
  zone:
    description:
      - Zone of O(disk).
    type: str
  auto_created:
    description:
      - V(true) only snapshots a snapshot schedule took, V(false) only the others; not set, both.
    type: bool
  labels:
    description:
      - Only snapshots carrying all these labels with these values.
    type: dict
  status:
    description:
      - Only snapshots in this state (V(READY) = usable for a restore).
    type: str
seealso:
  - module: openclaw.gcp.compute_resource_policy
'''

EXAMPLES = r'''
- name: The newest ready snapshot of the gateway state disk
  openclaw.gcp.compute_snapshot_info:
    disk: openclaw-gateway-state
    zone: us-central1-a
    status: READY
  register: found

- name: Show it
  ansible.builtin.debug:
    msg: "Restore from {{ found.snapshots[0].name }} ({{ found.snapshots[0].creation_timestamp }})"
  when: found.snapshots | length > 0
'''

RETURN = r'''
snapshots:
  description: The matching snapshots, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Snapshot name.
      type: str
    status:
      description: C(CREATING), C(READY), C(DELETING), ...
      type: str
    source_disk:
      description: Short name of the disk the snapshot was taken of.
      type: str
    source_disk_zone:
      description: Zone of that disk.
      type: str
    disk_size_gb:
      description: Size of the source disk in GB (the smallest disk it can be restored to).
      type: int
    storage_bytes:
      description: Bytes the snapshot takes in storage.
      type: int
    auto_created:
      description: Whether a snapshot schedule took it.
      type: bool
    schedule:
      description: Short name of the snapshot schedule that took it (null for a manual snapshot).
      type: str
    labels:
      description: Labels.
      type: dict
    storage_locations:
      description: Where it is stored.
      type: list
      elements: str
    creation_timestamp:
      description: When it was taken (RFC 3339).
      type: str
    self_link:
      description: Google's link (what C(sourceSnapshot) of a new disk takes).
      type: str
'''

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import GcpError, GcpModule, short_name, stringify_labels, validate_labels


def summarize(snap):
    source = snap.get('sourceDisk') or ''
    return {
        'name': snap.get('name'),
        'status': snap.get('status'),
        'source_disk': short_name(source) or None,
        'source_disk_zone': source.split('/zones/', 1)[1].split('/', 1)[0] if '/zones/' in source else None,
        'disk_size_gb': int(snap['diskSizeGb']) if snap.get('diskSizeGb') is not None else None,
        'storage_bytes': int(snap['storageBytes']) if snap.get('storageBytes') is not None else None,
        'auto_created': bool(snap.get('autoCreated', False)),
        'schedule': short_name(snap.get('sourceSnapshotSchedulePolicy')) or None,
        'labels': dict(snap.get('labels') or {}),
        'storage_locations': list(snap.get('storageLocations') or []),
        'creation_timestamp': snap.get('creationTimestamp'),
        'self_link': snap.get('selfLink'),
    }


def quote(value):
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def build_filter(params, project):
    """One Compute list filter for every condition given (``None`` when there is none)."""
    parts = []
    if params['disk']:
        parts.append('(sourceDisk eq %s)' % quote('.*/projects/%s/zones/%s/disks/%s' % (project, params['zone'], params['disk'])))
    if params['auto_created'] is not None:
        parts.append('(autoCreated = %s)' % ('true' if params['auto_created'] else 'false'))
    for key, value in sorted((stringify_labels(params['labels']) or {}).items()):
        parts.append('(labels.%s = %s)' % (key, quote(value)))
    if params['status']:
        parts.append('(status = %s)' % params['status'])
    return ' '.join(parts) or None


def matches(view, params):
    """The filter checked again on the answer (a server may ignore a filter it does not know)."""
    if params['disk'] and (view['source_disk'] != params['disk'] or view['source_disk_zone'] != params['zone']):
        return False
    if params['auto_created'] is not None and view['auto_created'] != params['auto_created']:
        return False
    for key, value in (stringify_labels(params['labels']) or {}).items():
        if view['labels'].get(key) != value:
            return False
    return not params['status'] or view['status'] == params['status']


def main():
    module = GcpModule(argument_spec=dict(
        disk=dict(type='str'),
        zone=dict(type='str'),
        auto_created=dict(type='bool'),
        labels=dict(type='dict'),
        status=dict(type='str'),
    ), required_by={'disk': 'zone'}, supports_check_mode=True)
    params = module.params
    errors = validate_labels(stringify_labels(params['labels']))
    if errors:
        module.fail_json(msg='Invalid options: %s (no request was sent).' % '; '.join(errors), errors=errors)
    client = module.client
    project = client.project
    query = {}
    expression = build_filter(params, project)
    if expression:
        query['filter'] = expression
    try:
        items = client.list_all('compute', 'projects/%s/global/snapshots' % project, 'list',
                                'snapshots (project %s)' % project, params=query)
    except GcpError as exc:
        module.fail_gcp(exc)
    views = [summarize(item) for item in items]
    views = [view for view in views if matches(view, params)]
    views.sort(key=lambda v: (v['creation_timestamp'] or '', v['name']), reverse=True)
    module.exit_json(changed=False, snapshots=views)


if __name__ == '__main__':
    main()
