"""Google's error shape: ``{"error": {"code", "message", "status", "errors": [...]}}``."""

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error answered to the client in Google's JSON error format."""

    def __init__(self, code, reason, message, status=None, domain="global", extra=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.domain = domain
        self.extra = extra or {}
        self.details = None     # google.rpc details (ErrorInfo, Help, ...) when Google sends them

    def body(self):
        item = {"message": self.message, "domain": self.domain, "reason": self.reason}
        item.update(self.extra)
        error = {"code": self.code, "message": self.message, "errors": [item],
                 "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def not_found(path):
    return ApiError(404, "notFound", "The resource '%s' was not found" % path)


def already_exists(path):
    return ApiError(409, "alreadyExists", "The resource '%s' already exists" % path)


def invalid(field, value, why):
    return ApiError(400, "invalid", "Invalid value for field '%s': '%s'. %s" % (field, value, why))


def required(field):
    return ApiError(400, "required", "Required field '%s' not specified" % field)


def bad_request(message, reason="badRequest"):
    return ApiError(400, reason, message)


def not_ready(path):
    return ApiError(400, "resourceNotReady", "The resource '%s' is not ready" % path)


def condition_not_met(message):
    return ApiError(412, "conditionNotMet", message, extra={"location": "If-Match",
                                                            "locationType": "header"})


def unauthenticated():
    return ApiError(
        401, "required",
        "Request is missing required authentication credential. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        extra={"location": "Authorization", "locationType": "header"})


def invalid_token():
    return ApiError(
        401, "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        extra={"location": "Authorization", "locationType": "header"})


def permission_denied(message="The caller does not have permission"):
    return ApiError(403, "forbidden", message)
