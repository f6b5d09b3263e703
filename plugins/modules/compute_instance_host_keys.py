#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_instance_host_keys
short_description: Read a Compute Engine VM's SSH host keys from its guest attributes
version_added: 0.2.0
description:
  - Reads the SSH host keys that Google's guest agent publishes under the C(hostkeys/) guest
    attribute namespace (C(instances.getGuestAttributes)), so that the first SSH connection to a
    new VM can check its host key instead of trusting whatever answers.
  - The guest agent publishes them only when guest attributes are enabled (metadata
    C(enable-guest-attributes=TRUE) on the instance or the project) and a little while after
    the VM boots; the module waits for them up to O(timeout) seconds.
  - Never writes.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.read_only
options:
  name:
    description: Name of the instance.
    type: str
    required: true
  zone:
    description: Zone of the instance.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait until the guest agent has published the keys.
    type: int
    default: 120
notes:
  - A VM that does not exist, or has guest attributes turned off, fails the task at once with a
    sentence that says which.
seealso:
  - module: openclaw.gcp.compute_instance
  - module: ansible.builtin.known_hosts
'''

EXAMPLES = r'''
- name: Read the gateway VM's host keys
  openclaw.gcp.compute_instance_host_keys:
    name: openclaw-gateway
    zone: us-central1-a
  register: gateway_keys

- name: Trust exactly those keys for the VM's address
  ansible.builtin.known_hosts:
    path: ~/.ssh/known_hosts
    name: "{{ gateway_keys.external_ip }}"
    key: "{{ gateway_keys.external_ip }} {{ item }}"
  loop: "{{ gateway_keys.known_hosts_keys }}"
'''

RETURN = r'''
host_keys:
  description: The published host keys, sorted by type.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: Key type.
      type: str
      sample: ssh-ed25519
    key:
      description: The base64 public key.
      type: str
known_hosts_keys:
  description: Each key as C(TYPE KEY), what a known_hosts line holds after the host name.
  returned: always
  type: list
  elements: str
  sample: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"]
instance_id:
  description:
    - The instance's numeric id. A VM deleted and created again under the same name has a new
      id (and new host keys); the same id with different keys means the keys really changed.
  returned: always
  type: str
external_ip:
  description: The VM's current external address, if any (an ephemeral one changes on stop and start).
  returned: always
  type: str
internal_ip:
  description: The VM's internal address.
  returned: always
  type: str
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.compute import summarize
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    GcpError,
    GcpModule,
    metadata_to_dict,
    validate_name,
    ZONE_RE,
)

KEY_TYPE_RE = re.compile(r'^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)$')
KEY_RE = re.compile(r'^[A-Za-z0-9+/]+={0,3}$')


def parse_host_keys(answer):
    """``[{'type', 'key'}]`` from a getGuestAttributes answer for ``hostkeys/`` (malformed items skipped)."""
    items = ((answer or {}).get('queryValue') or {}).get('items') or []
    found = {}
    for item in items:
        if item.get('namespace') != 'hostkeys':
            continue
        key_type = item.get('key') or ''
        value = (item.get('value') or '').strip().split()
        # the agent publishes the bare base64 key; accept "TYPE KEY [comment]" as well
        if len(value) >= 2 and value[0] == key_type:
            value = value[1:2]
        if KEY_TYPE_RE.match(key_type) and len(value) == 1 and KEY_RE.match(value[0]):
            found[key_type] = value[0]
    return [{'type': t, 'key': found[t]} for t in sorted(found)]


def guest_attributes_enabled(*metadata_dicts):
    """Google's rule: the instance's value wins, else the project's; off unless TRUE."""
    for values in metadata_dicts:
        value = values.get('enable-guest-attributes')
        if value is not None:
            return str(value).strip().upper() in ('TRUE', '1', 'Y', 'YES')
    return False


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        zone=dict(type='str', required=True),
        timeout=dict(type='int', default=120),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    errors = []
    problem = validate_name(params['name'], 'Instance name')
    if problem:
        errors.append(problem)
    if not ZONE_RE.match(params['zone']):
        errors.append('Zone %r is not a zone name such as us-central1-a' % (params['zone'],))
    if params['timeout'] <= 0:
        errors.append('timeout must be a positive number of seconds')
    if errors:
        module.fail_json(msg='Invalid options: %s (no request was sent).' % '; '.join(errors), errors=errors)

    client = module.client
    project = client.project
    path = 'projects/%s/zones/%s/instances/%s' % (project, params['zone'], params['name'])
    resource = 'instance %s in zone %s (project %s)' % (params['name'], params['zone'], project)
    try:
        instance = client.get('compute', path, 'read', resource)
        if instance is None:
            raise GcpError('Instance %s does not exist: there are no host keys to read.' % resource[len('instance '):])
        own = metadata_to_dict(instance.get('metadata'))
        if 'enable-guest-attributes' not in own:
            common = client.get('compute', 'projects/%s' % project, 'read', 'project %s' % project, allow_404=False)
            enabled = guest_attributes_enabled(own, metadata_to_dict((common or {}).get('commonInstanceMetadata')))
        else:
            enabled = guest_attributes_enabled(own)
        if not enabled:
            raise GcpError('Guest attributes are off for %s, so its guest agent publishes no host keys: set metadata '
                           'enable-guest-attributes: "TRUE" on the instance (or the project).' % resource)
        keys = client.poll(
            lambda: parse_host_keys(client.get('compute', path + '/getGuestAttributes', 'read host keys of', resource,
                                               params={'queryPath': 'hostkeys/'})),
            bool, float(params['timeout']),
            lambda dummy: 'waiting for the guest agent of %s to publish its SSH host keys' % resource,
            pause=1.0, cap=5.0)
    except GcpError as exc:
        module.fail_gcp(exc)
    view = summarize(instance)
    module.exit_json(changed=False, host_keys=keys, known_hosts_keys=['%s %s' % (k['type'], k['key']) for k in keys],
                     instance_id=view['id'], external_ip=view['external_ip'], internal_ip=view['internal_ip'])


if __name__ == '__main__':
    main()
