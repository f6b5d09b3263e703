# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client every openclaw.gcp module (and the inventory plugin) uses.

Layers, from the bottom:

* pure functions (no network, no AnsibleModule): URL building, link normalisation, name and
  label validation, error formatting, back-off computation, diff helpers;
* ``GcpClient``: credentials from google-auth, one ``AuthorizedSession`` per run (a single token
  exchange), retries with exponential back-off and jitter, safe retries of mutations (a request id
  on inserts, read-before-retry elsewhere), long-running operation waiting, pagination and
  aggregated lists. It raises ``GcpError``; it never exits the process;
* ``GcpModule``: an ``AnsibleModule`` that merges the shared authentication options and turns a
  ``GcpError`` into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import hashlib
import importlib
import json
import os
import random
import re
import stat
import tempfile
import time
import traceback
import uuid

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

try:
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.credentials
    import google.oauth2.service_account
    HAS_GOOGLE_AUTH = True
    GOOGLE_AUTH_IMPORT_ERROR = None
except ImportError:
    HAS_GOOGLE_AUTH = False
    GOOGLE_AUTH_IMPORT_ERROR = traceback.format_exc()


USER_AGENT = 'openclaw.gcp/0.1.0'
DEFAULT_SCOPES = ['https://www.googleapis.com/auth/cloud-platform']
DEFAULT_UNIVERSE_DOMAIN = 'googleapis.com'

# How each API is reached, the way Google's discovery documents describe it: the service's host
# label (``https://<service>.<universe domain>/``), its service path (part of what an endpoint
# override replaces, as in gcloud's ``api_endpoint_overrides/<service>``) and the version prefix of
# the resource paths (added after the override).
#   api key -> (service, service path, version prefix)
APIS = {
    'compute': ('compute', 'compute/v1/', ''),
    'serviceusage': ('serviceusage', '', 'v1/'),
    'iam': ('iam', '', 'v1/'),
    'cloudresourcemanager': ('cloudresourcemanager', '', 'v1/'),
    'cloudresourcemanager_v3': ('cloudresourcemanager', '', 'v3/'),
    'cloudbilling': ('cloudbilling', '', 'v1/'),
}
# The services an endpoint override may name (keys of api_endpoint_overrides).
OVERRIDABLE_SERVICES = sorted(set(service for service, dummy, dummy2 in APIS.values()))
# gcloud's own environment variable for an override: one value serves gcloud and these modules.
OVERRIDE_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_%s'
UNIVERSE_ENV = ('GOOGLE_CLOUD_UNIVERSE_DOMAIN', 'CLOUDSDK_CORE_UNIVERSE_DOMAIN')

# Prefixes a Compute Engine link may carry; links are compared without them.
_LINK_PREFIXES = (
    'https://www.googleapis.com/compute/v1/',
    'https://compute.googleapis.com/compute/v1/',
    'http://www.googleapis.com/compute/v1/',
)

RETRY_STATUSES = frozenset([429, 500, 502, 503, 504])
AUTH_KINDS = ['application', 'serviceaccount', 'machineaccount', 'accesstoken']

RFC1035_RE = re.compile(r'^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')
LABEL_KEY_RE = re.compile(r'^[\w-]{1,63}$', re.UNICODE)
LABEL_VALUE_RE = re.compile(r'^[\w-]{0,63}$', re.UNICODE)
ZONE_RE = re.compile(r'^[a-z]+-[a-z]+[0-9]+-[a-z]$')
REGION_RE = re.compile(r'^[a-z]+-[a-z]+[0-9]+$')
PROJECT_ID_RE = re.compile(r'^[a-z][-a-z0-9]{4,28}[a-z0-9]$')
MAX_LABELS = 64


class GcpError(Exception):
    """An error to report to the user: ``str(exc)`` is one complete sentence."""

    def __init__(self, message, status=None, reason=None, google_message=None, body=None):
        super(GcpError, self).__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.google_message = google_message
        self.body = body

    def amend(self, clause):
        """Add ``clause`` to the sentence (before its final full stop); returns the error itself."""
        self.message = '%s (%s).' % (self.message.rstrip('.'), clause)
        self.args = (self.message,)
        return self

    def as_dict(self):
        """Extra keys for fail_json (only those that are set)."""
        out = {}
        for key in ('status', 'reason', 'google_message'):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class Applied(object):
    """Returned by a reconcile callback: the mutation is already in effect, do not retry it."""

    def __init__(self, value=None):
        self.value = value


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------

def api_base(api, overrides=None, universe_domain=None):
    """Base URL (with trailing slash) under which ``api``'s resource paths are appended.

    Without an override this is Google's own host in the universe domain
    (``https://compute.googleapis.com/compute/v1/``, ``https://iam.googleapis.com/v1/``); an
    override replaces the service's root and service path the way gcloud's
    ``api_endpoint_overrides/<service>`` does (``https://compute.p.example/compute/v1/`` for
    Compute, ``https://iam.p.example/`` for IAM, whose ``v1/`` the client adds).
    """
    if api not in APIS:
        raise ValueError('unknown API %r' % (api,))
    service, service_path, version = APIS[api]
    override = (overrides or {}).get(service)
    if override:
        return override.rstrip('/') + '/' + version
    return 'https://%s.%s/%s%s' % (service, universe_domain or DEFAULT_UNIVERSE_DOMAIN, service_path, version)


def endpoint_overrides(params, environ=None):
    """The per-service endpoint overrides: the ``api_endpoint_overrides`` option, else gcloud's
    ``CLOUDSDK_API_ENDPOINT_OVERRIDES_<SERVICE>`` environment variables."""
    given = params.get('api_endpoint_overrides')
    if given:
        return dict((str(k).lower(), v) for k, v in given.items() if v)
    environ = os.environ if environ is None else environ
    found = {}
    for service in OVERRIDABLE_SERVICES:
        value = environ.get(OVERRIDE_ENV % service.upper())
        if value:
            found[service] = value
    return found


def check_endpoint_params(params, environ=None):
    """Error sentences for endpoint options that cannot work, else an empty list."""
    errors = []
    overrides = params.get('api_endpoint_overrides') or {}
    if not isinstance(overrides, dict):
        return ['api_endpoint_overrides must be a dictionary of service name to base URL']
    unknown = sorted(str(k) for k in overrides if str(k).lower() not in OVERRIDABLE_SERVICES)
    if unknown:
        errors.append('api_endpoint_overrides names unknown services %s (known: %s)' % (
            ', '.join(unknown), ', '.join(OVERRIDABLE_SERVICES)))
    for service, url in sorted(endpoint_overrides(params, environ).items()):
        if not isinstance(url, str) or not re.match(r'^https?://[^/\s]+(/\S*)?$', url):
            errors.append('the endpoint override for %s must be an http(s) URL, got %r' % (service, url))
    universe = params.get('universe_domain')
    if universe is not None and not re.match(r'^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', universe):
        errors.append('universe_domain must be a domain name such as googleapis.com, got %r' % (universe,))
    return errors


def normalize_link(link):
    """Strip the API prefix of a Compute Engine link: ``projects/p/zones/z/instances/i``.

    Works for Google's links, links under an endpoint override (anything before ``/compute/v1/``) and
    relative paths; ``None`` stays ``None``.
    """
    if not link:
        return link
    for prefix in _LINK_PREFIXES:
        if link.startswith(prefix):
            return link[len(prefix):]
    marker = '/compute/v1/'
    if '://' in link and marker in link:
        return link.split(marker, 1)[1]
    return link.lstrip('/')


def short_name(link):
    """Last path segment of a link (``.../zones/us-central1-a`` -> ``us-central1-a``)."""
    if not link:
        return link
    return link.rstrip('/').rsplit('/', 1)[-1]


def compute_link(project, link, collection, scope=None):
    """Canonical relative link for a name or link given by the user.

    ``compute_link('p', 'default', 'networks')`` -> ``projects/p/global/networks/default``;
    ``compute_link('p', 'sub', 'subnetworks', 'regions/us-central1')`` ->
    ``projects/p/regions/us-central1/subnetworks/sub``. A value with a ``/`` is taken as a link
    (full or relative) and only normalised; ``global/...`` and ``zones/...`` get the project.
    """
    if link is None:
        return None
    link = normalize_link(link)
    if '/' not in link:
        return 'projects/%s/%s/%s/%s' % (project, scope or 'global', collection, link)
    if link.startswith('projects/'):
        return link
    return 'projects/%s/%s' % (project, link)


def zone_to_region(zone):
    """``us-central1-a`` -> ``us-central1``."""
    return zone.rsplit('-', 1)[0]


def validate_name(name, what='name'):
    """Return an error sentence when ``name`` is not an RFC 1035 resource name, else ``None``."""
    if not isinstance(name, str) or not RFC1035_RE.match(name):
        return ('%s %r is invalid: it must be 1-63 characters of lowercase letters, digits and hyphens, '
                'start with a letter and not end with a hyphen (RFC 1035)' % (what, name))
    return None


def validate_labels(labels):
    """Return a list of error sentences for labels that break Google's label rules."""
    errors = []
    if labels is None:
        return errors
    if not isinstance(labels, dict):
        return ['labels must be a dictionary of strings']
    if len(labels) > MAX_LABELS:
        errors.append('a resource can carry at most %d labels, got %d' % (MAX_LABELS, len(labels)))
    for key in sorted(labels, key=str):
        value = labels[key]
        if not isinstance(key, str) or not LABEL_KEY_RE.match(key) or key != key.lower() or not key[0].isalpha():
            errors.append('label key %r is invalid: keys are 1-63 lowercase letters, digits, underscores or hyphens '
                          'and start with a lowercase letter' % (key,))
        if value is None:
            value = ''
        if not isinstance(value, str) or not LABEL_VALUE_RE.match(value) or value != value.lower():
            errors.append('label value %r (key %r) is invalid: values are at most 63 lowercase letters, digits, '
                          'underscores or hyphens' % (value, key))
    return errors


def stringify_labels(labels):
    """Labels as given in YAML may hold numbers or booleans; Google stores strings."""
    if labels is None:
        return None
    out = {}
    for key, value in labels.items():
        if value is None:
            value = ''
        elif isinstance(value, bool):
            value = 'true' if value else 'false'
        elif not isinstance(value, str):
            value = str(value)
        out[key] = value
    return out


def parse_google_error(body):
    """Extract ``(reason, message)`` from an error body (dict, JSON text or plain text)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode('utf-8', 'replace')
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            return None, (text[:300] or None)
    if not isinstance(body, dict):
        return None, None
    err = body.get('error', body)
    if isinstance(err, str):
        # OAuth2 token endpoint: {"error": "invalid_grant", "error_description": "..."}
        return err, body.get('error_description')
    if not isinstance(err, dict):
        return None, None
    reason = None
    message = err.get('message')
    items = err.get('errors') or []
    if items and isinstance(items[0], dict):
        reason = items[0].get('reason') or items[0].get('code')
        message = message or items[0].get('message')
    for detail in err.get('details') or []:
        if isinstance(detail, dict) and detail.get('reason'):
            reason = reason or detail.get('reason')
    reason = reason or err.get('status')
    if reason is not None and not isinstance(reason, str):
        reason = str(reason)
    return reason, message


def format_api_error(action, resource, status, body):
    """One sentence: what we tried, on what, the HTTP status, Google's reason and message."""
    reason, message = parse_google_error(body)
    sentence = 'Failed to %s %s: HTTP %s' % (action, resource, status)
    if reason:
        sentence += ' %s' % reason
    if message:
        sentence += ': %s' % message.rstrip('.')
    return sentence + '.'


def operation_error(operation):
    """``(reason, message)`` of an operation that ended with an error, or ``None``."""
    err = operation.get('error')
    if not err:
        return None
    items = err.get('errors')
    if items:
        reasons = [e.get('code') or e.get('reason') for e in items if isinstance(e, dict)]
        messages = [e.get('message') for e in items if isinstance(e, dict) and e.get('message')]
        return ', '.join(r for r in reasons if r) or None, '; '.join(messages) or None
    reason, message = parse_google_error({'error': err})
    if reason is None and err.get('code') is not None:
        reason = 'code %s' % err.get('code')
    return reason, message


def format_operation_error(action, resource, operation):
    reason, message = operation_error(operation) or (None, None)
    sentence = 'Failed to %s %s: operation %s ended with an error' % (action, resource, operation.get('name', '?'))
    if reason:
        sentence += ' %s' % reason
    if message:
        sentence += ': %s' % message.rstrip('.')
    return sentence + '.'


def backoff_delay(attempt, base=0.5, cap=8.0, rand=random.random):
    """Delay before retry number ``attempt`` (0-based): exponential with equal jitter."""
    ceiling = min(cap, base * (2 ** attempt))
    return ceiling / 2.0 + rand() * ceiling / 2.0


def retry_after_seconds(headers):
    """Seconds from a numeric ``Retry-After`` header, else ``None``."""
    if not headers:
        return None
    value = headers.get('Retry-After')
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def metadata_to_dict(metadata):
    """Compute metadata ``{"items": [{"key", "value"}]}`` -> plain dict."""
    items = (metadata or {}).get('items') or []
    return dict((item.get('key'), item.get('value', '')) for item in items)


def dict_to_metadata_items(values):
    return [{'key': key, 'value': values[key]} for key in sorted(values)]


def dict_changes(before, after):
    """Keys whose values differ between two dicts (``before`` may be ``None``)."""
    before = before or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def exception_text(exc):
    """A short readable reason for a transport or auth exception (no reprs of nested objects)."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    found = re.search(r'\[Errno -?\d+\] ([^"\'\)]+)', text)
    if found:
        return found.group(1).strip()
    text = ' '.join(text.split()).rstrip('.')
    return text if len(text) <= 200 else text[:197] + '...'


def resolve_auth_kind(params):
    """The auth kind to use: explicit, else inferred from what was given."""
    kind = params.get('auth_kind')
    if kind:
        return kind
    if params.get('access_token'):
        return 'accesstoken'
    if params.get('service_account_file') or params.get('service_account_contents'):
        return 'serviceaccount'
    return 'application'


def check_auth_params(params):
    """Return an error sentence for contradictory or missing credential options, else ``None``."""
    kind = resolve_auth_kind(params)
    if kind not in AUTH_KINDS:
        return 'auth_kind must be one of %s, got %r' % (', '.join(AUTH_KINDS), kind)
    if params.get('service_account_file') and params.get('service_account_contents'):
        return 'service_account_file and service_account_contents are mutually exclusive: give one of them'
    if kind == 'accesstoken' and not params.get('access_token'):
        return 'auth_kind accesstoken needs access_token (or GCP_ACCESS_TOKEN)'
    if kind == 'serviceaccount' and not (params.get('service_account_file') or params.get('service_account_contents')):
        return 'auth_kind serviceaccount needs service_account_file or service_account_contents'
    if kind != 'accesstoken' and params.get('access_token') and params.get('auth_kind'):
        return 'access_token is only used with auth_kind accesstoken, not %s' % kind
    return None


def load_service_account_info(params):
    """The parsed service-account key from ``service_account_contents`` or ``service_account_file``."""
    contents = params.get('service_account_contents')
    path = params.get('service_account_file')
    if contents:
        if isinstance(contents, dict):
            return contents
        try:
            info = json.loads(contents)
        except ValueError as exc:
            raise GcpError('service_account_contents is not valid JSON: %s.' % exc) from None
        source = 'service_account_contents'
    else:
        try:
            with open(path, 'r', encoding='utf-8') as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise GcpError('Cannot read service account key file %s: %s.' % (path, exc.strerror or exc)) from None
        try:
            info = json.loads(text)
        except ValueError as exc:
            raise GcpError('Service account key file %s is not valid JSON: %s.' % (path, exc)) from None
        source = 'service account key file %s' % path
    if not isinstance(info, dict) or info.get('type') != 'service_account':
        raise GcpError('The %s is not a service account key (expected "type": "service_account").' % source)
    missing = [k for k in ('client_email', 'private_key', 'token_uri') if not info.get(k)]
    if missing:
        raise GcpError('The %s lacks %s.' % (source, ', '.join(missing)))
    return info


# --------------------------------------------------------------------------------------------
# One token per controller: a token cache shared by every module process of a run
# --------------------------------------------------------------------------------------------

TOKEN_CACHE_ENV = 'OPENCLAW_GCP_TOKEN_CACHE'
TOKEN_CACHE_DIRNAME = 'openclaw-gcp'
# A cached token is used only while more than this many seconds of it remain.
TOKEN_CACHE_MARGIN = 300.0
# How long a process waits for another one that is exchanging the same credentials.
TOKEN_CACHE_LOCK_SECONDS = 60.0


def token_cache_enabled(params, environ=None):
    """``token_cache`` option, else ``OPENCLAW_GCP_TOKEN_CACHE``, else on. ``accesstoken`` never caches."""
    if resolve_auth_kind(params) == 'accesstoken':
        return False
    value = params.get('token_cache')
    if value is None:
        environ = os.environ if environ is None else environ
        value = environ.get(TOKEN_CACHE_ENV)
    if value is None or value == '':
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('0', 'false', 'no', 'off', 'n', 'f'):
        return False
    if text in ('1', 'true', 'yes', 'on', 'y', 't'):
        return True
    raise GcpError('token_cache (or %s) must be a boolean, got %r.' % (TOKEN_CACHE_ENV, value))


def token_cache_dir(environ=None):
    """``$XDG_CACHE_HOME/openclaw-gcp``, else ``~/.cache/openclaw-gcp``: the user's, never the project's."""
    environ = os.environ if environ is None else environ
    base = environ.get('XDG_CACHE_HOME')
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, TOKEN_CACHE_DIRNAME)


def token_cache_key(kind, identity, scopes, token_uri):
    """File name of a cached token: a hash of who asks for what and where, never a secret itself."""
    material = json.dumps([kind, identity, sorted(scopes or []), token_uri or ''], sort_keys=True)
    return hashlib.sha256(material.encode('utf-8')).hexdigest()


def credentials_identity(kind, creds, info=None):
    """``(identity, token_uri)`` naming the credentials in a cache key, or ``None`` when unknown."""
    if kind == 'serviceaccount':
        info = info or {}
        return [info.get('client_email'), info.get('private_key_id')], info.get('token_uri')
    if kind == 'machineaccount':
        return [os.environ.get('GCE_METADATA_HOST') or os.environ.get('GCE_METADATA_ROOT') or 'metadata'], 'metadata'
    token_uri = getattr(creds, 'token_uri', None) or getattr(creds, '_token_uri', None)
    email = getattr(creds, 'service_account_email', None)
    refresh_token = getattr(creds, 'refresh_token', None)
    parts = [type(creds).__name__, email if isinstance(email, str) else None,
             getattr(creds, 'client_id', None), getattr(creds, 'quota_project_id', None),
             # a hash of the refresh token tells two users of one OAuth client apart
             hashlib.sha256(refresh_token.encode('utf-8')).hexdigest() if isinstance(refresh_token, str) else None]
    if not any(parts[1:]):
        return None
    return parts, token_uri if isinstance(token_uri, str) else None


def _private_dir(path):
    """Create (0700) or check the cache directory; ``False`` when it is not ours alone."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        found = os.lstat(path)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
            return False
        if stat.S_IMODE(found.st_mode) & 0o077:
            os.chmod(path, 0o700)
        return True
    except OSError:
        return False


def read_cached_token(path, margin=TOKEN_CACHE_MARGIN, now=None):
    """``(token, expiry epoch)`` from a cache file, or ``None`` when absent, near expiry or not trusted.

    A file that is not a regular file of ours with mode 0600 (or stricter), or that does not parse,
    is ignored (the next write replaces it). No lock: files are only ever replaced whole.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    except OSError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) & 0o077:
            return None
        with os.fdopen(fd, 'r', encoding='utf-8') as handle:
            fd = None
            data = json.loads(handle.read(65536))
    except (OSError, ValueError):
        return None
    finally:
        if fd is not None:
            os.close(fd)
    if not isinstance(data, dict):
        return None
    token, expiry = data.get('token'), data.get('expiry')
    if not isinstance(token, str) or not token or isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        return None
    if expiry - (time.time() if now is None else now) <= margin:
        return None
    return token, float(expiry)


def write_cached_token(path, token, expiry):
    """Store a token atomically (temporary file in the same directory, mode 0600, then rename)."""
    directory = os.path.dirname(path)
    try:
        fd, temp = tempfile.mkstemp(prefix='.token-', dir=directory)
    except OSError:
        return False
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump({'token': token, 'expiry': expiry}, handle)
        os.replace(temp, path)
        return True
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False


def _naive_utc(epoch):
    """google-auth keeps expiries as naive UTC datetimes."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(tzinfo=None)


def _epoch(expiry):
    return (expiry.replace(tzinfo=datetime.timezone.utc) if expiry.tzinfo is None else expiry).timestamp()


class CachedTokenCredentials(object):
    """google-auth credentials whose token comes from (and goes to) a per-user cache file.

    Wraps the real credentials: before a request, a token with more than ``margin`` seconds left
    is taken from the cache file; otherwise the wrapped credentials exchange once, under an
    exclusive lock (other processes that wanted a token at the same moment wait and take the
    one just written), and the token is written back. ``refresh`` (what AuthorizedSession calls
    after a 401) never takes the rejected token again.
    """

    def __init__(self, inner, path, margin=TOKEN_CACHE_MARGIN, lock_seconds=TOKEN_CACHE_LOCK_SECONDS, clock=None):
        self._inner = inner
        self._path = path
        self._margin = margin
        self._lock_seconds = lock_seconds
        self._clock = clock or time.time
        self.exchanges = 0

    def __getattr__(self, name):
        # universe_domain, quota_project_id, service_account_email, ... of the real credentials
        return getattr(self.__dict__['_inner'], name)

    @property
    def token(self):
        return self._inner.token

    @property
    def expiry(self):
        return self._inner.expiry

    def _usable(self, rejected=None):
        inner = self._inner
        if not inner.token or inner.token == rejected:
            return False
        if inner.expiry is None:
            return True
        return _epoch(inner.expiry) - self._clock() > self._margin

    def _adopt(self, rejected=None):
        cached = read_cached_token(self._path, self._margin, self._clock())
        if cached is None or cached[0] == rejected:
            return False
        self._inner.token, self._inner.expiry = cached[0], _naive_utc(cached[1])
        return True

    def _lock(self):
        """An exclusive lock on ``PATH.lock`` (a file descriptor), or ``None`` after ``lock_seconds``."""
        try:
            fd = os.open(self._path + '.lock', os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o600)
        except OSError:
            return None
        deadline = time.monotonic() + self._lock_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(0.05)

    def _obtain(self, request, rejected=None):
        if self._adopt(rejected):
            return
        fd = self._lock()
        try:
            # another process may have exchanged while this one waited for the lock
            if self._adopt(rejected):
                return
            self._inner.token = None
            self._inner.refresh(request)
            self.exchanges += 1
            if self._inner.token and self._inner.expiry is not None:
                write_cached_token(self._path, self._inner.token, _epoch(self._inner.expiry))
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def refresh(self, request):
        """A fresh token: called by AuthorizedSession after a 401, so the current one is not reused."""
        self._obtain(request, rejected=self._inner.token)

    def before_request(self, request, method, url, headers):
        if not self._usable():
            self._obtain(request)
        self._inner.before_request(request, method, url, headers)

    @property
    def valid(self):
        return self._usable()

    @property
    def expired(self):
        return not self._usable()

    def apply(self, headers, token=None):
        self._inner.apply(headers, token)


def token_cache_wrap(creds, kind, scopes, info=None, environ=None):
    """The credentials with the per-user token cache, or the same credentials when it cannot be used."""
    named = credentials_identity(kind, creds, info)
    if named is None:
        return creds
    directory = token_cache_dir(environ)
    if not _private_dir(directory):
        return creds
    return CachedTokenCredentials(creds, os.path.join(directory, token_cache_key(kind, named[0], scopes, named[1])))


# --------------------------------------------------------------------------------------------
# Eventual consistency: Google's answers that mean "not yet", not "no"
# --------------------------------------------------------------------------------------------

_SA_MISSING_RES = (
    re.compile(r"[Ss]ervice account (?:projects/[^/\s]+/serviceAccounts/)?'?([^'\s]+@[^'\s]+?)'? does not exist"),
    re.compile(r"does not have access to service account '([^'\s]+@[^'\s]+)'"),
)


def error_infos(body):
    """The ``google.rpc.ErrorInfo`` details of an error body: ``[(reason, metadata)]``."""
    err = body.get('error') if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return []
    out = []
    for detail in err.get('details') or []:
        if isinstance(detail, dict) and str(detail.get('@type', '')).endswith('google.rpc.ErrorInfo'):
            out.append((detail.get('reason'), detail.get('metadata') or {}))
    return out


def rpc_status(body):
    """The canonical status name of an error body (``ABORTED``, ``INVALID_ARGUMENT``), else ``None``."""
    err = body.get('error') if isinstance(body, dict) else None
    return err.get('status') if isinstance(err, dict) else None


def disabled_service(error):
    """``(service, consumer)`` when ``error`` says an API is not enabled, else ``None``."""
    if error.status != 403:
        return None
    for reason, metadata in error_infos(error.body):
        if reason == 'SERVICE_DISABLED':
            return metadata.get('service'), metadata.get('consumer')
    if error.reason == 'accessNotConfigured':
        found = re.search(r'([a-z0-9.-]+\.googleapis\.com)', error.google_message or '')
        return (found.group(1) if found else None), None
    return None


def missing_service_account(error):
    """The e-mail of the service account a 400 says does not exist (or may not be used), else ``None``."""
    if error.status != 400:
        return None
    for pattern in _SA_MISSING_RES:
        found = pattern.search(error.google_message or '')
        if found:
            return found.group(1).rstrip('.')
    return None


def resource_not_ready(reason):
    return reason in ('resourceNotReady', 'RESOURCE_NOT_READY')


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------

class GcpClient(object):
    """Authenticated, retrying access to Google's REST APIs for one module or inventory run.

    ``params`` holds the shared options (project, auth_kind, service_account_file,
    service_account_contents, access_token, scopes, api_endpoint_overrides, universe_domain).
    Every failure raises ``GcpError`` with a one-sentence message.

    Three kinds of failure are waited out, each bounded:

    * transient answers (HTTP 429, 5xx, connection errors): ``max_attempts`` within
      ``max_retry_seconds``, exponential back-off with jitter, ``Retry-After`` honoured;
    * Google settling after a change (eventual consistency): an API enabled moments ago
      (403 SERVICE_DISABLED while Service Usage says ENABLED), a service account created moments
      ago (400 "does not exist" while IAM already has it), a resource busy with another operation
      (``resourceNotReady``): up to ``settle_timeout`` seconds. The same answer for an API that is
      really disabled, or an account that really does not exist, fails at once;
    * stale fingerprints and etags (HTTP 412, 409 ABORTED): re-read through ``reconcile`` and
      try again, ``conflict_retries`` times.
    """

    def __init__(self, params, session=None, max_attempts=8, max_retry_seconds=120.0,
                 backoff_base=0.5, backoff_cap=8.0, settle_timeout=180.0, sleep=None, clock=None, rand=None,
                 environ=None):
        self.params = dict(params)
        self.project = self.params.get('project')
        environ = os.environ if environ is None else environ
        self.environ = environ
        self.overrides = endpoint_overrides(self.params, environ)
        universe = self.params.get('universe_domain')
        for name in UNIVERSE_ENV:
            universe = universe or environ.get(name)
        self.universe_domain = universe or None
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.settle_timeout = settle_timeout
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.rand = rand or random.random
        self._session = session
        self._credentials = None
        self._known = {}
        self._probing = False
        self.stats = {'requests': 0, 'retries': 0, 'writes': 0, 'settling': 0}

    # -- credentials and session ------------------------------------------------------------

    def credentials(self):
        """Build (once) the google-auth credentials. Reads files but does not touch the network."""
        if self._credentials is not None:
            return self._credentials
        if not HAS_GOOGLE_AUTH:
            raise GcpError(missing_required_lib('google-auth'))
        problem = check_auth_params(self.params)
        if problem:
            raise GcpError(problem + '.')
        problems = check_endpoint_params(self.params)
        if problems:
            raise GcpError('; '.join(problems) + '.')
        kind = resolve_auth_kind(self.params)
        scopes = self.params.get('scopes') or DEFAULT_SCOPES
        info = None
        try:
            if kind == 'accesstoken':
                creds = google.oauth2.credentials.Credentials(self.params['access_token'])
            elif kind == 'serviceaccount':
                info = load_service_account_info(self.params)
                creds = google.oauth2.service_account.Credentials.from_service_account_info(info, scopes=scopes)
            elif kind == 'machineaccount':
                # imported only when used: it is slow to import and most runs don't need it
                creds = importlib.import_module('google.auth.compute_engine').Credentials()
            else:
                creds, dummy = google.auth.default(scopes=scopes)
        except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            raise GcpError('Cannot load %s credentials: %s.' % (kind, exc)) from None
        own = getattr(creds, 'universe_domain', None)
        if kind in ('serviceaccount', 'application') and isinstance(own, str) and own:
            if self.universe_domain and own != self.universe_domain:
                raise GcpError('The %s credentials belong to universe domain %s, not to universe_domain %s.' % (
                    kind, own, self.universe_domain))
            if own != DEFAULT_UNIVERSE_DOMAIN:
                self.universe_domain = own
        if token_cache_enabled(self.params, self.environ):
            # one token exchange per controller (and credentials), shared by every module process
            creds = token_cache_wrap(creds, kind, scopes, info, self.environ)
        self._credentials = creds
        return creds

    @property
    def session(self):
        """One AuthorizedSession per run: the token is fetched once and reused."""
        if self._session is None:
            if not HAS_REQUESTS:
                raise GcpError(missing_required_lib('requests'))
            creds = self.credentials()
            if resolve_auth_kind(self.params) == 'accesstoken':
                # a bare token cannot be refreshed: let a 401 come back as the API's own answer
                self._session = google.auth.transport.requests.AuthorizedSession(creds, refresh_status_codes=())
            else:
                self._session = google.auth.transport.requests.AuthorizedSession(creds)
            self._session.headers['User-Agent'] = USER_AGENT
        return self._session

    def require_project(self):
        if not self.project:
            raise GcpError('No GCP project given: set the project option or the GCP_PROJECT environment variable.')
        return self.project

    # -- URLs ---------------------------------------------------------------------------------

    def url(self, api, path):
        if path.startswith('http://') or path.startswith('https://'):
            raise GcpError('Refusing to follow an absolute link %s: the client builds URLs from names.' % path)
        return api_base(api, self.overrides, self.universe_domain) + path.lstrip('/')

    # -- the request loop ---------------------------------------------------------------------

    def call(self, method, api, path, action, resource, params=None, body=None, allow_404=False,
             idempotent=None, reconcile=None, timeout=60.0, conflict_retries=1):
        """Send one API request with retries; return the parsed JSON (``{}`` for an empty body).

        ``allow_404``: return ``None`` on 404 instead of failing.
        ``idempotent``: retry freely (default: GET only). A non-idempotent call (a mutation) is
        retried on transient errors only after ``reconcile()`` (read-before-retry) said it is not
        yet applied. ``reconcile`` returns an ``Applied`` (done, stop), a dict (a fresh body, e.g.
        with a new fingerprint or etag, to send on the retry) or ``None`` (send the same request
        again). It is also asked after a retried mutation met a 404/409/412 (a lost first attempt
        may have done the work already) and when a fingerprint or etag was stale (412, 409
        ABORTED), at most ``conflict_retries`` times.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method == 'GET'
        url = self.url(api, path)
        started = self.clock()
        attempt = 0
        had_transient = False
        conflicts = 0
        settle_started = None
        settle_round = 0
        while True:
            attempt += 1
            self.stats['requests'] += 1
            if not idempotent:
                self.stats['writes'] += 1
            transient = None
            response = None
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=(10.0, timeout))
            except requests.exceptions.RequestException as exc:
                transient = 'connection error (%s: %s)' % (exc.__class__.__name__, exception_text(exc))
            except google.auth.exceptions.TransportError as exc:
                transient = 'token request failed (%s)' % exception_text(exc)
            except google.auth.exceptions.RefreshError as exc:
                if getattr(exc, 'retryable', False):
                    transient = 'token refresh failed (%s)' % exception_text(exc)
                else:
                    raise GcpError('Failed to %s %s: could not obtain an access token: %s.' % (
                        action, resource, exception_text(exc))) from None

            if response is not None:
                status = response.status_code
                if status < 300:
                    return self._json(response, action, resource)
                if status == 404 and allow_404:
                    return None
                if status in RETRY_STATUSES:
                    transient = 'HTTP %s' % status
                else:
                    error = self._http_error(action, resource, response)
                    stale = status == 412 or (status == 409 and 'ABORTED' in (str(error.reason).upper(), rpc_status(error.body)))
                    if reconcile is not None and ((not idempotent and had_transient and status in (404, 409, 412))
                                                  or (stale and conflicts < conflict_retries)):
                        conflicts += 1
                        if conflicts > 1:
                            self.sleep(backoff_delay(conflicts - 2, self.backoff_base, self.backoff_cap, self.rand))
                        outcome = reconcile()
                        if isinstance(outcome, Applied):
                            return outcome.value
                        if isinstance(outcome, dict) and (stale or status == 412):
                            body = outcome
                            continue
                        raise error
                    settling = self.settling(error, api)
                    if settling is None:
                        raise error
                    now = self.clock()
                    settle_started = now if settle_started is None else settle_started
                    waited = now - settle_started
                    if waited >= self.settle_timeout:
                        raise error.amend('still so after %.0f s of waiting for Google to settle (%s)' % (waited, settling))
                    # Rejected, so not applied: the same request is sent again once Google settles.
                    self._settle_pause(settle_round, self.settle_timeout - waited)
                    settle_round += 1
                    continue

            # transient failure: back off (bounded in count and time), then retry
            had_transient = True
            elapsed = self.clock() - started
            if attempt >= self.max_attempts or elapsed >= self.max_retry_seconds:
                if response is not None:
                    raise self._http_error(action, resource, response).amend(
                        'gave up after %d attempts in %.0f s' % (attempt, elapsed))
                raise GcpError('Failed to %s %s: %s, gave up after %d attempts in %.0f s.' % (
                    action, resource, transient, attempt, elapsed))
            delay = backoff_delay(attempt - 1, self.backoff_base, self.backoff_cap, self.rand)
            hinted = retry_after_seconds(response.headers if response is not None else None)
            if hinted is not None:
                delay = max(delay, min(hinted, self.backoff_cap))
            delay = min(delay, max(0.0, self.max_retry_seconds - elapsed))
            self.stats['retries'] += 1
            self.sleep(delay)
            if not idempotent and reconcile is not None:
                outcome = reconcile()
                if isinstance(outcome, Applied):
                    return outcome.value
                if isinstance(outcome, dict):
                    body = outcome

    # -- eventual consistency -------------------------------------------------------------------

    def settling(self, error, api):
        """Why ``error`` is Google settling after a recent change (a sentence), or ``None`` when it is real.

        Each suspicion is checked once against the API that owns the truth: Service Usage for an
        API's state, IAM for a service account. Those lookups never settle themselves.
        """
        if self._probing:
            return None
        if resource_not_ready(error.reason):
            return 'the resource is busy with another operation'
        disabled = disabled_service(error)
        if disabled:
            service = disabled[0] or '%s.googleapis.com' % APIS[api][0]
            state = self._probe(('service', service), lambda: self._service_state(service, disabled[1]))
            if state == 'DISABLED':
                error.amend('enable it first, for example with openclaw.gcp.project_service')
                return None
            return '%s is enabled but not yet active' % service
        email = missing_service_account(error)
        if email:
            exists = self._probe(('account', email), lambda: self._account_exists(email))
            if exists is False:
                return None
            return 'service account %s exists in IAM but is not yet visible here' % email
        return None

    def _settle_pause(self, settle_round, remaining):
        """Back off before asking again while Google settles (never past ``remaining`` seconds)."""
        self.stats['settling'] += 1
        self.sleep(max(0.0, min(backoff_delay(settle_round, 1.0, 10.0, self.rand), remaining)))

    def _probe(self, key, lookup):
        """The cached answer of a truth lookup; ``None`` when the lookup itself failed (unknown)."""
        if key not in self._known:
            self._probing = True
            try:
                self._known[key] = lookup()
            except GcpError:
                return None
            finally:
                self._probing = False
        return self._known[key]

    def _service_state(self, service, consumer):
        owner = consumer or ('projects/%s' % self.require_project())
        found = self.get('serviceusage', '%s/services/%s' % (owner, service), 'read', 'service %s' % service)
        return (found or {}).get('state', 'DISABLED')

    def _account_exists(self, email):
        return self.get('iam', 'projects/-/serviceAccounts/%s' % email, 'read', 'service account %s' % email) is not None

    @staticmethod
    def _json(response, action, resource):
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get('Content-Type') or 'no content type'
            raise GcpError('Failed to %s %s: %s answered HTTP %s with a body that is not JSON (%s): %s.' % (
                action, resource, response.url, response.status_code, kind,
                ' '.join(response.text.split())[:120] or 'empty')) from None

    def _http_error(self, action, resource, response):
        try:
            body = response.json()
        except ValueError:
            body = response.text
        reason, message = parse_google_error(body)
        sentence = format_api_error(action, resource, response.status_code, body)
        if response.status_code == 401:
            sentence = sentence[:-1] + ' (the %s credentials were rejected).' % resolve_auth_kind(self.params)
        return GcpError(sentence, status=response.status_code, reason=reason, google_message=message, body=body)

    def get(self, api, path, action, resource, params=None, allow_404=True):
        return self.call('GET', api, path, action, resource, params=params, allow_404=allow_404)

    # -- pagination ---------------------------------------------------------------------------

    def pages(self, api, path, action, resource, params=None, page_size=500, max_pages=1000):
        """Every page of a paginated list (follows ``nextPageToken``, refuses a loop)."""
        query = dict(params or {})
        if page_size:
            query.setdefault('maxResults' if api == 'compute' else 'pageSize', page_size)
        seen = set()
        for dummy in range(max_pages):
            page = self.call('GET', api, path, action, resource, params=dict(query)) or {}
            yield page
            token = page.get('nextPageToken')
            if not token:
                return
            if token in seen:
                raise GcpError('Failed to %s %s: the API returned the same page token twice.' % (action, resource))
            seen.add(token)
            query['pageToken'] = token
        raise GcpError('Failed to %s %s: more than %d pages.' % (action, resource, max_pages))

    def list_all(self, api, path, action, resource, params=None, items_key='items', page_size=500, max_pages=1000):
        """Every item of a paginated list."""
        items = []
        for page in self.pages(api, path, action, resource, params, page_size, max_pages):
            items.extend(page.get(items_key) or [])
        return items

    def aggregated_list(self, collection, action, resource, filter_expr=None, project=None, page_size=500, max_pages=1000):
        """``(scope, item)`` pairs of a Compute aggregatedList across zones/regions, every page."""
        query = {'returnPartialSuccess': 'true'}
        if filter_expr:
            query['filter'] = filter_expr
        path = 'projects/%s/aggregated/%s' % (project or self.require_project(), collection)
        out = []
        for page in self.pages('compute', path, action, resource, query, page_size, max_pages):
            for scope, scoped in sorted((page.get('items') or {}).items()):
                for item in (scoped or {}).get(collection) or []:
                    out.append((scope, item))
        return out

    # -- waiting --------------------------------------------------------------------------------

    def poll(self, fetch, done, timeout, describe, first=None, pause=0.2, cap=3.0):
        """The one polling loop: ``fetch()`` until ``done(value)``, pausing with a growing delay.

        ``first`` is a value already in hand (checked before any fetch). ``describe(value)`` gives
        the end of the timeout sentence ("waiting for X (it is Y)"). Raises ``GcpError`` after
        ``timeout`` seconds.
        """
        deadline = self.clock() + timeout
        value = first
        if value is None or not done(value):
            while True:
                before = self.clock()
                value = fetch()
                if done(value):
                    break
                if self.clock() >= deadline:
                    raise GcpError('Timed out after %.0f s %s; raise timeout or check again later.' % (
                        timeout, describe(value)))
                if self.clock() - before < 1.0:
                    # an answer that came at once (not a long poll): don't spin
                    self.sleep(min(pause, max(0.0, deadline - self.clock())))
                    pause = min(pause * 2, cap)
        return value

    def wait_compute_operation(self, operation, action, resource, timeout=300.0, project=None):
        """Wait for a Compute operation with its ``wait`` method; fail on error or timeout."""
        if not operation:
            return operation
        project = project or self.require_project()
        name = operation.get('name')
        if operation.get('zone'):
            base = 'projects/%s/zones/%s/operations/%s' % (project, short_name(operation['zone']), name)
        elif operation.get('region'):
            base = 'projects/%s/regions/%s/operations/%s' % (project, short_name(operation['region']), name)
        else:
            base = 'projects/%s/global/operations/%s' % (project, name)
        deadline = self.clock() + timeout
        operation = self.poll(
            lambda: self.call('POST', 'compute', base + '/wait', 'wait for the operation to %s' % action, resource,
                              idempotent=True, timeout=min(130.0, max(1.0, deadline - self.clock()) + 10.0)),
            lambda op: op.get('status') == 'DONE', timeout,
            lambda op: 'waiting for %s %s (operation %s is still %s)' % (action, resource, name, op.get('status', 'PENDING')),
            first=operation, cap=2.0)
        self._raise_operation_error(operation, action, resource)
        return operation

    def wait_lro(self, api, operation, action, resource, timeout=300.0):
        """Wait for a google.longrunning operation (Service Usage, Resource Manager) by polling."""
        if not operation:
            return operation
        name = operation.get('name')
        if not operation.get('done') and not name:
            raise GcpError('Failed to %s %s: the API returned an operation without a name.' % (action, resource))
        operation = self.poll(
            lambda: self.call('GET', api, name, 'wait for the operation to %s' % action, resource),
            lambda op: op.get('done'), timeout,
            lambda op: 'waiting for %s %s (operation %s is not done)' % (action, resource, name),
            first=operation, cap=5.0)
        self._raise_operation_error(operation, action, resource)
        return operation

    @staticmethod
    def _raise_operation_error(operation, action, resource):
        if operation.get('error'):
            reason, message = operation_error(operation) or (None, None)
            raise GcpError(format_operation_error(action, resource, operation), reason=reason, google_message=message)

    # -- Compute mutations ------------------------------------------------------------------------

    def compute_mutation(self, method, path, action, resource, body=None, params=None, reconcile=None,
                         wait=True, timeout=300.0):
        """The one way to change a Compute resource: a request id (the same on every retry of that
        request), read-before-retry through ``reconcile``, the operation waited for when ``wait``.

        An operation that fails with RESOURCE_NOT_READY (the resource was busy) applied nothing:
        the mutation is sent again, with a fresh request id and body, until ``timeout``.
        """
        deadline = self.clock() + timeout
        settle_round = 0
        while True:
            query = dict(params or {})
            query['requestId'] = self.request_id()
            op = self.call(method, 'compute', path, action, resource, params=query, body=body, reconcile=reconcile)
            if not op or not wait:
                return op
            try:
                return self.wait_compute_operation(op, action, resource, timeout=max(1.0, deadline - self.clock()))
            except GcpError as exc:
                if not resource_not_ready(exc.reason) or self.clock() >= deadline:
                    raise
            self._settle_pause(settle_round, deadline - self.clock())
            settle_round += 1
            if reconcile is not None:
                outcome = reconcile()
                if isinstance(outcome, Applied):
                    return outcome.value
                if isinstance(outcome, dict):
                    body = outcome

    @staticmethod
    def request_id():
        """A fresh id for a mutation; reuse it on every retry of that mutation."""
        return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------
# The module base
# --------------------------------------------------------------------------------------------

def gcp_argument_spec():
    """Shared authentication and endpoint options (documented in the ``openclaw.gcp.gcp`` fragment)."""
    return dict(
        project=dict(type='str', fallback=(env_fallback, ['GCP_PROJECT'])),
        auth_kind=dict(type='str', choices=AUTH_KINDS, fallback=(env_fallback, ['GCP_AUTH_KIND'])),
        service_account_file=dict(type='path', fallback=(env_fallback, ['GCP_SERVICE_ACCOUNT_FILE'])),
        service_account_contents=dict(type='jsonarg', no_log=True, fallback=(env_fallback, ['GCP_SERVICE_ACCOUNT_CONTENTS'])),
        access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['GCP_ACCESS_TOKEN'])),
        scopes=dict(type='list', elements='str', fallback=(env_fallback, ['GCP_SCOPES'])),
        # Read from gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_<SERVICE> variables when not given.
        api_endpoint_overrides=dict(type='dict'),
        universe_domain=dict(type='str', fallback=(env_fallback, list(UNIVERSE_ENV))),
        token_cache=dict(type='bool', fallback=(env_fallback, [TOKEN_CACHE_ENV])),
    )


class GcpModule(AnsibleModule):
    """AnsibleModule with the shared GCP options and a ready ``self.client``.

    Credential problems (unreadable key file, contradictory options) and a missing project (when
    ``require_project``) fail here, before any request.
    """

    def __init__(self, argument_spec=None, require_project=True, **kwargs):
        spec = gcp_argument_spec()
        spec.update(argument_spec or {})
        super(GcpModule, self).__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        if not HAS_GOOGLE_AUTH:
            self.fail_json(msg=missing_required_lib('google-auth'), exception=GOOGLE_AUTH_IMPORT_ERROR)
        if require_project and not self.params.get('project'):
            self.fail_json(msg='No GCP project given: set the project option or the GCP_PROJECT environment variable.')
        timeout = self.params.get('timeout')
        self.client = GcpClient(self.params, **({'settle_timeout': float(timeout)} if isinstance(timeout, (int, float)) and timeout > 0 else {}))
        try:
            self.client.credentials()
        except GcpError as exc:
            self.fail_json(msg=exc.message)

    def fail_gcp(self, exc, **kwargs):
        """Fail the task with a ``GcpError``'s sentence (and status/reason when known)."""
        result = exc.as_dict()
        result.update(kwargs)
        self.fail_json(msg=exc.message, **result)
