# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's last mile, as a person takes it: the Control UI in a real browser.

site.yml deploys one gateway on an emulated VM in the default, private mode and prints the
SSH tunnel, which goes through IAP (gcloud compute start-iap-tunnel). The test runs that
tunnel (on the guide's local port 18789 when it is free, else on a free port whose origin
site.yml then allows) and drives Debian's headless Chromium through Selenium to
http://127.0.0.1:PORT/, with no proxy and no host name but the loopback ones resolvable, so the
browser's traffic stays on loopback. Every wait is for something visible on the page, with a
timeout.

1. A wrong token is refused on the login gate ("rejected the supplied Gateway secret").
2. The right token (read from the VM's .env, never printed) connects the page: OpenClaw 2026.9
   pairs a Control UI browser that passed token auth with a loopback Host and Origin from the
   Docker bridge by itself, and devices.yml lists it as paired.
3. With gateway.nodes.pairing.autoApproveLocal: false (an operator who approves every browser),
   a new browser shows "Approve this browser" with the request id, devices.yml approves that id
   and the same page connects on its own.

A screenshot of the connected Control UI is kept in the log directory, and also written to
OPENCLAW_GCP_SCREENSHOT_DIR/control-ui-connected.png when that variable is set (the README's
image, docs/images/control-ui-connected.png, is made that way).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from e2e_helpers import ROOT, free_port, recap

pytestmark = pytest.mark.e2e

GATEWAY = {'name': 'e2e-browser-gw', 'zone': 'us-central1-a'}
GATEWAYS_ARG = json.dumps({'openclaw_gcp_gateways': [GATEWAY]})
ENV_FILE = '/home/openclaw/openclaw/.env'
CONFIG_FILE = '/home/openclaw/.openclaw/openclaw.json'
DEVICES = ROOT / 'playbooks' / 'devices.yml'
SCREENSHOT = 'control-ui-connected.png'
STATE = {'timings': {}}
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# The page's visible text, shadow roots included (the Control UI is a Lit web-component app).
PAGE_TEXT = '''
const parts = [];
function walk(root) {
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { parts.push(el.shadowRoot.textContent || ''); walk(el.shadowRoot); }
  }
}
parts.push(document.body ? document.body.innerText : '');
walk(document);
return parts.join('\\n');
'''
# The first element matching a CSS selector, shadow roots included.
DEEP_QUERY = '''
const selector = arguments[0];
function find(root) {
  const hit = root.querySelector(selector);
  if (hit) { return hit; }
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const inner = find(el.shadowRoot); if (inner) { return inner; } }
  }
  return null;
}
return find(document);
'''


def chromium_paths():
    """Debian's chromium and chromium-driver (make setup installs them)."""
    browser = shutil.which('chromium')
    driver = shutil.which('chromedriver')
    assert browser and driver, 'chromium and chromedriver are missing: run `make setup` (Debian packages ' \
                               'chromium, chromium-driver)'
    return browser, driver


@contextlib.contextmanager
def timed(label):
    """Record how long a step took (timings.json in the log directory)."""
    started = time.monotonic()
    yield
    STATE['timings'][label] = round(time.monotonic() - started, 1)


def ui_port():
    """The guide's local port when it is free; else a free one (site.yml then allows its origin)."""
    with socket.socket() as sock:
        try:
            sock.bind(('127.0.0.1', 18789))
            return 18789
        except OSError:
            return free_port()


@pytest.fixture(scope='module')
def tunnel(e2e):
    """The tunnel command site.yml printed, run without a remote shell: http://127.0.0.1:PORT/."""
    command = STATE.get('tunnel')
    assert command, 'site.yml printed no tunnel command (the deploy test failed)'
    port = STATE['port']
    argv = shlex.split(command.replace('-L 18789:', '-L %d:' % port))
    argv[1:1] = ['-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes']
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=e2e.env())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                NO_PROXY.open('http://127.0.0.1:%d/healthz' % port, timeout=5).read()
                break
            except OSError:
                time.sleep(1)
        assert proc.poll() is None, 'the tunnel exited: %s' % proc.stderr.read()
        yield 'http://127.0.0.1:%d/' % port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope='module')
def browsers(tmp_path_factory):
    """Start headless Chromium with a fresh profile (a profile holds one browser's device identity)."""
    try:
        from selenium import webdriver  # pylint: disable=import-outside-toplevel
        from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
    except ImportError:
        pytest.fail('selenium is missing: run `make setup` (requirements.txt)')
    binary, driver = chromium_paths()
    started = []

    def start():
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,720',
                    '--user-data-dir=%s' % tmp_path_factory.mktemp('chromium-profile'),
                    # No proxy (the tunnel is on loopback), no background calls home, and no host
                    # name but the loopback ones resolves: the browser's traffic stays here.
                    '--no-proxy-server', '--disable-background-networking', '--disable-component-update',
                    '--disable-sync', '--no-first-run', '--no-default-browser-check',
                    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'):
            options.add_argument(arg)
        env = dict((k, v) for k, v in os.environ.items() if not k.lower().endswith('_proxy'))
        # No chromedriver log: it would record the keys typed, the token among them.
        service = Service(driver, env=env, log_output=subprocess.DEVNULL)
        drv = webdriver.Chrome(options=options, service=service)
        drv.set_page_load_timeout(60)
        started.append(drv)
        return drv
    try:
        yield start
    finally:
        for drv in started:
            drv.quit()


def page_text(drv):
    return drv.execute_script(PAGE_TEXT) or ''


def wait_for_text(drv, pattern, timeout, label):
    """Wait until the page shows text matching pattern; on timeout keep a screenshot and fail."""
    deadline = time.monotonic() + timeout
    text = ''
    while time.monotonic() < deadline:
        text = page_text(drv)
        found = re.search(pattern, text)
        if found:
            return found
        time.sleep(0.5)
    drv.save_screenshot(str(STATE['log_dir'] / ('timeout-%s.png' % label)))
    raise AssertionError('the Control UI did not show %r within %d s (%s); it shows:\n%s'
                         % (pattern, timeout, label, redact(text)[-3000:]))


def redact(text):
    token = STATE.get('token')
    return text.replace(token, '<token>') if token else text


def element(drv, selector, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = drv.execute_script(DEEP_QUERY, selector)
        if found is not None:
            return found
        time.sleep(0.5)
    raise AssertionError('no %s on the page within %d s' % (selector, timeout))


def log_in(drv, secret):
    """Type a token into the login gate's Gateway secret field and press Connect."""
    field = element(drv, '#login-gate-credential')
    field.clear()
    field.send_keys(secret)
    element(drv, 'button.login-gate__connect').click()


def token_of(run):
    out = run.ssh(GATEWAY['name'], 'sudo grep ^OPENCLAW_GATEWAY_TOKEN= %s' % ENV_FILE).stdout
    token = out.strip().split('=', 1)[1]
    assert re.fullmatch(r'[0-9a-f]{64}', token), 'the gateway token is not 64 hex digits'
    return token


def test_site_deploys_a_gateway_and_prints_its_tunnel(e2e):
    STATE['log_dir'] = e2e.log_dir
    STATE['port'] = port = ui_port()
    args = ['-e', GATEWAYS_ARG]
    if port != 18789:
        # The Control UI accepts only the origins in gateway.controlUi.allowedOrigins.
        args += ['-e', json.dumps({'gateway_allowed_origins': ['http://127.0.0.1:%d' % port]})]
    with timed('site.yml'):
        proc = e2e.playbook(ROOT / 'site.yml', *args)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)[GATEWAY['name']]['failed'] == 0
    tunnels = re.findall(r'^\s*(ssh -i \S+ .*start-iap-tunnel .*-L 18789:127\.0\.0\.1:18789 openclaw@\S+)\s*$',
                         proc.stdout, re.M)
    assert len(tunnels) == 1, proc.stdout[-4000:]
    STATE['tunnel'] = tunnels[0]
    STATE['token'] = token_of(e2e)


def connected(drv, label):
    """The app shell replaced the login gate and its status says Connected."""
    wait_for_text(drv, r'\bConnected\b', 90, label)
    assert drv.execute_script(DEEP_QUERY, '.login-gate') is None, 'the login gate is still on the page'
    status = drv.execute_script(DEEP_QUERY, '.sidebar-shell__footer [role=status]')
    assert status is not None and status.get_attribute('textContent').strip() == 'Connected'


def devices(run, *args):
    proc = run.playbook(DEVICES, '-l', GATEWAY['name'], '-e', GATEWAYS_ARG, *args)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc


def screenshot(drv, name):
    """Keep a screenshot in the log directory, and in OPENCLAW_GCP_SCREENSHOT_DIR when set."""
    drv.save_screenshot(str(STATE['log_dir'] / name))
    target = os.environ.get('OPENCLAW_GCP_SCREENSHOT_DIR')
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STATE['log_dir'] / name, Path(target) / name)


def test_a_wrong_token_is_refused_in_the_ui(tunnel, browsers):
    url = tunnel
    drv = browsers()
    STATE['browser'] = drv
    with timed('page load'):
        drv.get(url)
        wait_for_text(drv, r'This Gateway expects its token', 60, 'login-gate')
    assert drv.title == 'OpenClaw Control'
    with timed('wrong token refused'):
        log_in(drv, '0' * 64)
        wait_for_text(drv, r'rejected the supplied Gateway secret', 30, 'wrong-token')
    assert drv.execute_script(DEEP_QUERY, '.sidebar-shell__footer [role=status]') is None


def test_the_right_token_connects_the_browser_through_the_tunnel(e2e):
    """As shipped, OpenClaw approves a Control UI browser by itself when it passed token auth with
    loopback Host and Origin from the Docker bridge (the tunnel's path): it connects at once."""
    drv = STATE['browser']
    with timed('right token to connected'):
        log_in(drv, STATE['token'])
        connected(drv, 'connected-auto')
    listing = devices(e2e).stdout
    assert 'Paired (1)' in listing and 'openclaw-control-ui' in listing, listing[-3000:]
    assert 'Pending' not in listing


def test_with_local_auto_approval_off_devices_yml_approves_the_browser(e2e, tunnel, browsers):
    """An operator who wants every browser approved by hand (gateway.nodes.pairing.autoApproveLocal:
    false in ~/.openclaw/openclaw.json): a new browser sees a pairing request, devices.yml approves
    the request id the page shows, and the same page connects on its own."""
    with timed('auto-approval off + gateway restart'):
        e2e.ssh(GATEWAY['name'],
                "sudo sed -i 's/^  gateway: {$/  gateway: {\\n    nodes: { pairing: { autoApproveLocal: false } },/' "
                "%s && sudo grep -q autoApproveLocal %s && cd /home/openclaw/openclaw && "
                "sudo docker compose restart openclaw-gateway" % (CONFIG_FILE, CONFIG_FILE), timeout=180)
        e2e.ssh(GATEWAY['name'], 'for i in $(seq 1 90); do curl -fsS --max-time 3 http://127.0.0.1:18789/healthz '
                '>/dev/null && exit 0; sleep 2; done; exit 1', timeout=240)
    url = tunnel
    drv = browsers()
    with timed('right token to pairing request'):
        drv.get(url)
        wait_for_text(drv, r'This Gateway expects its token', 60, 'login-gate-2')
        log_in(drv, STATE['token'])
        found = wait_for_text(drv, r'Approve this browser[\s\S]*openclaw devices approve ([0-9a-f-]{36})', 60,
                              'pairing-required')
    request_id = found.group(1)
    assert 'Waiting for approval' in page_text(drv)
    pending = devices(e2e).stdout
    assert request_id in pending and 'Pending (1)' in pending, pending[-3000:]

    with timed('devices.yml approve to connected'):
        proc = devices(e2e, '-e', 'openclaw_gcp_approve=%s' % request_id)
        connected(drv, 'connected-approved')
    assert recap(proc.stdout)[GATEWAY['name']]['changed'] == 1
    assert 'Paired (2)' in proc.stdout and request_id not in proc.stdout, proc.stdout[-3000:]
    time.sleep(2)          # let the first paint of the connected shell settle before the picture
    screenshot(drv, SCREENSHOT)
    (e2e.log_dir / 'timings.json').write_text(json.dumps(STATE['timings'], indent=1))
    print('\nbrowser steps (s): %s' % json.dumps(STATE['timings']))
