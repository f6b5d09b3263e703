# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX layout without Docker: the inventory source file with exactly the variables AWX's GCE
credential injects (memory emulator behind its HTTPS proxy), and the EE recipe agreeing with the
collection's own pins."""

from __future__ import annotations

import json
import os
import re
import subprocess

import yaml

from emulator.testing import Emulator
from e2e_helpers import ROOT, plain
from test_ee import awx_gce_credential

AWX_INVENTORY = ROOT / 'inventory' / 'awx.gcp.compute.yml'


def test_awx_inventory_source_reads_the_gce_credential_variables(tmp_path):
    with Emulator(str(tmp_path / 'emulator'), https_proxy_port=0) as emu:
        emu.preload(6, zones=['us-central1-a', 'europe-west1-b'], gateway_every=2)
        client = emu.client_env('proxy')
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('GCP_', 'GCE_', 'CLOUDSDK_API')))
        env.update(awx_gce_credential(emu, tmp_path / 'creds.json'))
        env.update((k, client[k]) for k in ('HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy',
                                            'REQUESTS_CA_BUNDLE'))
        proc = subprocess.run(['ansible-inventory', '-i', str(AWX_INVENTORY), '--list'], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        inventory = plain(json.loads(proc.stdout))
        assert sorted(inventory['openclaw_gateways']['hosts']) == ['bench-00002', 'bench-00004', 'bench-00006']
        # preload alternates zones: the even-numbered VMs (the gateways) are all in the second one
        assert set(inventory['zone_europe_west1_b']['hosts']) == {'bench-00002', 'bench-00004', 'bench-00006'}
        assert '[WARNING]' not in proc.stderr, proc.stderr

        # Without the credential's key file the source fails loudly instead of listing nothing.
        env['GCP_SERVICE_ACCOUNT_FILE'] = str(tmp_path / 'missing.json')
        proc = subprocess.run(['ansible-inventory', '-i', str(AWX_INVENTORY), '--list'], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode != 0 or 'openclaw_gateways' not in proc.stdout


def test_ee_recipe_matches_the_collection_pins():
    ee = yaml.safe_load((ROOT / 'execution-environment.yml').read_text())
    assert ee['version'] == 3
    requirements = (ROOT / 'requirements.txt').read_text()
    runner = ee['dependencies']['ansible_runner']['package_pip']
    assert runner in requirements.splitlines(), 'EE ansible-runner %s not pinned the same in requirements.txt' % runner
    core = re.search(r'^ansible-core(\S+)$', requirements, re.M).group(1)
    assert ee['dependencies']['ansible_core']['package_pip'] == 'ansible-core' + core
    galaxy = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
    project_sync = yaml.safe_load((ROOT / 'collections' / 'requirements.yml').read_text())['collections']
    for name, version in galaxy['dependencies'].items():
        assert {'name': name, 'version': version} in project_sync
    meta = yaml.safe_load((ROOT / 'meta' / 'execution-environment.yml').read_text())
    for key in ('python', 'system'):
        assert (ROOT / meta['dependencies'][key]).is_file()
