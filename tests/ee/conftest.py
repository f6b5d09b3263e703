# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the execution-environment test: the EE image (make ee) and a docker-backed emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'e2e'))

from emulator.testing import Emulator  # noqa: E402
from e2e_helpers import REQUIRED_IMAGES, ROOT  # noqa: E402

EE_IMAGE = os.environ.get('OPENCLAW_GCP_EE_IMAGE', 'openclaw-gcp/ee:latest')


def pytest_configure(config):
    config.addinivalue_line('markers', 'ee: site.yml inside the execution environment with ansible-runner '
                                       '(needs Docker, the local images and the package index for a first build)')


@pytest.fixture(scope='session')
def ee_image():
    """The execution environment, built by scripts/ee.sh (a no-op when its recipe is unchanged)."""
    for image in REQUIRED_IMAGES:
        probe = subprocess.run(['docker', 'image', 'inspect', image], capture_output=True, check=False)
        assert probe.returncode == 0, 'local image %s missing; run `make setup` first' % image
    proc = subprocess.run([str(ROOT / 'scripts' / 'ee.sh')], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800, check=False)
    assert proc.returncode == 0, 'make ee failed:\n%s\n%s' % (proc.stdout[-3000:], proc.stderr[-3000:])
    return EE_IMAGE


@pytest.fixture(scope='module')
def ee_emulator(tmp_path_factory, ee_image):
    """A docker-backed emulator reached through its HTTPS proxy, as Google is from a corporate network."""
    base = tmp_path_factory.mktemp('ee')
    logs = base / 'logs'
    logs.mkdir()
    with Emulator(str(base / 'emulator'), backend='docker', https_proxy_port=0, enabled_services=()) as emu:
        yield emu, base
        print('\nee logs: %s' % logs)
