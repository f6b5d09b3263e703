"""Cloud Routers (``regions/R/routers``) and their Cloud NAT gateways (``nats[]``).

Compute v1's ``routers`` collection: ``insert``, ``get``, ``list``, ``aggregatedList``,
``patch``, ``update``, ``delete`` and ``getRouterStatus``; regional operations. A router belongs
to a network that must exist (only ``default`` does here). A NAT is a part of its router, never a
resource of its own: ``gcloud compute routers nats create`` reads the router, appends a NAT and
patches the whole ``nats`` list back. Compute v1 routers carry no fingerprint: a ``patch``
replaces each field it names (``nats`` as a whole list).

Google's rules enforced here: RFC 1035 names (router and NAT), known fields only (an unknown
one is a JSON error, as the API's front end answers), enum values, ``AUTO_ONLY`` without
``natIps``, ``MANUAL_ONLY`` with addresses (static addresses are not emulated, so none exist),
port and timeout ranges, dynamic port allocation's powers of two, and only one NAT per network
and region once a NAT covers every subnetwork. ``getRouterStatus`` reports the auto-allocated
NAT addresses (from 198.18.0.0/15, never routed) and how many VMs without an external address
in the router's region can use each NAT.
"""

from . import catalog, util
from .common import aggregate_body, list_body, paginate, published
from .errors import ApiError, already_exists, invalid, not_found, not_ready, required
from .ops import new_operation

ROUTER_FIELDS = frozenset([
    "bgp", "bgpPeers", "creationTimestamp", "description", "encryptedInterconnectRouter", "id",
    "interfaces", "kind", "md5AuthenticationKeys", "name", "nats", "network", "region",
    "selfLink"])
OUTPUT_ONLY = frozenset(["creationTimestamp", "id", "kind", "region", "selfLink"])
NAT_FIELDS = frozenset([
    "autoNetworkTier", "drainNatIps", "enableDynamicPortAllocation",
    "enableEndpointIndependentMapping", "endpointTypes", "icmpIdleTimeoutSec", "logConfig",
    "maxPortsPerVm", "minPortsPerVm", "name", "nat64Subnetworks", "natIpAllocateOption",
    "natIps", "rules", "sourceSubnetworkIpRangesToNat", "sourceSubnetworkIpRangesToNat64",
    "subnetworks", "tcpEstablishedIdleTimeoutSec", "tcpTimeWaitTimeoutSec",
    "tcpTransitoryIdleTimeoutSec", "type", "udpIdleTimeoutSec"])
ENUMS = {
    "natIpAllocateOption": ("NatIpAllocateOption", ("AUTO_ONLY", "MANUAL_ONLY")),
    "sourceSubnetworkIpRangesToNat": ("SourceSubnetworkIpRangesToNat", (
        "ALL_SUBNETWORKS_ALL_IP_RANGES", "ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES",
        "LIST_OF_SUBNETWORKS")),
    "type": ("Type", ("PUBLIC", "PRIVATE")),
    "autoNetworkTier": ("AutoNetworkTier", ("PREMIUM", "STANDARD", "FIXED_STANDARD")),
}
LOG_FILTERS = ("ALL", "ERRORS_ONLY", "TRANSLATIONS_ONLY")
ALL_SUBNETS = ("ALL_SUBNETWORKS_ALL_IP_RANGES", "ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES")
TIMEOUTS = ("icmpIdleTimeoutSec", "tcpEstablishedIdleTimeoutSec", "tcpTimeWaitTimeoutSec",
            "tcpTransitoryIdleTimeoutSec", "udpIdleTimeoutSec")


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def unknown_field(name, where):
    """The API front end's answer to a JSON field the message does not have."""
    message = ("Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot find field."
               % (name, where))
    error = ApiError(400, "invalid", message)
    error.details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
        {"field": where, "description": message}]}]
    return error


def bad_enum(where, field, value):
    """The front end's answer to a value an enum does not have."""
    type_name, dummy = ENUMS[field]
    message = "Invalid value at '%s.%s' (type.googleapis.com/compute.RouterNat.%s), \"%s\"" % (
        where, _snake(field), type_name, value)
    error = ApiError(400, "invalid", message)
    error.details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
        {"field": "%s.%s" % (where, _snake(field)), "description": message}]}]
    return error


def _int_field(nat, key, where, low, high):
    value = nat.get(key)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        raise invalid("%s.%s" % (where, key), value, "Must be between %d and %d." % (low, high))
    return number


def _power_of_two(number):
    return number > 0 and number & (number - 1) == 0


class RoutersMixin:
    """``routers``."""

    def _routers(self, project, region=None):
        """``{region: {name: router}}`` of a project, or ``{name: router}`` of one region."""
        routers = self.store.projects[project].setdefault("routers", {})
        return routers.setdefault(region, {}) if region else routers

    @staticmethod
    def _router_path(project, region, name):
        return "projects/%s/regions/%s/routers/%s" % (project, region, name)

    # -- validation ------------------------------------------------------------------------
    def _nat(self, project, region, nat, index):
        where = "resource.nats[%d]" % index
        if not isinstance(nat, dict):
            raise invalid(where, nat, "Must be an object.")
        for key in nat:
            if key not in NAT_FIELDS:
                raise unknown_field(key, where)
        name = nat.get("name")
        if not isinstance(name, str) or not util.RFC1035.match(name):
            raise invalid(where + ".name", name, "Must be a match of regex '%s'"
                          % util.RFC1035_TEXT)
        for field in ENUMS:
            if field in nat and nat[field] not in ENUMS[field][1]:
                raise bad_enum(where, field, nat[field])
        out = {"name": name}
        nat_type = nat.get("type", "PUBLIC")
        option = nat.get("natIpAllocateOption")
        nat_ips = nat.get("natIps") or []
        if nat_type == "PRIVATE":
            if option or nat_ips:
                raise invalid(where + ".natIpAllocateOption", option or "",
                              "Private NAT does not use NAT IP addresses.")
        elif option is None:
            raise required(where + ".natIpAllocateOption")
        elif option == "AUTO_ONLY" and nat_ips:
            raise invalid(where + ".natIps", nat_ips[0], "NAT IPs must be empty when "
                          "natIpAllocateOption is AUTO_ONLY.")
        elif option == "MANUAL_ONLY":
            if not nat_ips:
                raise invalid(where + ".natIps", "", "At least one NAT IP is required when "
                              "natIpAllocateOption is MANUAL_ONLY.")
            raise invalid(where + ".natIps[0]", nat_ips[0],
                          "The referenced address resource cannot be found.")
        ranges = nat.get("sourceSubnetworkIpRangesToNat")
        if ranges is None:
            raise required(where + ".sourceSubnetworkIpRangesToNat")
        subnets = nat.get("subnetworks") or []
        if ranges == "LIST_OF_SUBNETWORKS":
            if not subnets:
                raise invalid(where + ".subnetworks", "", "At least one subnetwork is required "
                              "when sourceSubnetworkIpRangesToNat is LIST_OF_SUBNETWORKS.")
            clean = []
            for i, subnet in enumerate(subnets):
                ref = (subnet or {}).get("name") if isinstance(subnet, dict) else None
                if util.last_segment(ref, "subnetworks") != "default" or \
                        util.segment(ref, "regions") not in (None, region):
                    raise invalid("%s.subnetworks[%d].name" % (where, i), ref,
                                  "The referenced subnetwork resource cannot be found.")
                clean.append({"name": util.link("projects/%s/regions/%s/subnetworks/default"
                                                % (project, region)),
                              "sourceIpRangesToNat": subnet.get("sourceIpRangesToNat")
                              or ["ALL_IP_RANGES"]})
            out["subnetworks"] = clean
        elif subnets:
            raise invalid(where + ".subnetworks", "", "Subnetworks may only be listed when "
                          "sourceSubnetworkIpRangesToNat is LIST_OF_SUBNETWORKS.")
        out["sourceSubnetworkIpRangesToNat"] = ranges
        if option:
            out["natIpAllocateOption"] = option
        log = nat.get("logConfig")
        if log is not None:
            if not isinstance(log, dict) or set(log) - {"enable", "filter"}:
                extra = sorted(set(log) - {"enable", "filter"}) if isinstance(log, dict) else []
                raise unknown_field(extra[0] if extra else "logConfig", where + ".log_config")
            if log.get("filter", "ALL") not in LOG_FILTERS:
                raise invalid(where + ".logConfig.filter", log.get("filter"),
                              "Must be one of %s." % ", ".join(LOG_FILTERS))
        log = log or {}
        out["logConfig"] = {"enable": bool(log.get("enable", False)),
                            "filter": log.get("filter") or "ALL"}
        dynamic = bool(nat.get("enableDynamicPortAllocation", False))
        min_ports = _int_field(nat, "minPortsPerVm", where, 2, 65536)
        max_ports = _int_field(nat, "maxPortsPerVm", where, 64, 65536)
        if dynamic:
            if min_ports is not None and (min_ports < 32 or not _power_of_two(min_ports)):
                raise invalid(where + ".minPortsPerVm", min_ports, "With dynamic port "
                              "allocation, minPortsPerVm must be a power of two of at least 32.")
            if max_ports is not None and (not _power_of_two(max_ports)
                                          or max_ports <= (min_ports or 32)):
                raise invalid(where + ".maxPortsPerVm", max_ports, "Must be a power of two "
                              "greater than minPortsPerVm.")
            if nat.get("enableEndpointIndependentMapping"):
                raise invalid(where + ".enableEndpointIndependentMapping", True,
                              "Endpoint independent mapping cannot be enabled with dynamic port "
                              "allocation.")
            out["enableDynamicPortAllocation"] = True
        elif max_ports is not None:
            raise invalid(where + ".maxPortsPerVm", max_ports, "maxPortsPerVm can only be set "
                          "when dynamic port allocation is enabled.")
        for key, value in (("minPortsPerVm", min_ports), ("maxPortsPerVm", max_ports)):
            if value is not None:
                out[key] = value
        for key in TIMEOUTS:
            value = _int_field(nat, key, where, 1, 2 ** 31 - 1)
            if value is not None:
                out[key] = value
        out["enableEndpointIndependentMapping"] = bool(
            nat.get("enableEndpointIndependentMapping", False))
        out["endpointTypes"] = list(nat.get("endpointTypes") or ["ENDPOINT_TYPE_VM"])
        out["type"] = nat_type
        if nat_type == "PUBLIC" and option == "AUTO_ONLY":
            out["autoNetworkTier"] = nat.get("autoNetworkTier") or "PREMIUM"
        for key in ("drainNatIps", "rules"):
            if nat.get(key):
                out[key] = nat[key]
        return out

    def _router_resource(self, project, region, body, old=None):
        if not isinstance(body, dict):
            raise invalid("resource", body, "Must be an object.")
        for key in body:
            if key not in ROUTER_FIELDS:
                raise unknown_field(key, "resource")
        name = body.get("name")
        if not isinstance(name, str) or not util.RFC1035.match(name):
            raise invalid("resource.name", name, "Must be a match of regex '%s'"
                          % util.RFC1035_TEXT)
        network = body.get("network")
        if not network:
            raise required("resource.network")
        if util.last_segment(network, "networks") != "default" or \
                util.segment(network, "projects") not in (None, project):
            raise invalid("resource.network", network,
                          "The referenced network resource cannot be found.")
        network = util.link("projects/%s/global/networks/default" % project)
        if old is not None and network != old["network"]:
            raise invalid("resource.network", body.get("network"),
                          "The network of an existing router cannot be changed.")
        nats = body.get("nats") or []
        if not isinstance(nats, list):
            raise invalid("resource.nats", nats, "Must be a list.")
        clean = [self._nat(project, region, nat, i) for i, nat in enumerate(nats)]
        seen = set()
        for i, nat in enumerate(clean):
            if nat["name"] in seen:
                raise invalid("resource.nats[%d].name" % i, nat["name"],
                              "Duplicate NAT name in the router.")
            seen.add(nat["name"])
        router = {
            "kind": "compute#router",
            "id": old["id"] if old else util.new_id(),
            "creationTimestamp": old["creationTimestamp"] if old else util.timestamp(),
            "name": name,
            "region": util.link("projects/%s/regions/%s" % (project, region)),
            "network": network,
            "selfLink": util.link(self._router_path(project, region, name)),
            "nats": clean,
        }
        if body.get("description"):
            router["description"] = body["description"]
        bgp = body.get("bgp")
        if bgp:
            asn = bgp.get("asn")
            if not isinstance(asn, int) or not (asn == 16550 or 64512 <= asn <= 65534
                                                or 4200000000 <= asn <= 4294967294):
                raise invalid("resource.bgp.asn", asn, "Must be a private ASN (64512-65534, "
                              "4200000000-4294967294) or 16550.")
            router["bgp"] = dict({"advertiseMode": "DEFAULT", "keepaliveInterval": 20}, **bgp)
        for key in ("interfaces", "bgpPeers", "md5AuthenticationKeys"):
            if body.get(key):
                raise invalid("resource.%s" % key, "", "Not supported on this network.")
        if body.get("encryptedInterconnectRouter"):
            router["encryptedInterconnectRouter"] = True
        if old is not None:
            # addresses Google allocated stay with their NAT while it exists
            ips = old.get("_natIps", {})
            router["_natIps"] = {n["name"]: ips[n["name"]] for n in clean if n["name"] in ips}
        return router

    def _check_nat_coverage(self, project, region, router):
        """Once a NAT covers every subnetwork of a network in a region, no other NAT (in any
        router of that network and region) may exist."""
        own = [(router["name"], index, nat) for index, nat in enumerate(router["nats"])]
        others = [(other["name"], None, nat)
                  for other in self._routers(project, region).values()
                  if other["name"] != router["name"] and other["network"] == router["network"]
                  for nat in other["nats"]]
        if len(own) + len(others) < 2:
            return
        # another router's NAT first: that is the one in the way
        for owner, index, nat in others + own:
            if nat["sourceSubnetworkIpRangesToNat"] in ALL_SUBNETS:
                field = ("resource.nats" if index is None
                         else "resource.nats[%d].sourceSubnetworkIpRangesToNat" % index)
                raise invalid(field, nat["sourceSubnetworkIpRangesToNat"], (
                    "NAT '%s' of router '%s' applies to all subnetworks of network 'default' in "
                    "region %s: no other NAT may exist for that network and region."
                    % (nat["name"], owner, region)))

    def _check_router_not_busy(self, req, project, region, name):
        """400 resourceNotReady while another operation on the router is running (a retry with
        the same ``requestId`` gets that operation instead)."""
        proj = self.store.projects[project]
        if req.query.get("requestId") in proj["requestIds"]:
            return
        target = "/" + self._router_path(project, region, name)
        for op in proj["operations"].get("regions/" + region, {}).values():
            if op["status"] != "DONE" and op.get("targetLink", "").endswith(target):
                raise not_ready(target[1:])

    def _region_op(self, req, project, region, op_type, target, target_id):
        op = new_operation(project, "regions/" + region, op_type, util.link(target), target_id,
                           req.user)
        op["region"] = util.link("projects/%s/regions/%s" % (project, region))
        latency = self.latency
        return 200, self.runner.launch(project, "regions/" + region, op,
                                       lambda j: j.sleep(latency), sync=latency <= 0)

    def _router(self, project, region, name):
        router = self._routers(project, region).get(name)
        if router is None:
            raise not_found(self._router_path(project, region, name))
        return router

    # -- handlers --------------------------------------------------------------------------
    def list_routers(self, req, project, region):
        with self.store.lock:
            self.project(project)
            self.region(region)
            items = [published(r) for r in self._routers(project, region).values()]
        page, token = paginate(items, req.query, lambda r: [r["name"]])
        return 200, list_body("compute#routerList", "projects/%s/regions/%s/routers"
                              % (project, region), page, token)

    def aggregated_routers(self, req, project):
        regions = sorted(catalog.REGIONS)
        order = {region: index for index, region in enumerate(regions)}
        with self.store.lock:
            self.project(project)
            rows = [published(r) for routers in self._routers(project).values()
                    for r in routers.values()]
        page, token = paginate(rows, req.query,
                               lambda r: [order.get(r["region"].rsplit("/", 1)[1], 0), r["name"]])
        return 200, aggregate_body("compute#routerAggregatedList", "routers",
                                   "projects/%s/aggregated/routers" % project, page, token,
                                   lambda r: "regions/" + r["region"].rsplit("/", 1)[1],
                                   ["regions/" + r for r in regions])

    def get_router(self, req, project, region, name):
        with self.store.lock:
            self.project(project)
            self.region(region)
            return 200, published(self._router(project, region, name))

    def insert_router(self, req, project, region):
        with self.store.lock:
            self.project(project)
            self.region(region)
            router = self._router_resource(project, region, req.body or {})
            routers = self._routers(project, region)
            if router["name"] in routers:
                raise already_exists(self._router_path(project, region, router["name"]))
            self._check_nat_coverage(project, region, router)
            routers[router["name"]] = router
            self.store.touch()
            return self._region_op(req, project, region, "insert", self._router_path(
                project, region, router["name"]), router["id"])

    def patch_router(self, req, project, region, name, replace=False):
        with self.store.lock:
            self.project(project)
            self.region(region)
            old = self._router(project, region, name)
            self._check_router_not_busy(req, project, region, name)
            body = req.body or {}
            if not isinstance(body, dict):
                raise invalid("resource", body, "Must be an object.")
            if body.get("name", name) != name:
                raise invalid("resource.name", body["name"], "The name cannot be changed.")
            if replace:
                merged = dict(body, name=name)
            else:
                merged = {k: v for k, v in old.items() if not k.startswith("_")}
                merged.update({k: v for k, v in body.items() if k not in OUTPUT_ONLY})
            merged.setdefault("network", old["network"])
            router = self._router_resource(project, region, merged, old=old)
            self._check_nat_coverage(project, region, router)
            self._routers(project, region)[name] = router
            self.store.touch()
            return self._region_op(req, project, region, "update" if replace else "patch",
                                   self._router_path(project, region, name), old["id"])

    def update_router(self, req, project, region, name):
        return self.patch_router(req, project, region, name, replace=True)

    def delete_router(self, req, project, region, name):
        with self.store.lock:
            self.project(project)
            self.region(region)
            old = self._router(project, region, name)
            self._check_router_not_busy(req, project, region, name)
            del self._routers(project, region)[name]
            self.store.touch()
            return self._region_op(req, project, region, "delete",
                                   self._router_path(project, region, name), old["id"])

    def get_router_status(self, req, project, region, name):
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            router = self._router(project, region, name)
            private_vms = sum(
                1 for zone, instances in proj["instances"].items()
                if catalog.ZONES.get(zone) == region
                for inst in instances.values()
                if inst.get("status") == "RUNNING"
                and not inst["networkInterfaces"][0].get("accessConfigs"))
            ips = router.setdefault("_natIps", {})
            statuses = []
            for nat in router["nats"]:
                status = {"name": nat["name"], "minExtraNatIpsNeeded": 0,
                          "numVmEndpointsWithNatMappings": private_vms}
                if nat.get("natIpAllocateOption") == "AUTO_ONLY":
                    if nat["name"] not in ips:
                        ips[nat["name"]] = [self._ephemeral_ip()]
                        self.store.touch()
                    status["autoAllocatedNatIps"] = list(ips[nat["name"]])
                statuses.append(status)
            result = {"network": router["network"], "bestRoutes": [],
                      "bestRoutesForRouter": []}
            if statuses:
                result["natStatus"] = statuses
            return 200, {"kind": "compute#routerStatusResponse", "result": result}
