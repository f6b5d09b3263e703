# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the benchmarks: the emulator, measured child processes, request counting,
medians and the printed tables. Nothing here talks to anything but loopback."""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, 'bench', 'results')
PROJECT = 'openclaw-demo'
PAGE = 500  # Compute Engine's largest page: the physical floor is ceil(N / 500) list requests
# Plays that run modules on the controller use the venv's Python (google-auth, requests).
LOCAL_PYTHON = ['-e', 'ansible_python_interpreter={{ ansible_playbook_python }}']

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def physical_limit(n):
    return max(1, math.ceil(n / PAGE))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def base_env():
    """The environment for a child run: the offline guard of scripts/env.sh must be in place."""
    env = dict(os.environ)
    if env.get('OPENCLAW_GCP_ONLINE') == '1':
        raise SystemExit('bench refuses to run with OPENCLAW_GCP_ONLINE=1: it talks to loopback only')
    if 'ANSIBLE_COLLECTIONS_PATH' not in env:
        raise SystemExit('source scripts/env.sh first (make bench does): ANSIBLE_COLLECTIONS_PATH is unset')
    env['HTTPS_PROXY'] = env['https_proxy'] = 'http://127.0.0.1:9'
    env['NO_PROXY'] = env['no_proxy'] = '127.0.0.1,localhost'
    env['ANSIBLE_FORCE_COLOR'] = '0'
    env['ANSIBLE_NOCOLOR'] = '1'
    env['ANSIBLE_HOST_KEY_CHECKING'] = 'False'
    env['ANSIBLE_RETRY_FILES_ENABLED'] = 'False'
    env['ANSIBLE_INVENTORY_ENABLED'] = ('openclaw.gcp.compute,google.cloud.gcp_compute,'
                                        'ansible.builtin.yaml,ansible.builtin.ini,'
                                        'ansible.builtin.host_list')
    env['PYTHONUNBUFFERED'] = '1'
    # Host keys the playbooks trust go to a file of this run, never the user's ~/.ssh/known_hosts.
    env['OPENCLAW_GCP_KNOWN_HOSTS_FILE'] = os.path.join(tempfile.gettempdir(),
                                                        'openclaw-gcp-bench-%d' % os.getpid(), 'known_hosts')
    for k in ('GCP_PROJECT', 'GCP_AUTH_KIND', 'GCP_SERVICE_ACCOUNT_FILE', 'GCP_SERVICE_ACCOUNT_CONTENTS',
              'GCP_ACCESS_TOKEN', 'GCP_SCOPES', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE',
              'GOOGLE_CLOUD_UNIVERSE_DOMAIN'):
        env.pop(k, None)
    for k in [k for k in env if k.startswith('CLOUDSDK_API_ENDPOINT_OVERRIDES_')]:
        env.pop(k)
    return env


class Measured:
    """Result of one child process: exit code, wall seconds, peak RSS (MiB), output."""

    def __init__(self, rc, wall, maxrss_mib, stdout, stderr, cmd):
        self.rc = rc
        self.wall = wall
        self.maxrss_mib = maxrss_mib
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd

    def check(self, what):
        if self.rc != 0:
            tail = (self.stderr or '')[-3000:] + '\n' + (self.stdout or '')[-3000:]
            raise RuntimeError('%s failed (exit %s): %s\n%s' % (what, self.rc, ' '.join(self.cmd), tail))
        return self


GNU_TIME = '/usr/bin/time'


def run_measured(cmd, env, cwd=ROOT, timeout=1800):
    """Run ``cmd``; wall time and the peak RSS of it and its waited-for descendants.

    The peak comes from GNU time (%M) when it is installed: a child forked from this (large)
    Python process would otherwise report our own RSS, inherited before exec, as its peak.
    Without GNU time, wait4's ru_maxrss is used (an upper bound)."""
    rss_file = None
    argv = list(cmd)
    if os.access(GNU_TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix='bench-rss-')
        os.close(fd)
        argv = [GNU_TIME, '-q', '-f', '%M', '-o', rss_file] + argv
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = start + timeout
        status = ru = None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGTERM)
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = ru.ru_maxrss
        if rss_file:
            try:
                with open(rss_file) as f:
                    lines = [x for x in f.read().split() if x.isdigit()]
                peak_kib = int(lines[-1]) if lines else peak_kib
            finally:
                os.unlink(rss_file)
        out.seek(0)
        err.seek(0)
        return Measured(proc.returncode, wall, peak_kib / 1024.0,
                        out.read().decode('utf-8', 'replace'), err.read().decode('utf-8', 'replace'), cmd)


# -- the emulator ------------------------------------------------------------------------------

def emulator(state_dir, backend='memory', **flags):
    """The emulator as a context manager: emulator.testing.Emulator (the emulator team's helper)
    when it exists, else the minimal runner below with the same attributes bench uses."""
    try:
        from emulator.testing import Emulator
    except ImportError:
        Emulator = EmulatorProcess
    return Emulator(state_dir, backend=backend, **flags)


def client_env(emu):
    """The credentials and gcloud-style endpoint overrides that reach ``emu`` (GCP_PROJECT included)."""
    return emu.client_env('overrides')


class EmulatorProcess:
    """``python -m emulator`` as a subprocess: start, wait for emulator.json, stop by PID."""

    def __init__(self, state_dir, backend='memory', latency=None, fault_rate=None, lost_rate=None,
                 fault_seed=None, fault_budget=None, projects=(), start_timeout=60):
        self.state_dir = os.path.abspath(str(state_dir))
        self.backend = backend
        self.args = ['--backend', backend]
        for flag, value in (('--latency', latency), ('--fault-rate', fault_rate), ('--lost-rate', lost_rate),
                            ('--fault-seed', fault_seed), ('--fault-budget', fault_budget)):
            if value is not None:
                self.args += [flag, str(value)]
        for p in projects:
            self.args += ['--project', p]
        self.start_timeout = start_timeout
        self.proc = None
        self.info = {}

    def __enter__(self):
        os.makedirs(self.state_dir, exist_ok=True)
        ready = os.path.join(self.state_dir, 'emulator.json')
        self._log = open(os.path.join(self.state_dir, 'emulator.log'), 'ab')
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
        self.proc = subprocess.Popen([sys.executable, '-m', 'emulator', '--state-dir', self.state_dir] + self.args,
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('the emulator exited with %s (see %s/emulator.log)' % (self.proc.returncode, self.state_dir))
            try:
                with open(ready) as f:
                    self.info = json.load(f)
                if self.info.get('pid') == self.proc.pid:
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError('the emulator did not start within %d s' % self.start_timeout)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    @property
    def endpoint(self):
        return self.info['endpoint']

    @property
    def key_file(self):
        return self.info.get('key_file') or os.path.join(self.state_dir, 'service-account.json')

    @property
    def token_file(self):
        return self.info.get('token_file') or os.path.join(self.state_dir, 'access-token')

    def _admin(self, action, body=None):
        import requests
        r = requests.post('%s/_emulator/%s' % (self.endpoint, action), json=body or {}, timeout=120,
                          proxies={'http': None, 'https': None})
        r.raise_for_status()
        return r.json()

    def set_faults(self, fault_rate=0.0, lost_rate=0.0, seed=None, budget=None):
        return self._admin('faults', {'fault_rate': fault_rate, 'lost_rate': lost_rate, 'seed': seed,
                                      'budget': budget})

    def stats(self):
        import requests
        return requests.get(self.endpoint + '/_emulator/stats', timeout=30,
                            proxies={'http': None, 'https': None}).json()


class RequestWindow:
    """Counts what the emulator logged between ``start()`` and ``stop()`` (requests.jsonl)."""

    def __init__(self, emu):
        self.emu = emu
        self._offset = 0
        self.lines = []

    def _path(self):
        return os.path.join(str(self.emu.state_dir), 'requests.jsonl')

    def start(self):
        try:
            self._offset = os.path.getsize(self._path())
        except OSError:
            self._offset = 0
        self.lines = []
        return self

    def stop(self, settle=0.3):
        # google-auth's allowedLocations lookup and late log writes: give them a moment
        time.sleep(settle)
        with open(self._path(), 'rb') as f:
            f.seek(self._offset)
            data = f.read()
        self.lines = []
        for raw in data.splitlines():
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                continue
        return self

    @staticmethod
    def is_token(line):
        return line.get('api') in ('token', 'oauth2') or line.get('path', '').rstrip('/').endswith('/token')

    @staticmethod
    def is_admin(line):
        return line.get('path', '').startswith('/_emulator')

    def summary(self):
        api = [x for x in self.lines if not self.is_admin(x)]
        tokens = [x for x in api if self.is_token(x)]
        calls = [x for x in api if not self.is_token(x)]
        return {
            'requests': len(calls),
            'token_exchanges': len(tokens),
            'writes': sum(1 for x in calls if x.get('write')),
            'faulted': sum(1 for x in calls if x.get('faulted')),
            'by_method': _count(_call_key(x) for x in calls),
        }


def _call_key(line):
    """``POST compute/v1/projects/*/zones/*/instances/*/setMachineType -> 400`` (status when >= 400)."""
    status = int(line.get('status') or 0)
    return '%s %s%s' % (line.get('method'), _shape(line.get('path', '')), ' -> %d' % status if status >= 400 else '')


def _count(items):
    out = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return dict(sorted(out.items()))


def _shape(path):
    """``/compute/v1/projects/p/zones/z/instances/i/setMachineType`` -> ``.../instances/*/setMachineType``."""
    parts = path.split('?')[0].strip('/').split('/')
    out = []
    for i, p in enumerate(parts):
        if i > 0 and parts[i - 1] in ('projects', 'zones', 'regions', 'instances', 'operations',
                                      'firewalls', 'serviceAccounts', 'services', 'disks',
                                      'machineTypes', 'images', 'networks', 'family'):
            out.append('*')
        else:
            out.append(p)
    return '/'.join(out)


# -- tables and results ------------------------------------------------------------------------

def fmt(v, digits=2):
    if v is None:
        return '-'
    if isinstance(v, bool):
        return 'yes' if v else 'NO'
    if isinstance(v, float):
        if v >= 100:
            return '%.0f' % v
        return ('%.' + str(digits) + 'f') % v
    return str(v)


def table(title, headers, rows, note=None):
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ['', '## ' + title, '']
    lines.append('| ' + ' | '.join(h.ljust(w) for h, w in zip(headers, widths)) + ' |')
    lines.append('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for r in cells:
        lines.append('| ' + ' | '.join(c.rjust(w) if _numeric(c) else c.ljust(w)
                                       for c, w in zip(r, widths)) + ' |')
    if note:
        lines.append('')
        lines.append(note)
    text = '\n'.join(lines)
    print(text, flush=True)
    return text


def _numeric(s):
    try:
        float(s.rstrip('x%'))
        return True
    except ValueError:
        return False


def write_results(part, data):
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    data = dict(data, part=part, finished=stamp, host_cpus=os.cpu_count())
    path = os.path.join(RESULTS_DIR, '%s-%s.json' % (part, stamp))
    with open(path, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
    with open(os.path.join(RESULTS_DIR, '%s-latest.json' % part), 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
    print('(results: bench/results/%s)' % os.path.basename(path), flush=True)
    return path


@contextlib.contextmanager
def workdir(prefix):
    d = tempfile.mkdtemp(prefix='openclaw-gcp-bench-%s-' % prefix)
    try:
        yield d
    finally:
        subprocess.run(['rm', '-rf', d], check=False)


def write_yaml(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


# -- reading the emulator directly (verification, never through the code under test) ----------

def api_get(emu, path, params=None, timeout=60):
    """GET ``ENDPOINT/compute/v1/<path>`` with the emulator's static token; JSON or None on 404."""
    import requests
    with open(emu.token_file) as f:
        token = f.read().strip()
    r = requests.get('%s/compute/v1/%s' % (emu.endpoint, path.lstrip('/')), params=params,
                     headers={'Authorization': 'Bearer ' + token}, timeout=timeout,
                     proxies={'http': None, 'https': None})
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def instances(emu, project=PROJECT, filter_expr=None):
    """Every instance of the project: {name: (zone, status, machine type, label/metadata fingerprints)}."""
    out = {}
    params = {'maxResults': 500}
    if filter_expr:
        params['filter'] = filter_expr
    for _page in range(100):
        page = api_get(emu, 'projects/%s/aggregated/instances' % project, params) or {}
        for scoped in (page.get('items') or {}).values():
            for i in scoped.get('instances') or []:
                out[i['name']] = (i.get('zone', '').rsplit('/', 1)[-1], i.get('status'),
                                  i.get('machineType', '').rsplit('/', 1)[-1], i.get('labelFingerprint'),
                                  (i.get('metadata') or {}).get('fingerprint'), i.get('deletionProtection'))
        if not page.get('nextPageToken'):
            break
        params['pageToken'] = page['nextPageToken']
    return out


def playbook_failure(stdout):
    """(task name, msg) of the failure that stopped the run, in ansible.posix.json output: the
    last failed, not ignored task (an earlier failure may have been rescued by a block)."""
    start = stdout.find('{')
    if start < 0:
        return None, None
    data = json.loads(stdout[start:])
    found = (None, None)
    for play in data.get('plays', []):
        for task in play.get('tasks', []):
            for res in task.get('hosts', {}).values():
                if res.get('failed') and not res.get('ignore_errors'):
                    msg = res.get('msg')
                    for item in res.get('results') or []:
                        # a loop: the failed item's own message says more than "One or more items failed"
                        if isinstance(item, dict) and item.get('failed') and item.get('msg'):
                            msg = item['msg']
                            break
                    found = (task.get('task', {}).get('name'), msg)
                elif res.get('unreachable'):
                    found = (task.get('task', {}).get('name'), res.get('msg'))
    return found
