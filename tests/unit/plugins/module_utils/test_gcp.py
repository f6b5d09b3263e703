# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared client: pure helpers, the retry loop, operations, pagination, credentials."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import requests

from ansible_collections.openclaw.gcp.plugins.module_utils import gcp
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Applied, GcpClient, GcpError

from fake_gcp import FakeResponse, error, layout


# -- pure helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize('api, real, local', [
    ('compute', 'https://compute.googleapis.com/compute/v1/', 'http://127.0.0.1:8080/compute/v1/'),
    ('serviceusage', 'https://serviceusage.googleapis.com/v1/', 'http://127.0.0.1:8080/serviceusage/v1/'),
    ('iam', 'https://iam.googleapis.com/v1/', 'http://127.0.0.1:8080/iam/v1/'),
    ('cloudresourcemanager', 'https://cloudresourcemanager.googleapis.com/v1/', 'http://127.0.0.1:8080/cloudresourcemanager/v1/'),
    ('cloudresourcemanager_v3', 'https://cloudresourcemanager.googleapis.com/v3/', 'http://127.0.0.1:8080/cloudresourcemanager/v3/'),
    ('cloudbilling', 'https://cloudbilling.googleapis.com/v1/', 'http://127.0.0.1:8080/cloudbilling/v1/'),
])
def test_api_base_real_and_override(api, real, local):
    assert gcp.api_base(api) == real
    assert gcp.api_base(api, layout('http://127.0.0.1:8080')) == local
    assert gcp.api_base(api, layout('http://127.0.0.1:8080/')) == local


def test_api_base_universe_domain_and_psc_endpoints():
    assert gcp.api_base('iam', universe_domain='example-universe.net') == 'https://iam.example-universe.net/v1/'
    assert gcp.api_base('compute', universe_domain='example-universe.net') == 'https://compute.example-universe.net/compute/v1/'
    # a Private Service Connect endpoint, written as gcloud's api_endpoint_overrides take it
    psc = {'compute': 'https://compute-ep1.p.googleapis.com/compute/v1/', 'iam': 'https://iam-ep1.p.googleapis.com/'}
    assert gcp.api_base('compute', psc) == 'https://compute-ep1.p.googleapis.com/compute/v1/'
    assert gcp.api_base('iam', psc) == 'https://iam-ep1.p.googleapis.com/v1/'
    assert gcp.api_base('serviceusage', psc) == 'https://serviceusage.googleapis.com/v1/'


def test_overrides_come_from_gclouds_environment_variables():
    env = {'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE': 'http://127.0.0.1:5/compute/v1/',
           'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM': 'http://127.0.0.1:5/iam/'}
    assert gcp.endpoint_overrides({}, env) == {'compute': 'http://127.0.0.1:5/compute/v1/', 'iam': 'http://127.0.0.1:5/iam/'}
    # the option wins over the environment, as a whole
    assert gcp.endpoint_overrides({'api_endpoint_overrides': {'IAM': 'http://x/'}}, env) == {'iam': 'http://x/'}
    client = GcpClient({'access_token': 't'}, environ=env)
    assert client.url('compute', 'projects/p') == 'http://127.0.0.1:5/compute/v1/projects/p'
    assert client.url('cloudbilling', 'projects/p') == 'https://cloudbilling.googleapis.com/v1/projects/p'


def test_bad_endpoint_options_are_named():
    problems = gcp.check_endpoint_params({'api_endpoint_overrides': {'storage': 'http://x/', 'compute': 'ftp://x/'},
                                          'universe_domain': 'Not A Domain'}, {})
    assert 'unknown services storage' in problems[0]
    assert "override for compute must be an http(s) URL, got 'ftp://x/'" in problems[1]
    assert 'universe_domain must be a domain name' in problems[2]
    with pytest.raises(GcpError, match='unknown services storage'):
        GcpClient({'access_token': 't', 'api_endpoint_overrides': {'storage': 'http://x/'}}, environ={}).credentials()


def test_api_base_unknown_api():
    with pytest.raises(ValueError):
        gcp.api_base('storage')


@pytest.mark.parametrize('link, expected', [
    ('https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i', 'projects/p/zones/z/instances/i'),
    ('https://compute.googleapis.com/compute/v1/projects/p/global/networks/default', 'projects/p/global/networks/default'),
    ('http://127.0.0.1:8080/compute/v1/projects/p/zones/z', 'projects/p/zones/z'),
    ('projects/p/zones/z', 'projects/p/zones/z'),
    ('/projects/p', 'projects/p'),
    (None, None),
])
def test_normalize_link(link, expected):
    assert gcp.normalize_link(link) == expected


def test_short_name_and_zone_to_region():
    assert gcp.short_name('https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a') == 'us-central1-a'
    assert gcp.short_name('zones/z/machineTypes/e2-small/') == 'e2-small'
    assert gcp.short_name(None) is None
    assert gcp.zone_to_region('europe-west1-b') == 'europe-west1'


@pytest.mark.parametrize('value, collection, scope, expected', [
    ('default', 'networks', None, 'projects/p/global/networks/default'),
    ('global/networks/vpc', 'networks', None, 'projects/p/global/networks/vpc'),
    ('projects/other/global/networks/vpc', 'networks', None, 'projects/other/global/networks/vpc'),
    ('https://www.googleapis.com/compute/v1/projects/o/global/networks/n', 'networks', None, 'projects/o/global/networks/n'),
    ('sub', 'subnetworks', 'regions/us-central1', 'projects/p/regions/us-central1/subnetworks/sub'),
])
def test_compute_link(value, collection, scope, expected):
    assert gcp.compute_link('p', value, collection, scope) == expected


@pytest.mark.parametrize('name', ['a', 'openclaw-gateway', 'vm1', 'a' * 63])
def test_validate_name_accepts(name):
    assert gcp.validate_name(name) is None


@pytest.mark.parametrize('name', ['', '1vm', 'Gateway', 'vm-', 'vm_1', 'a' * 64, None, 'vm.1'])
def test_validate_name_rejects(name):
    message = gcp.validate_name(name, 'Instance name')
    assert message.startswith('Instance name')
    assert 'RFC 1035' in message


def test_validate_labels():
    assert gcp.validate_labels({'app': 'openclaw', 'role': '', 'env_1': 'prod-2'}) == []
    assert gcp.validate_labels(None) == []
    errors = gcp.validate_labels({'App': 'x', '1bad': 'y', 'ok': 'UPPER', 'k': 'a' * 64, 'dot': 'a.b'})
    assert len(errors) == 5
    assert any("'App'" in e for e in errors)
    assert any("'UPPER'" in e for e in errors)
    assert len(gcp.validate_labels(dict(('k%d' % i, 'v') for i in range(65)))) == 1
    assert gcp.validate_labels(['a']) == ['labels must be a dictionary of strings']


def test_stringify_labels():
    assert gcp.stringify_labels({'a': 1, 'b': True, 'c': None, 'd': 'x'}) == {'a': '1', 'b': 'true', 'c': '', 'd': 'x'}
    assert gcp.stringify_labels(None) is None


def test_parse_and_format_api_error():
    status, body = error(404, 'notFound', "The resource 'projects/p/zones/z/instances/i' was not found")
    sentence = gcp.format_api_error('read', 'instance i in zone z (project p)', status, body)
    assert sentence == ("Failed to read instance i in zone z (project p): HTTP 404 notFound: "
                        "The resource 'projects/p/zones/z/instances/i' was not found.")
    assert gcp.parse_google_error(json.dumps(body)) == ('notFound', "The resource 'projects/p/zones/z/instances/i' was not found")
    assert gcp.parse_google_error('<html>bad gateway</html>') == (None, '<html>bad gateway</html>')
    assert gcp.parse_google_error({'error': 'invalid_grant', 'error_description': 'Invalid JWT'}) == ('invalid_grant', 'Invalid JWT')
    details = {'error': {'code': 403, 'message': 'API disabled', 'status': 'PERMISSION_DENIED',
                         'details': [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', 'reason': 'SERVICE_DISABLED'}]}}
    assert gcp.parse_google_error(details) == ('SERVICE_DISABLED', 'API disabled')
    assert gcp.format_api_error('list', 'x', 502, '') == 'Failed to list x: HTTP 502.'


def test_operation_errors():
    op = {'name': 'operation-1', 'status': 'DONE', 'error': {'errors': [
        {'code': 'QUOTA_EXCEEDED', 'message': "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1."}]}}
    assert gcp.format_operation_error('create', 'instance vm', op) == (
        "Failed to create instance vm: operation operation-1 ended with an error QUOTA_EXCEEDED: "
        "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.")
    lro = {'name': 'operations/acf.1', 'done': True, 'error': {'code': 9, 'message': 'Billing must be enabled'}}
    assert gcp.operation_error(lro) == ('code 9', 'Billing must be enabled')
    assert gcp.operation_error({'status': 'DONE'}) is None


def test_backoff_is_exponential_with_bounded_jitter():
    lows = [gcp.backoff_delay(n, 0.5, 8.0, rand=lambda: 0.0) for n in range(7)]
    highs = [gcp.backoff_delay(n, 0.5, 8.0, rand=lambda: 1.0) for n in range(7)]
    assert lows == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert highs == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_after():
    assert gcp.retry_after_seconds({'Retry-After': '3'}) == 3.0
    assert gcp.retry_after_seconds({'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT'}) is None
    assert gcp.retry_after_seconds(None) is None


def test_metadata_round_trip_and_dict_changes():
    items = gcp.dict_to_metadata_items({'b': '2', 'a': '1'})
    assert items == [{'key': 'a', 'value': '1'}, {'key': 'b', 'value': '2'}]
    assert gcp.metadata_to_dict({'items': items, 'fingerprint': 'x'}) == {'a': '1', 'b': '2'}
    assert gcp.metadata_to_dict(None) == {}
    assert gcp.dict_changes({'a': 1, 'b': 2}, {'a': 1, 'b': 3, 'c': 4}) == ['b', 'c']


@pytest.mark.parametrize('params, kind', [
    ({}, 'application'),
    ({'access_token': 't'}, 'accesstoken'),
    ({'service_account_file': '/k.json'}, 'serviceaccount'),
    ({'service_account_contents': '{}'}, 'serviceaccount'),
    ({'auth_kind': 'machineaccount', 'service_account_file': '/k.json'}, 'machineaccount'),
])
def test_resolve_auth_kind(params, kind):
    assert gcp.resolve_auth_kind(params) == kind


@pytest.mark.parametrize('params, fragment', [
    ({'service_account_file': 'a', 'service_account_contents': 'b'}, 'mutually exclusive'),
    ({'auth_kind': 'accesstoken'}, 'needs access_token'),
    ({'auth_kind': 'serviceaccount'}, 'needs service_account_file'),
    ({'auth_kind': 'serviceaccount', 'service_account_file': 'k', 'access_token': 't'}, 'only used with auth_kind accesstoken'),
])
def test_check_auth_params_conflicts(params, fragment):
    assert fragment in gcp.check_auth_params(params)


def test_check_auth_params_ok():
    assert gcp.check_auth_params({'access_token': 't'}) is None


def test_service_account_key_errors(tmp_path):
    with pytest.raises(GcpError, match=r'Cannot read service account key file .*missing\.json: No such file or directory'):
        gcp.load_service_account_info({'service_account_file': str(tmp_path / 'missing.json')})
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(GcpError, match='is not valid JSON'):
        gcp.load_service_account_info({'service_account_file': str(bad)})
    user = tmp_path / 'user.json'
    user.write_text(json.dumps({'type': 'authorized_user'}))
    with pytest.raises(GcpError, match='is not a service account key'):
        gcp.load_service_account_info({'service_account_file': str(user)})
    with pytest.raises(GcpError, match='lacks private_key'):
        gcp.load_service_account_info({'service_account_contents': json.dumps(
            {'type': 'service_account', 'client_email': 'a@b', 'token_uri': 'x'})})


def _key_info():
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {'type': 'service_account', 'project_id': 'demo', 'private_key_id': 'k1', 'private_key': pem,
            'client_email': 'bot@demo.iam.gserviceaccount.com', 'client_id': '1', 'token_uri': 'https://oauth2.googleapis.com/token'}


def test_service_account_credentials_keep_the_key_as_it_is(tmp_path):
    key = tmp_path / 'key.json'
    info = dict(_key_info(), token_uri='http://127.0.0.1:7777/token')
    key.write_text(json.dumps(info))
    client = GcpClient({'service_account_file': str(key), 'api_endpoint_overrides': layout('http://127.0.0.1:7777')})
    creds = client.credentials()
    # the key's own token endpoint, and google-auth left as it is (no private attribute patched)
    assert creds._token_uri == 'http://127.0.0.1:7777/token'  # pylint: disable=protected-access
    assert creds.service_account_email == 'bot@demo.iam.gserviceaccount.com'
    assert '_is_regional_access_boundary_lookup_required' not in vars(creds)
    assert client.credentials() is creds


def test_universe_domain_of_the_key_is_used_and_checked():
    info = dict(_key_info(), universe_domain='example-universe.net')
    client = GcpClient({'service_account_contents': json.dumps(info)}, environ={})
    client.credentials()
    assert client.url('iam', 'projects/p') == 'https://iam.example-universe.net/v1/projects/p'
    client = GcpClient({'service_account_contents': json.dumps(info), 'universe_domain': 'googleapis.com'}, environ={})
    with pytest.raises(GcpError, match='belong to universe domain example-universe.net, not to universe_domain googleapis.com'):
        client.credentials()


def test_real_google_keeps_the_key_token_uri():
    client = GcpClient({'service_account_contents': json.dumps(_key_info())})
    assert client.credentials()._token_uri == 'https://oauth2.googleapis.com/token'  # pylint: disable=protected-access


def test_url_refuses_absolute_links():
    client = GcpClient({'access_token': 't', 'api_endpoint_overrides': layout('http://127.0.0.1:1')})
    assert client.url('compute', 'projects/p') == 'http://127.0.0.1:1/compute/v1/projects/p'
    with pytest.raises(GcpError, match='Refusing to follow'):
        client.url('compute', 'https://www.googleapis.com/compute/v1/projects/p')


def test_require_project():
    with pytest.raises(GcpError, match='No GCP project given'):
        GcpClient({'access_token': 't'}).require_project()


# -- the request loop -----------------------------------------------------------------------------

class ScriptedSession(object):
    """Answers from a script: each entry is a FakeResponse or an exception to raise."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []
        self.headers = {}

    def request(self, method, url, params=None, json=None, timeout=None):  # pylint: disable=redefined-outer-name
        self.calls.append((method, url, params, json, timeout))
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Clock(object):

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(script, **kwargs):
    clock = Clock()
    session = ScriptedSession(script)
    client = GcpClient({'access_token': 't', 'project': 'p', 'api_endpoint_overrides': layout('http://127.0.0.1:1')},
                       session=session,
                       sleep=clock.sleep, clock=clock, rand=lambda: 0.5, **kwargs)
    return client, session, clock


def ok(body=None):
    return FakeResponse(200, {} if body is None else body)


def test_get_retries_transient_statuses_and_connection_errors():
    client, session, clock = make_client([
        FakeResponse(*error(503, 'backendError', 'unavailable')),
        requests.exceptions.ConnectionError('reset'),
        FakeResponse(*error(429, 'rateLimitExceeded', 'slow down')),
        FakeResponse(*error(500, 'internalError', 'oops')),
        FakeResponse(*error(502, 'badGateway', 'bad gateway')),
        FakeResponse(*error(504, 'timeout', 'gateway timeout')),
        ok({'name': 'vm'}),
    ])
    assert client.get('compute', 'projects/p/zones/z/instances/vm', 'read', 'instance vm') == {'name': 'vm'}
    assert len(session.calls) == 7
    assert clock.sleeps == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]
    assert client.stats == {'requests': 7, 'retries': 6, 'writes': 0, 'settling': 0}


def test_retry_after_header_is_honoured_within_the_cap():
    client, dummy, clock = make_client([FakeResponse(429, {'error': {'code': 429}}, headers={'Retry-After': '5'}), ok()])
    client.get('compute', 'x', 'read', 'x')
    assert clock.sleeps == [5.0]


def test_retries_are_bounded_in_count():
    client, session, dummy = make_client([FakeResponse(*error(503, 'backendError', 'unavailable'))] * 3, max_attempts=3)
    with pytest.raises(GcpError) as info:
        client.get('compute', 'projects/p/zones/z/instances/vm', 'read', 'instance vm')
    assert len(session.calls) == 3
    assert info.value.status == 503
    assert str(info.value) == 'Failed to read instance vm: HTTP 503 backendError: unavailable (gave up after 3 attempts in 1 s).'


def test_retries_are_bounded_in_time():
    client, session, clock = make_client([requests.exceptions.ConnectTimeout('t')] * 20, max_retry_seconds=5.0)
    with pytest.raises(GcpError, match=r'connection error \(ConnectTimeout: t\), gave up after \d+ attempts in 5 s'):
        client.get('compute', 'x', 'read', 'x')
    assert clock.now <= 5.0
    assert len(session.calls) < 20


def test_client_errors_are_not_retried():
    client, session, dummy = make_client([FakeResponse(*error(400, 'invalid', "Invalid value for field 'resource.name'"))])
    with pytest.raises(GcpError) as info:
        client.call('POST', 'compute', 'projects/p/zones/z/instances', 'create', 'instance Bad', body={})
    assert len(session.calls) == 1
    assert info.value.reason == 'invalid'
    assert str(info.value) == "Failed to create instance Bad: HTTP 400 invalid: Invalid value for field 'resource.name'."


def test_allow_404():
    client, dummy, dummy2 = make_client([FakeResponse(*error(404, 'notFound', 'gone')), FakeResponse(*error(404, 'notFound', 'gone'))])
    assert client.get('compute', 'x', 'read', 'x') is None
    with pytest.raises(GcpError, match='HTTP 404 notFound: gone'):
        client.get('compute', 'x', 'read', 'x', allow_404=False)


def test_mutation_reads_before_retrying_and_stops_when_applied():
    client, session, dummy = make_client([FakeResponse(*error(503, 'backendError', 'lost'))])
    reads = []

    def reconcile():
        reads.append(1)
        return Applied('already done')
    assert client.call('POST', 'compute', 'p/stop', 'stop', 'vm', reconcile=reconcile) == 'already done'
    assert len(session.calls) == 1 and reads == [1]


def test_mutation_retries_with_the_same_request_when_not_applied():
    client, session, dummy = make_client([requests.exceptions.ConnectionError('x'), ok({'name': 'op'})])
    op = client.call('POST', 'compute', 'p/stop', 'stop', 'vm', params={'requestId': 'r1'}, reconcile=lambda: None)
    assert op == {'name': 'op'}
    assert [c[2] for c in session.calls] == [{'requestId': 'r1'}, {'requestId': 'r1'}]
    assert client.stats['writes'] == 2


def test_retried_insert_that_meets_409_asks_reconcile():
    client, dummy, dummy2 = make_client([FakeResponse(*error(503, 'backendError', 'lost')), FakeResponse(*error(409, 'alreadyExists', 'exists'))])
    answers = iter([None, Applied(None)])
    assert client.call('POST', 'compute', 'p/instances', 'create', 'vm', body={}, reconcile=lambda: next(answers)) is None


def test_first_attempt_409_is_a_real_error():
    client, dummy, dummy2 = make_client([FakeResponse(*error(409, 'alreadyExists', 'exists'))])
    with pytest.raises(GcpError, match='HTTP 409 alreadyExists'):
        client.call('POST', 'compute', 'p/instances', 'create', 'vm', body={}, reconcile=lambda: Applied(None))


def test_precondition_failed_rereads_once_with_a_fresh_body():
    client, session, dummy = make_client([
        FakeResponse(*error(412, 'conditionNotMet', 'fingerprint')),
        ok({'name': 'op'}),
    ])
    op = client.call('POST', 'compute', 'p/setLabels', 'set labels', 'vm', body={'labelFingerprint': 'old'},
                     reconcile=lambda: {'labelFingerprint': 'new'})
    assert op == {'name': 'op'}
    assert [c[3] for c in session.calls] == [{'labelFingerprint': 'old'}, {'labelFingerprint': 'new'}]


def test_precondition_failed_twice_fails():
    client, dummy, dummy2 = make_client([FakeResponse(*error(412, 'conditionNotMet', 'fingerprint'))] * 2)
    with pytest.raises(GcpError, match='HTTP 412 conditionNotMet'):
        client.call('POST', 'compute', 'p/setLabels', 'set labels', 'vm', body={}, reconcile=lambda: {'labelFingerprint': 'x'})


def test_non_retryable_refresh_error_is_one_sentence():
    import google.auth.exceptions  # pylint: disable=import-outside-toplevel
    client, dummy, dummy2 = make_client([google.auth.exceptions.RefreshError('invalid_grant: Invalid JWT Signature.')])
    with pytest.raises(GcpError, match='Failed to read x: could not obtain an access token: invalid_grant'):
        client.get('compute', 'x', 'read', 'x')


# -- pagination and operations ---------------------------------------------------------------------

def test_list_all_follows_pages():
    client, session, dummy = make_client([ok({'items': [1, 2], 'nextPageToken': 'a'}), ok({'items': [3], 'nextPageToken': 'b'}), ok({})])
    assert client.list_all('compute', 'projects/p/zones/z/instances', 'list', 'instances', params={'filter': 'f'}) == [1, 2, 3]
    assert [c[2].get('pageToken') for c in session.calls] == [None, 'a', 'b']
    assert all(c[2]['filter'] == 'f' and c[2]['maxResults'] == 500 for c in session.calls)


def test_list_all_detects_a_looping_token():
    client, dummy, dummy2 = make_client([ok({'items': [1], 'nextPageToken': 'a'})] * 2)
    with pytest.raises(GcpError, match='same page token twice'):
        client.list_all('iam', 'x', 'list', 'x')


def test_aggregated_list_flattens_scopes_and_pages():
    client, session, dummy = make_client([
        ok({'items': {'zones/a-b1-c': {'instances': [{'name': 'x'}]},
                      'zones/a-b1-d': {'warning': {'code': 'NO_RESULTS_ON_PAGE'}}}, 'nextPageToken': 't'}),
        ok({'items': {'zones/a-b1-d': {'instances': [{'name': 'y'}]}}}),
    ])
    pairs = client.aggregated_list('instances', 'list', 'instances', filter_expr='(labels.app = "openclaw")')
    assert pairs == [('zones/a-b1-c', {'name': 'x'}), ('zones/a-b1-d', {'name': 'y'})]
    assert session.calls[0][1] == 'http://127.0.0.1:1/compute/v1/projects/p/aggregated/instances'
    assert session.calls[0][2]['filter'] == '(labels.app = "openclaw")'
    assert session.calls[0][2]['returnPartialSuccess'] == 'true'


def test_wait_compute_operation_uses_the_wait_method_per_scope():
    client, session, dummy = make_client([ok({'name': 'op1', 'status': 'RUNNING'}), ok({'name': 'op1', 'status': 'DONE'})])
    zonal = {'name': 'op1', 'status': 'RUNNING', 'zone': 'https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a'}
    assert client.wait_compute_operation(zonal, 'stop', 'vm')['status'] == 'DONE'
    assert [c[0] for c in session.calls] == ['POST', 'POST']
    assert session.calls[0][1].endswith('/compute/v1/projects/p/zones/us-central1-a/operations/op1/wait')
    client, session, dummy = make_client([ok({'name': 'op2', 'status': 'DONE'})])
    client.wait_compute_operation({'name': 'op2', 'status': 'PENDING'}, 'create', 'firewall')
    assert session.calls[0][1].endswith('/compute/v1/projects/p/global/operations/op2/wait')
    client, session, dummy = make_client([ok({'name': 'op3', 'status': 'DONE'})])
    client.wait_compute_operation({'name': 'op3', 'status': 'PENDING', 'region': 'regions/us-central1'}, 'create', 'address')
    assert session.calls[0][1].endswith('/compute/v1/projects/p/regions/us-central1/operations/op3/wait')


def test_wait_compute_operation_reports_googles_error():
    op = {'name': 'op1', 'status': 'DONE', 'error': {'errors': [{'code': 'QUOTA_EXCEEDED', 'message': "Quota 'CPUS' exceeded."}]}}
    client, session, dummy = make_client([])
    with pytest.raises(GcpError) as info:
        client.wait_compute_operation(op, 'create', 'instance vm')
    assert session.calls == []
    assert info.value.reason == 'QUOTA_EXCEEDED'
    assert "Quota 'CPUS' exceeded" in str(info.value)


def test_wait_compute_operation_times_out():
    client, dummy, clock = make_client([ok({'name': 'op1', 'status': 'RUNNING'})] * 100)
    with pytest.raises(GcpError, match=r'Timed out after 3 s waiting for stop vm \(operation op1 is still RUNNING\)'):
        client.wait_compute_operation({'name': 'op1', 'status': 'RUNNING', 'zone': 'zones/z'}, 'stop', 'vm', timeout=3)
    assert clock.now >= 3


def test_wait_lro_polls_until_done():
    client, session, dummy = make_client([ok({'name': 'operations/x', 'done': False}), ok({'name': 'operations/x', 'done': True})])
    client.wait_lro('serviceusage', {'name': 'operations/x'}, 'enable', 'service s')
    assert [c[1] for c in session.calls] == ['http://127.0.0.1:1/serviceusage/v1/operations/x'] * 2
    client, session, dummy = make_client([ok({'name': 'operations/y', 'done': True, 'error': {'code': 7, 'message': 'Permission denied'}})])
    with pytest.raises(GcpError, match='operation operations/y ended with an error code 7: Permission denied'):
        client.wait_lro('serviceusage', {'name': 'operations/y'}, 'enable', 'service s')


def test_one_session_per_client(google):
    client = GcpClient({'access_token': 't', 'project': 'demo', 'api_endpoint_overrides': layout('http://fake.invalid')})
    for dummy in range(3):
        client.get('compute', 'projects/demo/zones/us-central1-a', 'read', 'zone')
    assert google.sessions == 1
    assert len(google.calls) == 3


def test_exception_text():
    refused = requests.exceptions.ConnectionError(
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /token (Caused by NewConnectionError("
        "\"HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new connection: [Errno 111] Connection refused\"))")
    assert gcp.exception_text(refused) == 'Connection refused'
    import google.auth.exceptions  # pylint: disable=import-outside-toplevel
    grant = google.auth.exceptions.RefreshError('invalid_grant: account not found', {'error': 'invalid_grant'})
    assert gcp.exception_text(grant) == 'invalid_grant: account not found'
    assert len(gcp.exception_text(ValueError('x' * 500))) == 200


def test_request_ids_are_unique():
    assert len(set(GcpClient.request_id() for dummy in range(50))) == 50


# -- Google settling after a change (eventual consistency) -----------------------------------------

def service_disabled(service='compute.googleapis.com'):
    message = ('Compute Engine API has not been used in project 123 before or it is disabled. Enable it by visiting '
               'https://console.developers.google.com/apis/api/%s/overview?project=123 then retry. If you enabled '
               'this API recently, wait a few minutes for the action to propagate to our systems and retry.' % service)
    return FakeResponse(403, {'error': {
        'code': 403, 'message': message, 'status': 'PERMISSION_DENIED',
        'errors': [{'message': message, 'domain': 'usageLimits', 'reason': 'accessNotConfigured'}],
        'details': [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', 'reason': 'SERVICE_DISABLED',
                     'domain': 'googleapis.com', 'metadata': {'service': service, 'consumer': 'projects/123'}}]}})


def sa_missing(email='gw@p.iam.gserviceaccount.com'):
    return FakeResponse(*error(400, 'badRequest', 'Service account %s does not exist.' % email, 'INVALID_ARGUMENT'))


def test_api_enabled_moments_ago_is_waited_out_after_service_usage_says_enabled():
    client, session, clock = make_client([service_disabled(), ok({'state': 'ENABLED'}), service_disabled(), ok({'name': 'z'})])
    assert client.get('compute', 'projects/p/zones/z', 'read', 'zone z') == {'name': 'z'}
    urls = [c[1] for c in session.calls]
    assert urls[1] == 'http://127.0.0.1:1/serviceusage/v1/projects/123/services/compute.googleapis.com'
    assert urls.count(urls[1]) == 1   # asked once, the answer is remembered
    assert client.stats['settling'] == 2 and len(clock.sleeps) == 2


def test_api_that_is_really_disabled_fails_at_once_with_a_hint():
    client, session, clock = make_client([service_disabled(), ok({'state': 'DISABLED'})])
    with pytest.raises(GcpError, match='HTTP 403 accessNotConfigured.*enable it first, for example with openclaw.gcp.project_service'):
        client.get('compute', 'projects/p/zones/z', 'read', 'zone z')
    assert len(session.calls) == 2 and clock.sleeps == []


def test_new_service_account_is_waited_out_and_an_unknown_one_is_not():
    email = 'gw@p.iam.gserviceaccount.com'
    client, session, dummy = make_client([sa_missing(email), ok({'email': email}), sa_missing(email), ok({'etag': 'e2'})])
    assert client.call('POST', 'cloudresourcemanager', 'projects/p:setIamPolicy', 'update', 'policy', body={}) == {'etag': 'e2'}
    assert session.calls[1][1] == 'http://127.0.0.1:1/iam/v1/projects/-/serviceAccounts/%s' % email
    client, session, dummy = make_client([sa_missing(email), FakeResponse(*error(404, 'notFound', 'not found'))])
    with pytest.raises(GcpError, match='Service account gw@p.iam.gserviceaccount.com does not exist'):
        client.call('POST', 'cloudresourcemanager', 'projects/p:setIamPolicy', 'update', 'policy', body={})
    assert len(session.calls) == 2


def test_instances_insert_naming_a_new_account_is_recognised():
    email = 'gw@p.iam.gserviceaccount.com'
    message = ("Invalid value for field 'resource.serviceAccounts[0].email': '%s'. The user does not have access to "
               "service account '%s'.  User: 'bot@p.iam.gserviceaccount.com'." % (email, email))
    err = GcpError('x', status=400, reason='invalid', google_message=message)
    assert gcp.missing_service_account(err) == email


def test_settling_is_bounded_by_settle_timeout():
    script = [service_disabled(), ok({'state': 'ENABLED'})] + [service_disabled() for dummy in range(40)]
    client, session, clock = make_client(script, settle_timeout=30.0)
    with pytest.raises(GcpError, match=r'still so after 3\d s of waiting for Google to settle \(compute.googleapis.com is enabled'):
        client.get('compute', 'projects/p/zones/z', 'read', 'zone z')
    assert 30.0 <= clock.now <= 40.0 and len(session.calls) < 12


def test_resource_not_ready_is_retried_and_other_400s_are_not():
    busy = FakeResponse(*error(400, 'resourceNotReady', "The resource 'projects/p/zones/z/instances/vm' is not ready"))
    client, session, dummy = make_client([busy, ok({'name': 'op', 'status': 'DONE'})])
    assert client.call('POST', 'compute', 'projects/p/zones/z/instances/vm/stop', 'stop', 'vm')['status'] == 'DONE'
    client, session, dummy = make_client([FakeResponse(*error(400, 'invalid', 'Invalid value for field'))])
    with pytest.raises(GcpError, match='HTTP 400 invalid'):
        client.call('POST', 'compute', 'projects/p/zones/z/instances/vm/stop', 'stop', 'vm')
    assert len(session.calls) == 1


def test_operation_ending_resource_not_ready_is_sent_again_with_a_new_request_id():
    failed = {'name': 'op1', 'zone': 'z', 'status': 'DONE', 'error': {'errors': [
        {'code': 'RESOURCE_NOT_READY', 'message': "The resource 'vm' is not ready"}]}}
    client, session, dummy = make_client([ok(failed), ok({'name': 'op2', 'zone': 'z', 'status': 'DONE'})])
    op = client.compute_mutation('POST', 'projects/p/zones/z/instances/vm/stop', 'stop', 'vm')
    assert op['name'] == 'op2'
    ids = [c[2]['requestId'] for c in session.calls]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_concurrent_policy_change_rereads_and_retries():
    aborted = FakeResponse(*error(409, 'aborted', 'There were concurrent policy changes. Please retry the whole '
                                  'read-modify-write with exponential backoff.', 'ABORTED'))
    client, session, dummy = make_client([aborted, aborted, ok({'etag': 'e3'})])
    fresh = []
    result = client.call('POST', 'cloudresourcemanager', 'projects/p:setIamPolicy', 'update', 'policy', body={'policy': {}},
                         reconcile=lambda: fresh.append(1) or {'policy': {'etag': 'new'}}, conflict_retries=3)
    assert result == {'etag': 'e3'} and len(fresh) == 2
    assert session.calls[-1][3] == {'policy': {'etag': 'new'}}


def test_a_2xx_that_is_not_json_names_the_url_and_status():
    page = FakeResponse(200)
    page.content = b'<html>captive portal</html>'
    page.text = page.content.decode()
    page.url = 'http://127.0.0.1:1/compute/v1/projects/p'
    page.headers = {'Content-Type': 'text/html'}
    client, dummy, dummy2 = make_client([page])
    with pytest.raises(GcpError, match=r'Failed to read project p: http://127.0.0.1:1/compute/v1/projects/p answered HTTP 200 '
                                       r'with a body that is not JSON \(text/html\): <html>captive portal</html>\.'):
        client.get('compute', 'projects/p', 'read', 'project p')


def test_a_403_on_a_read_is_a_permission_error_not_absent():
    client, dummy, dummy2 = make_client([FakeResponse(*error(403, 'forbidden', "Required 'compute.instances.get' permission"))])
    with pytest.raises(GcpError, match='HTTP 403 forbidden'):
        client.get('compute', 'projects/p/zones/z/instances/vm', 'read', 'instance vm')
