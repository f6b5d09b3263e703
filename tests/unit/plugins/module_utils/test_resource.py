# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource, ComputeResource, Change and labels_change: the one read-compare-mutate loop of the modules,
tested without AnsibleModule or HTTP (a fake client records what would be sent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Applied, Change, GcpError, Resource
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import ComputeResource, labels_change, user_label

PATH = 'projects/demo/zones/us-central1-a/disks/state'
GOOGLE = 'https://www.googleapis.com/compute/v1/'


class Exited(Exception):
    pass


class FakeClient(object):
    """Holds one resource; ``compute_mutation`` records the write and applies ``effect`` (or raises ``error``)."""

    def __init__(self, resource=None):
        self.resource = resource
        self.sent = []
        self.reads = 0
        self.effect = None
        self.error = None

    def get(self, api, path, action, resource, allow_404=True):  # pylint: disable=unused-argument
        self.reads += 1
        return None if self.resource is None else dict(self.resource)

    # pylint: disable-next=unused-argument
    def compute_mutation(self, method, path, action, resource, body=None, params=None, reconcile=None, wait=True, timeout=None):
        self.sent.append((method, path, action, body, params, reconcile))
        if self.error is not None:
            raise self.error
        if self.effect is not None:
            self.resource = self.effect(self.resource, method, path, body)
        return {'status': 'DONE'}


class FakeModule(object):

    def __init__(self, client, check_mode=False, diff=False):
        self.client = client
        self.check_mode = check_mode
        self._diff = diff
        self.result = None

    def exit_json(self, **kwargs):
        self.result = kwargs
        raise Exited()


def view(raw):
    if not raw:
        return {}
    return {'name': raw['name'], 'size_gb': int(raw['sizeGb']), 'labels': dict(raw.get('labels') or {})}


def resource(raw=None, check_mode=False, diff=False, **kwargs):
    client = FakeClient(raw)
    module = FakeModule(client, check_mode=check_mode, diff=diff)
    return ComputeResource(module, PATH, 'disk state', 'disk', view, 30.0, **kwargs), client, module


def finish(call, *args):
    with pytest.raises(Exited):
        call(*args)


DISK = {'name': 'state', 'sizeGb': '10', 'labels': {'a': '1'}, 'labelFingerprint': 'fp1'}


def resize(size):
    return Change('resize to %d GB' % size, lambda v: dict(v, size_gb=size), lambda v: v.get('size_gb', 0) >= size,
                  body={'sizeGb': str(size)}, verb='resize')


def grow(raw, method, path, body):  # pylint: disable=unused-argument
    return dict(raw, sizeGb=body['sizeGb'])


def test_user_label_names_kind_and_name():
    assert user_label(GOOGLE + 'projects/demo/zones/us-central1-a/instances/gw') == 'instance gw'
    assert user_label('projects/demo/regions/r/forwardingRules/fr') == 'forwardingRule fr'


def test_converge_without_changes_is_one_read_and_no_write():
    disk, client, module = resource(DISK, diff=True)
    before = view(disk.read())
    finish(disk.converge, before, [])
    assert module.result['changed'] is False and module.result['actions'] == [] and client.sent == []
    assert module.result['diff'] == {'before': before, 'after': before} and client.reads == 1


def test_converge_check_mode_predicts_without_writing():
    disk, client, module = resource(DISK, check_mode=True, diff=True)
    before = view(disk.read())
    finish(disk.converge, before, [resize(20), Change(['one', 'two'], lambda v: dict(v, name='x'), lambda v: True)])
    assert module.result['changed'] is True and module.result['actions'] == ['resize to 20 GB', 'one', 'two']
    assert module.result['disk'] == {'name': 'x', 'size_gb': 20, 'labels': {'a': '1'}}
    assert module.result['diff']['before']['size_gb'] == 10 and client.sent == []


def test_converge_sends_each_change_on_its_verb_and_reads_the_result():
    disk, client, module = resource(DISK)
    client.effect = grow
    finish(disk.converge, view(DISK), [resize(20)])
    method, path, action, body, dummy, reconcile = client.sent[0]
    assert (method, path, action, body) == ('POST', PATH + '/resize', 'resize', {'sizeGb': '20'})
    assert module.result['disk']['size_gb'] == 20
    # read before a retry: the write is already in effect
    assert isinstance(reconcile(), Applied)


def test_reconciler_rebuilds_a_fresh_body_when_not_done():
    disk, client, dummy = resource(DISK)
    reconcile = disk.reconciler(lambda v: False, rebuild=lambda raw: {'fingerprint': raw['labelFingerprint']})
    assert reconcile() == {'fingerprint': 'fp1'}
    assert disk.reconciler(lambda v: False)() is None
    client.resource = None
    with pytest.raises(GcpError, match='^Failed to set labels disk state: it disappeared.$'):
        disk.reconciler(lambda v: False, rebuild=lambda raw: {'x': 1}, action='set labels')()


def test_labels_change_keeps_labels_not_owned_unless_purged():
    assert labels_change(DISK, {'a': '1'}) is None
    assert labels_change(DISK, None) is None
    change = labels_change(DISK, {'b': '2'})
    assert change.label == 'set labels' and change.verb == 'setLabels'
    assert change.body == {'labels': {'a': '1', 'b': '2'}, 'labelFingerprint': 'fp1'}
    assert change.predict(view(DISK))['labels'] == {'a': '1', 'b': '2'}
    purged = labels_change(DISK, {'b': '2'}, purge=True)
    assert purged.body['labels'] == {'b': '2'}
    # a stale fingerprint: merged again with what the resource carries now
    now = dict(DISK, labels={'other': 'x'}, labelFingerprint='fp2')
    assert change.rebuild(now) == {'labels': {'other': 'x', 'b': '2'}, 'labelFingerprint': 'fp2'}
    assert not change.done(view(now)) and change.done(view(dict(now, labels={'other': 'x', 'b': '2'})))
    assert not change.done({})


def test_delete_refused_while_used_before_any_write():
    used = dict(DISK, users=[GOOGLE + 'projects/demo/zones/us-central1-a/instances/gw'])
    for check_mode in (True, False):
        disk, client, dummy = resource(used, check_mode=check_mode, in_use_words=('attached to', 'detach it'))
        with pytest.raises(GcpError) as caught:
            disk.ensure_absent(used, view(used))
        assert str(caught.value) == ('Cannot delete disk state: it is attached to instance gw; detach it or delete that '
                                     'instance first (no change was made).')
        assert client.sent == []
    two = dict(DISK, users=['projects/p/zones/z/instances/a', 'projects/p/zones/z/instances/b'])
    disk, client, dummy = resource(two)
    with pytest.raises(GcpError, match='used by instance a, instance b; free it or delete those instances first'):
        disk.ensure_absent(two, view(two))


def test_delete_and_check_mode_delete():
    disk, client, module = resource(DISK, check_mode=True)
    finish(disk.ensure_absent, DISK, view(DISK))
    assert module.result['actions'] == ['delete'] and client.sent == []
    disk, client, module = resource(DISK)
    finish(disk.ensure_absent, DISK, view(DISK))
    assert [s[:3] for s in client.sent] == [('DELETE', PATH, 'delete')]
    client.resource = None
    assert isinstance(client.sent[0][5](), Applied)
    disk, client, module = resource(None)
    finish(disk.ensure_absent, None, {})
    assert module.result['changed'] is False and client.sent == []


def test_google_in_use_refusal_is_explained():
    disk, client, dummy = resource(DISK, in_use='a disk still carries it: detach it from every disk')
    client.error = GcpError('Failed to delete disk state: in use.', reason='resourceInUseByAnotherResource')
    with pytest.raises(GcpError) as caught:
        disk.recreate('projects/demo/zones/us-central1-a/disks', {}, {})
    assert 'detach it from every disk before recreating it' in str(caught.value)
    client.error = GcpError('Failed to delete disk state: forbidden.', reason='forbidden')
    with pytest.raises(GcpError, match='forbidden.$'):
        disk.delete()


def test_create_and_recreate():
    disk, client, dummy = resource(None, check_mode=True)
    assert disk.create('coll', {'name': 'state'}, {'predicted': True}) == {'predicted': True} and client.sent == []
    assert disk.recreate('coll', {'name': 'state'}, {'predicted': True}) == {'predicted': True} and client.sent == []
    disk, client, dummy = resource(DISK)
    client.effect = lambda raw, method, path, body: None if method == 'DELETE' else dict(DISK, sizeGb='30')
    assert disk.recreate('coll', {'name': 'state'}, {})['size_gb'] == 30
    assert [s[:3] for s in client.sent] == [('DELETE', PATH, 'delete'), ('POST', 'coll', 'create')]
    assert isinstance(client.sent[1][5](), Applied)


# -- the API-agnostic Resource (Service Usage, IAM) ------------------------------------------------------

class FakeApiClient(FakeClient):
    """``call`` and ``wait_lro`` of GcpClient: a write answers an operation (``lro``) or the resource."""

    def __init__(self, raw=None, answer=None):
        super(FakeApiClient, self).__init__(raw)
        self.answer = answer
        self.waited = []
        self.read_404 = []

    def get(self, api, path, action, resource, allow_404=True):
        self.read_404.append(allow_404)
        return super(FakeApiClient, self).get(api, path, action, resource)

    def call(self, method, api, path, action, resource, params=None, body=None, reconcile=None):  # pylint: disable=unused-argument
        self.sent.append((method, path, action, body, params, reconcile))
        if self.effect is not None:
            self.resource = self.effect(self.resource, method, path, body)
        return self.answer

    def wait_lro(self, api, operation, action, resource, timeout=None):  # pylint: disable=unused-argument
        self.waited.append((api, operation, action, timeout))
        return operation


def service(raw, answer=None, check_mode=False, **kwargs):
    client = FakeApiClient(raw, answer)
    module = FakeModule(client, check_mode=check_mode, diff=True)
    return Resource(module, 'serviceusage', 'projects/demo/services/iam.googleapis.com', 'service iam', 'service',
                    lambda found: {'state': (found or {}).get('state') or 'DISABLED'}, 60.0, **kwargs), client, module


def enable(confirm=None):
    return Change('enable', lambda v: dict(v, state='ENABLED'), lambda v: v['state'] == 'ENABLED', verb='enable', body={},
                  confirm=confirm)


def test_resource_custom_verb_waits_for_its_operation_and_reads_again():
    res, client, module = service({'state': 'DISABLED'}, answer={'name': 'operations/1'}, read_404=False, lro=True,
                                  diff_view=lambda v: {'state': v['state']})
    client.effect = lambda raw, method, path, body: {'state': 'ENABLED'}
    before = res.summarize(res.read())
    finish(res.converge, before, [enable()])
    assert [s[:3] for s in client.sent] == [('POST', 'projects/demo/services/iam.googleapis.com:enable', 'enable')]
    assert client.waited == [('serviceusage', {'name': 'operations/1'}, 'enable', 60.0)]
    assert client.read_404 == [False, False] and module.result['service'] == {'state': 'ENABLED'}
    assert module.result['diff'] == {'before': {'state': 'DISABLED'}, 'after': {'state': 'ENABLED'}}


def test_resource_confirm_fails_when_the_write_did_not_take():
    res, dummy, dummy = service({'state': 'DISABLED'}, answer={'name': 'operations/1'}, lro=True)
    with pytest.raises(GcpError, match=r'^Failed to enable service iam: the service is DISABLED\.$'):
        res.converge({'state': 'DISABLED'}, [enable(confirm=lambda v: 'the service is %s' % v['state'])])
    res, dummy, module = service({'state': 'DISABLED'}, answer={'name': 'operations/1'}, lro=True)
    finish(res.converge, {'state': 'DISABLED'}, [enable()])  # without confirm: reported as read
    assert module.result['service'] == {'state': 'DISABLED'}


def test_resource_that_answers_writes_with_itself_is_not_read_again():
    res, client, module = service(None, answer={'state': 'ENABLED'}, answers_resource=True)
    assert res.create('projects/demo/services', {'name': 'x'}, {'state': 'predicted'}) == {'state': 'ENABLED'}
    assert client.reads == 0
    # read before the retry of a lost create: the resource found is the answer
    client.resource = {'state': 'FOUND'}
    outcome = client.sent[0][5]()
    assert isinstance(outcome, Applied) and outcome.value == {'state': 'FOUND'}
    finish(res.converge, {'state': 'DISABLED'}, [enable()])
    assert module.result['service'] == {'state': 'ENABLED'} and client.reads == 1


def test_resource_absent_reports_the_view_of_nothing():
    res, client, module = service({'state': 'ENABLED'}, answer={})
    finish(res.ensure_absent, {'state': 'ENABLED'}, {'state': 'ENABLED'})
    assert module.result['service'] == {'state': 'DISABLED'} and client.sent[0][:3] == (
        'DELETE', 'projects/demo/services/iam.googleapis.com', 'delete')
    client.resource = None
    assert isinstance(client.sent[0][5](), Applied)
