# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""update.yml's drills: upgrades gated on health, with automatic rollback, on a fleet of three.

site.yml deploys three gateways at OpenClaw 2026.9.5 on the emulator's container-backed VMs.
Then, on that one deployment:

1. update.yml rolls the fleet to a deliberately broken version: a real image build
   (gateway_source image, a local image copied into the VM) whose gateway "migrates" the state
   (an unknown key in openclaw.json, which the old version's strict schema refuses, and a file of
   its own), answers /healthz as live and never becomes ready on /readyz. The canary fails its
   readiness gate, is put back on 2026.9.5 with its pre-upgrade state, the rollout stops, the
   play fails naming the VM and the reason. All three end on the old version, ready, with the
   same token, openclaw.json and workspace; only the canary was ever touched.
2. update.yml rolls the fleet to 2026.9.6 (npm): the canary, then the other two together; each
   ends ready on 2026.9.6 with its token and workspace, the older images removed, and the
   summary reports each gateway's unhealthy window.

The tests run in file order and share the deployment (module-scoped fixture).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time

import pytest

from e2e_helpers import ROOT, recap, ssh

pytestmark = pytest.mark.e2e
# Public mode: this drill is about something else; test_gateways and test_browser run the
# default, private mode through IAP.
PUBLIC_IP = True

NAMES = ['upg-gw-1', 'upg-gw-2', 'upg-gw-3']
GATEWAYS_ARG = json.dumps({'openclaw_gcp_gateways': [{'name': n, 'zone': 'us-central1-a'} for n in NAMES]})
OLD, GOOD = '2026.9.5', '2026.9.6'
BROKEN_IMAGE, BROKEN_VERSION = 'openclaw-e2e/openclaw-never-ready', '2026.9.7-broken'
NODE_IMAGE = 'openclaw-gcp/node:24-bookworm-slim'
PROJECT, STATE = '/home/openclaw/openclaw', '/home/openclaw/.openclaw'
# The canary first, then the rest at once.
BATCHES = json.dumps({'openclaw_gcp_update_batches': [1, '100%']})
SUMMARY_LINE = re.compile(r'^\s+(upg-gw-\d): (\S+) -> (\S+): ([a-z ]+?)(?:, unhealthy for ([0-9.]+) s)?'
                          r'(?:, rolled back in ([0-9.]+) s)?(?: \((.*)\))?$', re.M)
FIGURES = {}
FLEET = {}

# The broken build's gateway: a real process in a real image, started by the stack's command
# (`openclaw gateway --bind lan --port 18789`). It changes the state as a new version's
# migration would, then serves /healthz and never reports ready.
NEVER_READY = r'''#!/usr/bin/env node
'use strict';
const fs = require('fs');
const http = require('http');
const args = process.argv.slice(2);
if (args[0] === '--version') { console.log('OpenClaw 2026.9.7-broken'); process.exit(0); }
if (args[0] !== 'gateway') { console.error('openclaw 2026.9.7-broken: cannot run ' + args.join(' ')); process.exit(1); }
const state = '/home/node/.openclaw';
const config = state + '/openclaw.json';
const text = fs.readFileSync(config, 'utf8');
if (!text.includes('neverReadyMigration')) {
  fs.writeFileSync(config, text.replace(/^\{$/m, '{\n  neverReadyMigration: 1,'));
}
fs.writeFileSync(state + '/never-ready-migration.json', JSON.stringify({ schema: 999, at: new Date().toISOString() }));
http.createServer((req, res) => {
  const live = /^\/healthz?(\?|$)/.test(req.url);
  res.writeHead(live ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify(live ? { ok: true, status: 'live' }
    : { ok: false, status: 'starting', failing: ['state-migration'] }));
}).listen(18789, '0.0.0.0');
'''


@pytest.fixture(scope='module', name='broken_image')
def fixture_broken_image(tmp_path_factory):
    """The broken version, built locally (update.yml copies it into the canary's Docker)."""
    context = tmp_path_factory.mktemp('never-ready')
    (context / 'openclaw').write_text(NEVER_READY)
    (context / 'openclaw').chmod(0o755)
    (context / 'Dockerfile').write_text(
        'FROM %s\nCOPY openclaw /usr/local/bin/openclaw\nUSER node\n'
        'CMD ["openclaw", "gateway", "--bind", "lan", "--port", "18789"]\n' % NODE_IMAGE)
    image = '%s:%s' % (BROKEN_IMAGE, BROKEN_VERSION)
    subprocess.run(['docker', 'build', '-q', '-t', image, str(context)], check=True, capture_output=True, timeout=300)
    yield image
    subprocess.run(['docker', 'image', 'rm', image], check=False, capture_output=True)


def on_vm(run, name, command, check=True):
    return ssh(FLEET[name], run.key_file, command, check=check)


def snapshot(run, name):
    """What must survive a failed upgrade: image, token, config, workspace, and the container."""
    def out(command):
        return on_vm(run, name, command).stdout.strip()
    env = out('sudo cat %s/.env' % PROJECT)
    values = dict(line.split('=', 1) for line in env.splitlines() if re.match(r'[A-Z_]+=', line))
    return {
        'image': values['OPENCLAW_IMAGE'],
        'token': hashlib.sha256(values['OPENCLAW_GATEWAY_TOKEN'].encode()).hexdigest(),
        'config': out('sudo sha256sum %s/openclaw.json' % STATE).split()[0],
        'marker': out('sudo cat %s/workspace/update-marker' % STATE),
        'container': out("sudo docker inspect -f '{{.Id}} {{.State.StartedAt}}' openclaw-openclaw-gateway-1"),
        'version': out("sudo docker compose --project-directory %s exec -T openclaw-gateway openclaw --version" % PROJECT),
    }


def readyz(run, name):
    return on_vm(run, name, 'curl -sS --max-time 5 -w " %{http_code}" http://127.0.0.1:18789/readyz', check=False).stdout


def summary_lines(stdout):
    """{host: (old, new, outcome, unhealthy seconds or None, reason, rollback seconds or None)} from the
    last summary printed."""
    lines = {}
    for host, old, new, outcome, unhealthy, rollback, reason in SUMMARY_LINE.findall(stdout):
        lines[host] = (old, new, outcome, float(unhealthy) if unhealthy else None, reason,
                       float(rollback) if rollback else None)
    return lines


def test_site_deploys_three_gateways_on_the_old_version(e2e):
    started = time.monotonic()
    proc = e2e.playbook(ROOT / 'site.yml', '-e', GATEWAYS_ARG, '-e', 'gateway_version=%s' % OLD)
    FIGURES['site.yml, 3 gateways at %s' % OLD] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert sorted(recap(proc.stdout)) == ['localhost'] + NAMES
    FLEET.update((n, e2e.inventory()['_meta']['hostvars'][n]['ansible_host']) for n in NAMES)
    for name in NAMES:
        marker = '%s-%d' % (name, time.time())
        on_vm(e2e, name, 'echo %s | sudo tee %s/workspace/update-marker >/dev/null && sudo chown 1000:1000 '
                         '%s/workspace/update-marker' % (marker, STATE, STATE))
        assert readyz(e2e, name).endswith(' 200'), readyz(e2e, name)
        assert OLD in snapshot(e2e, name)['version']


def test_bad_update_settings_are_refused_before_any_change(e2e):
    proc = e2e.playbook(ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', 'gateway_version=%s' % GOOD,
                        '-e', json.dumps({'openclaw_gcp_update_batches': [1, 'half']}))
    assert proc.returncode != 0
    assert "openclaw_gcp_update_batches must be a batch size or a list of them" in proc.stdout, proc.stdout[-3000:]
    assert "(got [1, 'half']). Nothing was changed." in proc.stdout
    assert 'TASK [Trust the VM' not in proc.stdout                      # stopped at the first task
    for name in NAMES:
        assert on_vm(e2e, name, 'sudo ls /var/backups/openclaw-gcp', check=False).stdout.strip() == ''


def test_broken_version_is_rolled_back_on_the_canary_and_the_rollout_stops(e2e, broken_image):
    before = dict((name, snapshot(e2e, name)) for name in NAMES)
    started = time.monotonic()
    proc = e2e.playbook(
        ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', BATCHES,
        '-e', 'gateway_source=image', '-e', 'gateway_official_image=%s' % BROKEN_IMAGE,
        '-e', 'gateway_version=%s' % BROKEN_VERSION, '-e', 'openclaw_gcp_update_ready_timeout=45',
        '-e', json.dumps({'openclaw_gcp_preload_images': [NODE_IMAGE, broken_image]}))
    FIGURES['update.yml to the broken version (fails, rolls back)'] = time.monotonic() - started
    assert proc.returncode != 0, proc.stdout[-6000:]
    stopped = re.search(r'Rollout stopped: (upg-gw-\d) failed to update from (\S+) to (\S+): (.*?)\. It runs', proc.stdout, re.S)
    assert stopped, proc.stdout[-6000:] + proc.stderr[-2000:]
    canary, others = stopped.group(1), [n for n in NAMES if n != stopped.group(1)]
    assert stopped.group(2, 3) == (OLD, BROKEN_VERSION)
    assert 'readyz' in stopped.group(4) and 'state-migration' in stopped.group(4), stopped.group(4)
    assert proc.stdout.count('PLAY [Update the gateways]') == 1        # the later batch never started
    assert 'PLAY [Verify the gateways and print how to reach them]' not in proc.stdout
    summary = summary_lines(proc.stdout)
    assert sorted(summary) == [canary]
    assert summary[canary][:3] == (OLD, BROKEN_VERSION, 'rolled back')
    FIGURES['%s unhealthy during the failed upgrade and rollback (s)' % canary] = summary[canary][3]
    assert 0 < summary[canary][5] < summary[canary][3], summary[canary]
    FIGURES['%s rollback, failed gate to old version ready (s)' % canary] = summary[canary][5]
    FIGURES['gateways touched by the broken version'] = len(summary)
    assert re.search(r'not updated yet: %s, %s' % tuple(others), proc.stdout)

    for name in NAMES:
        after = snapshot(e2e, name)
        assert readyz(e2e, name).endswith(' 200'), (name, readyz(e2e, name))
        for key in ('image', 'token', 'config', 'marker', 'version'):
            assert after[key] == before[name][key], (name, key)
        assert on_vm(e2e, name, 'sudo test -e %s/never-ready-migration.json' % STATE, check=False).returncode == 1
        if name in others:
            # never touched: the same container, no backup, no broken image
            assert after['container'] == before[name]['container'], name
            assert on_vm(e2e, name, 'sudo ls /var/backups/openclaw-gcp', check=False).stdout.strip() == ''
            assert on_vm(e2e, name, 'sudo docker image inspect %s' % broken_image, check=False).returncode != 0
    # the broken version really ran on the canary's state, which is kept aside
    kept = on_vm(e2e, canary, 'sudo sh -c "ls -d %s.failed-upgrade-*"' % STATE).stdout.split()
    assert len(kept) == 1
    assert 'neverReadyMigration' in on_vm(e2e, canary, 'sudo cat %s/openclaw.json' % kept[0]).stdout
    assert on_vm(e2e, canary, 'sudo ls /var/backups/openclaw-gcp').stdout.count('pre-upgrade') == 1
    FLEET['canary'] = canary


def test_good_version_upgrades_every_gateway(e2e):
    before = dict((name, snapshot(e2e, name)) for name in NAMES)
    started = time.monotonic()
    proc = e2e.playbook(ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', BATCHES,
                        '-e', 'gateway_version=%s' % GOOD)
    FIGURES['update.yml to %s, 3 gateways' % GOOD] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.count('PLAY [Update the gateways]') == 2        # the canary, then the other two
    assert 'PLAY [Verify the gateways and print how to reach them]' in proc.stdout
    summary = summary_lines(proc.stdout)
    assert sorted(summary) == NAMES, proc.stdout[-4000:]
    for name in NAMES:
        old, new, outcome, unhealthy, dummy, rollback = summary[name]
        assert (old, new, outcome, rollback) == (OLD, GOOD, 'upgraded', None)
        assert 0 < unhealthy < 300
        FIGURES['%s unhealthy during the upgrade (s)' % name] = unhealthy
        after = snapshot(e2e, name)
        assert GOOD in after['version'] and after['image'].startswith('openclaw-gateway:%s-' % GOOD)
        for key in ('token', 'marker'):
            assert after[key] == before[name][key], (name, key)
        assert readyz(e2e, name).endswith(' 200')
        # the state disk's guard mount stays in the compose file (no start without the disk)
        assert '/run/openclaw-state-disk' in on_vm(e2e, name, 'sudo cat %s/docker-compose.yml' % PROJECT).stdout
        # the older images (the canary's broken one too) went once the new one was proven
        tags = on_vm(e2e, name, "sudo docker image ls openclaw-gateway --format '{{.Tag}}'").stdout.split()
        assert tags == [after['image'].split(':', 1)[1]], (name, tags)


def test_the_same_update_again_changes_nothing(e2e):
    started = time.monotonic()
    proc = e2e.playbook(ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', BATCHES,
                        '-e', 'gateway_version=%s' % GOOD)
    FIGURES['update.yml to %s again (no change)' % GOOD] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert {h: c['changed'] for h, c in recap(proc.stdout).items()} == dict((n, 0) for n in NAMES)
    assert all(line[2] == 'unchanged' for line in summary_lines(proc.stdout).values())
    print('\nupdate drills:')
    for label, value in FIGURES.items():
        print('  %-62s %6.1f' % (label, value))
