"""Service Usage, IAM, Resource Manager and Cloud Billing, as the collection's modules use them."""

import time

from emulator_helpers import PROJECT, ZONE, compute, instance_body, reason


def lro_done(session, emu, api, op, timeout=20):
    deadline = time.monotonic() + timeout
    while not op.get("done"):
        assert time.monotonic() < deadline, op
        time.sleep(0.1)
        op = session.get("%s/%s/%s" % (emu.endpoint, api, op["name"])).json()
    return op


def test_new_project_needs_billing_before_compute(session, emu):
    crm = emu.endpoint + "/cloudresourcemanager/v3/projects"
    op = session.post(crm, json={"projectId": "oc-new-project", "displayName": "New",
                                 "labels": {"team": "oc"}}).json()
    op = lro_done(session, emu, "cloudresourcemanager/v3", op)
    assert op["response"]["projectId"] == "oc-new-project"
    project = session.get(crm + "/oc-new-project").json()
    assert project["state"] == "ACTIVE" and project["name"].startswith("projects/")
    assert session.get(emu.endpoint + "/cloudresourcemanager/v1/projects/oc-new-project"
                       ).json()["lifecycleState"] == "ACTIVE"
    dup = session.post(crm, json={"projectId": "oc-new-project"})
    assert dup.status_code == 409 and dup.json()["error"]["status"] == "ALREADY_EXISTS"
    bad = session.post(crm, json={"projectId": "Bad_Id"})
    assert bad.status_code == 400
    missing = session.get(crm + "/does-not-exist-1")
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"

    su = emu.endpoint + "/serviceusage/v1/projects/oc-new-project/services/"
    assert session.get(su + "compute.googleapis.com").json()["state"] == "DISABLED"
    zones = session.get(emu.endpoint + "/compute/v1/projects/oc-new-project/zones")
    assert zones.status_code == 403 and reason(zones) == "accessNotConfigured"
    refused = session.post(su + "compute.googleapis.com:enable")
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert "Billing" in refused.json()["error"]["message"]

    billing = emu.endpoint + "/cloudbilling/v1/projects/oc-new-project/billingInfo"
    assert session.get(billing).json()["billingEnabled"] is False
    accounts = session.get(emu.endpoint + "/cloudbilling/v1/billingAccounts").json()
    account = accounts["billingAccounts"][0]["name"]
    assert session.put(billing, json={"billingAccountName": "billingAccounts/000000-000000-"
                                      "000000"}).status_code == 403
    linked = session.put(billing, json={"billingAccountName": account}).json()
    assert linked["billingEnabled"] is True and linked["billingAccountName"] == account

    op = lro_done(session, emu, "serviceusage/v1",
                  session.post(su + "compute.googleapis.com:enable").json())
    assert op["response"]["service"]["state"] == "ENABLED"
    assert session.get(su + "compute.googleapis.com").json()["state"] == "ENABLED"
    # Eventually consistent, like Google: Compute answers SERVICE_DISABLED for a while
    # (--propagation-delay) after the enable operation is done, then 200.
    zones = emu.endpoint + "/compute/v1/projects/oc-new-project/zones"
    first = session.get(zones)
    assert first.status_code == 403 and reason(first) == "accessNotConfigured"
    deadline = time.monotonic() + 15
    while session.get(zones).status_code == 403:
        assert time.monotonic() < deadline, "Compute never became usable after enabling it"
        time.sleep(0.5)
    enabled = session.get(emu.endpoint + "/serviceusage/v1/projects/oc-new-project/services",
                          params={"filter": "state:ENABLED"}).json()["services"]
    assert "compute.googleapis.com" in [s["config"]["name"] for s in enabled]
    again = session.post(su + "compute.googleapis.com:enable").json()
    assert again["done"] is True
    op = lro_done(session, emu, "serviceusage/v1",
                  session.post(su + "compute.googleapis.com:disable", json={}).json())
    assert session.get(su + "compute.googleapis.com").json()["state"] == "DISABLED"
    assert session.get(su + "not a service").status_code in (403, 404)


def test_service_accounts(session, emu):
    base = emu.endpoint + "/iam/v1/projects/%s/serviceAccounts" % PROJECT
    created = session.post(base, json={"accountId": "openclaw-deployer", "serviceAccount": {
        "displayName": "Deployer", "description": "runs the playbooks"}})
    assert created.status_code == 200, created.text
    account = created.json()
    email = "openclaw-deployer@%s.iam.gserviceaccount.com" % PROJECT
    assert account["email"] == email and account["displayName"] == "Deployer"
    assert account["name"] == "projects/%s/serviceAccounts/%s" % (PROJECT, email)
    dup = session.post(base, json={"accountId": "openclaw-deployer"})
    assert dup.status_code == 409 and dup.json()["error"]["status"] == "ALREADY_EXISTS"
    assert session.post(base, json={"accountId": "ab"}).status_code == 400
    assert session.get(base + "/" + email).json()["uniqueId"] == account["uniqueId"]
    assert session.get(emu.endpoint + "/iam/v1/projects/-/serviceAccounts/" + email
                       ).status_code == 200
    listed = session.get(base).json()["accounts"]
    assert email in [a["email"] for a in listed]
    patched = session.patch(base + "/" + email, json={
        "serviceAccount": {"displayName": "Deployer 2"}, "updateMask": "displayName"}).json()
    assert patched["displayName"] == "Deployer 2"
    assert session.delete(base + "/" + email).status_code == 200
    missing = session.get(base + "/" + email)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


def test_iam_policy_read_modify_write_with_etag(session, emu):
    crm = emu.endpoint + "/cloudresourcemanager/v1/projects/%s" % PROJECT
    policy = session.post(crm + ":getIamPolicy", json={}).json()
    assert policy["etag"] and any(b["role"] == "roles/owner" for b in policy["bindings"])
    member = "serviceAccount:openclaw-automation@%s.iam.gserviceaccount.com" % PROJECT
    changed = dict(policy, bindings=policy["bindings"] + [
        {"role": "roles/compute.instanceAdmin.v1", "members": [member]}])
    answer = session.post(crm + ":setIamPolicy", json={"policy": changed})
    assert answer.status_code == 200, answer.text
    new = answer.json()
    assert new["etag"] != policy["etag"]
    assert {"role": "roles/compute.instanceAdmin.v1", "members": [member]} in new["bindings"]
    stale = session.post(crm + ":setIamPolicy", json={"policy": changed})
    assert stale.status_code == 409 and stale.json()["error"]["status"] == "ABORTED"
    ghost = dict(new, bindings=new["bindings"] + [{"role": "roles/viewer", "members": [
        "serviceAccount:ghost-account@%s.iam.gserviceaccount.com" % PROJECT]}])
    answer = session.post(crm + ":setIamPolicy", json={"policy": ghost})
    assert answer.status_code == 400 and "does not exist" in answer.text
    v3 = session.post(emu.endpoint + "/cloudresourcemanager/v3/projects/%s:getIamPolicy"
                      % PROJECT, json={}).json()
    assert v3["etag"] == new["etag"]


def test_compute_default_service_account_on_instances(session, emu):
    answer = session.post(compute(emu, "zones/%s/instances" % ZONE),
                          json=instance_body("sa-default"))
    assert answer.status_code == 200
    inst = session.get(compute(emu, "zones/%s/instances/sa-default" % ZONE)).json()
    assert inst["serviceAccounts"][0]["email"].endswith("-compute@developer.gserviceaccount.com")


def test_project_update_delete_undelete(session, emu):
    crm = emu.endpoint + "/cloudresourcemanager/v3/projects"
    lro_done(session, emu, "cloudresourcemanager/v3",
             session.post(crm, json={"projectId": "oc-lifecycle-1"}).json())
    op = session.patch(crm + "/oc-lifecycle-1", params={"updateMask": "displayName,labels"},
                       json={"displayName": "Life cycle", "labels": {"env": "dev"}}).json()
    assert lro_done(session, emu, "cloudresourcemanager/v3", op)["response"]["labels"] == {
        "env": "dev"}
    got = session.get(crm + "/oc-lifecycle-1").json()
    assert got["displayName"] == "Life cycle" and got["labels"] == {"env": "dev"}
    bad = session.patch(crm + "/oc-lifecycle-1", params={"updateMask": "labels"},
                        json={"labels": {"Bad": "x"}})
    assert bad.status_code == 400
    lro_done(session, emu, "cloudresourcemanager/v3", session.delete(crm + "/oc-lifecycle-1"
                                                                     ).json())
    assert session.get(crm + "/oc-lifecycle-1").json()["state"] == "DELETE_REQUESTED"
    assert session.get(emu.endpoint + "/compute/v1/projects/oc-lifecycle-1/zones"
                       ).status_code == 404
    lro_done(session, emu, "cloudresourcemanager/v3",
             session.post(crm + "/oc-lifecycle-1:undelete", json={}).json())
    assert session.get(crm + "/oc-lifecycle-1").json()["state"] == "ACTIVE"
    again = session.post(crm + "/oc-lifecycle-1:undelete", json={})
    assert again.status_code == 400
