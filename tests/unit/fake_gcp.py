# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory stand-in for the Google APIs the modules use, for fast unit tests.

It answers like Google (resource shapes, operations, fingerprints, etags, error bodies) for the
calls the modules make, records every call and can inject faults: ``fail`` (a 503 before the
request is applied), ``lost`` (applied, then a 503), ``reset`` (a connection error, not applied).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import itertools
import json
import re
from unittest import mock

import requests

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import APIS, OVERRIDABLE_SERVICES, OVERRIDE_ENV
from fake_disks import FakeDisks

ENDPOINT = 'http://fake.invalid'
# gcloud's endpoint override variables, which the client reads: kept out of the tests' environment
OVERRIDE_VARS = tuple(OVERRIDE_ENV % service.upper() for service in OVERRIDABLE_SERVICES)


def layout(endpoint):
    """Per-service endpoint overrides for a server that answers each API under /<service>/
    (Compute under its service path ``/compute/v1/``)."""
    endpoint = endpoint.rstrip('/')
    return dict((service, '%s/%s' % (endpoint, service_path or service + '/'))
                for service, service_path, dummy in APIS.values())


GOOGLE = 'https://www.googleapis.com/compute/v1/'


class FakeResponse(object):

    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.content = b'' if body is None else json.dumps(body).encode()
        self.text = self.content.decode()

    def json(self):
        if self._body is None:
            raise ValueError('no body')
        return self._body


class FakeSession(object):

    def __init__(self, google):
        self.google = google
        self.headers = {}

    def request(self, method, url, params=None, json=None, timeout=None):  # pylint: disable=redefined-outer-name
        return self.google.handle(method, url, params or {}, json, timeout)


def error(status, reason, message, code_name=None):
    return status, {'error': {'code': status, 'message': message, 'status': code_name or reason.upper(),
                              'errors': [{'reason': reason, 'message': message, 'domain': 'global'}]}}


def fingerprint(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


class FakeGoogle(FakeDisks):
    """State + router. ``calls`` lists ``(method, path, params, body)`` (path without the endpoint)."""

    def __init__(self, project='demo'):
        self.project = project
        self.zones = {'us-central1-a', 'us-central1-b', 'europe-west1-b'}
        self.machine_types = {'e2-micro', 'e2-small', 'e2-medium', 'e2-standard-2'}
        self.images = {'projects/debian-cloud/global/images/family/debian-12', 'projects/debian-cloud/global/images/family/debian-13'}
        self.instances = {}
        self.firewalls = {}
        self.services = {'compute.googleapis.com': 'ENABLED', 'iam.googleapis.com': 'DISABLED'}
        self.projects = {project: {'projectId': project, 'name': 'projects/100', 'displayName': project, 'state': 'ACTIVE', 'labels': {}}}
        self.billing = {project: ''}
        self.accounts = {}
        self.policy = {'version': 1, 'etag': 'BwE1', 'bindings': [{'role': 'roles/owner', 'members': ['user:owner@example.com']}]}
        self.operations = {}
        self.request_ids = {}
        self.quota_exceeded_zones = set()
        self.calls = []
        self.sleeps = []
        self.faults = []
        self.page_size = None
        self.sessions = 0
        self.session_options = None
        self._ids = itertools.count(1000)
        self.init_disks()

    # -- plumbing ---------------------------------------------------------------------------------

    def session_factory(self, credentials, **kwargs):  # pylint: disable=unused-argument
        self.sessions += 1
        self.session_options = kwargs
        return FakeSession(self)

    def sleep(self, seconds):
        self.sleeps.append(seconds)

    def inject(self, kind, method=None, pattern=None, times=1):
        """Queue ``times`` faults of ``kind`` for the next matching calls."""
        self.faults.append({'kind': kind, 'method': method, 'pattern': re.compile(pattern) if pattern else None, 'left': times})

    def writes(self):
        return [c for c in self.calls if c[0] != 'GET' and not c[1].endswith('/wait') and not c[1].endswith(':getIamPolicy')]

    def reads(self):
        return [c for c in self.calls if c not in self.writes()]

    def _take_fault(self, method, path):
        for fault in self.faults:
            if fault['left'] <= 0:
                continue
            if fault['method'] and fault['method'] != method:
                continue
            if fault['pattern'] and not fault['pattern'].search(path):
                continue
            fault['left'] -= 1
            return fault['kind']
        return None

    def handle(self, method, url, params, body, timeout):  # pylint: disable=unused-argument
        assert url.startswith(ENDPOINT + '/'), url
        path = url[len(ENDPOINT):]
        self.calls.append((method, path, dict(params), copy.deepcopy(body)))
        fault = self._take_fault(method, path)
        if fault == 'fail':
            return FakeResponse(*error(503, 'backendError', 'The service is currently unavailable.'))
        if fault == 'reset':
            raise requests.exceptions.ConnectionError('connection reset by fake')
        if fault == '429':
            return FakeResponse(*error(429, 'rateLimitExceeded', 'Rate Limit Exceeded'), headers={'Retry-After': '1'})
        status, answer = self.route(method, path, params, body)
        if fault == 'lost':
            return FakeResponse(*error(503, 'backendError', 'The service is currently unavailable.'))
        return FakeResponse(status, answer)

    def route(self, method, path, params, body):
        for prefix, handler in (('/compute/v1/', self.compute), ('/serviceusage/v1/', self.serviceusage),
                                ('/iam/v1/', self.iam), ('/cloudresourcemanager/v1/', self.crm_v1),
                                ('/cloudresourcemanager/v3/', self.crm_v3), ('/cloudbilling/v1/', self.cloudbilling)):
            if path.startswith(prefix):
                return handler(method, path[len(prefix):], params, body)
        return error(404, 'notFound', 'No API at %s' % path)

    # -- compute ----------------------------------------------------------------------------------

    def operation(self, kind, target, zone=None, error_body=None):
        name = 'operation-%d' % next(self._ids)
        op = {'kind': 'compute#operation', 'name': name, 'operationType': kind, 'status': 'DONE', 'targetLink': GOOGLE + target,
              'selfLink': GOOGLE + 'projects/%s/%s/operations/%s' % (self.project, 'zones/%s' % zone if zone else 'global', name)}
        if zone:
            op['zone'] = GOOGLE + 'projects/%s/zones/%s' % (self.project, zone)
        if error_body:
            op['error'] = error_body
        self.operations[name] = op
        # like Google: the answer to the mutation is still RUNNING; the wait method says DONE
        pending = dict(op, status='RUNNING')
        pending.pop('error', None)
        return pending

    def add_instance(self, name='vm1', zone='us-central1-a', machine_type='e2-small', status='RUNNING', **extra):
        inst = {
            'kind': 'compute#instance', 'id': str(next(self._ids)), 'name': name, 'status': status,
            'zone': GOOGLE + 'projects/%s/zones/%s' % (self.project, zone),
            'machineType': GOOGLE + 'projects/%s/zones/%s/machineTypes/%s' % (self.project, zone, machine_type),
            'selfLink': GOOGLE + 'projects/%s/zones/%s/instances/%s' % (self.project, zone, name),
            'labels': {}, 'labelFingerprint': fingerprint({}),
            'metadata': {'items': [], 'fingerprint': fingerprint([])},
            'tags': {'items': [], 'fingerprint': fingerprint([])},
            'deletionProtection': False,
            'disks': [{'boot': True, 'diskSizeGb': '20', 'type': 'PERSISTENT'}],
            'networkInterfaces': [{'network': GOOGLE + 'projects/%s/global/networks/default' % self.project, 'networkIP': '10.128.0.2',
                                   'accessConfigs': [{'type': 'ONE_TO_ONE_NAT', 'natIP': '203.0.113.7'}]}],
            'serviceAccounts': [],
        }
        inst.update(extra)
        self.instances[(zone, name)] = inst
        return inst

    def compute(self, method, path, params, body):  # pylint: disable=too-many-return-statements,too-many-branches
        if '/global/images/' in path:
            if path in self.images:
                return 200, {'name': path.rsplit('/', 1)[-1], 'status': 'READY'}
            return error(404, 'notFound', "The resource '%s' was not found" % path)
        parts = path.split('/')
        if len(parts) < 2 or parts[0] != 'projects' or parts[1] != self.project:
            return error(404, 'notFound', "The resource 'projects/%s' was not found" % (parts[1] if len(parts) > 1 else ''))
        rest = parts[2:]
        rid = (params or {}).get('requestId')
        if rid and method != 'GET' and rid in self.request_ids:
            return 200, self.request_ids[rid]
        result = self._compute(method, rest, params, body)
        if rid and method != 'GET' and result[0] == 200:
            self.request_ids[rid] = result[1]
        return result

    def _compute(self, method, rest, params, body):  # pylint: disable=too-many-return-statements,too-many-branches
        if rest[:1] == ['aggregated'] and rest[1:] == ['instances']:
            items = {}
            for (zone, dummy), inst in sorted(self.instances.items()):
                if self._filter_ok(inst, params.get('filter')):
                    items.setdefault('zones/%s' % zone, {'instances': []})['instances'].append(inst)
            return 200, {'items': items}
        if rest[:2] == ['global', 'operations'] and rest[-1] == 'wait':
            return 200, self.operations[rest[2]]
        if rest[:2] == ['global', 'firewalls']:
            return self.firewall(method, rest[2:], body)
        if rest[:2] == ['global', 'snapshots'] and len(rest) == 3 and method == 'GET':
            return self.snapshot_get(rest[2])
        if rest[:1] != ['zones']:
            return error(404, 'notFound', 'unknown compute path')
        zone = rest[1]
        if zone not in self.zones:
            return error(404, 'notFound', "The resource 'projects/%s/zones/%s' was not found" % (self.project, zone))
        if len(rest) == 2:
            return 200, {'name': zone, 'status': 'UP'}
        kind = rest[2]
        if kind == 'machineTypes':
            if rest[3] in self.machine_types:
                return 200, {'name': rest[3]}
            return error(404, 'notFound', "The resource 'projects/%s/zones/%s/machineTypes/%s' was not found" % (self.project, zone, rest[3]))
        if kind == 'operations':
            return 200, self.operations[rest[3]]
        if kind == 'disks':
            return self.disk_route(method, zone, rest[3:], params, body)
        if kind != 'instances':
            return error(404, 'notFound', 'unknown compute path')
        if len(rest) == 3:
            if method == 'GET':
                page = [i for (z, dummy), i in sorted(self.instances.items()) if z == zone and self._filter_ok(i, params.get('filter'))]
                return self._paged(page, params)
            return self.insert(zone, body)
        name = rest[3]
        inst = self.instances.get((zone, name))
        target = 'projects/%s/zones/%s/instances/%s' % (self.project, zone, name)
        if inst is None:
            return error(404, 'notFound', "The resource '%s' was not found" % target)
        if len(rest) == 4:
            if method == 'GET':
                return 200, copy.deepcopy(inst)
            if inst['deletionProtection']:
                return error(400, 'resourceInUseByAnotherResource', 'Instance is protected from deletion.')
            self.release_disks(inst, zone)
            del self.instances[(zone, name)]
            return 200, self.operation('delete', target, zone)
        return self.instance_action(inst, rest[4], zone, target, params, body)

    def _paged(self, items, params):
        if not self.page_size:
            return 200, {'items': items}
        start = int(params.get('pageToken') or 0)
        answer = {'items': items[start:start + self.page_size]}
        if start + self.page_size < len(items):
            answer['nextPageToken'] = str(start + self.page_size)
        return 200, answer

    @staticmethod
    def _filter_ok(inst, expr):
        if not expr:
            return True
        for key, value in re.findall(r'labels\.([\w-]+) = "([^"]*)"', expr):
            if inst.get('labels', {}).get(key) != value:
                return False
        for value in re.findall(r'name = "([^"]*)"', expr):
            if inst['name'] != value:
                return False
        return True

    def insert(self, zone, body):
        name = body['name']
        target = 'projects/%s/zones/%s/instances/%s' % (self.project, zone, name)
        if (zone, name) in self.instances:
            return error(409, 'alreadyExists', "The resource '%s' already exists" % target)
        if zone in self.quota_exceeded_zones:
            return 200, self.operation('insert', target, zone, {'errors': [
                {'code': 'QUOTA_EXCEEDED', 'message': "Quota 'CPUS' exceeded.  Limit: 0.0 in region %s." % zone[:-2]}]})
        mt = body['machineType'].rsplit('/', 1)[-1]
        inst = self.add_instance(name, zone, mt, labels=body.get('labels') or {},
                                 deletionProtection=bool(body.get('deletionProtection')),
                                 serviceAccounts=body.get('serviceAccounts') or [])
        inst['labelFingerprint'] = fingerprint(inst['labels'])
        inst['metadata'] = {'items': body.get('metadata', {}).get('items', []), 'fingerprint': fingerprint(body.get('metadata', {}).get('items', []))}
        inst['tags'] = {'items': body.get('tags', {}).get('items', []), 'fingerprint': fingerprint(body.get('tags', {}).get('items', []))}
        for attached in body.get('disks') or []:
            if attached.get('source'):
                problem = self.attach(inst, zone, attached)
                if problem:
                    del self.instances[(zone, name)]
                    return problem
        return 200, self.operation('insert', target, zone)

    def instance_action(self, inst, verb, zone, target, params, body):  # pylint: disable=too-many-return-statements
        if verb == 'start':
            inst['status'] = 'RUNNING'
        elif verb == 'stop':
            inst['status'] = 'TERMINATED'
        elif verb == 'setMachineType':
            if inst['status'] != 'TERMINATED':
                return error(400, 'resourceNotReady', 'The resource is not ready: the instance must be stopped')
            inst['machineType'] = GOOGLE + 'projects/%s/%s' % (self.project, body['machineType'])
        elif verb == 'setServiceAccount':
            inst['serviceAccounts'] = [{'email': body['email'], 'scopes': body['scopes']}]
        elif verb == 'setLabels':
            if body.get('labelFingerprint') != inst['labelFingerprint']:
                return error(412, 'conditionNotMet', 'Labels fingerprint either invalid or resource labels have changed', 'FAILED_PRECONDITION')
            inst['labels'] = body['labels']
            inst['labelFingerprint'] = fingerprint(body['labels'])
        elif verb == 'setMetadata':
            if body.get('fingerprint') != inst['metadata']['fingerprint']:
                return error(412, 'conditionNotMet', 'Metadata fingerprint mismatch', 'FAILED_PRECONDITION')
            inst['metadata'] = {'items': body['items'], 'fingerprint': fingerprint(body['items'])}
        elif verb == 'setTags':
            if body.get('fingerprint') != inst['tags']['fingerprint']:
                return error(412, 'conditionNotMet', 'Tags fingerprint mismatch', 'FAILED_PRECONDITION')
            inst['tags'] = {'items': body['items'], 'fingerprint': fingerprint(body['items'])}
        elif verb == 'setDeletionProtection':
            inst['deletionProtection'] = params.get('deletionProtection') == 'true'
        else:
            problem = self.disk_action(inst, verb, zone, params, body)
            if problem:
                return problem
        return 200, self.operation(verb, target, zone)

    def firewall(self, method, rest, body):
        if not rest:
            if body['name'] in self.firewalls:
                return error(409, 'alreadyExists', 'firewall exists')
            rule = dict(body, selfLink=GOOGLE + 'projects/%s/global/firewalls/%s' % (self.project, body['name']))
            rule['network'] = GOOGLE + rule['network']
            self.firewalls[body['name']] = rule
            return 200, self.operation('insert', 'projects/%s/global/firewalls/%s' % (self.project, body['name']))
        name = rest[0]
        rule = self.firewalls.get(name)
        if rule is None:
            return error(404, 'notFound', "The resource 'projects/%s/global/firewalls/%s' was not found" % (self.project, name))
        if method == 'GET':
            return 200, copy.deepcopy(rule)
        if method == 'DELETE':
            del self.firewalls[name]
        else:
            rule.update(body)
        return 200, self.operation(method.lower(), 'projects/%s/global/firewalls/%s' % (self.project, name))

    # -- other APIs -------------------------------------------------------------------------------

    def serviceusage(self, method, path, params, body):  # pylint: disable=unused-argument
        if path.startswith('operations/'):
            return 200, {'name': path, 'done': True}
        match = re.match(r'^projects/([^/]+)/services/([^/:]+)(:(enable|disable))?$', path)
        if not match or match.group(1) != self.project:
            return error(404, 'notFound', 'unknown service path')
        name = match.group(2)
        if method == 'GET':
            return 200, {'name': 'projects/100/services/%s' % name, 'state': self.services.get(name, 'DISABLED'), 'config': {'title': name}}
        self.services[name] = 'ENABLED' if match.group(4) == 'enable' else 'DISABLED'
        return 200, {'name': 'operations/acf.%d' % next(self._ids), 'done': False}

    def iam(self, method, path, params, body):  # pylint: disable=unused-argument
        match = re.match(r'^projects/([^/]+)/serviceAccounts(/([^/]+))?$', path)
        if not match:
            return error(404, 'notFound', 'unknown iam path')
        email = match.group(3)
        if email is None:
            email = '%s@%s.iam.gserviceaccount.com' % (body['accountId'], self.project)
            if email in self.accounts:
                return error(409, 'alreadyExists', 'Service account %s already exists within project projects/%s.' % (body['accountId'], self.project),
                             'ALREADY_EXISTS')
            account = dict(body.get('serviceAccount') or {}, email=email, uniqueId=str(next(self._ids)),
                           name='projects/%s/serviceAccounts/%s' % (self.project, email))
            self.accounts[email] = account
            return 200, copy.deepcopy(account)
        account = self.accounts.get(email)
        if account is None:
            return error(404, 'notFound', 'Unknown service account', 'NOT_FOUND')
        if method == 'GET':
            return 200, copy.deepcopy(account)
        if method == 'DELETE':
            del self.accounts[email]
            return 200, {}
        for field in body['updateMask'].split(','):
            account[field] = body['serviceAccount'][field]
        return 200, copy.deepcopy(account)

    def crm_v1(self, method, path, params, body):  # pylint: disable=unused-argument
        if path == 'projects/%s:getIamPolicy' % self.project:
            return 200, copy.deepcopy(self.policy)
        if path == 'projects/%s:setIamPolicy' % self.project:
            if body['policy'].get('etag') != self.policy['etag']:
                return error(409, 'aborted', 'There were concurrent policy changes.', 'ABORTED')
            self.policy = copy.deepcopy(body['policy'])
            self.policy['etag'] = 'BwE%d' % next(self._ids)
            return 200, copy.deepcopy(self.policy)
        return error(404, 'notFound', 'unknown crm path')

    def crm_v3(self, method, path, params, body):  # pylint: disable=unused-argument
        if path.startswith('operations/'):
            return 200, {'name': path, 'done': True}
        if path == 'projects' and method == 'POST':
            pid = body['projectId']
            if pid in self.projects:
                return error(409, 'alreadyExists', 'Requested entity already exists', 'ALREADY_EXISTS')
            self.projects[pid] = {'projectId': pid, 'name': 'projects/%d' % next(self._ids), 'displayName': body.get('displayName'),
                                  'state': 'ACTIVE', 'labels': body.get('labels') or {}, 'parent': body.get('parent')}
            self.billing[pid] = ''
            return 200, {'name': 'operations/cp.%d' % next(self._ids), 'done': False}
        match = re.match(r'^projects/([^/:]+)(:undelete)?$', path)
        if not match or match.group(1) not in self.projects:
            return error(404, 'notFound', 'project not found', 'NOT_FOUND')
        proj = self.projects[match.group(1)]
        if method == 'GET':
            return 200, copy.deepcopy(proj)
        if method == 'DELETE':
            proj['state'] = 'DELETE_REQUESTED'
        elif match.group(2):
            proj['state'] = 'ACTIVE'
        else:
            for field in params['updateMask'].split(','):
                proj[field] = body[field]
        return 200, {'name': 'operations/cp.%d' % next(self._ids), 'done': True, 'response': copy.deepcopy(proj)}

    def cloudbilling(self, method, path, params, body):  # pylint: disable=unused-argument
        match = re.match(r'^projects/([^/]+)/billingInfo$', path)
        if not match or match.group(1) not in self.projects:
            return error(404, 'notFound', 'project not found', 'NOT_FOUND')
        pid = match.group(1)
        if method == 'PUT':
            self.billing[pid] = body['billingAccountName']
        return 200, {'name': 'projects/%s/billingInfo' % pid, 'projectId': pid,
                     'billingAccountName': self.billing[pid], 'billingEnabled': bool(self.billing[pid])}


class ModuleExit(Exception):

    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


def _exit_json(self, **kwargs):  # pylint: disable=unused-argument
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):  # pylint: disable=unused-argument
    kwargs['failed'] = True
    kwargs['msg'] = msg
    raise ModuleExit(kwargs)


def run_module(module, args, check=False, diff=False):
    """Run ``module.main()`` with ``args`` (plus test credentials and endpoint); return its result."""
    full = {'auth_kind': 'accesstoken', 'access_token': 'unit-test-token', 'api_endpoint_overrides': layout(ENDPOINT), 'project': 'demo'}
    full.update(args)
    full = dict((k, v) for k, v in full.items() if v is not None)
    if check:
        full['_ansible_check_mode'] = True
    if diff:
        full['_ansible_diff'] = True
    with patch_module_args(full), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', _exit_json), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', _fail_json):
        try:
            module.main()
        except ModuleExit as exc:
            return exc.result
    raise AssertionError('the module returned without exit_json or fail_json')
