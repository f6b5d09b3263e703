"""Disks attached to instances: ``instances.attachDisk``/``detachDisk``, extra disks given by
``source`` in ``instances.insert``, and what ``instances.delete`` does with them (deletes the
``autoDelete`` ones, leaves the others with no ``users``).

A disk attached ``READ_WRITE`` has one user; ``READ_ONLY`` disks may have several readers (and
no writer). The instance's ``disks[]`` lists the attachments (boot disk at index 0); the
disk's ``users`` lists the instances. The backend gets ``attach_disk``/``detach_disk`` for a
running instance; ``create``/``start`` attach every disk of the instance themselves.
"""

import copy
import re

from . import util
from .errors import ApiError, invalid, not_found, not_ready, required

DEVICE_NAME = re.compile(r"^[a-z](?:[-a-z0-9_]{0,61}[a-z0-9])?$")
MODES = ("READ_WRITE", "READ_ONLY")
MOVING = ("PROVISIONING", "STAGING", "STOPPING", "SUSPENDING")


def disk_where(link):
    """(project, zone, name) of a disk link."""
    return util.segment(link, "projects"), util.segment(link, "zones"), \
        util.last_segment(link, "disks")


class AttachMixin:
    """Attachment bookkeeping shared by ``instances`` and ``disks``."""

    def disk_user_instances(self, proj, disk):
        """The instances (stored dicts) that ``disk`` is attached to."""
        found = []
        for link in disk.get("users", []):
            zone, name = util.segment(link, "zones"), util.last_segment(link, "instances")
            inst = proj["instances"].get(zone, {}).get(name)
            if inst is not None:
                found.append(inst)
        return found

    def _in_use_by(self, path, user_link):
        return ApiError(400, "resourceInUseByAnotherResource", "The disk resource '%s' is "
                        "already being used by '%s'"
                        % (path, user_link.split("/compute/v1/", 1)[-1]))

    def attachment(self, proj, zone, inst_link, spec, field, taken, index):
        """Validate one ``AttachedDisk`` naming an existing disk by ``source``; returns
        ``(disk, entry)`` without changing anything."""
        project = proj["projectId"]
        if not isinstance(spec, dict):
            raise invalid(field, spec, "Must be an attached disk.")
        source = spec.get("source")
        if not source:
            if spec.get("initializeParams"):
                raise invalid(field + ".initializeParams", "", "The emulator makes extra "
                              "disks with disks.insert: attach them by source.")
            raise required(field + ".source")
        src_project, src_zone, name = disk_where(source)
        if name is None or (src_project and src_project != project):
            raise invalid(field + ".source", source,
                          "The referenced disk resource cannot be found.")
        if src_zone and src_zone != zone:
            raise invalid(field + ".source", source, "Disk must be in the same zone as the "
                          "instance: '%s'." % zone)
        path = "projects/%s/zones/%s/disks/%s" % (project, zone, name)
        owner = self.boot_owner(proj, zone, name)
        if owner is not None:
            raise self._in_use_by(path, owner["selfLink"])
        disk = proj.get("disks", {}).get(zone, {}).get(name)
        if disk is None:
            raise not_found(path)
        if disk["status"] != "READY" or disk.get("_busy"):
            raise not_ready(path)
        mode = spec.get("mode") or "READ_WRITE"
        if mode not in MODES:
            raise invalid(field + ".mode", mode, "Must be one of READ_WRITE, READ_ONLY.")
        for user in disk["users"]:
            other = self._entry_for(proj, user, disk["selfLink"])
            if user == inst_link or mode == "READ_WRITE" or \
                    (other or {}).get("mode", "READ_WRITE") == "READ_WRITE":
                raise self._in_use_by(path, user)
        device = spec.get("deviceName") or "persistent-disk-%d" % index
        if not isinstance(device, str) or not DEVICE_NAME.match(device):
            raise invalid(field + ".deviceName", device, "Must be a match of regex "
                          "'[a-z]([-a-z0-9_]{0,61}[a-z0-9])?'")
        if device in taken:
            raise invalid(field + ".deviceName", device, "Device name '%s' is already in use "
                          "by another disk of the instance." % device)
        if spec.get("boot"):
            raise invalid(field + ".boot", True, "The emulator boots instances from an image "
                          "only (initializeParams.sourceImage).")
        entry = {"kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": mode,
                 "source": disk["selfLink"], "deviceName": device, "index": index,
                 "boot": False, "autoDelete": bool(spec.get("autoDelete", False)),
                 "interface": spec.get("interface") or "SCSI", "diskSizeGb": disk["sizeGb"]}
        return disk, entry

    def _entry_for(self, proj, inst_link, disk_link):
        zone, name = util.segment(inst_link, "zones"), util.last_segment(inst_link, "instances")
        inst = proj["instances"].get(zone, {}).get(name)
        for entry in (inst or {}).get("disks", []):
            if entry.get("source") == disk_link:
                return entry
        return None

    # -- hooks of instances.insert/delete ---------------------------------------------------
    def extra_disks(self, proj, zone, inst_link, specs, boot_name):
        """The ``disks[]`` entries (index 1 on) of an insert's non-boot disks, validated."""
        path = "projects/%s/zones/%s/disks/%s" % (proj["projectId"], zone, boot_name)
        if boot_name in proj.get("disks", {}).get(zone, {}) or \
                self.boot_owner(proj, zone, boot_name) is not None:
            raise ApiError(409, "alreadyExists", "The resource '%s' already exists" % path)
        entries, seen = [], set()
        for position, spec in enumerate(specs, start=1):
            disk, entry = self.attachment(proj, zone, inst_link, spec,
                                          "resource.disks[%d]" % position,
                                          [e["deviceName"] for e in entries], position)
            if disk["name"] in seen:
                raise self._in_use_by(disk["selfLink"].split("/compute/v1/", 1)[-1], inst_link)
            seen.add(disk["name"])
            entries.append(entry)
        return entries

    def claim_disks(self, proj, inst):
        """Record ``inst`` as a user of its non-boot disks (insert)."""
        now = util.timestamp()
        for entry in inst["disks"][1:]:
            disk = self._disk_of(proj, entry["source"])
            if disk is not None and inst["selfLink"] not in disk["users"]:
                disk["users"].append(inst["selfLink"])
                disk["lastAttachTimestamp"] = now

    def release_disks(self, proj, inst, delete_auto):
        """Forget ``inst`` as a user of its non-boot disks; with ``delete_auto`` the
        ``autoDelete`` ones are deleted. Returns snapshots of the deleted disks."""
        now = util.timestamp()
        deleted = []
        for entry in inst["disks"][1:]:
            disk = self._disk_of(proj, entry["source"])
            if disk is None:
                continue
            if inst["selfLink"] in disk["users"]:
                disk["users"].remove(inst["selfLink"])
                disk["lastDetachTimestamp"] = now
            if delete_auto and entry.get("autoDelete") and not disk["users"]:
                zone, name = disk_where(disk["selfLink"])[1:]
                deleted.append(copy.deepcopy(disk))
                del proj["disks"][zone][name]
        self.store.touch()
        return deleted

    @staticmethod
    def _disk_of(proj, link):
        zone, name = disk_where(link)[1:]
        return proj.get("disks", {}).get(zone, {}).get(name)

    # -- instances.attachDisk / detachDisk --------------------------------------------------
    def _attach_target(self, proj, zone, name):
        inst = self._instance(proj, zone, name)
        if inst["status"] in MOVING or inst.get("_deleting"):
            raise not_ready("projects/%s/zones/%s/instances/%s"
                            % (proj["projectId"], zone, name))
        return inst

    def attach_disk(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._attach_target(proj, zone, name)
            if len(inst["disks"]) >= 128:
                raise invalid("resource", "", "Exceeded limit 'MAX_DISKS' on resource '%s'. "
                              "Limit: 128.0" % name)
            used = {e.get("index", 0) for e in inst["disks"]}
            index = next(i for i in range(1, 130) if i not in used)
            disk, entry = self.attachment(proj, zone, inst["selfLink"], req.body or {},
                                          "resource", [e["deviceName"] for e in inst["disks"]],
                                          index)
            inst["disks"].append(entry)
            disk["users"].append(inst["selfLink"])
            disk["lastAttachTimestamp"] = util.timestamp()
            disk["_busy"] = True
            self._refingerprint(inst)
            self.store.touch()
            key = (project, zone, name, inst["id"])
            disk_snap = copy.deepcopy(disk)
        latency = self.latency

        def job(j):
            j.sleep(latency)
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            try:
                if snap is not None and snap["status"] == "RUNNING":
                    self.backend.attach_disk(snap, disk_snap, entry)
            finally:
                with self.store.lock:
                    disk.pop("_busy", None)
                    self.store.touch()

        def undo(error):
            with self.store.lock:
                current = self._get(key)
                if current is not None and entry in current["disks"]:
                    current["disks"].remove(entry)
                if inst["selfLink"] in disk["users"]:
                    disk["users"].remove(inst["selfLink"])
                self.store.touch()
        return self._zone_op(req, proj, zone, inst, "attachDisk", job, undo)

    def detach_disk(self, req, project, zone, name):
        device = req.query.get("deviceName")
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            if not device:
                raise required("deviceName")
            inst = self._attach_target(proj, zone, name)
            entry = next((e for e in inst["disks"] if e["deviceName"] == device), None)
            if entry is None:
                raise invalid("deviceName", device, "No attached disk found with device name "
                              "'%s'" % device)
            if entry.get("boot"):
                raise invalid("deviceName", device, "The emulator does not detach boot disks.")
            disk = self._disk_of(proj, entry["source"])
            inst["disks"].remove(entry)
            if disk is not None:
                if inst["selfLink"] in disk["users"]:
                    disk["users"].remove(inst["selfLink"])
                disk["lastDetachTimestamp"] = util.timestamp()
                disk["_busy"] = True
            self._refingerprint(inst)
            self.store.touch()
            key = (project, zone, name, inst["id"])
            disk_snap = copy.deepcopy(disk) if disk is not None else None
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            try:
                if snap is not None and disk_snap is not None:
                    self.backend.detach_disk(snap, disk_snap, entry)
                j.sleep(latency)
            finally:
                with self.store.lock:
                    if disk is not None:
                        disk.pop("_busy", None)
                    self.store.touch()
        return self._zone_op(req, proj, zone, inst, "detachDisk", job)
