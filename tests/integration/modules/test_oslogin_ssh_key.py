# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oslogin_ssh_key against the emulator: check, apply, check again, apply again; absent; the
POSIX user of the service account's profile; another account's profile refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import urllib.error
import urllib.request

from gcp_playbooks import api_writes

PROJECT = 'openclaw-demo'
SA = 'openclaw-automation@%s.iam.gserviceaccount.com' % PROJECT


def public_key(tmp_path, name):
    path = tmp_path / name
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', str(path)], check=True)
    return path.with_suffix('.pub').read_text().strip()


def unique_id(emulator):
    request = urllib.request.Request('%s/iam/v1/projects/%s/serviceAccounts/%s' % (emulator.endpoint, PROJECT, SA),
                                     headers={'Authorization': 'Bearer ' + emulator.token})
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback only
        return json.loads(answer.read())['uniqueId']


def test_check_apply_check_apply_and_absent(emulator, runner, tmp_path):
    key = public_key(tmp_path, 'operator')
    task = {'name': 'key', 'openclaw.gcp.oslogin_ssh_key': {'key': key}}
    checked = dict(runner.play([task], check=True, diff=True))['key']
    assert checked['changed'] is True and checked['actions'] == ['import key']
    assert checked['user'] == SA
    assert api_writes(emulator.requests()) == []
    applied = dict(runner.play([task]))['key']
    assert applied['changed'] is True and applied['username'] == 'sa_' + unique_id(emulator)
    assert applied['fingerprint'] and applied['key_type'] == 'ssh-ed25519'
    assert key.split()[1] not in json.dumps(applied)
    writes = api_writes(emulator.requests())
    assert [(w['method'], w['path']) for w in writes] == [('POST', '/oslogin/v1/users/%s:importSshPublicKey' % SA)]

    start = len(emulator.requests())
    again = dict(runner.play([dict(task, name='check'), dict(task, name='apply')]))
    assert again['check']['changed'] is False and again['apply']['changed'] is False
    assert again['apply']['username'] == applied['username']
    assert api_writes(emulator.requests()[start:]) == []
    assert len([e for e in emulator.requests()[start:] if e['api'] == 'oslogin']) == 2  # one GET per run

    absent = {'name': 'gone', 'openclaw.gcp.oslogin_ssh_key': {'key': key, 'state': 'absent'}}
    start = len(emulator.requests())
    gone = dict(runner.play([absent, dict(absent, name='again')], diff=True))
    assert gone['gone']['changed'] is True and gone['again']['changed'] is False
    assert [e['method'] for e in api_writes(emulator.requests()[start:])] == ['DELETE']


def test_another_accounts_profile_and_bad_keys_fail(emulator, runner, tmp_path):
    key = public_key(tmp_path, 'other')
    results = dict(runner.play([
        {'name': 'other', 'openclaw.gcp.oslogin_ssh_key': {'key': key, 'user': 'someone@example.com'},
         'ignore_errors': True},
        {'name': 'private', 'openclaw.gcp.oslogin_ssh_key': {'key': '-----BEGIN OPENSSH PRIVATE KEY----- x'},
         'ignore_errors': True},
    ]))
    assert results['other']['failed'] is True
    assert 'OS Login profile of someone@example.com' in results['other']['msg']
    assert 'permission' in results['other']['msg']
    assert results['private']['failed'] is True and 'private key' in results['private']['msg']
    assert 'BEGIN' not in json.dumps(results['private'].get('invocation', {}))
    assert api_writes(emulator.requests()) == []


def test_provision_in_os_login_mode(tmp_path):
    """provision.yml with openclaw_gcp_os_login (controller only: the memory backend has no SSH):
    the key in the profile, enable-oslogin=TRUE and no ssh-keys on the VM; a second run writes nothing."""
    from emulator.testing import Emulator  # pylint: disable=import-outside-toplevel
    from test_compute_router import _get, _provision  # pylint: disable=import-outside-toplevel
    gateways = [{'name': 'gw-oslogin', 'zone': 'us-central1-a'}]
    extra = {'openclaw_gcp_gateways': gateways, 'openclaw_gcp_os_login': True, 'openclaw_gcp_state_snapshots': False}
    with Emulator(tmp_path / 'emulator', backend='memory', propagation_delay=0) as emu:
        work = tmp_path / 'work'
        work.mkdir()
        stats = _provision(emu, str(work), extra)
        assert stats['failures'] == 0 and stats['changed'] > 0
        inst = _get(emu, 'zones/us-central1-a/instances/gw-oslogin')
        items = dict((i['key'], i['value']) for i in inst['metadata']['items'])
        assert items.get('enable-oslogin') == 'TRUE' and 'ssh-keys' not in items
        key = (work / 'ssh' / 'id_ed25519.pub').read_text().split()
        request = urllib.request.Request('%s/oslogin/v1/users/%s/loginProfile' % (emu.endpoint, SA),
                                         headers={'Authorization': 'Bearer ' + emu.token})
        # the static token is another account: the automation account's profile is refused to it
        try:
            urllib.request.urlopen(request, timeout=30)  # loopback only
            raise AssertionError('another account read the profile')
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
        writes = [(e['method'], e['path']) for e in api_writes(emu.requests()) if e['api'] == 'oslogin']
        assert writes == [('POST', '/oslogin/v1/users/%s:importSshPublicKey' % SA)]
        imported = [e for e in emu.requests() if e['api'] == 'oslogin' and e['method'] == 'POST']
        assert imported and imported[0]['status'] == 200 and key
        start = len(emu.requests())
        again = _provision(emu, str(work), extra)
        assert again['changed'] == 0 and again['failures'] == 0
        assert api_writes(emu.requests()[start:]) == []
