"""Fixtures for the emulator's own tests: emulators in temporary directories, real clients."""

import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Offline guard (docs/DEVELOPING.md): google-auth's background lookup must stay on this machine.
for _name, _value in (("HTTPS_PROXY", "http://127.0.0.1:9"), ("https_proxy", "http://127.0.0.1:9"),
                      ("NO_PROXY", "127.0.0.1,localhost"), ("no_proxy", "127.0.0.1,localhost"),
                      ("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true"),
                      ("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")):
    if _name.lower().endswith("proxy") and os.environ.get("OPENCLAW_GCP_ONLINE") == "1":
        continue
    os.environ.setdefault(_name, _value)

from emulator.testing import Emulator  # noqa: E402  pylint: disable=wrong-import-position

PROJECT = "openclaw-demo"
ZONE = "us-central1-a"
DEBIAN_12 = "projects/debian-cloud/global/images/family/debian-12"


def pytest_configure(config):
    config.addinivalue_line("markers", "docker: needs a Docker engine and the openclaw-gcp/vm "
                            "images (the emulator's docker backend)")


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    """A memory-backend emulator without latency, shared by a test module."""
    with Emulator(tmp_path_factory.mktemp("emu"), backend="memory") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def session(emu):
    return authorized_session(emu)


def authorized_session(emulator):
    """google-auth's AuthorizedSession with the emulator's service-account key."""
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    credentials = service_account.Credentials.from_service_account_file(
        emulator.key_file, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


def compute(emulator, path):
    return "%s/compute/v1/projects/%s/%s" % (emulator.endpoint, PROJECT, path)


def instance_body(name, machine_type="e2-small", zone=ZONE, image=DEBIAN_12, **extra):
    body = {
        "name": name,
        "machineType": "zones/%s/machineTypes/%s" % (zone, machine_type),
        "disks": [{"boot": True, "autoDelete": True,
                   "initializeParams": {"sourceImage": image, "diskSizeGb": "20"}}],
        "networkInterfaces": [{"network": "global/networks/default",
                               "accessConfigs": [{"type": "ONE_TO_ONE_NAT",
                                                  "name": "External NAT"}]}],
    }
    body.update(extra)
    return body


def wait(session, emulator, operation, timeout=180):
    """Wait for a compute operation with the ``wait`` method (bounded); return it DONE."""
    deadline = time.monotonic() + timeout
    scope = "zones/%s" % operation["zone"].rsplit("/", 1)[1] if "zone" in operation else "global"
    while True:
        answer = session.post(compute(emulator, "%s/operations/%s/wait"
                                      % (scope, operation["name"])))
        assert answer.status_code == 200, answer.text
        operation = answer.json()
        if operation["status"] == "DONE":
            return operation
        assert time.monotonic() < deadline, "operation %s not done" % operation["name"]


def reason(answer):
    return answer.json()["error"]["errors"][0]["reason"]
