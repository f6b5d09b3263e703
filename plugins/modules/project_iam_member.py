#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: project_iam_member
short_description: Grant or revoke one role for one member on a project, leaving every other member alone
version_added: 0.1.0
description:
  - Reads the project's IAM policy, adds or removes one member of one role's unconditional binding and
    writes the policy back with its C(etag). A concurrent change (HTTP 409, or a stale etag) makes the
    module re-read the policy and try again, so other members and bindings are never lost.
  - A member that already has (or lacks) the role costs one policy read and no write.
  - Conditional bindings are never changed.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  role:
    description:
      - The role, V(roles/NAME) or a custom role V(projects/PROJECT/roles/NAME) or V(organizations/ORG/roles/NAME).
    type: str
    required: true
  member:
    description:
      - The member, for example V(serviceAccount:NAME@PROJECT.iam.gserviceaccount.com), V(user:EMAIL),
        V(group:EMAIL) or V(domain:DOMAIN).
    type: str
    required: true
  state:
    description:
      - Whether the member should have the role.
    type: str
    choices: [present, absent]
    default: present
  max_conflict_retries:
    description:
      - How many times to re-read and re-apply after a concurrent policy change.
    type: int
    default: 5
seealso:
  - module: openclaw.gcp.service_account
'''

EXAMPLES = r'''
- name: Let the deployer manage instances
  openclaw.gcp.project_iam_member:
    project: my-openclaw-project
    role: roles/compute.instanceAdmin.v1
    member: serviceAccount:openclaw-deployer@my-openclaw-project.iam.gserviceaccount.com

- name: Take a role away again
  openclaw.gcp.project_iam_member:
    project: my-openclaw-project
    role: roles/editor
    member: serviceAccount:openclaw-deployer@my-openclaw-project.iam.gserviceaccount.com
    state: absent
'''

RETURN = r'''
members:
  description: Members of the role's unconditional binding after the task (predicted in check mode), sorted.
  returned: always
  type: list
  elements: str
  sample: ["serviceAccount:openclaw-deployer@my-openclaw-project.iam.gserviceaccount.com"]
role:
  description: The role.
  returned: always
  type: str
  sample: roles/compute.instanceAdmin.v1
member:
  description: The member, normalised (email in lowercase).
  returned: always
  type: str
etag:
  description: Etag of the policy after the task.
  returned: always
  type: str
'''

import copy
import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Applied, GcpError, GcpModule

ROLE_RE = re.compile(r'^(roles/[A-Za-z0-9_.]+|projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+|organizations/[0-9]+/roles/[A-Za-z0-9_.]+)$')
MEMBER_RE = re.compile(r'^((user|serviceAccount|group|deleted:user|deleted:serviceAccount|deleted:group):[^@\s]+@[^@\s]+'
                       r'|domain:[a-z0-9.-]+\.[a-z]{2,}|principal(Set)?://\S+|allUsers|allAuthenticatedUsers)$')


def normalize_member(member):
    """Emails in IAM are case-insensitive; Google stores them in lowercase."""
    kind, sep, rest = member.rpartition(':')
    if sep and '@' in rest:
        return '%s:%s' % (kind, rest.lower())
    return member


def role_members(policy, role):
    """Members of the role's unconditional binding, sorted."""
    for binding in (policy or {}).get('bindings') or []:
        if binding.get('role') == role and not binding.get('condition'):
            return sorted(binding.get('members') or [])
    return []


def updated_policy(policy, role, member, present):
    """A copy of ``policy`` with ``member`` added to / removed from the role, or ``None`` if nothing changes."""
    policy = copy.deepcopy(policy or {})
    bindings = policy.setdefault('bindings', [])
    target = None
    for binding in bindings:
        if binding.get('role') == role and not binding.get('condition'):
            target = binding
            break
    members = (target or {}).get('members') or []
    has = member in members
    if present == has:
        return None
    if present:
        if target is None:
            bindings.append({'role': role, 'members': [member]})
        else:
            target['members'] = sorted(members + [member])
    else:
        target['members'] = [m for m in members if m != member]
        if not target['members']:
            bindings.remove(target)
    if any(b.get('condition') for b in bindings):
        policy['version'] = 3
    return policy


def main():
    argument_spec = dict(
        role=dict(type='str', required=True),
        member=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        max_conflict_retries=dict(type='int', default=5),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    role = params['role']
    member = normalize_member(params['member'].strip())
    errors = []
    if not ROLE_RE.match(role):
        errors.append('role %r must be roles/NAME, projects/PROJECT/roles/NAME or organizations/ORG/roles/NAME' % role)
    if not MEMBER_RE.match(member):
        errors.append('member %r must be user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, a principal:// '
                      'identifier, allUsers or allAuthenticatedUsers' % params['member'])
    if params['max_conflict_retries'] < 0:
        errors.append('max_conflict_retries must not be negative')
    if errors:
        module.fail_json(msg='Invalid options for the IAM binding: %s (no request was sent).' % '; '.join(errors), errors=errors)

    client = module.client
    project = client.project
    present = params['state'] == 'present'
    resource = 'IAM policy of project %s (role %s, member %s)' % (project, role, member)
    path = 'projects/%s' % project

    def read_policy():
        return client.call('POST', 'cloudresourcemanager', path + ':getIamPolicy', 'read', resource,
                           body={'options': {'requestedPolicyVersion': 3}}, idempotent=True) or {}

    policy = None
    try:
        policy = read_policy()
        before = role_members(policy, role)
        changed = updated_policy(policy, role, member, present) is not None
        after = sorted(set(before) | {member}) if present else [m for m in before if m != member]
        if changed and not module.check_mode:
            def reconcile():
                # a stale etag (someone else changed the policy), or a lost first attempt: read again
                now = read_policy()
                fresh = updated_policy(now, role, member, present)
                if fresh is None:
                    return Applied(now)
                return {'policy': fresh}
            policy = client.call('POST', 'cloudresourcemanager', path + ':setIamPolicy', 'update', resource,
                                 body={'policy': updated_policy(policy, role, member, present)}, reconcile=reconcile,
                                 conflict_retries=params['max_conflict_retries']) or read_policy()
            after = role_members(policy, role) if policy.get('bindings') is not None else after
    except GcpError as exc:
        module.fail_gcp(exc)
    result = {'changed': changed, 'role': role, 'member': member, 'members': after, 'etag': (policy or {}).get('etag')}
    if module._diff:  # pylint: disable=protected-access
        result['diff'] = {'before': {'role': role, 'members': before}, 'after': {'role': role, 'members': after}}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
