"""Shared by every Compute resource family: pagination, list bodies, aggregated lists,
validation of labels/metadata/tags, project/zone/region lookups and operation launching."""

import base64
import json
import re

from . import catalog, util
from .errors import ApiError, invalid, not_found
from .filters import compile_filter
from .ops import new_operation
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


def resource_name(body):
    """The ``name`` of a resource to insert, checked as Google does (RFC 1035)."""
    name = body.get("name")
    if not isinstance(name, str) or not util.RFC1035.match(name):
        raise invalid("resource.name", name, "Must be a match of regex '%s'" % util.RFC1035_TEXT)
    return name


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


class ComputeBase:
    """State, lookups and operation helpers every resource family mixin relies on."""

    def __init__(self, store, runner, backend, latency, google_labels=True):
        self.store = store
        self.runner = runner
        self.backend = backend
        self.latency = latency
        self.google_labels = google_labels

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

    def _zone_op(self, req, proj, zone, inst, op_type, job, on_error=None, sync=None):
        op = new_operation(proj["projectId"], "zones/" + zone, op_type, inst["selfLink"],
                           inst["id"], req.user, zone=zone)
        return 200, self.runner.launch(proj["projectId"], "zones/" + zone, op, job,
                                       self.sync if sync is None else sync, on_error)

    @staticmethod
    def _aggregate(kind, field, self_path, page, token, zone_of, scopes=None):
        """An aggregated list body: every scope (``zones/Z`` by default; ``scopes`` lists them
        in order) with its rows of this page, or Google's ``NO_RESULTS_ON_PAGE`` warning."""
        return aggregate_body(kind, field, self_path, page, token,
                              lambda row: "zones/" + zone_of(row) if scopes is None
                              else zone_of(row),
                              scopes or ["zones/" + z for z in catalog.ZONE_ORDER])


def aggregate_body(kind, field, self_path, page, token, scope_of, scopes):
    items = {}
    for scope in scopes:
        rows = [row for row in page if scope_of(row) == scope]
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


def published(resource):
    """What a client sees: no private ``_`` keys and, as Google answers, no empty optional
    fields (``labels: {}``, ``description: ""``, empty ``items`` of ``metadata``, ``tags``,
    ``commonInstanceMetadata``); the fingerprints stay."""
    body = public(resource)
    for key in ("labels", "description"):
        if key in body and body[key] in ({}, "", None):
            del body[key]
    for key in ("metadata", "tags", "commonInstanceMetadata"):
        if isinstance(body.get(key), dict) and not body[key].get("items"):
            body[key].pop("items", None)
    return body
