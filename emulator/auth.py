"""OAuth2 for the emulator: a service-account key it issues, the JWT-bearer grant, bearer tokens.

Access tokens are stateless: ``ya29.emu.<payload>.<hmac>``, signed with a secret kept in the
state directory, so they stay valid across restarts of the same emulator.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600


def _b64url_decode(text):
    text += "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode())


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenError(Exception):
    """A failed token request, answered as ``{"error", "error_description"}``."""

    def __init__(self, error, description, code=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.code = code


class Auth:
    """Issues the service-account key, verifies assertions and access tokens."""

    def __init__(self, state_dir, project, endpoint):
        self.state_dir = state_dir
        self.project = project
        self.endpoint = endpoint
        self.email = "openclaw-automation@%s.iam.gserviceaccount.com" % project
        self._secret = self._load_or_create_secret()
        self._keys = {}  # key id -> public key
        self.key_file = os.path.join(state_dir, "service-account.json")
        self.google_key_file = os.path.join(state_dir, "service-account-google.json")
        self.token_file = os.path.join(state_dir, "access-token")
        self._load_or_create_key()
        self.static_token = self._load_or_create_static_token()

    # -- persistent material -------------------------------------------------------------
    def _load_or_create_secret(self):
        path = os.path.join(self.state_dir, "token-secret")
        if os.path.exists(path):
            with open(path, "rb") as handle:
                return handle.read()
        secret = secrets.token_bytes(32)
        _write_private(path, secret)
        return secret

    def _load_or_create_key(self):
        info = None
        if os.path.exists(self.key_file):
            with open(self.key_file, encoding="utf-8") as handle:
                info = json.load(handle)
            key = serialization.load_pem_private_key(info["private_key"].encode(), None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        key_id = info["private_key_id"] if info else secrets.token_hex(20)
        client_id = info["client_id"] if info else str(secrets.randbelow(10 ** 21))
        info = {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": self.email,
            "client_id": client_id,
            "auth_uri": self.endpoint + "/o/oauth2/auth",
            "token_uri": self.endpoint + "/token",
            "auth_provider_x509_cert_url": self.endpoint + "/oauth2/v1/certs",
            "client_x509_cert_url": self.endpoint + "/robot/v1/metadata/x509/" + self.email,
            "universe_domain": "googleapis.com",
        }
        _write_private(self.key_file, json.dumps(info, indent=2).encode())
        # The same key as Google issues it (token_uri at Google): for clients that reach the
        # emulator through its HTTPS proxy and must not know about it.
        google = dict(info, auth_uri="https://accounts.google.com/o/oauth2/auth",
                      token_uri="https://oauth2.googleapis.com/token",
                      auth_provider_x509_cert_url="https://www.googleapis.com/oauth2/v1/certs",
                      client_x509_cert_url="https://www.googleapis.com/robot/v1/metadata/x509/"
                      + self.email.replace("@", "%40"))
        _write_private(self.google_key_file, json.dumps(google, indent=2).encode())
        self._keys[key_id] = key.public_key()
        self.client_id = client_id

    def _load_or_create_static_token(self):
        if os.path.exists(self.token_file):
            with open(self.token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
            if token:
                return token
        token = "ya29.static." + secrets.token_urlsafe(32)
        _write_private(self.token_file, (token + "\n").encode())
        return token

    # -- the token endpoint --------------------------------------------------------------
    def exchange(self, form):
        """Answer ``POST /token``; returns the JSON body or raises TokenError."""
        grant = form.get("grant_type", "")
        if grant != JWT_BEARER:
            raise TokenError("unsupported_grant_type", "Invalid grant_type: %s" % grant)
        assertion = form.get("assertion", "")
        claims = self.verify_assertion(assertion)
        scope = claims.get("scope", "")
        token = self._issue(claims["iss"], scope)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME - 1, "token_type": "Bearer"}

    def verify_assertion(self, assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                             "(60 minutes) and in a reasonable timeframe.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, TypeError) as exc:
            raise TokenError("invalid_grant", "Invalid JWT: %s" % exc) from exc
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        # Google picks the key by the header's kid; a key file without private_key_id (AWX writes
        # such files) signs without one, and any of the account's keys may then verify it.
        if header.get("kid"):
            keys = [self._keys[header["kid"]]] if header["kid"] in self._keys else []
        else:
            keys = list(self._keys.values())
        if not keys:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        for key in keys:
            try:
                key.verify(signature, (parts[0] + "." + parts[1]).encode(),
                           padding.PKCS1v15(), hashes.SHA256())
                break
            except InvalidSignature:
                continue
        else:
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != self.email:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        now = time.time()
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenError("invalid_grant", "Invalid JWT: missing iat/exp") from exc
        if exp < now - 300 or iat > now + 300 or exp - iat > 3600 + 300:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                             "(60 minutes) and in a reasonable timeframe. Check your iat and "
                             "exp values in the JWT claim.")
        if not claims.get("scope") and not claims.get("target_audience"):
            raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return claims

    def _issue(self, subject, scope):
        payload = _b64url(json.dumps({"sub": subject, "exp": int(time.time()) + TOKEN_LIFETIME,
                                      "scope": scope, "n": secrets.token_hex(4)}).encode())
        mac = _b64url(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())
        return "ya29.emu.%s.%s" % (payload, mac)

    def principal(self, header):
        """The caller's identity for an ``Authorization`` header value, or None if invalid.

        Returns ``(kind, identity)``; raises LookupError when no credentials were sent."""
        if not header:
            raise LookupError("missing")
        scheme, token = (header.split(" ", 1) + [""])[:2]
        if scheme.lower() != "bearer" or not token:
            return None
        token = token.strip()
        if hmac.compare_digest(token, self.static_token):
            return ("user", "owner@openclaw.example")
        if not token.startswith("ya29.emu."):
            return None
        try:
            payload, mac = token[len("ya29.emu."):].split(".")
        except ValueError:
            return None
        good = _b64url(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(good, mac):
            return None
        claims = json.loads(_b64url_decode(payload))
        if claims["exp"] < time.time():
            return None
        return ("serviceAccount", claims["sub"])


def _write_private(path, data):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
