"""The emulator's state: projects and everything in them, persisted to ``DIR/state.json``."""

import copy
import json
import logging
import os
import threading
import time

from . import util

LOG = logging.getLogger("emulator.state")

DEFAULT_PROJECT = "openclaw-demo"
BILLING_ACCOUNT = "012345-6789AB-CDEF01"
DEFAULT_SERVICES = ["bigquery.googleapis.com", "cloudapis.googleapis.com",
                    "logging.googleapis.com", "monitoring.googleapis.com",
                    "servicemanagement.googleapis.com", "serviceusage.googleapis.com",
                    "storage.googleapis.com"]
READY_SERVICES = DEFAULT_SERVICES + ["compute.googleapis.com", "iam.googleapis.com",
                                     "iamcredentials.googleapis.com",
                                     "cloudresourcemanager.googleapis.com",
                                     "cloudbilling.googleapis.com", "oslogin.googleapis.com"]


def public(resource):
    """A deep copy without the emulator's private ``_`` keys."""
    if isinstance(resource, dict):
        return {k: public(v) for k, v in resource.items() if not k.startswith("_")}
    if isinstance(resource, list):
        return [public(v) for v in resource]
    return resource


class Store:
    """All mutable state behind one re-entrant lock; ``changed`` is notified on every finish."""

    def __init__(self, state_dir, owner_email):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "state.json")
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.owner_email = owner_email
        self.projects = {}
        self.lro = {}            # name -> google.longrunning.Operation (crm, serviceusage)
        self.meta = {"next_ip": {}, "loopback": {}}
        self._dirty = False
        self._stop = threading.Event()
        self._saver = None

    # -- projects ------------------------------------------------------------------------
    def new_project(self, project_id, display_name=None, parent=None, labels=None, ready=False):
        now = util.zulu()
        project = {
            "projectId": project_id,
            "number": util.new_number(),
            "displayName": display_name or project_id,
            "labels": labels or {},
            "parent": parent,
            "state": "ACTIVE",
            "createTime": now,
            "updateTime": now,
            "etag": util.etag(),
            "billingAccount": BILLING_ACCOUNT if ready else "",
            "services": sorted(READY_SERVICES if ready else DEFAULT_SERVICES),
            "policy": {"version": 1, "etag": util.etag(), "bindings": [
                {"role": "roles/owner", "members": sorted(
                    ["user:owner@openclaw.example", "serviceAccount:" + self.owner_email]
                    if ready else ["user:owner@openclaw.example"])}]},
            "serviceAccounts": {},
            "instances": {},     # zone -> name -> instance
            "firewalls": {},
            "operations": {},    # "zones/Z" or "global" -> name -> operation
            "requestIds": {},
            "metadata": {"kind": "compute#metadata", "items": []},
            "computeId": util.new_id(),
        }
        project["metadata"]["fingerprint"] = util.fingerprint([])
        with self.lock:
            self.projects[project_id] = project
            self.touch()
        return project

    def project(self, ref):
        """A project by id or number, or None."""
        with self.lock:
            if ref in self.projects:
                return self.projects[ref]
            for project in self.projects.values():
                if project["number"] == ref:
                    return project
        return None

    # -- operations ----------------------------------------------------------------------
    def add_operation(self, project, scope, op):
        ops = self.projects[project]["operations"].setdefault(scope, {})
        ops[op["name"]] = op
        self.touch()

    def find_operation(self, project, scope, name):
        proj = self.projects.get(project)
        if proj is None:
            return None
        return proj["operations"].get(scope, {}).get(name)

    # -- persistence ---------------------------------------------------------------------
    def touch(self):
        """Mark the state dirty and wake operation waiters."""
        self._dirty = True
        self.changed.notify_all()

    def load(self):
        if not os.path.exists(self.path):
            return False
        with open(self.path, encoding="utf-8") as handle:
            data = json.load(handle)
        self.projects = data["projects"]
        self.lro = data.get("lro", {})
        self.meta = data.get("meta", self.meta)
        return True

    def save(self):
        with self.lock:
            if not self._dirty:
                return
            data = json.dumps({"projects": self.projects, "lro": self.lro, "meta": self.meta})
            self._dirty = False
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(tmp, self.path)

    def start_saver(self, interval=1.0):
        def loop():
            while not self._stop.wait(interval):
                try:
                    self.save()
                except Exception:  # pylint: disable=broad-except
                    LOG.exception("saving state failed")
        self._saver = threading.Thread(target=loop, name="state-saver", daemon=True)
        self._saver.start()

    def close(self):
        self._stop.set()
        self.save()

    def snapshot(self, resource):
        with self.lock:
            return copy.deepcopy(resource)

    def clock(self):
        return time.time()
