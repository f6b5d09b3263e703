# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instance lifecycle: openclaw.gcp.compute_instance vs google.cloud.gcp_compute_instance.

One instance, four steps, each its own `ansible-playbook` run (so each step's requests are
counted alone): create (running), the same task again (no-op), machine type e2-small -> e2-medium
while RUNNING, delete. Per step: HTTP requests and writes, token exchanges (emulator request log),
the task's own duration and the process wall time, `changed`, and whether the result is right,
checked by reading the instance from the emulator afterwards:

* create  -> exists, RUNNING, e2-small, changed
* no-op   -> changed is false and no write was sent
* resize  -> changed, machine type e2-medium, RUNNING again
* delete  -> changed, instance gone
"""

from __future__ import annotations

import json
import os

import requests

from bench import common
from bench.https_proxy import InterceptingProxy

ZONE = 'us-central1-a'
IMAGE = 'projects/debian-cloud/global/images/family/debian-12'
LATENCY = 1.0  # seconds each emulated operation takes
STEPS = ['create', 'no-op', 'resize (RUNNING)', 'delete']


def _ours_task(emu, name, step):
    args = {
        'project': common.PROJECT, 'auth_kind': 'serviceaccount',
        'service_account_file': emu.key_file, 'api_endpoint_overrides': {'compute': emu.endpoint + '/compute/v1/'},
        'name': name, 'zone': ZONE,
    }
    if step == 'delete':
        args['state'] = 'absent'
    else:
        args.update({'state': 'started', 'image': IMAGE, 'boot_disk_size_gb': 20,
                     'labels': {'openclaw-role': 'gateway'},
                     'machine_type': 'e2-medium' if step.startswith('resize') else 'e2-small'})
        if step.startswith('resize'):
            # Terraform's name: stop, change, start as one change (the guide's OOM fix)
            args['allow_stopping_for_update'] = True
    return {'openclaw.gcp.compute_instance': args}


def _google_task(emu, name, step):
    args = {
        'project': common.PROJECT, 'auth_kind': 'serviceaccount',
        'service_account_file': emu.key_file, 'name': name, 'zone': ZONE,
    }
    if step == 'delete':
        args['state'] = 'absent'
    else:
        args.update({
            'state': 'present', 'status': 'RUNNING',
            'machine_type': 'e2-medium' if step.startswith('resize') else 'e2-small',
            'labels': {'openclaw-role': 'gateway'},
            'disks': [{'auto_delete': True, 'boot': True,
                       'initialize_params': {'source_image': IMAGE, 'disk_size_gb': 20}}],
            'network_interfaces': [{
                'network': {'selfLink': 'projects/%s/global/networks/default' % common.PROJECT},
                'access_configs': [{'name': 'External NAT', 'type': 'ONE_TO_ONE_NAT'}]}],
        })
    return {'google.cloud.gcp_compute_instance': args}


def playbook(path, task):
    task = dict({'name': 'step'}, **task)
    play = [{'name': 'lifecycle step', 'hosts': 'localhost', 'connection': 'local',
             'gather_facts': False, 'tasks': [task]}]
    with open(path, 'w') as f:
        json.dump(play, f)  # JSON is YAML
    return path


def task_result(stdout):
    """(host result, task seconds) from the ansible.posix.json callback's output."""
    start = stdout.find('{')
    data = json.loads(stdout[start:])
    task = data['plays'][0]['tasks'][0]
    res = task['hosts'].get('localhost', {})
    dur = task.get('task', {}).get('duration', {})
    secs = None
    if dur.get('start') and dur.get('end'):
        import datetime
        fmt = '%Y-%m-%dT%H:%M:%S.%fZ'
        secs = (datetime.datetime.strptime(dur['end'], fmt)
                - datetime.datetime.strptime(dur['start'], fmt)).total_seconds()
    return res, secs


def read_instance(emu, name):
    with open(emu.token_file) as f:
        token = f.read().strip()
    r = requests.get('%s/compute/v1/projects/%s/zones/%s/instances/%s' % (emu.endpoint, common.PROJECT, ZONE, name),
                     headers={'Authorization': 'Bearer ' + token}, timeout=30,
                     proxies={'http': None, 'https': None})
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def judge(step, res, inst, writes):
    changed = bool(res.get('changed'))
    failed = bool(res.get('failed'))
    mt = (inst or {}).get('machineType', '').rsplit('/', 1)[-1]
    status = (inst or {}).get('status')
    if step == 'create':
        ok = not failed and changed and inst is not None and status == 'RUNNING' and mt == 'e2-small'
        why = 'exists %s %s' % (status, mt) if inst else 'missing'
    elif step == 'no-op':
        ok = not failed and not changed and writes == 0
        why = 'changed=%s, %d writes' % (changed, writes)
    elif step.startswith('resize'):
        ok = not failed and changed and mt == 'e2-medium' and status == 'RUNNING'
        why = 'now %s %s' % (status, mt)
    else:
        ok = not failed and changed and inst is None
        why = 'gone' if inst is None else 'still there (%s)' % status
    if failed:
        why = 'FAILED: %s' % str(res.get('msg'))[:160]
    return ok, why


def run(runs=3):
    env = common.base_env()
    env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    env['ANSIBLE_CALLBACK_RESULT_FORMAT'] = 'json'
    samples = {}
    with common.workdir('lifecycle') as work, common.emulator(os.path.join(work, 'emu'), latency=LATENCY) as emu, \
            InterceptingProxy(emu.endpoint) as proxy:
        genv = dict(env, **proxy.env())
        for i in range(runs):
            for impl, make, penv in (('openclaw.gcp', _ours_task, env), ('google.cloud', _google_task, genv)):
                name = 'lc-%s-%d' % ('ours' if impl == 'openclaw.gcp' else 'google', i)
                for step in STEPS:
                    pb = playbook(os.path.join(work, 'step.yml'), make(emu, name, step))
                    window = common.RequestWindow(emu).start()
                    m = common.run_measured(['ansible-playbook', '-i', 'localhost,'] + common.LOCAL_PYTHON + [pb], penv)
                    window.stop()
                    s = window.summary()
                    try:
                        res, task_secs = task_result(m.stdout)
                    except (ValueError, KeyError, IndexError):
                        res, task_secs = {'failed': True, 'msg': (m.stderr or m.stdout)[-300:]}, None
                    inst = read_instance(emu, name)
                    ok, why = judge(step, res, inst, s['writes'])
                    samples.setdefault((impl, step), []).append({
                        'wall': m.wall, 'task_seconds': task_secs, 'requests': s['requests'],
                        'writes': s['writes'], 'token_exchanges': s['token_exchanges'],
                        'changed': bool(res.get('changed')), 'failed': bool(res.get('failed')),
                        'correct': ok, 'detail': why, 'by_method': s['by_method'],
                        'proxy': proxy.snapshot() if impl == 'google.cloud' else None,
                    })
                    proxy.reset_counters()
    rows = []
    summary = {}
    for step in STEPS:
        g = samples[('google.cloud', step)]
        gtask = common.median([x['task_seconds'] for x in g])
        for impl in ('openclaw.gcp', 'google.cloud'):
            xs = samples[(impl, step)]
            task = common.median([x['task_seconds'] for x in xs])
            req = common.median([x['requests'] for x in xs])
            tok = common.median([x['token_exchanges'] for x in xs])
            correct = all(x['correct'] for x in xs)
            summary['%s/%s' % (impl, step)] = {
                'task_seconds_median': task, 'wall_median': common.median([x['wall'] for x in xs]),
                'requests_median': req, 'token_exchanges_median': tok, 'correct_all_runs': correct,
                'samples': xs}
            rows.append([step, impl, req, common.median([x['writes'] for x in xs]), tok,
                         task, common.ratio(task, gtask), common.median([x['wall'] for x in xs]),
                         'yes' if xs[-1]['changed'] else 'no', correct, xs[-1]['detail']])
    writes_seen = []
    for step in STEPS:
        for impl in ('openclaw.gcp', 'google.cloud'):
            calls = samples[(impl, step)][-1]['by_method']
            w = ['%s x%d' % (k.split('/')[-1] if not k.split('/')[-1].startswith('*') else k.split(' ')[0], v)
                 for k, v in calls.items() if not k.startswith('GET') and '/wait' not in k]
            writes_seen.append('  %-17s %-13s %s' % (step, impl, ', '.join(w) or 'none'))
    text = common.table(
        'Instance lifecycle: one VM, each step a separate ansible-playbook run (median of %d)' % runs,
        ['step', 'module', 'requests', 'writes', 'tokens', 'task s', 'x google', 'wall s', 'changed',
         'right', 'result'],
        rows,
        note=('requests/writes/tokens: what the emulator received (tokens = OAuth2 exchanges). '
              'task s: the module task alone; wall s: the whole ansible-playbook process. '
              '"right": checked by reading the instance back from the emulator, in every run. '
              'A wrong result that is faster is not a win: google.cloud sends setMachineType to the '
              'RUNNING VM, the API refuses it (400 resourceNotReady, as Google does) and the module '
              'does not look at the answer.\nWrite calls per step (last run):\n' + '\n'.join(writes_seen)))
    common.write_results('lifecycle', {'runs': runs, 'summary': summary, 'table': text})
    return summary
