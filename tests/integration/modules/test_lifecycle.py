# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module: check -> apply -> check -> apply is changed true/true/false/false, check mode and
no-op runs send no write, an unchanged instance costs one GET, and the same for removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest import api_writes

PROJECT = 'openclaw-demo'
NEW_PROJECT = 'openclaw-int-one'
BILLING = '012345-6789AB-CDEF01'
DEPLOYER = 'openclaw-deployer@%s.iam.gserviceaccount.com' % PROJECT
KEY = 'openclaw:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIntegrationTestKeyOnly openclaw@test'


def present_tasks():
    return [
        {'name': 'project', 'openclaw.gcp.project': {
            'project_id': NEW_PROJECT, 'name': 'OpenClaw integration', 'labels': {'app': 'openclaw'}, 'billing_account': BILLING}},
        {'name': 'project_service', 'openclaw.gcp.project_service': {'service': 'secretmanager.googleapis.com'}},
        {'name': 'compute_firewall', 'openclaw.gcp.compute_firewall': {
            'name': 'openclaw-allow-ssh', 'allowed': [{'protocol': 'tcp', 'ports': ['22']}],
            'source_ranges': ['35.235.240.0/20'], 'target_tags': ['openclaw-ssh']}},
        {'name': 'service_account', 'openclaw.gcp.service_account': {
            'name': 'openclaw-deployer', 'display_name': 'OpenClaw deployer', 'description': 'integration test'}},
        {'name': 'project_iam_member', 'openclaw.gcp.project_iam_member': {
            'role': 'roles/compute.instanceAdmin.v1', 'member': 'serviceAccount:' + DEPLOYER}},
        {'name': 'compute_instance', 'openclaw.gcp.compute_instance': {
            'name': 'gw-int-1', 'zone': 'us-central1-a', 'machine_type': 'e2-small', 'boot_disk_size_gb': 20,
            'labels': {'app': 'openclaw', 'role': 'gateway'}, 'tags': ['openclaw-ssh'], 'metadata': {'ssh-keys': KEY},
            'service_account': {'email': DEPLOYER, 'scopes': ['https://www.googleapis.com/auth/cloud-platform']}}},
        {'name': 'compute_instance_info', 'openclaw.gcp.compute_instance_info': {'labels': {'role': 'gateway'}}},
    ]


def absent_tasks():
    return [
        {'name': 'compute_instance', 'openclaw.gcp.compute_instance': {'name': 'gw-int-1', 'zone': 'us-central1-a', 'state': 'absent'}},
        {'name': 'project_iam_member', 'openclaw.gcp.project_iam_member': {
            'role': 'roles/compute.instanceAdmin.v1', 'member': 'serviceAccount:' + DEPLOYER, 'state': 'absent'}},
        {'name': 'service_account', 'openclaw.gcp.service_account': {'name': 'openclaw-deployer', 'state': 'absent'}},
        {'name': 'compute_firewall', 'openclaw.gcp.compute_firewall': {'name': 'openclaw-allow-ssh', 'state': 'absent'}},
        {'name': 'project_service', 'openclaw.gcp.project_service': {'service': 'secretmanager.googleapis.com', 'state': 'absent'}},
        {'name': 'project', 'openclaw.gcp.project': {'project_id': NEW_PROJECT, 'state': 'absent'}},
        {'name': 'compute_instance_info', 'openclaw.gcp.compute_instance_info': {'labels': {'role': 'gateway'}}},
    ]


def four_runs(emulator, runner, tasks):
    """check, apply, check, apply; returns per run the results by task name and the log slice."""
    runs = []
    for check in (True, False, True, False):
        start = len(emulator.requests())
        results = runner.play(tasks, check=check, diff=check)
        runs.append((dict(results), emulator.requests()[start:]))
    return runs


def first_diff(result):
    diff = result['diff']
    return diff[0] if isinstance(diff, list) else diff


def assert_pattern(runs, name, expected):
    for (results, dummy), want in zip(runs, expected):
        assert not results[name].get('failed'), results[name].get('msg')
        assert results[name]['changed'] is want, (name, [r[0][name]['changed'] for r in runs])


def test_every_module_check_apply_check_apply(emulator, runner):
    # -- create everything -------------------------------------------------------------------------
    runs = four_runs(emulator, runner, present_tasks())
    for name in ('project', 'project_service', 'compute_firewall', 'service_account', 'project_iam_member', 'compute_instance'):
        assert_pattern(runs, name, [True, True, False, False])
    assert_pattern(runs, 'compute_instance_info', [False, False, False, False])

    (check1, log1), (apply1, log2), (check2, log3), (apply2, log4) = runs
    assert api_writes(log1) == [], 'check mode wrote'
    assert len(api_writes(log2)) >= 6
    assert api_writes(log3) == [], 'check mode wrote'
    assert api_writes(log4) == [], 'a no-op run wrote'

    # check mode predicted what the apply did
    assert check1['compute_instance']['actions'] == apply1['compute_instance']['actions'] == ['create']
    diff = first_diff(check1['compute_instance'])
    assert diff['before'] == {'state': 'absent'}
    assert diff['after']['labels'] == {'app': 'openclaw', 'role': 'gateway'} and diff['after']['machine_type'] == 'e2-small'
    assert first_diff(check1['project_iam_member'])['after']['members'] == ['serviceAccount:' + DEPLOYER]
    assert check1['project']['actions'] == apply1['project']['actions'] == ['create', 'link billing account billingAccounts/' + BILLING]
    assert apply1['project']['project']['billing_enabled'] is True
    assert apply1['compute_instance']['instance']['status'] == 'RUNNING'
    assert apply1['compute_instance']['instance']['machine_type'] == 'e2-small'
    assert apply1['compute_instance']['instance']['service_account']['email'] == DEPLOYER
    assert apply1['service_account']['service_account']['email'] == DEPLOYER
    assert 'serviceAccount:' + DEPLOYER in apply1['project_iam_member']['members']
    assert [i['name'] for i in apply1['compute_instance_info']['instances']] == ['gw-int-1']
    assert check2['compute_instance_info']['instances'][0]['labels'] == {'app': 'openclaw', 'role': 'gateway'}

    # an unchanged instance costs exactly one GET of itself and nothing else
    instance_calls = [(e['method'], e['path']) for e in log4 if '/instances/gw-int-1' in e['path']]
    assert instance_calls == [('GET', '/compute/v1/projects/%s/zones/us-central1-a/instances/gw-int-1' % PROJECT)]
    # one token exchange per module run (7 tasks), never one per request
    assert len([e for e in log4 if e['api'] == 'oauth2']) == 7
    # the IAM change kept the other members of the policy
    owner_kept = [e for e in log2 if e['path'].endswith(':setIamPolicy')]
    assert len(owner_kept) == 1

    # -- remove everything -------------------------------------------------------------------------
    runs = four_runs(emulator, runner, absent_tasks())
    for name in ('compute_instance', 'project_iam_member', 'service_account', 'compute_firewall', 'project_service', 'project'):
        assert_pattern(runs, name, [True, True, False, False])
    assert api_writes(runs[0][1]) == [] and api_writes(runs[2][1]) == [] and api_writes(runs[3][1]) == []
    assert runs[1][0]['compute_instance_info']['instances'] == []
    assert runs[1][0]['project']['project']['state'] == 'DELETE_REQUESTED'


def test_iam_member_never_touches_other_members(emulator, runner):
    grant = [{'name': 'grant %s' % m, 'openclaw.gcp.project_iam_member': {'role': 'roles/viewer', 'member': m}}
             for m in ('user:alice@example.com', 'user:bob@example.com')]
    revoke = [{'name': 'revoke', 'openclaw.gcp.project_iam_member': {'role': 'roles/viewer', 'member': 'user:Alice@Example.com', 'state': 'absent'}},
              {'name': 'policy', 'openclaw.gcp.project_iam_member': {'role': 'roles/viewer', 'member': 'user:bob@example.com'}}]
    results = dict(runner.play(grant + revoke))
    assert results['grant user:alice@example.com']['changed'] is True
    assert results['grant user:bob@example.com']['members'] == ['user:alice@example.com', 'user:bob@example.com']
    assert results['revoke']['changed'] is True
    assert results['revoke']['members'] == ['user:bob@example.com']
    assert results['policy']['changed'] is False
    owners = dict(runner.play([{'name': 'owners', 'openclaw.gcp.project_iam_member': {
        'role': 'roles/owner', 'member': 'serviceAccount:openclaw-automation@openclaw-demo.iam.gserviceaccount.com'}}]))
    assert owners['owners']['changed'] is False, owners['owners']
