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
    created blank (no filesystem); attach it with the O(openclaw.gcp.compute_instance#module:attached_disks)
    option of M(openclaw.gcp.compute_instance).
  - A disk that already matches costs a single GET and no write.
  - The size only grows (C(disks.resize)); a smaller O(size_gb) fails before any write, since Google
    cannot shrink a disk.
  - Labels are updated with their fingerprint (C(disks.setLabels)); labels the disk carries that are not
    listed stay unless O(purge_labels=true).
  - Resource policies (for example a snapshot schedule) are attached and detached with
    C(disks.addResourcePolicies) and C(disks.removeResourcePolicies).
  - The type and description are set when the disk is created; later differences are reported as warnings.
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
      - Size in GB. Required to create the disk (at least 10 for C(pd-*) types).
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
    Applied,
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
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import disk_summary, merge_labels

DEFAULT_TYPE = 'pd-balanced'
MIN_PD_SIZE_GB = 10
MAX_SIZE_GB = 65536
DIFF_KEYS = ('size_gb', 'type', 'labels', 'description', 'resource_policies', 'users')


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
    if params.get('timeout') is not None and params['timeout'] <= 0:
        errors.append('timeout must be a positive number of seconds')
    return errors


def wanted_policies(params):
    policies = params.get('resource_policies')
    return None if policies is None else sorted(set(short_name(p) for p in policies))


def plan(before, params):
    """Steps ``(label, kind, value)`` that bring an existing disk (``before``) to the options."""
    steps = []
    size = params.get('size_gb')
    if size is not None and before['size_gb'] is not None and size > before['size_gb']:
        steps.append(('resize to %d GB' % size, 'size_gb', size))
    labels = merge_labels(before['labels'], stringify_labels(params.get('labels')), params.get('purge_labels'))
    if labels != before['labels']:
        steps.append(('set labels', 'labels', labels))
    policies = wanted_policies(params)
    if policies is not None:
        extra = [p for p in before['resource_policies'] if p not in policies]
        missing = [p for p in policies if p not in before['resource_policies']]
        if extra:
            steps.append(('remove resource policies %s' % ', '.join(extra), 'remove_policies', extra))
        if missing:
            steps.append(('add resource policies %s' % ', '.join(missing), 'add_policies', missing))
    return steps


def creation_warnings(before, params):
    warnings = []
    name = before['name']
    if params.get('type') and short_name(params['type']) != before['type']:
        warnings.append('Disk %s is of type %s; type=%s only applies when creating.' % (name, before['type'], params['type']))
    if params.get('description') is not None and params['description'] != before['description']:
        warnings.append('Disk %s has another description; description only applies when creating.' % name)
    return warnings


def predict_created(params):
    return {
        'name': params['name'], 'id': None, 'zone': params['zone'], 'size_gb': params['size_gb'],
        'type': short_name(params.get('type') or DEFAULT_TYPE), 'status': 'READY',
        'labels': stringify_labels(params.get('labels')) or {}, 'description': params.get('description') or '',
        'resource_policies': wanted_policies(params) or [], 'users': [], 'self_link': None,
        'creation_timestamp': None, 'last_attach_timestamp': None, 'last_detach_timestamp': None,
    }


def diff_view(summary):
    if not summary:
        return {'state': 'absent'}
    view = dict((k, summary.get(k)) for k in DIFF_KEYS)
    view['state'] = 'present'
    return view


class DiskManager(object):

    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.params = module.params
        self.project = self.client.project
        self.zone = self.params['zone']
        self.path = 'projects/%s/zones/%s/disks/%s' % (self.project, self.zone, self.params['name'])
        self.resource = 'disk %s in zone %s (project %s)' % (self.params['name'], self.zone, self.project)
        self.timeout = float(self.params['timeout'])
        self.actions = []

    def read(self):
        return self.client.get('compute', self.path, 'read', self.resource)

    def policy_links(self, names):
        region = 'regions/%s' % zone_to_region(self.zone)
        return [compute_link(self.project, name, 'resourcePolicies', region) for name in names]

    def mutate(self, verb, label, done, body=None, method='POST', path=None, rebuild=None):
        """One write through the client's one way of changing a resource. A retry first reads the
        disk: ``done(summary)`` says the write already took effect, else ``rebuild(disk)`` (when
        given) makes a fresh body (a new label fingerprint)."""
        def reconcile():
            now = self.read()
            if done(disk_summary(now)):
                return Applied(None)
            return rebuild(now) if rebuild is not None and now else None
        self.client.compute_mutation(method, path or (self.path + ('/' + verb if verb else '')), label, self.resource,
                                     body=body, reconcile=reconcile, timeout=self.timeout)

    def create(self, after):
        body = {
            'name': after['name'],
            'sizeGb': str(after['size_gb']),
            'type': 'projects/%s/zones/%s/diskTypes/%s' % (self.project, self.zone, after['type']),
            'labels': after['labels'],
        }
        if after['description']:
            body['description'] = after['description']
        if after['resource_policies']:
            body['resourcePolicies'] = self.policy_links(after['resource_policies'])
        self.mutate(None, 'create', bool, body=body, path='projects/%s/zones/%s/disks' % (self.project, self.zone))

    def wanted_labels(self, labels):
        return merge_labels(labels, stringify_labels(self.params.get('labels')), self.params.get('purge_labels'))

    def set_labels(self, disk):
        """setLabels with the disk's fingerprint; on a stale fingerprint (someone else changed the
        labels meanwhile) the labels are merged again with what the disk carries now."""
        def build(current):
            return {'labels': self.wanted_labels(current.get('labels')), 'labelFingerprint': current.get('labelFingerprint')}
        self.mutate('setLabels', 'set labels', lambda now: now.get('labels') == self.wanted_labels(now.get('labels')),
                    body=build(disk), rebuild=build)

    def run_step(self, disk, kind, value):
        if kind == 'size_gb':
            self.mutate('resize', 'resize', lambda now: (now.get('size_gb') or 0) >= value, body={'sizeGb': str(value)})
        elif kind == 'labels':
            self.set_labels(disk)
        elif kind == 'add_policies':
            self.mutate('addResourcePolicies', 'add resource policies',
                        lambda now: set(value) <= set(now.get('resource_policies') or []),
                        body={'resourcePolicies': self.policy_links(value)})
        elif kind == 'remove_policies':
            self.mutate('removeResourcePolicies', 'remove resource policies',
                        lambda now: not set(value) & set(now.get('resource_policies') or []),
                        body={'resourcePolicies': self.policy_links(value)})

    def run(self):
        params = self.params
        check = self.module.check_mode
        disk = self.read()
        before = disk_summary(disk)

        if params['state'] == 'absent':
            if not before:
                return self.result(False, before, {})
            if before['users']:
                raise GcpError('Cannot delete %s: it is attached to %s; detach it or delete %s first (no change was made).' % (
                    self.resource, ', '.join('instance %s' % u for u in before['users']),
                    'that instance' if len(before['users']) == 1 else 'those instances'))
            self.actions = ['delete']
            if not check:
                self.mutate(None, 'delete', lambda now: not now, method='DELETE')
            return self.result(True, before, {})

        if not before:
            if params.get('size_gb') is None:
                raise GcpError('Cannot create %s without size_gb: give its size in GB (no request was sent).' % self.resource)
            after = predict_created(params)
            self.actions = ['create']
            if not check:
                self.create(after)
                after = disk_summary(self.read()) or after
            return self.result(True, before, after)

        size = params.get('size_gb')
        if size is not None and before['size_gb'] is not None and size < before['size_gb']:
            raise GcpError('Cannot shrink %s from %d GB to %d GB: Google only grows disks; keep size_gb at %d or more '
                           '(no change was made).' % (self.resource, before['size_gb'], size, before['size_gb']))
        for warning in creation_warnings(before, params):
            self.module.warn(warning)
        steps = plan(before, params)
        if not steps:
            return self.result(False, before, before)
        after = dict(before)
        for label, kind, value in steps:
            self.actions.append(label)
            if kind == 'size_gb':
                after['size_gb'] = value
            elif kind == 'labels':
                after['labels'] = value
            elif kind == 'add_policies':
                after['resource_policies'] = sorted(set(after['resource_policies']) | set(value))
            else:
                after['resource_policies'] = sorted(set(after['resource_policies']) - set(value))
        if not check:
            for dummy_label, kind, value in steps:
                self.run_step(disk, kind, value)
            after = disk_summary(self.read()) or after
        return self.result(True, before, after)

    def result(self, changed, before, after):
        out = {'changed': changed, 'disk': after, 'actions': list(self.actions)}
        if self.module._diff:  # pylint: disable=protected-access
            out['diff'] = {'before': diff_view(before), 'after': diff_view(after)}
        return out


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
        resource_policies=dict(type='list', elements='str'),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg='Invalid options for disk %s: %s (no request was sent).' % (module.params['name'], '; '.join(errors)),
                         errors=errors)
    try:
        result = DiskManager(module).run()
    except GcpError as exc:
        module.fail_gcp(exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
