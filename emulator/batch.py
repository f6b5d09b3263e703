"""Google's batch endpoint for Compute (``POST /batch/compute/v1``, ``multipart/mixed``).

gcloud sends several calls of one command (``instances delete a b``, ``instances create a b``,
``operations list``...) as one batch: each part is an ``application/http`` request with its
own request line, headers and body; the answer is ``multipart/mixed`` with one
``application/http`` response per part, in order, each carrying the part's ``Content-ID``
prefixed with ``response-``. The parts are served one by one by the same handlers (auth from
the outer request, faults, request log) as if sent alone. At most 1000 parts, as Google."""

import email.parser
import email.policy
import json
import secrets
import time
import urllib.parse
from http.client import responses

from .errors import ApiError
from .raw import RawBody

MAX_PARTS = 1000


def _bad(message):
    return ApiError(400, "badRequest", message, status="INVALID_ARGUMENT")


def parse_parts(content_type, raw):
    """[(content_id, method, path, headers dict, body bytes)] of a multipart/mixed batch."""
    if not content_type or not content_type.lower().startswith("multipart/mixed"):
        raise _bad("Batch requests must be multipart/mixed.")
    head = ("Content-Type: %s\r\n\r\n" % content_type).encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + raw)
    if not message.is_multipart():
        raise _bad("Failed to parse batch request: no parts.")
    parts = []
    for part in message.get_payload():
        payload = part.get_payload(decode=False)
        if isinstance(payload, list):
            raise _bad("Nested batch requests are not supported.")
        line, dummy, rest = payload.lstrip("\r\n").partition("\n")
        words = line.strip().split(" ")
        if len(words) < 2:
            raise _bad("Failed to parse batch request, error: invalid request line %r." % line)
        inner = email.parser.Parser(policy=email.policy.compat32).parsestr(rest)
        body = inner.get_payload()
        headers = dict(inner.items())
        target = urllib.parse.urlsplit(words[1])   # a path, or an absolute URL
        path = target.path + ("?" + target.query if target.query else "")
        parts.append((part.get("Content-ID") or "", words[0].upper(), path, headers,
                      body.encode() if isinstance(body, str) and body.strip() else b""))
    if len(parts) > MAX_PARTS:
        raise _bad("Too many requests in batch: %d (at most %d)." % (len(parts), MAX_PARTS))
    return parts


class Batch:
    """Serves the parts of a batch through ``emulator.handle`` and logs each of them."""

    def __init__(self, emulator):
        self.emulator = emulator

    def __call__(self, req):
        if not req.body or not req.body[1]:
            raise _bad("Failed to parse batch request: empty body.")
        content_type, raw, headers = req.body
        parts = parse_parts(content_type, raw)
        boundary = "batch_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        chunks = []
        for content_id, method, path, part_headers, body in parts:
            merged = {"Authorization": headers.get("Authorization")}
            merged.update((k.title(), v) for k, v in part_headers.items())
            started = time.time()
            status, answer, faulted = self.emulator.handle(method, path, merged, body)
            self.log(method, path, status, faulted, started)
            content_type = "application/json; charset=UTF-8"
            if isinstance(answer, RawBody):
                content_type, data = answer.content_type, answer.data
            else:
                data = b"" if answer is None else json.dumps(answer,
                                                             separators=(",", ":")).encode()
            response_id = content_id
            if content_id.startswith("<"):
                response_id = "<response-" + content_id[1:]
            chunks.append(b"".join([
                ("--%s\r\nContent-Type: application/http\r\nContent-ID: %s\r\n\r\n"
                 % (boundary, response_id)).encode(),
                ("HTTP/1.1 %d %s\r\n" % (status, responses.get(status, ""))).encode(),
                ("Content-Type: %s\r\n" % content_type).encode() if answer is not None
                else b"",
                ("Content-Length: %d\r\n\r\n" % len(data)).encode(), data, b"\r\n"]))
        chunks.append(("--%s--\r\n" % boundary).encode())
        return 200, RawBody("multipart/mixed; boundary=%s" % boundary, b"".join(chunks))

    def log(self, method, path, status, faulted, started):
        emulator = self.emulator
        parsed = urllib.parse.urlsplit(path)
        plain = urllib.parse.unquote(parsed.path)
        emulator.log.record({
            "ts": round(started, 6), "method": method, "path": plain, "query": parsed.query,
            "status": status, "api": emulator.api_of(plain),
            "write": emulator.is_write(method, plain) and status != 405,
            "faulted": faulted, "ms": round((time.time() - started) * 1000, 2), "batch": True})
