"""Identity-Aware Proxy TCP forwarding: the WebSocket relay ``gcloud compute start-iap-tunnel``
(and ``gcloud compute ssh --tunnel-through-iap``) speaks.

gcloud opens ``wss://tunnel.cloudproxy.app/v4/connect?project=P&port=22&newWebsocket=True&zone=Z
&instance=N&interface=nic0`` with the subprotocol ``relay.tunnel.cloudproxy.app`` and a bearer
token. Clients reach it through the emulator's HTTPS proxy (``proxy.py`` maps the host to
``/iap/v4/``) with ``core/custom_ca_certs_file`` naming the proxy's CA, exactly as behind a
TLS-inspecting corporate proxy; ``/iap/v4/`` on the plain endpoint serves the same relay.

Once the WebSocket is open the relay checks, like Google:

- the caller holds ``iap.tunnelInstances.accessViaIAP`` on the project (a binding of
  ``roles/owner`` or ``roles/iap.tunnelResourceAccessor`` without a condition), and the
  instance exists: else close ``4033 not authorized``;
- the instance is ``RUNNING``, an ingress firewall rule of its network admits
  ``35.235.240.0/20`` to that TCP port (target tags / service accounts and priorities
  honoured, a deny rule wins) and something listens there: else close
  ``4003 failed to connect to backend``.

Then it sends ``CONNECT_SUCCESS_SID`` and relays ``DATA`` frames both ways, acknowledging what
it received with ``ACK`` frames. A session whose WebSocket drops survives for ``GRACE`` seconds:
``/v4/reconnect?sid=S&ack=N`` resumes it (``RECONNECT_SUCCESS_ACK``, then the bytes the client
had not confirmed are sent again).

Subprotocol frames: a 2-byte tag, then ``CONNECT_SUCCESS_SID`` (1) uint32 length + sid,
``RECONNECT_SUCCESS_ACK`` (2) uint64, ``DATA`` (4) uint32 length + bytes (at most 16384),
``ACK`` (7) uint64 (bytes received so far).

The docker backend's instances are reached on their SSH address (``127.0.0.N:22``) for port 22
and on their container address for other ports; memory instances have nothing listening.
"""

import base64
import hashlib
import ipaddress
import logging
import secrets
import select
import socket
import struct
import threading
import time
import urllib.parse

LOG = logging.getLogger("emulator.iap")

RELAY_HOST = "tunnel.cloudproxy.app"
SUBPROTOCOL = "relay.tunnel.cloudproxy.app"
IAP_RANGE = ipaddress.ip_network("35.235.240.0/20")
PERMISSION = "iap.tunnelInstances.accessViaIAP"
GRANTING_ROLES = ("roles/owner", "roles/iap.tunnelResourceAccessor")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TAG_CONNECT_SUCCESS_SID = 0x0001
TAG_RECONNECT_SUCCESS_ACK = 0x0002
TAG_DATA = 0x0004
TAG_ACK = 0x0007
MAX_DATA = 16384

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

NOT_AUTHORIZED = (4033, "not authorized")
BACKEND_FAILED = (4003, "failed to connect to backend")
BAD_REQUEST = (4000, "bad request")
SESSION_GONE = (4040, "session not found")

GRACE = 60.0            # seconds a session whose WebSocket dropped waits for a reconnect
CONNECT_TIMEOUT = 5.0   # seconds to open the TCP connection to the instance
MAX_UNCONFIRMED = 8 * 1024 * 1024  # bytes kept for a resend on reconnect


# -- WebSocket frames (RFC 6455) ---------------------------------------------------------------
def ws_frame(opcode, payload):
    """A server frame (never masked)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def ws_parse(buf):
    """Complete frames at the start of ``buf`` (a bytearray, consumed): [(opcode, payload)]."""
    frames = []
    while len(buf) >= 2:
        opcode, masked, size = buf[0] & 0x0F, buf[1] & 0x80, buf[1] & 0x7F
        offset = 2
        if size == 126:
            if len(buf) < 4:
                break
            size, offset = struct.unpack("!H", bytes(buf[2:4]))[0], 4
        elif size == 127:
            if len(buf) < 10:
                break
            size, offset = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
        mask = b""
        if masked:
            mask, offset = bytes(buf[offset:offset + 4]), offset + 4
        if len(buf) < offset + size:
            break
        payload = bytes(buf[offset:offset + size])
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if size < 64 else \
                _unmask(payload, mask)
        del buf[:offset + size]
        frames.append((opcode, payload))
    return frames


def _unmask(payload, mask):
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[:len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


def close_frame(code, reason):
    return ws_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode())


def data_frame(data):
    return ws_frame(OP_BINARY, struct.pack("!HI", TAG_DATA, len(data)) + data)


def ack_frame(count):
    return ws_frame(OP_BINARY, struct.pack("!HQ", TAG_ACK, count))


# -- the checks Google makes ---------------------------------------------------------------------
def caller_may_tunnel(policy, member):
    """Whether ``member`` holds the tunnel permission through the project's policy."""
    for binding in policy.get("bindings") or []:
        if binding.get("role") in GRANTING_ROLES and member in binding.get("members", ()) \
                and not binding.get("condition"):
            return True
    return False


def _port_matches(rule, port):
    proto = str(rule.get("IPProtocol", "")).lower()
    if proto not in ("tcp", "6", "all"):
        return False
    ports = rule.get("ports") or []
    for item in ports:
        low, _dash, high = str(item).partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return not ports


def _ranges(rule):
    nets = []
    for cidr in rule.get("sourceRanges") or []:
        try:
            nets.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    return [n for n in nets if n.version == 4]


def firewall_admits(firewalls, inst, port):
    """The name of the rule that lets IAP's range reach ``port`` of ``inst``, or None.

    The highest-priority (lowest number) matching rule decides; at equal priority a deny wins.
    An allow rule must cover the whole of 35.235.240.0/20 (IAP may come from any of it); a deny
    rule that touches it denies."""
    tags = set((inst.get("tags") or {}).get("items") or [])
    accounts = {sa.get("email") for sa in inst.get("serviceAccounts") or []}
    matching = []
    for fw in firewalls.values():
        if fw.get("disabled") or fw.get("direction", "INGRESS") != "INGRESS":
            continue
        deny = bool(fw.get("denied"))
        nets = _ranges(fw)
        if deny and not any(IAP_RANGE.overlaps(n) for n in nets):
            continue
        if not deny and not any(IAP_RANGE.subnet_of(n) for n in nets):
            continue
        if fw.get("targetTags") and not tags & set(fw["targetTags"]):
            continue
        if fw.get("targetServiceAccounts") and not accounts & set(fw["targetServiceAccounts"]):
            continue
        if not any(_port_matches(r, port) for r in (fw.get("denied") or fw.get("allowed") or [])):
            continue
        matching.append((int(fw.get("priority", 1000)), 0 if deny else 1, fw["name"]))
    if not matching:
        return None
    _priority, allow, name = min(matching)
    return name if allow else None


def backend_address(inst, port):
    """Where the instance's ``port`` answers on this machine, or None (memory instances)."""
    loopback = inst.get("_loopback")
    if not loopback:
        return None
    if port == 22:
        return (loopback, 22)
    address = inst["networkInterfaces"][0].get("networkIP")
    return (address, port) if address else None


class Refused(Exception):
    """The relay refuses a tunnel: the WebSocket is closed with ``code`` and ``reason``."""

    def __init__(self, close, detail):
        super().__init__(detail)
        self.code, self.reason = close
        self.detail = detail


class Session:
    """One tunnel: the TCP connection to the instance and the byte counts both ways."""

    def __init__(self, sid, member, target, tcp):
        self.sid = sid
        self.member = member
        self.target = target            # (project, zone, instance, port)
        self.tcp = tcp
        self.received = 0               # bytes from the client (written to the instance)
        self.acked = 0                  # how many of them we have acknowledged
        self.sent = 0                   # bytes to the client
        self.confirmed = 0              # how many of them the client acknowledged
        self.unconfirmed = bytearray()  # sent[confirmed:], for a resend on reconnect
        self.attached = False
        self.closed = False
        self.started = time.time()
        self.lock = threading.Lock()

    def confirm(self, count):
        if count < self.confirmed or count > self.sent:
            return False
        del self.unconfirmed[:count - self.confirmed]
        self.confirmed = count
        return True

    def describe(self):
        project, zone, instance, port = self.target
        return {"sid": self.sid, "member": self.member, "project": project, "zone": zone,
                "instance": instance, "port": port, "attached": self.attached,
                "bytes_from_client": self.received, "bytes_to_client": self.sent,
                "started": self.started}


class Iap:
    """The relay. ``serve(handler)`` takes over an HTTP handler's connection for one WebSocket."""

    def __init__(self, store, auth, compute, log):
        self.store = store
        self.auth = auth
        self.compute = compute
        self.log = log
        self.lock = threading.Lock()
        self.sessions = {}
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = {"sessions": 0, "reconnects": 0, "refused": {}, "closed": 0,
                           "bytes_from_client": 0, "bytes_to_client": 0}

    def describe(self):
        with self.lock:
            data = dict(self.counts, refused=dict(self.counts["refused"]))
            data["active"] = [s.describe() for s in self.sessions.values() if not s.closed]
        return data

    @staticmethod
    def wants(handler):
        return (handler.headers.get("Upgrade") or "").lower() == "websocket"

    # -- handshake ---------------------------------------------------------------------------------
    def serve(self, handler):
        started = time.time()
        parsed = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(parsed.path).rstrip("/")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        endpoint = path.rsplit("/", 1)[-1]
        status, close = self._handshake(handler, endpoint)
        self.log.record({
            "ts": round(started, 6), "method": handler.command, "path": path,
            "query": _redact(parsed.query), "status": status, "api": "iap", "write": False,
            "faulted": None, "ms": round((time.time() - started) * 1000, 2)})
        handler.close_connection = True
        if status != 101:
            return
        conn = handler.connection
        try:
            if close is not None:
                raise Refused(close, "bad request")
            member = handler.iap_member
            if endpoint == "connect":
                session = self._connect(member, query)
                conn.sendall(ws_frame(OP_BINARY, struct.pack("!HI", TAG_CONNECT_SUCCESS_SID,
                                                             len(session.sid))
                                      + session.sid.encode()))
            else:
                session = self._reconnect(member, query, conn)
        except Refused as exc:
            LOG.info("IAP tunnel refused (%s %s): %s", exc.code, exc.reason, exc.detail)
            with self.lock:
                key = str(exc.code)
                self.counts["refused"][key] = self.counts["refused"].get(key, 0) + 1
            _send_quietly(conn, close_frame(exc.code, exc.reason))
            return
        except OSError:
            return
        self._pump(conn, session)

    def _handshake(self, handler, endpoint):
        """Answer the upgrade: (status, close to send at once or None)."""
        headers = handler.headers
        key = headers.get("Sec-WebSocket-Key")
        protocols = [p.strip() for p in (headers.get("Sec-WebSocket-Protocol") or "").split(",")]
        if not key or headers.get("Sec-WebSocket-Version") != "13" or \
                endpoint not in ("connect", "reconnect"):
            _plain(handler, 400, "Bad Request")
            return 400, None
        try:
            principal = self.auth.principal(headers.get("Authorization"))
        except LookupError:
            principal = None
        if principal is None:
            _plain(handler, 401, "Unauthorized")
            return 401, None
        handler.iap_member = "%s:%s" % principal
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        if SUBPROTOCOL in protocols:
            handler.send_header("Sec-WebSocket-Protocol", SUBPROTOCOL)
        handler.end_headers()
        handler.wfile.flush()
        return 101, None if SUBPROTOCOL in protocols else BAD_REQUEST

    # -- connect / reconnect -----------------------------------------------------------------------
    def _connect(self, member, query):
        try:
            project, zone, name = query["project"], query["zone"], query["instance"]
            port = int(query["port"])
        except (KeyError, ValueError):
            raise Refused(BAD_REQUEST, "missing or bad connect parameters") from None
        if query.get("interface", "nic0") != "nic0":
            raise Refused(BACKEND_FAILED, "no interface %s" % query.get("interface"))
        with self.store.lock:
            proj = self.store.project(project)
            if proj is None or proj["state"] != "ACTIVE" or \
                    not caller_may_tunnel(proj["policy"], member):
                raise Refused(NOT_AUTHORIZED, "%s lacks %s on project %s"
                              % (member, PERMISSION, project))
            inst = proj["instances"].get(zone, {}).get(name)
            if inst is None:
                raise Refused(NOT_AUTHORIZED, "no instance %s in %s" % (name, zone))
            if inst["status"] != "RUNNING":
                raise Refused(BACKEND_FAILED, "instance %s is %s" % (name, inst["status"]))
            firewalls = self.compute._firewalls(proj["projectId"])  # pylint: disable=protected-access
            rule = firewall_admits(firewalls, inst, port)
            if rule is None:
                raise Refused(BACKEND_FAILED, "no firewall rule admits %s to %s port %d"
                              % (IAP_RANGE, name, port))
            address = backend_address(inst, port)
        if address is None:
            raise Refused(BACKEND_FAILED, "nothing listens on %s port %d" % (name, port))
        try:
            tcp = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise Refused(BACKEND_FAILED, "%s port %d: %s" % (name, port, exc)) from None
        tcp.settimeout(None)
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(secrets.token_hex(16), member, (proj["projectId"], zone, name, port),
                          tcp)
        with self.lock:
            self.sessions[session.sid] = session
            self.counts["sessions"] += 1
        LOG.info("IAP tunnel %s: %s to %s/%s port %d (rule %s)", session.sid, member, zone,
                 name, port, rule)
        return session

    def _reconnect(self, member, query, conn):
        with self.lock:
            session = self.sessions.get(query.get("sid", ""))
        if session is None or session.closed or session.attached:
            raise Refused(SESSION_GONE, "no session to resume")
        if session.member != member:
            raise Refused(NOT_AUTHORIZED, "session belongs to another caller")
        try:
            ack = int(query.get("ack", "0"))
        except ValueError:
            raise Refused(BAD_REQUEST, "bad ack") from None
        with session.lock:
            if not session.confirm(ack):
                raise Refused(SESSION_GONE, "cannot resend from byte %d" % ack)
            resend = bytes(session.unconfirmed)
        conn.sendall(ws_frame(OP_BINARY, struct.pack("!HQ", TAG_RECONNECT_SUCCESS_ACK,
                                                     session.received)))
        session.acked = session.received
        for start in range(0, len(resend), MAX_DATA):
            conn.sendall(data_frame(resend[start:start + MAX_DATA]))
        with self.lock:
            self.counts["reconnects"] += 1
        return session

    # -- relay -------------------------------------------------------------------------------------
    def _pump(self, conn, session):
        """Relay until either side ends (session closed) or the WebSocket drops (kept for a
        reconnect). One thread does both directions: the TLS socket is never used concurrently."""
        session.attached = True
        buf = bytearray()
        ended = False
        try:
            while not ended:
                pending = getattr(conn, "pending", lambda: 0)()
                readable = [conn] if pending else \
                    select.select([conn, session.tcp], [], [], 30.0)[0]
                if conn in readable:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                    ended = self._from_client(conn, session, ws_parse(buf))
                if session.tcp in readable and not ended:
                    data = session.tcp.recv(MAX_DATA)
                    if not data:
                        self._end(session)
                        _send_quietly(conn, close_frame(1000, ""))
                        ended = True
                        break
                    with session.lock:
                        session.sent += len(data)
                        session.unconfirmed += data
                        if len(session.unconfirmed) > MAX_UNCONFIRMED:
                            del session.unconfirmed[:len(session.unconfirmed) - MAX_UNCONFIRMED]
                            session.confirmed = session.sent - MAX_UNCONFIRMED
                    with self.lock:
                        self.counts["bytes_to_client"] += len(data)
                    conn.sendall(data_frame(data))
        except OSError as exc:
            LOG.debug("IAP tunnel %s: %s", session.sid, exc)
        finally:
            session.attached = False
            if ended:
                self._end(session)
            else:
                timer = threading.Timer(GRACE, self._expire, (session,))
                timer.daemon = True
                timer.start()

    def _from_client(self, conn, session, frames):
        """Apply the client's frames; True when the tunnel is over."""
        for opcode, payload in frames:
            if opcode == OP_CLOSE:
                self._end(session)          # over before the client hears the close answered
                _send_quietly(conn, ws_frame(OP_CLOSE, payload[:2]))
                return True
            if opcode == OP_PING:
                conn.sendall(ws_frame(OP_PONG, payload))
                continue
            if opcode not in (OP_BINARY, OP_CONT) or len(payload) < 2:
                continue
            tag = struct.unpack("!H", payload[:2])[0]
            if tag == TAG_DATA and len(payload) >= 6:
                size = struct.unpack("!I", payload[2:6])[0]
                data = payload[6:6 + size]
                session.tcp.sendall(data)
                session.received += len(data)
                with self.lock:
                    self.counts["bytes_from_client"] += len(data)
            elif tag == TAG_ACK and len(payload) >= 10:
                with session.lock:
                    confirmed = session.confirm(struct.unpack("!Q", payload[2:10])[0])
                if not confirmed:
                    self._end(session)
                    _send_quietly(conn, close_frame(*BAD_REQUEST))
                    return True
        if session.received > session.acked:
            conn.sendall(ack_frame(session.received))
            session.acked = session.received
        return False

    def _expire(self, session):
        if not session.attached:
            self._end(session)

    def _end(self, session):
        with self.lock:
            if session.closed:
                return
            session.closed = True
            self.sessions.pop(session.sid, None)
            self.counts["closed"] += 1
        try:
            session.tcp.close()
        except OSError:
            pass

    def close(self):
        with self.lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            self._end(session)


def _send_quietly(conn, data):
    try:
        conn.sendall(data)
    except OSError:
        pass


def _plain(handler, status, text):
    data = (text + "\n").encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(data)


def _redact(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return urllib.parse.urlencode([(k, "REDACTED" if k == "sid" else v) for k, v in pairs])
