"""Firewall rules (the four ``default-allow-*`` exist)."""

import re

from . import util
from .common import list_body, paginate, published
from .errors import already_exists, invalid, not_found


class FirewallsMixin:
    """``firewalls``."""

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
            items = [published(fw) for fw in self._firewalls(project).values()]
        page, token = paginate(items, req.query, lambda f: [f["name"]])
        return 200, list_body("compute#firewallList", "projects/%s/global/firewalls" % project,
                              page, token)

    def get_firewall(self, req, project, name):
        with self.store.lock:
            self.project(project)
            fw = self._firewalls(project).get(name)
            if fw is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            return 200, published(fw)

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
