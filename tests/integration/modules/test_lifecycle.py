# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module: check -> apply -> check -> apply is changed true/true/false/false, check mode and
no-op runs send no write, an unchanged instance costs one GET, and the same for removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import urllib.request

from gcp_playbooks import api_writes

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


def four_runs(emulator, runner, tasks, modes=(True, False, True, False)):
    """check, apply, check, apply; returns per run the results by task name and the log slice.

    compute_instance_info only reads: it runs in the apply runs only, to keep the suite short.
    """
    runs = []
    for check in modes:
        start = len(emulator.requests())
        results = runner.play([t for t in tasks if not (check and t['name'] == 'compute_instance_info')], check=check, diff=check)
        runs.append((dict(results), emulator.requests()[start:]))
    return runs


def iam_policy(emulator):
    """The project's policy, read straight from the emulator (no proxy: loopback only)."""
    request = urllib.request.Request(emulator.endpoint + '/cloudresourcemanager/v1/projects/%s:getIamPolicy' % PROJECT,
                                     data=b'{}', method='POST', headers={'Authorization': 'Bearer ' + emulator.token,
                                                                         'Content-Type': 'application/json'})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as answer:
        return json.loads(answer.read())


def first_diff(result):
    diff = result['diff']
    return diff[0] if isinstance(diff, list) else diff


def assert_pattern(runs, name, expected):
    for (results, dummy), want in zip(runs, expected):
        if want is None:
            assert name not in results
            continue
        assert not results[name].get('failed'), results[name].get('msg')
        assert results[name]['changed'] is want, (name, [r[0].get(name, {}).get('changed') for r in runs])


def test_every_module_check_apply_check_apply(emulator, runner):
    owners_before = dict((b['role'], b['members']) for b in iam_policy(emulator)['bindings'])['roles/owner']
    # -- create everything -------------------------------------------------------------------------
    runs = four_runs(emulator, runner, present_tasks())
    for name in ('project', 'project_service', 'compute_firewall', 'service_account', 'project_iam_member', 'compute_instance'):
        assert_pattern(runs, name, [True, True, False, False])
    assert_pattern(runs, 'compute_instance_info', [None, False, None, False])

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
    # the task's labels, and Google's own label kept (the re-runs above changed nothing)
    assert apply2['compute_instance_info']['instances'][0]['labels'] == {
        'app': 'openclaw', 'role': 'gateway', 'goog-ops-agent-policy': 'v2-x86-template-1-4-0'}
    assert check2['compute_instance']['instance']['machine_type'] == 'e2-small'

    # an unchanged instance costs exactly one GET of itself and nothing else
    instance_calls = [(e['method'], e['path']) for e in log4 if '/instances/gw-int-1' in e['path']]
    assert instance_calls == [('GET', '/compute/v1/projects/%s/zones/us-central1-a/instances/gw-int-1' % PROJECT)]
    # one token exchange for the four playbook runs (26 module runs): the token cache shares it
    assert len([e for dummy, log in runs for e in log if e['api'] == 'oauth2']) == 1
    # the IAM change was one read-modify-write and kept every other binding and member
    # (refusals of a service account IAM cannot see yet are waited out, never counted as writes that landed)
    sets = [e['status'] for e in log2 if e['path'].endswith(':setIamPolicy')]
    assert sets.count(200) == 1 and set(sets) <= {200, 400}, sets
    bindings = dict((b['role'], b['members']) for b in iam_policy(emulator)['bindings'])
    assert bindings['roles/compute.instanceAdmin.v1'] == ['serviceAccount:' + DEPLOYER]
    assert bindings['roles/owner'] == owners_before

    # -- remove everything: check, apply, apply again ---------------------------------------------------
    runs = four_runs(emulator, runner, absent_tasks(), modes=(True, False, False))
    for name in ('compute_instance', 'project_iam_member', 'service_account', 'compute_firewall', 'project_service', 'project'):
        assert_pattern(runs, name, [True, True, False])
    assert api_writes(runs[0][1]) == [] and api_writes(runs[2][1]) == []
    assert runs[1][0]['compute_instance_info']['instances'] == []
    assert runs[1][0]['project']['project']['state'] == 'DELETE_REQUESTED'
    bindings = dict((b['role'], b['members']) for b in iam_policy(emulator)['bindings'])
    assert 'roles/compute.instanceAdmin.v1' not in bindings and bindings['roles/owner'] == owners_before
