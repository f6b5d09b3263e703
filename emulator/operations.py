"""Zonal and global operations, and requestId replay."""

import uuid

from . import catalog
from .common import aggregate_body, list_body, paginate
from .errors import invalid, not_found


class OperationsMixin:
    """``zoneOperations``, ``regionOperations``, ``globalOperations`` (with
    ``aggregatedList``) and ``requestId`` idempotency."""

    def _op_scope(self, project, zone=None, region=None):
        """Check the project and location (under the store lock); ``zones/Z``, ``regions/R``
        or ``global``."""
        self.project(project)
        if zone:
            return "zones/" + self.zone(zone)
        if region:
            return "regions/" + self.region(region)
        return "global"

    def get_operation(self, req, project, name, zone=None, region=None):
        with self.store.lock:
            scope = self._op_scope(project, zone, region)
            op = self.store.find_operation(project, scope, name)
            if op is None:
                raise not_found("projects/%s/%s/operations/%s" % (project, scope, name))
            return 200, dict(op)

    def wait_operation(self, req, project, name, zone=None, region=None):
        with self.store.lock:
            scope = self._op_scope(project, zone, region)
        return 200, self.runner.wait(project, scope, name, timeout=120)

    def list_operations(self, req, project, zone=None, region=None):
        with self.store.lock:
            scope = self._op_scope(project, zone, region)
            items = [dict(op) for op in self.store.projects[project]["operations"]
                     .get(scope, {}).values()]
        page, token = paginate(items, req.query, lambda o: [o["insertTime"], o["name"]])
        return 200, list_body("compute#operationList", "projects/%s/%s/operations"
                              % (project, scope), page, token)

    def aggregated_operations(self, req, project):
        scopes = (["global"] + ["regions/" + r for r in sorted(catalog.REGIONS)]
                  + ["zones/" + z for z in catalog.ZONE_ORDER])
        order = {scope: index for index, scope in enumerate(scopes)}
        with self.store.lock:
            self.project(project)
            rows = [dict(op, _scope=scope) for scope, ops in
                    self.store.projects[project]["operations"].items() for op in ops.values()]
        page, token = paginate(rows, req.query,
                               lambda o: [order.get(o["_scope"], 0), o["insertTime"], o["name"]])
        scope_of = {id(row): row.pop("_scope") for row in page}
        return 200, aggregate_body("compute#operationAggregatedList", "operations",
                                   "projects/%s/aggregated/operations" % project, page, token,
                                   lambda o: scope_of[id(o)], scopes)

    def delete_operation(self, req, project, name, zone=None, region=None):
        with self.store.lock:
            scope = self._op_scope(project, zone, region)
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
                scope = operation_scope(body)
                proj["requestIds"][request_id] = [scope, body["name"]]
                if len(proj["requestIds"]) > 10000:
                    for old in list(proj["requestIds"])[:1000]:
                        del proj["requestIds"][old]
            return status, body


def operation_scope(op):
    """``zones/Z``, ``regions/R`` or ``global`` of a compute#operation."""
    if "zone" in op:
        return "zones/" + op["zone"].rsplit("/", 1)[1]
    if "region" in op:
        return "regions/" + op["region"].rsplit("/", 1)[1]
    return "global"
