"""``python -m emulator --state-dir DIR [...]``: run the local Compute Engine emulator."""

import argparse
import logging
import os
import re
import signal
import sys
import threading

from .auth import Auth
from .server import (SECRET_PARAMS, Emulator, Faults, Handler, RequestLog, Server,
                     write_ready_file)
from .state import BILLING_ACCOUNT, DEFAULT_PROJECT, Store

# What never reaches the emulator's log: tokens, JWT assertions, private keys, credentials in
# query strings (metadata values are never logged at all).
SECRETS = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.S), "[REDACTED PRIVATE KEY]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+"), r"\1 REDACTED"),
    (re.compile(r"ya29\.[\w.\-]+"), "ya29.REDACTED"),
    (re.compile(r"\beyJ[\w\-]+\.[\w\-]+\.[\w\-]*"), "REDACTED-JWT"),
    (re.compile(r"(?i)\b(access_token|assertion|client_secret|refresh_token|id_token|"
                r"private_key|password|token)([\"']?\s*[=:]\s*[\"']?)[^\s&\"',]+"),
     r"\1\2REDACTED"),
    (re.compile(r"(?i)([?&](?:%s)=)[^&\s\"']+" % "|".join(SECRET_PARAMS)), r"\1REDACTED"),
]


def redact(text):
    for pattern, replacement in SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter that removes credentials from the whole record, traceback included."""

    def format(self, record):
        return redact(super().format(record))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Local Google Compute Engine emulator.")
    parser.add_argument("--state-dir", required=True,
                        help="directory for emulator.json, keys, tokens, state and request log")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--backend", choices=("memory", "docker"), default="memory",
                        help="memory: state only; docker: instances are systemd containers")
    parser.add_argument("--project", action="extend", nargs="+", default=[],
                        help="extra ready projects (billing and Compute enabled) besides "
                        + DEFAULT_PROJECT)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds an operation takes (0 = done at once in memory)")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of API requests answered 429/500/503 before being applied")
    parser.add_argument("--lost-rate", type=float, default=0.0,
                        help="share of writes applied whose answer is replaced by a 503")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed for the fault dice")
    parser.add_argument("--fault-budget", type=int, default=None,
                        help="at most this many injected faults (default: unbounded)")
    parser.add_argument("--vm-image", default="openclaw-gcp/vm",
                        help="docker backend: image repository, tagged debian-12 / debian-13")
    parser.add_argument("--https-proxy-port", type=int, default=None,
                        help="also listen as an HTTPS proxy for Google hosts on this port "
                        "(0 = free port); its CA is DIR/proxy-ca.pem")
    parser.add_argument("--propagation-delay", type=float, default=4.0,
                        help="seconds Google takes to propagate a new service account or an "
                        "enabled API (0 = strongly consistent), see README")
    parser.add_argument("--enable-service", action="extend", nargs="+", default=[],
                        metavar="NAME", help="services enabled in the configured projects "
                        "besides the defaults (compute.googleapis.com is off unless named)")
    parser.add_argument("--no-google-labels", action="store_true",
                        help="do not add the goog-* label Google's agent policies put on new VMs")
    parser.add_argument("--log-level", default="WARNING", help="Python logging level")
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency must be >= 0")
    if args.propagation_delay < 0:
        parser.error("--propagation-delay must be >= 0")
    for name in args.enable_service:
        if not re.match(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.googleapis\.com$", name):
            parser.error("--enable-service %s: not a service name like compute.googleapis.com"
                         % name)
    for name in ("fault_rate", "lost_rate"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error("--%s must be between 0 and 1" % name.replace("_", "-"))
    return args


def make_backend(args, state_dir):
    if args.backend == "docker":
        from .docker_backend import DockerBackend  # pylint: disable=import-outside-toplevel
        return DockerBackend(state_dir, image_repo=args.vm_image)
    from .backends import MemoryBackend  # pylint: disable=import-outside-toplevel
    return MemoryBackend()


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.WARNING))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    ready_file = os.path.join(state_dir, "emulator.json")
    if os.path.exists(ready_file):
        os.unlink(ready_file)

    projects = [DEFAULT_PROJECT] + [p for p in args.project if p != DEFAULT_PROJECT]
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]
    endpoint = "http://%s:%d" % (args.host if ":" not in args.host else "[%s]" % args.host, port)

    auth = Auth(state_dir, DEFAULT_PROJECT, endpoint)
    store = Store(state_dir, auth.email)
    loaded = store.load()
    backend = make_backend(args, state_dir)
    faults = Faults(args.fault_rate, args.lost_rate, args.fault_seed, args.fault_budget)
    log = RequestLog(os.path.join(state_dir, "requests.jsonl"))
    emulator = Emulator(store, auth, backend, args.latency, faults, log, projects,
                        propagation_delay=args.propagation_delay,
                        google_labels=not args.no_google_labels)
    emulator.bootstrap(projects, args.enable_service)
    if loaded:
        backend.adopt(store)
        emulator.compute.settle_snapshots()
    store.start_saver()
    server.emulator = emulator

    proxy = None
    extra = {}
    if args.https_proxy_port is not None:
        from .proxy import Authority, ProxyHandler  # pylint: disable=import-outside-toplevel
        proxy = Server((args.host, args.https_proxy_port), ProxyHandler)
        proxy.emulator = emulator
        proxy.authority = Authority(state_dir)
        threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.2},
                         name="https-proxy", daemon=True).start()
        extra = {"https_proxy": "http://%s:%d" % (args.host, proxy.server_address[1]),
                 "ca_file": proxy.authority.ca_file}

    stopping = threading.Event()

    def stop(signum, frame):  # pylint: disable=unused-argument
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()
            if proxy is not None:
                threading.Thread(target=proxy.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    write_ready_file(state_dir, {
        "endpoint": endpoint, "port": port, "pid": os.getpid(), "backend": backend.name,
        "projects": projects, "billing_account": BILLING_ACCOUNT,
        "service_account": auth.email, "key_file": auth.key_file, "token_file": auth.token_file,
        "google_key_file": auth.google_key_file, "latency": args.latency,
        "propagation_delay": args.propagation_delay, **extra})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if proxy is not None:
            proxy.server_close()
        store.close()
        backend.close()
        log.close()
        try:
            os.unlink(ready_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
