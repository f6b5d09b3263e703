# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment, proven: site.yml runs inside it with ansible-runner, as AWX runs a job.

The job is laid out the way AWX lays it out for ansible-runner: a private data directory with
the project (site.yml, playbooks/, inventory/, ansible.cfg, but no plugins or roles: those must
come from the collection installed in the EE), env/envvars with the variables AWX's Google
Compute Engine credential injects (GCE_CREDENTIALS_FILE_PATH, GCP_SERVICE_ACCOUNT_FILE,
GCP_AUTH_KIND, GCP_PROJECT ... and a key file in AWX's own shape) and env/extravars. The EE runs
with the image's own user (uid 1000) and host networking (the emulator and its VMs answer on
127.0.0.N); Google's hosts are reached through the emulator's HTTPS proxy. One gateway, then its
/healthz is checked on the VM.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time

import pytest

from e2e_helpers import ROOT, Run, recap, ssh

pytestmark = pytest.mark.ee

GATEWAY = {'name': 'ee-gw', 'zone': 'us-central1-a'}
CONTAINER = 'openclaw-ee-test-%d' % os.getpid()
EE_UID = 1000
PROJECT_FILES = ('site.yml', 'ansible.cfg', 'playbooks', 'inventory')
# Where AWX puts collections for a job (project-synced first, then the EE's own).
AWX_COLLECTIONS_PATH = '/runner/requirements_collections:/usr/share/ansible/collections'


def awx_gce_credential(emu, path, inside=None):
    """The key file and variables AWX's "Google Compute Engine" credential type injects.

    AWX writes {type, private_key, client_email, project_id, token_uri} (0600) into the private
    data directory and exports GCE_EMAIL, GCE_PROJECT, GCE_CREDENTIALS_FILE_PATH,
    GCP_SERVICE_ACCOUNT_FILE, GCP_AUTH_KIND=serviceaccount, GCP_PROJECT and GCP_ENV_TYPE=tower.
    private_key_id is kept: the emulator finds the key by the JWT's kid (Google tries them all).
    """
    with open(emu.google_key_file) as f:
        key = json.load(f)
    cred = {'type': 'service_account', 'private_key': key['private_key'], 'private_key_id': key['private_key_id'],
            'client_email': key['client_email'], 'project_id': emu.project, 'token_uri': key['token_uri']}
    path.write_text(json.dumps(cred, indent=2))
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    inside = inside or str(path)
    return {'GCE_EMAIL': key['client_email'], 'GCE_PROJECT': emu.project, 'GCE_CREDENTIALS_FILE_PATH': inside,
            'GCP_SERVICE_ACCOUNT_FILE': inside, 'GCP_AUTH_KIND': 'serviceaccount', 'GCP_PROJECT': emu.project,
            'GCP_ENV_TYPE': 'tower'}


def private_data_dir(emu, base):
    """ansible-runner's input directory, as AWX writes it for one job."""
    pdd = base / 'runner'
    project = pdd / 'project'
    project.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name)
        else:
            shutil.copy2(src, project / name)
    (pdd / 'env').mkdir()
    (pdd / 'ssh').mkdir()
    (pdd / 'requirements_collections').mkdir()

    client = emu.client_env('proxy')
    envvars = awx_gce_credential(emu, pdd / 'gce-creds.json', '/runner/gce-creds.json')
    shutil.copy(client['REQUESTS_CA_BUNDLE'], pdd / 'proxy-ca.pem')
    envvars.update({
        'HTTPS_PROXY': client['HTTPS_PROXY'], 'https_proxy': client['https_proxy'],
        'NO_PROXY': client['NO_PROXY'], 'no_proxy': client['no_proxy'],
        'REQUESTS_CA_BUNDLE': '/runner/proxy-ca.pem',
        'ANSIBLE_COLLECTIONS_PATH': AWX_COLLECTIONS_PATH,
        'ANSIBLE_FORCE_COLOR': '0',
        'OPENCLAW_GCP_KNOWN_HOSTS_FILE': '/runner/ssh/known_hosts',
    })
    # The gateway image build inside each VM may need the CA of a TLS-inspecting proxy (read on the
    # controller by the emulator inventory's group_vars): hand this machine's over, if any.
    if os.environ.get('NODE_EXTRA_CA_CERTS') and os.path.isfile(os.environ['NODE_EXTRA_CA_CERTS']):
        shutil.copy(os.environ['NODE_EXTRA_CA_CERTS'], pdd / 'node-extra-ca.pem')
        envvars['NODE_EXTRA_CA_CERTS'] = '/runner/node-extra-ca.pem'
    (pdd / 'env' / 'envvars').write_text(json.dumps(envvars))
    (pdd / 'env' / 'extravars').write_text(json.dumps({
        'openclaw_gcp_gateways': [GATEWAY],
        'openclaw_gcp_ssh_key_file': '/runner/ssh/openclaw_gcp_ed25519',
        # Public mode: the EE carries no gcloud, which the default (IAP) needs (docs/AWX.md).
        'openclaw_gcp_public_ip': True,
    }))
    subprocess.run(['chown', '-R', '%d:0' % EE_UID, str(pdd)], check=True)
    return pdd


def run_in_ee(image, pdd, timeout=2400):
    """ansible-runner run inside the EE; the playbook output and ansible-runner's exit code."""
    docker_sock = '/var/run/docker.sock'
    cmd = ['docker', 'run', '--rm', '--name', CONTAINER, '--network', 'host',
           '-v', '%s:/runner' % pdd,
           # The emulator's VMs have no registry: site.yml streams the local Node image into them
           # from the controller's Docker (inventory/group_vars/emulator.yml), so the EE gets it.
           '-v', '%s:%s' % (docker_sock, docker_sock),
           '-v', '%s:/usr/local/bin/docker:ro' % shutil.which('docker'),
           '--group-add', str(os.stat(docker_sock).st_gid),
           image, 'ansible-runner', 'run', '/runner', '-p', 'site.yml',
           '--inventory', '/runner/project/inventory/emulator.compute.yml']
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        subprocess.run(['docker', 'rm', '-f', CONTAINER], capture_output=True, check=False)
    return proc


def test_site_yml_in_the_ee_deploys_a_healthy_gateway(ee_emulator, ee_image):
    emu, base = ee_emulator
    pdd = private_data_dir(emu, base)
    started = time.monotonic()
    proc = run_in_ee(ee_image, pdd)
    minutes = (time.monotonic() - started) / 60
    (base / 'logs' / 'site-in-ee.log').write_text(proc.stdout + '\n' + proc.stderr)
    assert proc.returncode == 0, 'ansible-runner in the EE failed (%.1f min):\n%s\n%s' % (
        minutes, proc.stdout[-6000:], proc.stderr[-2000:])

    # ansible-runner's own record of the job, as AWX reads it
    artifacts = sorted((pdd / 'artifacts').iterdir())
    assert len(artifacts) == 1
    assert (artifacts[0] / 'status').read_text().strip() == 'successful'
    assert (artifacts[0] / 'rc').read_text().strip() == '0'

    summary = recap(proc.stdout)
    assert sorted(summary) == ['ee-gw', 'localhost'], proc.stdout[-4000:]
    assert all(c['failed'] == 0 and c['unreachable'] == 0 for c in summary.values())
    assert summary['ee-gw']['changed'] > 0

    # The gateway answers on the VM, checked from outside the EE with the key the job created.
    run = Run(emu, pdd / 'ssh' / 'openclaw_gcp_ed25519', base / 'logs')
    hostvars = run.inventory()['_meta']['hostvars']
    assert list(hostvars) == ['ee-gw']
    address = hostvars['ee-gw']['ansible_host']
    health = ssh(address, run.key_file, 'curl -fsS --max-time 5 http://127.0.0.1:18789/healthz').stdout
    assert json.loads(health).get('ok') is True, health
    print('\nsite.yml in the EE: %.1f min' % minutes)
