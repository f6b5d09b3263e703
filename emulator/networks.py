"""The ``default`` auto-mode network and its subnetworks."""

from . import catalog, util
from .common import aggregate_body, list_body, paginate
from .errors import not_found


class NetworksMixin:
    """``networks`` and ``subnetworks``."""

    def _network(self, project):
        proj = self.store.projects[project]
        return {
            "kind": "compute#network", "id": str(int(proj["computeId"]) // 3),
            "creationTimestamp": util.from_zulu(proj["createTime"]),
            "name": "default", "description": "Default network for the project",
            "selfLink": util.link("projects/%s/global/networks/default" % project),
            "autoCreateSubnetworks": True,
            "subnetworks": [util.link("projects/%s/regions/%s/subnetworks/default" % (project, r))
                            for r in sorted(catalog.REGIONS)],
            "routingConfig": {"routingMode": "REGIONAL", "bgpBestPathSelectionMode": "LEGACY"},
            "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL",
        }

    def list_networks(self, req, project):
        with self.store.lock:
            self.project(project)
            items = [self._network(project)]
        page, token = paginate(items, req.query, lambda n: [n["name"]])
        return 200, list_body("compute#networkList", "projects/%s/global/networks" % project,
                              page, token)

    def get_network(self, req, project, name):
        with self.store.lock:
            self.project(project)
            if name != "default":
                raise not_found("projects/%s/global/networks/%s" % (project, name))
            return 200, self._network(project)

    @staticmethod
    def _subnet_cidr(region):
        return catalog.AUTO_SUBNETS[region]

    def _subnetwork(self, project, region):
        cidr = self._subnet_cidr(region)
        return {
            "kind": "compute#subnetwork", "id": str(3000 + sorted(catalog.REGIONS).index(region)),
            "creationTimestamp": self._network(project)["creationTimestamp"],
            "name": "default", "network": util.link("projects/%s/global/networks/default"
                                                    % project),
            "ipCidrRange": cidr, "gatewayAddress": cidr.replace(".0/20", ".1"),
            "region": util.link("projects/%s/regions/%s" % (project, region)),
            "selfLink": util.link("projects/%s/regions/%s/subnetworks/default"
                                  % (project, region)),
            "privateIpGoogleAccess": False, "stackType": "IPV4_ONLY", "purpose": "PRIVATE",
            "fingerprint": util.fingerprint(region)}

    def get_subnetwork(self, req, project, region, name):
        with self.store.lock:
            self.project(project)
            self.region(region)
            if name != "default":
                raise not_found("projects/%s/regions/%s/subnetworks/%s"
                                % (project, region, name))
            return 200, self._subnetwork(project, region)

    def list_subnetworks(self, req, project, region):
        with self.store.lock:
            self.project(project)
            self.region(region)
            items = [self._subnetwork(project, region)]
        page, token = paginate(items, req.query, lambda s: [s["name"]])
        return 200, list_body("compute#subnetworkList", "projects/%s/regions/%s/subnetworks"
                              % (project, region), page, token)

    def aggregated_subnetworks(self, req, project):
        regions = sorted(catalog.REGIONS)
        with self.store.lock:
            self.project(project)
            rows = [self._subnetwork(project, r) for r in regions]
        page, token = paginate(rows, req.query, lambda s: [s["region"], s["name"]])
        return 200, aggregate_body("compute#subnetworkAggregatedList", "subnetworks",
                                   "projects/%s/aggregated/subnetworks" % project, page, token,
                                   lambda s: "regions/" + s["region"].rsplit("/", 1)[1],
                                   ["regions/" + r for r in regions])
