# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory at scale: `ansible-inventory --list` with openclaw.gcp.compute vs google.cloud.gcp_compute.

The memory emulator is preloaded with N instances over 24 zones; every 10th is a gateway
(label openclaw-role=gateway). Two questions per N:

* all      every instance (no filter): both plugins must list N hosts;
* gw-3z    the gateways of 3 zones: label filter sent to the API by both (google.cloud's
           `filters`), zones applied client-side by both (neither can do better: aggregatedList
           has no zone parameter);

Per run: wall time, API requests and token exchanges (the emulator's request log), peak RSS of
`ansible-inventory` (wait4). Median of RUNS runs. google.cloud runs through bench/https_proxy.py.
"""

from __future__ import annotations

import json
import os

import requests

from bench import common
from bench.https_proxy import InterceptingProxy

ZONES = [
    'us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f',
    'us-east1-b', 'us-east1-c', 'us-east1-d', 'us-east4-a', 'us-east4-b', 'us-east4-c',
    'us-west1-a', 'us-west1-b', 'us-west1-c', 'us-west4-a',
    'europe-west1-b', 'europe-west1-c', 'europe-west1-d', 'europe-west4-a', 'europe-west4-b',
    'europe-north1-a', 'asia-east1-a', 'asia-east1-b', 'asia-northeast1-a', 'australia-southeast1-a',
]
# Odd zone indexes: preload puts instance k in ZONES[(k-1) % 24], and gateways are k = 10, 20, ...
SELECTED_ZONES = ['us-central1-b', 'europe-west1-c', 'asia-east1-b']
GATEWAY_EVERY = 10
SIZES = [100, 1000, 5000]
# The world: 5,000 gateways among 25,000 instances in 40 zones (every 5th a gateway), both
# plugins asked for the gateways (label filter sent to the API). BENCH_WORLD=0 leaves it out.
WORLD_ZONES = ZONES + [
    'asia-east1-c', 'asia-northeast1-b', 'asia-northeast1-c', 'asia-southeast1-a', 'asia-southeast1-b',
    'asia-southeast1-c', 'australia-southeast1-b', 'australia-southeast1-c', 'europe-north1-b', 'europe-north1-c',
    'europe-southwest1-a', 'europe-southwest1-b', 'europe-southwest1-c', 'europe-west2-a', 'europe-west2-b',
    'europe-west2-c',
]
WORLD = 25000
WORLD_GATEWAY_EVERY = 5


def preload(emu, count, zones=None, gateway_every=GATEWAY_EVERY):
    """Bulk-create memory instances through the emulator's admin API."""
    body = {'project': common.PROJECT, 'zones': zones or ZONES, 'count': count,
            'labels': {'env': 'bench', 'team': 'openclaw'}, 'gateway_every': gateway_every}
    r = requests.post(emu.endpoint + '/_emulator/preload', json=body, timeout=300,
                      proxies={'http': None, 'https': None})
    r.raise_for_status()
    return r.json() if r.content else {}


def ours_config(directory, emu, scenario):
    lines = [
        'plugin: openclaw.gcp.compute',
        'projects: [%s]' % common.PROJECT,
        'auth_kind: serviceaccount',
        'service_account_file: %s' % emu.key_file,
        'api_endpoint_overrides:',
        '  compute: %s/compute/v1/' % emu.endpoint,
        'hostnames: [name]',
        'keyed_groups:',
        '  - key: gce_zone',
        '    prefix: zone',
    ]
    if scenario == 'all':
        lines.append('labels: {}')
    elif scenario == 'gateways':
        lines += ['labels:', '  openclaw-role: gateway']
    else:
        lines += ['labels:', '  openclaw-role: gateway', 'zones: [%s]' % ', '.join(SELECTED_ZONES)]
    return common.write_yaml(os.path.join(directory, 'ours-%s.compute.yml' % scenario), '\n'.join(lines) + '\n')


def google_config(directory, emu, scenario):
    lines = [
        'plugin: google.cloud.gcp_compute',
        'projects: [%s]' % common.PROJECT,
        'auth_kind: serviceaccount',
        'service_account_file: %s' % emu.key_file,
        'hostnames: [name]',
        'keyed_groups:',
        '  - key: zone',
        '    prefix: zone',
    ]
    if scenario != 'all':
        lines += ['filters:', '  - labels.openclaw-role = gateway']
    if scenario == 'gw-3z':
        lines += ['zones: [%s]' % ', '.join(SELECTED_ZONES)]
    return common.write_yaml(os.path.join(directory, 'google-%s.gcp_compute.yml' % scenario),
                             '\n'.join(lines) + '\n')


def list_once(emu, config, env, out_path):
    window = common.RequestWindow(emu).start()
    m = common.run_measured(['ansible-inventory', '-i', config, '--list', '--output', out_path], env)
    window.stop()
    m.check('ansible-inventory (%s)' % os.path.basename(config))
    with open(out_path) as f:
        data = json.load(f)
    hosts = sorted((data.get('_meta') or {}).get('hostvars', {}))
    s = window.summary()
    return {'wall': m.wall, 'maxrss_mib': m.maxrss_mib, 'requests': s['requests'],
            'token_exchanges': s['token_exchanges'], 'by_method': s['by_method'],
            'hosts': len(hosts), 'host_names': hosts, 'warnings': _warnings(m.stderr), 'data': data}


def static_copy(data, path):
    """The same hosts, variables and groups as a static YAML-plugin (JSON) inventory: what
    Ansible itself costs for this inventory, with no plugin and no HTTP at all."""
    hostvars = (data.get('_meta') or {}).get('hostvars', {})
    children = {}
    for group, body in data.items():
        if group in ('_meta', 'all', 'ungrouped') or not isinstance(body, dict):
            continue
        children[group] = {'hosts': {h: None for h in body.get('hosts', [])}}
    with open(path, 'w') as f:
        json.dump({'all': {'hosts': hostvars, 'children': children}}, f)
    return path


def _warnings(stderr):
    return [line for line in stderr.splitlines() if 'WARNING' in line or 'ERROR' in line][:5]


def run_world(work, env, runs, rows, results, count=WORLD):
    """The issue's world: both plugins list the gateways (count / 5) among ``count`` instances in 40 zones."""
    with common.emulator(os.path.join(work, 'emu-world')) as emu:
        preload(emu, count, zones=WORLD_ZONES, gateway_every=WORLD_GATEWAY_EVERY)
        with InterceptingProxy(emu.endpoint) as proxy:
            genv = dict(env, **proxy.env())
            per = {}
            for plugin, cfg, penv in (('openclaw.gcp', ours_config(work, emu, 'gateways'), env),
                                      ('google.cloud', google_config(work, emu, 'gateways'), genv)):
                samples = [list_once(emu, cfg, penv, os.path.join(work, 'out.json')) for _run in range(runs)]
                for smp in samples:
                    smp.pop('data')
                per[plugin] = {'wall_median': common.median([x['wall'] for x in samples]),
                               'maxrss_mib_median': common.median([x['maxrss_mib'] for x in samples]),
                               'requests': samples[-1]['requests'], 'token_exchanges': samples[-1]['token_exchanges'],
                               'hosts': samples[-1]['hosts'], 'host_names': samples[-1]['host_names'],
                               'samples': [{k: v for k, v in x.items() if k != 'host_names'} for x in samples]}
    same = per['openclaw.gcp'].pop('host_names') == per['google.cloud'].pop('host_names')
    expected = count // WORLD_GATEWAY_EVERY
    for plugin in ('openclaw.gcp', 'google.cloud'):
        p = per[plugin]
        limit = common.physical_limit(p['hosts'])
        rows.append(['%d/40z' % count, 'gateways', plugin, p['hosts'], p['wall_median'],
                     common.ratio(p['wall_median'], per['google.cloud']['wall_median']),
                     p['requests'], limit, common.ratio(p['requests'], limit), p['token_exchanges'],
                     p['maxrss_mib_median'], same and p['hosts'] == expected])
    speedup = per['google.cloud']['wall_median'] / per['openclaw.gcp']['wall_median'] if per['openclaw.gcp']['wall_median'] else None
    results.append({'n': count, 'zones': len(WORLD_ZONES), 'scenario': 'world-gateways', 'same_hosts': same,
                    'speedup_vs_google': speedup, 'plugins': per})
    return speedup


def run(sizes=None, runs=3, world=None):
    sizes = sizes or SIZES
    if world is None:
        world = int(os.environ.get('BENCH_WORLD', WORLD))
    # every run is a cold start that exchanges its token (the per-user token cache would spare
    # later runs that request, which google.cloud cannot): the request counts stay comparable
    env = dict(common.base_env(), OPENCLAW_GCP_TOKEN_CACHE='0')
    results = []
    rows = []
    with common.workdir('inventory') as work:
        for n in sizes:
            with common.emulator(os.path.join(work, 'emu-%d' % n)) as emu:
                preload(emu, n)
                with InterceptingProxy(emu.endpoint) as proxy:
                    genv = dict(env, **proxy.env())
                    for scenario in ('all', 'gw-3z'):
                        per = {}
                        for plugin, cfg, penv in (
                                ('openclaw.gcp', ours_config(work, emu, scenario), env),
                                ('google.cloud', google_config(work, emu, scenario), genv)):
                            samples = [list_once(emu, cfg, penv, os.path.join(work, 'out.json'))
                                       for _run in range(runs)]
                            for smp in samples:
                                data = smp.pop('data')
                            if plugin == 'openclaw.gcp' and scenario == 'all':
                                static = static_copy(data, os.path.join(work, 'static-%d.json' % n))
                            per[plugin] = {
                                'wall_median': common.median([s['wall'] for s in samples]),
                                'maxrss_mib_median': common.median([s['maxrss_mib'] for s in samples]),
                                'requests': samples[-1]['requests'],
                                'token_exchanges': samples[-1]['token_exchanges'],
                                'hosts': samples[-1]['hosts'],
                                'by_method': samples[-1]['by_method'],
                                'samples': [{k: v for k, v in s.items() if k != 'host_names'}
                                            for s in samples],
                                'host_names': samples[-1]['host_names'],
                            }
                        if scenario == 'all':
                            floor = [list_once(emu, static, env, os.path.join(work, 'out.json')) for _run in range(runs)]
                            for smp in floor:
                                smp.pop('data')
                            fl = {'wall_median': common.median([x['wall'] for x in floor]),
                                  'maxrss_mib_median': common.median([x['maxrss_mib'] for x in floor]),
                                  'hosts': floor[-1]['hosts'], 'requests': floor[-1]['requests']}
                            results.append({'n': n, 'scenario': 'static-floor', 'floor': fl})
                        same = per['openclaw.gcp']['host_names'] == per['google.cloud']['host_names']
                        expected = n if scenario == 'all' else None
                        for plugin in ('openclaw.gcp', 'google.cloud'):
                            p = per[plugin]
                            p.pop('host_names')
                            limit = common.physical_limit(n if scenario == 'all' else max(1, p['hosts']))
                            rows.append([
                                n, scenario, plugin, p['hosts'],
                                p['wall_median'], common.ratio(p['wall_median'], per['google.cloud']['wall_median']),
                                p['requests'], limit, common.ratio(p['requests'], limit),
                                p['token_exchanges'], p['maxrss_mib_median'],
                                same and (expected is None or p['hosts'] == expected),
                            ])
                        if scenario == 'all':
                            rows.append([n, scenario, 'static file (Ansible floor)', fl['hosts'], fl['wall_median'],
                                         common.ratio(fl['wall_median'], per['google.cloud']['wall_median']),
                                         fl['requests'], 0, None, 0, fl['maxrss_mib_median'],
                                         fl['hosts'] == n])
                        results.append({'n': n, 'scenario': scenario, 'same_hosts': same, 'plugins': per})
        speedup = run_world(work, env, runs, rows, results, world) if world else None
    text = common.table(
        'Inventory: ansible-inventory --list (median of %d runs)' % runs,
        ['N', 'query', 'plugin', 'hosts', 'wall s', 'x google', 'requests', 'limit', 'x limit',
         'tokens', 'peak MiB', 'hosts agree'],
        rows,
        note=('limit = ceil(instances the API must return / 500) list requests (all: N; gw-3z: the '
              'matching gateways). tokens = OAuth2 token exchanges. "hosts agree": both plugins '
              'listed the same host names (and N of them for "all"). "static file": the same hosts, '
              'variables and groups from a plain JSON file: what ansible-inventory itself costs. '
              'N/40z: the gateways (every 5th instance) among N instances in 40 zones, label filter sent '
              'to the API by both.'))
    if speedup is not None:
        print('openclaw.gcp lists the %d gateways among %d instances %.1fx faster than google.cloud (goal: 3x)'
              % (world // WORLD_GATEWAY_EVERY, world, float(speedup)))
    common.write_results('inventory', {'runs': runs, 'zones': len(ZONES), 'gateway_every': GATEWAY_EVERY,
                                       'results': results, 'table': text})
    return results
