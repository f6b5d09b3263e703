# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drill: bad inputs. Each one must fail its task with a message that names the problem, and
leave everything as it was: the emulator accepted no write (request log) and its instances are
unchanged; the gateway role's cases leave no .env, Dockerfile or download behind.

The table of inputs and the message each produced is printed at the end of the run."""

import hashlib
import json
import os
import re

import pytest

from bench import common
from drillkit import BAD_INPUT_ROWS, credentials, drill_env, run_playbook, write_play

ZONE = 'us-central1-a'
EXISTING = 'drill-existing'      # RUNNING, e2-small
PROTECTED = 'drill-protected'    # deletion protection on
STRONG = 'a3' * 32               # 64 hex characters: a valid secret

INSTANCE = 'openclaw.gcp.compute_instance'


def _vm(**kw):
    args = {'name': 'drill-new', 'zone': ZONE, 'machine_type': 'e2-small', 'state': 'started'}
    args.update(kw)
    return {INSTANCE: args}


def _no_project(env, emu, tmp):
    env.pop('GCP_PROJECT', None)


def _env_set(**kw):
    def apply(env, emu, tmp):
        for k, v in kw.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v.format(tmp=tmp)
    return apply


def _unknown_key(env, emu, tmp):
    """A well-formed service-account key whose public half the token endpoint has never seen."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with open(str(emu.key_file)) as f:
        info = json.load(f)
    info.update({'private_key': pem, 'private_key_id': 'f' * 40,
                 'client_email': 'stranger@openclaw-demo.iam.gserviceaccount.com'})
    path = os.path.join(tmp, 'stranger.json')
    with open(path, 'w') as f:
        json.dump(info, f)
    env['GCP_SERVICE_ACCOUNT_FILE'] = path


def _not_json(env, emu, tmp):
    path = os.path.join(tmp, 'key.json')
    with open(path, 'w') as f:
        f.write('{"type": "service_account", "private_key": ')
    env['GCP_SERVICE_ACCOUNT_FILE'] = path


# (id, what the table shows, kind, payload, env change, expected message pattern)
# kind: task = one task on localhost; role = the gateway role on localhost (temp dirs);
#       provision = playbooks/provision.yml with extra vars.
CASES = [
    ('name-uppercase', 'instance name Gateway_1', 'task', _vm(name='Gateway_1'), None,
     r'(?i)Gateway_1.*(RFC 1035|invalid)|(RFC 1035|invalid).*Gateway_1'),
    ('name-too-long', 'instance name of 64 characters', 'task', _vm(name='g' * 64), None,
     r'(?i)(RFC 1035|63|invalid)'),
    ('zone-unknown', 'zone us-central1-z (no such zone)', 'task', _vm(zone='us-central1-z'), None,
     r'(?i)us-central1-z'),
    ('zone-malformed', 'zone "uscentral1a"', 'task', _vm(zone='uscentral1a'), None,
     r'(?i)zone.*uscentral1a|uscentral1a.*zone'),
    ('machine-type-unknown', 'machine type e2-gigantic', 'task', _vm(machine_type='e2-gigantic'), None,
     r'(?i)e2-gigantic'),
    ('label-key', 'label key "Owner" (upper case)', 'task', _vm(labels={'Owner': 'me'}), None,
     r'(?i)label key.*Owner'),
    ('label-value', 'label value "Prod!"', 'task', _vm(labels={'env': 'Prod!'}), None,
     r'(?i)label value.*Prod!'),
    ('image-unknown', 'image family debian-99', 'task',
     _vm(image='projects/debian-cloud/global/images/family/debian-99'), None, r'(?i)debian-99'),
    ('resize-running', 'machine type change on a RUNNING VM without allow_stopping_for_update', 'task',
     {INSTANCE: {'name': EXISTING, 'zone': ZONE, 'machine_type': 'e2-medium', 'state': 'started'}}, None,
     r'allow_stopping_for_update'),
    ('delete-protected', 'delete a VM with deletion protection', 'task',
     {INSTANCE: {'name': PROTECTED, 'zone': ZONE, 'state': 'absent'}}, None, r'(?i)deletion[ _]protection'),
    ('token-wrong', 'access token that the API rejects', 'task', _vm(),
     _env_set(GCP_AUTH_KIND='accesstoken', GCP_ACCESS_TOKEN='ya29.not-a-valid-token', GCP_SERVICE_ACCOUNT_FILE=None),
     r'(?i)(401|unauthenticated|rejected|invalid|expired)'),
    ('key-unknown', 'service-account key the token endpoint does not know', 'task', _vm(), _unknown_key,
     r'(?i)(token|invalid_grant|invalid_client|unauthor)'),
    ('credentials-missing', 'auth_kind serviceaccount without a key', 'task', _vm(),
     _env_set(GCP_SERVICE_ACCOUNT_FILE=None), r'service_account_file'),
    ('key-file-missing', 'service-account key file that does not exist', 'task', _vm(),
     _env_set(GCP_SERVICE_ACCOUNT_FILE='{tmp}/no-such-key.json'), r'(?i)no-such-key\.json'),
    ('key-file-garbage', 'service-account key file that is not JSON', 'task', _vm(), _not_json,
     r'(?i)(JSON|parse|decode)'),
    ('project-missing', 'no project at all', 'task', _vm(), _no_project, r'(?i)project'),
    ('project-unknown', 'project no-such-project-42', 'task', _vm(project='no-such-project-42'), None,
     r'no-such-project-42'),
    ('api-unreachable', 'Compute endpoint override with nothing listening (127.0.0.1:9)', 'task', _vm(),
     _env_set(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE='http://127.0.0.1:9/compute/v1/'),
     r'(?i)(connect|unreachable|refused|gave up)'),
    ('gateways-duplicate', 'site.yml: two gateways with the same name', 'provision',
     {'openclaw_gcp_gateways': [{'name': 'gw-a'}, {'name': 'gw-b'}, {'name': 'gw-a'}]}, None,
     r'^openclaw_gcp_gateways names a gateway more than once: gw-a\.$'),
    ('ssh-via-unknown', 'site.yml: openclaw_gcp_ssh_via "vpn"', 'provision', {'openclaw_gcp_ssh_via': 'vpn'}, None,
     r'^openclaw_gcp_ssh_via must be direct or iap, not vpn\.$'),
    ('gateway-port', 'gateway_port 70000', 'role', {'gateway_port': 70000}, None, r'^gateway_port must be 1-65535 \(got 70000\)\.$'),
    ('gateway-token-weak', 'gateway_token "changeme"', 'role', {'gateway_token': 'changeme'}, None,
     r'(?i)gateway token.*(placeholder|shorter)'),
    ('binary-sha-format', 'binary sha256 "abc123" (not 64 hex digits)', 'role',
     {'gateway_binaries': [{'name': 'gog', 'url': 'file:///dev/null', 'sha256': 'abc123'}]}, None,
     r'(?i)sha256'),
    ('binary-sha-mismatch', 'binary whose content does not match its sha256', 'role', 'sha-mismatch', None,
     r'^gateway_binaries entry gog \(file://\S+\): its content does not match the sha256 given'),
]


@pytest.fixture(scope='module')
def prepared(memory_emulator, tmp_path_factory):
    """Two existing VMs the cases may try to change: one running, one deletion-protected."""
    emu = memory_emulator
    tmp = str(tmp_path_factory.mktemp('setup'))
    env = dict(drill_env(), **credentials(emu))
    pb = write_play(os.path.join(tmp, 'setup.yml'), tasks=[
        {'name': 'running VM', INSTANCE: {'name': EXISTING, 'zone': ZONE, 'machine_type': 'e2-small',
                                          'state': 'started'}},
        {'name': 'protected VM', INSTANCE: {'name': PROTECTED, 'zone': ZONE, 'machine_type': 'e2-small',
                                            'deletion_protection': True, 'state': 'started'}},
    ])
    m = run_playbook(pb, env)
    assert m.rc == 0, 'setup failed: %s' % (m.stdout[-2000:] + m.stderr[-2000:])
    before = common.instances(emu)
    assert set(before) == {EXISTING, PROTECTED}
    return emu


def _role_play(tmp, payload):
    project = os.path.join(tmp, 'project')
    gw_vars = {
        'gateway_project_dir': project,
        'gateway_config_dir': os.path.join(tmp, 'state'),
        'gateway_token': STRONG, 'gateway_keyring_password': STRONG,
    }
    if payload == 'sha-mismatch':
        blob = os.path.join(tmp, 'gog')
        with open(blob, 'wb') as f:
            f.write(b'#!/bin/sh\necho tampered\n')
        wrong = hashlib.sha256(b'what the release notes promised').hexdigest()
        gw_vars['gateway_binaries'] = [{'name': 'gog', 'url': 'file://' + blob, 'sha256': wrong}]
    else:
        gw_vars.update(payload)
    # No facts and no gateway_user: the role finds the login user itself.
    pb = write_play(os.path.join(tmp, 'role.yml'), roles=[dict({'role': 'openclaw.gcp.gateway'}, **gw_vars)])
    return pb, project


def _left_behind(project):
    """Files the gateway role must not have written when it refused its input."""
    found = []
    for rel in ('.env', 'docker-compose.yml', 'build/Dockerfile', 'build/downloads/gog'):
        if os.path.exists(os.path.join(project, rel)):
            found.append(rel)
    return found


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(case, prepared, tmp_path):
    cid, what, kind, payload, env_change, pattern = case
    emu = prepared
    tmp = str(tmp_path)
    env = dict(drill_env(), **credentials(emu))
    args = []
    project_dir = None
    if kind == 'task':
        pb = write_play(os.path.join(tmp, 'case.yml'), tasks=[dict({'name': cid}, **payload)])
    elif kind == 'provision':
        extra = dict(payload, openclaw_gcp_project=common.PROJECT,
                     openclaw_gcp_ssh_key_file=os.path.join(tmp, 'ssh', 'id_ed25519'))
        with open(os.path.join(tmp, 'extra.json'), 'w') as f:
            json.dump(extra, f)
        pb = os.path.join(common.ROOT, 'playbooks', 'provision.yml')
        args = ['-e', '@' + os.path.join(tmp, 'extra.json')]
    else:
        pb, project_dir = _role_play(tmp, payload)
    if env_change:
        env_change(env, emu, tmp)

    before = common.instances(emu)
    window = common.RequestWindow(emu).start()
    m = run_playbook(pb, env, args, timeout=300)
    window.stop()
    after = common.instances(emu)

    task, msg = common.playbook_failure(m.stdout)
    msg = ' '.join(str(msg or '').split())
    writes_sent = sum(1 for x in window.lines if x.get('write') and not common.RequestWindow.is_admin(x))
    writes_accepted = sum(1 for x in window.lines if x.get('write') and int(x.get('status') or 0) < 400
                          and not common.RequestWindow.is_admin(x))
    leftovers = _left_behind(project_dir) if project_dir else []
    unchanged = before == after and writes_accepted == 0 and not leftovers
    refused = m.rc != 0 and bool(msg) and re.search(pattern, msg) is not None
    BAD_INPUT_ROWS.append({'n': [c[0] for c in CASES].index(cid) + 1, 'id': cid, 'case': what,
                           'refused': refused, 'writes_sent': writes_sent, 'writes_accepted': writes_accepted,
                           'unchanged': unchanged, 'wall': m.wall, 'task': task, 'message': msg[:220]})

    assert m.rc != 0, '%s: the run succeeded, it must refuse: %s' % (cid, m.stdout[-1500:])
    assert msg, '%s: failed without a message: %s' % (cid, (m.stdout + m.stderr)[-1500:])
    assert re.search(pattern, msg), '%s: message does not name the problem (%s): %r' % (cid, pattern, msg)
    assert writes_accepted == 0, '%s: %d write(s) accepted' % (cid, writes_accepted)
    assert before == after, '%s: instances changed: %r -> %r' % (cid, before, after)
    assert not leftovers, '%s: the role left %s behind' % (cid, leftovers)
    assert 'Traceback' not in msg, '%s: a traceback instead of a message: %r' % (cid, msg)
