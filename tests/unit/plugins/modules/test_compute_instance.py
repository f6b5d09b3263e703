# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_instance: planning (pure) and whole-module runs against the in-memory API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import compute_instance as ci
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import summarize

VM = {'name': 'vm1', 'zone': 'us-central1-a'}


def write_paths(google):
    return [c[1].rsplit('/', 1)[-1] if c[0] == 'POST' else c[0] for c in google.writes()]


# -- pure planning ----------------------------------------------------------------------------------

def base_summary(**changes):
    summary = {'name': 'vm1', 'status': 'RUNNING', 'machine_type': 'e2-small', 'labels': {'a': '1'}, 'tags': ['ssh'],
               'metadata': {'k': 'v'}, 'deletion_protection': False, 'service_account': None}
    summary.update(changes)
    return summary


def desired(**params):
    full = {'machine_type': None, 'labels': None, 'tags': None, 'metadata': None, 'deletion_protection': None, 'service_account': None}
    full.update(params)
    return ci.normalize_params(full)


def test_plan_updates_ignores_unmanaged_options():
    assert ci.plan_updates(base_summary(), desired()) == ([], [])


def test_plan_updates_in_place_and_stop_needing():
    in_place, needs_stop = ci.plan_updates(base_summary(), desired(
        labels={'a': 1}, tags=['web', 'ssh', 'ssh'], metadata={'k': 'w'}, deletion_protection=True, machine_type='e2-medium',
        service_account={'email': 'bot@p.iam.gserviceaccount.com', 'scopes': None}))
    assert in_place == [('metadata', {'k': 'w'}), ('tags', ['ssh', 'web']), ('deletion_protection', True)]
    assert needs_stop == [('machine_type', 'e2-medium'),
                          ('service_account', {'email': 'bot@p.iam.gserviceaccount.com', 'scopes': [ci.CLOUD_PLATFORM]})]


def test_service_account_matching():
    current = {'email': '123-compute@developer.gserviceaccount.com', 'scopes': [ci.CLOUD_PLATFORM]}
    assert ci.service_account_matches(current, ci.desired_service_account({'email': 'default', 'scopes': [ci.CLOUD_PLATFORM]}))
    assert ci.service_account_matches(current, ci.desired_service_account({'email': '123-COMPUTE@developer.gserviceaccount.com', 'scopes': None}))
    assert not ci.service_account_matches(current, ci.desired_service_account({'email': 'default', 'scopes': ['x']}))
    assert not ci.service_account_matches(None, ci.desired_service_account({'email': 'default', 'scopes': None}))
    assert ci.service_account_matches(None, None)


@pytest.mark.parametrize('state, status, needs_stop, plan', [
    ('present', 'RUNNING', False, []),
    ('present', 'TERMINATED', False, []),
    ('started', 'RUNNING', False, []),
    ('started', 'TERMINATED', False, ['start']),
    ('started', 'SUSPENDED', False, ['resume']),
    ('stopped', 'RUNNING', False, ['stop']),
    ('stopped', 'TERMINATED', False, []),
    ('restarted', 'RUNNING', False, ['stop', 'start']),
    ('restarted', 'TERMINATED', False, ['start']),
    ('present', 'RUNNING', True, ['stop', 'start']),
    ('present', 'TERMINATED', True, []),
    ('started', 'TERMINATED', True, ['start']),
    ('stopped', 'RUNNING', True, ['stop']),
])
def test_plan_power(state, status, needs_stop, plan):
    assert ci.plan_power(state, status, needs_stop) == plan


def test_plan_steps_orders_stop_change_start():
    steps = ci.plan_steps([('labels', {'a': 'b'})], [('machine_type', 'e2-medium')], ['stop', 'start'])
    assert [s[0] for s in steps] == ['set labels', 'stop', 'set machine type e2-medium', 'start']
    assert [s[0] for s in ci.plan_steps([('deletion_protection', False)], [], ['start'])] == ['set deletion protection to false', 'start']


def test_build_insert_body_defaults():
    body = ci.build_insert_body({'name': 'gw', 'zone': 'us-central1-a', 'image': 'projects/debian-cloud/global/images/family/debian-12',
                                 'machine_type': None, 'labels': {'app': 'openclaw'}, 'tags': ['ssh'], 'metadata': {'ssh-keys': 'u:k'},
                                 'deletion_protection': None, 'service_account': None, 'network': None, 'subnetwork': 'sub',
                                 'external_ip': None, 'boot_disk_size_gb': None, 'boot_disk_type': None}, 'p')
    assert body['machineType'] == 'zones/us-central1-a/machineTypes/e2-small'
    disk = body['disks'][0]['initializeParams']
    assert disk == {'sourceImage': 'projects/debian-cloud/global/images/family/debian-12', 'diskSizeGb': '20',
                    'diskType': 'zones/us-central1-a/diskTypes/pd-balanced'}
    assert body['networkInterfaces'] == [{'network': 'projects/p/global/networks/default',
                                          'subnetwork': 'projects/p/regions/us-central1/subnetworks/sub',
                                          'accessConfigs': [{'type': 'ONE_TO_ONE_NAT', 'name': 'External NAT'}]}]
    assert body['metadata'] == {'items': [{'key': 'ssh-keys', 'value': 'u:k'}]}
    assert body['tags'] == {'items': ['ssh']}
    assert 'serviceAccounts' not in body


@pytest.mark.parametrize('change, fragment', [
    ({'name': 'Bad_Name'}, "Instance name 'Bad_Name' is invalid"),
    ({'zone': 'us-central1'}, "Zone 'us-central1' is not a zone name"),
    ({'machine_type': 'E2 small'}, "Machine type 'E2 small'"),
    ({'labels': {'Owner': 'me'}}, "label key 'Owner' is invalid"),
    ({'tags': ['ok', 'Not_OK']}, "Network tag 'Not_OK' is invalid"),
    ({'boot_disk_size_gb': 5}, 'boot_disk_size_gb must be between 10 and 65536'),
    ({'state': 'absent', 'deletion_protection': True}, 'state=absent conflicts with deletion_protection=true'),
    ({'metadata': {'bad key': 'x'}}, "Metadata key 'bad key' is invalid"),
])
def test_validate_params(change, fragment):
    params = {'name': 'vm1', 'zone': 'us-central1-a', 'state': 'present', 'timeout': 300}
    params.update(change)
    assert any(fragment in e for e in ci.validate_params(params))


def test_summarize_google_instance(google):
    inst = google.add_instance('gw', labels={'app': 'x'}, serviceAccounts=[{'email': 'e', 'scopes': ['b', 'a']}])
    summary = summarize(inst)
    assert summary['machine_type'] == 'e2-small'
    assert summary['zone'] == 'us-central1-a'
    assert summary['external_ip'] == '203.0.113.7'
    assert summary['internal_ip'] == '10.128.0.2'
    assert summary['service_account'] == {'email': 'e', 'scopes': ['a', 'b']}
    assert summary['network'] == 'default'
    assert summarize(None) == {}


# -- whole module -----------------------------------------------------------------------------------

def test_create_check_apply_check_apply(google, run):
    args = dict(VM, labels={'app': 'openclaw'}, tags=['openclaw-ssh'], metadata={'ssh-keys': 'openclaw:ssh-ed25519 AAAA k'})
    first = run(ci, args, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['create']
    assert first['diff']['before'] == {'state': 'absent'}
    assert first['diff']['after']['labels'] == {'app': 'openclaw'}
    assert google.writes() == []
    applied = run(ci, args)
    assert applied['changed'] is True
    assert applied['instance']['status'] == 'RUNNING'
    assert applied['instance']['machine_type'] == 'e2-small'
    assert write_paths(google) == ['instances']
    del google.calls[:]
    again = run(ci, args, check=True)
    assert again['changed'] is False and google.writes() == []
    assert len(google.calls) == 1 and google.calls[0][0] == 'GET'
    del google.calls[:]
    last = run(ci, args)
    assert last['changed'] is False
    assert [c[0] for c in google.calls] == ['GET']


def test_insert_carries_one_request_id_across_retries(google, run):
    google.inject('lost', 'POST', r'/instances$')
    result = run(ci, VM)
    assert result['changed'] is True
    inserts = [c for c in google.calls if c[0] == 'POST' and c[1].endswith('/instances')]
    assert len(inserts) == 1  # the re-read found the instance: no second insert
    assert len(google.instances) == 1


def test_insert_retry_reuses_the_request_id(google, run):
    google.inject('fail', 'POST', r'/instances$')
    google.inject('reset', 'POST', r'/instances$')
    assert run(ci, VM)['changed'] is True
    ids = [c[2]['requestId'] for c in google.calls if c[0] == 'POST' and c[1].endswith('/instances')]
    assert len(ids) == 3 and len(set(ids)) == 1


def test_machine_type_change_needs_allow_stopping(google, run):
    google.add_instance('vm1')
    result = run(ci, dict(VM, machine_type='e2-medium'), check=True)
    assert result['failed'] is True
    assert 'allow_stopping_for_update: true' in result['msg']
    assert 'Cannot change machine type to e2-medium of instance vm1' in result['msg']
    result = run(ci, dict(VM, machine_type='e2-medium', labels={'x': 'y'}))
    assert result['failed'] is True
    assert google.writes() == []


def test_machine_type_change_with_allow_stopping(google, run):
    google.add_instance('vm1')
    args = dict(VM, machine_type='e2-medium', allow_stopping_for_update=True)
    predicted = run(ci, args, check=True, diff=True)
    assert predicted['actions'] == ['stop', 'set machine type e2-medium', 'start']
    assert predicted['diff']['before']['machine_type'] == 'e2-small'
    assert predicted['diff']['after']['machine_type'] == 'e2-medium'
    assert google.writes() == []
    result = run(ci, args)
    assert result['changed'] is True
    assert result['instance']['machine_type'] == 'e2-medium' and result['instance']['status'] == 'RUNNING'
    assert write_paths(google) == ['stop', 'setMachineType', 'start']
    del google.calls[:]
    assert run(ci, args)['changed'] is False
    assert google.writes() == []


def test_unknown_machine_type_fails_before_writing(google, run):
    google.add_instance('vm1')
    result = run(ci, dict(VM, machine_type='e2-huge', allow_stopping_for_update=True))
    assert result['failed'] is True
    assert result['msg'] == 'Machine type e2-huge does not exist in zone us-central1-a (project demo): no write was made.'
    assert google.writes() == []
    result = run(ci, dict(VM, name='new-vm', machine_type='e2-huge'))
    assert 'Machine type e2-huge does not exist' in result['msg']
    assert google.writes() == []


def test_unknown_zone_fails_before_writing(google, run):
    result = run(ci, dict(VM, zone='mars-north1-a'))
    assert result['failed'] is True
    assert result['msg'] == ("Zone mars-north1-a of project demo was not found (The resource 'projects/demo/zones/mars-north1-a' "
                             "was not found): no write was made.")
    assert google.writes() == []


def test_unknown_project_is_named(google, run):
    result = run(ci, dict(VM, project='no-such-project'))
    assert result['failed'] is True
    assert "The resource 'projects/no-such-project' was not found" in result['msg']
    assert google.writes() == []


def test_invalid_input_sends_nothing(google, run):
    result = run(ci, dict(VM, labels={'Bad': 'x'}, name='Bad_Name'))
    assert result['failed'] is True
    assert "Instance name 'Bad_Name' is invalid" in result['msg'] and "label key 'Bad'" in result['msg']
    assert google.calls == []


def test_missing_project_fails_before_any_request(google, run):
    result = run(ci, dict(VM, project=None))
    assert result['failed'] is True
    assert result['msg'] == 'No GCP project given: set the project option or the GCP_PROJECT environment variable.'
    assert google.calls == []


def test_unreadable_key_file_fails_before_any_request(google, run, tmp_path):
    result = run(ci, dict(VM, auth_kind='serviceaccount', access_token=None, service_account_file=str(tmp_path / 'nope.json')))
    assert result['failed'] is True
    assert 'Cannot read service account key file' in result['msg']
    assert google.calls == []


def test_conflicting_credentials_fail(google, run):
    result = run(ci, dict(VM, auth_kind=None, access_token=None, service_account_file='/a', service_account_contents='{}'))
    assert result['failed'] is True and 'mutually exclusive' in result['msg']
    assert google.calls == []


def test_in_place_updates_use_fingerprints(google, run):
    google.add_instance('vm1')
    args = dict(VM, labels={'app': 'openclaw'}, metadata={'ssh-keys': 'u:k'}, tags=['ssh'], deletion_protection=True)
    result = run(ci, args, diff=True)
    assert result['changed'] is True
    assert write_paths(google) == ['setLabels', 'setMetadata', 'setTags', 'setDeletionProtection']
    inst = google.instances[('us-central1-a', 'vm1')]
    assert inst['labels'] == {'app': 'openclaw'} and inst['deletionProtection'] is True
    assert result['diff']['after']['tags'] == ['ssh']
    del google.calls[:]
    assert run(ci, args)['changed'] is False and google.writes() == []


def test_stale_fingerprint_is_reread_once(google, run):
    inst = google.add_instance('vm1')
    real_read = google.compute

    def racing(method, path, params, body):
        # someone else changes the labels between our read and our write
        if method == 'POST' and path.endswith('/setLabels') and inst['labels'] == {}:
            inst['labels'] = {'other': 'x'}
            inst['labelFingerprint'] = 'changed'
        return real_read(method, path, params, body)
    google.compute = racing
    result = run(ci, dict(VM, labels={'app': 'openclaw'}))
    assert result['changed'] is True
    assert write_paths(google) == ['setLabels', 'setLabels']
    # the other writer's label is kept: the retry is built from what the instance carries now
    assert inst['labels'] == {'app': 'openclaw', 'other': 'x'}


def test_labels_metadata_and_tags_not_set_by_the_task_are_kept(google, run):
    inst = google.add_instance('vm1')
    inst['labels'] = {'goog-ec-src': 'vm_add-rest', 'app': 'openclaw'}
    inst['metadata'] = {'fingerprint': 'f0', 'items': [{'key': 'ssh-keys', 'value': 'ops:ssh-rsa AAAAops ops'},
                                                       {'key': 'startup-script', 'value': 'echo s3cr3t-value'}]}
    inst['tags'] = {'fingerprint': 't0', 'items': ['gke-node', 'openclaw-gw']}
    options = dict(VM, labels={'app': 'openclaw'}, tags=['openclaw-gw'], metadata={'enable-guest-attributes': 'TRUE'},
                   ssh_keys=['openclaw:ssh-ed25519 AAAAmine me@laptop'])
    result = run(ci, options)
    assert result['changed'] is True and write_paths(google) == ['setMetadata']
    metadata = dict((i['key'], i['value']) for i in inst['metadata']['items'])
    assert metadata['ssh-keys'] == 'ops:ssh-rsa AAAAops ops\nopenclaw:ssh-ed25519 AAAAmine me@laptop'
    assert metadata['startup-script'] == 'echo s3cr3t-value' and metadata['enable-guest-attributes'] == 'TRUE'
    assert inst['labels'] == {'goog-ec-src': 'vm_add-rest', 'app': 'openclaw'}
    google.calls.clear()
    # a re-run (the same key with another comment counts as present) changes nothing and writes nothing
    again = run(ci, dict(options, ssh_keys=['openclaw:ssh-ed25519 AAAAmine other-comment']))
    assert again['changed'] is False and write_paths(google) == []


def test_purge_options_remove_what_the_task_did_not_set(google, run):
    inst = google.add_instance('vm1')
    inst['labels'] = {'goog-ec-src': 'vm_add-rest', 'app': 'openclaw'}
    inst['metadata'] = {'fingerprint': 'f0', 'items': [{'key': 'ssh-keys', 'value': 'ops:ssh-rsa AAAAops ops'},
                                                       {'key': 'old', 'value': '1'}]}
    result = run(ci, dict(VM, labels={'app': 'openclaw'}, purge_labels=True, ssh_keys=['openclaw:ssh-ed25519 AAAAmine'],
                          purge_ssh_keys=True, purge_metadata=True))
    assert result['changed'] is True
    assert inst['labels'] == {'app': 'openclaw'}
    assert inst['metadata']['items'] == [{'key': 'ssh-keys', 'value': 'openclaw:ssh-ed25519 AAAAmine'}]


def test_secret_metadata_values_are_masked_in_results_and_diffs(google, run):
    google.add_instance('vm1')
    result = run(ci, dict(VM, metadata={'startup-script': 'export TOKEN=abcdef0123456789', 'enable-oslogin': 'TRUE'}),
                 diff=True)
    text = json.dumps(result)
    assert 'abcdef0123456789' not in text
    assert result['instance']['metadata']['enable-oslogin'] == 'TRUE'
    assert result['instance']['metadata']['startup-script'].startswith('VALUE_HIDDEN (29 characters')
    assert result['diff']['after']['metadata']['startup-script'] == result['instance']['metadata']['startup-script']
    shown = run(ci, dict(VM, metadata={'startup-script': 'export TOKEN=abcdef0123456789'}, show_metadata=['startup-script']))
    assert shown['instance']['metadata']['startup-script'] == 'export TOKEN=abcdef0123456789'


@pytest.mark.parametrize('options, message', [
    (dict(ssh_keys=['not a key line']), "ssh_keys line 'not a key line' is not USER:KEYTYPE KEY"),
    (dict(ssh_keys=['u:ssh-ed25519 AAAA'], metadata={'ssh-keys': 'x'}), 'mutually exclusive'),
    (dict(purge_labels=True), 'purge_labels needs labels'),
    (dict(purge_ssh_keys=True), 'purge_ssh_keys needs ssh_keys'),
])
def test_bad_key_options_fail_before_any_request(google, run, options, message):
    result = run(ci, dict(VM, **options))
    assert result['failed'] and message in result['msg'] and google.calls == []


def test_lost_stop_is_not_retried_blindly(google, run):
    google.add_instance('vm1')
    google.inject('lost', 'POST', r'/stop$')
    result = run(ci, dict(VM, state='stopped'))
    assert result['changed'] is True and result['instance']['status'] == 'TERMINATED'
    assert write_paths(google) == ['stop']


def test_transient_errors_on_every_step(google, run):
    google.add_instance('vm1')
    for verb in ('stop', 'setMachineType', 'start', 'wait'):
        google.inject('fail', None, r'/%s$' % verb)
    google.inject('reset', 'GET', r'/instances/vm1$')
    result = run(ci, dict(VM, machine_type='e2-medium', allow_stopping_for_update=True))
    assert result['changed'] is True
    assert google.instances[('us-central1-a', 'vm1')]['machineType'].endswith('/e2-medium')
    assert len(google.sleeps) >= 5


def test_power_states(google, run):
    google.add_instance('vm1')
    assert run(ci, dict(VM, state='stopped'))['instance']['status'] == 'TERMINATED'
    assert run(ci, dict(VM, state='stopped'))['changed'] is False
    assert run(ci, dict(VM, state='started'))['instance']['status'] == 'RUNNING'
    del google.calls[:]
    restarted = run(ci, dict(VM, state='restarted'))
    assert restarted['changed'] is True and restarted['actions'] == ['stop', 'start']
    assert write_paths(google) == ['stop', 'start']


def test_create_stopped(google, run):
    result = run(ci, dict(VM, state='stopped'))
    assert result['actions'] == ['create', 'stop']
    assert result['instance']['status'] == 'TERMINATED'


def test_delete_and_deletion_protection(google, run):
    google.add_instance('vm1', deletionProtection=True)
    refused = run(ci, dict(VM, state='absent'))
    assert refused['failed'] is True and 'deletion protection is on' in refused['msg']
    assert google.writes() == []
    predicted = run(ci, dict(VM, state='absent', deletion_protection=False), check=True, diff=True)
    assert predicted['actions'] == ['set deletion protection to false', 'delete']
    assert predicted['diff']['after'] == {'state': 'absent'}
    assert google.writes() == []
    google.inject('lost', 'DELETE')
    deleted = run(ci, dict(VM, state='absent', deletion_protection=False))
    assert deleted['changed'] is True and google.instances == {}
    assert run(ci, dict(VM, state='absent'))['changed'] is False


def test_quota_failure_surfaces_googles_message(google, run):
    google.quota_exceeded_zones.add('us-central1-a')
    result = run(ci, VM)
    assert result['failed'] is True
    assert result['reason'] == 'QUOTA_EXCEEDED'
    assert "Quota 'CPUS' exceeded" in result['msg']
    assert result['msg'].startswith('Failed to create instance vm1 in zone us-central1-a (project demo): operation')


def test_creation_only_options_warn(google, run):
    google.add_instance('vm1')
    result = run(ci, dict(VM, boot_disk_size_gb=30, external_ip=False, network='other'))
    assert result['changed'] is False
    assert google.writes() == []
    warnings = ci.creation_only_warnings(summarize(google.instances[('us-central1-a', 'vm1')]),
                                         {'boot_disk_size_gb': 30, 'external_ip': False, 'network': 'other'})
    assert len(warnings) == 3


def test_no_wait_skips_the_last_wait(google, run):
    result = run(ci, dict(VM, wait=False))
    assert result['changed'] is True
    assert not any(c[1].endswith('/wait') for c in google.calls)


def test_unknown_image_fails_before_writing(google, run):
    result = run(ci, dict(VM, image='projects/debian-cloud/global/images/family/debian-99'))
    assert result['failed'] is True
    assert result['msg'] == ('Image projects/debian-cloud/global/images/family/debian-99 does not exist or is not visible '
                             'to project demo: no write was made.')
    assert google.writes() == []


def test_a_rejected_access_token_is_reported_as_such(google, run):
    real = google.compute

    def unauthenticated(method, path, params, body):  # pylint: disable=unused-argument
        return 401, {'error': {'code': 401, 'status': 'UNAUTHENTICATED', 'message': 'Request had invalid authentication credentials.'}}
    google.compute = unauthenticated
    result = run(ci, VM)
    google.compute = real
    assert result['failed'] is True and result['status'] == 401
    assert result['msg'] == ('Failed to read instance vm1 in zone us-central1-a (project demo): HTTP 401 UNAUTHENTICATED: '
                             'Request had invalid authentication credentials (the accesstoken credentials were rejected).')
    assert google.session_options == {'refresh_status_codes': ()}  # a bare token is never "refreshed"
