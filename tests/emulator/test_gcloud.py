"""The real gcloud CLI against the emulator: create, list, describe, stop, set-machine-type,
start, add-labels, delete, on both backends."""

import json
import os
import shutil
import subprocess
import uuid

import pytest

from emulator_helpers import ZONE
from emulator.testing import Emulator

GCLOUD = shutil.which("gcloud")


def run_gcloud(emu, config_dir, *args):
    env = dict(os.environ)
    env.update(emu.gcloud_env(config_dir))
    done = subprocess.run([GCLOUD, *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, "gcloud %s failed:\n%s" % (" ".join(args), done.stderr)
    return done.stdout


def lifecycle(emu, config_dir, name, extra_create=()):
    def gcloud(*args):
        return run_gcloud(emu, config_dir, *args)

    where = ["--zone", ZONE]
    gcloud("compute", "instances", "create", name, *where, "--machine-type", "e2-micro",
           "--image-family", "debian-12", "--image-project", "debian-cloud",
           "--boot-disk-size", "20GB", "--labels", "env=test", *extra_create)
    listed = json.loads(gcloud("compute", "instances", "list", "--format", "json",
                               "--filter", "labels.env=test"))
    assert [i["name"] for i in listed] == [name]
    described = json.loads(gcloud("compute", "instances", "describe", name, *where,
                                  "--format", "json"))
    assert described["status"] == "RUNNING"
    assert described["machineType"].endswith("/machineTypes/e2-micro")
    assert described["disks"][0]["diskSizeGb"] == "20"
    gcloud("compute", "instances", "stop", name, *where)
    assert json.loads(gcloud("compute", "instances", "describe", name, *where, "--format",
                             "json"))["status"] == "TERMINATED"
    gcloud("compute", "instances", "set-machine-type", name, *where, "--machine-type",
           "e2-small")
    gcloud("compute", "instances", "start", name, *where)
    gcloud("compute", "instances", "add-labels", name, *where, "--labels", "team=openclaw")
    described = json.loads(gcloud("compute", "instances", "describe", name, *where,
                                  "--format", "json"))
    assert described["status"] == "RUNNING"
    assert described["machineType"].endswith("/machineTypes/e2-small")
    assert described["labels"] == {"env": "test", "team": "openclaw", "goog-ops-agent-policy": "v2-x86-template-1-4-0"}
    gcloud("compute", "instances", "delete", name, *where, "--quiet")
    assert json.loads(gcloud("compute", "instances", "list", "--format", "json")) == []
    return described


def test_gcloud_on_the_memory_backend(tmp_path):
    assert GCLOUD, "the gcloud CLI must be on PATH"
    with Emulator(tmp_path / "state", backend="memory", latency=0.3) as emu:
        lifecycle(emu, tmp_path / "gcloud", "gcloud-mem")
        writes = [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in emu.writes()
                  if "/operations/" not in w["path"]]
        assert writes == [("POST", "instances"), ("POST", "stop"), ("POST", "setMachineType"),
                          ("POST", "start"), ("POST", "setLabels"), ("DELETE", "gcloud-mem")]
        assert all(line["status"] < 400 for line in emu.requests())


@pytest.mark.docker
def test_gcloud_on_the_docker_backend(tmp_path):
    assert GCLOUD, "the gcloud CLI must be on PATH"
    name = "gcloud-dkr-" + uuid.uuid4().hex[:6]
    with Emulator(tmp_path / "state", backend="docker") as emu:
        described = lifecycle(emu, tmp_path / "gcloud", name)
        assert described["networkInterfaces"][0]["accessConfigs"][0]["natIP"].startswith("127.")
        gone = subprocess.run(["docker", "container", "inspect", "gce-openclaw-demo-%s-%s"
                               % (ZONE, name)], capture_output=True, check=False)
        assert gone.returncode != 0
