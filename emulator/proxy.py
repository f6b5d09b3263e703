"""HTTPS-proxy mode: unmodified Google clients reach the emulator through ``HTTPS_PROXY``.

A client configured with ``HTTPS_PROXY=http://127.0.0.1:PROXY_PORT`` and
``REQUESTS_CA_BUNDLE=DIR/proxy-ca.pem`` opens ``CONNECT compute.googleapis.com:443``; the
emulator answers 200, speaks TLS itself with a certificate for that host signed by a throwaway
CA it made in the state directory, and serves the decrypted requests with the same handlers as
its plain endpoint, after mapping Google's host + path to the emulator's path prefix. CONNECT
to any other host is refused (403): nothing leaves the machine.
"""

import datetime
import ipaddress
import os
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .server import Handler

# Google host -> [(path prefix there, path prefix on the emulator)]; first match wins.
HOSTS = {
    "compute.googleapis.com": [("/compute/", "/compute/"), ("/batch/", "/batch/")],
    "www.googleapis.com": [("/compute/", "/compute/"), ("/oauth2/v4/token", "/token")],
    "oauth2.googleapis.com": [("/token", "/token")],
    "accounts.google.com": [("/o/oauth2/token", "/token")],
    "serviceusage.googleapis.com": [("/v1/", "/serviceusage/v1/")],
    "iam.googleapis.com": [("/v1/", "/iam/v1/")],
    "iamcredentials.googleapis.com": [("/v1/", "/iamcredentials/v1/")],
    "cloudresourcemanager.googleapis.com": [("/v1/", "/cloudresourcemanager/v1/"),
                                            ("/v3/", "/cloudresourcemanager/v3/")],
    "cloudbilling.googleapis.com": [("/v1/", "/cloudbilling/v1/")],
    "tunnel.cloudproxy.app": [("/v4/", "/iap/v4/")],   # IAP TCP forwarding (iap.py)
}


def map_path(host, path):
    """The emulator path for ``path`` on Google's ``host``, or None."""
    for prefix, local in HOSTS.get(host.lower(), []):
        if path.startswith(prefix):
            return local + path[len(prefix):]
    return None


class Authority:
    """The throwaway CA (``DIR/proxy-ca.pem``) and one TLS context per intercepted host."""

    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "proxy")
        os.makedirs(self.dir, exist_ok=True)
        self.ca_file = os.path.join(state_dir, "proxy-ca.pem")
        key_file = os.path.join(self.dir, "ca-key.pem")
        if os.path.exists(self.ca_file) and os.path.exists(key_file):
            with open(self.ca_file, "rb") as handle:
                self.ca_cert = x509.load_pem_x509_certificate(handle.read())
            with open(key_file, "rb") as handle:
                self.ca_key = serialization.load_pem_private_key(handle.read(), None)
        else:
            self.ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                 "openclaw-gcp emulator throwaway CA")])
            now = datetime.datetime.now(datetime.timezone.utc)
            self.ca_cert = (
                x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                    self.ca_key.public_key()), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
            _write(key_file, self.ca_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()), 0o600)
            _write(self.ca_file, self.ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        self._contexts = {}
        self._lock = threading.Lock()

    def context(self, host):
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._make_context(host)
            return self._contexts[host]

    def _make_context(self, host):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        try:
            alt = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        path = os.path.join(self.dir, "%s.pem" % host)
        _write(path, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
               + cert.public_bytes(serialization.Encoding.PEM)
               + self.ca_cert.public_bytes(serialization.Encoding.PEM), 0o600)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(path)
        context.set_alpn_protocols(["http/1.1"])
        return context


def _write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class ProxyHandler(Handler):
    """CONNECT to a Google host: TLS in the middle, then the emulator's own handlers."""

    tunnel_host = None

    def do_CONNECT(self):  # pylint: disable=invalid-name
        host, port = self.path.rsplit(":", 1) if ":" in self.path else (self.path, "")
        host = host.strip("[]").lower()
        if host not in HOSTS or port != "443":
            self._refuse("CONNECT to %s is refused: only Google API hosts are answered, "
                         "locally." % self.path)
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        try:
            tls = self.server.authority.context(host).wrap_socket(self.connection,
                                                                  server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.connection = tls
        self.rfile = tls.makefile("rb", self.rbufsize)
        self.wfile = tls.makefile("wb", 0)
        self.tunnel_host = host
        self.close_connection = False
        while not self.close_connection:
            self.handle_one_request()

    def _refuse(self, message):
        data = (message + "\n").encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _serve(self):
        if self.tunnel_host is None:
            self._refuse("This is a proxy for HTTPS (CONNECT) to Google API hosts only.")
            return
        path, sep, query = self.path.partition("?")
        local = map_path(self.tunnel_host, path)
        if local is None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._refuse("%s%s is not emulated." % (self.tunnel_host, path))
            self.close_connection = True
            return
        self.path = local + sep + query
        super()._serve()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
