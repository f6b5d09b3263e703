"""Compute Engine project resource: get, setCommonInstanceMetadata."""

import copy

from . import util
from .common import published, validate_metadata_items
from .errors import condition_not_met


class ProjectsMixin:
    """``projects.get`` and ``projects.setCommonInstanceMetadata``."""

    def get_project(self, req, project):
        with self.store.lock:
            proj = self.project(project)
            return 200, published({
                "kind": "compute#project", "id": proj["computeId"],
                "creationTimestamp": util.from_zulu(proj["createTime"]), "name": project,
                "commonInstanceMetadata": copy.deepcopy(proj["metadata"]),
                "quotas": [{"metric": "CPUS_ALL_REGIONS", "limit": 32.0, "usage": 0.0}],
                "selfLink": util.link("projects/%s" % project),
                "defaultServiceAccount": "%s-compute@developer.gserviceaccount.com"
                                         % proj["number"],
                "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
                "defaultNetworkTier": "PREMIUM", "vmDnsSetting": "ZONAL_ONLY"})

    def set_common_metadata(self, req, project):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            if not util.same_fingerprint(body.get("fingerprint"), proj["metadata"]["fingerprint"]):
                raise condition_not_met("Supplied fingerprint does not match current metadata "
                                        "fingerprint.")
            items = validate_metadata_items(body.get("items"), "metadata")
            proj["metadata"] = {"kind": "compute#metadata", "items": items,
                                "fingerprint": util.fingerprint([items, util.etag()])}
            running = [copy.deepcopy(i) for z in proj["instances"].values() for i in z.values()
                       if i["status"] == "RUNNING" and not i.get("_preloaded")]
            job = None
            if running and self.backend.asynchronous:
                def job(j):  # pylint: disable=unused-argument
                    for snap in running:
                        self.backend.apply_metadata(self._guest_view(project, snap))
            return self._global_op(req, project, "setCommonInstanceMetadata",
                                   "projects/%s" % project, proj["computeId"], job_fn=job)
