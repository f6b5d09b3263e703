# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the end-to-end tests: the docker-backed emulator for one test module."""

from __future__ import annotations

import subprocess

import pytest

from emulator.testing import Emulator
from e2e_helpers import REQUIRED_IMAGES, Run


def pytest_configure(config):
    config.addinivalue_line('markers', 'e2e: end-to-end run of the playbooks on docker-backed emulator VMs '
                                       '(select with -m e2e; needs Docker and the local images from make setup)')


@pytest.fixture(scope='session')
def docker_images():
    """The local images the docker backend and the gateway build need (built by make setup)."""
    missing = []
    for image in REQUIRED_IMAGES:
        if subprocess.run(['docker', 'image', 'inspect', image], capture_output=True, check=False).returncode != 0:
            missing.append(image)
    assert not missing, 'local images missing: %s; run `make setup` first' % ', '.join(missing)


@pytest.fixture(scope='module')
def e2e(request, tmp_path_factory, docker_images):
    """A docker-backed emulator, an operator key directory and a log directory for this module.

    The playbooks run in the product's default, private mode (no external IP, SSH through IAP),
    unless the module sets PUBLIC_IP = True (a drill about something else, in public mode: the
    IAP relay moves the gateway image about a minute slower per VM).
    The emulator is stopped by PID and its containers removed when the module ends.
    """
    base = tmp_path_factory.mktemp('e2e')
    key_dir = base / 'ssh'
    logs = base / 'logs'
    logs.mkdir()
    # As a new Google project: the Compute API starts disabled (site.yml enables it and waits out
    # its propagation), and the modules reach Google's own hosts through an HTTPS proxy.
    with Emulator(str(base / 'emulator'), backend='docker', https_proxy_port=0, enabled_services=()) as emu:
        run = Run(emu, key_dir / 'openclaw_gcp_ed25519', logs,
                  public_ip=getattr(request.module, 'PUBLIC_IP', False))
        yield run
        print('\ne2e logs: %s' % logs)
