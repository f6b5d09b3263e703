# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guide's provisioning chain against a Google that takes its time.

enable the Compute API -> SSH firewall -> a new service account -> two IAM bindings naming it ->
the VM running as it, on a fresh emulator project whose Compute API starts disabled, with the
emulator's propagation delay set to each of DELAYS seconds (a new service account unknown to
IAM and to instances.insert, the Compute API answering 403 SERVICE_DISABLED after enabling).
Prints, per delay: did the first run pass, its wall time, how many refusals the modules waited
out, and the second run's changes and write calls (goal: 0 and 0).
"""

import json
import os

from bench import common

DELAYS = (0, 5, 30)
ZONE = 'us-central1-a'
SA = 'openclaw-gw-chain'


def chain_play():
    email = '%s@%s.iam.gserviceaccount.com' % (SA, common.PROJECT)
    tasks = [
        {'name': 'enable compute', 'openclaw.gcp.project_service': {'service': 'compute.googleapis.com'}},
        {'name': 'firewall', 'openclaw.gcp.compute_firewall': {
            'name': 'chain-ssh', 'network': 'default', 'allowed': [{'protocol': 'tcp', 'ports': ['22']}],
            'source_ranges': ['35.235.240.0/20'], 'target_tags': ['openclaw-gw']}},
        {'name': 'service account', 'openclaw.gcp.service_account': {'name': SA, 'display_name': 'chain'}},
        {'name': 'logging writer', 'openclaw.gcp.project_iam_member': {
            'role': 'roles/logging.logWriter', 'member': 'serviceAccount:' + email}},
        {'name': 'metric writer', 'openclaw.gcp.project_iam_member': {
            'role': 'roles/monitoring.metricWriter', 'member': 'serviceAccount:' + email}},
        {'name': 'vm', 'openclaw.gcp.compute_instance': {
            'name': 'chain-gw', 'zone': ZONE, 'machine_type': 'e2-small', 'tags': ['openclaw-gw'],
            'service_account': {'email': email, 'scopes': ['https://www.googleapis.com/auth/logging.write']}}},
    ]
    return [{'name': 'chain', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}]


def run_chain(work, env, delay):
    with common.emulator(os.path.join(work, 'emu-%s' % delay), propagation_delay=delay, enabled_services=()) as emu:
        penv = dict(env, **common.client_env(emu))
        play = os.path.join(work, 'chain.json')
        with open(play, 'w') as handle:
            json.dump(chain_play(), handle)
        cmd = ['ansible-playbook', '-i', 'localhost,'] + common.LOCAL_PYTHON + [play]
        window = common.RequestWindow(emu)
        window.start()
        first = common.run_measured(cmd, penv)
        first_lines = window.stop().lines
        first_log = window.summary()
        window.start()
        second = common.run_measured(cmd, penv)
        second_log = window.stop().summary()
    refusals = sum(1 for x in first_lines if int(x.get('status') or 0) in (400, 403) and not window.is_admin(x))
    return {'delay': delay, 'first_rc': first.rc, 'first_wall': first.wall, 'first_requests': first_log['requests'],
            'first_writes': first_log['writes'], 'refusals': refusals, 'second_rc': second.rc,
            'second_changed': _changed(second.stdout), 'second_writes': second_log['writes'],
            'tail': '' if first.rc == 0 else first.stdout[-2000:]}


def _changed(stdout):
    for line in stdout.splitlines():
        if line.startswith('localhost') and 'changed=' in line:
            return int(line.split('changed=')[1].split()[0])
    return None


def run(delays=DELAYS):
    env = common.base_env()
    rows = []
    results = []
    with common.workdir('consistency') as work:
        for delay in delays:
            result = run_chain(work, env, delay)
            results.append(result)
            rows.append([delay, 'passed' if result['first_rc'] == 0 else 'FAILED', common.fmt(result['first_wall'], 1),
                         result['first_requests'], result['refusals'],
                         result['second_changed'], result['second_writes']])
            if result['tail']:
                print(result['tail'])
    common.table('Provisioning chain with Google-like propagation delays (fresh project, Compute API disabled)',
                 ['delay s', 'first run', 'wall s', 'requests', 'refusals waited out', '2nd changed', '2nd writes'],
                 rows, note='refusals: 400 "does not exist" and 403 SERVICE_DISABLED answers the modules recognised '
                            'as propagation and retried')
    common.write_results('consistency', {'runs': results})
    return results
