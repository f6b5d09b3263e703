"""Cloud Routers and Cloud NAT in the emulator: Compute v1's ``routers`` (insert, get, list,
aggregatedList, patch, update, delete, getRouterStatus), regional operations, Google's
errors, and the real gcloud CLI (routers create/describe/list/delete, routers nats
create/describe/list/delete)."""

import json
import time

import pytest

from emulator_helpers import PROJECT, ZONE, compute, instance_body, reason
from emulator.testing import Emulator
from test_gcloud import GCLOUD, run_gcloud

REGION = "us-central1"
ROUTERS = "regions/%s/routers" % REGION
NAT = {"name": "nat", "natIpAllocateOption": "AUTO_ONLY",
       "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES"}


def wait(session, emu, operation, timeout=60):
    """Wait for a regional operation (bounded); return it DONE."""
    assert operation.get("kind") == "compute#operation", operation
    region = operation["region"].rsplit("/", 1)[1]
    deadline = time.monotonic() + timeout
    while operation["status"] != "DONE":
        assert time.monotonic() < deadline, "operation %s not done" % operation["name"]
        answer = session.post(compute(emu, "regions/%s/operations/%s/wait"
                                      % (region, operation["name"])))
        assert answer.status_code == 200, answer.text
        operation = answer.json()
    assert "error" not in operation, operation
    return operation


def router_body(name, **extra):
    body = {"name": name, "network": "global/networks/default"}
    body.update(extra)
    return body


def test_router_with_nat_lifecycle(session, emu):
    op = session.post(compute(emu, ROUTERS), json=router_body("rt-life", nats=[NAT])).json()
    assert op["operationType"] == "insert" and op["region"].endswith("/regions/" + REGION)
    assert "zone" not in op and op["selfLink"].endswith("/regions/%s/operations/%s"
                                                        % (REGION, op["name"]))
    assert op["targetLink"].endswith("/projects/%s/regions/%s/routers/rt-life" % (PROJECT, REGION))
    wait(session, emu, op)
    got = session.get(compute(emu, ROUTERS + "/rt-life")).json()
    assert got["kind"] == "compute#router" and got["name"] == "rt-life"
    assert got["network"] == ("https://www.googleapis.com/compute/v1/projects/%s/global/networks/"
                              "default" % PROJECT)
    assert got["region"].endswith("/regions/" + REGION)
    assert "fingerprint" not in got  # Compute v1 routers have none
    # Google fills in the NAT's defaults
    assert got["nats"] == [{
        "name": "nat", "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES",
        "natIpAllocateOption": "AUTO_ONLY", "logConfig": {"enable": False, "filter": "ALL"},
        "enableEndpointIndependentMapping": False, "endpointTypes": ["ENDPOINT_TYPE_VM"],
        "type": "PUBLIC", "autoNetworkTier": "PREMIUM"}]

    # patch replaces the whole nats list and leaves the rest alone
    nat = dict(got["nats"][0], logConfig={"enable": True, "filter": "ERRORS_ONLY"},
               minPortsPerVm=128)
    wait(session, emu, session.patch(compute(emu, ROUTERS + "/rt-life"),
                                     json={"nats": [nat]}).json())
    patched = session.get(compute(emu, ROUTERS + "/rt-life")).json()
    assert patched["nats"][0]["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert patched["nats"][0]["minPortsPerVm"] == 128
    assert patched["id"] == got["id"] and patched["creationTimestamp"] == got["creationTimestamp"]

    listed = session.get(compute(emu, ROUTERS)).json()
    assert listed["kind"] == "compute#routerList"
    assert [r["name"] for r in listed["items"]] == ["rt-life"]
    aggregated = session.get(compute(emu, "aggregated/routers")).json()
    assert aggregated["kind"] == "compute#routerAggregatedList"
    assert [r["name"] for r in aggregated["items"]["regions/" + REGION]["routers"]] == ["rt-life"]
    assert aggregated["items"]["regions/europe-west1"]["warning"]["code"] == "NO_RESULTS_ON_PAGE"
    ops = session.get(compute(emu, "regions/%s/operations" % REGION)).json()["items"]
    assert [o["operationType"] for o in ops if o["targetLink"].endswith("/rt-life")] == [
        "insert", "patch"]

    wait(session, emu, session.delete(compute(emu, ROUTERS + "/rt-life")).json())
    gone = session.get(compute(emu, ROUTERS + "/rt-life"))
    assert gone.status_code == 404 and reason(gone) == "notFound"
    assert gone.json()["error"]["message"] == ("The resource 'projects/%s/regions/%s/routers/"
                                               "rt-life' was not found" % (PROJECT, REGION))
    assert session.delete(compute(emu, ROUTERS + "/rt-life")).status_code == 404
    assert session.patch(compute(emu, ROUTERS + "/rt-life"), json={"nats": []}).status_code == 404


@pytest.mark.parametrize("body, status, fragment", [
    (router_body("Bad_Name"), 400, "Invalid value for field 'resource.name': 'Bad_Name'"),
    ({"name": "rt-nonet"}, 400, "Required field 'resource.network' not specified"),
    (router_body("rt-x", network="global/networks/prod"), 400,
     "The referenced network resource cannot be found."),
    (router_body("rt-x", colour="blue"), 400, 'Unknown name "colour" at \'resource\''),
    (router_body("rt-x", nats=[dict(NAT, name="Nat_1")]), 400,
     "Invalid value for field 'resource.nats[0].name': 'Nat_1'"),
    (router_body("rt-x", nats=[dict(NAT, natIpAllocateOption="SOMETIMES")]), 400,
     "Invalid value at 'resource.nats[0].nat_ip_allocate_option'"),
    (router_body("rt-x", nats=[{"name": "n", "sourceSubnetworkIpRangesToNat":
                                "ALL_SUBNETWORKS_ALL_IP_RANGES"}]), 400,
     "Required field 'resource.nats[0].natIpAllocateOption' not specified"),
    (router_body("rt-x", nats=[{"name": "n", "natIpAllocateOption": "AUTO_ONLY"}]), 400,
     "Required field 'resource.nats[0].sourceSubnetworkIpRangesToNat' not specified"),
    (router_body("rt-x", nats=[dict(NAT, natIps=["regions/us-central1/addresses/a"])]), 400,
     "NAT IPs must be empty when natIpAllocateOption is AUTO_ONLY"),
    (router_body("rt-x", nats=[dict(NAT, natIpAllocateOption="MANUAL_ONLY",
                                    natIps=["regions/us-central1/addresses/a"])]), 400,
     "The referenced address resource cannot be found."),
    (router_body("rt-x", nats=[dict(NAT, minPortsPerVm=1)]), 400,
     "'resource.nats[0].minPortsPerVm': '1'. Must be between 2 and 65536."),
    (router_body("rt-x", nats=[dict(NAT, enableDynamicPortAllocation=True, minPortsPerVm=48)]),
     400, "must be a power of two of at least 32"),
    (router_body("rt-x", nats=[dict(NAT, logConfig={"enable": True, "filter": "SOME"})]), 400,
     "'resource.nats[0].logConfig.filter': 'SOME'"),
    (router_body("rt-x", nats=[NAT, dict(NAT)]), 400, "Duplicate NAT name"),
    (router_body("rt-x", nats=[NAT, dict(NAT, name="nat-2")]), 400,
     "applies to all subnetworks of network 'default' in region us-central1"),
])
def test_insert_rejects_what_google_rejects(session, emu, body, status, fragment):
    answer = session.post(compute(emu, ROUTERS), json=body)
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]["message"], answer.json()["error"]["message"]
    assert session.get(compute(emu, ROUTERS + "/rt-x")).status_code == 404


def test_unknown_region_duplicate_and_second_covering_nat(session, emu):
    bad = session.post(compute(emu, "regions/mars-north1/routers"), json=router_body("rt-m"))
    assert bad.status_code == 400 and "Unknown region" in bad.json()["error"]["message"]
    wait(session, emu, session.post(compute(emu, ROUTERS), json=router_body(
        "rt-one", nats=[NAT])).json())
    dup = session.post(compute(emu, ROUTERS), json=router_body("rt-one"))
    assert dup.status_code == 409 and reason(dup) == "alreadyExists"
    # a second router of the same network and region may not add a NAT of its own ...
    clash = session.post(compute(emu, ROUTERS), json=router_body("rt-two", nats=[
        dict(NAT, name="nat-b")]))
    assert clash.status_code == 400 and "NAT 'nat' of router 'rt-one'" in clash.text
    # ... but another region is another story
    wait(session, emu, session.post(compute(emu, "regions/europe-west1/routers"), json=router_body(
        "rt-one", nats=[NAT])).json())
    # the network of an existing router cannot change; the name neither
    moved = session.patch(compute(emu, ROUTERS + "/rt-one"),
                          json={"network": "global/networks/prod"})
    assert moved.status_code == 400
    renamed = session.patch(compute(emu, ROUTERS + "/rt-one"), json={"name": "rt-three"})
    assert renamed.status_code == 400 and "cannot be changed" in renamed.text
    for region in (REGION, "europe-west1"):
        wait(session, emu, session.delete(compute(emu, "regions/%s/routers/rt-one" % region))
             .json())


def test_request_id_replays_the_insert(session, emu):
    query = {"requestId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}
    first = session.post(compute(emu, ROUTERS), params=query, json=router_body("rt-rid")).json()
    again = session.post(compute(emu, ROUTERS), params=query, json=router_body("rt-rid")).json()
    assert again["name"] == first["name"]
    wait(session, emu, session.delete(compute(emu, ROUTERS + "/rt-rid")).json())


def test_router_status_counts_vms_without_external_address(session, emu):
    wait(session, emu, session.post(compute(emu, ROUTERS), json=router_body(
        "rt-status", nats=[NAT])).json())
    private = instance_body("vm-private")
    private["networkInterfaces"][0].pop("accessConfigs")
    for body in (private, instance_body("vm-public")):
        answer = session.post(compute(emu, "zones/%s/instances" % ZONE), json=body)
        assert answer.status_code == 200, answer.text
    inst = session.get(compute(emu, "zones/%s/instances/vm-private" % ZONE)).json()
    assert "accessConfigs" not in inst["networkInterfaces"][0]
    status = session.get(compute(emu, ROUTERS + "/rt-status/getRouterStatus")).json()
    assert status["kind"] == "compute#routerStatusResponse"
    nat = status["result"]["natStatus"][0]
    assert nat["name"] == "nat" and nat["numVmEndpointsWithNatMappings"] == 1
    assert len(nat["autoAllocatedNatIps"]) == 1 and nat["autoAllocatedNatIps"][0].startswith("198.1")
    # the address stays with the NAT
    again = session.get(compute(emu, ROUTERS + "/rt-status/getRouterStatus")).json()
    assert again["result"]["natStatus"][0]["autoAllocatedNatIps"] == nat["autoAllocatedNatIps"]
    for name in ("vm-private", "vm-public"):
        session.delete(compute(emu, "zones/%s/instances/%s" % (ZONE, name)))
    wait(session, emu, session.delete(compute(emu, ROUTERS + "/rt-status")).json())


def test_mutation_of_a_busy_router_is_not_ready(tmp_path):
    from emulator_helpers import authorized_session  # pylint: disable=import-outside-toplevel
    with Emulator(tmp_path / "state", backend="memory", latency=1.0) as emu:
        session = authorized_session(emu)
        op = session.post(compute(emu, ROUTERS), json=router_body("rt-busy")).json()
        assert op["status"] == "RUNNING"
        busy = session.patch(compute(emu, ROUTERS + "/rt-busy"), json={"nats": [NAT]})
        assert busy.status_code == 400 and reason(busy) == "resourceNotReady"
        wait(session, emu, op)
        wait(session, emu, session.patch(compute(emu, ROUTERS + "/rt-busy"),
                                         json={"nats": [NAT]}).json())


def test_gcloud_routers_and_nats(tmp_path):
    assert GCLOUD, "the gcloud CLI must be on PATH"
    with Emulator(tmp_path / "state", backend="memory", latency=0.2) as emu:
        def gcloud(*args):
            return run_gcloud(emu, tmp_path / "gcloud", *args)

        where = ["--region", REGION]
        gcloud("compute", "routers", "create", "gw-router", "--network", "default", *where)
        gcloud("compute", "routers", "nats", "create", "gw-nat", "--router", "gw-router", *where,
               "--auto-allocate-nat-external-ips", "--nat-all-subnet-ip-ranges",
               "--enable-logging", "--log-filter", "ERRORS_ONLY", "--min-ports-per-vm", "128")
        described = json.loads(gcloud("compute", "routers", "describe", "gw-router", *where,
                                      "--format", "json"))
        assert described["network"].endswith("/global/networks/default")
        nat = described["nats"][0]
        assert nat["name"] == "gw-nat" and nat["natIpAllocateOption"] == "AUTO_ONLY"
        assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
        assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
        assert nat["minPortsPerVm"] == 128
        nat_described = json.loads(gcloud("compute", "routers", "nats", "describe", "gw-nat",
                                          "--router", "gw-router", *where, "--format", "json"))
        assert nat_described["name"] == "gw-nat"
        nats = json.loads(gcloud("compute", "routers", "nats", "list", "--router", "gw-router",
                                 *where, "--format", "json"))
        assert [n["name"] for n in nats] == ["gw-nat"]
        listed = json.loads(gcloud("compute", "routers", "list", "--format", "json"))
        assert [r["name"] for r in listed] == ["gw-router"]
        status = json.loads(gcloud("compute", "routers", "get-status", "gw-router", *where,
                                   "--format", "json"))
        assert status["result"]["natStatus"][0]["name"] == "gw-nat"
        gcloud("compute", "routers", "nats", "delete", "gw-nat", "--router", "gw-router", *where,
               "--quiet")
        described = json.loads(gcloud("compute", "routers", "describe", "gw-router", *where,
                                      "--format", "json"))
        assert not described.get("nats")
        gcloud("compute", "routers", "delete", "gw-router", *where, "--quiet")
        assert json.loads(gcloud("compute", "routers", "list", "--format", "json")) == []
        writes = [(w["method"], w["path"].split("/routers", 1)[-1]) for w in emu.writes()
                  if "/operations/" not in w["path"]]
        assert writes == [("POST", ""), ("PATCH", "/gw-router"), ("PATCH", "/gw-router"),
                          ("DELETE", "/gw-router")]
        assert all(line["status"] < 400 for line in emu.requests())
