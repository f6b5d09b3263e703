# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HTTPS-intercepting forward proxy in front of the local GCE emulator.

`google.cloud` (its `gcp_compute` inventory and `gcp_compute_instance` module) has Google's
hosts written into it and no endpoint option. To run it, unmodified, against the emulator:

* the client gets ``HTTPS_PROXY=http://127.0.0.1:PORT`` and ``REQUESTS_CA_BUNDLE=CA_FILE``;
* the client opens ``CONNECT compute.googleapis.com:443``; the proxy answers ``200``, then
  speaks TLS itself with a leaf certificate for that host, signed by a throwaway CA made at
  start-up (``cryptography``, files in a temporary directory removed on stop);
* each decrypted HTTP/1.1 request is forwarded as plain HTTP to the emulator's single
  ``ENDPOINT`` under the path prefix of its API (``DEVELOPING.md``), and the answer is relayed.

google-auth's background ``iamcredentials .../allowedLocations`` lookup is answered here, and
a CONNECT to any host outside the table is refused with 403: nothing leaves loopback.

Run by hand: ``python bench/https_proxy.py ENDPOINT`` prints the two variables to export.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import select
import shutil
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import urllib.parse
from collections import Counter

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Google host -> list of (path prefix on that host, path prefix under the emulator's ENDPOINT).
# The first matching prefix wins; the rest of the path is kept.
HOST_MAP = {
    'compute.googleapis.com': [('/compute/v1/', '/compute/v1/')],
    'www.googleapis.com': [('/compute/v1/', '/compute/v1/'), ('/oauth2/v4/token', '/token')],
    'oauth2.googleapis.com': [('/token', '/token')],
    'serviceusage.googleapis.com': [('/v1/', '/serviceusage/v1/')],
    'iam.googleapis.com': [('/v1/', '/iam/v1/')],
    'cloudresourcemanager.googleapis.com': [('/v1/', '/cloudresourcemanager/v1/'),
                                            ('/v3/', '/cloudresourcemanager/v3/')],
    'cloudbilling.googleapis.com': [('/v1/', '/cloudbilling/v1/')],
}
# Answered by the proxy itself (google-auth's Regional Access Boundary lookup).
LOCAL_HOSTS = ('iamcredentials.googleapis.com',)
INTERCEPTED_HOSTS = tuple(HOST_MAP) + LOCAL_HOSTS

_HOP_HEADERS = frozenset(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization',
                          'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
                          'content-length'])
_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024
_IDLE_TIMEOUT = 30.0


def map_request(host, path):
    """Return the emulator path for ``https://host/path`` or None when the proxy has no route."""
    for src, dst in HOST_MAP.get(host, ()):
        if path == src.rstrip('/') or path.startswith(src):
            return dst + path[len(src):]
    return None


class _CertAuthority:
    """A throwaway CA and one leaf certificate per intercepted host, written to ``directory``."""

    def __init__(self, directory, hosts):
        self.directory = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self._not_before = now - datetime.timedelta(minutes=5)
        self._not_after = now + datetime.timedelta(days=2)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'openclaw-gcp bench throwaway CA')])
        self._name = name
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before).not_valid_after(self._not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = os.path.join(directory, 'ca.pem')
        with open(self.ca_file, 'wb') as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.contexts = {host: self._leaf_context(host) for host in hosts}

    def _leaf_context(self, host):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before).not_valid_after(self._not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        path = os.path.join(self.directory, host + '.pem')
        with open(path, 'wb') as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(path)
        ctx.set_alpn_protocols(['http/1.1'])
        return ctx


class _BadRequest(Exception):
    pass


def _read_head(rfile):
    """Read a request line + headers; None on a clean EOF before any byte."""
    line = rfile.readline(_MAX_HEADER_BYTES)
    if not line:
        return None
    if not line.endswith(b'\n'):
        raise _BadRequest('request line too long')
    parts = line.decode('latin-1').rstrip('\r\n').split(' ')
    if len(parts) != 3:
        raise _BadRequest('malformed request line %r' % line[:80])
    headers = []
    total = len(line)
    while True:
        h = rfile.readline(_MAX_HEADER_BYTES)
        total += len(h)
        if total > _MAX_HEADER_BYTES:
            raise _BadRequest('headers too long')
        if h in (b'\r\n', b'\n', b''):
            break
        k, _sep, v = h.decode('latin-1').partition(':')
        headers.append((k.strip(), v.strip()))
    return parts[0], parts[1], parts[2], headers


def _header(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


def _read_body(rfile, headers):
    if (_header(headers, 'transfer-encoding') or '').lower() == 'chunked':
        chunks = []
        size_total = 0
        while True:
            size_line = rfile.readline(1024)
            size = int(size_line.split(b';')[0].strip() or b'0', 16)
            if size == 0:
                while rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass
                break
            size_total += size
            if size_total > _MAX_BODY_BYTES:
                raise _BadRequest('body too large')
            chunks.append(rfile.read(size))
            rfile.readline(8)
        return b''.join(chunks)
    length = int(_header(headers, 'content-length', '0') or 0)
    if length > _MAX_BODY_BYTES:
        raise _BadRequest('body too large')
    return rfile.read(length) if length else b''


def _write_response(wfile, status, reason, headers, body, keep_alive):
    out = ['HTTP/1.1 %d %s' % (status, reason)]
    for k, v in headers:
        if k.lower() not in _HOP_HEADERS:
            out.append('%s: %s' % (k, v))
    out.append('Content-Length: %d' % len(body))
    out.append('Connection: %s' % ('keep-alive' if keep_alive else 'close'))
    wfile.write(('\r\n'.join(out) + '\r\n\r\n').encode('latin-1') + body)
    wfile.flush()


class _Handler(socketserver.StreamRequestHandler):
    timeout = _IDLE_TIMEOUT

    def handle(self):
        proxy = self.server.proxy
        try:
            head = _read_head(self.rfile)
        except (_BadRequest, OSError, ValueError):
            return
        if head is None:
            return
        method, target, _version, _headers = head
        if method != 'CONNECT':
            # Plain-HTTP proxying is not this proxy's job (NO_PROXY covers loopback).
            proxy.count('refused', target)
            _write_response(self.wfile, 405, 'Method Not Allowed', [], b'CONNECT only\n', False)
            return
        host, _sep, port = target.rpartition(':')
        if host not in INTERCEPTED_HOSTS or port != '443':
            proxy.count('refused', target)
            _write_response(self.wfile, 403, 'Forbidden', [],
                            ('%s is not an intercepted Google API host\n' % target).encode(), False)
            return
        proxy.count('connect', host)
        self.wfile.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
        self.wfile.flush()
        try:
            tls = proxy.authority.contexts[host].wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            proxy.count('tls_error', host)
            return
        tls.settimeout(_IDLE_TIMEOUT)
        rfile = tls.makefile('rb')
        wfile = tls.makefile('wb')
        upstream = None
        try:
            while True:
                try:
                    head = _read_head(rfile)
                except (_BadRequest, ValueError):
                    _write_response(wfile, 400, 'Bad Request', [], b'bad request\n', False)
                    break
                if head is None:
                    break
                method, path, version, headers = head
                body = _read_body(rfile, headers)
                keep_alive = (version == 'HTTP/1.1'
                              and (_header(headers, 'connection', '') or '').lower() != 'close')
                upstream = self._forward(proxy, host, method, path, headers, body, wfile,
                                         keep_alive, upstream)
                if not keep_alive:
                    break
        except (OSError, ssl.SSLError, _BadRequest, ValueError):
            pass
        finally:
            if upstream is not None:
                upstream.close()
            for f in (rfile, wfile):
                try:
                    f.close()
                except OSError:
                    pass
            try:
                tls.close()
            except OSError:
                pass

    def _forward(self, proxy, host, method, path, headers, body, wfile, keep_alive, upstream):
        bare_path = path.split('?', 1)[0]
        if host in LOCAL_HOSTS:
            proxy.count('local', host + bare_path)
            if bare_path.endswith('/allowedLocations'):
                payload = json.dumps({'locations': [], 'encodedLocations': '0x0'}).encode()
                _write_response(wfile, 200, 'OK', [('Content-Type', 'application/json')],
                                payload, keep_alive)
            else:
                _write_response(wfile, 404, 'Not Found', [('Content-Type', 'application/json')],
                                b'{"error": {"code": 404, "message": "not emulated"}}', keep_alive)
            return upstream
        mapped = map_request(host, bare_path)
        if mapped is None:
            proxy.count('unmapped', host + bare_path)
            msg = json.dumps({'error': {'code': 404, 'status': 'NOT_FOUND',
                                        'message': 'https_proxy: no emulator route for https://%s%s'
                                                   % (host, bare_path)}}).encode()
            _write_response(wfile, 404, 'Not Found', [('Content-Type', 'application/json')],
                            msg, keep_alive)
            return upstream
        query = path[len(bare_path):]
        proxy.count('forwarded', host)
        fwd_headers = {k: v for k, v in headers if k.lower() not in _HOP_HEADERS}
        fwd_headers['X-Forwarded-Host'] = host
        for attempt in (1, 2):
            if upstream is None:
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                                      timeout=120)
            try:
                upstream.request(method, proxy.upstream_base + mapped + query, body=body,
                                 headers=fwd_headers)
                resp = upstream.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # A kept-alive upstream connection the emulator closed: reconnect once.
                # (Whether the emulator processed the request is its business: lost responses
                # are a fault it injects on purpose, and the client must see them as such.)
                upstream.close()
                upstream = None
                if attempt == 2:
                    proxy.count('upstream_error', host)
                    # Close the client connection without an answer, like a lost response.
                    raise OSError('upstream failed')
        _write_response(wfile, resp.status, resp.reason or 'OK', resp.getheaders(), data,
                        keep_alive)
        if resp.will_close:
            upstream.close()
            upstream = None
        return upstream


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class InterceptingProxy:
    """Start with ``with InterceptingProxy(endpoint) as p:``; ``p.env()`` gives the client vars."""

    def __init__(self, endpoint, host='127.0.0.1', port=0):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme != 'http' or not u.hostname:
            raise ValueError('endpoint must be http://HOST:PORT, got %r' % endpoint)
        if not ipaddress.ip_address(socket.gethostbyname(u.hostname)).is_loopback:
            raise ValueError('the emulator endpoint must be on loopback, got %r' % endpoint)
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError('the proxy listens on loopback only')
        self.endpoint = endpoint.rstrip('/')
        self.upstream_host = u.hostname
        self.upstream_port = u.port or 80
        self.upstream_base = u.path.rstrip('/')
        self._listen = (host, port)
        self._lock = threading.Lock()
        self.counters = Counter()
        self.by_key = Counter()
        self._tmp = None
        self._server = None
        self._thread = None
        self.authority = None

    # -- counters -----------------------------------------------------------------------------
    def count(self, kind, key):
        with self._lock:
            self.counters[kind] += 1
            self.by_key['%s %s' % (kind, key)] += 1

    def snapshot(self):
        with self._lock:
            return dict(self.counters)

    def reset_counters(self):
        with self._lock:
            self.counters.clear()
            self.by_key.clear()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self):
        self._tmp = tempfile.mkdtemp(prefix='openclaw-gcp-proxy-')
        self.authority = _CertAuthority(self._tmp, INTERCEPTED_HOSTS)
        self._server = _Server(self._listen, _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    @property
    def ca_file(self):
        return self.authority.ca_file

    def env(self):
        """Variables that make requests/google-auth go through this proxy."""
        return {
            'HTTPS_PROXY': self.url, 'https_proxy': self.url,
            'REQUESTS_CA_BUNDLE': self.ca_file, 'SSL_CERT_FILE': self.ca_file,
            'NO_PROXY': '127.0.0.1,localhost', 'no_proxy': '127.0.0.1,localhost',
        }


def main(argv):
    if len(argv) != 2:
        print('usage: python bench/https_proxy.py http://127.0.0.1:EMULATOR_PORT', file=sys.stderr)
        return 2
    with InterceptingProxy(argv[1]) as proxy:
        for k, v in proxy.env().items():
            print('export %s=%s' % (k, v))
        sys.stdout.flush()
        try:
            while True:
                select.select([], [], [], 3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
