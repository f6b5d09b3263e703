"""Eventual consistency (--propagation-delay): what breaks a first run on Google, on purpose."""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from emulator.__main__ import parse_args, redact
from emulator.testing import Emulator, EmulatorError
from emulator_helpers import (PROJECT, ZONE, authorized_session, compute, instance_body, reason,
                              wait)

DELAY = 2.0
GCLOUD = shutil.which("gcloud")
SA = "fresh-robot@%s.iam.gserviceaccount.com" % PROJECT
NEVER = "never-made@%s.iam.gserviceaccount.com" % PROJECT


def until(check, timeout=15.0, what="condition"):
    """Poll ``check()`` (bounded) until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "%s not reached within %.0f s" % (what, timeout)
        time.sleep(0.25)


@pytest.fixture(name="emu")
def fixture_emu(tmp_path):
    with Emulator(tmp_path / "state", propagation_delay=DELAY) as emulator:
        yield emulator


def policy_with(session, emu, version, member, etag=True):
    crm = "%s/cloudresourcemanager/%s/projects/%s" % (emu.endpoint, version, PROJECT)
    policy = session.post(crm + ":getIamPolicy", json={}).json()
    policy["bindings"].append({"role": "roles/viewer", "members": [member]})
    if not etag:
        policy.pop("etag")
    return crm + ":setIamPolicy", {"policy": policy}


def test_a_new_service_account_is_invisible_for_the_delay(emu):
    session = authorized_session(emu)
    made = session.post("%s/iam/v1/projects/%s/serviceAccounts" % (emu.endpoint, PROJECT),
                        json={"accountId": "fresh-robot"})
    assert made.status_code == 200 and made.json()["email"] == SA
    created = time.monotonic()
    # IAM itself knows it at once (get works), Resource Manager and Compute do not yet.
    assert session.get("%s/iam/v1/projects/%s/serviceAccounts/%s"
                       % (emu.endpoint, PROJECT, SA)).status_code == 200
    for version in ("v1", "v3"):
        url, body = policy_with(session, emu, version, "serviceAccount:" + SA)
        refused = session.post(url, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert refused.json()["error"]["message"] == "Service account %s does not exist." % SA
    insert = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
        "with-fresh-sa", serviceAccounts=[{"email": SA, "scopes": []}]))
    assert insert.status_code == 400, insert.text
    error = insert.json()["error"]
    assert error["errors"][0]["reason"] == "invalid" and error["errors"][0]["domain"] == "global"
    assert error["message"].startswith(
        "Invalid value for field 'resource.serviceAccounts[0].email': '%s'. The user does not "
        "have access to service account '%s'." % (SA, SA))
    assert "iam.serviceAccountUser" in error["message"]
    assert time.monotonic() - created < DELAY, "the checks above took longer than the delay"

    # A stopped instance cannot take the new account either (setServiceAccount).
    plain = wait(session, emu, session.post(compute(emu, "zones/%s/instances" % ZONE),
                                            json=instance_body("plain-vm")).json())
    assert "error" not in plain
    wait(session, emu, session.post(compute(emu, "zones/%s/instances/plain-vm/stop"
                                            % ZONE)).json())
    set_sa = compute(emu, "zones/%s/instances/plain-vm/setServiceAccount" % ZONE)
    early = session.post(set_sa, json={"email": SA, "scopes": []})
    if time.monotonic() - created < DELAY:
        assert early.status_code == 400 and reason(early) == "invalid", early.text

    # After the delay everything works; an account that never existed keeps failing.
    url, body = policy_with(session, emu, "v3", "serviceAccount:" + SA)
    until(lambda: session.post(url, json=body).status_code == 200, what="setIamPolicy")
    assert session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
        "with-fresh-sa", serviceAccounts=[{"email": SA, "scopes": []}])).status_code == 200
    assert session.post(set_sa, json={"email": SA, "scopes": []}).status_code == 200
    url, body = policy_with(session, emu, "v1", "serviceAccount:" + NEVER)
    assert session.post(url, json=body).json()["error"]["message"] == \
        "Service account %s does not exist." % NEVER
    never = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
        "with-no-sa", serviceAccounts=[{"email": NEVER, "scopes": []}]))
    assert never.status_code == 400 and "'%s'" % NEVER in never.json()["error"]["message"]


def test_compute_is_off_until_enabled_and_propagated(tmp_path):
    with Emulator(tmp_path / "state", enabled_services=[], propagation_delay=DELAY) as emu:
        session = authorized_session(emu)
        zones = compute(emu, "zones")
        off = session.get(zones)
        assert off.status_code == 403, off.text
        error = off.json()["error"]
        number = session.get("%s/cloudresourcemanager/v3/projects/%s" % (emu.endpoint, PROJECT)
                             ).json()["name"].split("/")[1]
        assert error["status"] == "PERMISSION_DENIED"
        assert error["errors"][0]["reason"] == "accessNotConfigured"
        assert error["message"].startswith("Compute Engine API has not been used in project %s "
                                           "before or it is disabled." % number)
        assert error["message"].endswith("If you enabled this API recently, wait a few minutes "
                                         "for the action to propagate to our systems and retry.")
        info = [d for d in error["details"]
                if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
        assert info[0]["reason"] == "SERVICE_DISABLED"
        assert info[0]["metadata"]["service"] == "compute.googleapis.com"
        assert info[0]["metadata"]["consumer"] == "projects/%s" % number
        # Writes are refused the same way, before anything is looked at.
        refused = session.post(compute(emu, "zones/%s/instances" % ZONE), json={})
        assert refused.status_code == 403 and reason(refused) == "accessNotConfigured"

        su = "%s/serviceusage/v1/projects/%s/services" % (emu.endpoint, PROJECT)
        op = session.post(su + ":batchEnable", json={"serviceIds": ["compute.googleapis.com"]})
        assert op.status_code == 200, op.text
        until(lambda: session.get("%s/serviceusage/v1/%s" % (emu.endpoint, op.json()["name"])
                                  ).json().get("done"), what="enable operation")
        enabled_at = time.monotonic()
        assert session.get(su + "/compute.googleapis.com").json()["state"] == "ENABLED"
        still = session.get(zones)
        assert time.monotonic() - enabled_at < DELAY
        assert still.status_code == 403 and reason(still) == "accessNotConfigured"
        until(lambda: session.get(zones).status_code == 200, what="Compute usable")
        assert time.monotonic() - enabled_at >= DELAY - 0.5


@pytest.mark.skipif(GCLOUD is None, reason="the gcloud CLI is not installed")
def test_gcloud_shows_googles_message_for_a_disabled_api(tmp_path):
    with Emulator(tmp_path / "state", enabled_services=[]) as emu:
        env = dict(os.environ)
        env.update(emu.gcloud_env(tmp_path / "gcloud"))
        done = subprocess.run([GCLOUD, "compute", "instances", "list", "--format", "json"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    text = " ".join(done.stderr.split())
    assert "Compute Engine API has not been used in project" in text, done.stderr
    assert "wait a few minutes for the action to propagate to our systems and retry" in text


def test_stale_etag_and_concurrent_changes(emu):
    session = authorized_session(emu)
    url, body = policy_with(session, emu, "v1", "user:reader@openclaw.example")
    assert session.post(url, json=body).status_code == 200
    stale = session.post(url, json=body)     # the same etag again: it moved with the write
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["status"] == "ABORTED"
    assert stale.json()["error"]["message"] == (
        "There were concurrent policy changes. Please retry the whole read-modify-write with "
        "exponential backoff.")

    emu.concurrent_iam_change(count=2)
    attempts = []
    for dummy in range(5):                  # a client's bounded read-modify-write loop
        url, body = policy_with(session, emu, "v3", "user:retry@openclaw.example")
        answer = session.post(url, json=body)
        attempts.append(answer.status_code)
        if answer.status_code != 409:
            break
    assert attempts == [409, 409, 200]
    members = [m for b in session.post(url.replace("setIamPolicy", "getIamPolicy"), json={})
               .json()["bindings"] for m in b["members"]]
    assert "user:retry@openclaw.example" in members
    # Without an etag the caller overwrites blindly, as on Google.
    emu.concurrent_iam_change(count=1, project=PROJECT)
    url, body = policy_with(session, emu, "v1", "user:blind@openclaw.example", etag=False)
    assert session.post(url, json=body).status_code == 200
    assert emu.stats()["consistency"]["concurrent_iam_changes"] == {}
    with pytest.raises(EmulatorError):
        emu.concurrent_iam_change(count=1, project="no-such-project")


def test_a_busy_instance_is_not_ready(tmp_path):
    with Emulator(tmp_path / "state", latency=1.5, propagation_delay=DELAY) as emu:
        session = authorized_session(emu)
        request_id = str(uuid.uuid4())
        op = session.post(compute(emu, "zones/%s/instances" % ZONE), params={
            "requestId": request_id}, json=instance_body("busy")).json()
        assert op["status"] != "DONE"
        path = "projects/%s/zones/%s/instances/busy" % (PROJECT, ZONE)
        fingerprint = session.get(compute(emu, "zones/%s/instances/busy" % ZONE)
                                  ).json()["labelFingerprint"]
        for verb, body in (("stop", None), ("setLabels", {"labels": {"a": "b"},
                                                          "labelFingerprint": fingerprint}),
                           ("setMetadata", {"items": []})):
            answer = session.post(compute(emu, "zones/%s/instances/busy/%s" % (ZONE, verb)),
                                  json=body)
            assert answer.status_code == 400, (verb, answer.text)
            assert reason(answer) == "resourceNotReady"
            assert answer.json()["error"]["message"] == "The resource '%s' is not ready" % path
        gone = session.delete(compute(emu, "zones/%s/instances/busy" % ZONE))
        assert gone.status_code == 400 and reason(gone) == "resourceNotReady"
        # A retry of the insert itself (same requestId) gets its operation back.
        again = session.post(compute(emu, "zones/%s/instances" % ZONE), params={
            "requestId": request_id}, json=instance_body("busy"))
        assert again.status_code == 200 and again.json()["name"] == op["name"]
        assert session.get(compute(emu, "zones/%s/instances/busy" % ZONE)).status_code == 200
        wait(session, emu, op)
        stopped = session.post(compute(emu, "zones/%s/instances/busy/stop" % ZONE))
        assert stopped.status_code == 200, stopped.text
        # propagation_delay 0 turns it off: a second call meets the running stop and passes.
        emu.set_propagation_delay(0)
        fingerprint = session.get(compute(emu, "zones/%s/instances/busy" % ZONE)).json()["metadata"]["fingerprint"]
        answer = session.post(compute(emu, "zones/%s/instances/busy/setMetadata" % ZONE),
                              json={"items": [], "fingerprint": fingerprint})
        assert answer.status_code == 200


def test_admin_and_command_line(emu):
    assert emu.info["propagation_delay"] == DELAY
    assert emu.set_propagation_delay(0.5)["propagation_delay"] == 0.5
    assert emu.stats()["consistency"]["propagation_delay"] == 0.5
    for bad in (-1, "soon"):
        with pytest.raises(EmulatorError):
            emu.set_propagation_delay(bad)
    args = parse_args(["--state-dir", "x"])
    assert args.propagation_delay == 4.0 and args.enable_service == []
    args = parse_args(["--state-dir", "x", "--enable-service", "compute.googleapis.com",
                       "--enable-service", "run.googleapis.com", "--propagation-delay", "0"])
    assert args.enable_service == ["compute.googleapis.com", "run.googleapis.com"]
    assert args.propagation_delay == 0
    for bad in (["--propagation-delay", "-1"], ["--enable-service", "compute"]):
        with pytest.raises(SystemExit):
            parse_args(["--state-dir", "x"] + bad)


def test_cli_projects_start_without_compute(tmp_path):
    """What scripts/demo.sh gets: the command line's default has Compute off."""
    with Emulator(tmp_path / "state", enabled_services=None) as emu:
        assert "--enable-service" not in emu.command()
        answer = authorized_session(emu).get(compute(emu, "zones"))
        assert answer.status_code == 403 and reason(answer) == "accessNotConfigured"


def test_no_secrets_in_the_logs(tmp_path):
    secret = "s3cr3t-" + uuid.uuid4().hex
    with Emulator(tmp_path / "state", log_level="DEBUG") as emu:
        session = authorized_session(emu)
        inst = wait(session, emu, session.post(compute(emu, "zones/%s/instances" % ZONE),
                                               json=instance_body("quiet")).json())
        assert "error" not in inst
        fingerprint = session.get(compute(emu, "zones/%s/instances/quiet" % ZONE)
                                  ).json()["metadata"]["fingerprint"]
        answer = session.post(compute(emu, "zones/%s/instances/quiet/setMetadata" % ZONE), json={
            "fingerprint": fingerprint, "items": [
                {"key": "startup-script", "value": "export API_KEY=%s" % secret}]})
        assert answer.status_code == 200, answer.text
        token = session.credentials.token
        assert token and token.startswith("ya29.")
        # Credentials in a query string (Google accepts access_token=...) are not logged either.
        session.get(compute(emu, "zones"), params={"access_token": token, "key": secret})
        with open(emu.key_file, encoding="utf-8") as handle:
            key_lines = [line for line in json.load(handle)["private_key"].splitlines()
                         if line and "-----" not in line]
    logs = {}
    for name in ("requests.jsonl", "emulator.log"):
        with open(tmp_path / "state" / name, encoding="utf-8") as handle:
            logs[name] = handle.read()
    assert "setMetadata" in logs["requests.jsonl"] and "/token" in logs["requests.jsonl"]
    assert "GET /compute/v1" in logs["emulator.log"], "the debug log should show requests"
    assert "REDACTED" in logs["requests.jsonl"]
    for name, text in logs.items():
        for needle in [token, secret, emu.token, "Bearer "] + key_lines:
            assert needle not in text, "%s leaks %s..." % (name, needle[:12])


def test_redaction_patterns():
    text = ('Authorization: Bearer ya29.abc.def x {"private_key": "-----BEGIN PRIVATE KEY-----'
            '\\nMIIE\\n-----END PRIVATE KEY-----\\n"} assertion=eyJhbGciOi.eyJpc3Mi.c2ln '
            'GET /x?access_token=tok123&b=1&key=k3y')
    clean = redact(text)
    for needle in ("ya29.abc", "MIIE", "eyJhbGciOi", "tok123", "k3y"):
        assert needle not in clean
    assert "b=1" in clean and "GET /x" in clean


def test_client_env_overrides(emu):
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    env = emu.client_env()
    assert env["CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"] == emu.endpoint + "/compute/v1/"
    assert env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE"] == emu.endpoint + "/serviceusage/"
    assert env["GCP_AUTH_KIND"] == "serviceaccount" and env["GCP_PROJECT"] == PROJECT
    with open(env["GCP_SERVICE_ACCOUNT_FILE"], encoding="utf-8") as handle:
        assert json.load(handle)["token_uri"] == emu.endpoint + "/token"
    credentials = service_account.Credentials.from_service_account_file(
        env["GCP_SERVICE_ACCOUNT_FILE"], scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session = AuthorizedSession(credentials)
    project = env["GCP_PROJECT"]

    def root(api):
        return env["CLOUDSDK_API_ENDPOINT_OVERRIDES_" + api]
    calls = [root("COMPUTE") + "projects/%s/zones/%s" % (project, ZONE),
             root("SERVICEUSAGE") + "v1/projects/%s/services/compute.googleapis.com" % project,
             root("IAM") + "v1/projects/%s/serviceAccounts" % project,
             root("CLOUDRESOURCEMANAGER") + "v3/projects/%s" % project,
             root("CLOUDRESOURCEMANAGER") + "v1/projects/%s" % project,
             root("CLOUDBILLING") + "v1/projects/%s/billingInfo" % project]
    for url in calls:
        answer = session.get(url)
        assert answer.status_code == 200, (url, answer.text)
    with pytest.raises(EmulatorError):
        emu.client_env(via="proxy")             # started without https_proxy_port
    with pytest.raises(ValueError):
        emu.client_env(via="carrier-pigeon")


def test_client_env_proxy(tmp_path, monkeypatch):
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    with Emulator(tmp_path / "state", https_proxy_port=0) as emu:
        env = emu.client_env(via="proxy")
        assert env["HTTPS_PROXY"] == env["https_proxy"] == emu.info["https_proxy"]
        assert env["REQUESTS_CA_BUNDLE"] == emu.info["ca_file"]
        assert env["NO_PROXY"] == "127.0.0.1,localhost"
        with open(env["GCP_SERVICE_ACCOUNT_FILE"], encoding="utf-8") as handle:
            key = json.load(handle)
        with open(emu.key_file, encoding="utf-8") as handle:
            assert json.load(handle)["private_key"] == key["private_key"]
        assert key["token_uri"] == "https://oauth2.googleapis.com/token"
        assert emu.endpoint not in json.dumps(key)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        # google-auth (2.6x) looks up allowedLocations in the background after each refresh
        # when this is on; the lookup must be answered through the proxy too.
        monkeypatch.setenv("GOOGLE_SDK_EXPERIMENTAL_PYTHON_REGIONAL_ACCESS_BOUNDARY_LOOKUP_ENABLED",
                           "true")
        credentials = service_account.Credentials.from_service_account_file(
            env["GCP_SERVICE_ACCOUNT_FILE"],
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
        session = AuthorizedSession(credentials)
        project = env["GCP_PROJECT"]
        calls = ["https://compute.googleapis.com/compute/v1/projects/%s/zones" % project,
                 "https://serviceusage.googleapis.com/v1/projects/%s/services/"
                 "compute.googleapis.com" % project,
                 "https://iam.googleapis.com/v1/projects/%s/serviceAccounts" % project,
                 "https://cloudresourcemanager.googleapis.com/v3/projects/%s" % project,
                 "https://cloudbilling.googleapis.com/v1/projects/%s/billingInfo" % project,
                 "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/%s/"
                 "allowedLocations" % credentials.service_account_email]
        for url in calls:
            answer = session.get(url)
            assert answer.status_code == 200, (url, answer.text)
        # google-auth's own background lookup after the refresh arrives through the proxy too.
        until(lambda: sum(1 for line in emu.requests() if line["path"].endswith(
            "/allowedLocations") and line["status"] == 200) >= 2, timeout=10,
            what="google-auth's allowedLocations lookup")
        apis = {line["api"] for line in emu.requests() if line["status"] == 200}
        assert {"oauth2", "compute", "serviceusage", "iam", "cloudresourcemanager",
                "cloudbilling", "iamcredentials"} <= apis
