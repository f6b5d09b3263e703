"""Memory drill: the gateway stack converged (image build included) and runs inside a 1 GiB VM
without swap (e2-micro size). The other test modules check this VM like the others."""

import json
import os
import time
from pathlib import Path

import pytest
from openclaw_checks import compose, local_docker, wait_healthy

GIB = 1024**3
MIB = 1024**2
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")

testinfra_hosts = ["memory_drill"]


@pytest.fixture(scope="module", name="vm")
def vm_fixture(host, settings):
    """The VM container as the machine running Molecule sees it."""
    wait_healthy(host, settings)
    info = json.loads(local_docker("container", "inspect", settings["instance"]).stdout)[0]
    proc = host.file("/proc/1/cgroup").content_string
    memory_path = next(line.split(":", 2)[2] for line in proc.splitlines() if ":memory:" in line)
    cgroup = memory_path.removesuffix("/init.scope")
    return {"info": info, "cgroup": cgroup, "dir": CGROUP_ROOT / cgroup.lstrip("/")}


def test_vm_is_limited_to_1_gib_without_swap(vm):
    host_config = vm["info"]["HostConfig"]
    assert host_config["Memory"] == GIB
    assert host_config["MemorySwap"] == GIB
    assert int((vm["dir"] / "memory.limit_in_bytes").read_text()) == GIB


def test_gateway_container_is_charged_to_the_vm(host, settings, vm):
    parent = host.run("docker info --format '{{.CgroupDriver}}'").stdout.strip()
    assert parent == "cgroupfs"
    cid = compose(host, settings, "ps", "-q", "--no-trunc", "openclaw-gateway").stdout.strip()
    assert (vm["dir"] / cid).is_dir(), f"gateway cgroup not under {vm['dir']}"


def test_gateway_container_has_its_own_cap(host, settings):
    """gateway_memory_limit auto on an e2-micro's 1024 MiB: 832m, what OpenClaw needs to start."""
    variables = host.ansible.get_variables()
    assert variables.get("gateway_memory_limit", "auto") == "auto"
    assert int(variables["gateway_host_memory_mb"]) == 1024
    cid = compose(host, settings, "ps", "-q", "openclaw-gateway").stdout.strip()
    inspect = host.run("docker inspect --format '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' %s", cid)
    assert inspect.stdout.split() == [str(832 * MIB)] * 2, inspect.stdout


def test_no_process_was_oom_killed(host, settings, vm):
    # cgroup v1 counts an OOM kill in the cgroup whose limit was hit: the VM's and the gateway's.
    cid = compose(host, settings, "ps", "-q", "--no-trunc", "openclaw-gateway").stdout.strip()
    for cgroup in (vm["dir"], vm["dir"] / cid):
        control = dict(line.split() for line in (cgroup / "memory.oom_control").read_text().splitlines())
        assert int(control.get("oom_kill", 0)) == 0, (str(cgroup), control)


def test_record_peak_memory_and_idle_rss(host, settings, vm):
    ephemeral = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    peak = json.loads((ephemeral / f"memory-{settings['instance']}.json").read_text())
    assert peak["samples"] > 0
    # Idle: let the gateway settle after the token checks, then read its container's cgroup.
    time.sleep(30)
    cid = compose(host, settings, "ps", "-q", "--no-trunc", "openclaw-gateway").stdout.strip()
    stat = dict(line.split() for line in (vm["dir"] / cid / "memory.stat").read_text().splitlines())
    idle_rss = int(stat["total_rss"])
    vm_stat = dict(line.split() for line in (vm["dir"] / "memory.stat").read_text().splitlines())
    report = {
        "limit_mib": GIB // MIB,
        "converge_peak_rss_mib": round(peak["peak_rss_bytes"] / MIB),
        "converge_peak_usage_incl_cache_mib": round(peak["peak_usage_bytes"] / MIB),
        "kernel_max_usage_incl_cache_mib": round(int((vm["dir"] / "memory.max_usage_in_bytes").read_text()) / MIB),
        "gateway_idle_rss_mib": round(idle_rss / MIB),
        "vm_idle_rss_mib": round(int(vm_stat["total_rss"]) / MIB),
        "samples": peak["samples"],
    }
    (ephemeral / "memory-report.json").write_text(json.dumps(report, indent=2))
    assert idle_rss < GIB
    assert peak["peak_rss_bytes"] < GIB
