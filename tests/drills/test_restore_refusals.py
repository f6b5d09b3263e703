# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restore.yml refuses a bad archive on the controller, before it touches any VM.

Each case builds an archive the way backup.yml does (backup.json, openclaw-backup.tar.gz,
compose.env) and spoils one thing. The restore must stop in its first play with a message that
names the problem and says nothing was changed; the play that would connect to the VM never
starts, and no secret of the archive's .env appears in the output. A good archive passes the
controller checks (and then fails only because the inventory's VM does not exist).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / 'playbooks' / 'restore.yml'
TOKEN = 'a1' * 32
KEYRING = 'b2' * 32
ENV = 'OPENCLAW_IMAGE=openclaw-gateway:x\nOPENCLAW_GATEWAY_TOKEN=%s\nGOG_KEYRING_PASSWORD=%s\n' % (TOKEN, KEYRING)
SECOND_PLAY = 'PLAY [Restore the backup onto the gateway]'


def inner_archive():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        data = b'{"schemaVersion": 1}'
        info = tarfile.TarInfo('root/manifest.json')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def bundle(path, env=ENV, members=None, meta_files=None, verified=True, sidecar=True):
    """Write an archive as backup.yml does; the keyword arguments spoil one part."""
    parts = {'openclaw-backup.tar.gz': inner_archive(), 'compose.env': env.encode()}
    files = {name: hashlib.sha256(data).hexdigest() for name, data in parts.items()}
    files.update(meta_files or {})
    parts['backup.json'] = json.dumps({'format': 'openclaw-gcp-backup/1', 'files': files,
                                       'openclaw': {'verified': verified}}).encode()
    with tarfile.open(path, 'w') as tar:
        for name in members or sorted(parts):
            info = tarfile.TarInfo(name)
            info.size = len(parts[name])
            tar.addfile(info, io.BytesIO(parts[name]))
    if sidecar:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        Path(str(path) + '.sha256').write_text('%s  %s\n' % (digest, Path(path).name))
    return path


def restore(archive, hosts='gw-one', limit='gw-one', extra=()):
    # No project and a dead loopback proxy: should a run ever reach a Google call, it fails here.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', HTTPS_PROXY='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9')
    env.pop('GCP_PROJECT', None)
    cmd = ['ansible-playbook', '-i', '%s,' % hosts, str(PLAYBOOK), '-e', 'openclaw_gcp_gateway_group=all',
           '-e', 'ansible_host=127.0.0.1', '-e', 'ansible_port=9']
    if limit:
        cmd += ['-l', limit]
    if archive is not None:
        cmd += ['-e', 'openclaw_gcp_restore_archive=%s' % archive]
    proc = subprocess.run(cmd + list(extra), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    return proc, proc.stdout + proc.stderr


def refused(archive, expected, **kwargs):
    proc, out = restore(archive, **kwargs)
    assert proc.returncode != 0, out[-3000:]
    assert expected in out, out[-3000:]
    assert 'Nothing was changed' in out, out[-3000:]
    assert SECOND_PLAY not in out, 'the restore went on to the VM: ' + out[-3000:]
    assert TOKEN not in out and KEYRING not in out, 'a secret of the archive was printed'


def test_no_archive_named():
    refused(None, 'Name the archive to restore')


def test_missing_archive(tmp_path):
    refused(tmp_path / 'gone.tar', 'does not exist or is not a file')


def test_more_than_one_gateway(tmp_path):
    refused(bundle(tmp_path / 'ok.tar'), 'limit the run to one VM', hosts='gw-one,gw-two', limit=None)


def test_checksum_file_mismatch(tmp_path):
    archive = bundle(tmp_path / 'b.tar')
    Path(str(archive) + '.sha256').write_text('%s  b.tar\n' % ('0' * 64))
    refused(archive, 'the archive is damaged or not the one that was backed up')


def test_checksum_option_mismatch(tmp_path):
    refused(bundle(tmp_path / 'b.tar', sidecar=False), 'expected ' + 'f' * 64,
            extra=['-e', 'openclaw_gcp_restore_sha256=' + 'f' * 64])


def test_not_a_tar(tmp_path):
    archive = tmp_path / 'junk.tar'
    archive.write_bytes(os.urandom(4096))
    refused(archive, 'cannot be restored (List the archive)')


def test_foreign_tar(tmp_path):
    refused(bundle(tmp_path / 'b.tar', members=['backup.json', 'compose.env']), 'not the backup.json, compose.env')


def test_part_changed_after_backup(tmp_path):
    refused(bundle(tmp_path / 'b.tar', meta_files={'compose.env': 'c' * 64}), 'the checksums of openclaw-backup.tar.gz')


def test_unverified_openclaw_archive(tmp_path):
    refused(bundle(tmp_path / 'b.tar', verified=False), 'of a verified OpenClaw archive')


def test_env_without_token(tmp_path):
    refused(bundle(tmp_path / 'b.tar', env='GOG_KEYRING_PASSWORD=%s\n' % KEYRING), 'has no OPENCLAW_GATEWAY_TOKEN')


@pytest.mark.parametrize('sidecar', [True, False])
def test_good_archive_passes_the_controller_checks(tmp_path, sidecar):
    out = restore(bundle(tmp_path / 'b.tar', sidecar=sidecar))[1]
    # the checks pass; the run then stops at the VM play (this inventory's VM does not exist)
    assert SECOND_PLAY in out, out[-3000:]
    assert 'Nothing was changed' not in out.split(SECOND_PLAY)[0], out[-3000:]
    assert TOKEN not in out and KEYRING not in out
