"""Compute Engine operations: creation, background execution with latency, wait."""

import logging
import threading
import time

from . import util
from .errors import ApiError

LOG = logging.getLogger("emulator.ops")

HTTP_REASON = {400: "BAD REQUEST", 403: "FORBIDDEN", 404: "NOT FOUND", 409: "CONFLICT",
               412: "PRECONDITION FAILED", 500: "INTERNAL SERVER ERROR", 503: "SERVICE UNAVAILABLE"}


class OperationFailed(Exception):
    """Raised inside a job: the operation ends DONE with ``error.errors[]``."""

    def __init__(self, code, message, http_status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


class Job:
    """What a background job may use: the latency-aware sleep and the store lock."""

    def __init__(self, store, op_key, sync):
        self.store = store
        self.op_key = op_key
        self.sync = sync

    def sleep(self, seconds):
        if not self.sync and seconds > 0:
            time.sleep(seconds)

    def progress(self, percent):
        with self.store.lock:
            op = self.store.find_operation(*self.op_key)
            if op is not None:
                op["progress"] = percent


def new_operation(project, scope, op_type, target_link, target_id, user, zone=None):
    """A compute#operation; ``scope`` is ``zones/Z`` or ``global``."""
    name = util.operation_name()
    now = util.timestamp()
    body = {
        "kind": "compute#operation",
        "id": util.new_id(),
        "name": name,
        "operationType": op_type,
        "targetLink": target_link,
        "targetId": target_id,
        "status": "RUNNING",
        "user": user,
        "progress": 0,
        "insertTime": now,
        "startTime": now,
        "selfLink": util.link("projects/%s/%s/operations/%s" % (project, scope, name)),
    }
    if zone:
        body["zone"] = util.link("projects/%s/zones/%s" % (project, zone))
    return body


def finish(op, error=None):
    op["status"] = "DONE"
    op["progress"] = 100
    op["endTime"] = util.timestamp()
    if error is not None:
        op["error"] = {"errors": [{"code": error.code, "message": error.message}]}
        op["httpErrorStatusCode"] = error.http_status
        op["httpErrorMessage"] = HTTP_REASON.get(error.http_status, "BAD REQUEST")


class Runner:
    """Runs an operation's job inline (no latency, memory backend) or on its own thread."""

    def __init__(self, store):
        self.store = store
        self.threads = set()
        self._guard = threading.Lock()

    def launch(self, project, scope, op, job_fn, sync, on_error=None):
        """Register ``op`` and run ``job_fn(job)``; returns the operation as it stands."""
        key = (project, scope, op["name"])
        with self.store.lock:
            self.store.add_operation(project, scope, op)
        job = Job(self.store, key, sync)
        if sync:
            self._run(job, job_fn, on_error)
        else:
            thread = threading.Thread(target=self._run, args=(job, job_fn, on_error),
                                      name="op-" + op["name"][-8:], daemon=True)
            with self._guard:
                self.threads.add(thread)
            thread.start()
        with self.store.lock:
            return dict(self.store.find_operation(*key))

    def _run(self, job, job_fn, on_error):
        error = None
        try:
            job_fn(job)
        except OperationFailed as exc:
            error = exc
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception("operation %s failed", job.op_key[2])
            error = OperationFailed("INTERNAL_ERROR", "Internal error: %s" % exc, 500)
        if error is not None and on_error is not None:
            try:
                on_error(error)
            except Exception:  # pylint: disable=broad-except
                LOG.exception("cleanup after %s failed", job.op_key[2])
        with self.store.lock:
            op = self.store.find_operation(*job.op_key)
            if op is not None:
                finish(op, error)
            self.store.touch()
        with self._guard:
            self.threads.discard(threading.current_thread())

    def wait(self, project, scope, name, timeout):
        """Block until the operation is DONE or ``timeout`` seconds pass; return it."""
        deadline = time.monotonic() + timeout
        with self.store.lock:
            while True:
                op = self.store.find_operation(project, scope, name)
                if op is None:
                    raise ApiError(404, "notFound", "The resource 'projects/%s/%s/operations/%s' "
                                   "was not found" % (project, scope, name))
                left = deadline - time.monotonic()
                if op["status"] == "DONE" or left <= 0:
                    return dict(op)
                self.store.changed.wait(min(left, 1.0))
