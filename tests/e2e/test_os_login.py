# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible logs in to a gateway VM through OS Login.

provision.yml with openclaw_gcp_os_login=true registers the operator key in the OS Login profile
of the automation service account (through the HTTPS proxy, at oslogin.googleapis.com), creates
the VM with enable-oslogin=TRUE and no ssh-keys line, and waits for SSH as the profile's POSIX
user (sa_ + the account's unique id): the docker VM only admits that user. The metadata user
`openclaw` does not exist there. With OPENCLAW_GCP_E2E_OSLOGIN_SITE=1, site.yml then deploys a
real gateway as that user (about 6 more minutes).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from e2e_helpers import ROOT, api, recap, ssh

pytestmark = pytest.mark.e2e
# Public mode: this drill is about something else; test_gateways and test_browser run the
# default, private mode through IAP.
PUBLIC_IP = True

GATEWAY = {'name': 'e2e-oslogin', 'zone': 'us-central1-a'}
ARGS = ['-e', json.dumps({'openclaw_gcp_gateways': [GATEWAY], 'openclaw_gcp_os_login': True})]


def posix_user(emu):
    account = api(emu, 'iam/v1/projects/%s/serviceAccounts/openclaw-automation@%s.iam.gserviceaccount.com'
                  % (emu.project, emu.project))
    return 'sa_' + account['uniqueId']


def address(emu):
    inst = api(emu, 'compute/v1/projects/%s/zones/%s/instances/%s' % (emu.project, GATEWAY['zone'], GATEWAY['name']))
    return inst, inst['networkInterfaces'][0]['accessConfigs'][0]['natIP']


def test_provision_logs_in_as_the_os_login_user(e2e):
    emu = e2e.emu
    proc = e2e.playbook(ROOT / 'playbooks' / 'provision.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert summary['e2e-oslogin']['failed'] == 0 and summary['e2e-oslogin']['unreachable'] == 0
    inst, where = address(emu)
    items = dict((i['key'], i['value']) for i in inst['metadata']['items'])
    assert items['enable-oslogin'] == 'TRUE' and 'ssh-keys' not in items
    user = posix_user(emu)
    done = ssh(where, e2e.key_file, 'id -un && sudo -n true && echo sudo-ok', user=user)
    assert done.stdout.split() == [user, 'sudo-ok']
    refused = ssh(where, e2e.key_file, 'true', user='openclaw', check=False)
    assert refused.returncode == 255

    # a second run changes nothing on the controller side
    proc = e2e.playbook(ROOT / 'playbooks' / 'provision.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)['localhost']['changed'] == 0


@pytest.mark.skipif(os.environ.get('OPENCLAW_GCP_E2E_OSLOGIN_SITE') != '1',
                    reason='about 6 minutes (a gateway build); OPENCLAW_GCP_E2E_OSLOGIN_SITE=1 runs it')
def test_site_as_the_os_login_user(e2e):
    """The whole of site.yml on that VM as the OS Login user: Docker, state, a real gateway."""
    proc = e2e.playbook(ROOT / 'site.yml', *ARGS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert summary['e2e-oslogin']['failed'] == 0 and summary['e2e-oslogin']['unreachable'] == 0
    assert re.search(r'Gateway e2e-oslogin \(us-central1-a\) is healthy', proc.stdout), proc.stdout[-4000:]
    dummy, where = address(e2e.emu)
    user = posix_user(e2e.emu)
    home = ssh(where, e2e.key_file, 'ls -d ~/.openclaw', user=user)
    assert home.stdout.strip() == '/home/%s/.openclaw' % user
