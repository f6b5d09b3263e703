#!/usr/bin/env bash
# make demo: the whole guide on this machine.
#   1. start the local GCE emulator (docker backend: VMs are Debian 12 systemd containers with
#      SSH on 127.0.0.N) unless the demo's emulator is already running;
#   2. run site.yml against it with the emulator inventory: project services, SSH firewall,
#      service account, the VM, Docker, ~/.openclaw, the gateway's compose stack, health checks;
#   3. print the SSH tunnel command for the Control UI (it opens nothing itself).
# Run it again: the emulator is reused and the second run reports no changes.
# Everything lives under .cache/demo (emulator state, logs, the demo's SSH key, env.sh).
# `make demo-clean` deletes the VMs and stops the emulator this script started.
#
# Extra arguments go to ansible-playbook, e.g. scripts/demo.sh -e '{"openclaw_gcp_gateways":
# [{"name":"gw-a"},{"name":"gw-b","zone":"europe-west1-b"}]}'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$OPENCLAW_GCP_ROOT"

state=.cache/demo
state_abs="$OPENCLAW_GCP_ROOT/$state"
pidfile="$state/emulator.pid"
project=openclaw-demo
mkdir -p "$state"
chmod 0700 "$state"

log() { printf '\n==> %s\n' "$*"; }

emulator_alive() {
  # The PID we recorded is alive and the emulator at the endpoint it wrote answers.
  [ -f "$pidfile" ] && [ -f "$state/emulator.json" ] || return 1
  local pid endpoint
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  endpoint="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$state/emulator.json")"
  python - "$endpoint" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/_emulator/stats", timeout=3).read()
EOF
}

if emulator_alive; then
  log "Reusing the demo emulator (PID $(cat "$pidfile"))"
else
  log "Starting the GCE emulator (docker backend, state in $state)"
  rm -f "$state/emulator.json"
  # setsid: the emulator outlives this script (and make); it is stopped by demo-clean by PID.
  # Like a new Google project: the Compute API starts disabled (site.yml enables it) and Google's
  # eventual consistency is on; clients reach Google's own hosts through the emulator's proxy.
  setsid python -m emulator --state-dir "$state" --backend docker --https-proxy-port 0 \
    >>"$state/emulator.log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    [ -f "$state/emulator.json" ] && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "The emulator exited; its log ($state/emulator.log) ends with:" >&2
      tail -n 20 "$state/emulator.log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.5
  done
  if [ ! -f "$state/emulator.json" ]; then
    echo "The emulator did not become ready in 60 s; see $state/emulator.log" >&2
    exit 1
  fi
  # The emulator's own PID (what it wrote), in case setsid had to fork.
  python -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$state/emulator.json" >"$pidfile"
fi

# The environment the modules, the inventory plugin and gcloud read. Nothing in it names the
# emulator's API address: the product calls Google's own hosts, and this machine's HTTPS proxy
# (the emulator) answers for them with its own CA, as a corporate TLS-inspecting proxy would.
read_info() { python -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$state/emulator.json" "$1"; }
endpoint="$(read_info endpoint)"
proxy="$(read_info https_proxy)"
cat >"$state/env.sh" <<EOF
# Written by scripts/demo.sh: source it (after scripts/env.sh) to run playbooks, ansible-inventory
# or gcloud by hand against the demo, e.g. ansible-playbook site.yml
export HTTPS_PROXY=$proxy https_proxy=$proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export REQUESTS_CA_BUNDLE=$(read_info ca_file)
export CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE=$(read_info ca_file)
export CLOUDSDK_PROXY_TYPE=http CLOUDSDK_PROXY_ADDRESS=127.0.0.1 CLOUDSDK_PROXY_PORT=${proxy##*:}
export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=$(read_info token_file)
export CLOUDSDK_CORE_PROJECT=$project CLOUDSDK_CORE_DISABLE_PROMPTS=1
export CLOUDSDK_CONFIG=$state_abs/gcloud
export GCP_AUTH_KIND=serviceaccount
export GCP_SERVICE_ACCOUNT_FILE=$(read_info google_key_file)
export GCP_PROJECT=$project
export ANSIBLE_INVENTORY=$OPENCLAW_GCP_ROOT/inventory/emulator.compute.yml
export OPENCLAW_GCP_SSH_KEY_FILE=$state_abs/ssh/openclaw_gcp_ed25519
export OPENCLAW_GCP_KNOWN_HOSTS_FILE=$state_abs/ssh/known_hosts
EOF
# shellcheck disable=SC1091
. "$state/env.sh"
echo "Emulator at $endpoint (Google's API hosts through the proxy $proxy)"

log "Running site.yml against the emulator"
ansible-playbook site.yml -e "openclaw_gcp_ssh_key_file=$OPENCLAW_GCP_SSH_KEY_FILE" "$@"

cat <<EOF

The demo gateway runs in the emulator's VM, which has no external address (private mode):
SSH and the Control UI tunnel go through Identity-Aware Proxy (gcloud start-iap-tunnel).
Open the tunnel printed above ("Open the tunnel:") in a shell that sourced the two files
below, then browse http://127.0.0.1:18789/ and paste the token from the VM's .env.
To run playbooks or ansible-inventory by hand:  source scripts/env.sh && source $state/env.sh
Clean up:  make demo-clean
EOF
