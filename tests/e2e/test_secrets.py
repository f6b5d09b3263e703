# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never leak, not even at -vvv with --diff.

site.yml deploys one gateway on the emulator's container-backed VMs with `-vvv --diff`, then
runs again the same way on the deployed fleet, and once more with `--check`. Afterwards the test
reads every secret those runs handled (the gateway token and GOG keyring password from the
gateway's .env on the VM, each line of the service-account key's private key, the emulator's
static access token) and counts each in the whole output of the three runs and in the emulator's
request log and process log: every count must be 0.

The tests run in file order and share one deployment (module-scoped fixture).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from e2e_helpers import ROOT, recap, ssh

pytestmark = pytest.mark.e2e
# Public mode: this drill is about something else; test_gateways and test_browser run the
# default, private mode through IAP.
PUBLIC_IP = True

GATEWAY = {'name': 'e2e-secrets-gw', 'zone': 'us-central1-a'}
GATEWAYS_ARG = json.dumps({'openclaw_gcp_gateways': [GATEWAY]})
ENV_SECRETS = ('OPENCLAW_GATEWAY_TOKEN', 'GOG_KEYRING_PASSWORD')
LOGS = {}


def address(run, name):
    return run.inventory()['_meta']['hostvars'][name]['ansible_host']


def verbose_site_run(run, label, *args):
    proc = run.playbook(ROOT / 'site.yml', '-vvv', '--diff', '-e', GATEWAYS_ARG, *args)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert sorted(summary) == [GATEWAY['name'], 'localhost']
    # really verbose: -vvv shows every module's arguments and results
    assert 'ESTABLISH SSH CONNECTION' in proc.stdout and 'invocation' in proc.stdout
    LOGS[label] = proc.stdout + proc.stderr
    return summary


def env_secrets(run):
    """{label: value} of the secrets in the gateway's .env on its VM."""
    home = ssh(address(run, GATEWAY['name']), run.key_file, 'getent passwd openclaw').stdout.split(':')[5]
    text = ssh(address(run, GATEWAY['name']), run.key_file, 'sudo cat %s/openclaw/.env' % home).stdout
    values = dict(line.split('=', 1) for line in text.splitlines() if re.match(r'[A-Z_]+=', line))
    found = {}
    for name in ENV_SECRETS:
        assert re.fullmatch(r'[0-9a-f]{64}', values.get(name, '')), '%s in .env is not 64 hex digits' % name
        found['%s of %s' % (name, GATEWAY['name'])] = values[name]
    return found


def credential_secrets(emu):
    """{label: value}: each line of the service-account keys' private keys, the static access token."""
    found = {}
    for key_file in sorted({emu.key_file, emu.google_key_file}):
        if not Path(key_file).exists():
            continue
        key = json.loads(Path(key_file).read_text())
        body = [line for line in key['private_key'].splitlines() if line and not line.startswith('-----')]
        assert len(body) > 10, 'the service-account key %s has no PEM body' % key_file
        found.update(('private_key line %d of %s' % (number, Path(key_file).name), line)
                     for number, line in enumerate(body, 1) if len(line) >= 24)
    assert found, 'no service-account key found in %s' % emu.state_dir
    token_file = Path(emu.token_file)
    if token_file.exists() and token_file.read_text().strip():
        found['access token in %s' % token_file.name] = token_file.read_text().strip()
    return found


def occurrences(texts, secrets):
    """{(where, secret label): count} for every secret that occurs in a text."""
    return dict(((where, label), text.count(value))
                for where, text in texts.items() for label, value in secrets.items() if value in text)


def test_occurrences_finds_what_is_there():
    """The counting itself: a secret inside a text is found, also JSON-escaped in a longer line."""
    secret = 'ab' * 32
    texts = {'log': 'ok: [vm] => {"token": "%s"}\nnothing else' % secret, 'clean': 'PLAY RECAP'}
    assert occurrences(texts, {'token': secret, 'other': 'cd' * 32}) == {('log', 'token'): 1}


def test_deploy_with_vvv_and_diff(e2e):
    verbose_site_run(e2e, 'deploy')


def test_rerun_with_vvv_and_diff_on_the_deployed_fleet(e2e):
    summary = verbose_site_run(e2e, 'rerun')
    assert summary[GATEWAY['name']]['changed'] == 0


def test_check_mode_with_vvv_and_diff_on_the_deployed_fleet(e2e):
    verbose_site_run(e2e, 'check', '--check')


def test_no_secret_in_any_log(e2e):
    assert sorted(LOGS) == ['check', 'deploy', 'rerun'], 'the verbose runs above did not all pass'
    secrets = env_secrets(e2e)
    secrets.update(credential_secrets(e2e.emu))
    texts = dict(LOGS)
    state = Path(e2e.emu.state_dir)
    for name in ('requests.jsonl', 'emulator.log'):
        assert (state / name).exists(), '%s is missing: the emulator logs elsewhere now' % name
        texts[name] = (state / name).read_text(errors='replace')
    assert occurrences(texts, secrets) == {}
