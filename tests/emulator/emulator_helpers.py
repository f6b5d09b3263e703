"""Helpers shared by the emulator's tests (imported by name: no clash with other conftests)."""

import time

PROJECT = "openclaw-demo"
ZONE = "us-central1-a"
DEBIAN_12 = "projects/debian-cloud/global/images/family/debian-12"


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
