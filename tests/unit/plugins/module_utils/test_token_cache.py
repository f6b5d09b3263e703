# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-user token cache: one token exchange per controller, expiry and refresh, corrupt and
foreign files, permissions, and the switches that turn it off."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import stat
import time

import pytest

from ansible_collections.openclaw.gcp.plugins.module_utils import gcp
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import CachedTokenCredentials, GcpClient, GcpError


class FakeCredentials(object):
    """What the wrapper needs of google-auth credentials; each refresh is one token exchange."""

    universe_domain = 'googleapis.com'

    def __init__(self, lifetime=3600.0, log=None):
        self.token = None
        self.expiry = None
        self.lifetime = lifetime
        self.log = log if log is not None else []

    def refresh(self, request):  # pylint: disable=unused-argument
        self.log.append('exchange')
        self.token = 'tok-%d' % len(self.log)
        self.expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=self.lifetime)

    def before_request(self, request, method, url, headers):  # pylint: disable=unused-argument
        assert self.token, 'the wrapper must hand over a token'
        headers['authorization'] = 'Bearer ' + self.token

    def apply(self, headers, token=None):
        headers['authorization'] = 'Bearer ' + (token or self.token)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / 'xdg'
    monkeypatch.setenv('XDG_CACHE_HOME', str(home))
    monkeypatch.delenv('OPENCLAW_GCP_TOKEN_CACHE', raising=False)
    return home


def _process(path, log, lifetime=3600.0):
    """A new module process: fresh credentials, the same cache file."""
    return CachedTokenCredentials(FakeCredentials(lifetime, log), str(path))


def _send(creds):
    headers = {}
    creds.before_request(None, 'GET', 'https://compute.googleapis.com/compute/v1/x', headers)
    return headers['authorization']


def test_many_processes_share_one_exchange(cache_home):
    assert gcp._private_dir(str(cache_home / 'openclaw-gcp'))  # pylint: disable=protected-access
    path = cache_home / 'openclaw-gcp' / ('a' * 64)
    log = []
    first = _process(path, log)
    assert _send(first) == 'Bearer tok-1' and log == ['exchange']
    # every later process (task, fork, loop item) takes the cached token
    for dummy in range(5):
        assert _send(_process(path, log)) == 'Bearer tok-1'
    assert log == ['exchange']
    # one session per process: later requests of a process do not read again or exchange
    assert _send(first) == 'Bearer tok-1' and log == ['exchange']
    # stored privately: 0600 file in a 0700 directory, named by a hash, holding no key
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(cache_home / 'openclaw-gcp')).st_mode) == 0o700
    assert json.loads(path.read_text())['token'] == 'tok-1'
    assert sorted(os.listdir(str(cache_home / 'openclaw-gcp'))) == [path.name, path.name + '.lock']


def test_token_near_expiry_is_exchanged_again(cache_home):
    gcp._private_dir(str(cache_home / 'openclaw-gcp'))  # pylint: disable=protected-access
    path = cache_home / 'openclaw-gcp' / ('b' * 64)
    log = []
    # a token with 4 minutes left is not handed out: the next process exchanges and stores a new one
    assert _send(_process(path, log, lifetime=240)) == 'Bearer tok-1'
    assert _send(_process(path, log)) == 'Bearer tok-2'
    assert _send(_process(path, log)) == 'Bearer tok-2'
    assert log == ['exchange', 'exchange']
    assert gcp.read_cached_token(str(path), now=time.time() + 3600 - 200) is None
    assert gcp.read_cached_token(str(path))[0] == 'tok-2'


def test_a_rejected_token_is_never_taken_again(cache_home):
    gcp._private_dir(str(cache_home / 'openclaw-gcp'))  # pylint: disable=protected-access
    path = cache_home / 'openclaw-gcp' / ('c' * 64)
    log = []
    creds = _process(path, log)
    assert _send(creds) == 'Bearer tok-1'
    # AuthorizedSession calls refresh() after a 401: the cached (rejected) token is skipped
    creds.refresh(None)
    assert creds.token == 'tok-2' and log == ['exchange', 'exchange']
    assert _send(_process(path, log)) == 'Bearer tok-2'


@pytest.mark.parametrize('content', ['{not json', '[]', '{"token": "", "expiry": 9999999999}',
                                     '{"token": "t", "expiry": "soon"}', '{"token": "t", "expiry": true}', ''])
def test_corrupt_cache_is_ignored_and_replaced(cache_home, content):
    gcp._private_dir(str(cache_home / 'openclaw-gcp'))  # pylint: disable=protected-access
    path = cache_home / 'openclaw-gcp' / ('d' * 64)
    path.write_text(content)
    os.chmod(str(path), 0o600)
    assert gcp.read_cached_token(str(path)) is None
    log = []
    assert _send(_process(path, log)) == 'Bearer tok-1' and log == ['exchange']
    assert gcp.read_cached_token(str(path))[0] == 'tok-1'


def test_files_others_could_write_or_read_are_not_trusted(cache_home, monkeypatch):
    gcp._private_dir(str(cache_home / 'openclaw-gcp'))  # pylint: disable=protected-access
    path = cache_home / 'openclaw-gcp' / ('e' * 64)
    assert gcp.write_cached_token(str(path), 'planted', time.time() + 3600)
    assert gcp.read_cached_token(str(path))[0] == 'planted'
    os.chmod(str(path), 0o644)
    assert gcp.read_cached_token(str(path)) is None
    os.chmod(str(path), 0o600)
    # owned by someone else (seen from another uid)
    real = os.getuid()
    monkeypatch.setattr(gcp.os, 'getuid', lambda: real + 4242)
    assert gcp.read_cached_token(str(path)) is None
    assert gcp._private_dir(str(cache_home / 'openclaw-gcp')) is False  # pylint: disable=protected-access
    monkeypatch.setattr(gcp.os, 'getuid', lambda: real)
    # a symlink is not followed
    link = cache_home / 'openclaw-gcp' / ('f' * 64)
    link.symlink_to(path)
    assert gcp.read_cached_token(str(link)) is None
    # an untrusted file is replaced by the next exchange
    os.chmod(str(path), 0o666)
    log = []
    assert _send(_process(path, log)) == 'Bearer tok-1'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600 and gcp.read_cached_token(str(path))[0] == 'tok-1'


def test_an_open_cache_directory_is_closed_and_a_foreign_one_refused(cache_home, monkeypatch):
    directory = cache_home / 'openclaw-gcp'
    directory.mkdir(parents=True)
    os.chmod(str(directory), 0o755)
    assert gcp._private_dir(str(directory))  # pylint: disable=protected-access
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o700
    real = os.getuid()
    monkeypatch.setattr(gcp.os, 'getuid', lambda: real + 4242)
    creds = FakeCredentials()
    assert gcp.token_cache_wrap(creds, 'serviceaccount', None, {'client_email': 'a@b', 'private_key_id': 'k'}) is creds


def test_cache_key_names_no_secret_and_separates_identities():
    one = gcp.token_cache_key('serviceaccount', ['a@p.iam.gserviceaccount.com', 'k1'], ['s'], 'https://o/token')
    assert len(one) == 64 and all(c in '0123456789abcdef' for c in one)
    assert one == gcp.token_cache_key('serviceaccount', ['a@p.iam.gserviceaccount.com', 'k1'], ['s'], 'https://o/token')
    for other in (gcp.token_cache_key('serviceaccount', ['a@p.iam.gserviceaccount.com', 'k2'], ['s'], 'https://o/token'),
                  gcp.token_cache_key('serviceaccount', ['a@p.iam.gserviceaccount.com', 'k1'], ['t'], 'https://o/token'),
                  gcp.token_cache_key('serviceaccount', ['a@p.iam.gserviceaccount.com', 'k1'], ['s'], 'http://127.0.0.1:1/token'),
                  gcp.token_cache_key('application', ['a@p.iam.gserviceaccount.com', 'k1'], ['s'], 'https://o/token')):
        assert other != one


def test_switches(monkeypatch):
    monkeypatch.delenv('OPENCLAW_GCP_TOKEN_CACHE', raising=False)
    assert gcp.token_cache_enabled({}) is True
    assert gcp.token_cache_enabled({'token_cache': False}) is False
    assert gcp.token_cache_enabled({}, {'OPENCLAW_GCP_TOKEN_CACHE': '0'}) is False
    assert gcp.token_cache_enabled({}, {'OPENCLAW_GCP_TOKEN_CACHE': 'false'}) is False
    assert gcp.token_cache_enabled({'token_cache': True}, {'OPENCLAW_GCP_TOKEN_CACHE': '0'}) is True
    assert gcp.token_cache_enabled({'access_token': 'x'}) is False
    with pytest.raises(GcpError, match='must be a boolean'):
        gcp.token_cache_enabled({}, {'OPENCLAW_GCP_TOKEN_CACHE': 'maybe'})


def _key_file(tmp_path):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    path = tmp_path / 'key.json'
    path.write_text(json.dumps({'type': 'service_account', 'project_id': 'demo', 'private_key_id': 'k1', 'private_key': pem,
                                'client_email': 'bot@demo.iam.gserviceaccount.com', 'token_uri': 'http://127.0.0.1:7/token'}))
    return str(path)


def test_client_wraps_service_account_credentials_unless_turned_off(cache_home, tmp_path):
    key = _key_file(tmp_path)
    creds = GcpClient({'service_account_file': key}).credentials()
    assert isinstance(creds, CachedTokenCredentials)
    assert creds.service_account_email == 'bot@demo.iam.gserviceaccount.com'
    name = os.path.basename(creds._path)  # pylint: disable=protected-access
    assert len(name) == 64 and 'bot' not in name
    assert str(cache_home) in creds._path  # pylint: disable=protected-access
    assert not isinstance(GcpClient({'service_account_file': key, 'token_cache': False}).credentials(), CachedTokenCredentials)
    off = GcpClient({'service_account_file': key}, environ={'OPENCLAW_GCP_TOKEN_CACHE': '0'})
    assert not isinstance(off.credentials(), CachedTokenCredentials)
    assert not isinstance(GcpClient({'access_token': 'x'}).credentials(), CachedTokenCredentials)
