"""Snapshot data of the docker backend (mixed into ``DockerBackend``, used by ``snapshots.py``).

A snapshot of a disk of its own is a Docker volume ``gcesnap-P-NAME`` (the emulator's labels
plus ``...emulator.snapshot=NAME``, so ``remove_all`` takes it away with the rest) holding
``disk.img``: a sparse copy (``cp --sparse=always``) of the disk's image file (``docker_disks``)
taken at that moment, while the disk stays attached (crash-consistent, as a Google snapshot
without guest flush). ``storageBytes`` is what the copy really occupies. A disk made with
``sourceSnapshot`` gets a sparse copy of that image, grown to its own size.

A boot disk is its instance's container, not an image file: its snapshots carry no data
(``storageBytes`` 0) and a disk made from one starts blank.
"""

import logging
import os
import subprocess

from .docker_disks import DISK_FILE, GIB, disk_volume_name, disk_where
from .ops import OperationFailed

LOG = logging.getLogger("emulator.docker")


def snapshot_volume_name(project, name):
    return "gcesnap-%s-%s" % (project, name)


def sparse_copy(source, target, what):
    done = subprocess.run(["cp", "--sparse=always", source, target], capture_output=True,
                          text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise OperationFailed("RESOURCE_OPERATION_FAILED", "Copying %s failed: %s" % (
            what, (done.stderr or done.stdout).strip()[-300:]), 500)


class DockerSnapshots:
    """``snapshot_disk``, ``restore_snapshot``, ``delete_snapshot``."""

    def _snapshot_volume(self, project, name):
        try:
            return self.client.volumes.get(snapshot_volume_name(project, name))
        except self.docker.errors.NotFound:
            return None

    def snapshot_disk(self, project, disk, snap):
        """Copy the disk's image into a new snapshot volume; returns the bytes it occupies
        (0 for a disk without an image file: a boot disk)."""
        source = self.disk_image_path(disk) if disk.get("selfLink") else None
        if source is None or not os.path.exists(source):
            return 0
        vname = snapshot_volume_name(project, snap["name"])
        stale = self._snapshot_volume(project, snap["name"])
        if stale is not None:
            labels = stale.attrs.get("Labels") or {}
            if self.foreign_owner(labels):
                raise OperationFailed(
                    "RESOURCE_ALREADY_EXISTS", "Volume %s belongs to another emulator (%s); if "
                    "it is a leftover: docker volume rm %s." % (
                        vname, labels.get(self.STATE_DIR_LABEL), vname), 409)
            stale.remove(force=True)
        labels = {self.LABEL: "1", self.STATE_LABEL: self.state,
                  self.STATE_DIR_LABEL: os.path.abspath(self.state_dir),
                  self.LABEL + ".project": project, self.LABEL + ".snapshot": snap["name"]}
        volume = self.client.volumes.create(vname, labels=labels)
        target = os.path.join(volume.attrs["Mountpoint"], DISK_FILE)
        where = disk_where(disk["selfLink"])
        with self._lock(disk_volume_name(*where)):
            try:
                sparse_copy(source, target, "disk %s into snapshot %s" % (where[2], snap["name"]))
            except OperationFailed:
                volume.remove(force=True)
                raise
        return os.stat(target).st_blocks * 512

    def restore_snapshot(self, project, snap, disk):
        """Fill the (just created, blank) image of ``disk`` with the snapshot's data."""
        volume = self._snapshot_volume(project, snap["name"])
        target = self.disk_image_path(disk)
        if volume is None or target is None:
            return
        source = os.path.join(volume.attrs["Mountpoint"], DISK_FILE)
        if not os.path.exists(source):
            return
        sparse_copy(source, target, "snapshot %s into disk %s" % (snap["name"], disk["name"]))
        with open(target, "r+b") as handle:
            handle.truncate(max(int(disk["sizeGb"]) * GIB, os.path.getsize(target)))

    def delete_snapshot(self, project, snap):
        volume = self._snapshot_volume(project, snap["name"])
        if volume is not None:
            volume.remove(force=True)
