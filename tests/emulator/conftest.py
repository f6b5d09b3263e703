"""Fixtures for the emulator's own tests: emulators in temporary directories, real clients."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Offline guard (docs/DEVELOPING.md): google-auth's background lookup must stay on this machine.
for _name, _value in (("HTTPS_PROXY", "http://127.0.0.1:9"), ("https_proxy", "http://127.0.0.1:9"),
                      ("NO_PROXY", "127.0.0.1,localhost"), ("no_proxy", "127.0.0.1,localhost"),
                      ("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true"),
                      ("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")):
    if _name.lower().endswith("proxy") and os.environ.get("OPENCLAW_GCP_ONLINE") == "1":
        continue
    os.environ.setdefault(_name, _value)

from emulator.testing import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator_helpers import authorized_session  # noqa: E402  pylint: disable=wrong-import-position


def pytest_configure(config):
    config.addinivalue_line("markers", "docker: needs a Docker engine and the openclaw-gcp/vm "
                            "images (the emulator's docker backend)")


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    """A memory-backend emulator without latency, shared by a test module."""
    with Emulator(tmp_path_factory.mktemp("emu"), backend="memory") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def session(emu):  # pylint: disable=redefined-outer-name
    return authorized_session(emu)
