"""Service Usage v1, IAM v1 (service accounts), Resource Manager v1/v3, Cloud Billing v1."""

import re
import secrets
import threading
import time

from . import util
from .errors import ApiError
from .state import BILLING_ACCOUNT, public

ACCOUNT_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
PROJECT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
MEMBER = re.compile(r"^(user|serviceAccount|group|domain|deleted:user|deleted:serviceAccount|"
                    r"deleted:group|principal|principalSet):.+$")
ROLE = re.compile(r"^(roles/[a-zA-Z0-9_.]+|(projects|organizations)/[^/]+/roles/[a-zA-Z0-9_.]+)$")
BILLABLE = ("compute.googleapis.com", "container.googleapis.com", "run.googleapis.com",
            "sqladmin.googleapis.com", "file.googleapis.com", "redis.googleapis.com")
TITLES = {
    "compute.googleapis.com": "Compute Engine API",
    "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "iamcredentials.googleapis.com": "IAM Service Account Credentials API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "cloudbilling.googleapis.com": "Cloud Billing API",
    "serviceusage.googleapis.com": "Service Usage API",
    "oslogin.googleapis.com": "Cloud OS Login API",
    "storage.googleapis.com": "Cloud Storage API",
    "logging.googleapis.com": "Cloud Logging API",
    "monitoring.googleapis.com": "Cloud Monitoring API",
    "secretmanager.googleapis.com": "Secret Manager API",
    "container.googleapis.com": "Kubernetes Engine API",
}


def _error(code, status, message, reason=None):
    extra = {}
    err = ApiError(code, reason or status.lower(), message, status=status)
    err.extra = extra
    return err


def _permission_denied(resource, permission):
    return _error(403, "PERMISSION_DENIED", "Permission '%s' denied on resource '%s' (or it may "
                  "not exist)." % (permission, resource), reason="forbidden")


class Apis:
    """Handlers for the non-Compute APIs; each returns ``(status, body)``."""

    def __init__(self, store, latency, compute_sa_hook=None, consistency=None):
        self.store = store
        self.latency = latency
        self.compute_sa_hook = compute_sa_hook
        self.consistency = consistency

    # -- long-running operations (google.longrunning.Operation) ----------------------------
    def _lro(self, prefix, metadata, response, apply=None):
        """A long-running operation; ``apply`` runs when it completes (after latency)."""
        name = "operations/%s.%s" % (prefix, secrets.token_hex(12))
        op = {"name": name, "metadata": metadata, "done": False, "_response": response}
        with self.store.lock:
            self.store.lro[name] = op
            if len(self.store.lro) > 5000:
                for old in list(self.store.lro)[:500]:
                    del self.store.lro[old]

        def complete():
            with self.store.lock:
                if apply:
                    apply()
                op["done"] = True
                op["response"] = op.pop("_response")
                self.store.touch()
        if self.latency <= 0:
            complete()
        else:
            timer = threading.Timer(self.latency, complete)
            timer.daemon = True
            timer.start()
        with self.store.lock:
            return public(op)

    def get_lro(self, req, prefix, name):
        with self.store.lock:
            op = self.store.lro.get("operations/" + name)
            if op is None:
                raise _error(404, "NOT_FOUND", "Operation 'operations/%s' not found." % name,
                             reason="notFound")
            return 200, public(op)

    # -- Service Usage -----------------------------------------------------------------------
    def _su_project(self, ref):
        project = self.store.project(ref)
        if project is None or project["state"] != "ACTIVE":
            raise _permission_denied("projects/%s" % ref, "serviceusage.services.get")
        return project

    @staticmethod
    def _service(project, name):
        state = "ENABLED" if name in project["services"] else "DISABLED"
        return {
            "name": "projects/%s/services/%s" % (project["number"], name),
            "config": {"name": name, "title": TITLES.get(name, name.split(".")[0].title() +
                                                         " API"),
                       "documentation": {}, "quota": {}, "authentication": {},
                       "usage": {"requirements": ["serviceusage.googleapis.com/tos/cloud"]},
                       "monitoring": {}},
            "state": state,
            "parent": "projects/%s" % project["number"],
        }

    @staticmethod
    def _check_service(name):
        if not re.match(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.googleapis\.com$", name or ""):
            raise _error(403, "PERMISSION_DENIED", "Not found or permission denied for "
                         "service(s): %s." % name, reason="forbidden")

    def get_service(self, req, project, service):
        self._check_service(service)
        with self.store.lock:
            return 200, self._service(self._su_project(project), service)

    def list_services(self, req, project):
        with self.store.lock:
            proj = self._su_project(project)
            names = sorted(set(proj["services"]) | set(TITLES))
            wanted = (req.query.get("filter") or "").replace(" ", "")
            rows = [self._service(proj, n) for n in names]
        if wanted in ("state:ENABLED", "state:DISABLED"):
            rows = [r for r in rows if r["state"] == wanted.split(":")[1]]
        size = int(req.query.get("pageSize") or 50)
        start = int(req.query.get("pageToken") or 0)
        body = {}
        if rows[start:start + size]:
            body["services"] = rows[start:start + size]
        if start + size < len(rows):
            body["nextPageToken"] = str(start + size)
        return 200, body

    def enable_service(self, req, project, service):
        return self.batch_enable(req, project, [service], single=True)

    def batch_enable_services(self, req, project):
        ids = (req.body or {}).get("serviceIds") or []
        if not ids:
            raise _error(400, "INVALID_ARGUMENT", "serviceIds must not be empty.",
                         reason="badRequest")
        return self.batch_enable(req, project, ids, single=False)

    def batch_enable(self, req, project, services, single):
        for service in services:
            self._check_service(service)
        with self.store.lock:
            proj = self._su_project(project)
            needs_billing = [s for s in services if s in BILLABLE and s not in proj["services"]]
            if needs_billing and not proj["billingAccount"]:
                raise _error(400, "FAILED_PRECONDITION",
                             "Billing account for project '%s' is not found. Billing must be "
                             "enabled for activation of service(s) '%s' to proceed."
                             % (proj["number"], ",".join(needs_billing)),
                             reason="UREQ_PROJECT_BILLING_NOT_FOUND")
            if all(s in proj["services"] for s in services) and single:
                return 200, {"name": "operations/noop.DONE_OPERATION", "done": True,
                             "response": {"@type": "type.googleapis.com/google.api.serviceusage"
                                          ".v1.EnableServiceResponse",
                                          "service": self._service(proj, services[0])}}

        def apply():
            fresh = [s for s in services if s not in proj["services"]]
            proj["services"] = sorted(set(proj["services"]) | set(services))
            if self.consistency:
                self.consistency.service_enabled(proj["projectId"], fresh)
            if "compute.googleapis.com" in services and self.compute_sa_hook:
                self.compute_sa_hook(proj)
        if single:
            response = {"@type": "type.googleapis.com/google.api.serviceusage.v1."
                        "EnableServiceResponse", "service": dict(
                            self._service(proj, services[0]), state="ENABLED")}
        else:
            response = {"@type": "type.googleapis.com/google.api.serviceusage.v1."
                        "BatchEnableServicesResponse", "services": [
                            dict(self._service(proj, s), state="ENABLED") for s in services]}
        metadata = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        return 200, self._lro("acf.p2-%s" % proj["number"], metadata, response, apply)

    def disable_service(self, req, project, service):
        self._check_service(service)
        with self.store.lock:
            proj = self._su_project(project)
            if service == "serviceusage.googleapis.com":
                raise _error(400, "FAILED_PRECONDITION", "The service serviceusage.googleapis.com"
                             " cannot be disabled.", reason="failedPrecondition")

        def apply():
            proj["services"] = sorted(set(proj["services"]) - {service})
        response = {"@type": "type.googleapis.com/google.api.serviceusage.v1."
                    "DisableServiceResponse", "service": dict(self._service(proj, service),
                                                              state="DISABLED")}
        return 200, self._lro("acf.p2-%s" % proj["number"],
                              {"@type": "type.googleapis.com/google.protobuf.Empty"},
                              response, apply)

    # -- IAM service accounts --------------------------------------------------------------
    def _iam_project(self, ref, permission="iam.serviceAccounts.list"):
        project = self.store.project(ref)
        if project is None or project["state"] != "ACTIVE":
            raise _permission_denied("projects/%s" % ref, permission)
        return project

    @staticmethod
    def sa_resource(project, account_id, email=None, display_name="", description=""):
        email = email or "%s@%s.iam.gserviceaccount.com" % (account_id, project["projectId"])
        unique = str(10 ** 20 + int(secrets.token_hex(8), 16) % (10 ** 20))
        body = {"name": "projects/%s/serviceAccounts/%s" % (project["projectId"], email),
                "projectId": project["projectId"], "uniqueId": unique, "email": email,
                "etag": "MDEwMjE5MjA=", "oauth2ClientId": unique}
        if display_name:
            body["displayName"] = display_name
        if description:
            body["description"] = description
        return body

    def create_service_account(self, req, project):
        body = req.body or {}
        account_id = body.get("accountId", "")
        with self.store.lock:
            proj = self._iam_project(project, "iam.serviceAccounts.create")
            if not ACCOUNT_ID.match(account_id or ""):
                raise _error(400, "INVALID_ARGUMENT", "Invalid account ID \"%s\": it must be 6 to"
                             " 30 characters, start with a lower case letter, and contain only "
                             "lower case letters, digits and hyphens, not ending in a hyphen."
                             % account_id, reason="badRequest")
            email = "%s@%s.iam.gserviceaccount.com" % (account_id, proj["projectId"])
            if email in proj["serviceAccounts"]:
                raise _error(409, "ALREADY_EXISTS", "Service account %s already exists within "
                             "project projects/%s." % (account_id, proj["projectId"]),
                             reason="alreadyExists")
            spec = body.get("serviceAccount") or {}
            if len(spec.get("displayName", "")) > 100:
                raise _error(400, "INVALID_ARGUMENT", "Display name must be at most 100 "
                             "characters.", reason="badRequest")
            account = self.sa_resource(proj, account_id, display_name=spec.get("displayName", ""),
                                       description=spec.get("description", ""))
            proj["serviceAccounts"][email] = account
            self.store.touch()
            if self.consistency:
                self.consistency.account_created(email)
            return 200, dict(account)

    def _find_sa(self, ref, name, permission):
        with self.store.lock:
            projects = [self._iam_project(ref, permission)] if ref != "-" else \
                list(self.store.projects.values())
            for proj in projects:
                for email, account in proj["serviceAccounts"].items():
                    if name in (email, account["uniqueId"]):
                        return proj, account
        raise _error(404, "NOT_FOUND", "Unknown service account", reason="notFound")

    def get_service_account(self, req, project, name):
        return 200, dict(self._find_sa(project, name, "iam.serviceAccounts.get")[1])

    def delete_service_account(self, req, project, name):
        with self.store.lock:
            proj, account = self._find_sa(project, name, "iam.serviceAccounts.delete")
            del proj["serviceAccounts"][account["email"]]
            self.store.touch()
        return 200, {}

    def patch_service_account(self, req, project, name):
        body = req.body or {}
        spec = body.get("serviceAccount") or {}
        mask = [m.strip() for m in (body.get("updateMask") or "").split(",") if m.strip()]
        with self.store.lock:
            account = self._find_sa(project, name, "iam.serviceAccounts.update")[1]
            for field in mask or ["displayName", "description"]:
                if field not in ("displayName", "description"):
                    raise _error(400, "INVALID_ARGUMENT", "Invalid update mask field: %s"
                                 % field, reason="badRequest")
                if spec.get(field):
                    account[field] = spec[field]
                else:
                    account.pop(field, None)
            account["etag"] = util.etag()
            self.store.touch()
            return 200, dict(account)

    def list_service_accounts(self, req, project):
        with self.store.lock:
            proj = self._iam_project(project)
            rows = sorted((dict(a) for a in proj["serviceAccounts"].values()),
                          key=lambda a: a["email"])
        size = int(req.query.get("pageSize") or 100)
        start = int(req.query.get("pageToken") or 0)
        body = {}
        if rows[start:start + size]:
            body["accounts"] = rows[start:start + size]
        if start + size < len(rows):
            body["nextPageToken"] = str(start + size)
        return 200, body

    # -- Resource Manager --------------------------------------------------------------------
    def _crm_project(self, ref, permission="resourcemanager.projects.get"):
        ref = ref.split("/", 1)[1] if ref.startswith("projects/") else ref
        project = self.store.project(ref)
        if project is None:
            raise _permission_denied("//cloudresourcemanager.googleapis.com/projects/%s" % ref,
                                     permission)
        return project

    @staticmethod
    def project_v3(project):
        body = {"name": "projects/%s" % project["number"], "projectId": project["projectId"],
                "state": project["state"], "displayName": project["displayName"],
                "createTime": project["createTime"], "updateTime": project["updateTime"],
                "etag": 'W/"%s"' % project["etag"], "labels": dict(project["labels"])}
        if project["parent"]:
            body["parent"] = project["parent"]
        if project["state"] == "DELETE_REQUESTED":
            body["deleteTime"] = project["updateTime"]
        return body

    @staticmethod
    def project_v1(project):
        body = {"projectNumber": project["number"], "projectId": project["projectId"],
                "lifecycleState": project["state"], "name": project["displayName"],
                "createTime": project["createTime"], "labels": dict(project["labels"])}
        if project["parent"]:
            kind, ident = project["parent"].split("s/", 1)
            body["parent"] = {"type": kind, "id": ident}
        return body

    def get_project_v3(self, req, project):
        with self.store.lock:
            return 200, self.project_v3(self._crm_project(project))

    def get_project_v1(self, req, project):
        with self.store.lock:
            return 200, self.project_v1(self._crm_project(project))

    def search_projects(self, req):
        query = req.query.get("query", "")
        with self.store.lock:
            rows = [self.project_v3(p) for p in self.store.projects.values()]
        for term in query.split():
            field, value = (term.split(":", 1) + [""])[:2]
            field = {"id": "projectId", "projectId": "projectId", "state": "state",
                     "name": "displayName", "displayName": "displayName"}.get(field, field)
            rows = [r for r in rows if str(r.get(field, "")).lower() == value.lower()]
        return 200, {"projects": rows} if rows else {}

    def list_projects_v1(self, req):
        with self.store.lock:
            rows = [self.project_v1(p) for p in self.store.projects.values()]
        return 200, {"projects": rows} if rows else {}

    def create_project(self, req, version):
        body = req.body or {}
        project_id = body.get("projectId", "")
        if not PROJECT_ID.match(project_id or ""):
            raise _error(400, "INVALID_ARGUMENT", "field [project_id] has issue [project_id "
                         "contains invalid characters or has an invalid length]: '%s'"
                         % project_id, reason="badRequest")
        parent = body.get("parent")
        if isinstance(parent, dict):
            parent = "%ss/%s" % (parent.get("type"), parent.get("id"))
        if parent and not re.match(r"^(organizations|folders)/\d+$", parent):
            raise _error(400, "INVALID_ARGUMENT", "field [parent] has issue [invalid parent]",
                         reason="badRequest")
        display = body.get("displayName") or body.get("name") or project_id
        labels = body.get("labels") or {}
        from .compute import validate_labels  # pylint: disable=import-outside-toplevel
        validate_labels(labels)
        with self.store.lock:
            if self.store.project(project_id) is not None:
                raise _error(409, "ALREADY_EXISTS", "Requested entity already exists",
                             reason="alreadyExists")
            project = self.store.new_project(project_id, display, parent, labels, ready=False)
            project["state"] = "CREATING"
        now = util.zulu()

        def apply():
            project["state"] = "ACTIVE"
        if version == "v3":
            metadata = {"@type": "type.googleapis.com/google.cloud.resourcemanager.v3."
                        "CreateProjectMetadata", "createTime": now, "gettable": True,
                        "ready": True}
            response = dict(self.project_v3(project), state="ACTIVE")
            response = {"@type": "type.googleapis.com/google.cloud.resourcemanager.v3.Project",
                        **response}
        else:
            metadata = {"@type": "type.googleapis.com/google.cloudresourcemanager.v1."
                        "ProjectCreationStatus", "createTime": now, "gettable": True,
                        "ready": True}
            response = {"@type": "type.googleapis.com/google.cloudresourcemanager.v1.Project",
                        **dict(self.project_v1(project), lifecycleState="ACTIVE")}
        return 200, self._lro("cp", metadata, response, apply)

    def delete_project(self, req, project):
        with self.store.lock:
            proj = self._crm_project(project, "resourcemanager.projects.delete")
            if proj["state"] != "ACTIVE":
                raise _error(400, "FAILED_PRECONDITION", "Project is not active.",
                             reason="failedPrecondition")
            proj["state"] = "DELETE_REQUESTED"
            proj["updateTime"] = util.zulu()
            self.store.touch()
            response = {"@type": "type.googleapis.com/google.cloud.resourcemanager.v3.Project",
                        **self.project_v3(proj)}
        return 200, self._lro("dp", {"@type": "type.googleapis.com/google.cloud."
                                     "resourcemanager.v3.DeleteProjectMetadata"}, response)

    def update_project(self, req, project):
        body = req.body or {}
        mask = [m.strip() for m in (req.query.get("updateMask") or "").split(",") if m.strip()]
        with self.store.lock:
            proj = self._crm_project(project, "resourcemanager.projects.update")
            if proj["state"] != "ACTIVE":
                raise _error(400, "FAILED_PRECONDITION", "Project is not active.",
                             reason="failedPrecondition")
            for field in mask or ["displayName", "labels"]:
                if field == "displayName":
                    name = body.get("displayName") or ""
                    if len(name) > 30 or not re.match(r"^[A-Za-z0-9 '!-]*$", name):
                        raise _error(400, "INVALID_ARGUMENT", "field [display_name] has issue "
                                     "[invalid display name]", reason="badRequest")
                    proj["displayName"] = name or proj["projectId"]
                elif field == "labels":
                    from .compute import validate_labels  # pylint: disable=import-outside-toplevel
                    proj["labels"] = validate_labels(body.get("labels") or {})
                else:
                    raise _error(400, "INVALID_ARGUMENT", "Invalid update mask path: %s" % field,
                                 reason="badRequest")
            proj["updateTime"] = util.zulu()
            proj["etag"] = util.etag()
            self.store.touch()
            response = {"@type": "type.googleapis.com/google.cloud.resourcemanager.v3.Project",
                        **self.project_v3(proj)}
        return 200, self._lro("up", {"@type": "type.googleapis.com/google.cloud."
                                     "resourcemanager.v3.UpdateProjectMetadata"}, response)

    def undelete_project(self, req, project):
        with self.store.lock:
            proj = self._crm_project(project, "resourcemanager.projects.undelete")
            if proj["state"] != "DELETE_REQUESTED":
                raise _error(400, "FAILED_PRECONDITION", "Project is not in DELETE_REQUESTED "
                             "state.", reason="failedPrecondition")
            proj["state"] = "ACTIVE"
            proj["updateTime"] = util.zulu()
            self.store.touch()
            response = {"@type": "type.googleapis.com/google.cloud.resourcemanager.v3.Project",
                        **self.project_v3(proj)}
        return 200, self._lro("udp", {"@type": "type.googleapis.com/google.cloud."
                                      "resourcemanager.v3.UndeleteProjectMetadata"}, response)

    def get_iam_policy(self, req, project):
        with self.store.lock:
            proj = self._crm_project(project, "resourcemanager.projects.getIamPolicy")
            return 200, self._policy_body(proj["policy"])

    @staticmethod
    def _policy_body(policy):
        body = {"version": policy["version"], "etag": policy["etag"]}
        if policy["bindings"]:
            body["bindings"] = [dict(b, members=list(b["members"])) for b in policy["bindings"]]
        return body

    def set_iam_policy(self, req, project):
        body = req.body or {}
        policy = body.get("policy")
        if not isinstance(policy, dict):
            raise _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                         reason="badRequest")
        with self.store.lock:
            proj = self._crm_project(project, "resourcemanager.projects.setIamPolicy")
            if self.consistency:
                self.consistency.before_set_iam_policy(proj)
            current = proj["policy"]
            if policy.get("etag") and policy["etag"] != current["etag"]:
                raise _error(409, "ABORTED", "There were concurrent policy changes. Please retry "
                             "the whole read-modify-write with exponential backoff.",
                             reason="aborted")
            merged = {}
            has_condition = False
            for binding in policy.get("bindings") or []:
                role = binding.get("role", "")
                if not ROLE.match(role):
                    raise _error(400, "INVALID_ARGUMENT", "Role %s is not supported for this "
                                 "resource." % role, reason="badRequest")
                for member in binding.get("members") or []:
                    self._check_member(member)
            if self.consistency:
                self.consistency.check_policy_members(policy)
            for binding in policy.get("bindings") or []:
                role = binding.get("role", "")
                condition = binding.get("condition")
                has_condition = has_condition or bool(condition)
                key = (role, repr(sorted(condition.items())) if condition else "")
                entry = merged.setdefault(key, {"role": role, "members": set()})
                if condition:
                    entry["condition"] = condition
                entry["members"].update(binding.get("members") or [])
            bindings = []
            for key in sorted(merged):
                entry = merged[key]
                if entry["members"]:
                    bindings.append(dict(entry, members=sorted(entry["members"])))
            owners = [b for b in bindings if b["role"] == "roles/owner" and b["members"]]
            if not owners:
                raise _error(400, "FAILED_PRECONDITION", "A policy must have at least one owner.",
                             reason="failedPrecondition")
            proj["policy"] = {"version": 3 if has_condition else max(
                1, int(policy.get("version") or 1)), "etag": util.etag(), "bindings": bindings}
            self.store.touch()
            return 200, self._policy_body(proj["policy"])

    def _check_member(self, member):
        if not isinstance(member, str) or not MEMBER.match(member):
            raise _error(400, "INVALID_ARGUMENT", "Invalid member: '%s'." % member,
                         reason="badRequest")
        kind, email = member.split(":", 1)
        if kind == "serviceAccount":
            match = re.match(r"^[^@]+@([a-z][-a-z0-9]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$",
                             email)
            if match and self.store.project(match.group(1)) is not None and \
                    email not in self.store.project(match.group(1))["serviceAccounts"]:
                raise _error(400, "INVALID_ARGUMENT", "Service account %s does not exist."
                             % email, reason="badRequest")
        if kind in ("user", "group", "serviceAccount") and "@" not in email:
            raise _error(400, "INVALID_ARGUMENT", "Invalid member: '%s'." % member,
                         reason="badRequest")

    # -- Cloud Billing -----------------------------------------------------------------------
    def _billing_project(self, ref):
        project = self.store.project(ref)
        if project is None or project["state"] != "ACTIVE":
            raise _error(403, "PERMISSION_DENIED", "The caller does not have permission",
                         reason="forbidden")
        return project

    @staticmethod
    def billing_info(project):
        account = project["billingAccount"]
        return {"name": "projects/%s/billingInfo" % project["projectId"],
                "projectId": project["projectId"],
                "billingAccountName": "billingAccounts/%s" % account if account else "",
                "billingEnabled": bool(account)}

    def get_billing(self, req, project):
        with self.store.lock:
            return 200, self.billing_info(self._billing_project(project))

    def update_billing(self, req, project):
        name = (req.body or {}).get("billingAccountName", "")
        with self.store.lock:
            proj = self._billing_project(project)
            if name:
                match = re.match(r"^billingAccounts/([0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6})$", name)
                if not match:
                    raise _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                                 reason="badRequest")
                if match.group(1) != BILLING_ACCOUNT:
                    raise _error(403, "PERMISSION_DENIED", "The caller does not have permission",
                                 reason="forbidden")
                proj["billingAccount"] = match.group(1)
            else:
                proj["billingAccount"] = ""
            self.store.touch()
            return 200, self.billing_info(proj)

    @staticmethod
    def _account():
        return {"name": "billingAccounts/%s" % BILLING_ACCOUNT, "open": True,
                "displayName": "OpenClaw emulator billing", "masterBillingAccount": "",
                "parent": ""}

    def list_billing_accounts(self, req):
        return 200, {"billingAccounts": [self._account()]}

    def get_billing_account(self, req, account):
        if account != BILLING_ACCOUNT:
            raise _error(403, "PERMISSION_DENIED", "The caller does not have permission",
                         reason="forbidden")
        return 200, self._account()

    def list_billing_projects(self, req, account):
        self.get_billing_account(req, account)
        with self.store.lock:
            rows = [self.billing_info(p) for p in self.store.projects.values()
                    if p["billingAccount"] == account]
        return 200, {"projectBillingInfo": rows}

    # -- IAM credentials (google-auth's background lookup) ------------------------------------
    @staticmethod
    def allowed_locations(req, email):
        return 200, {"locations": [], "encodedLocations": "0x0"}

    @staticmethod
    def now():
        return time.time()
