# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge one gateway on a fresh emulator VM (docker backend), then the recovery drills.

Converge: `ansible-playbook site.yml -i inventory/emulator.compute.yml` with one gateway, twice.
* first run: wall time, changed tasks;
* second run: wall time, it must change nothing, and the inner Docker's images must be the same
  (no image build);
* peak memory of the VM during each run: every second, the proportional set size (PSS) of all
  processes descending from the VM container's init (its systemd, dockerd, npm in the build,
  the gateway), summed; plus the VM container's memory cgroup peak (includes page cache);
* the gateway's idle RSS, 30 s after the second run (processes of the gateway container).

Recovery drills (the gateway deployed above; each must end with /healthz answering, the token
in .env unchanged and accepted by `openclaw gateway health`, and a marker file in the workspace
still there):
* kill the gateway container (SIGKILL to its main process, like the OOM killer): the restart
  policy must bring it back;
* restart the VM (compute_instance state=restarted through the emulator API);
* `docker compose down` inside the VM, then site.yml again.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

from bench import common

GATEWAY = 'bench-gw'
ZONE = 'us-central1-a'
SSH_USER = 'openclaw'
IDLE_SECONDS = 30


def vm_container():
    return 'gce-%s-%s-%s' % (common.PROJECT, ZONE, GATEWAY)


def sh(args, timeout=120, check=False):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and r.returncode != 0:
        raise RuntimeError('%s failed: %s' % (' '.join(args), r.stderr[-500:]))
    return r


def vm_exec(cmd, timeout=120):
    return sh(['docker', 'exec', vm_container(), 'sh', '-c', cmd], timeout=timeout)


# -- memory of the VM, from the host's /proc -------------------------------------------------

def _children_map():
    kids = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(')') + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def descendants(root):
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _kib(pid, field, source):
    try:
        with open('/proc/%d/%s' % (pid, source)) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pss_mib(pids):
    return sum(_kib(p, 'Pss', 'smaps_rollup') for p in pids) / 1024.0


def rss_mib(pids):
    return sum(_kib(p, 'VmRSS', 'status') for p in pids) / 1024.0


def vm_init_pid():
    r = sh(['docker', 'inspect', '-f', '{{.State.Pid}}', vm_container()])
    try:
        pid = int(r.stdout.strip())
        return pid or None
    except ValueError:
        return None


def vm_cgroup_file(name):
    r = sh(['docker', 'inspect', '-f', '{{.Id}}', vm_container()])
    cid = r.stdout.strip()
    for base in ('/sys/fs/cgroup/memory/docker/%s' % cid, '/sys/fs/cgroup/memory/system.slice/docker-%s.scope' % cid):
        if os.path.exists(os.path.join(base, name)):
            return os.path.join(base, name)
    return None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError, TypeError):
        return None


class MemorySampler:
    """Every second: PSS of every process under the VM container's init, and its peak."""

    def __init__(self):
        self.peak = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.wait(1.0):
            pid = vm_init_pid()
            if not pid:
                continue
            self.peak = max(self.peak, pss_mib(descendants(pid)))
            self.samples += 1

    def __enter__(self):
        path = vm_cgroup_file('memory.max_usage_in_bytes')
        if path:
            try:
                with open(path, 'w') as f:
                    f.write('0')  # reset the cgroup's peak for this run
            except OSError:
                pass
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        mx = read_int(vm_cgroup_file('memory.max_usage_in_bytes'))
        self.cgroup_peak = mx / 1048576.0 if mx else None
        lim = read_int(vm_cgroup_file('memory.limit_in_bytes'))
        self.cgroup_limit = lim / 1048576.0 if lim else None


# -- the gateway inside the VM ----------------------------------------------------------------

def gateway_container_id():
    r = vm_exec("docker ps -q --no-trunc --filter label=com.docker.compose.service=openclaw-gateway")
    ids = r.stdout.split()
    return ids[0] if ids else None


def gateway_rss_mib():
    """RSS of the gateway container's processes (host view: NSpid level 2 = its init in the VM)."""
    cid = gateway_container_id()
    if not cid:
        return None, False
    r = vm_exec("docker inspect -f '{{.State.Pid}}' %s" % cid)
    inner_pid = r.stdout.strip()
    root = vm_init_pid()
    if not inner_pid.isdigit() or not root:
        return None, False
    for pid in descendants(root):
        try:
            with open('/proc/%d/status' % pid) as f:
                ns = [line for line in f if line.startswith('NSpid:')]
        except OSError:
            continue
        levels = ns[0].split()[1:] if ns else []
        if len(levels) >= 2 and levels[1] == inner_pid:
            procs = descendants(pid)
            # Is the gateway inside the VM's memory cgroup (so the machine type's limit holds)?
            vm_id = sh(['docker', 'inspect', '-f', '{{.Id}}', vm_container()]).stdout.strip()
            try:
                with open('/proc/%d/cgroup' % pid) as f:
                    mem_line = [x for x in f if ':memory:' in x]
            except OSError:
                mem_line = []
            inside = bool(mem_line) and vm_id in mem_line[0]
            return rss_mib(procs), inside
    return None, False


def healthy():
    r = vm_exec('curl -fsS --max-time 5 http://127.0.0.1:18789/healthz')
    return r.returncode == 0 and '"ok":true' in r.stdout.replace(' ', '')


def wait_healthy(timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if healthy():
            return time.monotonic() - start
        time.sleep(2)
    return None


def env_token():
    r = vm_exec("sed -n 's/^OPENCLAW_GATEWAY_TOKEN=//p' ~%s/openclaw/.env" % SSH_USER)
    return r.stdout.strip().strip("'\"") or None


def token_accepted(token):
    cid = gateway_container_id()
    if not cid or not token:
        return False
    r = vm_exec("docker exec %s openclaw gateway health --url ws://127.0.0.1:18789 --token '%s'" % (cid, token),
                timeout=120)
    return r.returncode == 0


def wrong_token_rejected():
    cid = gateway_container_id()
    r = vm_exec("docker exec %s openclaw gateway health --url ws://127.0.0.1:18789 --token not-the-token" % cid,
                timeout=120)
    return r.returncode != 0


MARKER = '.openclaw/workspace/bench-marker.txt'


def write_marker():
    value = 'kept-%d' % time.time()
    vm_exec('echo {v} > ~{u}/{m} && chown 1000:1000 ~{u}/{m}'.format(v=value, u=SSH_USER, m=MARKER))
    return value


def read_marker():
    return vm_exec('cat ~%s/%s' % (SSH_USER, MARKER)).stdout.strip()


def inner_images():
    return sorted(vm_exec('docker images -q --no-trunc').stdout.split())


# -- site.yml -----------------------------------------------------------------------------------

def site(env, extra_file, log_path):
    cmd = ['ansible-playbook', 'site.yml', '-i', 'inventory/emulator.compute.yml', '-e', '@' + extra_file]
    m = common.run_measured(cmd, env, timeout=3600)
    with open(log_path, 'w') as f:
        f.write(m.stdout)
        f.write(m.stderr)
    changed, failed = [], []
    stats = {}
    try:
        data = json.loads(m.stdout[m.stdout.find('{'):])
        stats = data.get('stats', {})
        for play in data.get('plays', []):
            for task in play.get('tasks', []):
                for host, res in task.get('hosts', {}).items():
                    if res.get('changed'):
                        changed.append('%s: %s' % (host, task['task']['name']))
                    if res.get('failed') and not res.get('ignore_errors'):
                        failed.append('%s: %s: %s' % (host, task['task']['name'], str(res.get('msg'))[:300]))
    except ValueError:
        failed.append('no JSON output (exit %s): %s' % (m.rc, (m.stderr or m.stdout)[-500:]))
    return m, changed, failed, stats


def run():
    env = common.base_env()
    env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    env['ANSIBLE_CALLBACK_RESULT_FORMAT'] = 'json'
    os.makedirs(common.RESULTS_DIR, exist_ok=True)
    logs = os.path.join(common.RESULTS_DIR, 'converge-logs')
    os.makedirs(logs, exist_ok=True)
    out = {'gateway': GATEWAY}
    rows = []
    drills = []
    if sh(['docker', 'ps', '-aq', '--filter', 'name=^/%s$' % vm_container()]).stdout.strip():
        raise RuntimeError('container %s already exists (another run?); not touching it' % vm_container())
    with common.workdir('converge') as work, common.emulator(os.path.join(work, 'emu'), backend='docker') as emu:
        env.update(common.client_env(emu))
        extra = {'openclaw_gcp_project': common.PROJECT,
                 'openclaw_gcp_gateways': [{'name': GATEWAY, 'zone': ZONE}],
                 'openclaw_gcp_ssh_key_file': os.path.join(work, 'ssh', 'id_ed25519'),
                 # public mode, as the earlier figures (the bench's emulator client speaks
                 # endpoint overrides, not the proxy gcloud's IAP tunnel needs)
                 'openclaw_gcp_public_ip': True}
        extra_file = os.path.join(work, 'extra.json')
        with open(extra_file, 'w') as f:
            json.dump(extra, f)

        runs = {}
        for label in ('first', 'second'):
            images_before = inner_images() if label == 'second' else None
            with MemorySampler() as mem:
                m, changed, failed, stats = site(env, extra_file, os.path.join(logs, '%s.log' % label))
            images_after = inner_images()
            runs[label] = {'wall': m.wall, 'rc': m.rc, 'changed_tasks': changed, 'failed': failed,
                           'stats': stats, 'vm_pss_peak_mib': mem.peak, 'vm_cgroup_peak_mib': mem.cgroup_peak,
                           'vm_memory_limit_mib': mem.cgroup_limit, 'samples': mem.samples,
                           'healthy': healthy() if m.rc == 0 else False,
                           'image_built': (images_before is not None and images_before != images_after)}
            r = runs[label]
            rows.append([label, r['wall'], len(changed), len(failed), r['healthy'],
                         ('no' if not r['image_built'] else 'YES') if label == 'second' else '-',
                         r['vm_pss_peak_mib'], r['vm_cgroup_peak_mib'], r['vm_memory_limit_mib']])
            if m.rc != 0:
                break
        out['runs'] = runs
        ok_first = runs['first']['rc'] == 0

        idle = None
        gw_inside = None
        if ok_first:
            time.sleep(IDLE_SECONDS)
            idle, gw_inside = gateway_rss_mib()
        out['gateway_idle_rss_mib'] = idle
        out['gateway_in_vm_memory_cgroup'] = gw_inside

        if ok_first and runs.get('second', {}).get('rc') == 0:
            token = env_token()
            marker = write_marker()
            out['wrong_token_rejected'] = wrong_token_rejected()

            def check(name, action):
                t0 = time.monotonic()
                detail = action()
                took = wait_healthy(300)
                total = time.monotonic() - t0
                tok = env_token()
                drills.append({'drill': name, 'back_healthy': took is not None, 'seconds': total,
                               'token_same': tok == token, 'token_accepted': token_accepted(tok),
                               'state_kept': read_marker() == marker, 'detail': detail})

            def kill_container():
                # SIGKILL to the container's main process, as the OOM killer or a crash would end
                # it. (`docker kill` counts as a manual stop: Docker then ignores the restart policy.)
                cid = gateway_container_id()
                r = vm_exec("kill -9 $(docker inspect -f '{{.State.Pid}}' %s)" % cid)
                return 'SIGKILL to the container main process -> %s' % (
                    'ok' if r.returncode == 0 else r.stderr.strip()[:100])

            def restart_vm():
                pb = os.path.join(work, 'restart.yml')
                with open(pb, 'w') as f:
                    json.dump([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': [
                        {'name': 'restart the VM', 'openclaw.gcp.compute_instance': {
                            'name': GATEWAY, 'zone': ZONE, 'state': 'restarted'}}]}], f)
                m = common.run_measured(['ansible-playbook', '-i', 'localhost,'] + common.LOCAL_PYTHON + [pb], env)
                return 'compute_instance state=restarted -> exit %d' % m.rc

            def compose_down():
                r = vm_exec('cd ~%s/openclaw && docker compose down' % SSH_USER, timeout=300)
                down = 'compose down -> %s' % ('ok' if r.returncode == 0 else r.stderr.strip()[:100])
                m, changed, failed, _stats = site(env, extra_file, os.path.join(logs, 'after-compose-down.log'))
                return '%s; site.yml again: exit %d, %d changed, %d failed' % (down, m.rc, len(changed), len(failed))

            for name, action in (('kill the gateway container', kill_container),
                                 ('restart the VM', restart_vm),
                                 ('docker compose down + site.yml', compose_down)):
                check(name, action)
        out['drills'] = drills

    text = common.table(
        'Converge one gateway on an emulated e2-small VM (docker backend)',
        ['run', 'wall s', 'changed', 'failed', 'healthy', 'image rebuilt', 'VM PSS peak MiB',
         'VM cgroup peak MiB', 'VM limit MiB'], rows,
        note=('gateway idle RSS %s MiB (%d s after the second run); gateway inside the VM memory cgroup: %s. '
              'VM PSS peak: processes under the VM container, sampled every second. '
              'Second run changed: %s' % (common.fmt(out.get('gateway_idle_rss_mib')), IDLE_SECONDS,
                                          out.get('gateway_in_vm_memory_cgroup'),
                                          (runs.get('second') or {}).get('changed_tasks'))))
    if drills:
        text += common.table(
            'Gateway recovery drills (token in .env and workspace marker must survive)',
            ['drill', 'healthy again', 'seconds', 'token same', 'token accepted', 'state kept', 'detail'],
            [[d['drill'], d['back_healthy'], d['seconds'], d['token_same'], d['token_accepted'], d['state_kept'],
              d['detail']] for d in drills],
            note='wrong token rejected by `openclaw gateway health`: %s' % out.get('wrong_token_rejected'))
    common.write_results('converge', dict(out, table=text))
    first_failed = (runs.get('first') or {}).get('failed')
    if first_failed:
        raise RuntimeError('site.yml failed: %s' % first_failed[:3])
    return out
