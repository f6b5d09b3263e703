#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_disk
short_description: Create, grow, label or delete a zonal persistent disk (for example the gateway's state disk)
version_added: 0.1.0
description:
  - Manages one zonal Compute Engine persistent disk, identified by O(name) and O(zone). The disk is
    created blank (no filesystem), or from a snapshot with O(source_snapshot); attach it with the O(openclaw.gcp.compute_instance#module:attached_disks)
    option of M(openclaw.gcp.compute_instance).
  - A disk that already matches costs a single GET and no write.
  - The size only grows (C(disks.resize)); a smaller O(size_gb) fails before any write, since Google
    cannot shrink a disk.
  - Labels are updated with their fingerprint (C(disks.setLabels)); labels the disk carries that are not
    listed stay unless O(purge_labels=true).
  - Resource policies (for example a snapshot schedule) are attached and detached with
    C(disks.addResourcePolicies) and C(disks.removeResourcePolicies).
  - The type, description and O(source_snapshot) are set when the disk is created; later differences are
    reported as warnings.
  - A disk attached to an instance is never deleted; O(state=absent) then fails and names the instances.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - Name of the disk (RFC 1035, 1-63 characters).
    type: str
    required: true
  zone:
    description:
      - Zone of the disk, for example V(us-central1-a). An instance can only attach disks of its own zone.
    type: str
    required: true
  state:
    description:
      - Whether the disk should exist. V(absent) deletes it, with its data, unless an instance uses it.
    type: str
    choices: [present, absent]
    default: present
  size_gb:
    description:
      - Size in GB. Required to create a blank disk (at least 10 for C(pd-*) types). A disk made from
        O(source_snapshot) defaults to the snapshot's source disk size and cannot be smaller (checked before any write).
      - On an existing disk a larger value grows it (the filesystem on it must be grown from inside the
        VM, for example with C(resize2fs)); a smaller value fails before any write.
      - Not set for an existing disk, its size is left as it is.
    type: int
  type:
    description:
      - Disk type when the disk is created, for example V(pd-balanced) (the default), V(pd-ssd) or V(pd-standard).
    type: str
  labels:
    description:
      - Labels the disk carries (added or updated). Labels it carries that are not listed stay, unless
        O(purge_labels=true).
    type: dict
  purge_labels:
    description:
      - Remove labels not listed in O(labels). Needs O(labels).
    type: bool
    default: false
  description:
    description:
      - Free text description, set when the disk is created.
    type: str
  source_snapshot:
    description:
      - Name or link of a snapshot (C(global/snapshots)) to create the disk from, with the data it holds,
        for example to bring back a state disk from a scheduled snapshot.
      - Used only when the disk is created. The snapshot must exist and be C(READY); otherwise the task
        fails before any write.
      - A disk that already exists is left alone and this option is ignored; a warning says so when the
        disk was not made from this snapshot (RV(disk.source_snapshot) tells what it was made from).
    type: str
  resource_policies:
    description:
      - Names (or links) of resource policies of the disk's region the disk is attached to, for
        example a snapshot schedule.
      - The disk ends up with exactly these; policies not listed are detached, V([]) detaches all of
        them. Not set, the disk's policies are left as they are.
    type: list
    elements: str
  timeout:
    description:
      - Seconds to wait for each operation.
    type: int
    default: 300
notes:
  - Deleting a disk deletes its data. The playbooks of this collection keep the gateway's state disk when
    they delete its VM.
seealso:
  - module: openclaw.gcp.compute_instance
  - name: Persistent disks
    description: Google's documentation of zonal persistent disks.
    link: https://cloud.google.com/compute/docs/disks/persistent-disks
'''

EXAMPLES = r'''
- name: The gateway's state disk (10 GB, balanced)
  openclaw.gcp.compute_disk:
    project: my-openclaw-project
    name: openclaw-gateway-state
    zone: us-central1-a
    size_gb: 10
    labels:
      openclaw-role: state

- name: Grow it to 20 GB (then run resize2fs on the VM)
  openclaw.gcp.compute_disk:
    name: openclaw-gateway-state
    zone: us-central1-a
    size_gb: 20

- name: Snapshot it daily with an existing snapshot schedule
  openclaw.gcp.compute_disk:
    name: openclaw-gateway-state
    zone: us-central1-a
    resource_policies: [openclaw-daily]

- name: Bring the state disk back from a snapshot (only when the disk does not exist yet)
  openclaw.gcp.compute_disk:
    name: openclaw-gateway-state
    zone: us-central1-a
    source_snapshot: openclaw-gateway-state-us-central1-a-20261204030000-abcd1234

- name: Delete it (fails while a VM uses it)
  openclaw.gcp.compute_disk:
    name: openclaw-gateway-state
    zone: us-central1-a
    state: absent
'''

RETURN = r'''
disk:
  description: The disk after the task (predicted in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Disk name.
      type: str
      sample: openclaw-gateway-state
    id:
      description: Numeric id as a string (unknown in check mode before creation).
      type: str
    zone:
      description: Zone name.
      type: str
      sample: us-central1-a
    size_gb:
      description: Size in GB.
      type: int
      sample: 10
    type:
      description: Short name of the disk type.
      type: str
      sample: pd-balanced
    status:
      description: C(READY), C(CREATING), C(RESTORING), C(FAILED) or C(DELETING).
      type: str
      sample: READY
    labels:
      description: Labels.
      type: dict
      sample: {"openclaw-role": "state"}
    description:
      description: Description (empty when none).
      type: str
    source_snapshot:
      description: Short name of the snapshot the disk was created from (empty for a blank disk).
      type: str
      sample: openclaw-gateway-state-us-central1-a-20261204030000-abcd1234
    resource_policies:
      description: Short names of the attached resource policies, sorted.
      type: list
      elements: str
      sample: ["openclaw-daily"]
    users:
      description: Short names of the instances the disk is attached to, sorted.
      type: list
      elements: str
      sample: ["openclaw-gateway"]
    self_link:
      description: Google's link to the disk.
      type: str
    creation_timestamp:
      description: When the disk was created (RFC 3339).
      type: str
    last_attach_timestamp:
      description: When the disk was last attached, if ever.
      type: str
    last_detach_timestamp:
      description: When the disk was last detached, if ever.
      type: str
actions:
  description: The changes made (or that would be made in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["resize to 20 GB", "set labels"]
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    Change,
    GcpError,
    GcpModule,
    compute_link,
    short_name,
    stringify_labels,
    validate_labels,
    validate_name,
    zone_to_region,
    ZONE_RE,
)
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import ComputeResource, disk_summary, labels_change

DEFAULT_TYPE = 'pd-balanced'
MIN_PD_SIZE_GB = 10
MAX_SIZE_GB = 65536
DIFF_KEYS = ('size_gb', 'type', 'labels', 'description', 'source_snapshot', 'resource_policies', 'users')


def validate(params):
    """Error sentences for inputs Google would reject, checked before any request."""
    errors = []
    for problem in (validate_name(params.get('name'), 'Disk name'),):
        if problem:
            errors.append(problem)
    zone = params.get('zone')
    if not zone or not ZONE_RE.match(zone):
        errors.append('Zone %r is not a zone name such as us-central1-a' % (zone,))
    disk_type = short_name(params.get('type') or DEFAULT_TYPE)
    if not re.match(r'^[a-z][-a-z0-9]{0,62}$', disk_type):
        errors.append('Disk type %r is not a disk type name such as pd-balanced' % (params.get('type'),))
    size = params.get('size_gb')
    if size is not None:
        low = MIN_PD_SIZE_GB if disk_type.startswith('pd-') else 1
        if not low <= size <= MAX_SIZE_GB:
            errors.append('size_gb must be between %d and %d for a %s disk, got %s' % (low, MAX_SIZE_GB, disk_type, size))
    errors.extend(validate_labels(stringify_labels(params.get('labels'))))
    if params.get('purge_labels') and params.get('labels') is None:
        errors.append('purge_labels needs labels: without it there is nothing to keep')
    for policy in params.get('resource_policies') or []:
        problem = validate_name(short_name(policy), 'Resource policy name')
        if problem:
            errors.append(problem)
    if params.get('source_snapshot') is not None:
        problem = validate_name(short_name(params['source_snapshot']), 'Snapshot name')
        if problem:
            errors.append(problem)
    if params.get('timeout') is not None and params['timeout'] <= 0:
        errors.append('timeout must be a positive number of seconds')
    return errors


def wanted_policies(params):
    policies = params.get('resource_policies')
    return None if policies is None else sorted(set(short_name(p) for p in policies))


def policy_links(project, zone, names):
    return [compute_link(project, name, 'resourcePolicies', 'regions/%s' % zone_to_region(zone)) for name in names]


def policies_change(verb, names, project, zone):
    """``addResourcePolicies`` or ``removeResourcePolicies`` of ``names`` (short names)."""
    adding = verb == 'addResourcePolicies'
    action = '%s resource policies' % ('add' if adding else 'remove')

    def predict(view):
        have = set(view['resource_policies'])
        return dict(view, resource_policies=sorted(have | set(names) if adding else have - set(names)))

    def done(view):
        have = set(view.get('resource_policies') or [])
        return set(names) <= have if adding else not set(names) & have
    return Change('%s %s' % (action, ', '.join(names)), predict, done, body={'resourcePolicies': policy_links(project, zone, names)},
                  verb=verb, action=action)


def plan(current, before, params, project):
    """The ``Change``s that bring an existing disk (``current`` as read, ``before`` its view) to the options."""
    changes = []
    size = params.get('size_gb')
    if size is not None and before['size_gb'] is not None and size > before['size_gb']:
        changes.append(Change('resize to %d GB' % size, lambda view: dict(view, size_gb=size),
                              lambda view: (view.get('size_gb') or 0) >= size, body={'sizeGb': str(size)}, verb='resize'))
    labels = labels_change(current, stringify_labels(params.get('labels')), params.get('purge_labels'))
    if labels is not None:
        changes.append(labels)
    policies = wanted_policies(params)
    if policies is not None:
        extra = [p for p in before['resource_policies'] if p not in policies]
        missing = [p for p in policies if p not in before['resource_policies']]
        if extra:
            changes.append(policies_change('removeResourcePolicies', extra, project, params['zone']))
        if missing:
            changes.append(policies_change('addResourcePolicies', missing, project, params['zone']))
    return changes


def creation_warnings(before, params):
    warnings = []
    name = before['name']
    if params.get('type') and short_name(params['type']) != before['type']:
        warnings.append('Disk %s is of type %s; type=%s only applies when creating.' % (name, before['type'], params['type']))
    if params.get('description') is not None and params['description'] != before['description']:
        warnings.append('Disk %s has another description; description only applies when creating.' % name)
    wanted = short_name(params.get('source_snapshot'))
    if wanted and wanted != before.get('source_snapshot'):
        made = 'from snapshot %s' % before['source_snapshot'] if before.get('source_snapshot') else 'blank'
        warnings.append('Disk %s already exists (it was created %s); source_snapshot=%s only applies when creating, '
                        'so it was ignored and the disk left as it is.' % (name, made, wanted))
    return warnings


def read_snapshot(client, project, params, resource):
    """The ``source_snapshot`` as Google has it: it must exist and be READY (checked before any write)."""
    link = compute_link(project, params['source_snapshot'], 'snapshots')
    snapshot = client.get('compute', link, 'read', 'snapshot %s' % short_name(link))
    if snapshot is None:
        raise GcpError('Cannot create %s from snapshot %s: it does not exist (%s); list the snapshots with '
                       'openclaw.gcp.compute_snapshot_info (no change was made).' % (resource, short_name(link), link))
    if snapshot.get('status') != 'READY':
        raise GcpError('Cannot create %s from snapshot %s: it is %s, not READY yet (no change was made).' % (
            resource, short_name(link), snapshot.get('status')))
    return link, snapshot


def creation_size(params, snapshot, resource):
    """The size of a new disk: ``size_gb``, or the snapshot's; never smaller than the snapshot."""
    size = params.get('size_gb')
    if snapshot is None:
        if size is None:
            raise GcpError('Cannot create %s without size_gb: give its size in GB (no request was sent).' % resource)
        return size
    least = int(snapshot.get('diskSizeGb') or 0)
    if size is not None and size < least:
        raise GcpError('Cannot create %s from snapshot %s with %d GB: the snapshot is of a %d GB disk; give size_gb %d '
                       'or more (no change was made).' % (resource, snapshot.get('name'), size, least, least))
    return least if size is None else size


def predict_created(params, size, snapshot_link=None):
    return {
        'name': params['name'], 'id': None, 'zone': params['zone'], 'size_gb': size,
        'type': short_name(params.get('type') or DEFAULT_TYPE), 'status': 'READY',
        'labels': stringify_labels(params.get('labels')) or {}, 'description': params.get('description') or '',
        'source_snapshot': short_name(snapshot_link) or '', 'source_snapshot_link': snapshot_link,
        'resource_policies': wanted_policies(params) or [], 'users': [], 'self_link': None,
        'creation_timestamp': None, 'last_attach_timestamp': None, 'last_detach_timestamp': None,
    }


def insert_body(after, project):
    body = {
        'name': after['name'],
        'sizeGb': str(after['size_gb']),
        'type': 'projects/%s/zones/%s/diskTypes/%s' % (project, after['zone'], after['type']),
        'labels': after['labels'],
    }
    if after['description']:
        body['description'] = after['description']
    if after.get('source_snapshot_link'):
        body['sourceSnapshot'] = after['source_snapshot_link']
    if after['resource_policies']:
        body['resourcePolicies'] = policy_links(project, after['zone'], after['resource_policies'])
    return body


def diff_view(summary):
    if not summary:
        return {'state': 'absent'}
    view = dict((k, summary.get(k)) for k in DIFF_KEYS)
    view['state'] = 'present'
    return view


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        zone=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        size_gb=dict(type='int'),
        type=dict(type='str'),
        labels=dict(type='dict'),
        purge_labels=dict(type='bool', default=False),
        description=dict(type='str'),
        source_snapshot=dict(type='str'),
        resource_policies=dict(type='list', elements='str'),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg='Invalid options for disk %s: %s (no request was sent).' % (params['name'], '; '.join(errors)),
                         errors=errors)

    project = module.client.project
    collection = 'projects/%s/zones/%s/disks' % (project, params['zone'])
    resource = 'disk %s in zone %s (project %s)' % (params['name'], params['zone'], project)
    disk = ComputeResource(module, '%s/%s' % (collection, params['name']), resource, 'disk', disk_summary,
                           float(params['timeout']), diff_view=diff_view, in_use_words=('attached to', 'detach it'))
    try:
        current = disk.read()
        before = disk_summary(current)
        if params['state'] == 'absent':
            disk.ensure_absent(current, before)

        if current is None:
            link, snapshot = None, None
            if params.get('source_snapshot'):
                link, snapshot = read_snapshot(module.client, project, params, resource)
            predicted = predict_created(params, creation_size(params, snapshot, resource), link)
            body = insert_body(predicted, project)
            predicted.pop('source_snapshot_link')
            disk.exit(True, before, disk.create(collection, body, predicted),
                      ['create from snapshot %s' % short_name(link)] if link else ['create'])

        size = params.get('size_gb')
        if size is not None and before['size_gb'] is not None and size < before['size_gb']:
            raise GcpError('Cannot shrink %s from %d GB to %d GB: Google only grows disks; keep size_gb at %d or more '
                           '(no change was made).' % (resource, before['size_gb'], size, before['size_gb']))
        for warning in creation_warnings(before, params):
            module.warn(warning)
        disk.converge(before, plan(current, before, params, project))
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
