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


def test_compute_times_from_resource_manager_times():
    assert util.from_zulu("2026-12-04T11:27:00.123456Z") == "2026-12-04T03:27:00.123-08:00"
    assert util.from_zulu("2026-01-01T05:00:00.000000Z") == "2025-12-31T21:00:00.000-08:00"


def test_auto_mode_subnets_cover_every_region_without_overlap():
    import ipaddress  # pylint: disable=import-outside-toplevel
    assert set(catalog.AUTO_SUBNETS) == set(catalog.REGIONS)
    ranges = [ipaddress.ip_network(c) for c in catalog.AUTO_SUBNETS.values()]
    assert all(r.prefixlen == 20 and r.subnet_of(ipaddress.ip_network("10.128.0.0/9"))
               for r in ranges)
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1:])
    assert catalog.AUTO_SUBNETS["us-central1"] == "10.128.0.0/20"
    assert catalog.AUTO_SUBNETS["europe-west1"] == "10.132.0.0/20"
    assert catalog.AUTO_SUBNETS["us-east1"] == "10.142.0.0/20"


def test_published_resources_leave_empty_fields_out():
    from emulator.common import published  # pylint: disable=import-outside-toplevel
    stored = {"name": "a", "labels": {}, "description": "", "_disk": {"x": 1},
              "metadata": {"fingerprint": "f1", "items": []}, "tags": {"fingerprint": "f2"},
              "labelFingerprint": "f3", "networkInterfaces": [{"accessConfigs": [
                  {"type": "ONE_TO_ONE_NAT", "_static": False}]}]}
    assert published(stored) == {
        "name": "a", "metadata": {"fingerprint": "f1"}, "tags": {"fingerprint": "f2"},
        "labelFingerprint": "f3", "networkInterfaces": [{"accessConfigs": [
            {"type": "ONE_TO_ONE_NAT"}]}]}
    full = {"labels": {"a": "b"}, "description": "d", "metadata": {"items": [{"key": "k"}]}}
    assert published(full) == full
    assert stored["labels"] == {} and stored["metadata"]["items"] == []   # not changed


def test_batch_parts_are_parsed_like_apitools_writes_them():
    from emulator.batch import parse_parts  # pylint: disable=import-outside-toplevel
    from emulator.errors import ApiError  # pylint: disable=import-outside-toplevel
    body = ("--===1==\nContent-Type: application/http\nMIME-Version: 1.0\n"
            "Content-Transfer-Encoding: binary\nContent-ID: <abc+1>\n\n"
            "POST /compute/v1/projects/p/zones/z/instances?alt=json HTTP/1.1\n"
            "Content-Type: application/json\nMIME-Version: 1.0\ncontent-length: 13\n"
            "Host: compute.googleapis.com\n\n{\"name\": \"a\"}\n"
            "--===1==\nContent-Type: application/http\nContent-ID: <abc+2>\n\n"
            "DELETE https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances/b"
            "?alt=json HTTP/1.1\n\n\n"
            "--===1==--\n").encode()
    parts = parse_parts('multipart/mixed; boundary="===1=="', body)
    assert [(p[0], p[1], p[2]) for p in parts] == [
        ("<abc+1>", "POST", "/compute/v1/projects/p/zones/z/instances?alt=json"),
        ("<abc+2>", "DELETE", "/compute/v1/projects/p/zones/z/instances/b?alt=json")]
    assert parts[0][4].strip() == b'{"name": "a"}' and parts[1][4] == b""
    assert parts[0][3]["Host"] == "compute.googleapis.com"
    for content_type in ("application/json", None):
        with pytest.raises(ApiError):
            parse_parts(content_type, body)
