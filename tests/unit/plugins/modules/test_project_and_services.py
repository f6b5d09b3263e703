# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""project, project_service, service_account and compute_instance_info against the in-memory API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import compute_instance_info as info
from ansible_collections.openclaw.gcp.plugins.modules import project
from ansible_collections.openclaw.gcp.plugins.modules import project_service
from ansible_collections.openclaw.gcp.plugins.modules import service_account

BILLING = '012345-6789AB-CDEF01'


# -- project_service --------------------------------------------------------------------------------

def test_service_name():
    assert project_service.service_name('compute') == 'compute.googleapis.com'
    assert project_service.service_name('iam.googleapis.com') == 'iam.googleapis.com'


def test_service_check_apply_check_apply(google, run):
    args = {'service': 'iam'}
    first = run(project_service, args, check=True, diff=True)
    assert first['changed'] is True and first['diff'] == {'before': {'state': 'DISABLED'}, 'after': {'state': 'ENABLED'}}
    assert google.writes() == []
    applied = run(project_service, args)
    assert applied['changed'] is True and applied['service']['state'] == 'ENABLED'
    assert google.services['iam.googleapis.com'] == 'ENABLED'
    del google.calls[:]
    assert run(project_service, args, check=True)['changed'] is False
    assert run(project_service, args)['changed'] is False
    assert google.writes() == [] and len(google.calls) == 2


def test_service_disable_passes_dependents_flag(google, run):
    result = run(project_service, {'service': 'compute.googleapis.com', 'state': 'absent', 'disable_dependent_services': True})
    assert result['changed'] is True and result['actions'] == ['disable']
    assert [c[3] for c in google.writes()] == [{'disableDependentServices': True}]


def test_service_bad_name(google, run):
    result = run(project_service, {'service': 'Compute Engine'})
    assert result['failed'] is True and google.calls == []


# -- project ----------------------------------------------------------------------------------------

def test_project_create_with_billing(google, run):
    args = {'project_id': 'openclaw-new', 'name': 'OpenClaw new', 'labels': {'app': 'openclaw'}, 'billing_account': BILLING}
    first = run(project, args, check=True, diff=True)
    assert first['actions'] == ['create', 'link billing account billingAccounts/%s' % BILLING]
    assert first['diff']['before']['state'] == 'absent' and first['diff']['after']['billing_enabled'] is True
    assert google.writes() == []
    applied = run(project, args)
    assert applied['changed'] is True and applied['project']['state'] == 'ACTIVE'
    assert google.billing['openclaw-new'] == 'billingAccounts/%s' % BILLING
    del google.calls[:]
    assert run(project, args, check=True)['changed'] is False
    assert run(project, args)['changed'] is False
    assert google.writes() == []


def add_project(google, pid='openclaw-old'):
    google.projects[pid] = {'projectId': pid, 'name': 'projects/200', 'displayName': pid, 'state': 'ACTIVE', 'labels': {}}
    google.billing[pid] = ''
    return pid


def test_project_update_and_delete(google, run):
    add_project(google)
    result = run(project, {'project_id': 'openclaw-old', 'labels': {'env': 'test'}, 'name': 'Demo project'})
    assert result['actions'] == ['update displayName, labels']
    patch = [c for c in google.calls if c[0] == 'PATCH'][0]
    assert patch[2] == {'updateMask': 'displayName,labels'}
    assert run(project, {'project_id': 'openclaw-old', 'labels': {'env': 'test'}, 'name': 'Demo project'})['changed'] is False
    deleted = run(project, {'project_id': 'openclaw-old', 'state': 'absent'})
    assert deleted['changed'] is True and deleted['project']['state'] == 'DELETE_REQUESTED'
    assert run(project, {'project_id': 'openclaw-old', 'state': 'absent'})['changed'] is False
    undeleted = run(project, {'project_id': 'openclaw-old'})
    assert undeleted['actions'] == ['undelete'] and google.projects['openclaw-old']['state'] == 'ACTIVE'


def test_project_unlink_billing(google, run):
    add_project(google)
    google.billing['openclaw-old'] = 'billingAccounts/%s' % BILLING
    result = run(project, {'project_id': 'openclaw-old', 'billing_account': ''})
    assert result['actions'] == ['unlink billing'] and google.billing['openclaw-old'] == ''


@pytest.mark.parametrize('args, fragment', [
    ({'project_id': 'Bad_Project'}, "project id 'Bad_Project' is invalid"),
    ({'project_id': 'good-project', 'billing_account': '1234'}, "billing_account '1234' must look like"),
    ({'project_id': 'good-project', 'parent': 'org/1'}, "parent 'org/1' must be"),
    ({'project_id': None, 'project': None}, 'project_id (or project) is required'),
])
def test_project_bad_input(google, run, args, fragment):
    result = run(project, args)
    assert result['failed'] is True and fragment in result['msg']
    assert google.calls == []


# -- service_account --------------------------------------------------------------------------------

def test_service_account_lifecycle(google, run):
    args = {'name': 'openclaw-deployer', 'display_name': 'Deployer'}
    first = run(service_account, args, check=True, diff=True)
    assert first['changed'] is True and first['service_account']['email'] == 'openclaw-deployer@demo.iam.gserviceaccount.com'
    assert google.writes() == []
    google.inject('lost', 'POST', r'/serviceAccounts$')
    created = run(service_account, args)
    assert created['changed'] is True and created['service_account']['display_name'] == 'Deployer'
    assert len(google.accounts) == 1
    assert run(service_account, args)['changed'] is False
    updated = run(service_account, dict(args, description='Creates VMs'), diff=True)
    assert updated['actions'] == ['update description']
    assert updated['diff']['after']['description'] == 'Creates VMs'
    assert run(service_account, {'name': 'openclaw-deployer@demo.iam.gserviceaccount.com', 'state': 'absent'})['changed'] is True
    assert google.accounts == {}


def test_service_account_bad_id(google, run):
    result = run(service_account, {'name': 'ab'})
    assert result['failed'] is True and "account id 'ab' is invalid" in result['msg'] and google.calls == []


# -- compute_instance_info --------------------------------------------------------------------------

def test_info_filters_and_pages(google, run):
    google.page_size = 2
    for index in range(3):
        google.add_instance('gw-%d' % index, labels={'app': 'openclaw'})
    google.add_instance('other', zone='europe-west1-b', labels={'app': 'else'})
    everywhere = run(info, {'labels': {'app': 'openclaw'}})
    assert [i['name'] for i in everywhere['instances']] == ['gw-0', 'gw-1', 'gw-2']
    aggregated = [c for c in google.calls if c[1].endswith('/aggregated/instances')]
    assert aggregated[0][2]['filter'] == '(labels.app = "openclaw")'
    del google.calls[:]
    zonal = run(info, {'zone': 'us-central1-a'})
    assert [i['name'] for i in zonal['instances']] == ['gw-0', 'gw-1', 'gw-2']
    assert len(google.calls) == 2  # two pages
    one = run(info, {'zone': 'us-central1-a', 'name': 'gw-1'})
    assert [i['name'] for i in one['instances']] == ['gw-1'] and one['changed'] is False
    assert run(info, {'zone': 'us-central1-a', 'name': 'missing'})['instances'] == []
    assert [i['zone'] for i in run(info, {'zones': ['europe-west1-b']})['instances']] == ['europe-west1-b']
    assert google.writes() == []


def test_info_filter_builder():
    assert info.build_filter('gw', {'b': '2', 'a': 'x"y'}, 'status = RUNNING') == (
        '(name = "gw") AND (labels.a = "x\\"y") AND (labels.b = "2") AND (status = RUNNING)')
    assert info.build_filter() is None


def test_project_create_whose_answer_is_lost(google, run):
    google.inject('lost', 'POST', r'/v3/projects$')
    result = run(project, {'project_id': 'openclaw-lost', 'billing_account': BILLING})
    assert result['changed'] is True and result['project']['state'] == 'ACTIVE'
    assert len([c for c in google.calls if c[0] == 'POST' and c[1].endswith('/v3/projects')]) == 1
    assert google.billing['openclaw-lost'] == 'billingAccounts/%s' % BILLING
