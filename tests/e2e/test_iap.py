# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible reaches a gateway VM through Identity-Aware Proxy TCP forwarding only.

provision.yml with openclaw_gcp_ssh_via=iap opens port 22 to IAP's range only, trusts the VM's
host keys from Google and connects (wait_for_connection runs a module on the VM) through the real
`gcloud compute start-iap-tunnel` as ssh's ProxyCommand; the emulator's relay counts the
sessions. gcloud reaches Google's hosts (compute, oauth2, tunnel.cloudproxy.app) through the
same HTTPS proxy as the modules, with its CA in core/custom_ca_certs_file and the service
account key as its credential: nothing in the run knows about the emulator. verify.yml in check
mode then prints the Control UI tunnel through IAP. With OPENCLAW_GCP_E2E_IAP_SITE=1, site.yml
then deploys a real gateway on that VM through IAP (about 6 more minutes).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request

import pytest

from e2e_helpers import ROOT, recap

pytestmark = pytest.mark.e2e

GATEWAY = {'name': 'e2e-iap', 'zone': 'us-central1-a'}
ARGS = ['-e', json.dumps({'openclaw_gcp_gateways': [GATEWAY], 'openclaw_gcp_ssh_via': 'iap'})]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def iap_stats(emu):
    return json.loads(NO_PROXY.open(emu.endpoint + '/_emulator/iap', timeout=10).read())


@pytest.fixture(scope='module')
def iap_run(e2e, tmp_path_factory):
    """The e2e run, with gcloud configured as an operator behind a TLS-inspecting proxy would."""
    emu = e2e.emu
    gcloud_dir = tmp_path_factory.mktemp('gcloud')
    plain_env = e2e.env

    def env():
        values = plain_env()
        values.update({'CLOUDSDK_CONFIG': str(gcloud_dir),
                       'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE': emu.info['ca_file'],
                       'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE': emu.google_key_file,
                       'CLOUDSDK_CORE_DISABLE_PROMPTS': '1'})
        return values
    e2e.env = env
    yield e2e
    e2e.env = plain_env


def test_provision_connects_through_iap_only(iap_run):
    emu = iap_run.emu
    before = iap_stats(emu)['sessions']
    proc = iap_run.playbook(ROOT / 'playbooks' / 'provision.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert summary['e2e-iap']['failed'] == 0 and summary['e2e-iap']['unreachable'] == 0
    assert iap_stats(emu)['sessions'] > before, 'no SSH session went through IAP'
    request = urllib.request.Request('%s/compute/v1/projects/%s/global/firewalls/openclaw-allow-ssh'
                                     % (emu.endpoint, emu.project),
                                     headers={'Authorization': 'Bearer ' + emu.token})
    firewall = json.loads(NO_PROXY.open(request, timeout=10).read())
    assert firewall['sourceRanges'] == ['35.235.240.0/20']
    # Host keys came from Google and are what the connection checked.
    known = iap_run.known_hosts_file.read_text()
    assert 'openclaw-gcp-instance-id=' in known

    # verify.yml (check mode: the gateway is not deployed here) prints the tunnel through IAP.
    proc = iap_run.playbook(ROOT / 'playbooks' / 'verify.yml', '--check', *ARGS)
    tunnel = re.search(r'^\s*(ssh -i .*ProxyCommand=.*start-iap-tunnel e2e-iap 22 .*-L 18789:127\.0\.0\.1:18789 '
                       r'openclaw@\S+)\s*$', proc.stdout, re.M)
    assert tunnel, proc.stdout[-4000:]


@pytest.mark.skipif(os.environ.get('OPENCLAW_GCP_E2E_IAP_SITE') != '1',
                    reason='about 6 minutes (a gateway build); OPENCLAW_GCP_E2E_IAP_SITE=1 runs it')
def test_site_through_iap(iap_run):
    """The whole of site.yml on that VM (Docker, state, a real gateway, its health) through IAP:
    passed in 6 minutes on 2026-12-04. Opt-in, as it doubles this module's time."""
    emu = iap_run.emu
    before = iap_stats(emu)['sessions']
    proc = iap_run.playbook(ROOT / 'site.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert summary['e2e-iap']['failed'] == 0 and summary['e2e-iap']['unreachable'] == 0
    assert iap_stats(emu)['sessions'] > before
    assert re.search(r'Gateway e2e-iap \(us-central1-a\) is healthy', proc.stdout), proc.stdout[-4000:]
