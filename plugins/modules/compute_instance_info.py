#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_instance_info
short_description: List Compute Engine VMs by name, labels or filter, in one zone or across all zones
version_added: 0.1.0
description:
  - Reads Compute Engine instances; never writes.
  - With O(name) and O(zone), one GET. With O(zone) only, the zone's list. Without O(zone), one
    C(aggregatedList) across every zone of the project. Every list follows all pages.
  - O(labels) and O(filter) are sent to Google as a server-side filter, so only matching instances
    travel; labels are checked again on the answer.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.read_only
options:
  name:
    description:
      - Only the instance with this name.
    type: str
  zone:
    description:
      - Only this zone. Without it every zone is searched with one aggregated list.
    type: str
  zones:
    description:
      - Only these zones (searched with one aggregated list, filtered to these zones).
      - Mutually exclusive with O(zone).
    type: list
    elements: str
  labels:
    description:
      - Only instances carrying all these labels with these values.
    type: dict
  show_metadata:
    description:
      - Metadata keys whose values are returned as they are. Other values are masked (they may hold
        secrets, a startup script for example), except plain settings such as C(enable-oslogin) and C(ssh-keys).
    type: list
    elements: str
    default: []
  filter:
    description:
      - A Compute Engine filter expression, for example V(status = RUNNING), combined with O(labels) and O(name).
    type: str
'''

EXAMPLES = r'''
- name: Find every OpenClaw gateway, in any zone
  openclaw.gcp.compute_instance_info:
    project: my-openclaw-project
    labels:
      app: openclaw
  register: gateways

- name: Show their external addresses
  ansible.builtin.debug:
    msg: "{{ gateways.instances | map(attribute='external_ip') | list }}"

- name: Read one instance
  openclaw.gcp.compute_instance_info:
    name: openclaw-gateway
    zone: us-central1-a
  register: one

- name: Running instances in one zone
  openclaw.gcp.compute_instance_info:
    zone: us-central1-a
    filter: status = RUNNING
'''

RETURN = r'''
instances:
  description: The matching instances, sorted by zone then name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance name.
      type: str
    zone:
      description: Zone name.
      type: str
    status:
      description: C(RUNNING), C(TERMINATED), ...
      type: str
    machine_type:
      description: Short name of the machine type.
      type: str
    internal_ip:
      description: Internal IPv4 address of the first interface.
      type: str
    external_ip:
      description: External IPv4 address of the first interface, if any.
      type: str
    labels:
      description: Labels.
      type: dict
    tags:
      description: Network tags.
      type: list
      elements: str
    metadata:
      description: Metadata key/value pairs.
      type: dict
    attached_disks:
      description: Disks attached besides the boot disk (C(name), C(device_name), C(mode), C(auto_delete)).
      type: list
      elements: dict
    self_link:
      description: Google's link to the instance.
      type: str
project:
  description: The project that was searched.
  returned: always
  type: str
  sample: my-openclaw-project
zones:
  description: The zones the matching instances are in, sorted.
  returned: always
  type: list
  elements: str
  sample: ["us-central1-a"]
'''

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    GcpError,
    GcpModule,
    ZONE_RE,
    short_name,
    stringify_labels,
    validate_labels,
    validate_name,
)
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import public_view, summarize


def quote_filter_value(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def build_filter(name=None, labels=None, extra=None):
    """A Compute Engine list filter from a name, labels and a free expression (``None`` if empty)."""
    parts = []
    if name:
        parts.append('(name = %s)' % quote_filter_value(name))
    for key in sorted(labels or {}):
        parts.append('(labels.%s = %s)' % (key, quote_filter_value(labels[key])))
    if extra:
        parts.append('(%s)' % extra)
    return ' AND '.join(parts) or None


def matches(summary, name=None, labels=None, zones=None):
    """Client-side check of what the server-side filter asked for."""
    if name and summary['name'] != name:
        return False
    if zones and summary['zone'] not in zones:
        return False
    for key, value in (labels or {}).items():
        if summary['labels'].get(key) != value:
            return False
    return True


def main():
    argument_spec = dict(
        name=dict(type='str'),
        zone=dict(type='str'),
        zones=dict(type='list', elements='str'),
        labels=dict(type='dict'),
        filter=dict(type='str'),
        show_metadata=dict(type='list', elements='str', default=[]),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[('zone', 'zones')])
    params = module.params
    client = module.client
    project = client.project
    labels = stringify_labels(params['labels'])
    errors = validate_labels(labels)
    if params['name']:
        problem = validate_name(params['name'], 'Instance name')
        if problem:
            errors.append(problem)
    for zone in ([params['zone']] if params['zone'] else []) + (params['zones'] or []):
        if not ZONE_RE.match(zone):
            errors.append('Zone %r is not a zone name such as us-central1-a' % (zone,))
    if errors:
        module.fail_json(msg='Invalid options: %s.' % '; '.join(errors), errors=errors)

    try:
        if params['name'] and params['zone'] and not labels and not params['filter']:
            path = 'projects/%s/zones/%s/instances/%s' % (project, params['zone'], params['name'])
            found = client.get('compute', path, 'read', 'instance %s in zone %s (project %s)' % (params['name'], params['zone'], project))
            raw = [found] if found else []
        elif params['zone']:
            path = 'projects/%s/zones/%s/instances' % (project, params['zone'])
            query = {}
            expr = build_filter(params['name'], labels, params['filter'])
            if expr:
                query['filter'] = expr
            raw = client.list_all('compute', path, 'list', 'instances in zone %s (project %s)' % (params['zone'], project), params=query)
        else:
            expr = build_filter(params['name'], labels, params['filter'])
            raw = [item for dummy_scope, item in client.aggregated_list(
                'instances', 'list', 'instances in every zone (project %s)' % project, filter_expr=expr)]
    except GcpError as exc:
        module.fail_gcp(exc)

    zones = set(params['zones'] or [])
    summaries = [summarize(item) for item in raw]
    instances = [public_view(s, params['show_metadata']) for s in summaries if matches(s, params['name'], labels, zones)]
    instances.sort(key=lambda s: (s['zone'] or '', s['name'] or ''))
    module.exit_json(changed=False, instances=instances, project=project,
                     zones=sorted(set(short_name(i['zone']) for i in instances)))


if __name__ == '__main__':
    main()
