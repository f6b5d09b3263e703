"""The docker backend: each instance is a Debian systemd container, SSH on 127.0.0.N:22.

Container ``gce-P-Z-NAME`` from ``openclaw-gcp/vm:debian-12`` (``:debian-13`` for the debian-13
family), no ``--privileged``: every capability but SYS_RESOURCE, seccomp/apparmor unconfined,
host cgroup namespace, ``/sys/fs/cgroup`` read-write, tmpfs ``/run`` and ``/run/lock``, and a
named volume on ``/var/lib/docker`` so Docker inside the instance uses overlay2. The boot
"disk" is the container's own file system: stop/start are ``docker stop``/``docker start`` of
the same container. Users in the ``ssh-keys`` metadata get accounts with passwordless sudo
(group ``google-sudoers``), like Google's guest agent.
"""

import base64
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time

from . import catalog
from .backends import settle_in_flight
from .docker_disks import BOOT_COMMAND, DockerDisks, remove_disk_volumes
from .docker_snapshots import DockerSnapshots
from .guest_attributes import openssh_keys
from .ops import OperationFailed

LOG = logging.getLogger("emulator.docker")

LABEL = "org.openclaw-gcp.emulator"
STATE_LABEL = "org.openclaw-gcp.emulator.state"
# Where the owning emulator keeps its state: named in the message when a leftover is in the way.
STATE_DIR_LABEL = "org.openclaw-gcp.emulator.state-dir"
# Held (flock) by the running emulator of a state directory: free means its owner is gone.
OWNER_LOCK = "docker-owner.lock"
FIRST_LOOPBACK = 10
BOOT_TIMEOUT = 120
SSH_TIMEOUT = 60
CPU_PERIOD = 100000
USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")

# Run inside the instance as root: create/refresh the users from the ssh-keys metadata.
GUEST_AGENT = r'''
import grp, json, os, pwd, subprocess, sys
data = json.loads(sys.argv[1])
MARK = " # Added by Google"
if subprocess.call(["getent", "group", "google-sudoers"], stdout=subprocess.DEVNULL):
    subprocess.check_call(["groupadd", "--system", "google-sudoers"])
path = "/etc/sudoers.d/google_sudoers"
with open(path + ".tmp", "w") as handle:
    handle.write("%google-sudoers ALL=(ALL:ALL) NOPASSWD:ALL\n")
os.chmod(path + ".tmp", 0o440)
os.replace(path + ".tmp", path)
extra = [g for g in ("adm", "dip", "docker", "lxd", "plugdev", "video", "netdev")
         if not subprocess.call(["getent", "group", g], stdout=subprocess.DEVNULL)]

def write_keys(user, keys):
    info = pwd.getpwnam(user)
    ssh = os.path.join(info.pw_dir, ".ssh")
    os.makedirs(ssh, mode=0o700, exist_ok=True)
    os.chown(ssh, info.pw_uid, info.pw_gid)
    auth = os.path.join(ssh, "authorized_keys")
    kept = []
    if os.path.exists(auth):
        with open(auth) as handle:
            kept = [l.rstrip("\n") for l in handle if l.strip() and not l.rstrip().endswith(MARK)]
    with open(auth + ".tmp", "w") as handle:
        handle.write("".join(l + "\n" for l in kept + [k + MARK for k in keys]))
    os.chown(auth + ".tmp", info.pw_uid, info.pw_gid)
    os.chmod(auth + ".tmp", 0o600)
    os.replace(auth + ".tmp", auth)

for user, keys in sorted(data["users"].items()):
    try:
        info = pwd.getpwnam(user)
    except KeyError:
        subprocess.check_call(["useradd", "--create-home", "--shell", "/bin/bash", user])
        info = pwd.getpwnam(user)
    if info.pw_uid < 1000:
        continue
    subprocess.check_call(["usermod", "-aG", ",".join(["google-sudoers"] + extra), user])
    write_keys(user, keys)
# Like the guest agent, remember which users it manages (to revoke those no longer listed).
STATE = "/var/lib/google/google_users"
previous = []
if os.path.exists(STATE):
    with open(STATE) as handle:
        previous = [l.strip() for l in handle if l.strip()]
for user in sorted(set(previous) - set(data["users"])):
    try:
        info = pwd.getpwnam(user)
    except KeyError:
        continue
    if info.pw_uid < 1000:
        continue
    subprocess.call(["gpasswd", "-d", user, "google-sudoers"], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    write_keys(user, [])
os.makedirs(os.path.dirname(STATE), exist_ok=True)
with open(STATE + ".tmp", "w") as handle:
    handle.write("".join(u + "\n" for u in sorted(data["users"])))
os.replace(STATE + ".tmp", STATE)
'''


def state_id(state_dir):
    return hashlib.sha256(os.path.abspath(state_dir).encode()).hexdigest()[:16]


def container_name(project, zone, name):
    return "gce-%s-%s-%s" % (project, zone, name)


def _where(inst):
    parts = inst["selfLink"].split("/")
    return parts[parts.index("projects") + 1], parts[parts.index("zones") + 1], inst["name"]


def ssh_users(inst):
    """{user: [public key lines]} from the ``ssh-keys`` (and ``sshKeys``) metadata of the
    instance and, unless it blocks them, of the project. With OS Login on, the profiles'
    users instead (``_oslogin_users``, see oslogin.py): Google ignores ``ssh-keys`` then."""
    if inst.get("_oslogin_users") is not None:
        return {user: list(keys) for user, keys in inst["_oslogin_users"].items()}
    users = {}
    texts = [item.get("value", "") for item in inst.get("metadata", {}).get("items", [])
             if item["key"] in ("ssh-keys", "sshKeys")]
    texts.append(inst.get("_project_ssh_keys") or "")
    for text in texts:
        for line in text.splitlines():
            user, sep, key = line.strip().partition(":")
            if not sep or not USER_NAME.match(user) or not key.strip():
                continue
            users.setdefault(user, []).append(key.strip())
    return users


def machine_limits(inst):
    cpus, memory_mb = catalog.machine_spec(inst["machineType"].rsplit("/", 1)[1])[:2]
    quota = int(min(cpus, os.cpu_count() or 1) * CPU_PERIOD)
    return memory_mb * 1024 * 1024, quota


class DockerBackend(DockerDisks, DockerSnapshots):
    """Instances as containers, disks as volumes with an image file (``docker_disks``);
    every hook blocks (it runs on the operation's thread)."""

    name = "docker"
    asynchronous = True
    LABEL, STATE_LABEL, STATE_DIR_LABEL = LABEL, STATE_LABEL, STATE_DIR_LABEL

    def __init__(self, state_dir, image_repo="openclaw-gcp/vm"):
        import docker  # pylint: disable=import-outside-toplevel
        self.docker = docker
        self.client = docker.from_env(timeout=300)
        self.client.ping()
        self.state_dir = state_dir
        self.state = state_id(state_dir)
        self.image_repo = image_repo
        self._locks = {}
        self._guard = threading.Lock()
        self._reserved = set()
        self._owner = open(os.path.join(state_dir, OWNER_LOCK), "a")  # noqa: SIM115 pylint: disable=consider-using-with
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # this state directory's emulator already holds it: alive either way

    # -- helpers ---------------------------------------------------------------------------
    def foreign_owner(self, labels):
        """True when a container or volume with ``labels`` belongs to another emulator that
        is running. One whose emulator is gone (killed before it could clean up: its state
        directory is gone, or nobody holds its owner lock) is a leftover nobody else would
        ever delete: the caller reclaims it."""
        labels = labels or {}
        if labels.get(STATE_LABEL) == self.state:
            return False
        owner = labels.get(STATE_DIR_LABEL)
        if not owner:
            return True
        try:
            with open(os.path.join(owner, OWNER_LOCK), "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return False

    def _lock(self, cname):
        with self._guard:
            return self._locks.setdefault(cname, threading.Lock())

    @staticmethod
    def container_name_of(inst):
        return container_name(*_where(inst))

    def _container(self, cname):
        try:
            return self.client.containers.get(cname)
        except self.docker.errors.NotFound:
            return None

    def _used_loopbacks(self):
        used = set(self._reserved)
        for container in self.client.containers.list(all=True, filters={"label": LABEL}):
            bindings = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
            for binding in bindings.get("22/tcp") or []:
                if binding.get("HostIp"):
                    used.add(binding["HostIp"])
        return used

    def _allocate_loopback(self):
        with self._guard:
            used = self._used_loopbacks()
            for address in _loopback_addresses():
                if address in used or not _port_free(address, 22):
                    continue
                self._reserved.add(address)
                return address
        raise OperationFailed("IP_SPACE_EXHAUSTED", "No free loopback address for SSH.", 503)

    def _image(self, inst):
        family = inst.get("_disk", {}).get("family", "debian-12")
        tag = "debian-13" if family == "debian-13" else "debian-12"
        image = "%s:%s" % (self.image_repo, tag)
        try:
            self.client.images.get(image)
        except self.docker.errors.ImageNotFound:
            raise OperationFailed("RESOURCE_NOT_FOUND", "The emulator's VM image %s is not built "
                                  "(scripts/images.sh builds it)." % image, 404) from None
        return image

    def _exec(self, container, cmd, what):
        result = container.exec_run(cmd, user="root")
        if result.exit_code != 0:
            raise OperationFailed("RESOURCE_OPERATION_FAILED", "%s failed in %s (exit %s): %s" % (
                what, container.name, result.exit_code,
                result.output.decode(errors="replace")[-500:]), 500)
        return result.output.decode(errors="replace")

    def _boot(self, container, inst, loopback):
        """Wait for systemd, create the metadata users, wait for sshd; returns updates."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                raise OperationFailed("RESOURCE_OPERATION_FAILED", "%s stopped while booting "
                                      "(%s)." % (container.name, container.status), 500)
            out = container.exec_run(["systemctl", "is-system-running"], user="root")
            state = out.output.decode(errors="replace").strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        else:
            raise OperationFailed("RESOURCE_OPERATION_FAILED", "systemd in %s did not finish "
                                  "booting within %d s (state %r)."
                                  % (container.name, BOOT_TIMEOUT, state), 500)
        self._apply_users(container, inst)
        _wait_ssh(loopback, SSH_TIMEOUT, container.name)
        container.reload()
        network_ip = container.attrs["NetworkSettings"].get("IPAddress") or next(
            (n["IPAddress"] for n in container.attrs["NetworkSettings"]["Networks"].values()
             if n.get("IPAddress")), "")
        return {"natIP": loopback, "networkIP": network_ip, "_loopback": loopback}

    def _apply_users(self, container, inst):
        data = json.dumps({"users": ssh_users(inst)})
        script = base64.b64encode(GUEST_AGENT.encode()).decode()
        self._exec(container, ["python3", "-c", "import base64;exec(base64.b64decode('%s'))"
                               % script, data], "creating the ssh-keys users")

    # -- backend hooks ---------------------------------------------------------------------
    def create(self, inst):
        if inst.get("_preloaded"):
            return {}
        project, zone, name = _where(inst)
        cname = container_name(project, zone, name)
        with self._lock(cname):
            image = self._image(inst)
            stale = self._container(cname)
            if stale is not None:
                if self.foreign_owner(stale.labels):
                    owner = stale.labels.get(STATE_DIR_LABEL)
                    raise OperationFailed(
                        "RESOURCE_ALREADY_EXISTS",
                        "Container %s belongs to another emulator (%s). Stop that emulator and delete its "
                        "instance (for the demo: make demo-clean), or, if it is a leftover, remove it with "
                        "docker rm -f %s && docker volume rm %s-docker." % (
                            cname, ("state directory %s" % owner) if owner else "an older emulator",
                            cname, cname), 409)
                stale.remove(force=True, v=True)
            memory, quota = machine_limits(inst)
            labels = {LABEL: "1", STATE_LABEL: self.state, STATE_DIR_LABEL: os.path.abspath(self.state_dir),
                      LABEL + ".project": project,
                      LABEL + ".zone": zone, LABEL + ".instance": name}
            volume = cname + "-docker"
            try:
                self.client.volumes.get(volume).remove(force=True)
            except self.docker.errors.NotFound:
                pass
            self.client.volumes.create(volume, labels=labels)
            for attempt in range(5):
                loopback = self._allocate_loopback()
                try:
                    container = self.client.containers.run(
                        image, BOOT_COMMAND, detach=True, name=cname, hostname=name, labels=labels,
                        cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
                        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
                        cgroupns="host", tmpfs={"/run": "", "/run/lock": ""},
                        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                                 volume: {"bind": "/var/lib/docker", "mode": "rw"}},
                        mem_limit=memory, memswap_limit=memory, cpu_period=CPU_PERIOD,
                        cpu_quota=quota, ports={"22/tcp": (loopback, 22)},
                        stop_signal="SIGRTMIN+3", environment={"container": "docker"})
                    break
                except self.docker.errors.APIError as exc:
                    leftover = self._container(cname)
                    if leftover is not None:
                        leftover.remove(force=True)
                    taken = "already allocated" in str(exc) or "already in use" in str(exc)
                    with self._guard:
                        if not taken:
                            self._reserved.discard(loopback)
                    # A taken address stays reserved: someone else uses 127.x:22 after all.
                    if not taken or attempt == 4:
                        raise
            try:
                self.plug_disks(container, inst, boot=True)
                updates = self._boot(container, inst, loopback)
            except Exception:
                with self._guard:
                    self._reserved.discard(loopback)
                raise
            return updates

    def start(self, inst):
        if inst.get("_preloaded"):
            return {}
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is None:
                raise OperationFailed("RESOURCE_NOT_FOUND", "Container %s is gone." % cname, 404)
            container.start()
            self.plug_disks(container, inst, boot=True)
            loopback = inst.get("_loopback") or container.attrs["HostConfig"]["PortBindings"][
                "22/tcp"][0]["HostIp"]
            updates = self._boot(container, inst, loopback)
            return updates

    def stop(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is not None:
                container.stop(timeout=30)
            self.unplug_disks(None, inst)

    def delete(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is not None:
                container.remove(force=True, v=True)
            self.unplug_disks(None, inst)
            try:
                self.client.volumes.get(cname + "-docker").remove(force=True)
            except self.docker.errors.NotFound:
                pass
            with self._guard:
                self._reserved.discard(inst.get("_loopback"))

    def host_keys(self, inst):
        """The container's real SSH host keys ``{type: base64 blob}`` (what the guest agent
        publishes), or {} while it is not running or sshd has not made them yet."""
        container = self._container(container_name(*_where(inst)))
        if container is None or container.status != "running":
            return {}
        result = container.exec_run(["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"],
                                    user="root")
        return openssh_keys(result.output.decode(errors="replace")) if result.exit_code == 0 \
            else {}

    def set_machine_type(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        memory, quota = machine_limits(inst)
        with self._lock(cname):
            container = self._container(cname)
            if container is None:
                raise OperationFailed("RESOURCE_NOT_FOUND", "Container %s is gone." % cname, 404)
            container.update(mem_limit=memory, memswap_limit=memory, cpu_period=CPU_PERIOD,
                             cpu_quota=quota)

    def apply_metadata(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is not None and container.status == "running":
                self._apply_users(container, inst)

    def suspend(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is not None:
                container.pause()

    def resume(self, inst):
        if inst.get("_preloaded"):
            return
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is None:
                raise OperationFailed("RESOURCE_NOT_FOUND", "Container %s is gone." % cname, 404)
            container.reload()
            if container.status == "paused":
                container.unpause()

    def reset(self, inst):
        if inst.get("_preloaded"):
            return {}
        cname = container_name(*_where(inst))
        with self._lock(cname):
            container = self._container(cname)
            if container is None:
                raise OperationFailed("RESOURCE_NOT_FOUND", "Container %s is gone." % cname, 404)
            container.kill()
            container.start()
            self.plug_disks(container, inst, boot=True)
            updates = self._boot(container, inst, inst.get("_loopback"))
            return updates

    def adopt(self, store):
        """After a restart: match instances to their containers (running/exited/gone)."""
        with store.lock:
            for project in store.projects.values():
                for instances in project["instances"].values():
                    for inst in instances.values():
                        if inst.get("_loopback"):
                            self._reserved.add(inst["_loopback"])

        def status_of(inst):
            if inst.get("_preloaded"):
                return {"PROVISIONING": "RUNNING", "STAGING": "RUNNING",
                        "STOPPING": "TERMINATED"}.get(inst["status"], inst["status"])
            container = self._container(container_name(*_where(inst)))
            if container is None:
                return None
            return {"running": "RUNNING", "paused": "SUSPENDED"}.get(container.status,
                                                                     "TERMINATED")
        settle_in_flight(store, status_of)

    def close(self):
        self.client.close()
        self._owner.close()


def _loopback_addresses():
    """127.0.0.10 ... 127.0.0.254, then 127.0.1.1 and on."""
    for third in range(0, 256):
        for fourth in range(FIRST_LOOPBACK if third == 0 else 1, 255):
            yield "127.0.%d.%d" % (third, fourth)


def _port_free(address, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _wait_ssh(address, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, 22), timeout=2) as sock:
                sock.settimeout(3)
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise OperationFailed("RESOURCE_OPERATION_FAILED", "sshd in %s did not answer on %s:22 "
                          "within %d s." % (what, address, timeout), 500)


def remove_all(state_dir):
    """Remove every container and volume made by the emulator of ``state_dir``."""
    import docker  # pylint: disable=import-outside-toplevel
    client = docker.from_env(timeout=600)  # a VM's /var/lib/docker volume can take minutes to delete on a busy host
    try:
        label = "%s=%s" % (STATE_LABEL, state_id(state_dir))
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True, v=True)
        remove_disk_volumes(client, label)
        for volume in client.volumes.list(filters={"label": label}):
            try:
                volume.remove(force=True)
            except docker.errors.APIError:
                pass
    finally:
        client.close()
