# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the end-to-end tests: playbook runs against the emulator, reaching its VMs."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / 'inventory' / 'emulator.compute.yml'
SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
               '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10']
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
REQUIRED_IMAGES = ('openclaw-gcp/vm:debian-12', 'openclaw-gcp/node:24-bookworm-slim')


class Run:
    """An ansible-playbook / ansible-inventory run against the e2e emulator."""

    def __init__(self, emu, key_file, log_dir, public_ip=False):
        self.emu = emu
        self.key_file = key_file
        self.log_dir = log_dir
        self.count = 0
        # False: the product's default, VMs without an external IP reached through IAP. True:
        # public mode (openclaw_gcp_public_ip=true), for drills about something else.
        self.public_ip = public_ip

    @property
    def known_hosts_file(self):
        """The VMs' host keys, trusted by the playbooks: private to this run, never ~/.ssh/known_hosts."""
        return self.key_file.parent / 'known_hosts'

    def env(self):
        """The modules' and gcloud's environment, as an operator behind a TLS-inspecting proxy
        has it: Google's own hosts (compute, oauth2, tunnel.cloudproxy.app for IAP) through the
        HTTPS proxy, its CA in core/custom_ca_certs_file, the service account key as gcloud's
        credential. Nothing in it names the emulator's address."""
        env = dict(os.environ)
        env.update(self.emu.client_env('proxy'))
        env.update(self.emu.gcloud_env(self.log_dir.parent / 'gcloud', via='proxy'))
        env['ANSIBLE_FORCE_COLOR'] = '0'
        env['OPENCLAW_GCP_KNOWN_HOSTS_FILE'] = str(self.known_hosts_file)
        return env

    def playbook(self, playbook, *args, timeout=1500):
        self.count += 1
        mode = ['-e', '{"openclaw_gcp_public_ip": true}'] if self.public_ip else []
        cmd = ['ansible-playbook', '-i', str(INVENTORY), str(playbook),
               '-e', 'openclaw_gcp_ssh_key_file=%s' % self.key_file, *mode, *args]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout,
                              check=False)
        log = self.log_dir / ('%02d-%s.log' % (self.count, Path(playbook).stem))
        elapsed = time.monotonic() - started
        log.write_text('$ %s\n\n%s\n%s\n(%.0f s, exit %d)\n'
                       % (shlex.join(cmd), proc.stdout, proc.stderr, elapsed, proc.returncode))
        return proc

    def inventory(self):
        proc = subprocess.run(['ansible-inventory', '-i', str(INVENTORY), '--list'], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return plain(json.loads(proc.stdout))

    def ssh(self, name, command, **kwargs):
        """Run a command on gateway ``name`` as the inventory reaches it: its loopback address
        (public mode) or, for a VM without an external address, through IAP (the real gcloud
        start-iap-tunnel as ssh's ProxyCommand)."""
        hostvars = self.inventory()['_meta']['hostvars'][name]
        address = hostvars.get('ansible_host', name)
        if address.startswith('127.'):
            return ssh(address, self.key_file, command, **kwargs)
        proxy = ('gcloud compute start-iap-tunnel %s 22 --listen-on-stdin --project=%s --zone=%s --verbosity=warning'
                 % (name, hostvars['gce_project'], hostvars['gce_zone']))
        return ssh(name, self.key_file, command, proxy=proxy, env=self.env(), **kwargs)


def api(emu, path):
    """GET ``path`` (below the emulator's root, e.g. compute/v1/projects/P/...) as the operator."""
    request = urllib.request.Request('%s/%s' % (emu.endpoint, path), headers={'Authorization': 'Bearer ' + emu.token})
    return json.loads(NO_PROXY.open(request, timeout=10).read())


def plain(value):
    """ansible-inventory marks untrusted strings as {"__ansible_unsafe": "..."}: unwrap."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def recap(stdout):
    """{host: {ok, changed, unreachable, failed, ...}} from a playbook's PLAY RECAP."""
    out = {}
    for host, counters in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', stdout.split('PLAY RECAP', 1)[-1], re.M):
        out[host] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', counters))
    return out


def ssh(address, key_file, command, user='openclaw', timeout=120, check=True, stdin=None, proxy=None, env=None):
    """Run a command on a VM with the operator key: a loopback address, or any name through
    ``proxy`` (an IAP tunnel command), never a non-loopback address."""
    assert proxy or address.startswith('127.'), 'refusing to SSH to a non-loopback address %s' % address
    options = SSH_OPTIONS + (['-o', 'ProxyCommand=' + proxy] if proxy else [])
    proc = subprocess.run(['ssh', '-i', str(key_file), *options, '%s@%s' % (user, address), command],
                          input=stdin, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if check:
        assert proc.returncode == 0, 'ssh %s %r failed: %s' % (address, command, proc.stderr)
    return proc


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
