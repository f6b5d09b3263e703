"""openclaw.gcp.docker_engine: Docker Engine and Compose v2 from Debian's packages."""

import json

testinfra_hosts = ["gateways"]


def test_docker_service_is_running_and_enabled(host):
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_compose_v2_answers(host):
    result = host.run("docker compose version --short")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().lstrip("v").split(".")[0] == "2"


def test_deploy_user_is_in_docker_group(host, settings):
    assert "docker" in host.user(settings["user"]).groups


def test_daemon_rotates_container_logs(host):
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon["log-driver"] == "json-file"
    assert daemon["log-opts"]["max-size"] == "10m"
    assert host.run("docker info --format '{{.LoggingDriver}}'").stdout.strip() == "json-file"


def test_only_docker_compose_comes_from_debian_13_on_debian_12(host):
    if host.system_info.codename != "bookworm":
        assert not host.file("/etc/apt/preferences.d/openclaw-docker-compose").exists
        return
    pin = host.file("/etc/apt/preferences.d/openclaw-docker-compose")
    assert pin.exists and pin.mode == 0o644
    compose = host.run("apt-cache policy docker-compose").stdout
    assert compose.split("Installed:")[1].split()[0].startswith("2."), compose
    # docker.io stays bookworm's: the pin keeps everything else in trixie out.
    engine = host.run("apt-cache policy docker.io").stdout
    assert engine.split("Installed:")[1].split()[0].startswith("20.10"), engine
    # Every installed package version that only Debian 13 provides: docker-compose alone.
    installed = dict(
        line.split(" ", 1) for line in host.run("dpkg-query -W -f '${Package} ${Version}\\n'").stdout.splitlines()
    )
    madison = host.run("apt-cache madison " + " ".join(sorted(installed))).stdout
    suites = {}
    for line in madison.splitlines():
        name, version, source = (part.strip() for part in line.split("|")[:3])
        if installed.get(name) == version:
            suites.setdefault(name, set()).add(source.split()[1].split("/")[0])
    only_trixie = sorted(name for name, found in suites.items() if found == {"trixie"})
    assert only_trixie == ["docker-compose"], only_trixie
