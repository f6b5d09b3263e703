#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_firewall
short_description: Manage a VPC firewall rule (for example the SSH ingress rule of the gateway VMs)
version_added: 0.1.0
description:
  - Creates, updates (PATCH) or deletes one Compute Engine firewall rule.
  - A rule that already matches costs a single GET and no write. Ports, source ranges and target
    tags are compared as sets, so their order does not matter.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - Name of the firewall rule (RFC 1035).
    type: str
    required: true
  state:
    description:
      - Whether the rule should exist.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - Network name or link of the rule. It cannot change once the rule exists.
    type: str
    default: default
  direction:
    description:
      - Direction of the traffic the rule applies to.
    type: str
    choices: [INGRESS, EGRESS]
    default: INGRESS
  priority:
    description:
      - Priority, 0 (highest) to 65535.
    type: int
    default: 1000
  allowed:
    description:
      - Protocols and ports the rule allows.
    type: list
    elements: dict
    default: [{protocol: tcp, ports: ['22']}]
    suboptions:
      protocol:
        description:
          - V(tcp), V(udp), V(icmp), V(all) or an IP protocol number.
        type: str
        required: true
      ports:
        description:
          - Ports or ranges (V(22), V(8000-8080)); empty means every port.
        type: list
        elements: str
  source_ranges:
    description:
      - Source CIDR ranges (ingress). Required when creating an ingress rule.
      - This and O(destination_ranges), O(target_tags) and O(description) are left as they are on an
        existing rule when not set; an empty list clears them.
    type: list
    elements: str
  destination_ranges:
    description:
      - Destination CIDR ranges (egress).
    type: list
    elements: str
  target_tags:
    description:
      - The rule applies to instances with one of these network tags; empty means every instance.
    type: list
    elements: str
  description:
    description:
      - Free text description.
    type: str
  disabled:
    description:
      - Keep the rule but do not enforce it.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each operation.
    type: int
    default: 300
seealso:
  - module: openclaw.gcp.compute_instance
'''

EXAMPLES = r'''
- name: Allow SSH to the gateway VMs from the IAP range only
  openclaw.gcp.compute_firewall:
    project: my-openclaw-project
    name: openclaw-allow-ssh
    network: default
    allowed:
      - protocol: tcp
        ports: ['22']
    source_ranges: [35.235.240.0/20]
    target_tags: [openclaw-ssh]

- name: Remove the rule
  openclaw.gcp.compute_firewall:
    name: openclaw-allow-ssh
    state: absent
'''

RETURN = r'''
firewall:
  description: The rule after the task (predicted in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Rule name.
      type: str
      sample: openclaw-allow-ssh
    network:
      description: Short name of the network.
      type: str
      sample: default
    direction:
      description: INGRESS or EGRESS.
      type: str
    priority:
      description: Priority.
      type: int
    allowed:
      description: Protocols and ports, sorted.
      type: list
      elements: dict
      sample: [{"protocol": "tcp", "ports": ["22"]}]
    source_ranges:
      description: Source ranges, sorted.
      type: list
      elements: str
    destination_ranges:
      description: Destination ranges, sorted.
      type: list
      elements: str
    target_tags:
      description: Target tags, sorted.
      type: list
      elements: str
    description:
      description: Description.
      type: str
    disabled:
      description: Whether the rule is disabled.
      type: bool
    self_link:
      description: Google's link to the rule.
      type: str
'''

import ipaddress

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    Applied,
    GcpError,
    GcpModule,
    compute_link,
    short_name,
    validate_name,
)
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import ComputeResource

MANAGED = ('direction', 'priority', 'allowed', 'source_ranges', 'destination_ranges', 'target_tags', 'description', 'disabled')


def normalize_allowed(entries):
    """Order-insensitive form of ``allowed``: sorted list of ``{protocol, ports}``."""
    out = []
    for entry in entries or []:
        protocol = str(entry.get('protocol') or entry.get('IPProtocol') or '').lower()
        ports = sorted(set(str(p) for p in (entry.get('ports') or [])))
        out.append({'protocol': protocol, 'ports': ports})
    return sorted(out, key=lambda e: (e['protocol'], e['ports']))


def summarize(rule):
    if not rule:
        return {}
    return {
        'name': rule.get('name'),
        'network': short_name(rule.get('network')),
        'direction': rule.get('direction', 'INGRESS'),
        'priority': int(rule.get('priority', 1000)),
        'allowed': normalize_allowed(rule.get('allowed')),
        'source_ranges': sorted(rule.get('sourceRanges') or []),
        'destination_ranges': sorted(rule.get('destinationRanges') or []),
        'target_tags': sorted(rule.get('targetTags') or []),
        'description': rule.get('description') or '',
        'disabled': bool(rule.get('disabled', False)),
        'self_link': rule.get('selfLink'),
    }


def _sorted_or_none(values):
    return None if values is None else sorted(set(values))


def desired_from_params(params):
    """Desired rule; ``None`` marks a list or the description the task does not manage."""
    return {
        'name': params['name'],
        'network': short_name(params['network']),
        'direction': params['direction'],
        'priority': params['priority'],
        'allowed': normalize_allowed(params['allowed']),
        'source_ranges': _sorted_or_none(params['source_ranges']),
        'destination_ranges': _sorted_or_none(params['destination_ranges']),
        'target_tags': _sorted_or_none(params['target_tags']),
        'description': params['description'],
        'disabled': params['disabled'],
    }


def creation_view(desired):
    """What a new rule looks like: unmanaged lists are empty, no description."""
    view = dict(desired)
    for key in ('source_ranges', 'destination_ranges', 'target_tags'):
        if view[key] is None:
            view[key] = []
    if view['description'] is None:
        view['description'] = ''
    return view


def changed_fields(current, desired):
    return [key for key in MANAGED if desired.get(key) is not None and current.get(key) != desired.get(key)]


def to_body(desired, project, fields=None):
    """REST body for insert (all fields) or patch (``fields`` only)."""
    full = {
        'name': desired['name'],
        'network': compute_link(project, desired['network'], 'networks'),
        'direction': desired['direction'],
        'priority': desired['priority'],
        'allowed': [dict([('IPProtocol', e['protocol'])] + ([('ports', e['ports'])] if e['ports'] else [])) for e in desired['allowed']],
        'sourceRanges': desired['source_ranges'],
        'destinationRanges': desired['destination_ranges'],
        'targetTags': desired['target_tags'],
        'description': desired['description'],
        'disabled': desired['disabled'],
    }
    if fields is None:
        return dict((k, v) for k, v in full.items() if v not in ([], None))
    names = {'source_ranges': 'sourceRanges', 'destination_ranges': 'destinationRanges', 'target_tags': 'targetTags'}
    return dict((names.get(f, f), full[names.get(f, f)]) for f in fields)


def validate(params):
    errors = []
    problem = validate_name(params['name'], 'Firewall rule name')
    if problem:
        errors.append(problem)
    if not 0 <= params['priority'] <= 65535:
        errors.append('priority must be between 0 and 65535, got %s' % params['priority'])
    for entry in params['allowed'] or []:
        protocol = str(entry.get('protocol', '')).lower()
        if protocol not in ('tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all') and not protocol.isdigit():
            errors.append('allowed protocol %r is not tcp, udp, icmp, esp, ah, sctp, ipip, all or a protocol number' % protocol)
        for port in entry.get('ports') or []:
            bounds = str(port).split('-')
            if len(bounds) > 2 or not all(b.isdigit() and 0 <= int(b) <= 65535 for b in bounds):
                errors.append('port %r is not a port or range such as 22 or 8000-8080' % (port,))
            elif protocol not in ('tcp', 'udp', 'sctp', 'all'):
                errors.append('ports are only allowed with tcp, udp, sctp or all, not %s' % protocol)
    for option in ('source_ranges', 'destination_ranges'):
        for cidr in params[option] or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                errors.append('%s entry %r is not an IP range such as 203.0.113.0/24' % (option, cidr))
    for tag in params['target_tags'] or []:
        problem = validate_name(tag, 'Target tag')
        if problem:
            errors.append(problem)
    if params['state'] == 'present':
        if params['direction'] == 'INGRESS' and params['destination_ranges']:
            errors.append('destination_ranges only apply to EGRESS rules')
        if params['direction'] == 'EGRESS' and params['source_ranges']:
            errors.append('source_ranges only apply to INGRESS rules')
        if not params['allowed']:
            errors.append('allowed must list at least one protocol')
    return errors


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str', default='default'),
        direction=dict(type='str', default='INGRESS', choices=['INGRESS', 'EGRESS']),
        priority=dict(type='int', default=1000),
        allowed=dict(type='list', elements='dict', default=[{'protocol': 'tcp', 'ports': ['22']}], options=dict(
            protocol=dict(type='str', required=True),
            ports=dict(type='list', elements='str'),
        )),
        source_ranges=dict(type='list', elements='str'),
        destination_ranges=dict(type='list', elements='str'),
        target_tags=dict(type='list', elements='str'),
        description=dict(type='str'),
        disabled=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg='Invalid options for firewall rule %s: %s (no request was sent).' % (params['name'], '; '.join(errors)), errors=errors)

    client = module.client
    project = client.project
    path = 'projects/%s/global/firewalls/%s' % (project, params['name'])
    resource = 'firewall rule %s (project %s)' % (params['name'], project)
    rule = ComputeResource(module, path, resource, 'firewall', summarize, float(params['timeout']))

    try:
        current = rule.read()
        before = summarize(current)
        if params['state'] == 'absent':
            rule.ensure_absent(current, before)

        desired = desired_from_params(params)
        if current is None:
            if params['direction'] == 'INGRESS' and not params['source_ranges']:
                module.fail_json(msg='Cannot create %s: an INGRESS rule needs source_ranges (no request was sent).' % resource)
            desired = creation_view(desired)
            after = rule.create('projects/%s/global/firewalls' % project, to_body(desired, project), dict(desired, self_link=None))
            rule.exit(True, before, after, ['create'])

        if before['network'] != desired['network']:
            module.fail_json(msg='Cannot move %s from network %s to %s: delete the rule first (no change was made).' % (
                resource, before['network'], desired['network']))
        fields = changed_fields(before, desired)
        if not fields:
            rule.exit(False, before, before, [])
        after = dict(before)
        for key in fields:
            after[key] = desired[key]

        def reconcile():
            now = summarize(rule.read())
            return Applied(None) if now and not changed_fields(now, desired) else None
        after = rule.update('PATCH', to_body(desired, project, fields), reconcile, after)
        rule.exit(True, before, after, ['update %s' % ', '.join(fields)])
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
