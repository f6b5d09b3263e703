#!/usr/bin/env bash
# make demo-clean: delete the demo's VMs (destroy.yml, confirmed, without the state backup:
# the demo's state is throwaway) and stop the emulator that scripts/demo.sh started, by the PID
# it recorded. Then remove .cache/demo (emulator state, logs, the demo's SSH key).
# An emulator this script did not start is never touched.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$OPENCLAW_GCP_ROOT"

state=.cache/demo
state_abs="$OPENCLAW_GCP_ROOT/$state"
pidfile="$state/emulator.pid"

if [ ! -f "$pidfile" ]; then
  echo "No demo emulator recorded in $pidfile: nothing to clean."
  rm -rf "$state"
  exit 0
fi
pid="$(cat "$pidfile")"

if kill -0 "$pid" 2>/dev/null && [ -f "$state/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$state/env.sh"
  echo "==> Deleting the demo's VMs"
  ansible-playbook playbooks/destroy.yml -i inventory/emulator.compute.yml \
    -e openclaw_gcp_destroy_confirm=true -e openclaw_gcp_destroy_backup=false \
    -e openclaw_gcp_destroy_shared=true \
    -e "openclaw_gcp_ssh_key_file=$state_abs/ssh/openclaw_gcp_ed25519"
fi

if kill -0 "$pid" 2>/dev/null; then
  echo "==> Stopping the demo emulator (PID $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "The emulator did not stop in 20 s; sending KILL to PID $pid"
    kill -KILL "$pid"
  fi
fi

# Sweep what the demo's emulator may have left (containers and volumes labelled with this
# state directory only; other emulators' VMs are not touched).
python -c 'import sys; from emulator.docker_backend import remove_all; remove_all(sys.argv[1])' "$state_abs" || true

rm -rf "$state"
echo "Demo cleaned up."
