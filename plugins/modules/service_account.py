#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: service_account
short_description: Manage an IAM service account (the automation identity of the gateway project)
version_added: 0.1.0
description:
  - Creates, updates (display name, description) or deletes one service account with the IAM API.
  - An account that already matches costs a single GET and no write.
  - Grant it roles with M(openclaw.gcp.project_iam_member); this module creates no key.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - The account id (the part of the email before C(@)), 6-30 characters, or the full email.
    type: str
    required: true
    aliases: [account_id]
  display_name:
    description:
      - Display name (at most 100 characters). When not set, left as it is (empty when creating).
    type: str
  description:
    description:
      - Description (at most 256 characters). When not set, left as it is.
    type: str
  state:
    description:
      - Whether the account should exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: openclaw.gcp.project_iam_member
'''

EXAMPLES = r'''
- name: Automation identity for the gateway deployment
  openclaw.gcp.service_account:
    project: my-openclaw-project
    name: openclaw-deployer
    display_name: OpenClaw deployer
    description: Creates and resizes the gateway VMs
  register: deployer

- name: Let it manage instances, nothing more
  openclaw.gcp.project_iam_member:
    project: my-openclaw-project
    role: roles/compute.instanceAdmin.v1
    member: "serviceAccount:{{ deployer.service_account.email }}"
'''

RETURN = r'''
service_account:
  description: The account after the task (predicted in check mode; only the email when absent).
  returned: always
  type: dict
  contains:
    email:
      description: Email of the account.
      type: str
      sample: openclaw-deployer@my-openclaw-project.iam.gserviceaccount.com
    account_id:
      description: The part of the email before C(@).
      type: str
      sample: openclaw-deployer
    display_name:
      description: Display name.
      type: str
    description:
      description: Description.
      type: str
    unique_id:
      description: Numeric unique id (unknown in check mode before creation).
      type: str
    disabled:
      description: Whether the account is disabled.
      type: bool
    exists:
      description: Whether the account exists after the task.
      type: bool
actions:
  description: The changes made (or that would be made in check mode).
  returned: always
  type: list
  elements: str
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Change, GcpError, GcpModule, Resource

ACCOUNT_ID_RE = re.compile(r'^[a-z]([-a-z0-9]{4,28}[a-z0-9])$')
# The fields the task manages: (Google's name, the option and view key).
FIELDS = (('displayName', 'display_name'), ('description', 'description'))


def split_name(name, project):
    """``(account_id, email)`` from an account id or an email."""
    if '@' in name:
        return name.split('@', 1)[0], name.lower()
    return name, '%s@%s.iam.gserviceaccount.com' % (name, project)


def summarize(found, account_id, email):
    if not found:
        return {'email': email, 'account_id': account_id, 'exists': False}
    return {
        'email': found.get('email') or email,
        'account_id': (found.get('email') or email).split('@', 1)[0],
        'display_name': found.get('displayName') or '',
        'description': found.get('description') or '',
        'unique_id': found.get('uniqueId'),
        'disabled': bool(found.get('disabled', False)),
        'exists': True,
    }


def main():
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['account_id']),
        display_name=dict(type='str'),
        description=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    client = module.client
    project = client.project
    account_id, email = split_name(params['name'], project)
    errors = []
    if not ACCOUNT_ID_RE.match(account_id):
        errors.append('account id %r is invalid: 6-30 lowercase letters, digits or hyphens, starting with a letter '
                      'and not ending with a hyphen' % account_id)
    if params['display_name'] is not None and len(params['display_name']) > 100:
        errors.append('display_name is longer than 100 characters')
    if params['description'] is not None and len(params['description']) > 256:
        errors.append('description is longer than 256 characters')
    if errors:
        module.fail_json(msg='Invalid options for service account %s: %s (no request was sent).' % (email, '; '.join(errors)), errors=errors)

    # IAM answers each write with the account itself (no operation), so no read follows a write.
    account = Resource(module, 'iam', 'projects/%s/serviceAccounts/%s' % (project, email), 'service account %s' % email,
                       'service_account', lambda found: summarize(found, account_id, email), 300.0, answers_resource=True)
    try:
        current = account.read()
        before = summarize(current, account_id, email)
        if params['state'] == 'absent':
            account.ensure_absent(current, before)
        if current is None:
            predicted = {'email': email, 'account_id': account_id, 'display_name': params['display_name'] or '',
                         'description': params['description'] or '', 'unique_id': None, 'disabled': False, 'exists': True}
            body = {'accountId': account_id, 'serviceAccount': dict(
                (field, params[option]) for field, option in FIELDS if params[option])}
            account.exit(True, before, account.create('projects/%s/serviceAccounts' % project, body, predicted), ['create'])
        wanted = dict(before)
        mask = []
        for field, option in FIELDS:
            if params[option] is not None and params[option] != before[option]:
                mask.append(field)
                wanted[option] = params[option]
        changes = []
        if mask:
            changes.append(Change('update %s' % ', '.join(mask), lambda view: wanted, method='PATCH',
                                  done=lambda view: all(view.get(option) == wanted[option] for dummy, option in FIELDS),
                                  body={'serviceAccount': {'displayName': wanted['display_name'], 'description': wanted['description']},
                                        'updateMask': ','.join(mask)}))
        account.converge(before, changes)
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
