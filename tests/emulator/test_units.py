"""Pure pieces without a server: command line, guest-agent key parsing, limits, fingerprints."""

import pytest

from emulator import catalog, util
from emulator.__main__ import parse_args
from emulator.docker_backend import container_name, machine_limits, ssh_users


def test_documented_command_line():
    args = parse_args(["--state-dir", "d", "--host", "127.0.0.1", "--port", "0", "--backend",
                       "docker", "--project", "a-project", "b-project", "--project", "c-project",
                       "--latency", "1.5", "--fault-rate", "0.2", "--lost-rate", "0.1",
                       "--fault-seed", "7", "--fault-budget", "3", "--https-proxy-port", "0"])
    assert args.project == ["a-project", "b-project", "c-project"]
    assert (args.backend, args.latency, args.fault_rate, args.lost_rate) == ("docker", 1.5, 0.2,
                                                                             0.1)
    assert (args.fault_seed, args.fault_budget, args.https_proxy_port) == (7, 3, 0)
    defaults = parse_args(["--state-dir", "d"])
    assert (defaults.backend, defaults.port, defaults.latency, defaults.fault_budget) == (
        "memory", 0, 0.0, None)
    for bad in (["--latency", "-1"], ["--fault-rate", "1.5"], ["--backend", "vm"]):
        with pytest.raises(SystemExit):
            parse_args(["--state-dir", "d"] + bad)


def test_ssh_keys_metadata_parsing():
    inst = {"metadata": {"items": [
        {"key": "ssh-keys", "value": "alice:ssh-ed25519 AAAA alice@laptop\n\n"
                                     "bob:ssh-rsa BBBB google-ssh {\"userName\":\"bob\"}\n"
                                     "Bad User:ssh-ed25519 CCCC\nnocolon\ncarol:"},
        {"key": "sshKeys", "value": "alice:ssh-ed25519 DDDD second"},
        {"key": "startup-script", "value": "dave:ssh-ed25519 EEEE"}]},
        "_project_ssh_keys": "erin:ssh-ed25519 FFFF erin"}
    assert ssh_users(inst) == {
        "alice": ["ssh-ed25519 AAAA alice@laptop", "ssh-ed25519 DDDD second"],
        "bob": ["ssh-rsa BBBB google-ssh {\"userName\":\"bob\"}"],
        "erin": ["ssh-ed25519 FFFF erin"]}


def test_machine_types_become_container_limits():
    def limits(name):
        return machine_limits({"machineType": util.link(
            "projects/p/zones/us-central1-a/machineTypes/%s" % name)})
    assert limits("e2-micro")[0] == 1024 ** 3
    assert limits("e2-small")[0] == 2 * 1024 ** 3
    assert limits("e2-medium")[0] == 4 * 1024 ** 3
    assert limits("e2-standard-2")[0] == 8 * 1024 ** 3
    assert limits("e2-custom-2-3072")[0] == 3 * 1024 ** 3
    assert 0 < limits("n2-standard-8")[1] <= 8 * 100000
    assert container_name("openclaw-demo", "us-central1-a", "gw") == \
        "gce-openclaw-demo-us-central1-a-gw"


@pytest.mark.parametrize("name, ok", [("e2-small", True), ("custom-4-8192", True),
                                      ("n2-custom-2-4096", True), ("custom-3-4096", False),
                                      ("custom-2-100", False), ("custom-2-65536", False),
                                      ("custom-2-65536-ext", True), ("e2-tiny", False)])
def test_machine_type_names(name, ok):
    assert (catalog.machine_spec(name) is not None) is ok


def test_fingerprint_encodings():
    value = util.fingerprint({"a": 1})
    assert util.same_fingerprint(value, value)
    assert util.same_fingerprint(value.replace("+", "-").replace("/", "_").rstrip("="), value)
    assert not util.same_fingerprint("", value)
    assert not util.same_fingerprint(None, value)
    assert not util.same_fingerprint(util.fingerprint({"a": 2}), value)
