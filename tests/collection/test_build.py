"""The collection builds, installs from its tarball, and documents every plugin it ships."""
import json
import os
import pathlib
import re
import subprocess
import tarfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
INVENTORY = sorted(p.stem for p in (ROOT / "plugins" / "inventory").glob("*.py") if p.stem != "__init__")
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists()) if (ROOT / "roles").exists() else []


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball and install it into an empty collections path (no network)."""
    out = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(ROOT)])
    tarballs = list(out.glob("openclaw-gcp-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    dest = tmp_path_factory.mktemp("collections")
    # Only the fresh install may be visible: not this checkout, not a user-wide copy.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), HOME=str(dest))
    env.pop("ANSIBLE_CONFIG", None)
    env.pop("PYTHONPATH", None)  # scripts/env.sh puts this checkout on it
    # --no-deps: the dependency (community.docker) comes with the ansible package.
    run(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(dest), str(tarballs[0])], env=env, cwd=dest)
    path = dest / "ansible_collections" / "openclaw" / "gcp"
    listed = run(["ansible-galaxy", "collection", "list", "openclaw.gcp", "--format", "json"], env=env, cwd=dest).stdout
    assert str(dest / "ansible_collections") in json.loads(listed), listed
    return {"tarball": tarballs[0], "path": path, "env": env}


def test_tarball_has_version_and_no_dev_files(installed):
    assert installed["tarball"].name == f"openclaw-gcp-{GALAXY['version']}.tar.gz"
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names and "galaxy.yml" not in names
    for excluded in (".venv/", ".cache/", "emulator/", "bench/", "scripts/", ".git/", "tests/", "molecule/",
                     "images/", "docs/"):
        leaked = [n for n in names if n.startswith(excluded)]
        assert not leaked, f"{excluded} must not ship: {leaked[:3]}"
    # what an installed collection cannot run: the emulator's inventory and settings, a checkout's config
    for dev_only in ("ansible.cfg", "inventory/emulator.compute.yml", "inventory/group_vars/emulator.yml"):
        assert dev_only not in names, f"{dev_only} must not ship"
    assert "meta/runtime.yml" in names and "LICENSE" in names


def test_declared_dependencies_are_the_collections_used():
    """Every collection named in the roles and playbooks is declared, and nothing declared is unused."""
    used = set()
    for path in list((ROOT / "roles").rglob("*.yml")) + list((ROOT / "playbooks").rglob("*.yml")):
        # task keys (a module or action named by its FQCN), and group/... in module_defaults
        used.update(re.findall(r"^\s*(?:- )?(?:group/)?([a-z_]+\.[a-z_]+)\.[a-z_0-9]+:", path.read_text(), re.M))
    used -= {"ansible.builtin", "openclaw.gcp"}
    assert used == set(GALAXY["dependencies"]), (used, GALAXY["dependencies"])


def test_manifest_matches_galaxy(installed):
    manifest = json.loads((installed["path"] / "MANIFEST.json").read_text())["collection_info"]
    assert manifest["namespace"] == "openclaw" and manifest["name"] == "gcp"
    assert manifest["license"] == ["GPL-3.0-or-later"]
    assert set(manifest["dependencies"]) == set(GALAXY["dependencies"])


def test_action_group_names_real_modules():
    group = RUNTIME["action_groups"]["gcp"]
    assert sorted(group) == sorted(set(group)), "duplicate names in the gcp action group"
    if MODULES:
        assert sorted(group) == MODULES, "every GCP module, and only those, belongs to the gcp action group"


def test_ansible_doc_lists_every_plugin(installed):
    if not MODULES:
        pytest.fail("the collection ships no module yet")
    listed = json.loads(run(["ansible-doc", "-l", "openclaw.gcp", "--json"], env=installed["env"], cwd=installed["path"].parents[2]).stdout)
    assert sorted(listed) == [f"openclaw.gcp.{m}" for m in MODULES]
    if INVENTORY:
        inv = json.loads(run(["ansible-doc", "-t", "inventory", "-l", "openclaw.gcp", "--json"], env=installed["env"], cwd=installed["path"].parents[2]).stdout)
        assert sorted(inv) == [f"openclaw.gcp.{p}" for p in INVENTORY]


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders(installed, module):
    doc = json.loads(run(["ansible-doc", "--json", f"openclaw.gcp.{module}"], env=installed["env"], cwd=installed["path"].parents[2]).stdout)
    entry = doc[f"openclaw.gcp.{module}"]
    assert entry["doc"]["short_description"]
    assert entry["examples"].strip() and f"openclaw.gcp.{module}" in entry["examples"]
    assert entry["return"], f"{module} documents no return values"
    # Shared auth options come from the doc fragment.
    assert {"project", "auth_kind", "api_endpoint_overrides", "universe_domain"} <= set(entry["doc"]["options"])


@pytest.mark.parametrize("role", ROLES)
def test_role_argument_specs_render(installed, role):
    doc = json.loads(run(["ansible-doc", "-t", "role", "--json", f"openclaw.gcp.{role}"], env=installed["env"], cwd=installed["path"].parents[2]).stdout)
    spec = doc[f"openclaw.gcp.{role}"]["entry_points"]["main"]
    assert spec["short_description"] and spec.get("options"), f"role {role} documents no variables"
