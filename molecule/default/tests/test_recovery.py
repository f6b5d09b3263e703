"""What the guide promises persists: state on the host survives a container recreate and a VM
restart; binaries come back with the image. Runs last (pytest orders files by name)."""

import hashlib
import time

import pytest
from openclaw_checks import (
    BINARIES,
    WRONG_TOKEN,
    compose,
    gateway_health,
    gateway_logs,
    gateway_state,
    local_docker,
    read_env,
    wait_healthy,
)

# Not on the 1 GiB memory drill VM (see molecule.yml).
testinfra_hosts = ["full_checks"]

MARKER = "workspace-marker.txt"


def snapshot(host, settings):
    """Token, keyring password, openclaw.json digest and the marker, as the VM sees them."""
    env = read_env(host, settings)
    config = host.file(settings["state"] + "/openclaw.json").content
    marker = host.file(f"{settings['workspace']}/{MARKER}")
    return {
        "token": env["OPENCLAW_GATEWAY_TOKEN"],
        "keyring": env["GOG_KEYRING_PASSWORD"],
        "config": hashlib.sha256(config).hexdigest(),
        "marker": marker.content_string if marker.exists else None,
        "marker_uid": marker.uid if marker.exists else None,
    }


def settled_check(host, settings, run, passed, attempts=8):
    """Run run() until passed(result) (bounded). The gateway can answer /healthz while it is
    still settling after a boot: a failure is retried after 10 s, or once the gateway is running
    and healthy again if it is not. Every attempt and the gateway's state are returned, so a
    crash loop fails the test with Docker's reasons."""
    seen = []
    for _attempt in range(attempts):
        result = run()
        state = gateway_state(host, settings)
        seen.append((result.rc, (result.stdout + result.stderr).strip()[-200:], state))
        if passed(result):
            break
        if state.get("status") == "running" and state.get("health") == "healthy":
            time.sleep(10)
        else:
            wait_healthy(host, settings)
    return result, seen


def in_gateway(host, settings, *argv):
    return compose(host, settings, "exec", "-T", "openclaw-gateway", *argv)


def assert_gateway_back(host, settings, before):
    wait_healthy(host, settings)
    start = gateway_state(host, settings)
    assert snapshot(host, settings) == before
    for name in BINARIES:
        which, seen = settled_check(host, settings, lambda name=name: in_gateway(host, settings, "which", name),
                                    lambda result, name=name: result.stdout.strip() == f"/usr/local/bin/{name}")
        assert which.stdout.strip() == f"/usr/local/bin/{name}", (seen, gateway_logs(host, settings))
    right, seen = settled_check(host, settings, lambda: gateway_health(host, settings, '"$OPENCLAW_GATEWAY_TOKEN"'),
                                lambda result: result.rc == 0)
    assert right.rc == 0, (seen, gateway_logs(host, settings))
    wrong, seen = settled_check(host, settings, lambda: gateway_health(host, settings, WRONG_TOKEN),
                                lambda result: result.rc != 0 and "token mismatch" in result.stdout + result.stderr)
    assert wrong.rc != 0 and "token mismatch" in wrong.stdout + wrong.stderr, (seen, gateway_logs(host, settings))
    # Settling is allowed; a gateway the checks knock over again and again is not.
    end = gateway_state(host, settings)
    assert end["restarts"] - start["restarts"] <= 1, (start, end, gateway_logs(host, settings))


@pytest.fixture(scope="module", name="before")
def before_fixture(host, settings):
    wait_healthy(host, settings)
    # Written by the gateway container itself: the mounted workspace is writable as uid 1000.
    text = f"written by the gateway container on {settings['instance']}"
    write = compose(
        host, settings, "exec", "-T", "openclaw-gateway", "sh", "-c",
        f"printf '%s' '{text}' > /home/node/.openclaw/workspace/{MARKER}",
    )
    assert write.rc == 0, write.stderr
    state = snapshot(host, settings)
    assert state["marker"] == text and state["marker_uid"] == 1000
    return state


def test_state_survives_compose_down_and_up(host, settings, before):
    down = host.run("cd %s && docker compose down && docker compose up -d", settings["project"])
    assert down.rc == 0, down.stderr
    assert_gateway_back(host, settings, before)


def test_state_survives_a_vm_restart(host, settings, before):
    # systemd in the VM container shuts down cleanly on SIGRTMIN+3 (the platform's stop signal),
    # like a Compute Engine stop/start; Docker then brings the stack back (restart: unless-stopped).
    local_docker("restart", "--time", "90", settings["instance"], timeout=180)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        booted = host.run("systemctl is-system-running")
        if booted.stdout.strip() in ("running", "degraded"):
            break
        time.sleep(2)
    assert host.service("docker").is_running
    assert_gateway_back(host, settings, before)
