"""Start the emulator from tests and benchmarks.

    with Emulator(tmp_path, backend="memory", latency=0.2) as emu:
        requests.get(emu.endpoint + "/compute/v1/...", headers=...)

Keyword flags map to command-line flags (``latency=0.2`` -> ``--latency 0.2``,
``project=["a", "b"]`` -> ``--project a b``, ``fault_rate=0.1`` -> ``--fault-rate 0.1``,
``propagation_delay=0`` -> ``--propagation-delay 0``).

Unlike the command line (a new project has Compute Engine off, like Google's), the helper
pre-enables ``compute.googleapis.com`` in its projects: ``enabled_services=[]`` starts them
with Compute off, so the test enables it as a first real run must.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
DEFAULT_SERVICES = ("compute.googleapis.com",)
# APIs whose endpoint gcloud lets override (CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>), and the
# emulator's root for each: Compute with its version, the others without (clients add v1/, v3/).
OVERRIDES = (("COMPUTE", "/compute/v1/"), ("SERVICEUSAGE", "/serviceusage/"), ("IAM", "/iam/"),
             ("CLOUDRESOURCEMANAGER", "/cloudresourcemanager/"),
             ("CLOUDBILLING", "/cloudbilling/"), ("OSLOGIN", "/oslogin/"))


class EmulatorError(RuntimeError):
    """The emulator did not start or an admin call failed."""


class Emulator:
    """A context manager around one ``python -m emulator`` subprocess."""

    def __init__(self, state_dir, backend="memory", start_timeout=60.0, cleanup=True,
                 enabled_services=DEFAULT_SERVICES, **flags):
        self.state_dir = os.path.abspath(str(state_dir))
        self.backend = backend
        if isinstance(enabled_services, str):
            enabled_services = [enabled_services]
        self.flags = dict(flags, enable_service=list(enabled_services or []) or None)
        self.start_timeout = start_timeout
        self.cleanup = cleanup
        self.process = None
        self.info = None

    # -- lifecycle -------------------------------------------------------------------------
    def command(self):
        cmd = [sys.executable, "-m", "emulator", "--state-dir", self.state_dir,
               "--backend", self.backend]
        for key, value in self.flags.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            if value is True:
                cmd.append(flag)
            elif isinstance(value, (list, tuple)):
                cmd += [flag] + [str(v) for v in value]
            else:
                cmd += [flag, str(value)]
        return cmd

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        ready = os.path.join(self.state_dir, "emulator.json")
        if os.path.exists(ready):
            os.unlink(ready)
        env = dict(os.environ)
        env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"]
                                            if env.get("PYTHONPATH") else "")
        log = open(os.path.join(self.state_dir, "emulator.log"), "ab")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=PACKAGE_ROOT, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorError("emulator exited with %s; see %s/emulator.log"
                                    % (self.process.returncode, self.state_dir))
            if os.path.exists(ready):
                with open(ready, encoding="utf-8") as handle:
                    info = json.load(handle)
                if info.get("pid") == self.process.pid:
                    self.info = info
                    return self
            time.sleep(0.05)
        self.stop()
        raise EmulatorError("emulator did not become ready within %.0f s" % self.start_timeout)

    def stop(self, remove_containers=None):
        """Stop the process by PID; for the docker backend also remove its containers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.backend == "docker" and (self.cleanup if remove_containers is None
                                         else remove_containers):
            from .docker_backend import remove_all  # pylint: disable=import-outside-toplevel
            remove_all(self.state_dir)

    def restart(self):
        """Stop (keeping containers) and start again on the same state directory."""
        self.stop(remove_containers=False)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what tests use --------------------------------------------------------------------
    @property
    def endpoint(self):
        return self.info["endpoint"]

    @property
    def port(self):
        return self.info["port"]

    @property
    def pid(self):
        return self.info["pid"]

    @property
    def project(self):
        return self.info["projects"][0]

    @property
    def key_file(self):
        return os.path.join(self.state_dir, "service-account.json")

    @property
    def google_key_file(self):
        """The same key with Google's ``token_uri`` (for clients behind the HTTPS proxy)."""
        return os.path.join(self.state_dir, "service-account-google.json")

    @property
    def token_file(self):
        return os.path.join(self.state_dir, "access-token")

    @property
    def token(self):
        with open(self.token_file, encoding="utf-8") as handle:
            return handle.read().strip()

    def requests(self):
        """Every logged request as a dict (``ts, method, path, query, status, api, write,
        faulted``)."""
        path = os.path.join(self.state_dir, "requests.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def writes(self):
        return [entry for entry in self.requests() if entry["write"]]

    def _admin(self, method, action, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + "/_emulator/" + action, data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        try:
            with _NO_PROXY.open(req, timeout=300) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise EmulatorError("admin %s %s failed: %s %s" % (
                method, action, exc.code, exc.read().decode(errors="replace"))) from exc

    def stats(self):
        return self._admin("GET", "stats")

    def iap_stats(self):
        """The IAP relay's counters: sessions, reconnects, refusals, bytes, active tunnels."""
        return self._admin("GET", "iap")

    def reset_stats(self):
        return self._admin("POST", "reset", {})

    def set_faults(self, fault_rate=0.0, lost_rate=0.0, seed=None, budget=None):
        return self._admin("POST", "faults", {"fault_rate": fault_rate, "lost_rate": lost_rate,
                                              "seed": seed, "budget": budget})

    def set_propagation_delay(self, seconds):
        """Change ``--propagation-delay`` of the running emulator (0 = strongly consistent)."""
        return self._admin("POST", "consistency", {"propagation_delay": seconds})

    def concurrent_iam_change(self, count=1, project=None):
        """The next ``count`` setIamPolicy calls (of ``project``, or any) see a concurrent
        change: the policy's etag moves under the caller, who must re-read and retry."""
        return self._admin("POST", "iam/concurrent-change", {"count": count, "project": project})

    def preload(self, count, zones=None, labels=None, gateway_every=0, project=None, **extra):
        body = {"project": project or self.project, "zones": zones or ["us-central1-a"],
                "count": count, "labels": labels or {}, "gateway_every": gateway_every}
        body.update(extra)
        return self._admin("POST", "preload", body)

    def env(self):
        """The variables the collection's modules and inventory read: gcloud's endpoint overrides."""
        return self.client_env("overrides")

    def client_env(self, via="overrides"):
        """The environment a real client needs to reach this emulator as it reaches Google.

        ``overrides``: gcloud's per-API endpoint variables (``CLOUDSDK_API_ENDPOINT_OVERRIDES_*``,
        Compute with ``v1/``, the other APIs their root) and the key whose ``token_uri`` is the
        emulator's. ``proxy`` (emulator started with ``https_proxy_port``): ``HTTPS_PROXY``, the
        proxy's CA in ``REQUESTS_CA_BUNDLE`` and the key with Google's own ``token_uri``:
        nothing in the client knows about the emulator."""
        env = {"GCP_AUTH_KIND": "serviceaccount", "GCP_PROJECT": self.project}
        if via == "overrides":
            for api, root in OVERRIDES:
                env["CLOUDSDK_API_ENDPOINT_OVERRIDES_" + api] = self.endpoint + root
            env["GCP_SERVICE_ACCOUNT_FILE"] = self.key_file
        elif via == "proxy":
            if not self.info.get("https_proxy"):
                raise EmulatorError("client_env(via='proxy') needs the emulator started with "
                                    "https_proxy_port")
            env.update({"HTTPS_PROXY": self.info["https_proxy"],
                        "https_proxy": self.info["https_proxy"],
                        "REQUESTS_CA_BUNDLE": self.info["ca_file"],
                        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                        "GCP_SERVICE_ACCOUNT_FILE": self.google_key_file})
        else:
            raise ValueError("via must be 'overrides' or 'proxy', not %r" % (via,))
        return env

    def gcloud_env(self, config_dir, via="overrides"):
        """Variables that point the real ``gcloud`` CLI at the emulator (offline).

        ``overrides``: gcloud's endpoint variables and the emulator's token file. ``proxy``: none
        of that, as an operator behind a TLS-inspecting proxy has it: Google's own hosts (IAP's
        tunnel.cloudproxy.app too) through ``HTTPS_PROXY`` (from ``client_env("proxy")``), the
        proxy's CA in core/custom_ca_certs_file, the service account key as the credential."""
        env = {
            "CLOUDSDK_CONFIG": str(config_dir),
            "CLOUDSDK_CORE_PROJECT": self.project,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
            "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        }
        if via == "overrides":
            env.update({"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE": self.endpoint + "/compute/v1/",
                        "CLOUDSDK_API_ENDPOINT_OVERRIDES_OSLOGIN": self.endpoint + "/oslogin/",
                        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": self.token_file})
        elif via == "proxy":
            env.update({"CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE": self.info["ca_file"],
                        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": self.google_key_file})
        else:
            raise ValueError("via must be 'overrides' or 'proxy', not %r" % (via,))
        return env
