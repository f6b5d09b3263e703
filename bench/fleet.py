# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet provisioning: 1, 5, 20 gateways against an emulator whose operations take LATENCY s.

Two ways to provision, each timed end to end (one `ansible-playbook` run, fresh emulator):

* forks      openclaw.gcp.compute_instance once per inventory host, forks = N (the gateways as
             hosts, as `resize.yml` and a multi-gateway inventory run them);
* site.yml   the provision play of site.yml (`playbooks/provision.yml -l localhost`: APIs,
             firewall, service account, IAM, then the VMs; the SSH wait play needs real VMs and is
             left out by the limit), gateways given as openclaw_gcp_gateways.

Target: 20 gateways take less than twice as long as 1. Afterwards exactly N gateway instances
must exist and no task may have failed.
"""

from __future__ import annotations

import json
import os

import requests

from bench import common

SIZES = [1, 5, 20]
LATENCY = 3.0
ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-east1-b', 'europe-west1-b']


def gateway_names(n):
    return ['fleet-gw-%02d' % i for i in range(1, n + 1)]


def forks_inventory(path, n):
    lines = ['[gateways]']
    for i, name in enumerate(gateway_names(n)):
        lines.append('%s gce_zone=%s ansible_connection=local'
                     % (name, ZONES[i % len(ZONES)]))
    return common.write_yaml(path, '\n'.join(lines) + '\n')


FORKS_PLAYBOOK = '''---
- name: Provision every gateway of the inventory, one fork each
  hosts: gateways
  gather_facts: false
  tasks:
    - name: Create or update the gateway VM
      openclaw.gcp.compute_instance:
        name: "{{ inventory_hostname }}"
        zone: "{{ gce_zone }}"
        machine_type: e2-small
        image: projects/debian-cloud/global/images/family/debian-12
        boot_disk_size_gb: 20
        labels:
          openclaw-role: gateway
          managed-by: openclaw-gcp
        state: started
'''


def count_gateways(emu):
    with open(emu.token_file) as f:
        token = f.read().strip()
    r = requests.get('%s/compute/v1/projects/%s/aggregated/instances' % (emu.endpoint, common.PROJECT),
                     params={'filter': 'labels.openclaw-role = "gateway"', 'maxResults': 500},
                     headers={'Authorization': 'Bearer ' + token}, timeout=60,
                     proxies={'http': None, 'https': None})
    r.raise_for_status()
    names = []
    for scoped in (r.json().get('items') or {}).values():
        names += [i['name'] for i in scoped.get('instances') or []]
    return sorted(names)


def recap(stdout):
    """(ok, changed, failed, unreachable) summed over hosts from the PLAY RECAP."""
    totals = {'ok': 0, 'changed': 0, 'failed': 0, 'unreachable': 0}
    seen = False
    for line in stdout.splitlines():
        if 'PLAY RECAP' in line:
            seen = True
            continue
        if seen and ':' in line and 'ok=' in line:
            for part in line.split(':', 1)[1].split():
                k, _sep, v = part.partition('=')
                if k in totals:
                    totals[k] += int(v)
    return totals


def run_one(work, env, n, how, latency, rep=0):
    with common.emulator(os.path.join(work, 'emu-%s-%d-%d' % (how, n, rep)), latency=latency) as emu:
        cred = common.client_env(emu)
        penv = dict(env, **cred)
        if how == 'forks':
            inv = forks_inventory(os.path.join(work, 'fleet-%d.ini' % n), n)
            pb = common.write_yaml(os.path.join(work, 'fleet.yml'), FORKS_PLAYBOOK)
            cmd = ['ansible-playbook', '-i', inv, '--forks', str(max(n, 1))] + common.LOCAL_PYTHON + [pb]
        else:
            gws = [{'name': name, 'zone': ZONES[i % len(ZONES)]} for i, name in enumerate(gateway_names(n))]
            extra = {'openclaw_gcp_project': common.PROJECT, 'openclaw_gcp_gateways': gws,
                     'openclaw_gcp_ssh_key_file': os.path.join(work, 'ssh', 'id_ed25519')}
            extra_file = os.path.join(work, 'extra-%d.json' % n)
            with open(extra_file, 'w') as f:
                json.dump(extra, f)
            cmd = (['ansible-playbook', '-i', 'localhost,', '-l', 'localhost', '--forks', '20'] + common.LOCAL_PYTHON
                   + ['-e', '@' + extra_file, os.path.join(common.ROOT, 'playbooks', 'provision.yml')])
        window = common.RequestWindow(emu).start()
        m = common.run_measured(cmd, penv, timeout=1200)
        window.stop()
        s = window.summary()
        names = count_gateways(emu)
        rc = recap(m.stdout)
        ok = (m.rc == 0 and rc['failed'] == 0 and rc['unreachable'] == 0
              and names == sorted(gateway_names(n)))
        err = None
        if not ok:
            err = [line for line in (m.stdout + m.stderr).splitlines()
                   if 'fatal:' in line or 'ERROR' in line or 'FAILED' in line][:3] or (m.stderr or m.stdout)[-400:]
        return {'n': n, 'how': how, 'wall': m.wall, 'rc': m.rc, 'requests': s['requests'],
                'writes': s['writes'], 'token_exchanges': s['token_exchanges'], 'recap': rc,
                'instances': len(names), 'ok': ok, 'error': err, 'by_method': s['by_method'],
                'peak_rss_mib': m.maxrss_mib}


def run(sizes=None, latency=LATENCY, runs=3):
    """forks: median of ``runs`` runs per N (cheap); site.yml: one run per N (its cost is structural)."""
    sizes = sizes or SIZES
    env = common.base_env()
    results = []
    rows = []
    medians = {}
    with common.workdir('fleet') as work:
        for how in ('forks', 'site.yml'):
            base = None
            for n in sizes:
                reps = [run_one(work, env, n, how, latency, rep) for rep in range(runs if how == 'forks' else 1)]
                results.extend(reps)
                wall = common.median([r['wall'] for r in reps])
                medians[(how, n)] = (wall, all(r['ok'] for r in reps))
                if n == min(sizes):
                    base = wall
                r = reps[-1]
                errors = [x['error'] for x in reps if x['error']]
                rows.append([how, n, len(reps), wall, common.ratio(wall, base), r['requests'], r['writes'],
                             r['token_exchanges'], r['instances'], sum(x['recap']['failed'] for x in reps),
                             all(x['ok'] for x in reps), (str(errors[0])[:120] if errors else '')])
    verdicts = []
    for how in ('forks', 'site.yml'):
        if (how, 1) in medians and (how, 20) in medians:
            (w1, _ok1), (w20, ok20) = medians[(how, 1)], medians[(how, 20)]
            verdicts.append('%s: 20 gateways took %.2fx the time of 1 (target < 2x): %s' % (
                how, w20 / w1, 'met' if w20 < 2 * w1 and ok20 else 'NOT met'))
    text = common.table(
        'Fleet: provisioning N gateways, emulator operation latency %.1f s' % latency,
        ['how', 'N', 'runs', 'wall s', 'x N=1', 'requests', 'writes', 'tokens', 'instances', 'failed', 'ok', 'error'],
        rows, note='\n'.join(verdicts))
    common.write_results('fleet', {'latency': latency, 'results': results, 'verdicts': verdicts, 'table': text})
    return results
