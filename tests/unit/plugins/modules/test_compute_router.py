# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_router: NATs compared by name on the fields the task sets, one PATCH of the whole NAT
list, NATs of others kept, read-before-retry (routers have no fingerprint), check/diff, errors
before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from fake_gcp import GOOGLE, FakeGoogle, error

from ansible_collections.openclaw.gcp.plugins.modules import compute_router as cr

ROUTER = {'name': 'gw-router', 'region': 'us-central1', 'nats': [{'name': 'gw-nat'}]}
GOOGLE_NAT_DEFAULTS = {'enableEndpointIndependentMapping': False, 'endpointTypes': ['ENDPOINT_TYPE_VM'], 'type': 'PUBLIC',
                       'autoNetworkTier': 'PREMIUM'}


class FakeRouters(FakeGoogle):
    """The fake API plus regional routers and operations, answering as Google does (defaults
    filled in on the NATs, no fingerprint)."""

    def __init__(self, project='demo'):
        super(FakeRouters, self).__init__(project)
        self.routers = {}

    def _compute(self, method, rest, params, body):
        if rest[:1] == ['regions'] and len(rest) >= 3:
            region = rest[1]
            if rest[2] == 'operations':
                return 200, self.operations[rest[3]]
            if rest[2] == 'routers':
                return self.router(method, region, rest[3:], body)
        return super(FakeRouters, self)._compute(method, rest, params, body)

    def region_operation(self, kind, target, region):
        op = self.operation(kind, target)
        for value in (op, self.operations[op['name']]):
            value['region'] = GOOGLE + 'projects/%s/regions/%s' % (self.project, region)
        return op

    @staticmethod
    def stored_nats(nats):
        out = []
        for nat in nats or []:
            full = dict(GOOGLE_NAT_DEFAULTS)
            full['logConfig'] = {'enable': False, 'filter': 'ALL'}
            full.update(copy.deepcopy(nat))
            out.append(full)
        return out

    def router(self, method, region, rest, body):
        target = 'projects/%s/regions/%s/routers/%s' % (self.project, region, rest[0] if rest else (body or {}).get('name'))
        if not rest:
            if body['name'] in self.routers:
                return error(409, 'alreadyExists', "The resource '%s' already exists" % target)
            self.routers[body['name']] = dict(body, kind='compute#router', id='77', selfLink=GOOGLE + target,
                                              region=GOOGLE + 'projects/%s/regions/%s' % (self.project, region),
                                              network=GOOGLE + body['network'], nats=self.stored_nats(body.get('nats')))
            return 200, self.region_operation('insert', target, region)
        current = self.routers.get(rest[0])
        if current is None:
            return error(404, 'notFound', "The resource '%s' was not found" % target)
        if method == 'GET':
            return 200, copy.deepcopy(current)
        if method == 'DELETE':
            del self.routers[rest[0]]
            return 200, self.region_operation('delete', target, region)
        for key, value in body.items():
            current[key] = self.stored_nats(value) if key == 'nats' else value
        return 200, self.region_operation('patch', target, region)


@pytest.fixture
def routers(google, monkeypatch):  # pylint: disable=unused-argument,redefined-outer-name
    """Swap the ``google`` fixture's fake for one that knows routers."""
    import google.auth.transport.requests as transport  # pylint: disable=import-outside-toplevel
    fake = FakeRouters()
    monkeypatch.setattr(transport, 'AuthorizedSession', fake.session_factory)
    return fake


def writes(fake):
    return [(c[0], c[1].split('/routers', 1)[-1]) for c in fake.writes()]


def test_create_then_nothing_to_do(routers, run):
    first = run(cr, ROUTER, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['create'] and routers.writes() == []
    assert first['diff']['before'] == {'state': 'absent'}
    assert first['router']['nats'] == [{'name': 'gw-nat', 'nat_ip_allocate_option': 'AUTO_ONLY',
                                        'source_subnetwork_ip_ranges_to_nat': 'ALL_SUBNETWORKS_ALL_IP_RANGES',
                                        'logging': False, 'log_filter': 'ALL', 'min_ports_per_vm': None}]
    created = run(cr, ROUTER)
    assert created['changed'] is True
    assert writes(routers) == [('POST', '')]
    post = [c for c in routers.calls if c[0] == 'POST' and c[1].endswith('/routers')][0]
    assert post[1] == '/compute/v1/projects/demo/regions/us-central1/routers'
    assert post[3] == {'name': 'gw-router', 'network': 'projects/demo/global/networks/default', 'nats': [
        {'name': 'gw-nat', 'natIpAllocateOption': 'AUTO_ONLY', 'sourceSubnetworkIpRangesToNat': 'ALL_SUBNETWORKS_ALL_IP_RANGES',
         'logConfig': {'enable': False, 'filter': 'ALL'}}]}
    # the region operation was waited for at its regional path
    assert any(c[1].startswith('/compute/v1/projects/demo/regions/us-central1/operations/') for c in routers.calls)
    assert created['router'] == dict(first['router'], self_link=created['router']['self_link'])
    del routers.calls[:]
    again = run(cr, ROUTER, check=True)
    assert again['changed'] is False
    again = run(cr, ROUTER)
    assert again['changed'] is False and again['actions'] == []
    assert [c[0] for c in routers.calls] == ['GET', 'GET']  # one GET per run, no write


def test_update_patches_the_whole_nat_list_and_keeps_others(routers, run):
    run(cr, ROUTER)
    routers.routers['gw-router']['nats'].append(dict(GOOGLE_NAT_DEFAULTS, name='ops-nat', natIpAllocateOption='AUTO_ONLY',
                                                     sourceSubnetworkIpRangesToNat='ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES',
                                                     udpIdleTimeoutSec=60))
    routers.routers['gw-router']['nats'][0]['tcpEstablishedIdleTimeoutSec'] = 600
    del routers.calls[:]
    task = dict(ROUTER, nats=[{'name': 'gw-nat', 'logging': True, 'log_filter': 'ERRORS_ONLY', 'min_ports_per_vm': 128}])
    predicted = run(cr, task, check=True, diff=True)
    assert predicted['changed'] is True and predicted['actions'] == ['update NAT gw-nat'] and routers.writes() == []
    assert predicted['diff']['before']['nats'][0]['logging'] is False
    assert predicted['diff']['after']['nats'][0]['logging'] is True
    done = run(cr, task, diff=True)
    assert done['changed'] is True and done['actions'] == ['update NAT gw-nat']
    patch = [c for c in routers.calls if c[0] == 'PATCH']
    assert len(patch) == 1 and list(patch[0][3]) == ['nats']
    sent = patch[0][3]['nats']
    assert [n['name'] for n in sent] == ['gw-nat', 'ops-nat']
    # fields the task does not manage stay as Google has them
    assert sent[0]['tcpEstablishedIdleTimeoutSec'] == 600 and sent[0]['minPortsPerVm'] == 128
    assert sent[0]['logConfig'] == {'enable': True, 'filter': 'ERRORS_ONLY'}
    assert sent[1]['udpIdleTimeoutSec'] == 60
    assert done['router']['nats'][0]['min_ports_per_vm'] == 128
    assert done['diff']['after'] == done['router']
    del routers.calls[:]
    assert run(cr, task)['changed'] is False and routers.writes() == []
    # purge: only the listed NAT stays
    purged = run(cr, dict(task, purge_nats=True))
    assert purged['actions'] == ['remove NAT ops-nat']
    assert [n['name'] for n in routers.routers['gw-router']['nats']] == ['gw-nat']


def test_nats_not_given_are_left_alone_and_description(routers, run):
    run(cr, ROUTER)
    del routers.calls[:]
    result = run(cr, {'name': 'gw-router', 'region': 'us-central1'})
    assert result['changed'] is False and routers.writes() == []
    described = run(cr, {'name': 'gw-router', 'region': 'us-central1', 'description': 'gateway egress'})
    assert described['actions'] == ['update description']
    assert [c[3] for c in routers.calls if c[0] == 'PATCH'] == [{'description': 'gateway egress'}]


def test_lost_patch_answer_is_read_again_not_repeated(routers, run):
    run(cr, ROUTER)
    routers.inject('lost', 'PATCH')
    result = run(cr, dict(ROUTER, nats=[{'name': 'gw-nat', 'logging': True}]))
    assert result['changed'] is True and result.get('failed') is not True
    assert len([c for c in routers.calls if c[0] == 'PATCH']) == 1
    assert routers.routers['gw-router']['nats'][0]['logConfig']['enable'] is True


def test_failed_patch_is_rebuilt_from_a_fresh_read(routers, run):
    """A transient failure before the PATCH applied: the retry carries what is there *now*,
    including a NAT another operator added in between."""
    run(cr, ROUTER)
    original = routers.router

    def racing(method, region, rest, body):
        if method == 'PATCH' and 'ops-nat' not in [n['name'] for n in routers.routers['gw-router']['nats']]:
            routers.routers['gw-router']['nats'].append(dict(GOOGLE_NAT_DEFAULTS, name='ops-nat', natIpAllocateOption='AUTO_ONLY',
                                                             sourceSubnetworkIpRangesToNat='ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES'))
            return error(503, 'backendError', 'The service is currently unavailable.')
        return original(method, region, rest, body)
    routers.router = racing
    result = run(cr, dict(ROUTER, nats=[{'name': 'gw-nat', 'logging': True}]))
    assert result['changed'] is True
    patches = [c[3] for c in routers.calls if c[0] == 'PATCH']
    assert len(patches) == 2
    assert [n['name'] for n in patches[1]['nats']] == ['gw-nat', 'ops-nat']
    assert [n['name'] for n in routers.routers['gw-router']['nats']] == ['gw-nat', 'ops-nat']


def test_network_cannot_move(routers, run):
    run(cr, ROUTER)
    del routers.calls[:]
    result = run(cr, dict(ROUTER, network='prod'))
    assert result['failed'] is True and 'delete the router first' in result['msg']
    assert routers.writes() == []


def test_delete_and_absent_again(routers, run):
    run(cr, ROUTER)
    predicted = run(cr, {'name': 'gw-router', 'region': 'us-central1', 'state': 'absent'}, check=True, diff=True)
    assert predicted['changed'] is True and predicted['diff']['after'] == {'state': 'absent'} and 'gw-router' in routers.routers
    routers.inject('lost', 'DELETE')
    assert run(cr, {'name': 'gw-router', 'region': 'us-central1', 'state': 'absent'})['changed'] is True
    assert routers.routers == {}
    assert len([c for c in routers.calls if c[0] == 'DELETE']) == 1
    assert run(cr, {'name': 'gw-router', 'region': 'us-central1', 'state': 'absent'})['changed'] is False


@pytest.mark.parametrize('args, fragment', [
    ({'name': 'Gw_Router'}, "Router name 'Gw_Router' is invalid"),
    ({'region': 'us-central1-a'}, "region 'us-central1-a' is a zone: a router lives in a region (us-central1)"),
    ({'region': 'moon'}, "region 'moon' is not a region such as us-central1"),
    ({'network': 'Prod Net'}, "Network name 'Prod Net' is invalid"),
    ({'nats': [{'name': 'Nat_1'}]}, "NAT name 'Nat_1' is invalid"),
    ({'nats': [{'name': 'a', 'source_subnetwork_ip_ranges_to_nat': 'ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES'}, {'name': 'a'}]},
     'NAT a is listed more than once'),
    ({'nats': [{'name': 'a'}, {'name': 'b'}]}, 'NAT a covers every subnetwork of the region'),
    ({'nats': [{'name': 'a', 'min_ports_per_vm': 1}]}, 'min_ports_per_vm of NAT a must be between 2 and 65536, got 1'),
    ({'nats': None, 'purge_nats': True}, 'purge_nats needs nats'),
])
def test_bad_input_fails_before_any_request(routers, run, args, fragment):
    result = run(cr, dict(ROUTER, **args))
    assert result['failed'] is True and fragment in result['msg'], result['msg']
    assert result['msg'].endswith('(no request was sent).')
    assert routers.calls == []


def test_missing_region_is_refused_before_any_request(routers, run):
    result = run(cr, {'name': 'gw-router'})
    assert result['failed'] is True and 'region' in result['msg']
    assert routers.calls == []


def test_google_error_is_one_sentence(routers, run):
    routers.inject('fail', 'POST', times=20)
    result = run(cr, ROUTER)
    assert result['failed'] is True
    assert result['msg'].startswith('Failed to create router gw-router in region us-central1 (project demo)')
