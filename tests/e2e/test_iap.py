# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible reaches a gateway VM through Identity-Aware Proxy TCP forwarding only.

provision.yml in the default, private mode gives the VM no external address, opens port 22 to
IAP's range only, trusts the VM's host keys from Google and connects (wait_for_connection runs a
module on the VM) through the real `gcloud compute start-iap-tunnel` as ssh's ProxyCommand; the
emulator's relay counts the sessions. gcloud reaches Google's hosts (compute, oauth2,
tunnel.cloudproxy.app) through the same HTTPS proxy as the modules (e2e_helpers.Run.env):
nothing in the run knows about the emulator. verify.yml in check mode then prints the Control UI
tunnel through IAP. The whole of site.yml through IAP is test_gateways' and test_browser's.
"""

from __future__ import annotations

import json
import re

import pytest

from e2e_helpers import ROOT, api, recap

pytestmark = pytest.mark.e2e

GATEWAY = {'name': 'e2e-iap', 'zone': 'us-central1-a'}
ARGS = ['-e', json.dumps({'openclaw_gcp_gateways': [GATEWAY]})]


def test_provision_connects_through_iap_only(e2e):
    emu = e2e.emu
    before = emu.iap_stats()['sessions']
    proc = e2e.playbook(ROOT / 'playbooks' / 'provision.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert summary['e2e-iap']['failed'] == 0 and summary['e2e-iap']['unreachable'] == 0
    assert emu.iap_stats()['sessions'] > before, 'no SSH session went through IAP'
    firewall = api(emu, 'compute/v1/projects/%s/global/firewalls/openclaw-allow-ssh' % emu.project)
    assert firewall['sourceRanges'] == ['35.235.240.0/20']
    # Host keys came from Google and are what the connection checked.
    known = e2e.known_hosts_file.read_text()
    assert 'openclaw-gcp-instance-id=' in known

    # verify.yml (check mode: the gateway is not deployed here) prints the tunnel through IAP.
    proc = e2e.playbook(ROOT / 'playbooks' / 'verify.yml', '--check', *ARGS)
    tunnel = re.search(r'^\s*(ssh -i .*ProxyCommand=.*start-iap-tunnel e2e-iap 22 .*-L 18789:127\.0\.0\.1:18789 '
                       r'openclaw@\S+)\s*$', proc.stdout, re.M)
    assert tunnel, proc.stdout[-4000:]
