"""pytest set-up for the default scenario.

- `settings` fixture: the scenario settings from the Molecule inventory.
- Each VM's tests form one xdist group, so with `-n N --dist loadgroup` every VM runs its checks
  in order (recovery last) in a worker of its own while the VMs run in parallel.
- The memory drill's figures are printed at the end of the run.
"""

import json
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module", name="settings")
def settings_fixture(host):
    """The scenario's settings, read from the Molecule inventory."""
    variables = host.ansible.get_variables()
    user = variables["openclaw_molecule_user"]
    home = host.user(user).home
    return {
        "user": user,
        "uid": host.user(user).uid,
        "home": home,
        "port": int(variables["openclaw_molecule_port"]),
        "project": f"{home}/openclaw",
        "state": f"{home}/.openclaw",
        "workspace": f"{home}/.openclaw/workspace",
        "instance": host.backend.host,
    }


@pytest.hookimpl(tryfirst=True)  # before xdist turns the marker into the scheduling group
def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        host = callspec.params.get("_testinfra_host") if callspec else None
        # A module whose testinfra_hosts match no host of this scenario is parametrized with
        # pytest's NOTSET (and skipped): no group for it.
        if hasattr(host, "backend"):
            item.add_marker(pytest.mark.xdist_group(host.backend.get_pytest_id()))


def pytest_terminal_summary(terminalreporter):
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    report = Path(ephemeral) / "memory-report.json" if ephemeral else None
    if report and report.exists():
        terminalreporter.section("memory drill (1 GiB VM)")
        terminalreporter.write_line(json.dumps(json.loads(report.read_text()), indent=2))
