#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: project
short_description: Create a Google Cloud project and link it to a billing account
version_added: 0.1.0
description:
  - Creates (or updates the display name and labels of) a project with the Resource Manager v3 API
    and waits for the operation.
  - Optionally links the project to a billing account (Cloud Billing API), the guide's "enable billing" step.
  - V(absent) requests deletion (the project enters C(DELETE_REQUESTED) and Google removes it after 30 days);
    V(present) on such a project undeletes it.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  project_id:
    description:
      - The project id (6-30 characters, lowercase letters, digits and hyphens, starting with a letter).
      - If not set, O(project) is used.
    type: str
    aliases: [id]
  name:
    description:
      - Display name. When creating and not set, the project id is used.
    type: str
  parent:
    description:
      - Parent of a new project, V(organizations/ORG_ID) or V(folders/FOLDER_ID). Only used when creating.
    type: str
  labels:
    description:
      - Labels. When set, the project carries exactly these labels.
    type: dict
  billing_account:
    description:
      - Billing account to link, V(billingAccounts/0X0X0X-0X0X0X-0X0X0X) or just the id.
      - An empty string unlinks billing. When not set, billing is left alone.
    type: str
  state:
    description:
      - Whether the project should exist.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds to wait for each operation.
    type: int
    default: 300
'''

EXAMPLES = r'''
- name: Create the project and link billing
  openclaw.gcp.project:
    project_id: my-openclaw-project
    name: OpenClaw gateway
    billing_account: 0X0X0X-0X0X0X-0X0X0X
    labels:
      app: openclaw

- name: Request deletion of a project
  openclaw.gcp.project:
    project_id: old-openclaw-project
    state: absent
'''

RETURN = r'''
project:
  description: The project after the task (predicted in check mode).
  returned: always
  type: dict
  contains:
    project_id:
      description: Project id.
      type: str
      sample: my-openclaw-project
    name:
      description: Display name.
      type: str
    number:
      description: Project number (unknown in check mode before creation).
      type: str
      sample: "123456789012"
    state:
      description: C(ACTIVE), C(DELETE_REQUESTED) or C(absent).
      type: str
    labels:
      description: Labels.
      type: dict
    parent:
      description: Parent resource.
      type: str
    billing_account:
      description: Linked billing account (C(billingAccounts/...)), or an empty string; only when O(billing_account) is set.
      type: str
    billing_enabled:
      description: Whether billing is enabled; only when O(billing_account) is set.
      type: bool
actions:
  description: The changes made (or that would be made in check mode).
  returned: always
  type: list
  elements: str
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    Applied,
    GcpError,
    GcpModule,
    PROJECT_ID_RE,
    short_name,
    stringify_labels,
    validate_labels,
)

BILLING_RE = re.compile(r'^(billingAccounts/)?[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$')
PARENT_RE = re.compile(r'^(organizations|folders)/[0-9]+$')


def billing_name(value):
    if not value:
        return ''
    return value if value.startswith('billingAccounts/') else 'billingAccounts/' + value


def summarize(found, project_id):
    if not found:
        return {'project_id': project_id, 'state': 'absent'}
    return {
        'project_id': found.get('projectId') or project_id,
        'name': found.get('displayName'),
        'number': short_name(found.get('name')) if str(found.get('name', '')).startswith('projects/') else found.get('projectNumber'),
        'state': found.get('state') or found.get('lifecycleState') or 'ACTIVE',
        'labels': dict(found.get('labels') or {}),
        'parent': found.get('parent') if isinstance(found.get('parent'), str) else None,
    }


def validate(params, project_id):
    errors = []
    if not project_id:
        errors.append('project_id (or project) is required')
    elif not PROJECT_ID_RE.match(project_id):
        errors.append('project id %r is invalid: 6-30 lowercase letters, digits or hyphens, starting with a letter '
                      'and not ending with a hyphen' % project_id)
    errors.extend(validate_labels(stringify_labels(params['labels'])))
    if params['parent'] and not PARENT_RE.match(params['parent']):
        errors.append('parent %r must be organizations/ID or folders/ID' % params['parent'])
    if params['billing_account'] and not BILLING_RE.match(params['billing_account']):
        errors.append('billing_account %r must look like 0X0X0X-0X0X0X-0X0X0X or billingAccounts/0X0X0X-0X0X0X-0X0X0X'
                      % params['billing_account'])
    if params['name'] is not None and not re.match(r"^[A-Za-z0-9 '\"!-]{4,30}$", params['name']):
        errors.append('name %r must be 4-30 letters, digits, spaces, hyphens, single or double quotes or exclamation marks' % params['name'])
    if params['state'] == 'absent' and params['billing_account']:
        errors.append('billing_account cannot be linked when state=absent')
    return errors


def main():
    argument_spec = dict(
        project_id=dict(type='str', aliases=['id']),
        name=dict(type='str'),
        parent=dict(type='str'),
        labels=dict(type='dict'),
        billing_account=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True, require_project=False)
    params = module.params
    project_id = params['project_id'] or params['project']
    errors = validate(params, project_id)
    if errors:
        module.fail_json(msg='Invalid options for project %s: %s (no request was sent).' % (project_id, '; '.join(errors)), errors=errors)
    client = module.client
    timeout = float(params['timeout'])
    path = 'projects/%s' % project_id
    resource = 'project %s' % project_id
    labels = stringify_labels(params['labels'])
    actions = []

    def read():
        # Google answers 403 (not 404) for a project that does not exist, so that ids of projects
        # one may not see are not revealed: treat it as absent; a create then says what is wrong.
        try:
            return client.get('cloudresourcemanager_v3', path, 'read', resource)
        except GcpError as exc:
            if exc.status == 403:
                return None
            raise

    def read_billing():
        return client.get('cloudbilling', path + '/billingInfo', 'read billing of', resource, allow_404=False)

    def wait_active(op):
        """Wait for the create operation; without one (its answer was lost) poll until ACTIVE."""
        if op:
            client.wait_lro('cloudresourcemanager_v3', op, 'create', resource, timeout=timeout)
            return
        client.poll(lambda: summarize(read(), project_id), lambda view: view['state'] == 'ACTIVE', timeout,
                    lambda view: 'waiting for %s to become ACTIVE (it is %s)' % (resource, view['state']))

    try:
        current = read()
        before = summarize(current, project_id)
        after = dict(before)
        check = module.check_mode

        if params['state'] == 'absent':
            if current is None or before['state'] == 'DELETE_REQUESTED':
                module.exit_json(changed=False, project=before, actions=[])
            after['state'] = 'DELETE_REQUESTED'
            actions.append('delete')
            if not check:
                op = client.call('DELETE', 'cloudresourcemanager_v3', path, 'delete', resource,
                                 reconcile=lambda: Applied(None) if summarize(read(), project_id)['state'] != 'ACTIVE' else None)
                client.wait_lro('cloudresourcemanager_v3', op, 'delete', resource, timeout=timeout)
                after = summarize(read(), project_id)
            module.exit_json(changed=True, project=after, actions=actions, diff={'before': before, 'after': after})

        if current is None:
            after = {'project_id': project_id, 'name': params['name'] or project_id, 'number': None, 'state': 'ACTIVE',
                     'labels': labels or {}, 'parent': params['parent']}
            actions.append('create')
            if not check:
                body = {'projectId': project_id, 'displayName': params['name'] or project_id}
                if labels:
                    body['labels'] = labels
                if params['parent']:
                    body['parent'] = params['parent']
                op = client.call('POST', 'cloudresourcemanager_v3', 'projects', 'create', resource, body=body,
                                 reconcile=lambda: Applied(None) if read() is not None else None)
                wait_active(op)
                after = summarize(read(), project_id)
        else:
            if before['state'] == 'DELETE_REQUESTED':
                actions.append('undelete')
                after['state'] = 'ACTIVE'
                if not check:
                    op = client.call('POST', 'cloudresourcemanager_v3', path + ':undelete', 'undelete', resource, body={},
                                     reconcile=lambda: Applied(None) if summarize(read(), project_id)['state'] == 'ACTIVE' else None)
                    client.wait_lro('cloudresourcemanager_v3', op, 'undelete', resource, timeout=timeout)
            mask = []
            if params['name'] is not None and params['name'] != before['name']:
                mask.append('displayName')
                after['name'] = params['name']
            if labels is not None and labels != before['labels']:
                mask.append('labels')
                after['labels'] = labels
            if mask:
                actions.append('update %s' % ', '.join(mask))
                if not check:
                    body = {'displayName': after['name'], 'labels': after['labels']}

                    def reconcile():
                        now = summarize(read(), project_id)
                        return Applied(None) if now['name'] == after['name'] and now['labels'] == after['labels'] else None
                    op = client.call('PATCH', 'cloudresourcemanager_v3', path, 'update', resource,
                                     params={'updateMask': ','.join(mask)}, body=body, reconcile=reconcile)
                    client.wait_lro('cloudresourcemanager_v3', op, 'update', resource, timeout=timeout)

        if params['billing_account'] is not None:
            wanted = billing_name(params['billing_account'])
            if current is None and check:
                info = {}
            else:
                info = read_billing() or {}
            before['billing_account'] = info.get('billingAccountName') or ''
            before['billing_enabled'] = bool(info.get('billingEnabled'))
            after['billing_account'] = wanted
            after['billing_enabled'] = bool(wanted)
            if before['billing_account'] != wanted:
                actions.append('link billing account %s' % wanted if wanted else 'unlink billing')
                if not check:
                    def billing_reconcile():
                        now = read_billing() or {}
                        return Applied(now) if (now.get('billingAccountName') or '') == wanted else None
                    info = client.call('PUT', 'cloudbilling', path + '/billingInfo', 'link billing account %s to' % wanted,
                                       resource, body={'billingAccountName': wanted}, reconcile=billing_reconcile) or {}
                    after['billing_account'] = info.get('billingAccountName', wanted) or ''
                    after['billing_enabled'] = bool(info.get('billingEnabled', bool(wanted)))
        if actions and not check:
            refreshed = summarize(read(), project_id)
            for key in ('name', 'number', 'state', 'labels', 'parent'):
                after[key] = refreshed.get(key, after.get(key))
    except GcpError as exc:
        module.fail_gcp(exc)
    result = {'changed': bool(actions), 'project': after, 'actions': actions}
    if module._diff:  # pylint: disable=protected-access
        result['diff'] = {'before': before, 'after': after}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
