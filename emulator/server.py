"""The HTTP server: one base URL, every API by path prefix, auth, faults, request log, admin."""

import json
import logging
import os
import random
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .apis import Apis
from .auth import TokenError
from .batch import Batch
from .compute import Compute
from .consistency import COMPUTE, Consistency
from .errors import ApiError, invalid_token, unauthenticated
from .guest_attributes import GuestAttributes
from .iap import Iap
from .ops import Runner
from .raw import NoSuchUrl, RawBody

LOG = logging.getLogger("emulator.server")

P = r"(?P<project>[^/]+)"
Z = r"(?P<zone>[^/]+)"
N = r"(?P<name>[^/]+)"
R = r"/regions/(?P<region>[^/]+)"
C = r"/compute/v1/projects/" + P
# Not writes themselves (a batch's parts are logged one by one, see batch.py).
READ_POSTS = re.compile(r"(/wait|:getIamPolicy|:testIamPermissions|:search)$|^/batch/")
# Query parameters that carry credentials: never written to the request log.
SECRET_PARAMS = ("access_token", "assertion", "client_secret", "code", "id_token", "key",
                 "password", "refresh_token", "token")


def redact_query(query):
    """``query`` with the values of credential parameters replaced by ``REDACTED``."""
    if not query:
        return query
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return urllib.parse.urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMS else v)
                                   for k, v in pairs], safe="/:,*")


class Request:
    """What a handler sees of one HTTP request."""

    def __init__(self, method, path, query, body, user):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.user = user


class Faults:
    """Seeded fault injection bounded by a budget (``None`` = unbounded)."""

    def __init__(self, fault_rate=0.0, lost_rate=0.0, seed=None, budget=None):
        self.lock = threading.Lock()
        self.configure(fault_rate, lost_rate, seed, budget)

    def configure(self, fault_rate=0.0, lost_rate=0.0, seed=None, budget=None):
        for name, rate in (("fault_rate", fault_rate), ("lost_rate", lost_rate)):
            if not 0.0 <= float(rate or 0) <= 1.0:
                raise ValueError("%s must be between 0 and 1" % name)
        with self.lock:
            self.fault_rate = float(fault_rate or 0)
            self.lost_rate = float(lost_rate or 0)
            self.seed = seed
            self.budget = None if budget is None or int(budget) < 0 else int(budget)
            self.rng = random.Random(seed)
            # Lost answers have dice of their own, rolled once per applied write: how many writes
            # lose their answer does not depend on how many reads (or waited-out refusals) came first.
            self.lost_rng = random.Random(None if seed is None else "%s-lost" % seed)
            self.injected = 0
            self.lost = 0

    def before(self):
        """A status code to answer instead of handling the request, or None."""
        with self.lock:
            if self.fault_rate <= 0 or (self.budget is not None and self.budget <= 0):
                return None
            if self.rng.random() >= self.fault_rate:
                return None
            if self.budget is not None:
                self.budget -= 1
            self.injected += 1
            return self.rng.choice((429, 500, 503))

    def lose(self):
        """Whether the answer to an applied write is lost (the client gets 503)."""
        with self.lock:
            if self.lost_rate <= 0 or (self.budget is not None and self.budget <= 0):
                return False
            if self.lost_rng.random() >= self.lost_rate:
                return False
            if self.budget is not None:
                self.budget -= 1
            self.lost += 1
            return True

    def describe(self):
        with self.lock:
            return {"fault_rate": self.fault_rate, "lost_rate": self.lost_rate, "seed": self.seed,
                    "budget_left": self.budget, "injected": self.injected, "lost": self.lost}


FAULT_BODIES = {
    429: ApiError(429, "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit "
                  "'Queries per minute' of service 'compute.googleapis.com'.",
                  domain="usageLimits"),
    500: ApiError(500, "backendError", "Internal error. Please try again or contact Google "
                  "Support. (Code: '5A0E1C2D3F')"),
    503: ApiError(503, "backendError", "The service is currently unavailable."),
}


class RequestLog:
    """``DIR/requests.jsonl`` plus in-memory counters for ``/_emulator/stats``."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.handle = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.reset()

    def reset(self, truncate=False):
        with self.lock:
            self.started = time.time()
            self.total = 0
            self.by_api = {}
            self.by_status = {}
            self.by_method = {}
            self.writes = 0
            self.faulted = 0
            self.tokens = 0
            if truncate:
                self.handle.truncate(0)
                self.handle.seek(0)

    def record(self, entry):
        line = json.dumps(entry, separators=(",", ":"))
        with self.lock:
            self.handle.write(line + "\n")
            self.handle.flush()
            if entry["api"] == "admin":
                return
            self.total += 1
            self.by_api[entry["api"]] = self.by_api.get(entry["api"], 0) + 1
            key = str(entry["status"])
            self.by_status[key] = self.by_status.get(key, 0) + 1
            self.by_method[entry["method"]] = self.by_method.get(entry["method"], 0) + 1
            self.writes += 1 if entry["write"] else 0
            self.faulted += 1 if entry["faulted"] else 0
            self.tokens += 1 if entry["api"] == "oauth2" else 0

    def stats(self):
        with self.lock:
            return {"requests": self.total, "writes": self.writes, "faulted": self.faulted,
                    "token_requests": self.tokens, "by_api": dict(self.by_api),
                    "by_status": dict(self.by_status), "by_method": dict(self.by_method),
                    "since": self.started}

    def close(self):
        with self.lock:
            self.handle.close()


class Emulator:
    """Wires the APIs to routes; ``handle()`` is called by the HTTP handler for each request."""

    def __init__(self, store, auth, backend, latency, faults, log, projects,
                 propagation_delay=0.0, google_labels=True):
        self.store = store
        self.auth = auth
        self.backend = backend
        self.faults = faults
        self.log = log
        self.projects = projects
        self.runner = Runner(store)
        self.consistency = Consistency(store, propagation_delay)
        self.compute = Compute(store, self.runner, backend, latency, google_labels)
        self.apis = Apis(store, latency, compute_sa_hook=self.add_compute_sa,
                         consistency=self.consistency)
        self.guest = GuestAttributes(store, backend, self.consistency)
        self.iap = Iap(store, auth, self.compute, log)
        self.routes = self._routes()

    def add_compute_sa(self, project, fresh=True):
        """The Compute Engine default service account, made when Compute is enabled (and, like
        any new account, not visible to other services at once)."""
        email = "%s-compute@developer.gserviceaccount.com" % project["number"]
        if email not in project["serviceAccounts"]:
            project["serviceAccounts"][email] = Apis.sa_resource(
                project, None, email=email, display_name="Compute Engine default service account")
            if fresh:
                self.consistency.account_created(email)

    def bootstrap(self, names, services=()):
        """Create the configured projects unless the state already has them: active, billing
        linked, the usual APIs enabled but Compute Engine only when in ``services`` (a new
        Google project has it off)."""
        with self.store.lock:
            for name in names:
                if self.store.project(name) is None:
                    project = self.store.new_project(name, ready=True)
                    project["services"] = sorted((set(project["services"]) - {COMPUTE})
                                                 | set(services))
                    account = Apis.sa_resource(project, "openclaw-automation",
                                               display_name="OpenClaw automation")
                    if account["email"] == self.auth.email:
                        project["serviceAccounts"][account["email"]] = account
                    if COMPUTE in project["services"]:
                        self.add_compute_sa(project, fresh=False)

    # -- routing ---------------------------------------------------------------------------
    def _routes(self):
        c, a = self.compute, self.apis
        table = [
            # (method, pattern, api, handler, idempotent-by-requestId)
            ("POST", r"/token", "oauth2", self.token, False),
            ("POST", r"/batch/compute/v1", "batch", Batch(self), False),
            ("POST", r"/oauth2/v4/token", "oauth2", self.token, False),
            ("GET", C, "compute", c.get_project, False),
            ("POST", C + r"/setCommonInstanceMetadata", "compute", c.set_common_metadata, True),
            ("GET", C + r"/zones", "compute", c.list_zones, False),
            ("GET", C + r"/zones/" + Z, "compute", c.get_zone, False),
            ("GET", C + r"/regions", "compute", c.list_regions, False),
            ("GET", C + r"/regions/(?P<region>[^/]+)", "compute", c.get_region, False),
            ("GET", C + r"/regions/(?P<region>[^/]+)/subnetworks/" + N, "compute",
             c.get_subnetwork, False),
            ("GET", C + r"/regions/(?P<region>[^/]+)/subnetworks", "compute",
             c.list_subnetworks, False),
            ("GET", C + r"/aggregated/subnetworks", "compute", c.aggregated_subnetworks, False),
            ("GET", C + r"/aggregated/disks", "compute", c.aggregated_disks, False),
            ("GET", C + r"/aggregated/operations", "compute", c.aggregated_operations, False),
            ("GET", C + R + r"/operations", "compute", c.list_operations, False),
            ("GET", C + R + r"/operations/" + N, "compute", c.get_operation, False),
            ("DELETE", C + R + r"/operations/" + N, "compute", c.delete_operation, False),
            ("POST", C + R + r"/operations/" + N + r"/wait", "compute", c.wait_operation,
             False),
            ("GET", C + r"/zones/" + Z + r"/machineTypes", "compute", c.list_machine_types,
             False),
            ("GET", C + r"/zones/" + Z + r"/machineTypes/" + N, "compute", c.get_machine_type,
             False),
            ("GET", C + r"/aggregated/machineTypes", "compute", c.aggregated_machine_types,
             False),
            ("GET", C + r"/global/images", "compute", c.list_images, False),
            ("GET", C + r"/global/images/family/(?P<family>[^/]+)", "compute",
             c.get_image_family, False),
            ("GET", C + r"/global/images/" + N, "compute", c.get_image, False),
            ("GET", C + r"/zones/" + Z + r"/imageFamilyViews/(?P<family>[^/]+)", "compute",
             c.get_image_family_view, False),
            ("GET", C + r"/global/networks", "compute", c.list_networks, False),
            ("GET", C + r"/global/networks/" + N, "compute", c.get_network, False),
            ("GET", C + r"/global/firewalls", "compute", c.list_firewalls, False),
            ("POST", C + r"/global/firewalls", "compute", c.insert_firewall, True),
            ("GET", C + r"/global/firewalls/" + N, "compute", c.get_firewall, False),
            ("PATCH", C + r"/global/firewalls/" + N, "compute", c.patch_firewall, True),
            ("PUT", C + r"/global/firewalls/" + N, "compute", c.update_firewall, True),
            ("DELETE", C + r"/global/firewalls/" + N, "compute", c.delete_firewall, True),
            ("GET", C + r"/aggregated/routers", "compute", c.aggregated_routers, False),
            ("GET", C + R + r"/routers", "compute", c.list_routers, False),
            ("POST", C + R + r"/routers", "compute", c.insert_router, True),
            ("GET", C + R + r"/routers/" + N, "compute", c.get_router, False),
            ("PATCH", C + R + r"/routers/" + N, "compute", c.patch_router, True),
            ("PUT", C + R + r"/routers/" + N, "compute", c.update_router, True),
            ("DELETE", C + R + r"/routers/" + N, "compute", c.delete_router, True),
            ("GET", C + R + r"/routers/" + N + r"/getRouterStatus", "compute",
             c.get_router_status, False),
            ("GET", C + r"/aggregated/instances", "compute", c.aggregated_instances, False),
            ("GET", C + r"/zones/" + Z + r"/instances", "compute", c.list_instances, False),
            ("POST", C + r"/zones/" + Z + r"/instances", "compute", c.insert_instance, True),
            ("GET", C + r"/zones/" + Z + r"/instances/" + N, "compute", c.get_instance, False),
            ("DELETE", C + r"/zones/" + Z + r"/instances/" + N, "compute", c.delete_instance,
             True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/start", "compute",
             c.start_instance, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/stop", "compute",
             c.stop_instance, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setMachineType", "compute",
             c.set_machine_type, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setLabels", "compute",
             c.set_labels, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setMetadata", "compute",
             c.set_metadata, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setTags", "compute",
             c.set_tags, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setDeletionProtection",
             "compute", c.set_deletion_protection, True),
            ("PATCH", C + r"/zones/" + Z + r"/instances/" + N + r"/updateShieldedInstanceConfig",
             "compute", c.update_shielded_config, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/setServiceAccount",
             "compute", c.set_service_account, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/suspend", "compute",
             c.suspend_instance, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/resume", "compute",
             c.resume_instance, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/reset", "compute",
             c.reset_instance, True),
            ("GET", C + r"/zones/" + Z + r"/instances/" + N + r"/getGuestAttributes",
             "compute", self.guest.get, False),
            ("GET", C + r"/zones/" + Z + r"/disks", "compute", c.list_disks, False),
            ("POST", C + r"/zones/" + Z + r"/disks", "compute", c.insert_disk, True),
            ("GET", C + r"/zones/" + Z + r"/disks/" + N, "compute", c.get_disk, False),
            ("DELETE", C + r"/zones/" + Z + r"/disks/" + N, "compute", c.delete_disk, True),
            ("POST", C + r"/zones/" + Z + r"/disks/" + N + r"/resize", "compute", c.resize_disk,
             True),
            ("POST", C + r"/zones/" + Z + r"/disks/" + N + r"/setLabels", "compute",
             c.set_disk_labels, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/attachDisk", "compute",
             c.attach_disk, True),
            ("POST", C + r"/zones/" + Z + r"/instances/" + N + r"/detachDisk", "compute",
             c.detach_disk, True),
            # snapshots.py, resource_policies.py
            ("POST", C + r"/zones/" + Z + r"/disks/" + N + r"/createSnapshot", "compute",
             c.create_disk_snapshot, True),
            ("POST", C + r"/zones/" + Z + r"/disks/" + N + r"/addResourcePolicies", "compute",
             c.add_disk_resource_policies, True),
            ("POST", C + r"/zones/" + Z + r"/disks/" + N + r"/removeResourcePolicies",
             "compute", c.remove_disk_resource_policies, True),
            ("GET", C + r"/global/snapshots", "compute", c.list_snapshots, False),
            ("POST", C + r"/global/snapshots", "compute", c.insert_snapshot, True),
            ("GET", C + r"/global/snapshots/" + N, "compute", c.get_snapshot, False),
            ("DELETE", C + r"/global/snapshots/" + N, "compute", c.delete_snapshot, True),
            ("POST", C + r"/global/snapshots/" + N + r"/setLabels", "compute",
             c.set_snapshot_labels, True),
            ("GET", C + R + r"/resourcePolicies", "compute", c.list_resource_policies, False),
            ("POST", C + R + r"/resourcePolicies", "compute", c.insert_resource_policy, True),
            ("GET", C + R + r"/resourcePolicies/" + N, "compute", c.get_resource_policy, False),
            ("PATCH", C + R + r"/resourcePolicies/" + N, "compute", c.patch_resource_policy,
             True),
            ("DELETE", C + R + r"/resourcePolicies/" + N, "compute", c.delete_resource_policy,
             True),
            ("GET", C + r"/aggregated/resourcePolicies", "compute",
             c.aggregated_resource_policies, False),
            ("GET", C + r"/zones/" + Z + r"/operations", "compute", c.list_operations, False),
            ("GET", C + r"/zones/" + Z + r"/operations/" + N, "compute", c.get_operation, False),
            ("DELETE", C + r"/zones/" + Z + r"/operations/" + N, "compute", c.delete_operation,
             False),
            ("POST", C + r"/zones/" + Z + r"/operations/" + N + r"/wait", "compute",
             c.wait_operation, False),
            ("GET", C + r"/global/operations", "compute", c.list_operations, False),
            ("GET", C + r"/global/operations/" + N, "compute", c.get_operation, False),
            ("DELETE", C + r"/global/operations/" + N, "compute", c.delete_operation, False),
            ("POST", C + r"/global/operations/" + N + r"/wait", "compute", c.wait_operation,
             False),
            # Service Usage
            ("GET", r"/serviceusage/v1/projects/" + P + r"/services", "serviceusage",
             a.list_services, False),
            ("POST", r"/serviceusage/v1/projects/" + P + r"/services:batchEnable",
             "serviceusage", a.batch_enable_services, False),
            ("GET", r"/serviceusage/v1/projects/" + P + r"/services/(?P<service>[^/:]+)",
             "serviceusage", a.get_service, False),
            ("POST", r"/serviceusage/v1/projects/" + P + r"/services/(?P<service>[^/:]+):enable",
             "serviceusage", a.enable_service, False),
            ("POST", r"/serviceusage/v1/projects/" + P +
             r"/services/(?P<service>[^/:]+):disable", "serviceusage", a.disable_service, False),
            ("GET", r"/serviceusage/v1/operations/(?P<name>.+)", "serviceusage",
             lambda req, name: a.get_lro(req, "serviceusage", name), False),
            # IAM
            ("GET", r"/iam/v1/projects/" + P + r"/serviceAccounts", "iam",
             a.list_service_accounts, False),
            ("POST", r"/iam/v1/projects/" + P + r"/serviceAccounts", "iam",
             a.create_service_account, False),
            ("GET", r"/iam/v1/projects/" + P + r"/serviceAccounts/" + N, "iam",
             a.get_service_account, False),
            ("PATCH", r"/iam/v1/projects/" + P + r"/serviceAccounts/" + N, "iam",
             a.patch_service_account, False),
            ("DELETE", r"/iam/v1/projects/" + P + r"/serviceAccounts/" + N, "iam",
             a.delete_service_account, False),
            # Resource Manager
            ("GET", r"/cloudresourcemanager/v3/projects:search", "cloudresourcemanager",
             a.search_projects, False),
            ("GET", r"/cloudresourcemanager/v3/projects", "cloudresourcemanager",
             a.search_projects, False),
            ("POST", r"/cloudresourcemanager/v3/projects", "cloudresourcemanager",
             lambda req: a.create_project(req, "v3"), False),
            ("GET", r"/cloudresourcemanager/v3/projects/" + P, "cloudresourcemanager",
             a.get_project_v3, False),
            ("DELETE", r"/cloudresourcemanager/v3/projects/" + P, "cloudresourcemanager",
             a.delete_project, False),
            ("PATCH", r"/cloudresourcemanager/v3/projects/" + P, "cloudresourcemanager",
             a.update_project, False),
            ("POST", r"/cloudresourcemanager/v3/projects/(?P<project>[^/:]+):undelete",
             "cloudresourcemanager", a.undelete_project, False),
            ("POST", r"/cloudresourcemanager/v[13]/projects/(?P<project>[^/:]+):getIamPolicy",
             "cloudresourcemanager", a.get_iam_policy, False),
            ("POST", r"/cloudresourcemanager/v[13]/projects/(?P<project>[^/:]+):setIamPolicy",
             "cloudresourcemanager", a.set_iam_policy, False),
            ("GET", r"/cloudresourcemanager/v3/operations/(?P<name>.+)", "cloudresourcemanager",
             lambda req, name: a.get_lro(req, "crm", name), False),
            ("GET", r"/cloudresourcemanager/v1/projects", "cloudresourcemanager",
             a.list_projects_v1, False),
            ("POST", r"/cloudresourcemanager/v1/projects", "cloudresourcemanager",
             lambda req: a.create_project(req, "v1"), False),
            ("GET", r"/cloudresourcemanager/v1/projects/" + P, "cloudresourcemanager",
             a.get_project_v1, False),
            ("GET", r"/cloudresourcemanager/v1/operations/(?P<name>.+)", "cloudresourcemanager",
             lambda req, name: a.get_lro(req, "crm", name), False),
            # Cloud Billing
            ("GET", r"/cloudbilling/v1/projects/" + P + r"/billingInfo", "cloudbilling",
             a.get_billing, False),
            ("PUT", r"/cloudbilling/v1/projects/" + P + r"/billingInfo", "cloudbilling",
             a.update_billing, False),
            ("GET", r"/cloudbilling/v1/billingAccounts", "cloudbilling",
             a.list_billing_accounts, False),
            ("GET", r"/cloudbilling/v1/billingAccounts/(?P<account>[^/]+)", "cloudbilling",
             a.get_billing_account, False),
            ("GET", r"/cloudbilling/v1/billingAccounts/(?P<account>[^/]+)/projects",
             "cloudbilling", a.list_billing_projects, False),
            # IAM credentials: google-auth's background lookup after each refresh
            ("GET", r"(?:/iamcredentials)?/v1/projects/-/serviceAccounts/(?P<email>[^/]+)"
             r"/allowedLocations", "iamcredentials", a.allowed_locations, False),
        ]
        return [(m, re.compile("^" + p + "$"), api, h, idem) for m, p, api, h, idem in table]

    def match(self, method, path):
        """(api, handler, kwargs, idempotent) for a request, or raises ApiError 404/405."""
        seen_path = False
        for verb, pattern, api, handler, idem in self.routes:
            found = pattern.match(path)
            if found:
                seen_path = True
                if verb == method:
                    return api, handler, found.groupdict(), idem
        raise NoSuchUrl(405 if seen_path else 404, method, path)  # Google's HTML page

    @staticmethod
    def api_of(path):
        if path.startswith("/_emulator"):
            return "admin"
        if path.startswith("/compute/"):
            return "compute"
        if path.startswith("/iap/"):
            return "iap"
        for api in ("serviceusage", "iam", "cloudresourcemanager", "cloudbilling",
                    "iamcredentials"):
            if path.startswith("/%s/" % api):
                return api
        if path in ("/token", "/oauth2/v4/token"):
            return "oauth2"
        return "other"

    # -- request handling ------------------------------------------------------------------
    def token(self, req):
        try:
            return 200, self.auth.exchange(req.body or {})
        except TokenError as exc:
            return exc.code, {"error": exc.error, "error_description": exc.description}

    def handle(self, method, raw_path, headers, raw_body):
        """Returns (status, body dict or None, faulted) and never raises."""
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        if len(path) > 1:
            path = path.rstrip("/")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query,
                                                           keep_blank_values=True).items()}
        api = self.api_of(path)
        try:
            if api == "admin":
                return self.admin(method, path, raw_body) + (None,)
            kind, handler, kwargs, idem = self.match(method, path)
            body = None
            if raw_body:
                if kind == "oauth2":
                    body = {k: v[0] for k, v in urllib.parse.parse_qs(
                        raw_body.decode("utf-8", "replace")).items()}
                elif kind == "batch":  # multipart/mixed, see batch.py
                    body = (headers.get("Content-Type"), raw_body, headers)
                else:
                    try:
                        body = json.loads(raw_body)
                    except ValueError:
                        raise ApiError(400, "parseError", "Parse Error") from None
            user = None
            if kind not in ("oauth2", "iamcredentials"):
                try:
                    principal = self.auth.principal(headers.get("Authorization"))
                except LookupError:
                    raise unauthenticated() from None
                if principal is None:
                    raise invalid_token()
                user = principal[1]
            faulted = None
            if kind not in ("oauth2", "iamcredentials"):
                code = self.faults.before()
                if code:
                    return code, FAULT_BODIES[code].body(), str(code)
            if kind == "compute":
                self.consistency.check_compute(method, path, query, body, user)
            req = Request(method, path, query, body, user)
            if idem and kind == "compute":
                status, answer = self.compute.idempotent(req, kwargs["project"], handler, kwargs)
            else:
                status, answer = handler(req, **kwargs)
            if status < 300 and self.is_write(method, path) and kind != "oauth2" and \
                    self.faults.lose():
                return 503, FAULT_BODIES[503].body(), "lost"
            return status, answer, faulted
        except ApiError as exc:
            return exc.code, exc.body(), None
        except NoSuchUrl as exc:
            return exc.code, exc.page(), None
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception("unhandled error for %s %s", method, path)
            return 500, ApiError(500, "backendError", "Internal error: %s" % exc).body(), None

    @staticmethod
    def is_write(method, path):
        if method == "GET":
            return False
        if method == "POST" and (READ_POSTS.search(path)
                                 or path in ("/token", "/oauth2/v4/token")):
            return False
        return True

    # -- admin API -------------------------------------------------------------------------
    def admin(self, method, path, raw_body):
        try:
            body = json.loads(raw_body) if raw_body else {}
        except ValueError:
            return 400, {"error": "body must be JSON"}
        action = path[len("/_emulator/"):] if path.startswith("/_emulator/") else ""
        if method == "GET" and action == "stats":
            return 200, self.stats()
        if method == "GET" and action == "health":
            return 200, {"ok": True, "backend": self.backend.name}
        if method == "POST" and action == "reset":
            self.log.reset(truncate=bool(body.get("log", True)))
            self.iap.reset()
            with self.faults.lock:
                self.faults.injected = 0
                self.faults.lost = 0
            return 200, self.stats()
        if method == "POST" and action == "faults":
            try:
                self.faults.configure(body.get("fault_rate", 0), body.get("lost_rate", 0),
                                      body.get("seed"), body.get("budget"))
            except (TypeError, ValueError) as exc:
                return 400, {"error": str(exc)}
            return 200, self.faults.describe()
        if method == "GET" and action == "iap":
            return 200, self.iap.describe()
        if action in ("consistency", "iam/concurrent-change"):
            return self.admin_consistency(method, action, body)
        if method == "POST" and action == "resource-policies/run":
            return self.admin_run_schedule(body)
        if method == "POST" and action == "preload":
            try:
                return 200, self.preload(body)
            except ApiError as exc:
                return exc.code, exc.body()
            except (TypeError, ValueError, KeyError) as exc:
                return 400, {"error": "bad preload request: %s" % exc}
        return 404, {"error": "unknown admin call %s %s" % (method, path)}

    def admin_run_schedule(self, body):
        """``POST resource-policies/run``: a snapshot schedule runs now (snapshots.py)."""
        try:
            return 200, self.compute.run_snapshot_schedule(
                body.get("project") or self.projects[0], body["region"], body["name"],
                body.get("elapsed_days", 0))
        except ApiError as exc:
            return exc.code, exc.body()
        except (TypeError, ValueError, KeyError) as exc:
            return 400, {"error": "bad resource-policies/run request: %s" % exc}

    def admin_consistency(self, method, action, body):
        """``GET|POST consistency`` (``{"propagation_delay"}``) and ``POST iam/concurrent-change``
        (``{"count", "project"}``: the next COUNT setIamPolicy calls see a concurrent change)."""
        try:
            if method == "POST" and action == "consistency":
                if "propagation_delay" in body:
                    self.consistency.configure(body["propagation_delay"])
            elif method == "POST":
                project = body.get("project")
                if project is not None and self.store.project(project) is None:
                    return 404, {"error": "unknown project %s" % project}
                self.consistency.disturb_iam(body.get("count", 1), project)
            elif action != "consistency":
                return 405, {"error": "use POST"}
        except (TypeError, ValueError) as exc:
            return 400, {"error": str(exc)}
        return 200, self.consistency.describe()

    def stats(self):
        data = self.log.stats()
        data["faults"] = self.faults.describe()
        data["consistency"] = self.consistency.describe()
        with self.store.lock:
            data["instances"] = sum(len(z) for p in self.store.projects.values()
                                    for z in p["instances"].values())
            data["operations_running"] = sum(
                1 for p in self.store.projects.values() for ops in p["operations"].values()
                for op in ops.values() if op["status"] != "DONE")
        data["backend"] = self.backend.name
        data["iap"] = {k: v for k, v in self.iap.describe().items() if k != "active"}
        return data

    def preload(self, body):
        """Bulk-create RUNNING memory instances (no containers, no operations)."""
        project = body.get("project") or self.projects[0]
        zones = body.get("zones") or ["us-central1-a"]
        count = int(body.get("count", 0))
        labels = dict(body.get("labels") or {})
        every = int(body.get("gateway_every") or 0)
        prefix = body.get("prefix") or "bench"
        machine_type = body.get("machine_type") or "e2-small"
        for zone in zones:
            self.compute.zone(zone)
        created = 0
        with self.store.lock:
            proj = self.compute.project(project)
            start = sum(len(z) for z in proj["instances"].values())
            for index in range(count):
                number = start + index + 1
                zone = zones[index % len(zones)]
                name = "%s-%05d" % (prefix, number)
                if name in proj["instances"].get(zone, {}):
                    continue
                inst_labels = dict(labels)
                if every and number % every == 0:
                    inst_labels["openclaw-role"] = "gateway"
                inst = self.compute.build_instance(proj, zone, {
                    "name": name, "machineType": "zones/%s/machineTypes/%s" % (zone, machine_type),
                    "disks": [{"boot": True, "initializeParams": {
                        "sourceImage": "projects/debian-cloud/global/images/family/debian-12",
                        "diskSizeGb": "20"}}],
                    "networkInterfaces": [{"accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}],
                    "labels": inst_labels})
                inst["status"] = "RUNNING"
                inst["cpuPlatform"] = "Intel Broadwell"
                inst["_preloaded"] = True
                proj["instances"].setdefault(zone, {})[name] = inst
                created += 1
            self.store.touch()
        return {"created": created, "project": project,
                "gateways": sum(1 for i in range(count) if every and (start + i + 1) % every == 0)}


class Handler(BaseHTTPRequestHandler):
    """Thin HTTP layer: read, call ``Emulator.handle``, answer JSON, log one line."""

    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug("%s - %s", self.address_string(), format % args)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self):
        if self.path.startswith("/iap/v4/") and self.server.emulator.iap.wants(self):
            self.server.emulator.iap.serve(self)  # IAP TCP forwarding's WebSocket relay
            return
        started = time.time()
        raw = self._read_body()
        emulator = self.server.emulator
        status, body, faulted = emulator.handle(self.command, self.path, self.headers, raw)
        content_type = "application/json; charset=UTF-8"
        if isinstance(body, RawBody):
            content_type, data = body.content_type, body.data
        else:
            data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        # Logged before answering: a client that got its answer finds its line in the log.
        emulator.log.record({
            "ts": round(started, 6), "method": self.command, "path": path,
            "query": redact_query(parsed.query), "status": status, "api": emulator.api_of(path),
            "write": emulator.is_write(self.command, path) and status != 405,
            "faulted": faulted, "ms": round((time.time() - started) * 1000, 2)})
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Vary", "Origin, X-Origin, Referer")
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def write_ready_file(state_dir, info):
    path = os.path.join(state_dir, "emulator.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
    os.replace(tmp, path)
    return path
