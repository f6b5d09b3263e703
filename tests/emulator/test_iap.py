"""IAP TCP forwarding: the real `gcloud compute start-iap-tunnel` through the emulator's relay.

gcloud reaches `wss://tunnel.cloudproxy.app/v4/connect` through the emulator's HTTPS proxy and
trusts its CA through `core/custom_ca_certs_file`, as behind a corporate TLS proxy: nothing in
the command line knows about the emulator. The docker-backed VM has no external address."""

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.parse

import pytest
from google.auth.transport.requests import Request

from emulator_helpers import ZONE, authorized_session, compute, instance_body, wait
from emulator.iap import firewall_admits
from emulator.testing import Emulator

GCLOUD = shutil.which("gcloud")
VM = "iap-vm"


# -- the firewall decision, without Docker --------------------------------------------------------
def rule(name, ranges, ports=("22",), priority=1000, deny=False, **extra):
    key = "denied" if deny else "allowed"
    body = {"name": name, "direction": "INGRESS", "priority": priority, "sourceRanges": ranges,
            key: [{"IPProtocol": "tcp", "ports": list(ports)}]}
    body.update(extra)
    return body


INST = {"tags": {"items": ["gw"]}, "serviceAccounts": [{"email": "vm@p.iam.gserviceaccount.com"}]}


@pytest.mark.parametrize("rules, admitted", [
    ([rule("iap", ["35.235.240.0/20"])], "iap"),
    ([rule("any", ["0.0.0.0/0"])], "any"),
    ([], None),
    ([rule("part", ["35.235.240.0/24"])], None),               # IAP may come from all of the /20
    ([rule("other", ["10.0.0.0/8"])], None),
    ([rule("port", ["35.235.240.0/20"], ports=("443",))], None),
    ([rule("range", ["35.235.240.0/20"], ports=("20-30",))], "range"),
    ([rule("tag", ["35.235.240.0/20"], targetTags=["gw"])], "tag"),
    ([rule("notag", ["35.235.240.0/20"], targetTags=["db"])], None),
    ([rule("sa", ["35.235.240.0/20"], targetServiceAccounts=["other@p.iam.gserviceaccount.com"])],
     None),
    ([rule("off", ["35.235.240.0/20"], disabled=True)], None),
    ([rule("egress", ["35.235.240.0/20"], direction="EGRESS")], None),
    ([rule("iap", ["35.235.240.0/20"]), rule("deny", ["35.235.244.0/24"], deny=True,
                                             priority=900)], None),
    ([rule("iap", ["35.235.240.0/20"], priority=100), rule("deny", ["0.0.0.0/0"], deny=True)],
     "iap"),
    ([rule("iap", ["35.235.240.0/20"]), rule("deny", ["0.0.0.0/0"], deny=True)], None),
])
def test_firewall_decision(rules, admitted):
    assert firewall_admits({r["name"]: r for r in rules}, INST, 22) == admitted


# -- the real gcloud through the relay to a docker-backed VM -----------------------------------------
@pytest.fixture(scope="module")
def iemu(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("iap"), backend="docker", https_proxy_port=0,
                  propagation_delay=0) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("iapkey") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "iap", "-f", str(path)],
                   check=True)
    return str(path), path.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="module")
def vm(iemu, key):
    session = authorized_session(iemu)
    body = instance_body(VM, machine_type="e2-micro", tags={"items": ["gw"]},
                         metadata={"items": [{"key": "ssh-keys", "value": "iap:" + key[1]}]})
    body["networkInterfaces"] = [{"network": "global/networks/default"}]   # no external address
    op = session.post(compute(iemu, "zones/%s/instances" % ZONE), json=body)
    assert op.status_code == 200, op.text
    assert "error" not in wait(session, iemu, op.json())
    return session


def gcloud_env(emu, tmp_path, token_file=None):
    env = dict(os.environ)
    env.update(emu.gcloud_env(tmp_path / "gcloud"))
    env.update({"HTTPS_PROXY": emu.info["https_proxy"], "https_proxy": emu.info["https_proxy"],
                "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE": emu.info["ca_file"],
                "HOME": str(tmp_path)})
    if token_file:
        env["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"] = str(token_file)
    return env


def tunnel_command():
    return ("%s compute start-iap-tunnel %s 22 --listen-on-stdin --zone=%s --verbosity=warning"
            % (GCLOUD, VM, ZONE))


def ssh(key, env, command):
    """ssh through the IAP tunnel, the inventory plugin's ProxyCommand."""
    return subprocess.run(
        ["ssh", "-i", key[0], "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ProxyCommand=%s" % tunnel_command(), "iap@" + VM, command],
        env=env, capture_output=True, text=True, timeout=120, check=False)


def refusal(env):
    """What gcloud says when the relay refuses (stdin at EOF: no data to send)."""
    done = subprocess.run(tunnel_command().split(), env=env, input="", capture_output=True,
                          text=True, timeout=120, check=False)
    return done.stderr


def set_policy(session, emu, change):
    url = "%s/cloudresourcemanager/v1/projects/%s" % (emu.endpoint, emu.project)
    policy = session.post(url + ":getIamPolicy", json={}).json()
    change(policy["bindings"])
    answer = session.post(url + ":setIamPolicy", json={"policy": policy})
    assert answer.status_code == 200, answer.text


def firewall(session, emu, method, name, body=None):
    path = "global/firewalls" + ("" if method == "post" else "/" + name)
    answer = getattr(session, method)(compute(emu, path), json=body) if body else \
        getattr(session, method)(compute(emu, path))
    assert answer.status_code == 200, answer.text
    wait(session, emu, answer.json())


@pytest.mark.docker
def test_ssh_through_iap_then_refusals(iemu, vm, key, tmp_path):
    env = gcloud_env(iemu, tmp_path)
    before = iemu.iap_stats()["sessions"]

    done = ssh(key, env, "hostname && echo through-iap")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [VM, "through-iap"]
    # A second command is a second session; a bigger transfer crosses many DATA/ACK frames.
    done = ssh(key, env, "head -c 300000 /dev/zero | base64 -w0 | wc -c")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "400000"
    # The Control UI command the playbooks print: gcloud's own ssh, through IAP (its key goes to
    # the project's ssh-keys first).
    done = subprocess.run([GCLOUD, "compute", "ssh", "viagcloud@" + VM, "--zone", ZONE,
                           "--tunnel-through-iap", "--quiet", "--command", "echo via-gcloud-ssh",
                           "--", "-o", "BatchMode=yes"],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "via-gcloud-ssh"    # after ssh-keygen's own lines
    stats = iemu.iap_stats()
    assert stats["sessions"] >= before + 3
    before = stats["sessions"] - 2
    assert stats["bytes_to_client"] > 0 and stats["bytes_from_client"] > 0
    log = [json.loads(line) for line in open(os.path.join(iemu.state_dir, "requests.jsonl"), encoding="utf-8").read().splitlines()]
    assert any(e["api"] == "iap" and e["status"] == 101 for e in log)

    # The caller (the service account) loses roles/owner: 4033, no session.
    token = tmp_path / "sa-token"
    vm.credentials.refresh(Request())
    token.write_text(vm.credentials.token)
    sa_env = gcloud_env(iemu, tmp_path, token_file=token)
    member = "serviceAccount:" + iemu.info["service_account"]
    set_policy(vm, iemu, lambda bindings: bindings[0]["members"].remove(member))
    assert "4033: 'not authorized'" in refusal(sa_env)
    assert ssh(key, sa_env, "true").returncode != 0
    # IAP-secured Tunnel User is enough.
    set_policy(vm, iemu, lambda bindings: bindings.append(
        {"role": "roles/iap.tunnelResourceAccessor", "members": [member]}))
    done = ssh(key, sa_env, "echo allowed")
    assert done.returncode == 0, done.stderr
    assert iemu.iap_stats()["sessions"] == before + 3

    # No firewall rule admits 35.235.240.0/20 to port 22: 4003.
    firewall(vm, iemu, "delete", "default-allow-ssh")
    assert "4003: 'failed to connect to backend'" in refusal(env)
    # A rule for the IAP range and the VM's tag lets it through again.
    firewall(vm, iemu, "post", None, {
        "name": "allow-iap-ssh", "sourceRanges": ["35.235.240.0/20"], "targetTags": ["gw"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]})
    done = ssh(key, env, "echo again")
    assert done.returncode == 0, done.stderr

    # A VM that does not exist: refused, and gcloud then says why.
    missing = subprocess.run(tunnel_command().replace(VM, "no-such-vm").split(), env=env,
                             input="", capture_output=True, text=True, timeout=120, check=False)
    assert "4033: 'not authorized'" in missing.stderr
    stats = iemu.iap_stats()
    assert stats["sessions"] == before + 4
    assert stats["refused"] == {"4033": 3, "4003": 1}   # the refused ssh counts too

    # A stopped VM: 4003.
    wait(vm, iemu, vm.post(compute(iemu, "zones/%s/instances/%s/stop" % (ZONE, VM))).json())
    assert "4003: 'failed to connect to backend'" in refusal(env)


# -- the protocol itself, with a small WebSocket client on the plain endpoint ------------------------
class Relay:
    """A bare IAP relay client: handshake, masked frames, subprotocol tags."""

    def __init__(self, emu, endpoint, query, token):
        host, port = emu.endpoint.split("//", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /iap/v4/%s?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13"
                           "\r\nSec-WebSocket-Protocol: relay.tunnel.cloudproxy.app\r\n"
                           "Origin: bot:iap-tunneler\r\n%s\r\n"
                           % (endpoint, urllib.parse.urlencode(query), host, key,
                              "Authorization: Bearer %s\r\n" % token if token else "")).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split()[1])
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert self.status != 101 or accept.encode() in head

    def _read(self, size):
        while len(self.buf) < size:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def frame(self):
        """(opcode, payload) of the next server frame."""
        first, second = self._read(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(size)

    def send(self, payload, opcode=2):
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                         bytes([0x80 | 126]) + struct.pack("!H", size))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def data(self):
        """The next DATA frame's bytes (skipping ACKs)."""
        while True:
            opcode, payload = self.frame()
            assert opcode == 2, (opcode, payload)
            tag = struct.unpack("!H", payload[:2])[0]
            if tag == 4:
                return payload[6:6 + struct.unpack("!I", payload[2:6])[0]]
            assert tag == 7, tag


@pytest.mark.docker
def test_reconnect_resends_what_the_client_did_not_confirm(iemu, vm):
    wait(vm, iemu, vm.post(compute(iemu, "zones/%s/instances/%s/start" % (ZONE, VM))).json())
    query = {"project": iemu.project, "port": 22, "newWebsocket": True, "zone": ZONE,
             "instance": VM, "interface": "nic0"}
    assert Relay(iemu, "connect", query, None).status == 401
    assert Relay(iemu, "connect", query, "ya29.not-a-token").status == 401

    first = Relay(iemu, "connect", query, iemu.token)
    assert first.status == 101
    opcode, payload = first.frame()
    assert (opcode, payload[:2]) == (2, b"\x00\x01")          # CONNECT_SUCCESS_SID
    sid = payload[6:6 + struct.unpack("!I", payload[2:6])[0]].decode()
    banner = first.data()
    assert banner.startswith(b"SSH-2.0-")
    hello = b"SSH-2.0-OpenSSH_9.2 iap-test\r\n"
    first.send(struct.pack("!HI", 4, len(hello)) + hello)
    seen = banner
    while True:                                             # sshd may answer before the ACK
        opcode, payload = first.frame()
        if payload[:2] == b"\x00\x07":
            assert struct.unpack("!HQ", payload) == (7, len(hello))  # the relay confirms our bytes
            break
        seen += payload[6:]
    first.sock.close()                                      # the WebSocket drops, no close frame
    time.sleep(0.5)                                         # the relay notices (gcloud retries)

    # Resume without having confirmed the banner: it comes again, and our bytes are not resent.
    again = Relay(iemu, "reconnect", {"sid": sid, "ack": 0, "newWebsocket": True, "zone": ZONE},
                  iemu.token)
    assert again.status == 101
    opcode, payload = again.frame()
    assert struct.unpack("!HQ", payload) == (2, len(hello))  # RECONNECT_SUCCESS_ACK
    resent = b""
    while len(resent) < len(seen):
        resent += again.data()
    assert resent[:len(seen)] == seen
    again.send(struct.pack("!H", 1000), opcode=8)
    for _frame in range(50):                                # sshd's data may come before the close
        if again.frame()[0] == 8:
            break
    else:
        raise AssertionError("the relay did not answer the close")
    stats = iemu.iap_stats()
    assert stats["reconnects"] >= 1 and not [s for s in stats["active"] if s["sid"] == sid]

    gone = Relay(iemu, "reconnect", {"sid": sid, "ack": 0, "zone": ZONE}, iemu.token)
    opcode, payload = gone.frame()
    assert (opcode, struct.unpack("!H", payload[:2])[0]) == (8, 4040)
