"""``instances.getGuestAttributes``: the SSH host keys Google's guest agent publishes.

With metadata ``enable-guest-attributes=TRUE`` (instance, else project), the guest agent of a
booted VM writes each SSH host key under the ``hostkeys/`` namespace: key = the key type
(``ssh-ed25519``, ``ecdsa-sha2-nistp256``, ``ssh-rsa``), value = the base64 blob of the public
key (without the type). ``gcloud compute ssh`` reads them to fill ``known_hosts``.

The docker backend serves each container's real ``/etc/ssh/ssh_host_*_key.pub``; the memory
backend serves keys generated once per instance (kept in the state). Keys appear
``--propagation-delay`` seconds after the instance became RUNNING (the agent has to start).
Nothing published (attributes not enabled, not running yet, agent not started, unknown path)
answers Google's 404 "The resource 'PATH' of type 'Guest Attribute' was not found.".
"""

import base64
import copy
import re
import threading
import time
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import catalog, util
from .errors import ApiError, invalid, not_found

NAMESPACE = "hostkeys"
QUERY_PATH = re.compile(r"^([\w\-]+/[\w\-]*)?$")
KEY_TYPES = ("ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa")


def attributes_enabled(instance_items, project_items):
    """Instance metadata first, then project metadata, as the guest agent and gcloud read it."""
    for items in (instance_items, project_items):
        for item in items or []:
            if item.get("key") == "enable-guest-attributes":
                return str(item.get("value", "")).strip().lower() == "true"
    return False


def openssh_keys(lines):
    """``{type: base64 blob}`` from ``TYPE BLOB [comment]`` lines (``ssh_host_*_key.pub``)."""
    keys = {}
    for line in lines.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in KEY_TYPES:
            try:
                base64.b64decode(fields[1], validate=True)
            except ValueError:
                continue
            keys[fields[0]] = fields[1]
    return keys


def generate_keys():
    """A fresh set of host keys, as sshd makes them on first boot."""
    public = serialization.PublicFormat.OpenSSH
    raw = serialization.Encoding.OpenSSH
    lines = [ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(raw, public),
             ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(raw, public),
             rsa.generate_private_key(65537, 3072).public_key().public_bytes(raw, public)]
    return openssh_keys(b"\n".join(lines).decode())


def _started(inst):
    text = inst.get("lastStartTimestamp")
    if not text:
        return 0.0          # preloaded instances: booted long ago
    try:
        return datetime.strptime(text[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=util.PACIFIC).timestamp()
    except ValueError:
        return 0.0


class GuestAttributes:
    """The handler; keys come from ``backend.host_keys(inst)`` or are generated."""

    def __init__(self, store, backend, consistency):
        self.store = store
        self.backend = backend
        self.consistency = consistency
        self._cache = {}        # instance id -> keys read from the backend
        self._lock = threading.Lock()

    def _keys(self, key):
        """The instance's host keys, or {} when they cannot be read yet."""
        project, zone, name = key
        with self.store.lock:
            inst = self.store.projects[project]["instances"].get(zone, {}).get(name)
            if inst is None:
                return {}
            if inst.get("_hostkeys"):
                return dict(inst["_hostkeys"])
            snap = copy.deepcopy(inst)
        with self._lock:
            if snap["id"] in self._cache:
                return dict(self._cache[snap["id"]])
        reader = getattr(self.backend, "host_keys", None)
        keys = reader(snap) if reader and not snap.get("_preloaded") else None
        if keys is None:            # memory backend: made once, kept in the state
            keys = generate_keys()
            with self.store.lock:
                inst = self.store.projects[project]["instances"].get(zone, {}).get(name)
                if inst is not None and inst["id"] == snap["id"]:
                    keys = inst.setdefault("_hostkeys", keys)
                    self.store.touch()
        elif keys:
            with self._lock:
                self._cache[snap["id"]] = dict(keys)
        return dict(keys)

    def get(self, req, project, zone, name):
        query_path = req.query.get("queryPath", "")
        variable_key = req.query.get("variableKey", "")
        if variable_key and not re.match(r"^[\w\-]+/[\w\-]+$", variable_key):
            raise invalid("variableKey", variable_key, "Must be of the form <namespace>/<key>.")
        if not variable_key and not QUERY_PATH.match(query_path):
            raise invalid("queryPath", query_path,
                          "Must be empty or of the form <namespace>/ or <namespace>/<key>.")
        with self.store.lock:
            proj = self.store.project(project)
            if proj is None or proj["state"] != "ACTIVE" or proj["projectId"] != project:
                raise not_found("projects/%s" % project)
            if zone not in catalog.ZONES:
                raise invalid("zone", zone, "Unknown zone.")
            path = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
            inst = proj["instances"].get(zone, {}).get(name)
            if inst is None:
                raise not_found(path)
            enabled = attributes_enabled(inst["metadata"].get("items"),
                                         proj["metadata"].get("items"))
            running = inst["status"] == "RUNNING" and not inst.get("_deleting")
            started = _started(inst)
        items = []
        if enabled and running and time.time() - started >= self.consistency.delay:
            items = [{"namespace": NAMESPACE, "key": k, "value": v}
                     for k, v in sorted(self._keys((project, zone, name)).items())]
        wanted = variable_key or query_path
        link = util.link(path + "/guestAttributes/" + wanted)
        missing = ApiError(404, "notFound", "The resource '%s' of type 'Guest Attribute' was "
                           "not found." % wanted)
        if variable_key:
            found = [i for i in items if "%s/%s" % (i["namespace"], i["key"]) == variable_key]
            if not found:
                raise missing
            return 200, {"kind": "compute#guestAttributes", "variableKey": variable_key,
                         "variableValue": found[0]["value"], "selfLink": link}
        namespace, dummy, key = query_path.partition("/")
        found = [i for i in items if not namespace or (
            i["namespace"] == namespace and (not key or i["key"] == key))]
        if not found:
            raise missing
        return 200, {"kind": "compute#guestAttributes", "queryPath": query_path,
                     "queryValue": {"items": found}, "selfLink": link}
