"""openclaw.gcp.host_dirs: the persistent state directories, owned by the container's user."""

import pytest

testinfra_hosts = ["gateways"]

PRIVATE_DIRS = ["", "/workspace", "/credentials", "/agents", "/agents/main", "/agents/main/agent", "/skills"]


@pytest.mark.parametrize("suffix", PRIVATE_DIRS)
def test_state_directory_is_private_to_uid_1000(host, settings, suffix):
    directory = host.file(settings["state"] + suffix)
    assert directory.is_directory
    assert directory.uid == 1000
    assert directory.gid == 1000
    assert directory.mode == 0o700


def test_other_users_cannot_read_the_state(host, settings):
    result = host.run("runuser -u nobody -- ls %s", settings["state"])
    assert result.rc != 0
    assert "Permission denied" in result.stderr


def test_openclaw_json_is_seeded_privately(host, settings):
    config = host.file(settings["state"] + "/openclaw.json")
    assert config.is_file
    assert config.uid == 1000
    assert config.mode == 0o600
    text = config.content_string
    assert 'mode: "local"' in text
    # The token is referenced from the environment, never copied into the config.
    assert 'token: "${OPENCLAW_GATEWAY_TOKEN}"' in text
    port = settings["port"]
    assert f"http://127.0.0.1:{port}" in text and f"http://localhost:{port}" in text
