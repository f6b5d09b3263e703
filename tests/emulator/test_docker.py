"""The docker backend: instances are systemd containers reachable over SSH on 127.0.0.N:22."""

import fcntl
import json
import os
import subprocess
import time
import uuid

import pytest

from emulator_helpers import ZONE, authorized_session, compute, instance_body, wait
from emulator.testing import Emulator

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def demu(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("demu"), backend="docker") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for user in ("alice", "bob"):
        path = folder / user
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f",
                        str(path)], check=True)
        made[user] = (str(path), path.with_suffix(".pub").read_text().strip())
    return made


def ssh(keys, user, address, command, check=True):
    done = subprocess.run(
        ["ssh", "-i", keys[user][0], "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
         "%s@%s" % (user, address), command], capture_output=True, text=True, timeout=60,
        check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def inspect(name):
    done = subprocess.run(["docker", "container", "inspect", name], capture_output=True,
                          text=True, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def ssh_keys_item(keys, *users):
    return {"key": "ssh-keys", "value": "\n".join("%s:%s" % (u, keys[u][1]) for u in users)}


def test_ssh_sudo_limits_and_disk_across_stop_start(demu, keys):
    session = authorized_session(demu)
    name = "vm-" + uuid.uuid4().hex[:6]
    op = session.post(compute(demu, "zones/%s/instances" % ZONE), json=instance_body(
        name, machine_type="e2-micro", metadata={"items": [ssh_keys_item(keys, "alice")]}))
    assert op.status_code == 200
    assert "error" not in wait(session, demu, op.json())
    inst = session.get(compute(demu, "zones/%s/instances/%s" % (ZONE, name))).json()
    assert inst["status"] == "RUNNING"
    address = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    assert address.startswith("127.0.")
    container = inspect("gce-openclaw-demo-%s-%s" % (ZONE, name))
    assert container["Config"]["Labels"]["org.openclaw-gcp.emulator"] == "1"
    assert container["HostConfig"]["Memory"] == 1024 ** 3
    assert container["HostConfig"]["Privileged"] is False
    assert inst["networkInterfaces"][0]["networkIP"] == \
        container["NetworkSettings"]["IPAddress"]
    # RUNNING means sshd answers and the metadata user exists: no retry needed.
    assert ssh(keys, "alice", address, "sudo -n id -u").stdout.strip() == "0"
    ssh(keys, "alice", address, "echo persisted > ~/state.txt && sudo -n sh -c "
        "'echo root-file > /etc/openclaw-marker'")
    assert ssh(keys, "alice", address, "findmnt -n -o TARGET /var/lib/docker").stdout.strip() \
        == "/var/lib/docker"

    wait(session, demu, session.post(compute(demu, "zones/%s/instances/%s/stop"
                                             % (ZONE, name))).json())
    assert inspect(container["Name"].lstrip("/"))["State"]["Running"] is False
    op = session.post(compute(demu, "zones/%s/instances/%s/setMachineType" % (ZONE, name)),
                      json={"machineType": "zones/%s/machineTypes/e2-small" % ZONE})
    assert "error" not in wait(session, demu, op.json())
    wait(session, demu, session.post(compute(demu, "zones/%s/instances/%s/start"
                                             % (ZONE, name))).json())
    after = inspect(container["Name"].lstrip("/"))
    assert after["Id"] == container["Id"] and after["HostConfig"]["Memory"] == 2 * 1024 ** 3
    assert ssh(keys, "alice", address, "cat ~/state.txt /etc/openclaw-marker").stdout.split() \
        == ["persisted", "root-file"]

    wait(session, demu, session.delete(compute(demu, "zones/%s/instances/%s"
                                               % (ZONE, name))).json())
    assert inspect(container["Name"].lstrip("/")) is None
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", "name=" +
                              container["Name"].lstrip("/")], capture_output=True, text=True,
                             check=True).stdout.split()
    assert volumes == []


def test_set_metadata_grants_and_revokes_users_on_debian_13(demu, keys):
    session = authorized_session(demu)
    name = "vm13-" + uuid.uuid4().hex[:6]
    op = session.post(compute(demu, "zones/%s/instances" % ZONE), json=instance_body(
        name, image="projects/debian-cloud/global/images/family/debian-13",
        metadata={"items": [ssh_keys_item(keys, "alice")]}))
    assert "error" not in wait(session, demu, op.json())
    inst = session.get(compute(demu, "zones/%s/instances/%s" % (ZONE, name))).json()
    address = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    assert ssh(keys, "alice", address, "cut -d. -f1 /etc/debian_version").stdout.strip() == "13"
    assert ssh(keys, "bob", address, "true", check=False).returncode != 0
    op = session.post(compute(demu, "zones/%s/instances/%s/setMetadata" % (ZONE, name)), json={
        "fingerprint": inst["metadata"]["fingerprint"], "items": [ssh_keys_item(keys, "bob")]})
    assert "error" not in wait(session, demu, op.json())
    assert ssh(keys, "bob", address, "sudo -n whoami").stdout.strip() == "root"
    assert ssh(keys, "alice", address, "true", check=False).returncode != 0

    # Project-wide ssh-keys reach every instance that does not block them.
    project = session.get(compute(demu, "")[:-1]).json()
    op = session.post(compute(demu, "setCommonInstanceMetadata"), json={
        "fingerprint": project["commonInstanceMetadata"]["fingerprint"],
        "items": [ssh_keys_item(keys, "alice")]})
    assert "error" not in wait(session, demu, op.json())
    assert ssh(keys, "alice", address, "sudo -n true", check=False).returncode == 0
    inst = session.get(compute(demu, "zones/%s/instances/%s" % (ZONE, name))).json()
    op = session.post(compute(demu, "zones/%s/instances/%s/setMetadata" % (ZONE, name)), json={
        "fingerprint": inst["metadata"]["fingerprint"],
        "items": [ssh_keys_item(keys, "bob"), {"key": "block-project-ssh-keys",
                                               "value": "true"}]})
    assert "error" not in wait(session, demu, op.json())
    assert ssh(keys, "alice", address, "true", check=False).returncode != 0
    assert ssh(keys, "bob", address, "true", check=False).returncode == 0

    demu.restart()
    session = authorized_session(demu)
    again = session.get(compute(demu, "zones/%s/instances/%s" % (ZONE, name))).json()
    assert again["status"] == "RUNNING"
    assert again["networkInterfaces"][0]["accessConfigs"][0]["natIP"] == address
    started = time.monotonic()
    wait(session, demu, session.post(compute(demu, "zones/%s/instances/%s/stop"
                                             % (ZONE, name))).json())
    assert time.monotonic() - started < 60
    assert inspect("gce-openclaw-demo-%s-%s" % (ZONE, name))["State"]["Running"] is False
    wait(session, demu, session.delete(compute(demu, "zones/%s/instances/%s"
                                               % (ZONE, name))).json())


def leftover_volume(name, owner_dir):
    """A disk volume as an emulator of ``owner_dir`` leaves it when it is killed."""
    subprocess.run(["docker", "volume", "create", "--label", "org.openclaw-gcp.emulator=1",
                    "--label", "org.openclaw-gcp.emulator.state=" + uuid.uuid4().hex[:16],
                    "--label", "org.openclaw-gcp.emulator.state-dir=" + str(owner_dir), name],
                   capture_output=True, check=True)


def test_leftovers_of_a_dead_emulator_are_reclaimed_a_live_ones_are_not(demu, tmp_path):
    """A killed run leaves volumes behind: when their emulator is gone (its state directory
    removed, or kept but nobody holding its owner lock) nobody else would ever remove them, so
    they are reclaimed. One of a running emulator is refused with the command that clears it."""
    with open(os.path.join(demu.state_dir, "docker-owner.lock"), "rb") as ours:
        with pytest.raises(BlockingIOError):  # the running emulator holds its own
            fcntl.flock(ours, fcntl.LOCK_EX | fcntl.LOCK_NB)
    session = authorized_session(demu)
    owners = {"gone": tmp_path / "gone", "dead": tmp_path / "dead", "live": tmp_path / "live"}
    owners["dead"].mkdir()
    owners["live"].mkdir()
    names = {kind: "disk-%s-%s" % (uuid.uuid4().hex[:6], kind) for kind in owners}
    volumes = {kind: "gcedisk-openclaw-demo-%s-%s" % (ZONE, names[kind]) for kind in owners}
    for kind, owner in owners.items():
        leftover_volume(volumes[kind], owner)
    disks = compute(demu, "zones/%s/disks" % ZONE)
    body = {"sizeGb": "10", "type": "zones/%s/diskTypes/pd-balanced" % ZONE}
    (owners["dead"] / "docker-owner.lock").touch()
    try:
        with open(owners["live"] / "docker-owner.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            op = wait(session, demu, session.post(disks, json=dict(body, name=names["live"])).json())
        error = op["error"]["errors"][0]
        assert error["code"] == "RESOURCE_ALREADY_EXISTS"
        assert str(owners["live"]) in error["message"]
        assert "docker volume rm " + volumes["live"] in error["message"]

        for kind in ("gone", "dead"):
            op = wait(session, demu, session.post(disks, json=dict(body, name=names[kind])).json())
            assert "error" not in op, op
            labels = json.loads(subprocess.run(
                ["docker", "volume", "inspect", volumes[kind]], capture_output=True, text=True,
                check=True).stdout)[0]["Labels"]
            assert labels["org.openclaw-gcp.emulator.state-dir"] == demu.state_dir
            wait(session, demu, session.delete("%s/%s" % (disks, names[kind])).json())
    finally:
        subprocess.run(["docker", "volume", "rm", "-f"] + list(volumes.values()),
                       capture_output=True, check=False)
