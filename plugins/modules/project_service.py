#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: project_service
short_description: Enable or disable a Google API (such as Compute Engine) in a project
version_added: 0.1.0
description:
  - Enables or disables one service with the Service Usage API and waits for the operation.
  - A service already in the wanted state costs a single GET and no write.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  service:
    description:
      - The service name, for example V(compute.googleapis.com). A name without a dot gets
        C(.googleapis.com) appended (V(compute) means V(compute.googleapis.com)).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) enables the service, V(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
  disable_dependent_services:
    description:
      - When disabling, also disable the services that depend on this one. Without it Google refuses
        to disable a service others depend on.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the operation.
    type: int
    default: 300
'''

EXAMPLES = r'''
- name: Enable the Compute Engine API
  openclaw.gcp.project_service:
    project: my-openclaw-project
    service: compute.googleapis.com

- name: Enable IAM and Service Usage too
  openclaw.gcp.project_service:
    project: my-openclaw-project
    service: "{{ item }}"
  loop:
    - iam.googleapis.com
    - serviceusage.googleapis.com

- name: Disable an API nobody uses
  openclaw.gcp.project_service:
    project: my-openclaw-project
    service: translate.googleapis.com
    state: absent
'''

RETURN = r'''
service:
  description: The service after the task (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Service name.
      type: str
      sample: compute.googleapis.com
    state:
      description: C(ENABLED) or C(DISABLED).
      type: str
      sample: ENABLED
    title:
      description: Human readable title, when Google returns one.
      type: str
      sample: Compute Engine API
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Change, GcpError, GcpModule, Resource

SERVICE_RE = re.compile(r'^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$')


def service_name(value):
    """``compute`` -> ``compute.googleapis.com``; full names unchanged."""
    value = value.strip()
    if '.' not in value:
        value += '.googleapis.com'
    return value


def summarize(name, found):
    found = found or {}
    return {
        'name': name,
        'state': found.get('state') or 'DISABLED',
        'title': (found.get('config') or {}).get('title'),
    }


def main():
    argument_spec = dict(
        service=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        disable_dependent_services=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    name = service_name(params['service'])
    if not SERVICE_RE.match(name):
        module.fail_json(msg='Service %r is not a service name such as compute.googleapis.com (no request was sent).' % params['service'])
    project = module.client.project
    resource = 'service %s (project %s)' % (name, project)
    wanted = 'ENABLED' if params['state'] == 'present' else 'DISABLED'
    verb = 'enable' if wanted == 'ENABLED' else 'disable'
    # A service always exists (a 404 is a name Google does not know); its view says whether it is on.
    service = Resource(module, 'serviceusage', 'projects/%s/services/%s' % (project, name), resource, 'service',
                       lambda found: summarize(name, found), float(params['timeout']),
                       diff_view=lambda view: {'state': view['state']}, read_404=False, lro=True)
    try:
        before = summarize(name, service.read())
        changes = []
        if before['state'] != wanted:
            changes.append(Change(verb, lambda view: dict(view, state=wanted), lambda view: view['state'] == wanted, verb=verb,
                                  body={'disableDependentServices': params['disable_dependent_services']} if verb == 'disable' else {},
                                  confirm=lambda view: 'the operation finished but the service is %s' % view['state']))
        service.converge(before, changes)
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
