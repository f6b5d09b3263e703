"""openclaw.gcp.gateway container hardening: what Docker applied, what the processes really get,
and that nothing on the VM listens beyond loopback except sshd (all VMs, the memory drill too)."""

import ipaddress
import json

import pytest
from openclaw_checks import compose, wait_healthy

testinfra_hosts = ["gateways"]

TMPFS = {"/tmp", "/home/node/.cache", "/home/node/.npm"}
MIB = 1024 * 1024
GIB = 1024 * MIB


@pytest.fixture(scope="module", autouse=True)
def healthy(host, settings):
    wait_healthy(host, settings)


def inspect_gateway(host, settings):
    cid = compose(host, settings, "ps", "-q", "openclaw-gateway").stdout.strip()
    assert cid, "no gateway container"
    result = host.run("docker inspect %s", cid)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)[0]


def test_docker_applied_the_hardening_to_the_gateway(host, settings):
    config = inspect_gateway(host, settings)["HostConfig"]
    assert config["CapDrop"] == ["ALL"], config["CapDrop"]
    assert not config["CapAdd"], config["CapAdd"]
    assert "no-new-privileges:true" in (config["SecurityOpt"] or []), config["SecurityOpt"]
    assert config["ReadonlyRootfs"] is True
    assert config["PidsLimit"] == 512, config["PidsLimit"]
    assert set(config["Tmpfs"] or {}) == TMPFS, config["Tmpfs"]
    assert config["Privileged"] is False


def test_memory_cap_is_sized_from_the_host(host, settings):
    """gateway_memory_limit auto: the host's memory less a quarter, 256 MiB to 1 GiB (less on hosts
    where that leaves the gateway under 832 MiB, at least 192 MiB). The Debian 12
    VM is told an e2-small's 2048 MiB and the memory drill an e2-micro's 1024 MiB (as the
    playbooks take them from the machine type); Debian 13 sizes from its gathered memory."""
    variables = host.ansible.get_variables()
    config = inspect_gateway(host, settings)["HostConfig"]
    assert config["Memory"] > 0 and config["MemorySwap"] == config["Memory"], config
    assert str(variables.get("gateway_memory_limit", "auto")) == "auto"
    if "gateway_host_memory_mb" in variables:
        expected = {2048: 1536, 1024: 832}[int(variables["gateway_host_memory_mb"])]
        assert config["Memory"] == expected * MIB, config["Memory"]
    else:
        total = host.ansible("setup", "filter=ansible_memtotal_mb")["ansible_facts"]["ansible_memtotal_mb"]
        kept = min(max(total // 4, 256), 1024, max(total - 832, 192))
        assert config["Memory"] == (total - kept) * MIB, (total, config["Memory"])


def proc_status(text):
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


@pytest.mark.parametrize("service", ["openclaw-gateway", "openclaw-cli"])
def test_processes_have_no_capabilities_and_a_read_only_root(host, settings, service):
    script = (
        "cat /proc/self/status; "
        "if touch /usr/local/openclaw-probe 2>/dev/null; then echo ROOT=writable; else echo ROOT=read-only; fi; "
        "touch /tmp/openclaw-probe && rm /tmp/openclaw-probe && echo TMP=writable; "
        "touch /home/node/.cache/openclaw-probe && rm /home/node/.cache/openclaw-probe && echo CACHE=writable"
    )
    if service == "openclaw-gateway":
        result = compose(host, settings, "exec", "-T", service, "sh", "-c", script)
    else:
        result = compose(host, settings, "run", "--rm", "-T", "--entrypoint", "sh", service, "-c", script)
    assert result.rc == 0, result.stdout + result.stderr
    status = proc_status(result.stdout)
    assert status["Uid"].split()[0] == "1000"
    for name in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(status[name].strip(), 16) == 0, (name, status[name])
    assert status["NoNewPrivs"].strip() == "1"
    assert "ROOT=read-only" in result.stdout
    assert "TMP=writable" in result.stdout
    assert "CACHE=writable" in result.stdout


def test_gateway_stays_up_read_only(host, settings):
    state = inspect_gateway(host, settings)["State"]
    assert state["Health"]["Status"] == "healthy"
    logs = compose(host, settings, "logs", "--no-color", "openclaw-gateway")
    assert "EROFS" not in logs.stdout + logs.stderr


def test_nothing_but_sshd_listens_beyond_loopback(host):
    listeners = host.run("ss -Htlnp")
    assert listeners.rc == 0, listeners.stderr
    exposed = []
    for line in listeners.stdout.splitlines():
        fields = line.split()
        address = fields[3].rsplit(":", 1)[0].strip("[]").split("%")[0]
        if address == "*":
            address = "0.0.0.0"
        ip = ipaddress.ip_address(address)
        mapped = getattr(ip, "ipv4_mapped", None)
        if (mapped or ip).is_loopback:
            continue
        if '"sshd"' in line:
            continue
        exposed.append(line)
    assert not exposed, exposed
