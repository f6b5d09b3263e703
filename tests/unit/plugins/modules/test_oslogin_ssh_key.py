# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oslogin_ssh_key against an in-memory OS Login API: check, apply, idempotence, absent, errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import oslogin_ssh_key as mod
from fake_gcp import error

USER = 'op@demo.iam.gserviceaccount.com'


def make_key(seed, comment='op'):
    kind = b'ssh-ed25519'
    blob = len(kind).to_bytes(4, 'big') + kind + (32).to_bytes(4, 'big') + hashlib.sha256(seed.encode()).digest()
    return 'ssh-ed25519 %s %s' % (base64.b64encode(blob).decode(), comment)


KEY = make_key('one')


class OsLoginApi(object):
    """The profile of USER; the answers Google gives."""

    def __init__(self):
        self.keys = {}

    def profile(self):
        body = {'name': '1234', 'posixAccounts': [{'primary': True, 'username': 'sa_1234', 'uid': '1234', 'gid': '1234',
                                                   'homeDirectory': '/home/sa_1234', 'operatingSystemType': 'LINUX'}]}
        if self.keys:
            body['sshPublicKeys'] = dict((fp, dict(k)) for fp, k in self.keys.items())
        return body

    def __call__(self, method, path, params, body):
        user, rest = path[len('users/'):].split('/', 1) if '/' in path[len('users/'):] else (path[len('users/'):], '')
        if ':' in user:
            user, rest = user.split(':', 1)
        if user != USER:
            return error(403, 'forbidden', 'The caller does not have permission', 'PERMISSION_DENIED')
        if method == 'GET' and rest == 'loginProfile':
            return 200, self.profile()
        if method == 'POST' and rest == 'importSshPublicKey':
            fields = body['key'].split()
            fp = hashlib.sha256(base64.b64decode(fields[1])).hexdigest()
            self.keys[fp] = {'key': body['key'], 'fingerprint': fp, 'name': 'users/%s/sshPublicKeys/%s' % (USER, fp)}
            if body.get('expirationTimeUsec'):
                self.keys[fp]['expirationTimeUsec'] = body['expirationTimeUsec']
            return 200, {'loginProfile': self.profile()}
        if rest.startswith('sshPublicKeys/'):
            fp = rest.split('/', 1)[1]
            if fp not in self.keys:
                return error(404, 'notFound', 'Requested entity was not found.', 'NOT_FOUND')
            if method == 'DELETE':
                del self.keys[fp]
                return 200, {}
            if method == 'PATCH':
                self.keys[fp].pop('expirationTimeUsec', None)
                if body.get('expirationTimeUsec') not in (None, '0'):
                    self.keys[fp]['expirationTimeUsec'] = body['expirationTimeUsec']
                return 200, self.keys[fp]
        return error(404, 'notFound', 'No such method')


@pytest.fixture
def api(google, monkeypatch):
    handler = OsLoginApi()
    original = google.route

    def route(method, path, params, body):
        if path.startswith('/oslogin/v1/'):
            return handler(method, path[len('/oslogin/v1/'):], params, body)
        return original(method, path, params, body)
    monkeypatch.setattr(google, 'route', route)
    return handler


def test_parse_key():
    assert mod.parse_key('  ' + KEY.replace(' ', '   ') + '\n')[2] == KEY
    for bad in ('', 'hello', 'ssh-ed25519', 'ssh-ed25519 %%%', 'ssh-rsa ' + KEY.split()[1],
                '-----BEGIN OPENSSH PRIVATE KEY----- abc'):
        with pytest.raises(ValueError):
            mod.parse_key(bad)


def test_check_apply_check_apply(google, api, run):
    args = {'key': KEY, 'user': USER}
    first = run(mod, args, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['import key']
    assert first['diff'] == {'before': {'present': False, 'expiration_time_usec': None},
                             'after': {'present': True, 'expiration_time_usec': None}}
    assert first['username'] == 'sa_1234' and google.writes() == []
    applied = run(mod, args)
    assert applied['changed'] is True and applied['username'] == 'sa_1234'
    assert applied['fingerprint'] in api.keys and applied['key_type'] == 'ssh-ed25519'
    writes = google.writes()
    assert [(w[0], w[1]) for w in writes] == [('POST', '/oslogin/v1/users/%s:importSshPublicKey' % USER)]
    assert writes[0][2] == {'projectId': 'demo'} and writes[0][3] == {'key': KEY}
    del google.calls[:]
    # the same key with another comment is the same key: one GET, no write
    again = run(mod, dict(args, key=KEY.replace(' op', ' laptop')))
    assert again['changed'] is False and again['username'] == 'sa_1234'
    assert len(google.calls) == 1 and google.writes() == []
    assert run(mod, args, check=True)['changed'] is False


def test_expiration_is_updated(google, api, run):
    run(mod, {'key': KEY, 'user': USER})
    del google.calls[:]
    result = run(mod, {'key': KEY, 'user': USER, 'expiration_time_usec': 1900000000000000}, diff=True)
    assert result['changed'] is True and result['actions'] == ['update key expiration']
    assert [w[0] for w in google.writes()] == ['PATCH']
    assert google.writes()[0][2] == {'updateMask': 'expirationTimeUsec'}
    assert list(api.keys.values())[0]['expirationTimeUsec'] == '1900000000000000'
    assert run(mod, {'key': KEY, 'user': USER, 'expiration_time_usec': 1900000000000000})['changed'] is False


def test_absent(google, api, run):
    run(mod, {'key': KEY, 'user': USER})
    other = make_key('two')
    run(mod, {'key': other, 'user': USER})
    del google.calls[:]
    check = run(mod, {'key': KEY, 'user': USER, 'state': 'absent'}, check=True)
    assert check['changed'] is True and google.writes() == [] and len(api.keys) == 2
    gone = run(mod, {'key': KEY, 'user': USER, 'state': 'absent'})
    assert gone['changed'] is True and gone['fingerprint'] is None
    assert [w[0] for w in google.writes()] == ['DELETE'] and len(api.keys) == 1
    del google.calls[:]
    assert run(mod, {'key': KEY, 'user': USER, 'state': 'absent'})['changed'] is False
    assert google.writes() == []


def test_lost_answer_is_reconciled(google, api, run):
    google.inject('lost', method='POST', pattern='importSshPublicKey')
    result = run(mod, {'key': KEY, 'user': USER})
    assert result['changed'] is True and len(api.keys) == 1
    assert len([w for w in google.writes() if w[0] == 'POST']) == 1


def test_errors_before_any_request(google, api, run):
    for args in ({'key': 'not a key', 'user': USER}, {'key': KEY, 'user': 'not-an-email'},
                 {'key': KEY, 'user': USER, 'expiration_time_usec': -1}):
        result = run(mod, args)
        assert result['failed'] is True and 'no request was sent' in result['msg']
    assert google.calls == []
    # an access token carries no email: the user option is needed
    result = run(mod, {'key': KEY})
    assert result['failed'] is True and 'set the user option' in result['msg'] and google.calls == []


def test_another_users_profile_is_refused(google, api, run):
    result = run(mod, {'key': KEY, 'user': 'someone@example.com'})
    assert result['failed'] is True and 'OS Login profile of someone@example.com' in result['msg']
    assert 'permission' in result['msg'] and google.writes() == []
