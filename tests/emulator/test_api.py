"""Compute Engine semantics of the memory backend, through google-auth's AuthorizedSession."""

import json
import threading
import time
import uuid

import pytest
import requests

from emulator_helpers import (PROJECT, ZONE, authorized_session, compute, instance_body,
                              reason, wait)
from emulator.testing import Emulator


def create(session, emu, name, **extra):
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE),
                          json=instance_body(name, **extra))
    assert answer.status_code == 200, answer.text
    op = wait(session, emu, answer.json())
    assert "error" not in op, op
    return session.get(compute(emu, "zones/%s/instances/%s" % (ZONE, name))).json()


# -- auth --------------------------------------------------------------------------------------
def test_service_account_token_exchange_and_authorized_session(emu):
    session = authorized_session(emu)
    answer = session.get(compute(emu, "zones"))
    assert answer.status_code == 200
    assert ZONE in [z["name"] for z in answer.json()["items"]]
    token = session.credentials.token
    assert token.startswith("ya29.")
    tokens = [r for r in emu.requests() if r["path"] == "/token"]
    assert tokens and tokens[-1]["status"] == 200
    # the same token keeps working for a second request (no exchange per request)
    before = len([r for r in emu.requests() if r["path"] == "/token"])
    assert session.get(compute(emu, "zones/%s" % ZONE)).status_code == 200
    assert len([r for r in emu.requests() if r["path"] == "/token"]) == before


def test_assertion_signed_by_another_key_is_rejected(emu, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.auth import crypt, jwt
    with open(emu.key_file, encoding="utf-8") as handle:
        info = json.load(handle)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    now = int(time.time())
    claims = {"iss": info["client_email"], "aud": info["token_uri"], "iat": now,
              "exp": now + 3600, "scope": "https://www.googleapis.com/auth/cloud-platform"}
    forged = jwt.encode(crypt.RSASigner.from_string(pem, info["private_key_id"]), claims)
    answer = requests.post(info["token_uri"], data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    genuine = jwt.encode(crypt.RSASigner.from_service_account_info(info), claims)
    answer = requests.post(info["token_uri"], data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": genuine})
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "Bearer"
    # a key file without private_key_id (as AWX writes them) signs without a kid: still the
    # account's key, so accepted; another key without a kid is still refused
    no_kid = jwt.encode(crypt.RSASigner.from_string(info["private_key"]), claims)
    answer = requests.post(info["token_uri"], data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": no_kid})
    assert answer.status_code == 200, answer.text
    forged = jwt.encode(crypt.RSASigner.from_string(pem), claims)
    answer = requests.post(info["token_uri"], data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_missing_or_bad_token_is_401_in_google_shape(emu):
    answer = requests.get(compute(emu, "zones"))
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "required"
    answer = requests.get(compute(emu, "zones"), headers={"Authorization": "Bearer ya29.nope"})
    assert answer.status_code == 401
    answer = requests.get(compute(emu, "zones"),
                          headers={"Authorization": "Bearer " + emu.token})
    assert answer.status_code == 200


# -- catalogue -----------------------------------------------------------------------------------
def test_images_families_and_family_views(session, emu):
    base = emu.endpoint + "/compute/v1/projects/debian-cloud/"
    image = session.get(base + "global/images/family/debian-12").json()
    assert image["family"] == "debian-12" and image["name"].startswith("debian-12-bookworm")
    assert "deprecated" not in image
    assert session.get(base + "global/images/family/debian-13").json()["name"].startswith(
        "debian-13-trixie")
    view = session.get(base + "zones/-/imageFamilyViews/debian-12").json()
    assert view["image"]["name"] == image["name"]
    assert session.get(base + "global/images/family/debian-99").status_code == 404
    names = [i["name"] for i in session.get(base + "global/images").json()["items"]]
    assert image["name"] in names and len(names) >= 3


def test_machine_types_network_and_unknown_zone(session, emu):
    small = session.get(compute(emu, "zones/%s/machineTypes/e2-small" % ZONE)).json()
    assert (small["guestCpus"], small["memoryMb"], small["isSharedCpu"]) == (2, 2048, True)
    assert session.get(compute(emu, "zones/%s/machineTypes/e2-huge" % ZONE)).status_code == 404
    network = session.get(compute(emu, "global/networks/default")).json()
    assert network["autoCreateSubnetworks"] is True
    answer = session.get(compute(emu, "zones/mars-east1-a/instances"))
    assert answer.status_code == 400 and reason(answer) == "invalid"
    answer = session.get(emu.endpoint + "/compute/v1/projects/no-such-project/zones")
    assert answer.status_code == 404 and reason(answer) == "notFound"


# -- instances -----------------------------------------------------------------------------------
def test_instance_lifecycle(session, emu):
    inst = create(session, emu, "life-1", labels={"env": "test"},
                  metadata={"items": [{"key": "startup-script", "value": "true"}]},
                  tags={"items": ["ssh"]})
    assert inst["status"] == "RUNNING"
    assert inst["selfLink"] == ("https://www.googleapis.com/compute/v1/projects/%s/zones/%s/"
                                "instances/life-1" % (PROJECT, ZONE))
    assert inst["machineType"].endswith("/machineTypes/e2-small")
    # the caller's labels, plus the one Google's agent policy puts on new VMs
    assert inst["labels"] == {"env": "test", "goog-ops-agent-policy": "v2-x86-template-1-4-0"}
    assert inst["tags"]["items"] == ["ssh"]
    assert inst["disks"][0]["diskSizeGb"] == "20" and inst["disks"][0]["boot"] is True
    nic = inst["networkInterfaces"][0]
    assert nic["networkIP"].startswith("10.") and nic["accessConfigs"][0]["natIP"]
    listed = session.get(compute(emu, "zones/%s/instances" % ZONE)).json()
    assert "life-1" in [i["name"] for i in listed["items"]]
    disk = session.get(compute(emu, "zones/%s/disks/life-1" % ZONE)).json()
    assert disk["sizeGb"] == "20" and disk["users"] == [inst["selfLink"]]

    op = wait(session, emu, session.post(compute(emu, "zones/%s/instances/life-1/stop"
                                                 % ZONE)).json())
    assert op["operationType"] == "stop" and "error" not in op
    assert session.get(compute(emu, "zones/%s/instances/life-1" % ZONE)).json()["status"] == \
        "TERMINATED"
    op = wait(session, emu, session.post(
        compute(emu, "zones/%s/instances/life-1/setMachineType" % ZONE),
        json={"machineType": "zones/%s/machineTypes/e2-medium" % ZONE}).json())
    assert "error" not in op
    op = wait(session, emu, session.post(compute(emu, "zones/%s/instances/life-1/start"
                                                 % ZONE)).json())
    got = session.get(compute(emu, "zones/%s/instances/life-1" % ZONE)).json()
    assert got["status"] == "RUNNING" and got["machineType"].endswith("/e2-medium")
    op = wait(session, emu, session.delete(compute(emu, "zones/%s/instances/life-1"
                                                   % ZONE)).json())
    assert op["operationType"] == "delete"
    answer = session.get(compute(emu, "zones/%s/instances/life-1" % ZONE))
    assert answer.status_code == 404 and reason(answer) == "notFound"
    assert answer.json()["error"]["message"] == (
        "The resource 'projects/%s/zones/%s/instances/life-1' was not found" % (PROJECT, ZONE))


@pytest.mark.parametrize("body, field", [
    (instance_body("Bad_Name"), "resource.name"),
    (instance_body("-x"), "resource.name"),
    (instance_body("a" * 64), "resource.name"),
    (instance_body("ok-1", machine_type="e2-enormous"), "resource.machineType"),
    (instance_body("ok-2", labels={"Env": "x"}), "resource.labels"),
    (instance_body("ok-3", labels={"env": "UPPER"}), "resource.labels"),
    (instance_body("ok-4", labels={"9lives": "x"}), "resource.labels"),
    (instance_body("ok-5", image="projects/debian-cloud/global/images/family/nope"),
     "resource.disks[0].initializeParams.sourceImage"),
    (dict(instance_body("ok-6"), disks=[]), "resource.disks"),
    (instance_body("ok-7", tags={"items": ["Bad Tag"]}), "resource.tags.items[0]"),
    (instance_body("ok-8", metadata={"items": [{"key": "a", "value": "1"},
                                               {"key": "a", "value": "2"}]}),
     "resource.metadata"),
])
def test_insert_rejects_what_google_rejects(session, emu, body, field):
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE), json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["errors"][0]["reason"] == "invalid"
    assert error["message"].startswith("Invalid value for field '%s'" % field)
    name = body["name"]
    assert session.get(compute(emu, "zones/%s/instances/%s" % (ZONE, name))).status_code in (
        400, 404) or name.startswith("ok")


def test_small_disk_and_duplicate_name(session, emu):
    body = instance_body("tiny-disk")
    body["disks"][0]["initializeParams"]["diskSizeGb"] = "5"
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE), json=body)
    assert answer.status_code == 400 and "smaller than the image size" in answer.text
    create(session, emu, "dup-1")
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body("dup-1"))
    assert answer.status_code == 409 and reason(answer) == "alreadyExists"


def test_request_id_makes_insert_idempotent(session, emu):
    request_id = str(uuid.uuid4())
    url = compute(emu, "zones/%s/instances?requestId=%s" % (ZONE, request_id))
    first = session.post(url, json=instance_body("idem-1"))
    second = session.post(url, json=instance_body("idem-1"))
    assert first.status_code == second.status_code == 200
    assert first.json()["name"] == second.json()["name"]
    inserts = [r for r in emu.requests() if r["method"] == "POST" and
               r["path"].endswith("/instances") and request_id in r["query"]]
    assert len(inserts) == 2
    answer = session.post(compute(emu, "zones/%s/instances?requestId=not-a-uuid" % ZONE),
                          json=instance_body("idem-2"))
    assert answer.status_code == 400 and "requestId" in answer.json()["error"]["message"]
    without = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body("idem-1"))
    assert without.status_code == 409


def test_fingerprints_guard_labels_metadata_tags(session, emu):
    inst = create(session, emu, "fp-1", labels={"a": "1"})
    base = compute(emu, "zones/%s/instances/fp-1/" % ZONE)
    stale = session.post(base + "setLabels", json={"labels": {"a": "2"},
                                                   "labelFingerprint": "AAAAAAAAAAA="})
    assert stale.status_code == 412 and reason(stale) == "conditionNotMet"
    missing = session.post(base + "setLabels", json={"labels": {"a": "2"}})
    assert missing.status_code == 412
    good = session.post(base + "setLabels", json={"labels": {"a": "2", "b": "x"},
                                                  "labelFingerprint": inst["labelFingerprint"]})
    assert good.status_code == 200
    wait(session, emu, good.json())
    now = session.get(compute(emu, "zones/%s/instances/fp-1" % ZONE)).json()
    assert now["labels"] == {"a": "2", "b": "x"}
    assert now["labelFingerprint"] != inst["labelFingerprint"]
    again = session.post(base + "setLabels", json={"labels": {},
                                                   "labelFingerprint": inst["labelFingerprint"]})
    assert again.status_code == 412
    bad = session.post(base + "setLabels", json={"labels": {"BAD": "x"},
                                                 "labelFingerprint": now["labelFingerprint"]})
    assert bad.status_code == 400 and reason(bad) == "invalid"

    meta = session.post(base + "setMetadata", json={"items": [{"key": "k", "value": "v"}],
                                                    "fingerprint": "stale"})
    assert meta.status_code == 412
    meta = session.post(base + "setMetadata", json={"items": [{"key": "k", "value": "v"}],
                                                    "fingerprint": now["metadata"]["fingerprint"]})
    wait(session, emu, meta.json())
    tags = session.post(base + "setTags", json={"items": ["web"], "fingerprint": "stale"})
    assert tags.status_code == 412
    tags = session.post(base + "setTags", json={"items": ["web"],
                                                "fingerprint": now["tags"]["fingerprint"]})
    wait(session, emu, tags.json())
    final = session.get(compute(emu, "zones/%s/instances/fp-1" % ZONE)).json()
    assert final["metadata"]["items"] == [{"key": "k", "value": "v"}]
    assert final["tags"]["items"] == ["web"]
    assert final["metadata"]["fingerprint"] != now["metadata"]["fingerprint"]


def test_set_machine_type_needs_a_stopped_instance(session, emu):
    create(session, emu, "resize-1", machine_type="e2-micro")
    url = compute(emu, "zones/%s/instances/resize-1/setMachineType" % ZONE)
    answer = session.post(url, json={"machineType": "zones/%s/machineTypes/e2-small" % ZONE})
    assert answer.status_code == 400 and reason(answer) == "resourceNotReady"
    answer = session.post(url, json={"machineType": "zones/%s/machineTypes/nope-1" % ZONE})
    assert answer.status_code == 400 and reason(answer) == "invalid"
    start = session.post(compute(emu, "zones/%s/instances/resize-1/start" % ZONE))
    assert start.status_code == 200  # starting a RUNNING instance is a no-op operation
    assert wait(session, emu, start.json())["status"] == "DONE"


def test_list_filters_and_empty_list(session, emu):
    empty = session.get(compute(emu, "zones/europe-north1-c/instances"))
    assert empty.status_code == 200 and "items" not in empty.json()
    create(session, emu, "flt-a", labels={"role": "gateway", "env": "prod"})
    create(session, emu, "flt-b", labels={"role": "worker", "env": "prod"})
    wait(session, emu, session.post(compute(emu, "zones/%s/instances/flt-b/stop"
                                            % ZONE)).json())
    url = compute(emu, "zones/%s/instances" % ZONE)

    def names(expr):
        answer = session.get(url, params={"filter": expr})
        assert answer.status_code == 200, answer.text
        return sorted(i["name"] for i in answer.json().get("items", []) if i["name"][:4] == "flt-")
    assert names('labels.role = "gateway"') == ["flt-a"]
    assert names('(labels.env = "prod") AND (status = "TERMINATED")') == ["flt-b"]
    assert names('(labels.role = "gateway") AND ((status = "RUNNING") OR '
                 '(status = "STOPPING"))') == ["flt-a"]
    assert names("name eq flt-.*") == ["flt-a", "flt-b"]
    assert names("name ne flt-a") == ["flt-b"]
    assert names("labels.role:*") == ["flt-a", "flt-b"]
    assert names("status != RUNNING") == ["flt-b"]
    answer = session.get(url, params={"filter": "labels.role = (unbalanced"})
    assert answer.status_code == 400


def test_aggregated_list_pagination_and_no_results_warning(tmp_path):
    zones = ["us-central1-a", "us-east1-b", "europe-west1-b"]
    with Emulator(tmp_path, backend="memory") as emulator:
        result = emulator.preload(25, zones=zones, labels={"env": "bench"}, gateway_every=10)
        assert result["created"] == 25
        session = authorized_session(emulator)
        url = compute(emulator, "aggregated/instances")
        seen, token, pages = [], None, 0
        while True:
            params = {"maxResults": 10}
            if token:
                params["pageToken"] = token
            body = session.get(url, params=params).json()
            pages += 1
            assert body["kind"] == "compute#instanceAggregatedList"
            assert "zones/asia-east1-a" in body["items"]
            for scope, entry in body["items"].items():
                if "instances" in entry:
                    seen += [i["name"] for i in entry["instances"]]
                    assert all(i["zone"].endswith("/" + scope) for i in entry["instances"])
                else:
                    assert entry["warning"]["code"] == "NO_RESULTS_ON_PAGE"
                    assert entry["warning"]["data"] == [{"key": "scope", "value": scope}]
            token = body.get("nextPageToken")
            if not token:
                break
            assert pages < 10
        assert pages == 3 and len(seen) == 25 == len(set(seen))
        gateways = session.get(url, params={"filter": 'labels.openclaw-role = "gateway"'}).json()
        found = [i["name"] for e in gateways["items"].values() for i in e.get("instances", [])]
        assert len(found) == 2
        empty = session.get(url, params={"filter": 'labels.env = "nothing"'}).json()
        assert all("warning" in e for e in empty["items"].values())
        assert session.get(url, params={"maxResults": 501}).status_code == 400
        bad = session.get(url, params={"pageToken": "garbage"})
        assert bad.status_code == 400


def test_firewalls(session, emu):
    listed = session.get(compute(emu, "global/firewalls")).json()
    assert "default-allow-ssh" in [f["name"] for f in listed["items"]]
    body = {"name": "openclaw-ssh", "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            "sourceRanges": ["203.0.113.0/24"], "targetTags": ["openclaw"]}
    op = session.post(compute(emu, "global/firewalls"), json=body).json()
    assert op["selfLink"].endswith("/global/operations/" + op["name"]) and "zone" not in op
    wait(session, emu, op)
    dup = session.post(compute(emu, "global/firewalls"), json=body)
    assert dup.status_code == 409 and reason(dup) == "alreadyExists"
    wait(session, emu, session.patch(compute(emu, "global/firewalls/openclaw-ssh"),
                                     json={"sourceRanges": ["198.51.100.7/32"]}).json())
    got = session.get(compute(emu, "global/firewalls/openclaw-ssh")).json()
    assert got["sourceRanges"] == ["198.51.100.7/32"] and got["targetTags"] == ["openclaw"]
    assert got["allowed"] == [{"IPProtocol": "tcp", "ports": ["22"]}]
    bad = session.post(compute(emu, "global/firewalls"), json={"name": "x-y", "allowed": [
        {"IPProtocol": "tcp", "ports": ["99999"]}]})
    assert bad.status_code == 400
    wait(session, emu, session.delete(compute(emu, "global/firewalls/openclaw-ssh")).json())
    assert session.get(compute(emu, "global/firewalls/openclaw-ssh")).status_code == 404


def test_concurrent_clients(emu):
    errors = []

    def worker(index):
        session = authorized_session(emu)
        for number in range(5):
            answer = session.post(compute(emu, "zones/%s/instances" % ZONE),
                                  json=instance_body("par-%d-%d" % (index, number)))
            if answer.status_code != 200:
                errors.append(answer.text)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    session = authorized_session(emu)
    items = session.get(compute(emu, "zones/%s/instances" % ZONE),
                        params={"filter": "name eq par-.*"}).json()["items"]
    assert len(items) == 30 and len({i["id"] for i in items}) == 30
    assert len({i["networkInterfaces"][0]["networkIP"] for i in items}) == 30


# -- operations, latency, asynchronous errors ----------------------------------------------------
def test_status_transitions_with_latency(tmp_path):
    with Emulator(tmp_path, backend="memory", latency=2.0) as emulator:
        session = authorized_session(emulator)
        op = session.post(compute(emulator, "zones/%s/instances" % ZONE),
                          json=instance_body("slow-1")).json()
        assert op["status"] in ("PENDING", "RUNNING") and op["zone"].endswith("/" + ZONE)
        assert op["selfLink"].endswith("/zones/%s/operations/%s" % (ZONE, op["name"]))
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = session.get(compute(emulator, "zones/%s/instances/slow-1"
                                         % ZONE)).json()["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "RUNNING":
                break
            time.sleep(0.05)
        assert seen == ["PROVISIONING", "STAGING", "RUNNING"]
        got = session.get(compute(emulator, "zones/%s/operations/%s" % (ZONE, op["name"])))
        assert got.json()["status"] == "DONE" and got.json()["progress"] == 100
        op = session.post(compute(emulator, "zones/%s/instances/slow-1/stop" % ZONE)).json()
        assert session.get(compute(emulator, "zones/%s/instances/slow-1" % ZONE)).json()[
            "status"] == "STOPPING"
        assert session.post(compute(emulator, "zones/%s/instances/slow-1/start"
                                    % ZONE)).status_code == 400
        done = wait(session, emulator, op)
        assert done["status"] == "DONE" and "endTime" in done
        assert session.get(compute(emulator, "zones/%s/instances/slow-1" % ZONE)).json()[
            "status"] == "TERMINATED"


def test_quota_exceeded_is_an_asynchronous_operation_error(session, emu):
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE),
                          json=instance_body("huge-1", machine_type="n2-standard-128"))
    assert answer.status_code == 200
    op = wait(session, emu, answer.json())
    assert op["status"] == "DONE"
    assert op["error"]["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert op["httpErrorStatusCode"] == 403
    assert session.get(compute(emu, "zones/%s/instances/huge-1" % ZONE)).status_code == 404
    custom = session.post(compute(emu, "zones/%s/instances" % ZONE),
                          json=instance_body("huge-2", machine_type="custom-96-98304"))
    assert wait(session, emu, custom.json())["error"]["errors"][0]["code"] == "QUOTA_EXCEEDED"


def test_unknown_operation_is_404(session, emu):
    answer = session.get(compute(emu, "zones/%s/operations/operation-0-nope" % ZONE))
    assert answer.status_code == 404 and reason(answer) == "notFound"
    answer = session.post(compute(emu, "global/operations/operation-0-nope/wait"))
    assert answer.status_code == 404


def test_fingerprints_are_accepted_url_safe(session, emu):
    """gcloud decodes fingerprints (bytes) and sends them back URL-safe base64-encoded."""
    inst = create(session, emu, "fp-urlsafe")
    url = compute(emu, "zones/%s/instances/fp-urlsafe/setLabels" % ZONE)
    fingerprint = inst["labelFingerprint"]
    for attempt in range(200):
        if "+" in fingerprint or "/" in fingerprint:
            break
        wait(session, emu, session.post(url, json={"labels": {"n": str(attempt)},
                                                   "labelFingerprint": fingerprint}).json())
        fingerprint = session.get(compute(emu, "zones/%s/instances/fp-urlsafe"
                                          % ZONE)).json()["labelFingerprint"]
    assert "+" in fingerprint or "/" in fingerprint
    urlsafe = fingerprint.replace("+", "-").replace("/", "_")
    answer = session.post(url, json={"labels": {"n": "last"}, "labelFingerprint": urlsafe})
    assert answer.status_code == 200, answer.text


def test_deletion_protection_service_account_suspend_resume_reset(session, emu):
    create(session, emu, "guarded-1")
    base = compute(emu, "zones/%s/instances/guarded-1" % ZONE)
    wait(session, emu, session.post(base + "/setDeletionProtection",
                                    params={"deletionProtection": "true"}).json())
    assert session.get(base).json()["deletionProtection"] is True
    refused = session.delete(base)
    assert refused.status_code == 400 and reason(refused) == "resourceInUseByAnotherResource"
    wait(session, emu, session.post(base + "/setDeletionProtection",
                                    params={"deletionProtection": "false"}).json())

    account = {"email": "openclaw-automation@%s.iam.gserviceaccount.com" % PROJECT,
               "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}
    running = session.post(base + "/setServiceAccount", json=account)
    assert running.status_code == 400 and reason(running) == "resourceNotReady"
    wait(session, emu, session.post(base + "/suspend").json())
    assert session.get(base).json()["status"] == "SUSPENDED"
    assert session.post(base + "/reset").status_code == 400
    wait(session, emu, session.post(base + "/resume").json())
    assert session.get(base).json()["status"] == "RUNNING"
    assert "error" not in wait(session, emu, session.post(base + "/reset").json())
    wait(session, emu, session.post(base + "/stop").json())
    wait(session, emu, session.post(base + "/setServiceAccount", json=account).json())
    assert session.get(base).json()["serviceAccounts"] == [account]
    assert "error" not in wait(session, emu, session.delete(base).json())


def test_chunked_request_body(emu):
    body = json.dumps(instance_body("chunked-1")).encode()

    def pieces():
        for start in range(0, len(body), 64):
            yield body[start:start + 64]
    answer = requests.post(compute(emu, "zones/%s/instances" % ZONE), data=pieces(),
                           headers={"Authorization": "Bearer " + emu.token,
                                    "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert requests.get(compute(emu, "zones/%s/instances/chunked-1" % ZONE), headers={
        "Authorization": "Bearer " + emu.token}).json()["name"] == "chunked-1"
