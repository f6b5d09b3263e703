"""Cloud OS Login v1: login profiles and SSH keys (google-auth, the real gcloud), and an OS Login
VM of the docker backend that admits the profile's POSIX user and ignores ``ssh-keys``."""

import hashlib
import base64
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from emulator_helpers import PROJECT, ZONE, authorized_session, compute, instance_body, wait
from emulator.testing import Emulator

GCLOUD = shutil.which("gcloud")
SA = "openclaw-automation@%s.iam.gserviceaccount.com" % PROJECT


def make_key(folder, name):
    path = os.path.join(str(folder), name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path],
                   check=True)
    with open(path + ".pub", encoding="utf-8") as handle:
        return path, handle.read().strip()


def blob_fingerprint(line):
    return hashlib.sha256(base64.b64decode(line.split()[1])).hexdigest()


def oslogin(emu, path):
    return "%s/oslogin/v1/%s" % (emu.endpoint, path)


def sa_username(emu, session):
    account = session.get("%s/iam/v1/projects/%s/serviceAccounts/%s"
                          % (emu.endpoint, PROJECT, SA)).json()
    return "sa_" + account["uniqueId"]


def test_profile_import_get_patch_delete(emu, session, tmp_path):
    dummy, line = make_key(tmp_path, "op")
    fp = blob_fingerprint(line)
    username = sa_username(emu, session)

    profile = session.get(oslogin(emu, "users/%s/loginProfile" % SA)).json()
    assert profile["posixAccounts"][0]["username"] == username
    assert profile["posixAccounts"][0]["homeDirectory"] == "/home/" + username
    assert "sshPublicKeys" not in profile

    answer = session.post(oslogin(emu, "users/%s:importSshPublicKey" % SA),
                          params={"projectId": PROJECT}, json={"key": line})
    assert answer.status_code == 200, answer.text
    got = answer.json()["loginProfile"]
    assert got["sshPublicKeys"][fp] == {"key": line, "fingerprint": fp,
                                        "name": "users/%s/sshPublicKeys/%s" % (SA, fp)}
    account = got["posixAccounts"][0]
    assert account["accountId"] == PROJECT and account["primary"] is True
    assert account["name"] == "users/%s/projects/%s" % (SA, PROJECT)
    assert account["operatingSystemType"] == "LINUX" and account["uid"].isdigit()

    # the same key again (another comment): still one key, same fingerprint
    again = session.post(oslogin(emu, "users/%s:importSshPublicKey" % SA),
                         json={"key": line.rsplit(" ", 1)[0] + " other"}).json()
    assert list(again["loginProfile"]["sshPublicKeys"]) == [fp]

    key = session.get(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp)))
    assert key.status_code == 200 and key.json()["fingerprint"] == fp
    expiry = str(int((time.time() + 3600) * 1e6))
    patched = session.patch(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp)),
                            params={"updateMask": "expirationTimeUsec"},
                            json={"expirationTimeUsec": expiry})
    assert patched.status_code == 200 and patched.json()["expirationTimeUsec"] == expiry
    bad_mask = session.patch(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp)),
                             params={"updateMask": "fingerprint"}, json={})
    assert bad_mask.status_code == 400

    assert session.delete(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp))).status_code == 200
    missing = session.get(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp)))
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    assert session.delete(oslogin(emu, "users/%s/sshPublicKeys/%s" % (SA, fp))).status_code == 404


def test_only_the_caller_profile_and_valid_keys(emu, session, tmp_path):
    dummy, line = make_key(tmp_path, "other")
    for answer in (session.get(oslogin(emu, "users/someone@example.com/loginProfile")),
                   session.post(oslogin(emu, "users/someone@example.com:importSshPublicKey"),
                                json={"key": line})):
        assert answer.status_code == 403
        assert answer.json()["error"]["status"] == "PERMISSION_DENIED"
    for body in ({}, {"key": "not a key"}, {"key": "ssh-ed25519 %%%%"},
                 {"key": "ssh-rsa " + line.split()[1]},
                 {"key": line, "expirationTimeUsec": "soon"}):
        answer = session.post(oslogin(emu, "users/%s:importSshPublicKey" % SA), json=body)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "sshPublicKeys" not in session.get(
        oslogin(emu, "users/%s/loginProfile" % SA)).json()
    anonymous = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                oslogin(emu, "users/%s/loginProfile" % SA)],
                               capture_output=True, text=True, check=False)
    assert anonymous.stdout == "401"


def test_guest_users_follow_enable_oslogin_and_the_policy(tmp_path):
    """In process: which users an instance's guest agent gets (docker backend's input)."""
    from emulator.backends import MemoryBackend
    from emulator.oslogin import OsLogin
    from emulator.server import Request
    from emulator.state import Store
    store = Store(str(tmp_path), SA)
    project = store.new_project(PROJECT, ready=True)
    osl = OsLogin(store, None, MemoryBackend())
    dummy, line = make_key(tmp_path, "guest")
    dummy, other = make_key(tmp_path, "stranger")
    for email, key in ((SA, line), ("stranger@example.com", other)):
        osl.import_key(Request("POST", "", {}, {"key": key}, email), email)
    on = [{"key": "enable-oslogin", "value": "TRUE"}]
    assert osl.guest_users(PROJECT, []) is None                 # off by default
    users = osl.guest_users(PROJECT, on)
    assert len(users) == 1 and list(users)[0].startswith("sa_")   # the owner's account
    assert users[list(users)[0]] == [line]                      # not an admin: no access
    project["metadata"]["items"] = on                           # the project's value counts
    assert osl.guest_users(PROJECT, []) is not None
    assert osl.guest_users(PROJECT, [{"key": "enable-oslogin", "value": "false"}]) is None
    project["policy"]["bindings"].append({"role": "roles/compute.osAdminLogin",
                                          "members": ["user:stranger@example.com"]})
    assert sorted(osl.guest_users(PROJECT, on)) == sorted(
        list(users) + ["stranger_example_com"])
    past = str(int((time.time() - 60) * 1e6))
    osl.import_key(Request("POST", "", {}, {"key": other, "expirationTimeUsec": past},
                           "stranger@example.com"), "stranger@example.com")
    assert "stranger_example_com" not in osl.guest_users(PROJECT, on)  # expired key


def test_oslogin_through_the_https_proxy(tmp_path, monkeypatch):
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    with Emulator(tmp_path / "state", backend="memory", https_proxy_port=0) as emu:
        env = emu.client_env(via="proxy")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        creds = service_account.Credentials.from_service_account_file(
            env["GCP_SERVICE_ACCOUNT_FILE"],
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
        answer = AuthorizedSession(creds).get(
            "https://oslogin.googleapis.com/v1/users/%s/loginProfile" % SA)
        assert answer.status_code == 200, answer.text
        assert answer.json()["posixAccounts"][0]["username"].startswith("sa_")


def run_gcloud(emu, config_dir, *args):
    env = dict(os.environ)
    env.update(emu.gcloud_env(config_dir))
    env["CLOUDSDK_CORE_ACCOUNT"] = "owner@openclaw.example"   # the static token's identity
    done = subprocess.run([GCLOUD, *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, "gcloud %s failed:\n%s" % (" ".join(args), done.stderr)
    return done.stdout


def test_gcloud_os_login_describe_profile_and_add_key(emu, tmp_path):
    assert GCLOUD, "the gcloud CLI must be on PATH"
    path, line = make_key(tmp_path, "gc-key")
    cfg = tmp_path / "gcloud"
    profile = json.loads(run_gcloud(emu, cfg, "compute", "os-login", "describe-profile",
                                    "--format", "json"))
    assert profile["posixAccounts"][0]["username"] == "owner_openclaw_example"
    added = json.loads(run_gcloud(emu, cfg, "compute", "os-login", "ssh-keys", "add",
                                  "--key-file", path + ".pub", "--ttl", "1d", "--format",
                                  "json"))
    fp = blob_fingerprint(line)
    key = added["loginProfile"]["sshPublicKeys"][fp]
    assert key["key"] == line
    assert int(key["expirationTimeUsec"]) > time.time() * 1e6 + 23 * 3600e6
    listed = run_gcloud(emu, cfg, "compute", "os-login", "ssh-keys", "list", "--format",
                        "value(value.fingerprint)")
    assert fp in listed
    run_gcloud(emu, cfg, "compute", "os-login", "ssh-keys", "remove", "--key-file",
               path + ".pub")
    profile = json.loads(run_gcloud(emu, cfg, "compute", "os-login", "describe-profile",
                                    "--format", "json"))
    assert fp not in (profile.get("sshPublicKeys") or {})


def ssh(key_path, user, address, command):
    return subprocess.run(
        ["ssh", "-i", key_path, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
         "%s@%s" % (user, address), command], capture_output=True, text=True, timeout=60,
        check=False)


@pytest.mark.docker
def test_an_oslogin_vm_admits_the_profile_user_not_ssh_keys(tmp_path):
    op_path, op_line = make_key(tmp_path, "operator")
    late_path, late_line = make_key(tmp_path, "late")
    md_path, md_line = make_key(tmp_path, "alice")
    with Emulator(tmp_path / "state", backend="docker") as emu:
        session = authorized_session(emu)
        username = sa_username(emu, session)
        assert session.post(oslogin(emu, "users/%s:importSshPublicKey" % SA),
                            json={"key": op_line}).status_code == 200
        name = "osl-" + uuid.uuid4().hex[:6]
        op = session.post(compute(emu, "zones/%s/instances" % ZONE), json=instance_body(
            name, metadata={"items": [{"key": "enable-oslogin", "value": "TRUE"},
                                      {"key": "ssh-keys", "value": "alice:" + md_line}]}))
        assert op.status_code == 200, op.text
        assert wait(session, emu, op.json()).get("error") is None
        inst = session.get(compute(emu, "zones/%s/instances/%s" % (ZONE, name))).json()
        address = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]

        done = ssh(op_path, username, address, "id -un && sudo -n true && echo root-ok")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [username, "root-ok"]
        refused = ssh(md_path, "alice", address, "true")
        assert refused.returncode == 255, refused.stdout
        # a key imported while the VM runs works on the next login
        assert ssh(late_path, username, address, "true").returncode == 255
        assert session.post(oslogin(emu, "users/%s:importSshPublicKey" % SA),
                            json={"key": late_line}).status_code == 200
        assert ssh(late_path, username, address, "true").returncode == 0
        # and a deleted one no longer does
        fp = blob_fingerprint(late_line)
        assert session.delete(oslogin(emu, "users/%s/sshPublicKeys/%s"
                                      % (SA, fp))).status_code == 200
        assert ssh(late_path, username, address, "true").returncode == 255
        # OS Login off again (instance metadata): the ssh-keys user is back, the profile's gone
        fingerprint = inst["metadata"]["fingerprint"]
        op = session.post(compute(emu, "zones/%s/instances/%s/setMetadata" % (ZONE, name)),
                          json={"fingerprint": fingerprint, "items": [
                              {"key": "enable-oslogin", "value": "FALSE"},
                              {"key": "ssh-keys", "value": "alice:" + md_line}]})
        assert op.status_code == 200, op.text
        wait(session, emu, op.json())
        assert ssh(md_path, "alice", address, "true").returncode == 0
        assert ssh(op_path, username, address, "true").returncode == 255
