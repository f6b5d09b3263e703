"""instances.getGuestAttributes: the SSH host keys Google's guest agent publishes."""

import base64
import os
import shutil
import subprocess
import time
import uuid

import pytest

from emulator.testing import Emulator
from emulator_helpers import PROJECT, ZONE, authorized_session, compute, instance_body, wait

DELAY = 1.5
GCLOUD = shutil.which("gcloud")
ENABLE = {"key": "enable-guest-attributes", "value": "TRUE"}


def hostkeys(session, emu, name, **params):
    params = params or {"queryPath": "hostkeys/"}
    return session.get(compute(emu, "zones/%s/instances/%s/getGuestAttributes" % (ZONE, name)),
                       params=params)


def published(session, emu, name, timeout=30):
    """The hostkeys/ items once the guest agent published them (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = hostkeys(session, emu, name)
        if answer.status_code == 200:
            return {i["key"]: i["value"] for i in answer.json()["queryValue"]["items"]}
        assert answer.status_code == 404, answer.text
        assert time.monotonic() < deadline, "no host keys published for %s" % name
        time.sleep(0.25)


def test_host_keys_appear_after_boot_and_stay_stable(tmp_path):
    with Emulator(tmp_path / "state", propagation_delay=DELAY) as emu:
        session = authorized_session(emu)
        op = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
            "keyed", metadata={"items": [ENABLE]}))
        assert "error" not in wait(session, emu, op.json())
        early = hostkeys(session, emu, "keyed")     # the guest agent has not started yet
        assert early.status_code == 404, early.text
        assert early.json()["error"]["message"] == \
            "The resource 'hostkeys/' of type 'Guest Attribute' was not found."
        keys = published(session, emu, "keyed")
        body = hostkeys(session, emu, "keyed").json()
        assert body["kind"] == "compute#guestAttributes" and body["queryPath"] == "hostkeys/"
        assert {i["namespace"] for i in body["queryValue"]["items"]} == {"hostkeys"}
        assert set(keys) == {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"}
        for kind, value in keys.items():        # the bare base64 blob, as Google publishes it
            assert " " not in value
            blob = base64.b64decode(value)
            assert blob[4:4 + len(kind)] == kind.encode()
        one = hostkeys(session, emu, "keyed", variableKey="hostkeys/ssh-ed25519").json()
        assert one["variableKey"] == "hostkeys/ssh-ed25519"
        assert one["variableValue"] == keys["ssh-ed25519"] and "queryValue" not in one
        single = hostkeys(session, emu, "keyed", queryPath="hostkeys/ssh-rsa").json()
        assert [i["key"] for i in single["queryValue"]["items"]] == ["ssh-rsa"]
        missing = hostkeys(session, emu, "keyed", variableKey="hostkeys/ssh-dss")
        assert missing.status_code == 404 and "'hostkeys/ssh-dss'" in missing.text
        bad = hostkeys(session, emu, "keyed", queryPath="no slash")
        assert bad.status_code == 400
        assert hostkeys(session, emu, "nope").status_code == 404

        # Not enabled: nothing is ever published. Project metadata enables it for all.
        op = session.post(compute(emu, "zones/%s/instances" % ZONE),
                          json=instance_body("unkeyed"))
        assert "error" not in wait(session, emu, op.json())
        time.sleep(DELAY + 0.2)
        assert hostkeys(session, emu, "unkeyed").status_code == 404
        project = session.get(compute(emu, "")).json()
        assert session.post(compute(emu, "setCommonInstanceMetadata"), json={
            "fingerprint": project["commonInstanceMetadata"]["fingerprint"],
            "items": [ENABLE]}).status_code == 200
        assert set(published(session, emu, "unkeyed")) == set(keys)
        assert published(session, emu, "unkeyed") != keys      # keys are per instance

        # The same keys after a restart of the emulator (they are part of the state).
        emu.restart()
        session = authorized_session(emu)
        assert published(session, emu, "keyed") == keys


@pytest.mark.skipif(GCLOUD is None, reason="the gcloud CLI is not installed")
def test_gcloud_get_guest_attributes(tmp_path):
    with Emulator(tmp_path / "state", propagation_delay=0) as emu:
        session = authorized_session(emu)
        op = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
            "gvm", metadata={"items": [ENABLE]}))
        assert "error" not in wait(session, emu, op.json())
        keys = published(session, emu, "gvm")
        env = dict(os.environ)
        env.update(emu.gcloud_env(tmp_path / "gcloud"))
        done = subprocess.run([GCLOUD, "compute", "instances", "get-guest-attributes", "gvm",
                               "--zone", ZONE, "--query-path=hostkeys/"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:] if line.strip()]
    assert done.stdout.split()[:3] == ["NAMESPACE", "KEY", "VALUE"]
    assert {row[1]: row[2] for row in rows if row[0] == "hostkeys"} == keys


@pytest.mark.docker
def test_docker_instances_publish_their_real_host_keys(tmp_path):
    name = "ga-" + uuid.uuid4().hex[:6]
    with Emulator(tmp_path / "state", backend="docker", propagation_delay=0) as emu:
        session = authorized_session(emu)
        op = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
            name, machine_type="e2-small", metadata={"items": [ENABLE]}))
        assert "error" not in wait(session, emu, op.json())
        keys = published(session, emu, name)
        container = "gce-%s-%s-%s" % (PROJECT, ZONE, name)
        real = subprocess.run(["docker", "exec", container, "sh", "-c",
                               "cat /etc/ssh/ssh_host_*_key.pub"], capture_output=True,
                              text=True, check=True).stdout
        assert keys == {line.split()[0]: line.split()[1] for line in real.splitlines()}
        # What sshd presents on the instance's address is what was published.
        address = session.get(compute(emu, "zones/%s/instances/%s" % (ZONE, name))).json()[
            "networkInterfaces"][0]["accessConfigs"][0]["natIP"]
        scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", address], capture_output=True,
                              text=True, timeout=30, check=False)
        presented = [line.split() for line in scan.stdout.splitlines() if " ssh-ed25519 " in line]
        assert presented and presented[0][2] == keys["ssh-ed25519"], scan.stderr
