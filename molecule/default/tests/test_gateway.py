"""openclaw.gcp.gateway: the compose stack, its secrets, the baked binaries and the token."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openclaw_checks import (
    BINARIES,
    CONTAINER_PORT,
    PLACEHOLDERS,
    WRONG_TOKEN,
    compose,
    gateway_health,
    healthz,
    read_env,
    wait_healthy,
)

# Not on the 1 GiB memory drill VM (see molecule.yml).
testinfra_hosts = ["full_checks"]


@pytest.fixture(scope="module", autouse=True)
def healthy(host, settings):
    wait_healthy(host, settings)


def test_env_file_is_private(host, settings):
    env = host.file(settings["project"] + "/.env")
    assert env.mode == 0o600
    assert env.user == settings["user"]


@pytest.mark.parametrize("name", ["OPENCLAW_GATEWAY_TOKEN", "GOG_KEYRING_PASSWORD"])
def test_secret_is_64_hex_and_not_a_placeholder(host, settings, name):
    value = read_env(host, settings)[name]
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert value.lower() not in PLACEHOLDERS


def test_token_and_keyring_password_differ(host, settings):
    env = read_env(host, settings)
    assert env["OPENCLAW_GATEWAY_TOKEN"] != env["GOG_KEYRING_PASSWORD"]


def test_env_holds_the_guides_settings(host, settings):
    env = read_env(host, settings)
    assert env["OPENCLAW_GATEWAY_BIND"] == "lan"
    assert env["OPENCLAW_GATEWAY_PORT"] == str(settings["port"])
    assert env["OPENCLAW_CONFIG_DIR"] == settings["state"]
    assert env["OPENCLAW_WORKSPACE_DIR"] == settings["workspace"]
    assert env["XDG_CONFIG_HOME"] == "/home/node/.openclaw"
    assert env["OPENCLAW_IMAGE"].startswith("openclaw-gateway:2026.9.6-")


def test_compose_publishes_on_loopback_only(host, settings):
    config = json.loads(compose(host, settings, "config", "--format", "json").stdout)
    gateway = config["services"]["openclaw-gateway"]
    ports = gateway["ports"]
    assert ports, gateway
    for port in ports:
        assert port["host_ip"] == "127.0.0.1", port
        assert int(port["target"]) == CONTAINER_PORT
        assert int(port["published"]) == settings["port"]
    with_cli = json.loads(compose(host, settings, "--profile", "cli", "config", "--format", "json").stdout)
    assert "ports" not in with_cli["services"]["openclaw-cli"]


def test_compose_hardening_and_restart_policy(host, settings):
    config = json.loads(compose(host, settings, "--profile", "cli", "config", "--format", "json").stdout)
    gateway = config["services"]["openclaw-gateway"]
    assert gateway["restart"] == "unless-stopped"
    cli = config["services"]["openclaw-cli"]
    for service in (gateway, cli):
        assert service["cap_drop"] == ["ALL"]
        assert "cap_add" not in service
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["read_only"] is True
        assert service["pids_limit"] == 512
    assert any("/healthz" in part for part in gateway["healthcheck"]["test"])
    assert gateway["command"] == ["openclaw", "gateway", "--bind", "lan", "--port", str(CONTAINER_PORT)]
    assert cli["network_mode"] == "service:openclaw-gateway"


def test_gateway_runs_as_node_uid_1000(host, settings):
    result = compose(host, settings, "exec", "-T", "openclaw-gateway", "id", "-u")
    assert result.stdout.strip() == "1000"


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_which_finds_every_binary_in_usr_local_bin(host, settings, name):
    which = compose(host, settings, "exec", "-T", "openclaw-gateway", "which", name)
    assert which.rc == 0, which.stderr
    assert which.stdout.strip() == f"/usr/local/bin/{name}"
    run = compose(host, settings, "exec", "-T", "openclaw-gateway", name)
    assert run.stdout.strip() == BINARIES[name]


def test_healthz_answers_on_loopback(host, settings):
    rc, body = healthz(host, settings["port"])
    assert rc == 0
    assert json.loads(body) == {"ok": True, "status": "live"}


def test_control_ui_is_served(host, settings):
    url = f"http://127.0.0.1:{settings['port']}/"
    result = host.run("curl -sS --max-time 5 -o /dev/null -w '%%{http_code}' %s", url)
    assert result.stdout.strip() == "200"


def test_nothing_listens_on_all_addresses(host, settings):
    port = settings["port"]
    listeners = host.run("ss -Htln").stdout.splitlines()
    local = [line.split()[3] for line in listeners if line.split()[3].endswith(f":{port}")]
    assert local == [f"127.0.0.1:{port}"], listeners
    # The VM's own network address does not reach the gateway.
    address = host.interface("eth0").addresses[0]
    answer = healthz(host, port, address=address, timeout=3)
    assert answer[0] != 0, answer


def test_right_token_is_accepted(host, settings):
    result = gateway_health(host, settings, '"$OPENCLAW_GATEWAY_TOKEN"')
    assert result.rc == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_wrong_token_is_rejected(host, settings):
    result = gateway_health(host, settings, WRONG_TOKEN)
    assert result.rc != 0
    assert "unauthorized: gateway token mismatch" in result.stdout + result.stderr


def run_role_verify(host, *extra):
    """The role's own checks (tasks_from: verify) run by ansible-playbook against this VM."""
    playbook = Path(__file__).resolve().parent.parent / "verify_token.yml"
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit", host.backend.host, str(playbook), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def test_role_token_check_passes_with_the_token_from_env(host, settings):
    result = run_role_verify(host)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"Check that the gateway accepts its token\] \*+\nok:", result.stdout), result.stdout[-3000:]
    assert read_env(host, settings)["OPENCLAW_GATEWAY_TOKEN"] not in result.stdout + result.stderr


def test_role_token_check_stops_on_a_token_the_gateway_refuses(host, settings):
    result = run_role_verify(host, "-e", "gateway_effective_token=" + "0" * 64)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "the gateway answered HTTP 401 to its own token" in output, output[-3000:]
    assert read_env(host, settings)["OPENCLAW_GATEWAY_TOKEN"] not in output


def test_image_is_tagged_with_its_context_hash_and_old_tags_are_gone(host, settings):
    image = read_env(host, settings)["OPENCLAW_IMAGE"]
    label = host.run(
        "docker image inspect --format '{{index .Config.Labels \"org.openclaw-gcp.context-hash\"}}' %s", image
    ).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", label)
    assert image.endswith("-" + label[:12])
    tags = host.run("docker image ls --format '{{.Repository}}:{{.Tag}}' openclaw-gateway").stdout.split()
    assert tags == [image]


def test_security_audit_finds_nothing_critical(host, settings):
    # A second Node process: only on the full_checks VMs, not in the 1 GiB memory drill.
    result = compose(host, settings, "run", "--rm", "-T", "openclaw-cli", "security", "audit", "--json")
    assert result.rc == 0, result.stderr
    report = json.loads(result.stdout)
    assert read_env(host, settings)["OPENCLAW_GATEWAY_TOKEN"] not in result.stdout
    critical = [f["checkId"] for f in report["findings"] if f["severity"] == "critical"]
    assert critical == [], critical
    print("security audit summary:", json.dumps(report["summary"]))
