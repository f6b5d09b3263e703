"""Helpers for the host roles' Molecule checks (testinfra, run against each VM container).

The `settings` fixture lives in conftest.py."""

import json
import re
import shlex
import subprocess
import time

CONTAINER_PORT = 18789
PLACEHOLDERS = {"change-me-now", "changeme", "change-me", "replace-me", "your-token"}
BINARIES = {
    "fixture-alpha": "fixture-alpha 1.0.0",
    "fixture-beta": "fixture-beta 1.0.0",
    "fixture-gamma": "fixture-gamma 1.0.0",
}
WRONG_TOKEN = "0123456789abcdef" * 4


def compose(host, settings, *args):
    """Run `docker compose` in the gateway's project directory on the VM."""
    argv = ["docker", "compose", "--project-directory", settings["project"], *args]
    return host.run(" ".join(shlex.quote(a) for a in argv))


def read_env(host, settings):
    """The gateway's .env as a dict (read as root on the VM)."""
    content = host.file(f"{settings['project']}/.env").content_string
    pairs = (line.split("=", 1) for line in content.splitlines() if re.match(r"^[A-Za-z_]\w*=", line))
    return dict(pairs)


def healthz(host, port, address="127.0.0.1", timeout=5):
    """GET /healthz on the VM; returns (exit code, body)."""
    result = host.run(f"curl -sS --max-time {timeout} http://{address}:{port}/healthz")
    return result.rc, result.stdout


def container_health(host, settings):
    """Docker's health status of the gateway container."""
    cid = compose(host, settings, "ps", "-q", "openclaw-gateway").stdout.strip()
    if not cid:
        return "absent"
    result = host.run("docker inspect --format '{{.State.Health.Status}}' %s", cid)
    return result.stdout.strip() if result.rc == 0 else "absent"


def wait_healthy(host, settings, timeout=240):
    """Wait (bounded) until /healthz answers and Docker reports the container healthy."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            rc, body = healthz(host, settings["port"])
            status = container_health(host, settings)
            last = (rc, body, status)
            if rc == 0 and json.loads(body or "{}").get("ok") is True and status == "healthy":
                return
        except (RuntimeError, ValueError) as error:  # VM still booting
            last = repr(error)
        time.sleep(3)
    raise AssertionError(f"gateway not healthy within {timeout}s: {last}")


def gateway_state(host, settings):
    """Docker's view of the gateway container: status, health, restarts, OOM kill, start time."""
    cid = compose(host, settings, "ps", "-a", "-q", "openclaw-gateway").stdout.strip()
    if not cid:
        return {"status": "absent"}
    fmt = ("{{json .State.Status}} {{json .State.Health.Status}} {{.RestartCount}} "
           "{{.State.OOMKilled}} {{.State.ExitCode}} {{json .State.StartedAt}}")
    fields = host.run("docker inspect --format '%s' %s" % (fmt, cid)).stdout.split()
    if len(fields) != 6:
        return {"status": "unknown"}
    return {
        "status": json.loads(fields[0]), "health": json.loads(fields[1]), "restarts": int(fields[2]),
        "oom_killed": fields[3] == "true", "exit_code": int(fields[4]), "started": json.loads(fields[5]),
    }


def gateway_logs(host, settings, lines=15):
    """The last lines the gateway container logged (for assertion messages)."""
    return compose(host, settings, "logs", "--no-color", "--tail", str(lines), "openclaw-gateway").stdout


def gateway_health(host, settings, token_expr):
    """`openclaw gateway health` from the openclaw-cli service with the given token."""
    script = f"exec openclaw gateway health --url ws://127.0.0.1:{CONTAINER_PORT} --token {token_expr}"
    return compose(host, settings, "run", "--rm", "-T", "--entrypoint", "sh", "openclaw-cli", "-c", script)


def local_docker(*args, timeout=180):
    """The docker CLI of the machine running Molecule (for the VM container itself)."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=True)
