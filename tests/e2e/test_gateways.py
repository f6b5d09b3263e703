# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole guide, end to end, for two gateways on the emulator's container-backed VMs.

In the product's default, private mode: the VMs have no external address, egress through Cloud
NAT, port 22 is open to IAP's range only, and every SSH connection (Ansible's, the printed
Control UI tunnel's, this test's) goes through the real `gcloud compute start-iap-tunnel` and
the emulator's IAP relay, which counts the sessions.

site.yml provisions two VMs in two zones and configures both in parallel (Docker, ~/.openclaw,
a real OpenClaw gateway built in each VM's Docker), a second run changes nothing and sends no
write call, a run in check and diff mode predicts no change either, the printed
SSH tunnel reaches /healthz and the Control UI from this machine, resize.yml grows one VM from
e2-small to e2-medium while it runs (stop, set, start), both stay healthy, the resized one
keeps its token and workspace and its gateway's memory cap grows from 1536m to 3072m, the inventory groups them by zone and status, update.yml bakes a
new binary into both images one VM at a time, and destroy.yml asks first, takes a verified backup
and deletes them.

The tests run in file order and share one deployment (module-scoped fixture): each step builds
on the previous one, as an operator's session would.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tarfile
import time

import pytest

from e2e_helpers import NO_PROXY, ROOT, api, free_port, recap

pytestmark = pytest.mark.e2e

GATEWAYS = [
    {'name': 'e2e-gw-a', 'zone': 'us-central1-a'},
    {'name': 'e2e-gw-b', 'zone': 'europe-west1-b'},
]
GATEWAYS_ARG = json.dumps({'openclaw_gcp_gateways': GATEWAYS})
ENV_FILE = '/home/openclaw/openclaw/.env'
WORKSPACE = '/home/openclaw/.openclaw/workspace'
STATE = {}
MIB = 1024 * 1024


def compute(emu, path):
    return api(emu, 'compute/v1/projects/%s/%s' % (emu.project, path))


def token_of(run, name):
    out = run.ssh(name, 'sudo grep ^OPENCLAW_GATEWAY_TOKEN= %s' % ENV_FILE).stdout
    token = out.strip().split('=', 1)[1]
    assert re.fullmatch(r'[0-9a-f]{64}', token), 'the gateway token is not 64 hex digits'
    return token


def healthz_on_vm(run, name):
    return run.ssh(name, 'curl -fsS --max-time 5 http://127.0.0.1:18789/healthz').stdout


def container_memory(name, zone, project='openclaw-demo'):
    proc = subprocess.run(['docker', 'inspect', '-f', '{{.HostConfig.Memory}}', 'gce-%s-%s-%s' % (project, zone, name)],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout.strip())


def gateway_memory_cap(run, name):
    """The gateway container's memory limit (bytes) as the VM's Docker applied it."""
    out = run.ssh(name, 'cd /home/openclaw/openclaw && sudo docker inspect -f "{{.HostConfig.Memory}}" '
                        '$(sudo docker compose ps -q openclaw-gateway)').stdout
    return int(out.strip())


def test_site_deploys_two_gateways(e2e):
    started = time.monotonic()
    proc = e2e.playbook(ROOT / 'site.yml', '-e', GATEWAYS_ARG)
    STATE['site_minutes'] = (time.monotonic() - started) / 60
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert sorted(summary) == ['e2e-gw-a', 'e2e-gw-b', 'localhost']
    assert all(c['failed'] == 0 and c['unreachable'] == 0 for c in summary.values())
    STATE['site_stdout'] = proc.stdout

    # private: no external address, SSH open to IAP's range only, egress through Cloud NAT, and
    # Ansible's connections went through IAP
    assert e2e.emu.iap_stats()['sessions'] > 0, 'no SSH session went through IAP'
    for gateway in GATEWAYS:
        instance = compute(e2e.emu, 'zones/%s/instances/%s' % (gateway['zone'], gateway['name']))
        assert not instance['networkInterfaces'][0].get('accessConfigs'), instance['networkInterfaces']
    firewalls = compute(e2e.emu, 'global/firewalls').get('items', [])
    assert [f['sourceRanges'] for f in firewalls if f['name'] == 'openclaw-allow-ssh'] == [['35.235.240.0/20']]
    # none of ours admits everyone (the default network's own default-allow-* rules are Google's)
    assert not [f['name'] for f in firewalls if f['name'].startswith('openclaw-') and '0.0.0.0/0' in f['sourceRanges']]
    for region in ('us-central1', 'europe-west1'):
        router = compute(e2e.emu, 'regions/%s/routers/openclaw-router-default' % region)
        assert [n['name'] for n in router.get('nats', [])] == ['openclaw-nat-default']

    # one tunnel command per gateway, ssh through IAP (gcloud start-iap-tunnel as the
    # ProxyCommand) with the operator key and the VMs' host keys
    tunnels = re.findall(r'^\s*(ssh -i \S+ .*-L 18789:127\.0\.0\.1:18789 openclaw@(\S+))\s*$', proc.stdout, re.M)
    assert len(tunnels) == 2, proc.stdout[-4000:]
    for gateway in GATEWAYS:
        cmd, = [cmd for cmd, dummy in tunnels if 'start-iap-tunnel %s 22 ' % gateway['name'] in cmd]
        assert cmd.startswith('ssh -i %s ' % e2e.key_file), cmd
        assert 'StrictHostKeyChecking=yes' in cmd, cmd
    STATE['tunnel'] = tunnels[0]
    assert proc.stdout.count('The token is OPENCLAW_GATEWAY_TOKEN in %s on the VM' % ENV_FILE) == 2

    # the token is stored on each VM, never printed
    for gateway in GATEWAYS:
        token = token_of(e2e, gateway['name'])
        assert token not in proc.stdout and token not in proc.stderr
    assert token_of(e2e, 'e2e-gw-a') != token_of(e2e, 'e2e-gw-b')

    # the login user is not in the root-equivalent docker group (the playbooks use become)
    groups = e2e.ssh('e2e-gw-a', 'id -nG').stdout.split()
    assert 'docker' not in groups, groups

    # the memory cap comes from the machine type: an e2-small's 2048 MiB less a quarter
    for gateway in GATEWAYS:
        assert gateway_memory_cap(e2e, gateway['name']) == 1536 * MIB


def test_second_site_run_changes_nothing(e2e):
    writes = e2e.emu.stats()['writes']
    proc = e2e.playbook(ROOT / 'site.yml', '-e', GATEWAYS_ARG)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert sorted(summary) == ['e2e-gw-a', 'e2e-gw-b', 'localhost']
    assert {host: c['changed'] for host, c in summary.items()} == {'e2e-gw-a': 0, 'e2e-gw-b': 0, 'localhost': 0}
    # and not one write call reached the API
    assert e2e.emu.stats()['writes'] == writes


def test_check_mode_on_a_deployed_fleet_predicts_no_change(e2e):
    writes = e2e.emu.stats()['writes']
    proc = e2e.playbook(ROOT / 'site.yml', '-e', GATEWAYS_ARG, '--check', '--diff')
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert {host: (c['changed'], c['failed']) for host, c in summary.items()} == {
        'e2e-gw-a': (0, 0), 'e2e-gw-b': (0, 0), 'localhost': (0, 0)}
    assert e2e.emu.stats()['writes'] == writes


def test_inventory_groups_by_zone_and_status(e2e):
    inventory = e2e.inventory()

    def hosts(group):
        return sorted(inventory.get(group, {}).get('hosts', []))

    assert hosts('openclaw_gateways') == ['e2e-gw-a', 'e2e-gw-b']
    assert hosts('zone_us_central1_a') == ['e2e-gw-a']
    assert hosts('zone_europe_west1_b') == ['e2e-gw-b']
    assert hosts('status_running') == ['e2e-gw-a', 'e2e-gw-b']
    assert hosts('label_openclaw_role_gateway') == ['e2e-gw-a', 'e2e-gw-b']
    for gateway in GATEWAYS:
        hostvars = inventory['_meta']['hostvars'][gateway['name']]
        assert hostvars['gce_zone'] == gateway['zone']
        assert hostvars['gce_machine_type'] == 'e2-small'
        assert hostvars['gce_labels']['managed-by'] == 'openclaw-gcp'
        assert not hostvars.get('gce_external_ip'), hostvars   # private: reached through IAP


def test_printed_tunnel_reaches_healthz_and_control_ui(e2e):
    """Run the printed command (on a free local port, without a remote shell)."""
    command, dummy = STATE['tunnel']
    STATE['iap_before_tunnel'] = e2e.emu.iap_stats()['sessions']
    port = free_port()
    argv = shlex.split(command.replace('-L 18789:', '-L %d:' % port))
    argv[1:1] = ['-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes']
    tunnel = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=e2e.env())
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and tunnel.poll() is None:
            try:
                body = NO_PROXY.open('http://127.0.0.1:%d/healthz' % port, timeout=5).read()
                break
            except OSError:
                time.sleep(1)
        assert body is not None, 'no answer through the tunnel: %s' % (tunnel.stderr.read() if tunnel.poll() is not None else '')
        assert e2e.emu.iap_stats()['sessions'] > STATE['iap_before_tunnel'], 'the tunnel did not go through IAP'
        assert json.loads(body) == {'ok': True, 'status': 'live'}
        page = NO_PROXY.open('http://127.0.0.1:%d/' % port, timeout=10)
        assert page.status == 200
        assert '<title>OpenClaw Control</title>' in page.read().decode('utf-8', 'replace')
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)


def test_devices_helper_lists_one_gateway(e2e):
    proc = e2e.playbook(ROOT / 'playbooks' / 'devices.yml', '-l', 'e2e-gw-b', '-e', GATEWAYS_ARG)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert sorted(recap(proc.stdout)) == ['e2e-gw-b']
    assert 'No device pairing entries.' in proc.stdout        # nobody opened the Control UI yet


def test_resize_one_gateway_while_running(e2e):
    name, zone = 'e2e-gw-a', 'us-central1-a'
    token_before = token_of(e2e, name)
    marker = 'kept-across-resize-%d' % time.time()
    e2e.ssh(name, 'echo %s | sudo tee %s/e2e-marker >/dev/null && sudo chown 1000:1000 %s/e2e-marker'
            % (marker, WORKSPACE, WORKSPACE))
    assert container_memory(name, zone) == 2 * 1024 ** 3

    proc = e2e.playbook(ROOT / 'playbooks' / 'resize.yml', '-l', name, '-e', 'openclaw_gcp_machine_type=e2-medium',
                        '-e', GATEWAYS_ARG)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert sorted(recap(proc.stdout)) == [name]
    assert '%s runs as e2-medium (resized) and is healthy.' % name in proc.stdout

    inventory = e2e.inventory()
    assert inventory['_meta']['hostvars'][name]['gce_machine_type'] == 'e2-medium'
    assert inventory['_meta']['hostvars']['e2e-gw-b']['gce_machine_type'] == 'e2-small'
    assert sorted(inventory['status_running']['hosts']) == ['e2e-gw-a', 'e2e-gw-b']
    assert container_memory(name, zone) == 4 * 1024 ** 3          # the VM really got bigger
    # and the gateway's cap grew with it: e2-medium's 4096 MiB less 1 GiB; the other one kept its
    assert gateway_memory_cap(e2e, name) == 3072 * MIB
    assert gateway_memory_cap(e2e, 'e2e-gw-b') == 1536 * MIB

    # both healthy, the resized one kept its token and its workspace
    for gateway in GATEWAYS:
        assert json.loads(healthz_on_vm(e2e, gateway['name'])) == {'ok': True, 'status': 'live'}
    assert token_of(e2e, name) == token_before
    assert e2e.ssh(name, 'sudo cat %s/e2e-marker' % WORKSPACE).stdout.strip() == marker

    # a second resize to the same type leaves the VM alone
    proc = e2e.playbook(ROOT / 'playbooks' / 'resize.yml', '-l', name, '-e', 'openclaw_gcp_machine_type=e2-medium',
                        '-e', GATEWAYS_ARG)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)[name]['changed'] == 0
    assert '%s runs as e2-medium (unchanged)' % name in proc.stdout


def test_update_bakes_a_new_binary_one_vm_at_a_time(e2e):
    """update.yml with a new binary: each VM rebuilds and restarts in turn, keeps its token."""
    names = [g['name'] for g in GATEWAYS]
    tokens = dict((name, token_of(e2e, name)) for name in names)
    fixture = (ROOT / 'tests' / 'fixtures' / 'binaries' / 'fixture-gamma').read_text()
    for name in names:
        e2e.ssh(name, 'sudo mkdir -p /srv/e2e && sudo tee /srv/e2e/fixture-gamma >/dev/null', stdin=fixture)
    binaries = json.dumps({'gateway_binaries': [{
        'name': 'fixture-gamma', 'url': 'file:///srv/e2e/fixture-gamma',
        'sha256': '73c22180f18332b48d6fdea53672a5943d62ac20297f65759d075e1172e1cc8c'}]})

    proc = e2e.playbook(ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', binaries)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    summary = recap(proc.stdout)
    assert all(summary[name]['changed'] > 0 for name in names)
    assert proc.stdout.count('PLAY [Update the gateways]') == 2           # serial: one VM per batch
    for name in names:
        which = e2e.ssh(name, 'cd /home/openclaw/openclaw && sudo docker compose exec -T openclaw-gateway '
                              'which fixture-gamma')
        assert which.stdout.strip() == '/usr/local/bin/fixture-gamma'
        assert token_of(e2e, name) == tokens[name]
        assert json.loads(healthz_on_vm(e2e, name)) == {'ok': True, 'status': 'live'}

    # the same update again: nothing to rebuild, nothing restarted
    proc = e2e.playbook(ROOT / 'playbooks' / 'update.yml', '-e', GATEWAYS_ARG, '-e', binaries)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert {h: c['changed'] for h, c in recap(proc.stdout).items()} == {'e2e-gw-a': 0, 'e2e-gw-b': 0}


def test_destroy_asks_backs_up_and_deletes(e2e, tmp_path):
    # not confirmed (no terminal to answer the prompt): nothing is deleted
    proc = e2e.playbook(ROOT / 'playbooks' / 'destroy.yml', '-e', GATEWAYS_ARG)
    assert proc.returncode != 0
    assert 'Not confirmed; nothing was deleted.' in proc.stdout
    assert sorted(e2e.inventory()['openclaw_gateways']['hosts']) == ['e2e-gw-a', 'e2e-gw-b']

    backups = tmp_path / 'backups'
    proc = e2e.playbook(ROOT / 'playbooks' / 'destroy.yml', '-e', 'openclaw_gcp_destroy_confirm=true',
                        '-e', 'openclaw_gcp_backup_dir=%s' % backups, '-e', GATEWAYS_ARG)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    archives = sorted(backups.glob('*.tar'))
    assert [a.name.split('-openclaw-gcp-backup-')[0] for a in archives] == ['e2e-gw-a', 'e2e-gw-b']
    assert oct(backups.stat().st_mode & 0o777) == '0o700'
    assert oct(archives[0].stat().st_mode & 0o777) == '0o600'
    # the verified backup: OpenClaw's own archive, the compose .env and backup.json
    with tarfile.open(archives[0]) as archive:
        assert sorted(archive.getnames()) == ['backup.json', 'compose.env', 'openclaw-backup.tar.gz']
        with tarfile.open(fileobj=archive.extractfile('openclaw-backup.tar.gz')) as inner:
            names = inner.getnames()
    assert any(n.endswith('/payload/posix/home/node/.openclaw/workspace/e2e-marker') for n in names)
    assert any(n.endswith('/payload/posix/home/node/.openclaw/openclaw.json') for n in names)

    inventory = e2e.inventory()
    assert inventory['_meta']['hostvars'] == {}
    for gateway in GATEWAYS:
        container = 'gce-openclaw-demo-%s-%s' % (gateway['zone'], gateway['name'])
        listed = subprocess.run(['docker', 'ps', '-a', '-q', '--filter', 'name=^/%s$' % container],
                                capture_output=True, text=True, check=True).stdout
        assert listed.strip() == ''
    print('\nsite.yml for two gateways took %.1f min' % STATE.get('site_minutes', 0))
