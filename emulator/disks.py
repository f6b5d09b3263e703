"""Disks: zonal persistent disks of their own (insert, get, list, aggregatedList, delete,
resize, setLabels) next to read-only views of the instances' boot disks.

A disk of its own lives in ``project["disks"][zone][name]``; a boot disk is a view of its
instance (``inst["_disk"]``) and goes with it. Attaching (``instances.attachDisk``,
``detachDisk``, extra disks in ``instances.insert``) is in ``attached_disks``.
"""

import copy

from . import catalog, util
from .attached_disks import AttachMixin
from .common import DISK_TYPES, SHARED_FEATURES, aggregate_body, list_body, paginate, \
    resource_name, validate_labels
from .errors import ApiError, already_exists, condition_not_met, invalid, not_found, not_ready
from .ops import new_operation

# What Google gives a blank disk when the request has no sizeGb (gcloud sends the same).
DEFAULT_SIZE_GB = {"pd-standard": 500, "pd-balanced": 100, "pd-ssd": 100, "pd-extreme": 1000,
                   "hyperdisk-balanced": 100}
MIN_SIZE_GB = {"hyperdisk-balanced": 4}
MAX_SIZE_GB = 65536


def disk_path(project, zone, name):
    return "projects/%s/zones/%s/disks/%s" % (project, zone, name)


def published_disk(disk):
    """What a client sees of a disk of its own: no private keys, no empty optional fields."""
    body = {k: copy.deepcopy(v) for k, v in disk.items() if not k.startswith("_")}
    for key in ("labels", "description", "users", "resourcePolicies"):
        if key in body and body[key] in ({}, "", None, []):
            del body[key]
    return body


def parse_size(value, field, minimum, current=None):
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise invalid(field, value, "Must be an integer.") from None
    if current is not None and size <= current:
        raise invalid(field, value, "New disk size '%d' GB must be larger than existing size "
                      "'%d' GB." % (size, current))
    if size < minimum:
        raise invalid(field, value, "Disk size cannot be smaller than %d GB." % minimum)
    if size > MAX_SIZE_GB:
        raise invalid(field, value, "Disk size cannot be larger than %d GB." % MAX_SIZE_GB)
    return size


class DisksMixin(AttachMixin):
    """``disks``."""

    # -- lookups ---------------------------------------------------------------------------
    @staticmethod
    def zone_disks(proj, zone):
        """The disks of their own of a zone (``{name: disk}``, made on first use)."""
        return proj.setdefault("disks", {}).setdefault(zone, {})

    def boot_owner(self, proj, zone, name):
        """The instance whose boot disk is ``name``, or None."""
        for inst in proj["instances"].get(zone, {}).values():
            if inst["_disk"]["name"] == name:
                return inst
        return None

    def _views(self, proj, zone):
        rows = [self._boot_view(proj, i) for i in proj["instances"].get(zone, {}).values()]
        rows += [published_disk(d) for d in self.zone_disks(proj, zone).values()]
        return rows

    def _own_disk(self, proj, zone, name):
        """A disk of its own, or 404 (a boot disk answers ``boot_message`` instead)."""
        disk = self.zone_disks(proj, zone).get(name)
        if disk is None:
            raise not_found(disk_path(proj["projectId"], zone, name))
        return disk

    # -- reads -----------------------------------------------------------------------------
    def list_disks(self, req, project, zone):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            items = self._views(proj, zone)
        page, token = paginate(items, req.query, lambda d: [d["name"]])
        return 200, list_body("compute#diskList", "projects/%s/zones/%s/disks" % (project, zone),
                              page, token)

    def aggregated_disks(self, req, project):
        """Zonal disks by zone; the regions' scopes (regional disks) are always empty."""
        scopes = (["regions/" + r for r in sorted(catalog.REGIONS)]
                  + ["zones/" + z for z in catalog.ZONE_ORDER])
        with self.store.lock:
            proj = self.project(project)
            zones = set(proj["instances"]) | set(proj.get("disks", {}))
            rows = [d for z in zones for d in self._views(proj, z)]
        page, token = paginate(rows, req.query,
                               lambda d: [d["zone"].rsplit("/", 1)[1], d["name"]])
        return 200, aggregate_body("compute#diskAggregatedList", "disks",
                                   "projects/%s/aggregated/disks" % project, page, token,
                                   lambda d: "zones/" + d["zone"].rsplit("/", 1)[1], scopes)

    def get_disk(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self.boot_owner(proj, zone, name)
            if inst is not None:
                return 200, self._boot_view(proj, inst)
            return 200, published_disk(self._own_disk(proj, zone, name))

    @staticmethod
    def _boot_view(proj, inst):
        disk = inst["_disk"]
        zone = inst["zone"].rsplit("/", 1)[1]
        path = disk_path(proj["projectId"], zone, disk["name"])
        image_project, image = disk["image"]
        labels = disk.get("labels") or {}
        view = {
            "kind": "compute#disk", "id": disk["id"], "creationTimestamp":
            inst["creationTimestamp"], "name": disk["name"], "sizeGb": disk["sizeGb"],
            "zone": inst["zone"], "status": "READY", "selfLink": util.link(path),
            "sourceImage": util.link("projects/%s/global/images/%s" % (image_project, image)),
            "sourceImageId": catalog.image_id(image),
            "lastAttachTimestamp": inst["creationTimestamp"],
            "type": util.link("projects/%s/zones/%s/diskTypes/%s"
                              % (proj["projectId"], zone, disk["type"])),
            "licenses": inst["disks"][0].get("licenses", []),
            "guestOsFeatures": SHARED_FEATURES, "users": [inst["selfLink"]],
            "labelFingerprint": disk.get("labelFingerprint") or util.fingerprint({}),
            "physicalBlockSizeBytes": "4096", "architecture": "X86_64"}
        if labels:
            view["labels"] = dict(labels)
        return view

    # -- writes ----------------------------------------------------------------------------
    def disk_type(self, ref, project, zone, field):
        """The name of a disk type given as a name, a partial or a full link."""
        name = util.last_segment(ref, "diskTypes")
        ref_zone = util.segment(ref, "zones")
        ref_project = util.segment(ref, "projects")
        if name not in DISK_TYPES or (ref_zone and ref_zone != zone) or \
                (ref_project and ref_project != project):
            raise invalid(field, ref, "The referenced diskType resource cannot be found.")
        return name

    def insert_disk(self, req, project, zone):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            name = resource_name(body)
            path = disk_path(project, zone, name)
            if name in self.zone_disks(proj, zone) or self.boot_owner(proj, zone, name):
                raise already_exists(path)
            if req.query.get("sourceImage") or body.get("sourceImage") or \
                    body.get("sourceDisk"):
                raise invalid("resource.sourceImage", req.query.get("sourceImage") or
                              body.get("sourceImage") or body.get("sourceDisk"),
                              "The emulator creates blank disks or disks from a snapshot.")
            dtype = self.disk_type(body.get("type") or "pd-standard", project, zone,
                                   "resource.type")
            source = self.source_snapshot(proj, body)  # snapshots.py
            size = body.get("sizeGb") or (source or {}).get("diskSizeGb")
            size = DEFAULT_SIZE_GB[dtype] if size in (None, "") else parse_size(
                size, "resource.sizeGb", MIN_SIZE_GB.get(dtype, 10))
            self.check_restore_size(source, size)
            labels = validate_labels(body.get("labels"), "resource.labels")
            disk_id = util.new_id()
            disk = {
                "kind": "compute#disk", "id": disk_id, "creationTimestamp": util.timestamp(),
                "name": name, "description": body.get("description") or "",
                "sizeGb": str(size), "zone": util.link("projects/%s/zones/%s" % (project, zone)),
                "status": "CREATING", "selfLink": util.link(path),
                "type": util.link("projects/%s/zones/%s/diskTypes/%s" % (project, zone, dtype)),
                "labels": labels, "labelFingerprint": util.fingerprint([labels, disk_id]),
                "users": [], "physicalBlockSizeBytes": str(
                    body.get("physicalBlockSizeBytes") or "4096"),
                "resourcePolicies": self.disk_policy_links(proj, zone, body),
                "satisfiesPzi": True,
            }
            self.restore_fields(disk, source)
            self.zone_disks(proj, zone)[name] = disk
            self.store.touch()
            op = new_operation(project, "zones/" + zone, "insert", disk["selfLink"], disk_id,
                               req.user, zone=zone)
            snap = copy.deepcopy(disk)
        latency = self.latency
        key = (project, zone, name, disk_id)

        def job(j):
            j.sleep(latency)
            self.backend.create_disk(snap)
            self.restore_data(project, source, snap)
            with self.store.lock:
                current = self._disk_by_key(key)
                if current is not None and current["status"] == "CREATING":
                    current["status"] = "READY"
                    self.store.touch()

        def cleanup(error):
            with self.store.lock:
                if self._disk_by_key(key) is not None:
                    del self.zone_disks(proj, zone)[name]
                    self.store.touch()
            self.backend.delete_disk(snap)
        return 200, self.runner.launch(project, "zones/" + zone, op, job, self.sync, cleanup)

    def _disk_by_key(self, key):
        project, zone, name, disk_id = key
        proj = self.store.projects.get(project)
        disk = proj.get("disks", {}).get(zone, {}).get(name) if proj else None
        return disk if disk is not None and disk["id"] == disk_id else None

    def _disk_op(self, req, project, zone, disk, op_type, job, on_error=None):
        op = new_operation(project, "zones/" + zone, op_type, disk["selfLink"], disk["id"],
                           req.user, zone=zone)
        return 200, self.runner.launch(project, "zones/" + zone, op, job, self.sync, on_error)

    def delete_disk(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            path = disk_path(project, zone, name)
            inst = self.boot_owner(proj, zone, name)
            if inst is not None:
                raise self._in_use_by(path, inst["selfLink"])
            disk = self._own_disk(proj, zone, name)
            if disk["users"]:
                raise self._in_use_by(path, disk["users"][0])
            if disk["status"] != "READY" or disk.get("_busy"):
                raise not_ready(path)
            disk["status"] = "DELETING"
            self.store.touch()
            key = (project, zone, name, disk["id"])
            snap = copy.deepcopy(disk)
        latency = self.latency

        def job(j):
            j.sleep(latency)
            self.backend.delete_disk(snap)
            with self.store.lock:
                if self._disk_by_key(key) is not None:
                    del self.zone_disks(proj, zone)[name]
                    self.store.touch()

        def back_to_ready(error):
            with self.store.lock:
                current = self._disk_by_key(key)
                if current is not None:
                    current["status"] = "READY"
        return self._disk_op(req, project, zone, snap, "delete", job, back_to_ready)

    def resize_disk(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            if body.get("sizeGb") in (None, ""):
                raise ApiError(400, "required", "Required field 'sizeGb' not specified")
            inst = self.boot_owner(proj, zone, name)
            if inst is not None:
                size = parse_size(body["sizeGb"], "sizeGb", 10, int(inst["_disk"]["sizeGb"]))
                inst["_disk"]["sizeGb"] = inst["disks"][0]["diskSizeGb"] = str(size)
                self.store.touch()
                target = self._boot_view(proj, inst)
                return self._disk_op(req, project, zone, target, "resizeDisk",
                                     lambda j: j.sleep(self.latency))
            disk = self._own_disk(proj, zone, name)
            if disk["status"] != "READY" or disk.get("_busy"):
                raise not_ready(disk_path(project, zone, name))
            size = parse_size(body["sizeGb"], "sizeGb", 10, int(disk["sizeGb"]))
            disk["sizeGb"] = str(size)
            for user in self.disk_user_instances(proj, disk):
                for attached in user["disks"]:
                    if attached.get("source") == disk["selfLink"]:
                        attached["diskSizeGb"] = str(size)
            self.store.touch()
            snap = copy.deepcopy(disk)
        latency = self.latency

        def job(j):
            j.sleep(latency)
            self.backend.resize_disk(snap)
        return self._disk_op(req, project, zone, snap, "resizeDisk", job)

    def set_disk_labels(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            labels = validate_labels(body.get("labels"), "labels")
            inst = self.boot_owner(proj, zone, name)
            holder = inst["_disk"] if inst is not None else self._own_disk(proj, zone, name)
            current = holder.get("labelFingerprint") or util.fingerprint({})
            if not util.same_fingerprint(body.get("labelFingerprint"), current):
                raise condition_not_met("Labels fingerprint either invalid or resource labels "
                                        "have changed")
            holder["labels"] = labels
            holder["labelFingerprint"] = util.fingerprint([labels, holder["id"], util.etag()])
            self.store.touch()
            target = self._boot_view(proj, inst) if inst is not None else holder
        latency = self.latency
        return self._disk_op(req, project, zone, target, "setLabels",
                             lambda j: j.sleep(latency))
