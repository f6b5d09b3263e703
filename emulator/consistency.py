"""Eventual consistency: what Google gets wrong on a first run, on purpose.

Google's control planes are eventually consistent, and the emulator answers like them for
``delay`` seconds (``--propagation-delay``, 0 = strongly consistent):

- a service account just created is not yet known to Resource Manager (``setIamPolicy``
  naming it answers 400 "Service account EMAIL does not exist.") nor to Compute Engine
  (``instances.insert``/``setServiceAccount`` naming it answer 400 "The user does not have
  access to service account ..."); an account that does not exist at all fails the same way,
  for ever;
- the Compute Engine API just enabled still answers 403 ``SERVICE_DISABLED`` (the API must
  propagate to Compute's front ends);
- a mutation of an instance while another operation on it is still running answers 400
  ``resourceNotReady``.

Independent of the delay: ``setIamPolicy`` calls may be told (admin API) to see a concurrent
policy change, so that the etag moves under the caller and the read-modify-write must retry.
"""

import re
import threading
import time

from .errors import ApiError, not_ready

COMPUTE = "compute.googleapis.com"
SA_EMAIL = re.compile(r"^[^@]+@([a-z][-a-z0-9]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$")
COMPUTE_SA = re.compile(r"^(\d+)-compute@developer\.gserviceaccount\.com$")
INSTANCE_PATH = re.compile(r"^/compute/v1/projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)/"
                           r"instances(?:/(?P<name>[^/]+)(?:/(?P<verb>[^/]+))?)?$")
# Instance methods that change nothing (they never wait for other operations).
READ_VERBS = ("getGuestAttributes", "getSerialPortOutput", "getScreenshot",
              "getEffectiveFirewalls", "getShieldedInstanceIdentity", "getIamPolicy",
              "testIamPermissions")


def _console_url(number):
    return ("https://console.developers.google.com/apis/api/compute.googleapis.com/overview"
            "?project=%s" % number)


def service_disabled(project):
    """Google's 403 for a Compute call on a project without (or not yet with) the API."""
    number = project["number"]
    message = ("Compute Engine API has not been used in project %s before or it is disabled. "
               "Enable it by visiting %s then retry. If you enabled this API recently, wait a "
               "few minutes for the action to propagate to our systems and retry."
               % (number, _console_url(number)))
    error = ApiError(403, "accessNotConfigured", message, status="PERMISSION_DENIED",
                     domain="usageLimits",
                     extra={"extendedHelp": "https://console.developers.google.com"})
    error.details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
         "domain": "googleapis.com",
         "metadata": {"service": COMPUTE, "consumer": "projects/%s" % number,
                      "containerInfo": number, "serviceTitle": "Compute Engine API",
                      "activationUrl": _console_url(number)}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Google developers console API activation",
             "url": _console_url(number)}]},
    ]
    return error


def sa_does_not_exist(email):
    """Resource Manager's answer to a policy naming an unknown service account."""
    return ApiError(400, "badRequest", "Service account %s does not exist." % email,
                    status="INVALID_ARGUMENT")


def no_access_to_sa(field, email, user):
    """Compute Engine's answer to an instance naming an unknown service account."""
    why = ("The user does not have access to service account '%s'.  User: '%s'.  Ask a project "
           "owner to grant you the iam.serviceAccountUser role on the service account"
           % (email, user or "unknown"))
    return ApiError(400, "invalid", "Invalid value for field '%s': '%s'. %s" % (field, email, why))


class Consistency:
    """Remembers when things were created or enabled, and answers like Google meanwhile."""

    def __init__(self, store, delay=4.0):
        self.store = store
        self.lock = threading.Lock()
        self.delay = 0.0
        self.configure(delay)
        self.created = {}       # service-account email -> time it was created
        self.enabled = {}       # (project id, service) -> time it was enabled
        self.concurrent = {}    # project id or "*" -> setIamPolicy calls left to disturb

    def configure(self, delay):
        delay = float(delay)
        if delay < 0:
            raise ValueError("propagation_delay must be >= 0")
        with self.lock:
            self.delay = delay

    def describe(self):
        with self.lock:
            return {"propagation_delay": self.delay,
                    "concurrent_iam_changes": dict(self.concurrent)}

    def _fresh(self, since):
        return since is not None and time.time() - since < self.delay

    # -- records -------------------------------------------------------------------------
    def account_created(self, email):
        with self.lock:
            self.created[email] = time.time()

    def service_enabled(self, project_id, services):
        with self.lock:
            for service in services:
                self.enabled[(project_id, service)] = time.time()

    def disturb_iam(self, count, project=None):
        if int(count) < 0:
            raise ValueError("count must be >= 0")
        with self.lock:
            self.concurrent[project or "*"] = int(count)
            return dict(self.concurrent)

    # -- service accounts ----------------------------------------------------------------
    def account_visible(self, email):
        """False while a just-created account is still propagating."""
        with self.lock:
            return not self._fresh(self.created.get(email))

    def account_known(self, email):
        """Whether ``email`` names an account Google's other services can see now.

        Accounts of projects the emulator does not hold are taken on trust."""
        match = SA_EMAIL.match(email)
        compute = COMPUTE_SA.match(email)
        with self.store.lock:
            project = self.store.project(match.group(1)) if match else (
                self.store.project(compute.group(1)) if compute else None)
            if project is None:
                return True
            exists = email in project["serviceAccounts"]
        return exists and self.account_visible(email)

    def check_policy_members(self, policy):
        """Raise Resource Manager's 400 for a member that is a still-invisible account."""
        for binding in (policy or {}).get("bindings") or []:
            for member in binding.get("members") or []:
                if isinstance(member, str) and member.startswith("serviceAccount:"):
                    email = member.split(":", 1)[1]
                    if not self.account_visible(email):
                        raise sa_does_not_exist(email)

    def before_set_iam_policy(self, project):
        """A pending concurrent change moves the policy's etag under the caller."""
        with self.lock:
            for key in (project["projectId"], "*"):
                if self.concurrent.get(key, 0) > 0:
                    self.concurrent[key] -= 1
                    if not self.concurrent[key]:
                        del self.concurrent[key]
                    break
            else:
                return False
        from . import util  # pylint: disable=import-outside-toplevel
        with self.store.lock:
            project["policy"]["etag"] = util.etag()
            self.store.touch()
        return True

    # -- Compute Engine ------------------------------------------------------------------
    def check_compute(self, method, path, query, body, user):
        """Run before every Compute call: raises what Google would answer instead."""
        match = re.match(r"^/compute/v1/projects/([^/]+)", path)
        if not match:
            return
        with self.store.lock:
            project = self.store.project(match.group(1))
            if project is None or project["state"] != "ACTIVE" or \
                    project["projectId"] != match.group(1):
                return          # Compute's own 404
            if COMPUTE not in project["services"]:
                raise service_disabled(project)
        with self.lock:
            if self._fresh(self.enabled.get((project["projectId"], COMPUTE))):
                raise service_disabled(project)
        where = INSTANCE_PATH.match(path)
        if where is None or method == "GET":
            return
        verb = where.group("verb")
        if where.group("name") is None:
            if method == "POST":
                self._check_instance_accounts(body, user, "resource.serviceAccounts[%d].email",
                                              project)
            return
        if verb in READ_VERBS:
            return
        self._check_not_busy(project, where.group("zone"), where.group("name"), query)
        if verb == "setServiceAccount":
            email = (body or {}).get("email") or ""
            if email:
                self._check_instance_accounts({"serviceAccounts": [{"email": email}]}, user,
                                              "email", project)

    def _check_instance_accounts(self, body, user, field, project):
        accounts = (body or {}).get("serviceAccounts")
        if accounts is None:
            accounts = [{"email": "default"}]       # Compute attaches the default account
        if not isinstance(accounts, list):
            return
        for index, account in enumerate(accounts):
            email = account.get("email") if isinstance(account, dict) else None
            if email == "default":
                email = "%s-compute@developer.gserviceaccount.com" % project["number"]
            if isinstance(email, str) and "@" in email and not self.account_known(email):
                raise no_access_to_sa(field % index if "%d" in field else field, email, user)

    def _check_not_busy(self, project, zone, name, query):
        """400 resourceNotReady while another operation on the instance is running."""
        if self.delay <= 0:
            return
        with self.store.lock:
            request_id = query.get("requestId")
            if request_id and request_id in project["requestIds"]:
                return          # a retry: Compute answers the first operation
            target = "/projects/%s/zones/%s/instances/%s" % (project["projectId"], zone, name)
            for op in project["operations"].get("zones/" + zone, {}).values():
                if op["status"] != "DONE" and op.get("targetLink", "").endswith(target):
                    raise not_ready(target[1:])
