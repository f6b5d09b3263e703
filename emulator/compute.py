"""Compute Engine v1: zones, regions, machine types, images, networks, firewalls, instances,
disks (read-only views of boot disks) and zone/global operations."""

import base64
import copy
import json
import re
import uuid

from . import catalog, util
from .errors import ApiError, already_exists, condition_not_met, invalid, not_found, not_ready
from .filters import compile_filter
from .ops import OperationFailed, new_operation
from .state import public

MAX_RESULTS = 500
LABEL_KEY = re.compile(r"^[\w-]{0,62}$", re.UNICODE)
METADATA_KEY = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd", "pd-extreme", "hyperdisk-balanced")
SHARED_FEATURES = [{"type": "UEFI_COMPATIBLE"}, {"type": "VIRTIO_SCSI_MULTIQUEUE"},
                   {"type": "GVNIC"}, {"type": "SEV_CAPABLE"}]
LABEL_RULE = ("can only contain lowercase letters, numeric characters, underscores and dashes. "
              "The key can be at most 63 characters long. International characters are allowed.")


def _page_token(after, text):
    raw = json.dumps({"a": after, "f": util.fingerprint(text or "")})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(token, text):
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["f"] != util.fingerprint(text or ""):
            raise ValueError("filter changed")
        return data["a"]
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid("pageToken", token, "Invalid page token.") from exc


def paginate(items, query, sort_key, publish=None):
    """Filter, sort and cut ``items``; returns (page, nextPageToken).

    ``publish`` turns stored resources into what clients see (only for the page)."""
    text = query.get("filter", "")
    predicate = compile_filter(text)
    raw_max = query.get("maxResults", "")
    try:
        max_results = int(raw_max) if raw_max != "" else MAX_RESULTS
    except ValueError as exc:
        raise invalid("maxResults", raw_max, "Must be an integer.") from exc
    if max_results < 0 or max_results > MAX_RESULTS:
        raise invalid("maxResults", raw_max, "Must be less than or equal to %d" % MAX_RESULTS)
    max_results = max_results or MAX_RESULTS
    after = _after(query.get("pageToken"), text)
    rows = sorted((item for item in items if predicate(item)), key=sort_key)
    if after is not None:
        rows = [row for row in rows if list(sort_key(row)) > list(after)]
    page = rows[:max_results]
    token = _page_token(list(sort_key(page[-1])), text) if len(rows) > max_results else None
    return ([publish(row) for row in page] if publish else page), token


def list_body(kind, self_path, page, token):
    body = {"kind": kind, "id": self_path, "selfLink": util.link(self_path)}
    if page:
        body["items"] = page
    if token:
        body["nextPageToken"] = token
    return body


def validate_labels(labels, field="labels"):
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise invalid(field, labels, "Labels must be a map of strings.")
    if len(labels) > 64:
        raise invalid(field, "", "Resource can not have more than 64 labels.")
    for key, value in labels.items():
        if not key or not key[0].isalpha() or not key[0].islower() or \
                not LABEL_KEY.match(key[1:]) or key.lower() != key:
            raise invalid(field, "", "Label key '%s' violates format constraints. The key must "
                          "start with a lowercase character, %s" % (key, LABEL_RULE))
        if not isinstance(value, str) or len(value) > 63 or value.lower() != value or \
                not re.match(r"^[\w-]*$", value, re.UNICODE):
            raise invalid(field, "", "Label value '%s' violates format constraints. The value "
                          "can only contain lowercase letters, numeric characters, underscores "
                          "and dashes. The value can be at most 63 characters long. "
                          "International characters are allowed." % (value,))
    return dict(labels)


def validate_metadata_items(items, field):
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid(field, items, "Metadata items must be a list.")
    seen, total = set(), 0
    clean = []
    for index, item in enumerate(items):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not METADATA_KEY.match(key):
            raise invalid("%s.items[%d].key" % (field, index), key,
                          "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'")
        if key in seen:
            raise invalid(field, "", "Duplicate keys are not allowed: '%s'." % key)
        seen.add(key)
        value = item.get("value", "")
        if not isinstance(value, str):
            value = json.dumps(value) if not isinstance(value, (int, float)) else str(value)
        if len(value.encode()) > 256 * 1024:
            raise invalid("%s.items[%d].value" % (field, index), "",
                          "Value is too long (more than 262144 bytes).")
        total += len(key) + len(value.encode())
        clean.append({"key": key, "value": value})
    if total > 512 * 1024:
        raise invalid(field, "", "Metadata is too large (more than 524288 bytes in total).")
    return clean


def validate_tags(items, field):
    items = items or []
    if len(items) > 64:
        raise invalid(field, "", "Too many tags: at most 64 are allowed.")
    for index, tag in enumerate(items):
        if not isinstance(tag, str) or not util.RFC1035.match(tag):
            raise invalid("%s[%d]" % (field, index), tag,
                          "Must be a match of regex '%s'" % util.RFC1035_TEXT)
    return sorted(set(items), key=items.index)


class Compute:
    """Handlers for ``/compute/v1/...``; each returns ``(status, body)``."""

    def __init__(self, store, runner, backend, latency):
        self.store = store
        self.runner = runner
        self.backend = backend
        self.latency = latency

    @property
    def sync(self):
        return self.latency <= 0 and not self.backend.asynchronous

    # -- lookups -------------------------------------------------------------------------
    def project(self, name):
        project = self.store.project(name)
        if project is None or project["state"] != "ACTIVE" or project["projectId"] != name:
            raise not_found("projects/%s" % name)
        if "compute.googleapis.com" not in project["services"]:
            message = ("Compute Engine API has not been used in project %s before or it is "
                       "disabled. Enable it by visiting https://console.developers.google.com/"
                       "apis/api/compute.googleapis.com/overview?project=%s then retry. If you "
                       "enabled this API recently, wait a few minutes for the action to "
                       "propagate to our systems and retry." % (project["number"],
                                                                project["number"]))
            raise ApiError(403, "accessNotConfigured", message, domain="usageLimits",
                           extra={"extendedHelp": "https://console.developers.google.com/apis/"
                                  "api/compute.googleapis.com/overview?project=%s"
                                  % project["number"]})
        return project

    @staticmethod
    def zone(zone, field="zone"):
        if zone not in catalog.ZONES:
            raise invalid(field, zone, "Unknown zone.")
        return zone

    @staticmethod
    def region(region):
        if region not in catalog.REGIONS:
            raise invalid("region", region, "Unknown region.")
        return region

    def _instance(self, project, zone, name):
        inst = project["instances"].get(zone, {}).get(name)
        if inst is None:
            raise not_found("projects/%s/zones/%s/instances/%s"
                            % (project["projectId"], zone, name))
        return inst

    # -- project, zones, regions, machine types ----------------------------------------
    def get_project(self, req, project):
        with self.store.lock:
            proj = self.project(project)
            return 200, {
                "kind": "compute#project", "id": proj["computeId"],
                "creationTimestamp": util.timestamp(), "name": project,
                "commonInstanceMetadata": copy.deepcopy(proj["metadata"]),
                "quotas": [{"metric": "CPUS_ALL_REGIONS", "limit": 32.0, "usage": 0.0}],
                "selfLink": util.link("projects/%s" % project),
                "defaultServiceAccount": "%s-compute@developer.gserviceaccount.com"
                                         % proj["number"],
                "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
                "defaultNetworkTier": "PREMIUM", "vmDnsSetting": "ZONAL_ONLY"}

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

    def list_zones(self, req, project):
        with self.store.lock:
            self.project(project)
        items = [catalog.zone_resource(project, z) for z in catalog.ZONE_ORDER]
        page, token = paginate(items, req.query, lambda z: [z["name"]])
        return 200, list_body("compute#zoneList", "projects/%s/zones" % project, page, token)

    def get_zone(self, req, project, zone):
        with self.store.lock:
            self.project(project)
        if zone not in catalog.ZONES:
            raise not_found("projects/%s/zones/%s" % (project, zone))
        return 200, catalog.zone_resource(project, zone)

    def list_regions(self, req, project):
        with self.store.lock:
            self.project(project)
        items = [catalog.region_resource(project, r) for r in sorted(catalog.REGIONS)]
        page, token = paginate(items, req.query, lambda r: [r["name"]])
        return 200, list_body("compute#regionList", "projects/%s/regions" % project, page, token)

    def get_region(self, req, project, region):
        with self.store.lock:
            self.project(project)
        if region not in catalog.REGIONS:
            raise not_found("projects/%s/regions/%s" % (project, region))
        return 200, catalog.region_resource(project, region)

    def list_machine_types(self, req, project, zone):
        with self.store.lock:
            self.project(project)
        self.zone(zone)
        items = [catalog.machine_type_resource(project, zone, n) for n in catalog.MACHINE_TYPES]
        page, token = paginate(items, req.query, lambda m: [m["name"]])
        return 200, list_body("compute#machineTypeList",
                              "projects/%s/zones/%s/machineTypes" % (project, zone), page, token)

    def aggregated_machine_types(self, req, project):
        with self.store.lock:
            self.project(project)
        rows = [catalog.machine_type_resource(project, z, n)
                for z in catalog.ZONE_ORDER for n in catalog.MACHINE_TYPES]
        page, token = paginate(rows, req.query, lambda m: [m["zone"], m["name"]])
        return 200, self._aggregate("compute#machineTypeAggregatedList", "machineTypes",
                                    "projects/%s/aggregated/machineTypes" % project, page, token,
                                    lambda m: m["zone"])

    def get_machine_type(self, req, project, zone, name):
        with self.store.lock:
            self.project(project)
        self.zone(zone)
        if catalog.machine_spec(name) is None:
            raise not_found("projects/%s/zones/%s/machineTypes/%s" % (project, zone, name))
        return 200, catalog.machine_type_resource(project, zone, name)

    # -- images ----------------------------------------------------------------------------
    def _image_project(self, project):
        if project in catalog.IMAGES:
            return
        with self.store.lock:
            self.project(project)

    def list_images(self, req, project):
        self._image_project(project)
        items = [catalog.image_resource(project, e) for e in catalog.IMAGES.get(project, [])]
        page, token = paginate(items, req.query, lambda i: [i["name"]])
        return 200, list_body("compute#imageList", "projects/%s/global/images" % project, page,
                              token)

    def get_image(self, req, project, name):
        self._image_project(project)
        entry = catalog.find_image(project, name=name)
        if entry is None:
            raise not_found("projects/%s/global/images/%s" % (project, name))
        return 200, catalog.image_resource(project, entry)

    def get_image_family(self, req, project, family):
        self._image_project(project)
        entry = catalog.find_image(project, family=family)
        if entry is None:
            raise not_found("projects/%s/global/images/family/%s" % (project, family))
        return 200, catalog.image_resource(project, entry)

    def get_image_family_view(self, req, project, zone, family):
        self._image_project(project)
        if zone != "-":
            self.zone(zone)
        entry = catalog.find_image(project, family=family)
        if entry is None:
            raise not_found("projects/%s/zones/%s/imageFamilyViews/%s" % (project, zone, family))
        return 200, {"image": catalog.image_resource(project, entry)}

    def resolve_image(self, ref, own_project, field):
        """(image project, catalogue entry) for a sourceImage reference."""
        text = ref if isinstance(ref, str) else ""
        project = util.segment(text, "projects") or own_project
        family = util.segment(text, "family") or util.segment(text, "imageFamilyViews")
        name = None if family else util.last_segment(text, "images")
        entry = catalog.find_image(project, name=name, family=family)
        if entry is None:
            raise invalid(field, ref, "The referenced image resource cannot be found.")
        return project, entry

    # -- networks --------------------------------------------------------------------------
    def _network(self, project):
        proj = self.store.projects[project]
        return {
            "kind": "compute#network", "id": str(int(proj["computeId"]) // 3),
            "creationTimestamp": proj["createTime"].replace("Z", "")[:23] + "-08:00",
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
        return "10.%d.0.0/20" % (128 + 2 * sorted(catalog.REGIONS).index(region))

    def get_subnetwork(self, req, project, region, name):
        with self.store.lock:
            self.project(project)
        self.region(region)
        if name != "default":
            raise not_found("projects/%s/regions/%s/subnetworks/%s" % (project, region, name))
        cidr = self._subnet_cidr(region)
        return 200, {
            "kind": "compute#subnetwork", "id": str(3000 + sorted(catalog.REGIONS).index(region)),
            "name": "default", "network": util.link("projects/%s/global/networks/default"
                                                    % project),
            "ipCidrRange": cidr, "gatewayAddress": cidr.replace(".0/20", ".1"),
            "region": util.link("projects/%s/regions/%s" % (project, region)),
            "selfLink": util.link("projects/%s/regions/%s/subnetworks/default"
                                  % (project, region)),
            "privateIpGoogleAccess": False, "stackType": "IPV4_ONLY", "purpose": "PRIVATE",
            "fingerprint": util.fingerprint(region)}

    # -- firewalls -------------------------------------------------------------------------
    def _firewalls(self, project):
        proj = self.store.projects[project]
        if not proj["firewalls"]:
            proj["firewalls"] = {}
            defaults = [
                ("default-allow-icmp", [{"IPProtocol": "icmp"}], ["0.0.0.0/0"], 65534,
                 "Allow ICMP from anywhere"),
                ("default-allow-internal", [{"IPProtocol": "tcp", "ports": ["0-65535"]},
                                            {"IPProtocol": "udp", "ports": ["0-65535"]},
                                            {"IPProtocol": "icmp"}], ["10.128.0.0/9"], 65534,
                 "Allow internal traffic on the default network"),
                ("default-allow-rdp", [{"IPProtocol": "tcp", "ports": ["3389"]}], ["0.0.0.0/0"],
                 65534, "Allow RDP from anywhere"),
                ("default-allow-ssh", [{"IPProtocol": "tcp", "ports": ["22"]}], ["0.0.0.0/0"],
                 65534, "Allow SSH from anywhere"),
            ]
            for name, allowed, ranges, priority, description in defaults:
                proj["firewalls"][name] = self._firewall_resource(project, {
                    "name": name, "allowed": allowed, "sourceRanges": ranges,
                    "priority": priority, "description": description})
        return proj["firewalls"]

    def _firewall_resource(self, project, body, old=None):
        name = body.get("name")
        if not isinstance(name, str) or not util.RFC1035.match(name):
            raise invalid("resource.name", name, "Must be a match of regex '%s'"
                          % util.RFC1035_TEXT)
        network = body.get("network") or "global/networks/default"
        if util.last_segment(network, "networks") != "default":
            raise invalid("resource.network", network,
                          "The referenced network resource cannot be found.")
        direction = body.get("direction", "INGRESS")
        if direction not in ("INGRESS", "EGRESS"):
            raise invalid("resource.direction", direction, "Must be INGRESS or EGRESS.")
        allowed, denied = body.get("allowed") or [], body.get("denied") or []
        if bool(allowed) == bool(denied):
            raise invalid("resource", "", "Exactly one of 'allowed' or 'denied' must be "
                          "specified.")
        for index, rule in enumerate(allowed or denied):
            proto = str(rule.get("IPProtocol", "")).lower()
            if proto not in ("tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all") and \
                    not proto.isdigit():
                raise invalid("resource.%s[%d].IPProtocol" % ("allowed" if allowed else
                                                              "denied", index), proto,
                              "Unknown protocol.")
            for port in rule.get("ports") or []:
                if not re.match(r"^\d{1,5}(-\d{1,5})?$", str(port)) or \
                        any(int(p) > 65535 for p in str(port).split("-")):
                    raise invalid("resource.allowed[%d].ports" % index, port,
                                  "Invalid port or port range.")
        priority = body.get("priority", 1000)
        try:
            priority = int(priority)
        except (TypeError, ValueError):
            priority = -1
        if not 0 <= priority <= 65535:
            raise invalid("resource.priority", body.get("priority"),
                          "Must be between 0 and 65535.")
        ranges = body.get("sourceRanges") or []
        for cidr in ranges + (body.get("destinationRanges") or []):
            if not re.match(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$", str(cidr)) and ":" not in cidr:
                raise invalid("resource.sourceRanges", cidr, "Must be a valid CIDR range.")
        if direction == "INGRESS" and not ranges and not body.get("sourceTags") and \
                not body.get("sourceServiceAccounts"):
            ranges = ["0.0.0.0/0"]
        now = util.timestamp()
        fw = {
            "kind": "compute#firewall",
            "id": old["id"] if old else util.new_id(),
            "creationTimestamp": old["creationTimestamp"] if old else now,
            "name": name,
            "description": body.get("description", ""),
            "network": util.link("projects/%s/global/networks/default" % project),
            "priority": priority,
            "direction": direction,
            "logConfig": body.get("logConfig") or {"enable": False},
            "disabled": bool(body.get("disabled", False)),
            "selfLink": util.link("projects/%s/global/firewalls/%s" % (project, name)),
        }
        fw["allowed" if allowed else "denied"] = allowed or denied
        if direction == "INGRESS":
            fw["sourceRanges"] = ranges
        else:
            fw["destinationRanges"] = body.get("destinationRanges") or ["0.0.0.0/0"]
        for key in ("sourceTags", "targetTags", "sourceServiceAccounts",
                    "targetServiceAccounts"):
            if body.get(key):
                fw[key] = list(body[key])
        for index, tag in enumerate(fw.get("targetTags", []) + fw.get("sourceTags", [])):
            if not util.RFC1035.match(str(tag)):
                raise invalid("resource.targetTags[%d]" % index, tag,
                              "Must be a match of regex '%s'" % util.RFC1035_TEXT)
        return fw

    def list_firewalls(self, req, project):
        with self.store.lock:
            self.project(project)
            items = [public(fw) for fw in self._firewalls(project).values()]
        page, token = paginate(items, req.query, lambda f: [f["name"]])
        return 200, list_body("compute#firewallList", "projects/%s/global/firewalls" % project,
                              page, token)

    def get_firewall(self, req, project, name):
        with self.store.lock:
            self.project(project)
            fw = self._firewalls(project).get(name)
            if fw is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            return 200, public(fw)

    def insert_firewall(self, req, project):
        with self.store.lock:
            self.project(project)
            fw = self._firewall_resource(project, req.body or {})
            firewalls = self._firewalls(project)
            if fw["name"] in firewalls:
                raise already_exists("projects/%s/global/firewalls/%s" % (project, fw["name"]))
            firewalls[fw["name"]] = fw
            return self._global_op(req, project, "insert", "projects/%s/global/firewalls/%s"
                                   % (project, fw["name"]), fw["id"])

    def patch_firewall(self, req, project, name, replace=False):
        with self.store.lock:
            self.project(project)
            firewalls = self._firewalls(project)
            old = firewalls.get(name)
            if old is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            body = dict(req.body or {})
            if body.get("name", name) != name:
                raise invalid("resource.name", body["name"], "The name cannot be changed.")
            if replace:
                merged = dict(body, name=name)
            else:
                merged = dict(old)
                if "allowed" in body and body["allowed"]:
                    merged.pop("denied", None)
                if "denied" in body and body["denied"]:
                    merged.pop("allowed", None)
                merged.update(body)
            firewalls[name] = self._firewall_resource(project, merged, old=old)
            return self._global_op(req, project, "update" if replace else "patch",
                                   "projects/%s/global/firewalls/%s" % (project, name), old["id"])

    def update_firewall(self, req, project, name):
        return self.patch_firewall(req, project, name, replace=True)

    def delete_firewall(self, req, project, name):
        with self.store.lock:
            self.project(project)
            firewalls = self._firewalls(project)
            old = firewalls.pop(name, None)
            if old is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            return self._global_op(req, project, "delete", "projects/%s/global/firewalls/%s"
                                   % (project, name), old["id"])

    def _global_op(self, req, project, op_type, target, target_id, job_fn=None):
        op = new_operation(project, "global", op_type, util.link(target), target_id, req.user)
        latency = self.latency

        def job(j):
            if job_fn:
                job_fn(j)
            j.sleep(latency)
        status = 200
        return status, self.runner.launch(project, "global", op, job,
                                          sync=self.latency <= 0 and job_fn is None)

    # -- instances: reads ------------------------------------------------------------------
    def get_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            return 200, public(self._instance(proj, zone, name))

    def list_instances(self, req, project, zone):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            items = list(proj["instances"].get(zone, {}).values())
            page, token = paginate(items, req.query, lambda i: [i["name"]], public)
        return 200, list_body("compute#instanceList", "projects/%s/zones/%s/instances"
                              % (project, zone), page, token)

    def aggregated_instances(self, req, project):
        with self.store.lock:
            proj = self.project(project)
            rows = [i for z in proj["instances"].values() for i in z.values()]
            page, token = paginate(rows, req.query,
                                   lambda i: [i["zone"].rsplit("/", 1)[1], i["name"]], public)
        return 200, self._aggregate("compute#instanceAggregatedList", "instances",
                                    "projects/%s/aggregated/instances" % project, page, token,
                                    lambda i: i["zone"].rsplit("/", 1)[1])

    @staticmethod
    def _aggregate(kind, field, self_path, page, token, zone_of):
        items = {}
        for zone in catalog.ZONE_ORDER:
            rows = [row for row in page if zone_of(row) == zone]
            scope = "zones/" + zone
            if rows:
                items[scope] = {field: rows}
            else:
                items[scope] = {"warning": {
                    "code": "NO_RESULTS_ON_PAGE",
                    "message": "There are no results for scope '%s' on this page." % scope,
                    "data": [{"key": "scope", "value": scope}]}}
        body = {"kind": kind, "id": self_path, "items": items, "selfLink": util.link(self_path)}
        if token:
            body["nextPageToken"] = token
        return body

    def list_disks(self, req, project, zone):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            items = [self._disk(proj, i) for i in proj["instances"].get(zone, {}).values()]
        page, token = paginate(items, req.query, lambda d: [d["name"]])
        return 200, list_body("compute#diskList", "projects/%s/zones/%s/disks" % (project, zone),
                              page, token)

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
            "type": util.link("projects/%s/zones/%s/diskTypes/%s"
                              % (proj["projectId"], zone, disk["type"])),
            "licenses": inst["disks"][0].get("licenses", []),
            "guestOsFeatures": SHARED_FEATURES, "users": [inst["selfLink"]],
            "labelFingerprint": util.fingerprint({}), "physicalBlockSizeBytes": "4096",
            "architecture": "X86_64"}

    # -- instances: insert -----------------------------------------------------------------
    def insert_instance(self, req, project, zone):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            name = body.get("name")
            if not isinstance(name, str) or not util.RFC1035.match(name):
                raise invalid("resource.name", name, "Must be a match of regex '%s'"
                              % util.RFC1035_TEXT)
            path = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
            if name in proj["instances"].get(zone, {}):
                raise already_exists(path)
            inst = self.build_instance(proj, zone, body)
            proj["instances"].setdefault(zone, {})[name] = inst
            self.store.touch()
            spec = catalog.machine_spec(inst["machineType"].rsplit("/", 1)[1])
            op = new_operation(project, "zones/" + zone, "insert", inst["selfLink"], inst["id"],
                               req.user, zone=zone)
        key = (project, zone, name, inst["id"])
        latency = self.latency
        region = catalog.ZONES[zone]

        def job(j):
            j.sleep(latency / 2)
            if spec[0] > catalog.CPU_QUOTA:
                raise OperationFailed("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.  Limit: %.1f in "
                                      "region %s." % (catalog.CPU_QUOTA, region), 403)
            snap = self._transition(key, ("PROVISIONING",), "STAGING")
            if snap is None:
                return
            updates = self.backend.create(self._guest_view(project, snap))
            j.sleep(latency / 2)
            self._transition(key, ("STAGING",), "RUNNING", updates, started=True)

        def cleanup(error):
            with self.store.lock:
                snap = self._get(key)
                if snap is not None:
                    del proj["instances"][zone][name]
                    self.store.touch()
            if snap is not None and error.code != "QUOTA_EXCEEDED":
                self.backend.delete(snap)

        return 200, self.runner.launch(project, "zones/" + zone, op, job, self.sync, cleanup)

    def build_instance(self, proj, zone, body):
        project = proj["projectId"]
        mt_ref = body.get("machineType")
        mt_name = util.last_segment(mt_ref, "machineTypes")
        mt_zone = util.segment(mt_ref or "", "zones")
        if not mt_ref:
            raise ApiError(400, "required", "Required field 'resource.machineType' not "
                           "specified")
        if mt_name is None or catalog.machine_spec(mt_name) is None or \
                (mt_zone and mt_zone != zone):
            raise invalid("resource.machineType", mt_ref, "Machine type with name '%s' does not "
                          "exist in zone '%s'." % (mt_name, zone))
        disks = body.get("disks") or []
        if not disks:
            raise invalid("resource.disks", "", "No disks are specified.")
        boots = [d for d in disks if d.get("boot")] or disks[:1]
        if len(disks) != 1 or len(boots) != 1:
            raise invalid("resource.disks", "", "The emulator supports exactly one (boot) disk.")
        boot = boots[0]
        params = boot.get("initializeParams") or {}
        if not params.get("sourceImage"):
            if boot.get("source"):
                raise invalid("resource.disks[0].source", boot["source"],
                              "The referenced disk resource cannot be found.")
            raise ApiError(400, "required", "Required field 'resource.disks[0].initializeParams"
                           ".sourceImage' not specified")
        image_project, image = self.resolve_image(params["sourceImage"], project,
                                                  "resource.disks[0].initializeParams."
                                                  "sourceImage")
        try:
            size = int(params.get("diskSizeGb") or catalog.IMAGE_DISK_GB)
        except (TypeError, ValueError):
            raise invalid("resource.disks[0].initializeParams.diskSizeGb",
                          params.get("diskSizeGb"), "Must be an integer.") from None
        if size < catalog.IMAGE_DISK_GB:
            raise invalid("resource.disks[0].initializeParams.diskSizeGb", size,
                          "Requested disk size cannot be smaller than the image size (%d GB)"
                          % catalog.IMAGE_DISK_GB)
        if size > 65536:
            raise invalid("resource.disks[0].initializeParams.diskSizeGb", size,
                          "Disk size cannot be larger than 65536 GB.")
        disk_type = util.last_segment(params.get("diskType") or "pd-standard", "diskTypes")
        if disk_type not in DISK_TYPES:
            raise invalid("resource.disks[0].initializeParams.diskType", params.get("diskType"),
                          "The referenced diskType resource cannot be found.")
        nics = body.get("networkInterfaces") or []
        if not nics:
            raise invalid("resource.networkInterfaces", "",
                          "At least one network interface is required.")
        if len(nics) > 1:
            raise invalid("resource.networkInterfaces", "",
                          "The emulator supports one network interface.")
        nic = nics[0]
        if nic.get("network") and util.last_segment(nic["network"], "networks") != "default":
            raise invalid("resource.networkInterfaces[0].network", nic["network"],
                          "The referenced network resource cannot be found.")
        labels = validate_labels(body.get("labels"), "resource.labels")
        metadata = body.get("metadata") or {}
        items = validate_metadata_items(metadata.get("items"), "resource.metadata")
        tags = validate_tags((body.get("tags") or {}).get("items"), "resource.tags.items")
        region = catalog.ZONES[zone]
        with self.store.lock:
            counters = self.store.meta["next_ip"]
            counters[region] = counters.get(region, 1) + 1
            host = counters[region]
            # External addresses are unique across regions, from 198.18.0.0/15 (RFC 2544:
            # reserved for benchmarks, never routed on the internet): the memory backend's VMs
            # are not reachable and must not look like someone's public address.
            nat_serial = self.store.meta.get("next_nat", 0) + 1
            self.store.meta["next_nat"] = nat_serial
            internal_ip = self._subnet_cidr(region).replace("0.0/20", "%d.%d" % (
                host // 254, host % 254 + 1))
        inst_id = util.new_id()
        path = "projects/%s/zones/%s/instances/%s" % (project, zone, body["name"])
        nic_out = {
            "kind": "compute#networkInterface",
            "network": util.link("projects/%s/global/networks/default" % project),
            "subnetwork": util.link("projects/%s/regions/%s/subnetworks/default"
                                    % (project, region)),
            "networkIP": internal_ip, "name": "nic0", "stackType": "IPV4_ONLY",
            "fingerprint": util.fingerprint([inst_id, "nic"]),
        }
        if nic.get("accessConfigs"):
            access = nic["accessConfigs"][0]
            nic_out["accessConfigs"] = [{
                "kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                "name": access.get("name", "External NAT"),
                "natIP": access.get("natIP") or "198.%d.%d.%d" % (
                    18 + nat_serial // 65536 % 2, nat_serial // 256 % 256, nat_serial % 256),
                "networkTier": access.get("networkTier", "PREMIUM")}]
        licenses = ["https://www.googleapis.com/compute/v1/projects/debian-cloud/global/"
                    "licenses/debian-%s-%s" % (image[2], image[3])]
        service_accounts = body.get("serviceAccounts")
        if service_accounts is None:
            service_accounts = [{"email": "default", "scopes": [
                "https://www.googleapis.com/auth/devstorage.read_only",
                "https://www.googleapis.com/auth/logging.write",
                "https://www.googleapis.com/auth/monitoring.write"]}]
        service_accounts = [dict(sa, email=sa.get("email") if sa.get("email") != "default"
                                 else "%s-compute@developer.gserviceaccount.com" % proj["number"])
                            for sa in service_accounts]
        scheduling = {"onHostMaintenance": "MIGRATE", "automaticRestart": True,
                      "preemptible": False, "provisioningModel": "STANDARD"}
        scheduling.update(body.get("scheduling") or {})
        inst = {
            "kind": "compute#instance",
            "id": inst_id,
            "creationTimestamp": util.timestamp(),
            "name": body["name"],
            "description": body.get("description", ""),
            "tags": {"fingerprint": util.fingerprint([tags, inst_id])},
            "machineType": util.link("projects/%s/zones/%s/machineTypes/%s"
                                     % (project, zone, mt_name)),
            "status": "PROVISIONING",
            "zone": util.link("projects/%s/zones/%s" % (project, zone)),
            "canIpForward": bool(body.get("canIpForward", False)),
            "networkInterfaces": [nic_out],
            "disks": [{
                "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
                "source": util.link("projects/%s/zones/%s/disks/%s" % (
                    project, zone, params.get("diskName") or body["name"])),
                "deviceName": boot.get("deviceName") or params.get("diskName") or body["name"],
                "index": 0, "boot": True, "autoDelete": bool(boot.get("autoDelete", True)),
                "licenses": licenses, "interface": "SCSI", "guestOsFeatures": SHARED_FEATURES,
                "diskSizeGb": str(size), "architecture": "X86_64"}],
            "metadata": {"kind": "compute#metadata",
                         "fingerprint": util.fingerprint([items, inst_id]), "items": items},
            "serviceAccounts": service_accounts,
            "selfLink": util.link(path),
            "scheduling": scheduling,
            "cpuPlatform": "Unknown CPU Platform",
            "labels": labels,
            "labelFingerprint": util.fingerprint([labels, inst_id]),
            "startRestricted": False,
            "deletionProtection": bool(body.get("deletionProtection", False)),
            "shieldedInstanceConfig": {"enableSecureBoot": False, "enableVtpm": True,
                                       "enableIntegrityMonitoring": True},
            "shieldedInstanceIntegrityPolicy": {"updateAutoLearnPolicy": True},
            "fingerprint": util.fingerprint([inst_id, 0]),
            "_disk": {"name": params.get("diskName") or body["name"], "id": util.new_id(),
                      "sizeGb": str(size), "type": disk_type, "image": [image_project, image[0]],
                      "family": image[1]},
        }
        if tags:
            inst["tags"]["items"] = tags
        if body.get("hostname"):
            inst["hostname"] = body["hostname"]
        return inst

    # -- instances: state changes ----------------------------------------------------------
    def _get(self, key):
        project, zone, name, inst_id = key
        proj = self.store.projects.get(project)
        inst = proj["instances"].get(zone, {}).get(name) if proj else None
        if inst is None or inst["id"] != inst_id:
            return None
        return inst

    def _guest_view(self, project, snap):
        """What the guest agent sees: the instance plus the project's ``ssh-keys`` (unless the
        instance sets ``block-project-ssh-keys``)."""
        items = {i["key"]: i.get("value", "") for i in snap["metadata"].get("items", [])}
        if str(items.get("block-project-ssh-keys", "")).lower() != "true":
            with self.store.lock:
                proj = self.store.projects.get(project)
                common = proj["metadata"].get("items", []) if proj else []
            snap["_project_ssh_keys"] = "\n".join(
                i.get("value", "") for i in common if i["key"] in ("ssh-keys", "sshKeys"))
        return snap

    def _transition(self, key, from_states, to_state, updates=None, started=False,
                    stopped=False):
        """Move an instance between states; returns a snapshot or None if it is gone."""
        with self.store.lock:
            inst = self._get(key)
            if inst is None or inst["status"] not in from_states:
                return None
            inst["status"] = to_state
            for field, value in (updates or {}).items():
                if field == "natIP":
                    for access in inst["networkInterfaces"][0].get("accessConfigs", []):
                        access["natIP"] = value
                elif field == "networkIP":
                    inst["networkInterfaces"][0]["networkIP"] = value
                else:
                    inst[field] = value
            if started:
                inst["lastStartTimestamp"] = util.timestamp()
                inst["cpuPlatform"] = "Intel Broadwell"
            if stopped:
                inst["lastStopTimestamp"] = util.timestamp()
                inst["cpuPlatform"] = "Unknown CPU Platform"
            self._refingerprint(inst)
            self.store.touch()
            return copy.deepcopy(inst)

    @staticmethod
    def _refingerprint(inst):
        inst["fingerprint"] = util.fingerprint([inst["id"], inst["status"], inst["machineType"],
                                                inst["labels"], inst["metadata"], inst["tags"]])

    def _zone_op(self, req, proj, zone, inst, op_type, job, on_error=None, sync=None):
        op = new_operation(proj["projectId"], "zones/" + zone, op_type, inst["selfLink"],
                           inst["id"], req.user, zone=zone)
        return 200, self.runner.launch(proj["projectId"], "zones/" + zone, op, job,
                                       self.sync if sync is None else sync, on_error)

    def delete_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            if inst.get("deletionProtection"):
                raise ApiError(400, "resourceInUseByAnotherResource", "Invalid resource usage: "
                               "'Resource cannot be deleted if it's protected against "
                               "deletion.'")
            key = (project, zone, name, inst["id"])
            inst["status"] = "STOPPING"
            inst["_deleting"] = True
            self.store.touch()
        latency = self.latency

        def job(j):
            j.sleep(latency)
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.delete(snap)
            with self.store.lock:
                if self._get(key) is not None:
                    del proj["instances"][zone][name]
                    self.store.touch()
        return self._zone_op(req, proj, zone, inst, "delete", job)

    def stop_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "TERMINATED":
                return self._zone_op(req, proj, zone, inst, "stop", lambda j: None, sync=True)
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STOPPING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.stop(snap)
            j.sleep(latency)
            self._transition(key, ("STOPPING",), "TERMINATED", stopped=True)
        return self._zone_op(req, proj, zone, inst, "stop", job)

    def start_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "RUNNING":
                return self._zone_op(req, proj, zone, inst, "start", lambda j: None, sync=True)
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STAGING"
            self.store.touch()
        latency = self.latency

        def job(j):
            j.sleep(latency / 2)
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None or snap["status"] != "STAGING":
                return
            updates = self.backend.start(self._guest_view(project, snap))
            j.sleep(latency / 2)
            self._transition(key, ("STAGING",), "RUNNING", updates, started=True)

        def back_to_terminated(error):
            self._transition(key, ("STAGING",), "TERMINATED")
        return self._zone_op(req, proj, zone, inst, "start", job, back_to_terminated)

    def set_machine_type(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            ref = body.get("machineType")
            if not ref:
                raise ApiError(400, "required", "Required field 'machineType' not specified")
            mt_name = util.last_segment(ref, "machineTypes")
            mt_zone = util.segment(ref, "zones")
            if mt_name is None or catalog.machine_spec(mt_name) is None or \
                    (mt_zone and mt_zone != zone):
                raise invalid("machineType", ref, "Machine type with name '%s' does not exist "
                              "in zone '%s'." % (mt_name, zone))
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            key = (project, zone, name, inst["id"])
            new_link = util.link("projects/%s/zones/%s/machineTypes/%s"
                                 % (project, zone, mt_name))
        latency = self.latency
        region = catalog.ZONES[zone]

        def job(j):
            j.sleep(latency)
            if catalog.machine_spec(mt_name)[0] > catalog.CPU_QUOTA:
                raise OperationFailed("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.  Limit: %.1f in "
                                      "region %s." % (catalog.CPU_QUOTA, region), 403)
            with self.store.lock:
                current = self._get(key)
                if current is None:
                    return
                snap = copy.deepcopy(current)
            snap["machineType"] = new_link
            self.backend.set_machine_type(snap)
            with self.store.lock:
                current = self._get(key)
                if current is not None:
                    current["machineType"] = new_link
                    self._refingerprint(current)
                    self.store.touch()
        return self._zone_op(req, proj, zone, inst, "setMachineType", job)

    def set_labels(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            labels = validate_labels(body.get("labels"), "labels")
            if not util.same_fingerprint(body.get("labelFingerprint"), inst["labelFingerprint"]):
                raise condition_not_met("Labels fingerprint either invalid or resource labels "
                                        "have changed")
            inst["labels"] = labels
            inst["labelFingerprint"] = util.fingerprint([labels, inst["id"], util.etag()])
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setLabels", lambda j: j.sleep(latency))

    def set_tags(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            tags = validate_tags(body.get("items"), "tags.items")
            if not util.same_fingerprint(body.get("fingerprint"), inst["tags"]["fingerprint"]):
                raise condition_not_met("Supplied fingerprint does not match current tags "
                                        "fingerprint.")
            inst["tags"] = {"fingerprint": util.fingerprint([tags, inst["id"], util.etag()])}
            if tags:
                inst["tags"]["items"] = tags
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setTags", lambda j: j.sleep(latency))

    def set_metadata(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            items = validate_metadata_items(body.get("items"), "metadata")
            if not util.same_fingerprint(body.get("fingerprint"), inst["metadata"]["fingerprint"]):
                raise condition_not_met("Supplied fingerprint does not match current metadata "
                                        "fingerprint.")
            inst["metadata"] = {"kind": "compute#metadata", "items": items,
                                "fingerprint": util.fingerprint([items, inst["id"],
                                                                 util.etag()])}
            self._refingerprint(inst)
            self.store.touch()
            key = (project, zone, name, inst["id"])
        latency = self.latency
        backend = self.backend

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is not None and snap["status"] == "RUNNING":
                backend.apply_metadata(self._guest_view(project, snap))
            j.sleep(latency)
        return self._zone_op(req, proj, zone, inst, "setMetadata", job)

    def set_deletion_protection(self, req, project, zone, name):
        value = str(req.query.get("deletionProtection", "true")).lower()
        if value not in ("true", "false"):
            raise invalid("deletionProtection", value, "Must be a boolean.")
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            inst["deletionProtection"] = value == "true"
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setDeletionProtection",
                             lambda j: j.sleep(latency))

    def set_service_account(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            email = body.get("email") or ""
            if email == "default":
                email = "%s-compute@developer.gserviceaccount.com" % proj["number"]
            if email and "@" not in email:
                raise invalid("email", email, "Must be a service account email.")
            scopes = list(body.get("scopes") or [])
            inst["serviceAccounts"] = [{"email": email, "scopes": scopes}] if email else []
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setServiceAccount",
                             lambda j: j.sleep(latency))

    def suspend_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "SUSPENDED":
                return self._zone_op(req, proj, zone, inst, "suspend", lambda j: None, sync=True)
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "SUSPENDING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.suspend(snap)
            j.sleep(latency)
            self._transition(key, ("SUSPENDING",), "SUSPENDED")
        return self._zone_op(req, proj, zone, inst, "suspend", job)

    def resume_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "RUNNING":
                return self._zone_op(req, proj, zone, inst, "resume", lambda j: None, sync=True)
            if inst["status"] != "SUSPENDED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STAGING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.resume(snap)
            j.sleep(latency)
            self._transition(key, ("STAGING",), "RUNNING")
        return self._zone_op(req, proj, zone, inst, "resume", job)

    def reset_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            updates = self.backend.reset(self._guest_view(project, snap))
            j.sleep(latency)
            self._transition(key, ("RUNNING",), "RUNNING", updates, started=True)
        return self._zone_op(req, proj, zone, inst, "reset", job)

    # -- operations ------------------------------------------------------------------------
    def get_operation(self, req, project, name, zone=None):
        scope = "zones/" + zone if zone else "global"
        with self.store.lock:
            self.project(project)
            if zone:
                self.zone(zone)
            op = self.store.find_operation(project, scope, name)
            if op is None:
                raise not_found("projects/%s/%s/operations/%s" % (project, scope, name))
            return 200, dict(op)

    def wait_operation(self, req, project, name, zone=None):
        scope = "zones/" + zone if zone else "global"
        with self.store.lock:
            self.project(project)
            if zone:
                self.zone(zone)
        return 200, self.runner.wait(project, scope, name, timeout=120)

    def list_operations(self, req, project, zone=None):
        scope = "zones/" + zone if zone else "global"
        with self.store.lock:
            self.project(project)
            if zone:
                self.zone(zone)
            items = [dict(op) for op in self.store.projects[project]["operations"]
                     .get(scope, {}).values()]
        page, token = paginate(items, req.query, lambda o: [o["insertTime"], o["name"]])
        return 200, list_body("compute#operationList", "projects/%s/%s/operations"
                              % (project, scope), page, token)

    def delete_operation(self, req, project, name, zone=None):
        scope = "zones/" + zone if zone else "global"
        with self.store.lock:
            self.project(project)
            ops = self.store.projects[project]["operations"].get(scope, {})
            if name not in ops:
                raise not_found("projects/%s/%s/operations/%s" % (project, scope, name))
            del ops[name]
            self.store.touch()
        return 204, None

    # -- requestId idempotency -------------------------------------------------------------
    def idempotent(self, req, project, handler, kwargs):
        """Run a mutating handler once per ``requestId`` (a UUID), else replay its operation."""
        request_id = req.query.get("requestId")
        if not request_id:
            return handler(req, **kwargs)
        try:
            parsed = uuid.UUID(request_id)
        except ValueError:
            parsed = None
        if parsed is None or parsed.int == 0:
            raise invalid("requestId", request_id, "The request id must be a valid UUID with "
                          "the exception that zero UUID is not supported.")
        with self.store.lock:
            proj = self.store.project(project)
            seen = proj["requestIds"].get(request_id) if proj else None
            if seen is not None:
                op = self.store.find_operation(project, seen[0], seen[1])
                if op is not None:
                    return 200, dict(op)
            status, body = handler(req, **kwargs)
            if proj and isinstance(body, dict) and body.get("kind") == "compute#operation":
                scope = "zones/" + body["zone"].rsplit("/", 1)[1] if "zone" in body else "global"
                proj["requestIds"][request_id] = [scope, body["name"]]
                if len(proj["requestIds"]) > 10000:
                    for old in list(proj["requestIds"])[:1000]:
                        del proj["requestIds"][old]
            return status, body
