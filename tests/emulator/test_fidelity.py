"""What the real gcloud CLI sees must be what Google answers: aggregated disks and operations,
the batch endpoint, ephemeral external addresses, auto mode subnet ranges, empty fields left
out, Google's fields and types, Google's page for an unknown URL, and `gcloud compute ssh`
adding its key to the metadata."""

import ipaddress
import json
import os
import re
import shutil
import stat
import subprocess
import urllib.error
import urllib.request

import pytest

from emulator_helpers import ZONE
from emulator.testing import Emulator

GCLOUD = shutil.which("gcloud")
IMAGE = ["--image-family", "debian-12", "--image-project", "debian-cloud"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def gcloud_runner(emu, tmp_path, extra_env=None):
    env = dict(os.environ)
    env.update(emu.gcloud_env(tmp_path / "gcloud"))
    env["HOME"] = str(tmp_path / "home")   # gcloud's ~/.ssh files stay in the test's directory
    env.update(extra_env or {})

    def gcloud(*args, check=True):
        done = subprocess.run([GCLOUD, *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        if check:
            assert done.returncode == 0, "gcloud %s failed:\n%s" % (" ".join(args), done.stderr)
            return done.stdout
        return done
    return gcloud


def describe(gcloud, name):
    return json.loads(gcloud("compute", "instances", "describe", name, "--zone", ZONE,
                             "--format", "json"))


@pytest.fixture(scope="module")
def memory_emu(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("fidelity"), backend="memory") as emulator:
        yield emulator


def test_disks_and_operations_lists_see_every_zone(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    gcloud("compute", "instances", "create", "agg-a", "agg-b", "--zone", ZONE, *IMAGE)
    gcloud("compute", "instances", "create", "agg-c", "--zone", "europe-west1-b", *IMAGE)
    disks = json.loads(gcloud("compute", "disks", "list", "--format", "json"))
    assert sorted((d["name"], d["zone"].rsplit("/", 1)[1]) for d in disks) >= [
        ("agg-a", ZONE), ("agg-b", ZONE), ("agg-c", "europe-west1-b")]
    only = json.loads(gcloud("compute", "disks", "list", "--format", "json",
                             "--filter", "name=agg-c"))
    assert [d["name"] for d in only] == ["agg-c"]
    ops = json.loads(gcloud("compute", "operations", "list", "--format", "json"))
    inserts = {o["targetLink"].rsplit("/", 1)[1] for o in ops if o["operationType"] == "insert"}
    assert {"agg-a", "agg-b", "agg-c"} <= inserts
    assert all(o["status"] == "DONE" for o in ops)
    zonal = json.loads(gcloud("compute", "operations", "list", "--format", "json",
                              "--zones", "europe-west1-b"))
    assert {o["targetLink"].rsplit("/", 1)[1] for o in zonal} == {"agg-c"}
    assert json.loads(gcloud("compute", "operations", "list", "--format", "json",
                             "--regions", "us-central1")) == []


def test_aggregated_shapes_pages_and_empty_scopes(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    gcloud("compute", "instances", "create", "page-a", "page-b", "page-c", "--zone",
           "asia-east1-a", *IMAGE)
    base = "%s/compute/v1/projects/%s/aggregated/" % (memory_emu.endpoint, memory_emu.project)
    seen, token = [], ""
    for dummy in range(20):
        body = get_json(memory_emu, base + "disks?maxResults=2&returnPartialSuccess=true"
                        "&filter=name%20eq%20page-.%2A" + ("&pageToken=" + token if token else ""))
        assert body["kind"] == "compute#diskAggregatedList"
        assert "regions/us-central1" in body["items"] and "zones/us-east1-b" in body["items"]
        for scope, entry in body["items"].items():
            if "disks" in entry:
                seen += [(scope, d["name"]) for d in entry["disks"]]
            else:
                assert entry["warning"]["code"] == "NO_RESULTS_ON_PAGE"
                assert entry["warning"]["data"] == [{"key": "scope", "value": scope}]
        token = body.get("nextPageToken")
        if not token:
            break
    assert seen == [("zones/asia-east1-a", "page-a"), ("zones/asia-east1-a", "page-b"),
                    ("zones/asia-east1-a", "page-c")]
    ops = get_json(memory_emu, base + "operations")
    assert ops["kind"] == "compute#operationAggregatedList"
    assert {"global", "regions/europe-west1", "zones/asia-east1-a"} <= set(ops["items"])
    assert ops["items"]["regions/europe-west1"]["warning"]["code"] == "NO_RESULTS_ON_PAGE"
    regional = get_json(memory_emu, base.replace("aggregated/", "regions/us-east1/operations"))
    assert regional["kind"] == "compute#operationList" and "items" not in regional
    missing = fetch(memory_emu, base.replace("aggregated/", "regions/us-east1/operations/nope"))
    assert missing[0] == 404 and json.loads(missing[2])["error"]["errors"][0]["reason"] == \
        "notFound"


def test_several_instances_deleted_in_one_batch(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    gcloud("compute", "instances", "create", "bat-a", "bat-b", "--zone", ZONE, *IMAGE)
    memory_emu.reset_stats()
    gcloud("compute", "instances", "delete", "bat-a", "bat-b", "--zone", ZONE, "--quiet")
    lines = memory_emu.requests()
    batches = [line for line in lines if line["path"] == "/batch/compute/v1"]
    parts = [(line["method"], line["path"].rsplit("/", 1)[1]) for line in lines
             if line.get("batch")]
    assert batches and all(line["status"] == 200 for line in batches)
    assert ("DELETE", "bat-a") in parts and ("DELETE", "bat-b") in parts
    assert not batches[0]["write"]
    names = [i["name"] for i in json.loads(gcloud("compute", "instances", "list",
                                                  "--format", "json"))]
    assert "bat-a" not in names and "bat-b" not in names
    failed = gcloud("compute", "instances", "delete", "bat-a", "--zone", ZONE, "--quiet",
                    check=False)
    assert failed.returncode != 0 and "was not found" in failed.stderr


def test_ephemeral_external_ip_is_released_on_stop(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    gcloud("compute", "instances", "create", "eph-1", "--zone", ZONE, *IMAGE)
    first = describe(gcloud, "eph-1")["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    gcloud("compute", "instances", "stop", "eph-1", "--zone", ZONE)
    stopped = describe(gcloud, "eph-1")
    access = stopped["networkInterfaces"][0]["accessConfigs"]
    assert len(access) == 1 and "natIP" not in access[0]
    assert access[0]["type"] == "ONE_TO_ONE_NAT" and access[0]["name"]
    assert RFC3339.match(stopped["lastStopTimestamp"])
    gcloud("compute", "instances", "start", "eph-1", "--zone", ZONE)
    second = describe(gcloud, "eph-1")["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    assert second and second != first
    listed = gcloud("compute", "instances", "list", "--filter", "name=eph-1",
                    "--format", "value(networkInterfaces[0].accessConfigs[0].natIP)")
    assert listed.strip() == second


def test_default_subnets_have_googles_auto_mode_ranges(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    expected = {"us-central1": "10.128.0.0/20", "europe-west1": "10.132.0.0/20",
                "us-east1": "10.142.0.0/20", "asia-east1": "10.140.0.0/20",
                "europe-west4": "10.164.0.0/20"}
    for region, cidr in expected.items():
        subnet = json.loads(gcloud("compute", "networks", "subnets", "describe", "default",
                                   "--region", region, "--format", "json"))
        assert subnet["ipCidrRange"] == cidr and subnet["gatewayAddress"] == \
            cidr.replace("0/20", "1")
    listed = json.loads(gcloud("compute", "networks", "subnets", "list", "--format", "json"))
    ranges = [ipaddress.ip_network(s["ipCidrRange"]) for s in listed]
    assert len(ranges) == len(set(ranges)) >= 18
    assert all(r.subnet_of(ipaddress.ip_network("10.128.0.0/9")) for r in ranges)
    gcloud("compute", "instances", "create", "net-1", "--zone", "europe-west1-b", *IMAGE)
    address = describe_in(gcloud, "net-1", "europe-west1-b")["networkInterfaces"][0]["networkIP"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.132.0.0/20")
    assert address not in ("10.132.0.0", "10.132.0.1")


def describe_in(gcloud, name, zone):
    return json.loads(gcloud("compute", "instances", "describe", name, "--zone", zone,
                             "--format", "json"))


def test_instances_carry_googles_fields_and_leave_empty_ones_out(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path)
    gcloud("compute", "instances", "create", "bare-1", "--zone", ZONE, *IMAGE)
    # Google's own label is the only one; once removed, the empty labels are left out too
    assert describe(gcloud, "bare-1")["labels"] == {"goog-ops-agent-policy": "v2-x86-template-1-4-0"}
    gcloud("compute", "instances", "remove-labels", "bare-1", "--zone", ZONE, "--labels", "goog-ops-agent-policy")
    bare = describe(gcloud, "bare-1")
    for field in ("labels", "description"):
        assert field not in bare, field
    assert "items" not in bare["metadata"] and "items" not in bare["tags"]
    assert bare["metadata"]["fingerprint"] and bare["tags"]["fingerprint"]
    assert bare["kind"] == "compute#instance" and isinstance(bare["id"], str)
    assert bare["id"].isdigit()
    for field in ("creationTimestamp", "lastStartTimestamp"):
        assert RFC3339.match(bare[field]), (field, bare[field])
    assert bare["selfLink"].startswith("https://www.googleapis.com/compute/v1/projects/")
    assert bare["labelFingerprint"] and bare["fingerprint"]
    assert bare["cpuPlatform"] and bare["startRestricted"] is False
    assert bare["status"] == "RUNNING" and bare["disks"][0]["diskSizeGb"] == "10"
    assert bare["reservationAffinity"] == {"consumeReservationType": "ANY_RESERVATION"}
    assert bare["keyRevocationActionType"] == "NONE" and bare["canIpForward"] is False
    assert bare["displayDevice"] == {"enableDisplay": False}
    gcloud("compute", "instances", "add-labels", "bare-1", "--zone", ZONE, "--labels", "k=v")
    gcloud("compute", "instances", "remove-labels", "bare-1", "--zone", ZONE, "--labels", "k")
    again = describe(gcloud, "bare-1")
    assert "labels" not in again and again["labelFingerprint"]
    listed = json.loads(gcloud("compute", "instances", "list", "--format", "json",
                               "--filter", "name=bare-1"))
    assert "labels" not in listed[0] and "items" not in listed[0]["metadata"]
    project = json.loads(gcloud("compute", "project-info", "describe", "--format", "json"))
    assert "items" not in project["commonInstanceMetadata"] or \
        project["commonInstanceMetadata"]["items"]
    assert RFC3339.match(project["creationTimestamp"])
    rules = json.loads(gcloud("compute", "firewall-rules", "list", "--format", "json"))
    gcloud("compute", "firewall-rules", "create", "fw-bare", "--allow", "tcp:8080")
    rule = json.loads(gcloud("compute", "firewall-rules", "describe", "fw-bare",
                             "--format", "json"))
    assert "description" not in rule and rules


def fetch(emu, url, method="GET"):
    request = urllib.request.Request(url, method=method,
                                     headers={"Authorization": "Bearer " + emu.token})
    try:
        with NO_PROXY.open(request, timeout=30) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def get_json(emu, url):
    status, dummy, text = fetch(emu, url)
    assert status == 200, text
    return json.loads(text)


def test_unknown_paths_and_methods_answer_googles_page(memory_emu, tmp_path):
    base = "%s/compute/v1/projects/%s/" % (memory_emu.endpoint, memory_emu.project)
    status, kind, text = fetch(memory_emu, base + "global/addresses")
    assert status == 404 and kind.startswith("text/html")
    assert "Error 404 (Not Found)!!1" in text
    assert "The requested URL <code>/compute/v1/projects/%s/global/addresses</code> was not " \
           "found on this server." % memory_emu.project in text
    status, kind, text = fetch(memory_emu, base + "zones/%s/instances" % ZONE, method="PUT")
    assert status == 405 and kind.startswith("text/html")
    assert "The request method <code>PUT</code> is inappropriate for the URL" in text
    gcloud = gcloud_runner(memory_emu, tmp_path)
    # gcloud lists with returnPartialSuccess: Google's page becomes a warning, as it would.
    failed = gcloud("compute", "addresses", "list", check=False)
    assert "aggregated/addresses</code> was not found on this server" in failed.stderr


def fake_ssh(tmp_path):
    """An ``ssh`` that records its arguments and succeeds: the memory backend's VMs have
    addresses nothing answers on, and tests send no traffic off this machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ssh"
    script.write_text("#!/bin/sh\necho \"$@\" >> %s\nexit 0\n" % (tmp_path / "ssh-calls"))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": "%s%s%s" % (bin_dir, os.pathsep, os.environ["PATH"])}


def ssh_key_lines(metadata):
    items = {i["key"]: i["value"] for i in metadata.get("items", [])}
    return [line for line in items.get("ssh-keys", "").splitlines() if line.strip()]


def test_gcloud_ssh_adds_its_key_to_project_or_instance_metadata(memory_emu, tmp_path):
    gcloud = gcloud_runner(memory_emu, tmp_path, fake_ssh(tmp_path))
    key_file = tmp_path / "gce-key"
    gcloud("compute", "instances", "create", "ssh-proj", "--zone", ZONE, *IMAGE)
    gcloud("compute", "instances", "create", "ssh-inst", "--zone", ZONE, *IMAGE,
           "--metadata", "block-project-ssh-keys=TRUE")
    gcloud("compute", "ssh", "tester@ssh-proj", "--zone", ZONE, "--command", "true",
           "--ssh-key-file", str(key_file), "--strict-host-key-checking=no", "--quiet")
    public = (tmp_path / "gce-key.pub").read_text().split()
    project = json.loads(gcloud("compute", "project-info", "describe", "--format", "json"))
    lines = ssh_key_lines(project["commonInstanceMetadata"])
    assert any(line.startswith("tester:%s %s" % (public[0], public[1])) for line in lines)
    nat = describe(gcloud, "ssh-proj")["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    calls = (tmp_path / "ssh-calls").read_text()
    assert "tester@%s" % nat in calls and str(key_file) in calls

    gcloud("compute", "ssh", "tester@ssh-inst", "--zone", ZONE, "--command", "true",
           "--ssh-key-file", str(key_file), "--strict-host-key-checking=no", "--quiet")
    inst_lines = ssh_key_lines(describe(gcloud, "ssh-inst")["metadata"])
    assert any(line.startswith("tester:%s %s" % (public[0], public[1])) for line in inst_lines)
    writes = [(w["method"], w["path"].rsplit("/", 1)[1]) for w in memory_emu.writes()]
    assert ("POST", "setCommonInstanceMetadata") in writes and ("POST", "setMetadata") in writes


def ssh_login(address, user, key_file):
    """Log in for real (the VM's own loopback address) and run ``true``."""
    return subprocess.run(
        ["ssh", "-i", str(key_file), "-o", "StrictHostKeyChecking=no", "-o",
         "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
         "-o", "IdentitiesOnly=yes", "%s@%s" % (user, address), "true"],
        capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.docker
def test_gcloud_ssh_logs_in_to_a_docker_vm(tmp_path):
    name = "ssh-dkr-" + os.urandom(3).hex()
    with Emulator(tmp_path / "state", backend="docker") as emu:
        gcloud = gcloud_runner(emu, tmp_path)
        gcloud("compute", "instances", "create", name, "--zone", ZONE, "--machine-type",
               "e2-small", *IMAGE)
        address = describe(gcloud, name)["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
        assert address.startswith("127.")
        first = tmp_path / "first-key"
        gcloud("compute", "ssh", "tester@" + name, "--zone", ZONE, "--command", "true",
               "--ssh-key-file", str(first), "--strict-host-key-checking=no", "--quiet")
        project = json.loads(gcloud("compute", "project-info", "describe", "--format", "json"))
        public = (tmp_path / "first-key.pub").read_text().split()
        assert any(line.startswith("tester:%s %s" % (public[0], public[1]))
                   for line in ssh_key_lines(project["commonInstanceMetadata"]))
        assert ssh_login(address, "tester", first).returncode == 0

        # Blocking project keys: gcloud now writes the instance's metadata; the new key is
        # honoured and the project's key no longer is.
        gcloud("compute", "instances", "add-metadata", name, "--zone", ZONE, "--metadata",
               "block-project-ssh-keys=TRUE")
        second = tmp_path / "second-key"
        gcloud("compute", "ssh", "other@" + name, "--zone", ZONE, "--command", "true",
               "--ssh-key-file", str(second), "--strict-host-key-checking=no", "--quiet")
        assert ssh_key_lines(describe(gcloud, name)["metadata"])[0].startswith("other:")
        assert ssh_login(address, "other", second).returncode == 0
        assert ssh_login(address, "tester", first).returncode != 0


def test_batch_rejects_what_google_rejects(memory_emu):
    url = memory_emu.endpoint + "/batch/compute/v1"

    def post(body, content_type):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": "Bearer " + memory_emu.token, "Content-Type": content_type})
        try:
            with NO_PROXY.open(request, timeout=30) as answer:
                return answer.status, answer.headers["Content-Type"], answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    status, dummy, text = post(b'{"a": 1}', "application/json")
    assert status == 400 and "multipart/mixed" in json.loads(text)["error"]["message"]
    part = ("--b1\r\nContent-Type: application/http\r\nContent-ID: <x+1>\r\n\r\nGET\r\n\r\n"
            "--b1--\r\n")
    status, dummy, text = post(part.encode(), "multipart/mixed; boundary=b1")
    assert status == 400 and "request line" in json.loads(text)["error"]["message"]
    # One good and one missing instance: each part answers for itself.
    path = "/compute/v1/projects/%s/zones/%s/instances" % (memory_emu.project, ZONE)
    parts = "".join("--b2\r\nContent-Type: application/http\r\nContent-ID: <id+%d>\r\n\r\n"
                    "GET %s HTTP/1.1\r\n\r\n" % (i, p)
                    for i, p in enumerate([path, path + "/no-such-vm"]))
    status, kind, text = post((parts + "--b2--\r\n").encode(), "multipart/mixed; boundary=b2")
    assert status == 200 and kind.startswith("multipart/mixed; boundary=")
    assert text.index("Content-ID: <response-id+0>") < text.index("HTTP/1.1 200 OK") < \
        text.index("Content-ID: <response-id+1>") < text.index("HTTP/1.1 404 Not Found")
    assert '"kind":"compute#instanceList"' in text and "no-such-vm' was not found" in text
