"""Disks: read-only views of the instances' boot disks."""

from . import catalog, util
from .common import SHARED_FEATURES, aggregate_body, list_body, paginate
from .errors import not_found


class DisksMixin:
    """``disks``."""

    def list_disks(self, req, project, zone):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            items = [self._disk(proj, i) for i in proj["instances"].get(zone, {}).values()]
        page, token = paginate(items, req.query, lambda d: [d["name"]])
        return 200, list_body("compute#diskList", "projects/%s/zones/%s/disks" % (project, zone),
                              page, token)

    def aggregated_disks(self, req, project):
        """Zonal disks by zone; the regions' scopes (regional disks) are always empty."""
        scopes = (["regions/" + r for r in sorted(catalog.REGIONS)]
                  + ["zones/" + z for z in catalog.ZONE_ORDER])
        with self.store.lock:
            proj = self.project(project)
            rows = [self._disk(proj, i) for z in proj["instances"].values() for i in z.values()]
        page, token = paginate(rows, req.query,
                               lambda d: [d["zone"].rsplit("/", 1)[1], d["name"]])
        return 200, aggregate_body("compute#diskAggregatedList", "disks",
                                   "projects/%s/aggregated/disks" % project, page, token,
                                   lambda d: "zones/" + d["zone"].rsplit("/", 1)[1], scopes)

    def get_disk(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            for inst in proj["instances"].get(zone, {}).values():
                if inst["_disk"]["name"] == name:
                    return 200, self._disk(proj, inst)
        raise not_found("projects/%s/zones/%s/disks/%s" % (project, zone, name))

    @staticmethod
    def _disk(proj, inst):
        disk = inst["_disk"]
        zone = inst["zone"].rsplit("/", 1)[1]
        path = "projects/%s/zones/%s/disks/%s" % (proj["projectId"], zone, disk["name"])
        image_project, image = disk["image"]
        return {
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
            "labelFingerprint": util.fingerprint({}), "physicalBlockSizeBytes": "4096",
            "architecture": "X86_64"}
