"""Zonal and global operations, and requestId replay."""

import uuid

from .common import list_body, paginate
from .errors import invalid, not_found


class OperationsMixin:
    """``zoneOperations``, ``globalOperations`` and ``requestId`` idempotency."""

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
