# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""project_iam_member: read-modify-write with etag, conflicts retried, other members untouched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import project_iam_member as iam

SA = 'serviceAccount:bot@demo.iam.gserviceaccount.com'
ARGS = {'role': 'roles/compute.instanceAdmin.v1', 'member': SA}


def test_updated_policy_pure():
    policy = {'etag': 'e', 'bindings': [{'role': 'roles/viewer', 'members': ['user:a@x.com']},
                                        {'role': 'roles/viewer', 'members': ['user:c@x.com'], 'condition': {'expression': 'true'}}]}
    added = iam.updated_policy(policy, 'roles/viewer', 'user:b@x.com', True)
    assert added['bindings'][0]['members'] == ['user:a@x.com', 'user:b@x.com']
    assert added['bindings'][1] == policy['bindings'][1]  # conditional binding untouched
    assert added['version'] == 3 and added['etag'] == 'e'
    assert iam.updated_policy(policy, 'roles/viewer', 'user:a@x.com', True) is None
    assert iam.updated_policy(policy, 'roles/viewer', 'user:c@x.com', False) is None
    removed = iam.updated_policy(policy, 'roles/viewer', 'user:a@x.com', False)
    assert [b['role'] for b in removed['bindings']] == ['roles/viewer'] and removed['bindings'][0].get('condition')
    new_role = iam.updated_policy({}, 'roles/owner', 'user:a@x.com', True)
    assert new_role['bindings'] == [{'role': 'roles/owner', 'members': ['user:a@x.com']}]
    assert policy['bindings'][0]['members'] == ['user:a@x.com']  # input not mutated


def test_normalize_member_and_role_members():
    assert iam.normalize_member('user:Alice@Example.COM') == 'user:alice@example.com'
    assert iam.normalize_member('domain:example.com') == 'domain:example.com'
    assert iam.role_members({'bindings': [{'role': 'r', 'members': ['b', 'a']}]}, 'r') == ['a', 'b']
    assert iam.role_members({}, 'r') == []


def test_check_apply_check_apply(google, run):
    first = run(iam, ARGS, check=True, diff=True)
    assert first['changed'] is True and google.writes() == []
    assert first['diff'] == {'before': {'role': ARGS['role'], 'members': []}, 'after': {'role': ARGS['role'], 'members': [SA]}}
    assert run(iam, ARGS)['changed'] is True
    del google.calls[:]
    assert run(iam, ARGS, check=True)['changed'] is False
    assert run(iam, ARGS)['changed'] is False
    assert google.writes() == [] and len(google.calls) == 2
    owners = [b for b in google.policy['bindings'] if b['role'] == 'roles/owner']
    assert owners == [{'role': 'roles/owner', 'members': ['user:owner@example.com']}]


def test_concurrent_change_is_reread_and_others_kept(google, run):
    real = google.crm_v1
    state = {'raced': False}

    def racing(method, path, params, body):
        if path.endswith(':setIamPolicy') and not state['raced']:
            state['raced'] = True  # another writer adds a member just before our write
            google.policy['bindings'].append({'role': 'roles/viewer', 'members': ['user:other@example.com']})
            google.policy['etag'] = 'BwE-other'
        return real(method, path, params, body)
    google.crm_v1 = racing
    result = run(iam, ARGS)
    assert result['changed'] is True
    roles = dict((b['role'], b['members']) for b in google.policy['bindings'])
    assert roles == {'roles/owner': ['user:owner@example.com'], 'roles/viewer': ['user:other@example.com'], ARGS['role']: [SA]}
    assert len([c for c in google.calls if c[1].endswith(':setIamPolicy')]) == 2


def test_lost_set_policy_is_not_applied_twice(google, run):
    google.inject('lost', 'POST', r':setIamPolicy$')
    result = run(iam, ARGS)
    assert result['changed'] is True and result['members'] == [SA]
    assert len([c for c in google.calls if c[1].endswith(':setIamPolicy')]) == 1


def test_remove(google, run):
    run(iam, ARGS)
    result = run(iam, dict(ARGS, state='absent'), diff=True)
    assert result['changed'] is True and result['members'] == []
    assert all(b['role'] != ARGS['role'] for b in google.policy['bindings'])
    assert run(iam, dict(ARGS, state='absent'))['changed'] is False


@pytest.mark.parametrize('args, fragment', [
    ({'role': 'viewer', 'member': SA}, "role 'viewer' must be roles/NAME"),
    ({'role': 'roles/viewer', 'member': 'bot@demo.iam.gserviceaccount.com'}, 'must be user:EMAIL'),
])
def test_bad_input(google, run, args, fragment):
    result = run(iam, args)
    assert result['failed'] is True and fragment in result['msg']
    assert google.calls == []
