"""Small helpers shared by the API handlers: ids, timestamps, links, fingerprints."""

import base64
import hashlib
import json
import random
import re
import secrets
import time
from datetime import datetime, timedelta, timezone

COMPUTE_BASE = "https://www.googleapis.com/compute/v1/"
PACIFIC = timezone(timedelta(hours=-8))
RFC1035 = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
RFC1035_TEXT = "(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"

_rand = random.SystemRandom()


def new_id():
    """A Compute resource id: an unsigned 64-bit integer, serialised as a string."""
    return str(_rand.randint(10 ** 18, 2 ** 63 - 1))


def new_number():
    """A project number (12 digits)."""
    return str(_rand.randint(10 ** 11, 10 ** 12 - 1))


def timestamp(when=None):
    """RFC 3339 with milliseconds and a -08:00 offset, as Compute Engine writes them."""
    dt = datetime.fromtimestamp(time.time() if when is None else when, PACIFIC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d-08:00" % (dt.microsecond // 1000)


def from_zulu(text):
    """A Resource Manager time (``2026-12-04T11:27:00.123456Z``) as Compute writes it."""
    try:
        parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError):
        return timestamp()
    return timestamp(parsed.replace(tzinfo=timezone.utc).timestamp())


def zulu(when=None):
    """RFC 3339 in UTC with a Z suffix (Resource Manager, Service Usage, IAM)."""
    dt = datetime.fromtimestamp(time.time() if when is None else when, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % dt.microsecond


def link(path):
    return COMPUTE_BASE + path


def fingerprint(value):
    """An opaque 8-byte base64 fingerprint derived from the content and a salt."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(hashlib.sha256(raw).digest()[:8]).decode()


def etag():
    return base64.b64encode(secrets.token_bytes(8)).decode()


def operation_name():
    ms = int(time.time() * 1000)
    return "operation-%d-%s-%s-%s" % (ms, secrets.token_hex(7)[:13], secrets.token_hex(4),
                                      secrets.token_hex(4))


def last_segment(ref, collection):
    """The name after ``/collection/`` in a full or partial link, or the plain name."""
    if not isinstance(ref, str) or not ref:
        return None
    marker = "/%s/" % collection
    text = "/" + ref
    if marker in text:
        return text.rsplit(marker, 1)[1].split("/")[0] or None
    if "/" in ref:
        return None
    return ref


def segment(ref, collection):
    """The path segment following ``collection/`` anywhere in a link (e.g. the zone)."""
    if not isinstance(ref, str):
        return None
    parts = ref.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == collection:
            return parts[i + 1]
    return None


def _fingerprint_bytes(text):
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def same_fingerprint(given, current):
    """Fingerprints are bytes: clients may send them in standard or URL-safe base64 (gcloud
    re-encodes them URL-safe)."""
    if not isinstance(given, str) or not given:
        return False
    try:
        return _fingerprint_bytes(given) == _fingerprint_bytes(current)
    except (ValueError, TypeError):
        return given == current
