"""Persistent disks of the docker backend: a Docker volume per disk holding a sparse image
file, bound to a host loop device while the disk is attached to a running instance, and made
a real block device inside the instance's container.

- Volume ``gcedisk-P-Z-NAME`` (the emulator's labels plus ``...emulator.disk=NAME``) holds
  ``disk.img``, a sparse file of ``sizeGb`` GiB: the raw device. ``disk_image_path`` gives
  its host path (the emulator runs on the Docker host).
- Attached to a running instance: ``losetup`` binds the image to ``/dev/loopN`` on the host
  (read-only for ``READ_ONLY``), the container's device cgroup (v1) allows ``b 7:N rw`` (its
  whole subtree: systemd inside makes sub-groups), and inside ``/dev/sdX`` is made with
  ``mknod`` plus Google's ``/dev/disk/by-id/google-DEVICE`` and
  ``scsi-0Google_PersistentDisk_DEVICE`` links. No udev: libblkid finds the device through
  ``/proc/partitions`` and the node's number, so ``mount UUID=...`` works.
- Detach unmounts (lazily) what is mounted from the device inside, removes the nodes, denies
  the device again and releases the loop device. A stopped or deleted container holds
  nothing: its loop devices are released, the image stays.
"""

import base64
import json
import logging
import os
import subprocess
import time

from .ops import OperationFailed

LOG = logging.getLogger("emulator.docker")

DISK_FILE = "disk.img"
GIB = 1024 ** 3
LOOP_MAJOR = 7
CGROUP_DEVICES = "/sys/fs/cgroup/devices"
# The instance's container starts with this instead of systemd: it waits (10 s at the most)
# until the emulator has plugged the disks and mounted their fstab entries (in a container
# systemd ignores fstab entries of devices), as a VM's disks are there before its init runs.
DISKS_READY = "/run/google-disks-ready"
BOOT_COMMAND = ["/bin/sh", "-c", "i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do sleep 0.05; "
                "i=$((i+1)); done; exec /lib/systemd/systemd" % DISKS_READY]

# Run inside the instance as root: make or remove the device nodes of attached disks.
DISK_AGENT = r'''
import grp, json, os, stat, subprocess, sys
data = json.loads(sys.argv[1])
try:
    disk_gid = grp.getgrnam("disk").gr_gid
except KeyError:
    disk_gid = 0

def remove(path):
    if os.path.lexists(path):
        os.unlink(path)

def udev_links(node):
    """What udev would add: /dev/disk/by-uuid and by-label links of the file system."""
    out = subprocess.run(["blkid", "-p", "-o", "export", node], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    found = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    links = []
    if found.get("UUID"):
        links.append("/dev/disk/by-uuid/" + found["UUID"])
    if found.get("LABEL") and "/" not in found["LABEL"]:
        links.append("/dev/disk/by-label/" + found["LABEL"].replace(" ", "\\x20"))
    return links

def pointing_to(node):
    out = []
    for folder in ("/dev/disk/by-uuid", "/dev/disk/by-label"):
        if os.path.isdir(folder):
            out += [os.path.join(folder, n) for n in os.listdir(folder)
                    if os.path.realpath(os.path.join(folder, n)) == node]
    return out

def namespaces():
    """{mount namespace: a pid in it} of the instance's processes (services that systemd runs
    with namespaces of their own and nested containers hold copies of the mounts)."""
    found = {}
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            found.setdefault(os.readlink("/proc/%s/ns/mnt" % pid), pid)
        except OSError:
            pass
    return found

for item in data.get("unplug", []):
    number = "%d:%d" % (item["major"], item["minor"])
    own = os.readlink("/proc/self/ns/mnt")
    for space, pid in sorted(namespaces().items(), key=lambda pair: pair[0] != own):
        try:
            with open("/proc/%s/mountinfo" % pid) as handle:
                targets = [line.split()[4] for line in handle if line.split()[2] == number]
        except OSError:
            continue
        for target in sorted(targets, key=len, reverse=True):
            command = ["umount", "-l", target.replace("\\040", " ")]
            if space != own:
                command = ["nsenter", "-t", pid, "-m"] + command
            subprocess.call(command, stderr=subprocess.DEVNULL)
    for link in item["links"] + pointing_to(item["node"]):
        remove(link)
    node = item["node"]
    if os.path.exists(node) and os.stat(node).st_rdev == os.makedev(item["major"], item["minor"]):
        remove(node)
for item in data.get("plug", []):
    node, rdev = item["node"], os.makedev(item["major"], item["minor"])
    if os.path.lexists(node) and (not stat.S_ISBLK(os.lstat(node).st_mode)
                                  or os.lstat(node).st_rdev != rdev):
        remove(node)
    if not os.path.exists(node):
        os.mknod(node, 0o660 | stat.S_IFBLK, rdev)
        os.chown(node, 0, disk_gid)
        os.chmod(node, 0o660)
    for link in item["links"] + udev_links(node):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        remove(link)
        os.symlink(os.path.relpath(node, os.path.dirname(link)), link)
if data.get("boot"):
    # What the boot would mount: the fstab entries (not noauto) of the attached disks.
    plugged = {os.makedev(i["major"], i["minor"]) for i in data.get("plug", [])}
    lines = []
    if plugged and os.path.exists("/etc/fstab"):
        with open("/etc/fstab") as handle:
            lines = [l.split() for l in handle if l.strip() and not l.lstrip().startswith("#")]
    for fields in lines:
        if len(fields) < 2 or "noauto" in (fields[3] if len(fields) > 3 else "").split(","):
            continue
        spec = fields[0]
        if spec.split("=", 1)[0] in ("UUID", "LABEL", "PARTUUID", "PARTLABEL"):
            spec = subprocess.run(["blkid", "-l", "-o", "device", "-t", spec],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True).stdout.strip()
        if spec.startswith("/dev/") and os.path.exists(spec) and os.stat(spec).st_rdev in plugged:
            os.makedirs(fields[1], exist_ok=True)
            subprocess.call(["mount", fields[1]])
    open(data["ready"], "w").close()
'''


def disk_volume_name(project, zone, name):
    return "gcedisk-%s-%s-%s" % (project, zone, name)


def disk_where(link):
    parts = link.split("/")
    return parts[parts.index("projects") + 1], parts[parts.index("zones") + 1], parts[-1]


def device_node(index):
    """``/dev/sdX`` of the disk at ``index`` (0 = the boot disk's ``sda``)."""
    letters, name, number = "abcdefghijklmnopqrstuvwxyz", "", index
    while True:
        name = letters[number % 26] + name
        number = number // 26 - 1
        if number < 0:
            return "/dev/sd" + name


def _run(cmd, what):
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise OperationFailed("RESOURCE_OPERATION_FAILED", "%s failed (%s): %s" % (
            what, " ".join(cmd), (done.stderr or done.stdout).strip()[-300:]), 500)
    return done.stdout


def loops_of(path):
    """The host loop devices bound to ``path``."""
    if not os.path.exists(path):
        return []
    out = _run(["losetup", "--list", "--noheadings", "--output", "NAME", "--associated", path],
               "listing the loop devices of %s" % path)
    return [line.strip() for line in out.splitlines() if line.strip()]


def release_loops(path):
    for device in loops_of(path):
        done = subprocess.run(["losetup", "--detach", device], capture_output=True, text=True,
                              check=False, timeout=60)
        if done.returncode != 0:
            LOG.warning("could not release %s (%s): %s", device, path, done.stderr.strip())


def bind_loop(path, read_only):
    existing = loops_of(path)
    if existing:
        return existing[0]
    cmd = ["losetup", "--find", "--show"] + (["--read-only"] if read_only else []) + [path]
    return _run(cmd, "binding %s to a loop device" % path).strip()


def cgroup_root(pid, container_id):
    """The container's directory in the cgroup v1 ``devices`` hierarchy, from its init's pid
    (systemd moves itself to ``init.scope`` below it: cut the path after the container's id)."""
    with open("/proc/%d/cgroup" % pid, encoding="utf-8") as handle:
        for line in handle:
            controllers, path = line.rstrip("\n").split(":", 2)[1:]
            if "devices" in controllers.split(","):
                parts = path.split("/")
                if container_id in parts:
                    path = "/".join(parts[:parts.index(container_id) + 1])
                return CGROUP_DEVICES + path
    raise OperationFailed("RESOURCE_OPERATION_FAILED", "Attaching disks needs the cgroup v1 "
                          "devices controller (process %d has none)." % pid, 500)


def cgroup_rule(pid, container_id, rule, allow):
    root = cgroup_root(pid, container_id)
    if not allow:
        with open(os.path.join(root, "devices.deny"), "w", encoding="utf-8") as handle:
            handle.write(rule)      # a deny reaches the whole subtree
        return
    for directory in [walked[0] for walked in os.walk(root)]:   # top-down: new sub-groups inherit from parents
        try:
            with open(os.path.join(directory, "devices.allow"), "w", encoding="utf-8") as handle:
                handle.write(rule)
        except OSError:
            pass                    # a sub-group that went away meanwhile


def unmount_everywhere(device):
    """Unmount ``device`` in every mount namespace of this machine that still has it (from
    the host: what the instance's own agent could not reach); returns what holds it open."""
    number = "%d:%d" % (os.major(os.stat(device).st_rdev), os.minor(os.stat(device).st_rdev))
    seen, held = set(), []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            space = os.readlink("/proc/%s/ns/mnt" % pid)
            with open("/proc/%s/mountinfo" % pid, encoding="utf-8") as handle:
                targets = [line.split()[4] for line in handle if line.split()[2] == number]
        except OSError:
            continue
        if targets and space not in seen:
            seen.add(space)
            for target in sorted(targets, key=len, reverse=True):
                subprocess.run(["nsenter", "-t", pid, "-m", "umount", "-l",
                                target.replace("\\040", " ")], capture_output=True, check=False)
        if targets:
            held.append("process %s (mount)" % pid)
    return held


class DockerDisks:
    """Mixed into ``DockerBackend``: the disk hooks and the plugging of devices."""

    # -- volumes and images ----------------------------------------------------------------
    def _disk_labels(self, disk):
        project, zone, name = disk_where(disk["selfLink"])
        return {self.LABEL: "1", self.STATE_LABEL: self.state,
                self.STATE_DIR_LABEL: os.path.abspath(self.state_dir),
                self.LABEL + ".project": project, self.LABEL + ".zone": zone,
                self.LABEL + ".disk": name}

    def _volume(self, disk):
        try:
            return self.client.volumes.get(disk_volume_name(*disk_where(disk["selfLink"])))
        except self.docker.errors.NotFound:
            return None

    def disk_image_path(self, disk):
        """The host path of the disk's image file (None when the disk has no volume)."""
        volume = self._volume(disk)
        return os.path.join(volume.attrs["Mountpoint"], DISK_FILE) if volume else None

    def create_disk(self, disk):
        vname = disk_volume_name(*disk_where(disk["selfLink"]))
        with self._lock(vname):
            stale = self._volume(disk)
            if stale is not None:
                if self.foreign_owner(stale.attrs.get("Labels")):
                    raise OperationFailed(
                        "RESOURCE_ALREADY_EXISTS", "Volume %s belongs to another emulator (%s); "
                        "if it is a leftover: docker volume rm %s." % (
                            vname, stale.attrs.get("Labels", {}).get(self.STATE_DIR_LABEL),
                            vname), 409)
                release_loops(os.path.join(stale.attrs["Mountpoint"], DISK_FILE))
                stale.remove(force=True)
            volume = self.client.volumes.create(vname, labels=self._disk_labels(disk))
            path = os.path.join(volume.attrs["Mountpoint"], DISK_FILE)
            try:
                with open(path, "wb") as handle:
                    handle.truncate(int(disk["sizeGb"]) * GIB)
            except OSError as exc:
                volume.remove(force=True)
                raise OperationFailed("RESOURCE_OPERATION_FAILED", "Cannot write the image of "
                                      "disk %s (%s): the emulator must run as root on the "
                                      "Docker host." % (vname, exc), 500) from None

    def delete_disk(self, disk):
        vname = disk_volume_name(*disk_where(disk["selfLink"]))
        with self._lock(vname):
            volume = self._volume(disk)
            if volume is None:
                return
            release_loops(os.path.join(volume.attrs["Mountpoint"], DISK_FILE))
            volume.remove(force=True)

    def resize_disk(self, disk):
        vname = disk_volume_name(*disk_where(disk["selfLink"]))
        with self._lock(vname):
            path = self.disk_image_path(disk)
            if path is None:
                return
            with open(path, "r+b") as handle:
                handle.truncate(max(int(disk["sizeGb"]) * GIB, os.path.getsize(path)))
            for device in loops_of(path):
                _run(["losetup", "--set-capacity", device], "growing %s" % device)

    # -- attaching -------------------------------------------------------------------------
    def _plug_items(self, inst, entries, bind):
        """[item for DISK_AGENT] of the disks in ``entries``; ``bind`` binds
        their loop devices (else only those already bound are listed)."""
        items = []
        for entry in entries:
            path = self.disk_image_path({"selfLink": entry["source"]})
            if path is None and not bind:
                continue
            if path is None:
                raise OperationFailed("RESOURCE_NOT_FOUND", "The volume of disk %s is gone."
                                      % entry["source"].rsplit("/", 1)[1], 404)
            if bind:
                devices = [bind_loop(path, entry.get("mode") == "READ_ONLY")]
            else:
                devices = loops_of(path)
            for device in devices:
                rdev = os.stat(device).st_rdev
                name = entry["deviceName"]
                items.append({
                    "node": device_node(entry["index"]), "major": os.major(rdev),
                    "minor": os.minor(rdev),
                    "links": ["/dev/disk/by-id/google-" + name,
                              "/dev/disk/by-id/scsi-0Google_PersistentDisk_" + name]})
        return items

    def _disk_agent(self, container, data):
        script = base64.b64encode(DISK_AGENT.encode()).decode()
        self._exec(container, ["python3", "-c", "import base64;exec(base64.b64decode('%s'))"
                               % script, json.dumps(data)], "plugging disks")

    def plug_disks(self, container, inst, entries=None, boot=False):
        """Make the instance's extra disks (or ``entries``) block devices in ``container``;
        at ``boot`` also mount their fstab entries and let the container's init go on."""
        entries = inst["disks"][1:] if entries is None else entries
        if not entries and not boot:
            return
        items = self._plug_items(inst, entries, bind=True)
        container.reload()
        pid = container.attrs["State"]["Pid"]
        for item in items:
            cgroup_rule(pid, container.id, "b %d:%d rw" % (item["major"], item["minor"]), allow=True)
        data = {"plug": items}
        if boot:
            data.update(boot=True, ready=DISKS_READY)
        self._disk_agent(container, data)

    def unplug_disks(self, container, inst, entries=None):
        """Remove the disks' nodes from ``container`` (when it runs) and release the loops."""
        entries = inst["disks"][1:] if entries is None else entries
        items = self._plug_items(inst, entries, bind=False) if entries else []
        if items and container is not None:
            container.reload()
            if container.status == "running":
                self._disk_agent(container, {"unplug": items})
                pid = container.attrs["State"]["Pid"]
                for item in items:
                    cgroup_rule(pid, container.id, "b %d:%d rw" % (item["major"], item["minor"]), allow=False)
        for entry in entries:
            path = self.disk_image_path({"selfLink": entry["source"]})
            if path is not None:
                release_loops(path)
                # A loop device still in use is released when its last user lets it go.
                for attempt in range(50):
                    if not loops_of(path):
                        break
                    if attempt == 10:
                        for device in loops_of(path):
                            LOG.warning("%s of %s still in use: %s", device, path,
                                        unmount_everywhere(device))
                    time.sleep(0.1 * (attempt > 0))
                else:
                    LOG.warning("%s is still bound: something holds %s", loops_of(path), path)

    def attach_disk(self, inst, disk, entry):
        if inst.get("_preloaded"):
            return
        cname = self.container_name_of(inst)
        with self._lock(cname):
            container = self._container(cname)
            if container is not None and container.status == "running":
                self.plug_disks(container, inst, [entry])

    def detach_disk(self, inst, disk, entry):
        if inst.get("_preloaded"):
            return
        cname = self.container_name_of(inst)
        with self._lock(cname):
            self.unplug_disks(self._container(cname), inst, [entry])


def remove_disk_volumes(client, label):
    """``remove_all``: release the loop devices of the state's disks, remove their volumes."""
    for volume in client.volumes.list(filters={"label": label}):
        if "org.openclaw-gcp.emulator.disk" in (volume.attrs.get("Labels") or {}):
            release_loops(os.path.join(volume.attrs["Mountpoint"], DISK_FILE))
