"""Cloud OS Login API v1 (``oslogin.googleapis.com``): login profiles and their SSH keys.

Routes (``/oslogin/v1/...`` on the plain endpoint; ``https://oslogin.googleapis.com/v1/...``
through the HTTPS proxy):

- ``GET users/{user}/loginProfile`` (``projectId``, ``systemId`` accepted);
- ``POST users/{user}:importSshPublicKey`` (body ``SshPublicKey``: ``key``,
  ``expirationTimeUsec``; ``projectId`` and ``regions`` accepted) -> ``{"loginProfile"}``;
- ``POST users/{user}/sshPublicKeys`` (create) -> the ``SshPublicKey``;
- ``GET | DELETE | PATCH users/{user}/sshPublicKeys/{fingerprint}`` (PATCH with ``updateMask``
  ``key``, ``expirationTimeUsec`` or both; none = both).

``{user}`` is the caller's email: another user's profile answers 403 ``PERMISSION_DENIED``
whoever asks (nobody manages another account's profile). A key's fingerprint is the SHA-256
hex digest of its decoded key blob (so the same key with another comment is the same key). The
POSIX account is derived as Google derives it: ``sa_`` + the numeric unique id for a service
account, the email with every character other than a letter or a digit replaced by ``_``
(lower case, at most 32 characters) for a user.

Instances with metadata ``enable-oslogin=TRUE`` (the instance's value wins over the project's)
admit the profiles that have keys and, like ``roles/compute.osAdminLogin``, give them sudo: the
members of the project's policy holding ``roles/owner`` or ``roles/compute.osAdminLogin``.
Their ``ssh-keys`` metadata is ignored then. ``guest_users`` computes that view for the guest
agent of the docker backend; every change of a profile re-syncs the running OS Login instances
(what the guest's NSS module and ``AuthorizedKeysCommand`` would see live).
"""

import base64
import binascii
import copy
import hashlib
import logging
import re
import time
import zlib

from .errors import ApiError

LOG = logging.getLogger("emulator.oslogin")

ADMIN_ROLES = ("roles/owner", "roles/compute.osAdminLogin")
KEY_TYPES = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|"
                       r"sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$")
PATCH_FIELDS = ("key", "expirationTimeUsec")


def _error(code, message):
    status = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}[code]
    return ApiError(code, {400: "badRequest", 403: "forbidden", 404: "notFound"}[code],
                    message, status=status)


def oslogin_enabled(instance_items, project_items):
    """``enable-oslogin`` of the instance, else of the project (``TRUE``/``true`` = on)."""
    for items in (instance_items, project_items):
        for item in items or []:
            if item.get("key") == "enable-oslogin":
                return str(item.get("value", "")).strip().lower() == "true"
    return False


def parse_key(text):
    """``(type, blob, normalised line)`` of an OpenSSH public key, or raises 400."""
    fields = str(text or "").strip().split()
    if len(fields) < 2 or not KEY_TYPES.match(fields[0]):
        raise _error(400, "Invalid SSH public key: expected 'TYPE BASE64 [COMMENT]' in OpenSSH "
                     "format (RFC 4253 section 6.6).")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise _error(400, "Invalid SSH public key: the key data is not base64.") from None
    if blob[4:4 + len(fields[0])] != fields[0].encode():
        raise _error(400, "Invalid SSH public key: the key data does not match its type %s."
                     % fields[0])
    return fields[0], blob, " ".join(fields)


def key_fingerprint(text):
    return hashlib.sha256(parse_key(text)[1]).hexdigest()


def posix_username(email, unique_id=None):
    """Google's POSIX name: ``sa_<uniqueId>`` for service accounts, else the email with
    non-alphanumerics replaced by ``_`` (lower case, at most 32 characters)."""
    if unique_id and email.endswith(".gserviceaccount.com"):
        return "sa_%s" % unique_id
    return re.sub(r"[^a-z0-9]", "_", email.lower())[:32]


def _expired(key, now_usec):
    expiry = key.get("expirationTimeUsec")
    return bool(expiry) and int(expiry) <= now_usec


class OsLogin:
    """The handlers; profiles live in the state (``meta["oslogin"]``: email -> profile)."""

    def __init__(self, store, compute, backend):
        self.store = store
        self.compute = compute
        self.backend = backend

    # -- helpers ---------------------------------------------------------------------------
    def _profiles(self):
        return self.store.meta.setdefault("oslogin", {})

    def _unique_id(self, email):
        for project in self.store.projects.values():
            account = project.get("serviceAccounts", {}).get(email)
            if account:
                return account["uniqueId"]
        # a user (or an account the emulator does not know): a stable 21-digit number
        return str(10 ** 20 + zlib.crc32(email.encode()) * 7919 % (10 ** 20))

    def _caller(self, req, user):
        if user != req.user:
            raise _error(403, "The caller does not have permission")
        return user

    def _profile(self, email, create=False):
        profiles = self._profiles()
        if email not in profiles and create:
            profiles[email] = {"keys": {}}
            self.store.touch()
        return profiles.get(email, {"keys": {}})

    def _login_profile(self, email, project_id=None):
        profile = self._profile(email)
        unique = self._unique_id(email)
        username = posix_username(email, unique)
        uid = str(1000 + int(unique) % 2000000000)
        account = {"primary": True, "username": username, "uid": uid, "gid": uid,
                   "homeDirectory": "/home/%s" % username, "operatingSystemType": "LINUX"}
        if project_id:
            account["accountId"] = project_id
            account["name"] = "users/%s/projects/%s" % (email, project_id)
        body = {"name": unique, "posixAccounts": [account]}
        if profile["keys"]:
            body["sshPublicKeys"] = {fp: self._key_body(email, fp, key)
                                     for fp, key in sorted(profile["keys"].items())}
        return body

    @staticmethod
    def _key_body(email, fp, key):
        body = {"key": key["key"], "fingerprint": fp,
                "name": "users/%s/sshPublicKeys/%s" % (email, fp)}
        if key.get("expirationTimeUsec"):
            body["expirationTimeUsec"] = str(key["expirationTimeUsec"])
        return body

    @staticmethod
    def _expiry(body):
        value = body.get("expirationTimeUsec")
        if value in (None, "", 0, "0"):
            return None
        try:
            return str(int(value))
        except (TypeError, ValueError):
            raise _error(400, "Invalid value at 'ssh_public_key.expiration_time_usec' (TYPE_INT64), "
                         "\"%s\"" % value) from None

    def _key_of(self, email, fp):
        key = self._profile(email)["keys"].get(fp)
        if key is None:
            raise _error(404, "Requested entity was not found.")
        return key

    # -- handlers --------------------------------------------------------------------------
    def get_login_profile(self, req, user):
        with self.store.lock:
            email = self._caller(req, user)
            return 200, self._login_profile(email, req.query.get("projectId"))

    def import_key(self, req, user):
        body = req.body or {}
        with self.store.lock:
            email = self._caller(req, user)
            self._add_key(email, body)
            answer = {"loginProfile": self._login_profile(email, req.query.get("projectId"))}
        self.resync()
        return 200, answer

    def create_key(self, req, user):
        body = req.body or {}
        with self.store.lock:
            email = self._caller(req, user)
            fp = self._add_key(email, body)
            answer = self._key_body(email, fp, self._key_of(email, fp))
        self.resync()
        return 200, answer

    def _add_key(self, email, body):
        if not body.get("key"):
            raise _error(400, "Request contains an invalid argument: the key is required.")
        dummy, dummy2, line = parse_key(body["key"])
        expiry = self._expiry(body)
        fp = key_fingerprint(line)
        keys = self._profile(email, create=True)["keys"]
        entry = {"key": line}
        if expiry:
            entry["expirationTimeUsec"] = expiry
        if keys.get(fp) != entry:
            keys[fp] = entry
            self.store.touch()
        return fp

    def get_key(self, req, user, fingerprint):
        with self.store.lock:
            email = self._caller(req, user)
            return 200, self._key_body(email, fingerprint, self._key_of(email, fingerprint))

    def delete_key(self, req, user, fingerprint):
        with self.store.lock:
            email = self._caller(req, user)
            self._key_of(email, fingerprint)
            del self._profile(email)["keys"][fingerprint]
            self.store.touch()
        self.resync()
        return 200, {}

    def patch_key(self, req, user, fingerprint):
        body = req.body or {}
        mask = [f.strip() for f in (req.query.get("updateMask") or "").split(",") if f.strip()]
        for field in mask:
            if field not in PATCH_FIELDS:
                raise _error(400, "Invalid update mask field '%s': only key and "
                             "expirationTimeUsec can be updated." % field)
        mask = mask or list(PATCH_FIELDS)
        with self.store.lock:
            email = self._caller(req, user)
            key = dict(self._key_of(email, fingerprint))
            if "key" in mask and body.get("key"):
                line = parse_key(body["key"])[2]
                if key_fingerprint(line) != fingerprint:
                    raise _error(400, "The key does not match the fingerprint %s." % fingerprint)
                key["key"] = line
            if "expirationTimeUsec" in mask:
                expiry = self._expiry(body)
                key.pop("expirationTimeUsec", None)
                if expiry:
                    key["expirationTimeUsec"] = expiry
            self._profile(email)["keys"][fingerprint] = key
            self.store.touch()
            answer = self._key_body(email, fingerprint, key)
        self.resync()
        return 200, answer

    # -- the guest's view ------------------------------------------------------------------
    def guest_users(self, project_id, instance_items):
        """``{username: [key lines]}`` for an instance with OS Login on, else ``None``.

        Every profile with an unexpired key whose email holds an admin role in the project."""
        with self.store.lock:
            project = self.store.projects.get(project_id)
            if project is None or not oslogin_enabled(
                    instance_items, project["metadata"].get("items")):
                return None
            admins = set()
            for binding in project.get("policy", {}).get("bindings", []):
                if binding.get("role") in ADMIN_ROLES and not binding.get("condition"):
                    admins.update(m.split(":", 1)[1] for m in binding.get("members", [])
                                  if m.startswith(("user:", "serviceAccount:")))
            now_usec = int(time.time() * 1000000)
            users = {}
            for email, profile in sorted(self._profiles().items()):
                keys = [k["key"] for k in profile["keys"].values() if not _expired(k, now_usec)]
                if keys and email in admins:
                    users[posix_username(email, self._unique_id(email))] = sorted(keys)
            return users

    def resync(self):
        """Refresh the users of every running instance with OS Login on (docker backend)."""
        if not self.backend.asynchronous:
            return
        with self.store.lock:
            running = [(name, copy.deepcopy(inst)) for name, project in self.store.projects.items()
                       for zone in project["instances"].values() for inst in zone.values()
                       if inst["status"] == "RUNNING" and not inst.get("_preloaded")
                       and not inst.get("_deleting")]
        for project, snap in running:
            view = self.compute._guest_view(project, snap)  # pylint: disable=protected-access
            if view.get("_oslogin_users") is None:
                continue
            try:
                self.backend.apply_metadata(view)
            except Exception:  # pylint: disable=broad-except
                LOG.exception("re-syncing the OS Login users of %s failed", snap["name"])
