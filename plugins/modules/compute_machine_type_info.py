#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_machine_type_info
short_description: Read a Compute Engine machine type (vCPUs, memory) in one zone
version_added: 0.1.0
description:
  - Reads one machine type with one GET; never writes.
  - Tells whether a machine type is offered in a zone before a VM is created or resized, and
    how much memory it gives a VM. The gateway playbooks size the gateway container's memory
    limit from RV(machine_type.memory_mb) rather than from the guest, whose view of its memory
    differs from the machine type by what the firmware and kernel keep.
  - Custom machine types (V(e2-custom-2-4096), V(custom-4-8192-ext)) are read the same way.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.read_only
options:
  name:
    description:
      - The machine type's name (V(e2-small)), or its partial or full URL.
    type: str
    required: true
    aliases: [machine_type]
  zone:
    description:
      - The zone, for example V(us-central1-a). A machine type URL's own zone must agree.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: How much memory an e2-small gives a VM
  openclaw.gcp.compute_machine_type_info:
    name: e2-small
    zone: us-central1-a
  register: mt

- name: Leave a quarter of it (256 MiB to 1 GiB) to the OS, Docker and sshd
  ansible.builtin.debug:
    msg: "{{ mt.machine_type.memory_mb - ([[mt.machine_type.memory_mb // 4, 256] | max, 1024] | min) }} MiB"
'''

RETURN = r'''
machine_type:
  description: The machine type.
  returned: success
  type: dict
  contains:
    name:
      description: Machine type name.
      type: str
      sample: e2-small
    zone:
      description: The zone it was read in.
      type: str
      sample: us-central1-a
    guest_cpus:
      description: Virtual CPUs a VM of this type gets.
      type: int
      sample: 2
    memory_mb:
      description: Memory a VM of this type gets, in MiB.
      type: int
      sample: 2048
    is_shared_cpu:
      description: Whether the vCPUs are shared-core (e2-micro, e2-small, e2-medium).
      type: bool
      sample: true
    deprecated:
      description: Deprecation state (C(ACTIVE) when not deprecated).
      type: str
      sample: ACTIVE
    description:
      description: Google's description.
      type: str
      sample: 2 vCPUs, 2 GB RAM
    self_link:
      description: Partial URL of the machine type.
      type: str
      sample: projects/my-project/zones/us-central1-a/machineTypes/e2-small
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.compute import MACHINE_TYPE_RE
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import ZONE_RE, GcpError, GcpModule, normalize_link

LINK_RE = re.compile(r'^(?:projects/[^/]+/)?zones/(?P<zone>[^/]+)/machineTypes/(?P<name>[^/]+)$')


def parse(name, zone):
    """(name, problems) from the options: a name or a machine type link whose zone agrees."""
    problems = []
    match = LINK_RE.match(normalize_link(name or ''))
    if match:
        if match.group('zone') != zone:
            problems.append('machine type %s is in zone %s, not in zone %s' % (name, match.group('zone'), zone))
        name = match.group('name')
    if not MACHINE_TYPE_RE.match(name or ''):
        problems.append('name %r is not a machine type such as e2-small' % (name,))
    if not ZONE_RE.match(zone or ''):
        problems.append('zone %r is not a zone such as us-central1-a' % (zone,))
    return name, problems


def machine_type_view(resource, zone):
    """What the module returns about one machine type resource."""
    def number(key):
        value = resource.get(key)
        return int(value) if value not in (None, '') else None
    return {
        'name': resource.get('name'),
        'zone': zone,
        'guest_cpus': number('guestCpus'),
        'memory_mb': number('memoryMb'),
        'is_shared_cpu': bool(resource.get('isSharedCpu', False)),
        'deprecated': (resource.get('deprecated') or {}).get('state') or 'ACTIVE',
        'description': resource.get('description'),
        'self_link': normalize_link(resource.get('selfLink') or ''),
    }


def main():
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['machine_type']),
        zone=dict(type='str', required=True),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client
    zone = module.params['zone']
    name, problems = parse(module.params['name'], zone)
    if problems:
        module.fail_json(msg='Invalid options: %s.' % '; '.join(problems))
    try:
        found = client.get('compute', 'projects/%s/zones/%s/machineTypes/%s' % (client.project, zone, name),
                           'read', 'machine type %s in zone %s' % (name, zone))
    except GcpError as exc:
        module.fail_gcp(exc)
    if found is None:
        module.fail_json(msg='Machine type %s is not offered in zone %s (project %s).' % (name, zone, client.project))
    module.exit_json(changed=False, machine_type=machine_type_view(found, zone))


if __name__ == '__main__':
    main()
