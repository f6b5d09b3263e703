"""Global disk snapshots: ``disks.createSnapshot``, ``snapshots.insert/get/list/delete/
setLabels``, and the scheduled (``autoCreated``) snapshots a snapshot-schedule resource policy
takes when the emulator is told to run it (``POST /_emulator/resource-policies/run``).

A snapshot's data is copied by the backend when it has disk bytes (``snapshot_disk``,
``restore_snapshot``, ``delete_snapshot``: the docker backend, ``docker_snapshots.py``); the
memory backend has none."""

import copy
import secrets
import time

from . import catalog, util
from .common import list_body, paginate, published, validate_labels
from .disks import published_disk
from .errors import ApiError, already_exists, condition_not_met, invalid, not_found, required
from .ops import new_operation
from .resource_policies import policy_path, storage_location

DAY = 86400.0


def snapshot_path(project, name):
    return "projects/%s/global/snapshots/%s" % (project, name)


def multi_region(region):
    """The multi-region Google stores a snapshot in by default (the nearest one)."""
    if region.startswith("europe"):
        return "eu"
    if region.startswith(("asia", "australia")):
        return "asia"
    return "us"


def scheduled_name(disk, zone, when):
    """Google's name of a scheduled snapshot: DISK-ZONE-YYYYMMDDHHMMSS-RANDOM8 (the disk name
    cut so the whole fits in 63 characters)."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(when))
    tail = "-%s-%s-%s" % (zone, stamp, secrets.token_hex(4))
    return disk[:63 - len(tail)].rstrip("-") + tail


class SnapshotsMixin:
    """``snapshots`` and ``disks.createSnapshot``."""

    # -- disks as snapshot sources: boot disks (views of their instances) and disks of their own
    def _all_disks(self, proj):
        """(record, public view) of every disk of the project; ``record`` is where the disk's
        own settings (``resourcePolicies``) are kept."""
        for zone in sorted(set(proj["instances"]) | set(proj.get("disks", {}))):
            for inst in proj["instances"].get(zone, {}).values():
                yield inst["_disk"], self._boot_view(proj, inst)
            for disk in proj.get("disks", {}).get(zone, {}).values():
                yield disk, published_disk(disk)

    def _disk_record(self, proj, zone, name):
        inst = self.boot_owner(proj, zone, name)
        if inst is not None:
            return inst["_disk"], self._boot_view(proj, inst)
        disk = self._own_disk(proj, zone, name)
        return disk, published_disk(disk)

    def _boot_view(self, proj, inst):
        view = super()._boot_view(proj, inst)
        if inst["_disk"].get("resourcePolicies"):
            view["resourcePolicies"] = list(inst["_disk"]["resourcePolicies"])
        return view

    # -- disks.insert with sourceSnapshot / resourcePolicies (called by disks.py) -------------
    def source_snapshot(self, proj, body):
        """The stored snapshot a new disk is made from (``sourceSnapshot``: a name, partial or
        full link), or None; 404 when it does not exist, 400 while it is not READY."""
        ref = body.get("sourceSnapshot")
        if not ref:
            return None
        name = util.last_segment(ref, "snapshots")
        owner = util.segment(ref, "projects") or proj["projectId"]
        if not name:
            raise invalid("resource.sourceSnapshot", ref, "Invalid snapshot reference.")
        other = self.store.project(owner) if owner != proj["projectId"] else proj
        snap = (other or {}).get("snapshots", {}).get(name)
        if snap is None:
            raise not_found(snapshot_path(owner, name))
        if snap["status"] != "READY":
            raise ApiError(400, "resourceNotReady", "The resource '%s' is not ready"
                           % snapshot_path(owner, name))
        return snap

    @staticmethod
    def check_restore_size(snap, size):
        if snap is not None and int(size) < int(snap["diskSizeGb"]):
            raise invalid("resource.sizeGb", size, "Requested disk size cannot be smaller than "
                          "the snapshot size (%s GB)." % snap["diskSizeGb"])

    def disk_policy_links(self, proj, zone, body):
        """``resourcePolicies`` of a new disk: checked as ``addResourcePolicies`` checks them."""
        if not body.get("resourcePolicies"):
            return []
        links = self._policy_links(proj, zone, body)
        if len(set(links)) > 1:
            raise invalid("resource.resourcePolicies", "", "A disk can have at most one "
                          "snapshot schedule resource policy.")
        return sorted(set(links))

    @staticmethod
    def restore_fields(disk, snap):
        if snap is not None:
            disk["sourceSnapshot"] = snap["selfLink"]
            disk["sourceSnapshotId"] = snap["id"]

    def restore_data(self, project, snap, disk):
        """Fill a new disk with a snapshot's data (backend), after the disk was created."""
        restorer = getattr(self.backend, "restore_snapshot", None)
        if snap is not None and restorer:
            restorer(project, copy.deepcopy(snap), disk)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _snapshots(proj):
        return proj.setdefault("snapshots", {})

    def _snapshot(self, proj, name):
        snap = self._snapshots(proj).get(name)
        if snap is None:
            raise not_found(snapshot_path(proj["projectId"], name))
        return snap

    def _new_snapshot(self, proj, view, body, policy=None, when=None):
        """The stored snapshot of disk ``view`` (status CREATING until its data is copied)."""
        project = proj["projectId"]
        zone = view["zone"].rsplit("/", 1)[1]
        when = time.time() if when is None else when
        if policy is None:
            name = body.get("name")
            if name is None:
                raise required("resource.name")
            if not isinstance(name, str) or not util.RFC1035.match(name):
                raise invalid("resource.name", name, "Must be a match of regex '%s'"
                              % util.RFC1035_TEXT)
            labels = validate_labels(body.get("labels"), "resource.labels")
            locations = body.get("storageLocations") or []
            if not isinstance(locations, list) or len(locations) > 1:
                raise invalid("resource.storageLocations", locations,
                              "At most one storage location may be specified.")
            locations = [storage_location(loc, "resource.storageLocations[0]")
                         for loc in locations]
            description = str(body.get("description") or "")
        else:
            name = scheduled_name(view["name"], zone, when)
            props = policy["snapshotSchedulePolicy"].get("snapshotProperties") or {}
            labels = dict(props.get("labels") or {})
            locations = list(props.get("storageLocations") or [])
            description = ""
        if name in self._snapshots(proj):
            raise already_exists(snapshot_path(project, name))
        snap_id = util.new_id()
        snap = {
            "kind": "compute#snapshot", "id": snap_id,
            "creationTimestamp": util.timestamp(when), "name": name,
            "description": description, "status": "CREATING",
            "sourceDisk": view["selfLink"], "sourceDiskId": view["id"],
            "diskSizeGb": str(view["sizeGb"]), "storageBytes": "0",
            "storageBytesStatus": "UPDATING", "licenses": list(view.get("licenses") or []),
            "selfLink": util.link(snapshot_path(project, name)),
            "labels": labels, "labelFingerprint": util.fingerprint([labels, snap_id]),
            "storageLocations": locations or [multi_region(catalog.ZONES[zone])],
            "autoCreated": policy is not None, "downloadBytes": "0",
            "architecture": view.get("architecture", "X86_64"), "snapshotType": "STANDARD",
            "_created": when,
        }
        if view.get("sourceImage"):
            snap["sourceImage"] = view["sourceImage"]
        if policy is not None:
            snap["sourceSnapshotSchedulePolicy"] = policy["selfLink"]
            snap["sourceSnapshotSchedulePolicyId"] = policy["id"]
        self._snapshots(proj)[name] = snap
        self.store.touch()
        return snap

    def _copy_data(self, project, name, view):
        """Copy the disk's data into the snapshot (backend), then mark it READY."""
        with self.store.lock:
            snap = self.store.projects[project].get("snapshots", {}).get(name)
            if snap is None:
                return
            disk = copy.deepcopy(view)
            target = copy.deepcopy(snap)
        copier = getattr(self.backend, "snapshot_disk", None)
        used = copier(project, disk, target) if copier else 0   # memory: no bytes
        with self.store.lock:
            snap = self.store.projects[project].get("snapshots", {}).get(name)
            if snap is None:
                return
            snap["storageBytes"] = str(int(used))
            snap["creationSizeBytes"] = str(int(used))
            snap["storageBytesStatus"] = "UP_TO_DATE"
            snap["status"] = "READY"
            self.store.touch()

    def _drop_snapshot(self, project, snap):
        dropper = getattr(self.backend, "delete_snapshot", None)
        if dropper:
            dropper(project, snap)

    # -- snapshots ---------------------------------------------------------------------------
    def list_snapshots(self, req, project):
        with self.store.lock:
            proj = self.project(project)
            items = [published(s) for s in self._snapshots(proj).values()]
        page, token = paginate(items, req.query, lambda s: [s["name"]])
        return 200, list_body("compute#snapshotList", "projects/%s/global/snapshots" % project,
                              page, token)

    def get_snapshot(self, req, project, name):
        with self.store.lock:
            proj = self.project(project)
            return 200, published(self._snapshot(proj, name))

    def create_disk_snapshot(self, req, project, zone, name):
        """``disks.createSnapshot``: a zonal operation on the disk."""
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            view = self._disk_record(proj, zone, name)[1]
            snap = self._new_snapshot(proj, view, req.body or {})
            snap_name = snap["name"]
            op = new_operation(project, "zones/" + zone, "createSnapshot", view["selfLink"],
                               view["id"], req.user, zone=zone)
        return 200, self._launch_copy(project, "zones/" + zone, op, snap_name, view)

    def insert_snapshot(self, req, project):
        """``snapshots.insert`` with ``sourceDisk``: a global operation on the snapshot."""
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            source = body.get("sourceDisk")
            if not source:
                raise required("resource.sourceDisk")
            zone = util.segment(source, "zones")
            disk = util.last_segment(source, "disks")
            if not zone or not disk or zone not in catalog.ZONES:
                raise invalid("resource.sourceDisk", source, "Invalid disk reference.")
            view = self._disk_record(proj, zone, disk)[1]
            snap = self._new_snapshot(proj, view, body)
            snap_name = snap["name"]
            op = new_operation(project, "global", "insert", snap["selfLink"], snap["id"],
                               req.user)
        return 200, self._launch_copy(project, "global", op, snap_name, view)

    def _launch_copy(self, project, scope, op, snap_name, view):
        latency = self.latency
        copies = getattr(self.backend, "snapshot_disk", None) is not None

        def job(j):
            j.sleep(latency)
            self._copy_data(project, snap_name, view)

        def forget(error):  # pylint: disable=unused-argument
            with self.store.lock:
                self.store.projects[project].get("snapshots", {}).pop(snap_name, None)
                self.store.touch()
        return self.runner.launch(project, scope, op, job, self.sync and not copies, forget)

    def delete_snapshot(self, req, project, name):
        with self.store.lock:
            proj = self.project(project)
            snap = self._snapshot(proj, name)
            if snap["status"] == "CREATING":
                raise invalid("snapshot", name, "The snapshot is not ready yet.")
            snap["status"] = "DELETING"
            self.store.touch()
            gone = copy.deepcopy(snap)

        def job(j):  # pylint: disable=unused-argument
            self._drop_snapshot(project, gone)
            with self.store.lock:
                self._snapshots(self.store.projects[project]).pop(name, None)
                self.store.touch()
        return self._global_op(req, project, "delete", snapshot_path(project, name),
                               gone["id"], job_fn=job)

    def set_snapshot_labels(self, req, project, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            snap = self._snapshot(proj, name)
            labels = validate_labels(body.get("labels"), "labels")
            if not util.same_fingerprint(body.get("labelFingerprint"), snap["labelFingerprint"]):
                raise condition_not_met("Labels fingerprint either invalid or resource labels "
                                        "have changed")
            snap["labels"] = labels
            snap["labelFingerprint"] = util.fingerprint([labels, snap["id"], util.etag()])
            self.store.touch()
            return self._global_op(req, project, "setLabels", snapshot_path(project, name),
                                   snap["id"])

    def settle_snapshots(self):
        """After a restart: a snapshot left ``CREATING`` (its copy was cut short) or
        ``DELETING`` is gone, data included, as a failed or finished operation leaves it."""
        with self.store.lock:
            gone = [(project, copy.deepcopy(snap)) for project, proj in self.store.projects.items()
                    for snap in proj.get("snapshots", {}).values()
                    if snap["status"] in ("CREATING", "DELETING")]
            for project, snap in gone:
                del self.store.projects[project]["snapshots"][snap["name"]]
            if gone:
                self.store.touch()
        for project, snap in gone:
            self._drop_snapshot(project, snap)

    # -- the schedule, run now (admin) ---------------------------------------------------------
    def run_snapshot_schedule(self, project, region, name, elapsed_days=0.0):
        """Take the scheduled snapshot of every disk carrying the policy, then apply its
        retention. ``elapsed_days`` first ages the policy's earlier snapshots by that many days
        (as if the schedule had been running that long). Returns ``{"created", "deleted"}``."""
        elapsed = float(elapsed_days or 0)
        if elapsed < 0:
            raise ValueError("elapsed_days must be >= 0")
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            policy = self._policy(proj, region, name)
            link = policy["selfLink"]
            for snap in self._snapshots(proj).values():
                if snap.get("sourceSnapshotSchedulePolicy") == link and elapsed:
                    snap["_created"] -= elapsed * DAY
                    snap["creationTimestamp"] = util.timestamp(snap["_created"])
            made = [(self._new_snapshot(proj, view, {}, policy)["name"], view)
                    for record, view in self._all_disks(proj)
                    if link in (record.get("resourcePolicies") or [])]
        for snap_name, view in made:
            self._copy_data(project, snap_name, view)
        deleted = self._apply_retention(proj, policy)
        return {"created": [entry[0] for entry in made], "deleted": deleted,
                "policy": policy_path(project, region, name)}

    def _apply_retention(self, proj, policy):
        retention = policy["snapshotSchedulePolicy"]["retentionPolicy"]
        keep_orphans = retention["onSourceDiskDelete"] != "APPLY_RETENTION_POLICY"
        oldest = time.time() - retention["maxRetentionDays"] * DAY
        with self.store.lock:
            disk_ids = {view["id"] for dummy, view in self._all_disks(proj)}
            expired = [snap for snap in self._snapshots(proj).values()
                       if snap.get("sourceSnapshotSchedulePolicy") == policy["selfLink"]
                       and snap["_created"] < oldest and snap["status"] == "READY"
                       and not (keep_orphans and snap["sourceDiskId"] not in disk_ids)]
            for snap in expired:
                snap["status"] = "DELETING"
            expired = copy.deepcopy(expired)
        for snap in expired:
            self._drop_snapshot(proj["projectId"], snap)
            with self.store.lock:
                self._snapshots(proj).pop(snap["name"], None)
                self.store.touch()
        return sorted(snap["name"] for snap in expired)
