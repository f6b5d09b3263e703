# shellcheck shell=bash
# Sourced by every Makefile target (and usable by hand: `source scripts/env.sh`).
# Puts the project's venv first on PATH, makes `openclaw.gcp` resolve to this checkout, and
# keeps stray HTTPS on this machine for test and demo runs.

OPENCLAW_GCP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export OPENCLAW_GCP_ROOT

# The collection is the repository root; Ansible finds it as
# .cache/collections/ansible_collections/openclaw/gcp (a symlink back to the root).
_oc_coll="$OPENCLAW_GCP_ROOT/.cache/collections/ansible_collections/openclaw"
if [ ! -e "$_oc_coll/gcp" ]; then
  mkdir -p "$_oc_coll"
  ln -sfn ../../../.. "$_oc_coll/gcp"
fi
unset _oc_coll
export ANSIBLE_COLLECTIONS_PATH="$OPENCLAW_GCP_ROOT/.cache/collections"
export PYTHONPATH="$OPENCLAW_GCP_ROOT/.cache/collections:$OPENCLAW_GCP_ROOT${PYTHONPATH:+:$PYTHONPATH}"

if [ -d "$OPENCLAW_GCP_ROOT/.venv/bin" ]; then
  export VIRTUAL_ENV="$OPENCLAW_GCP_ROOT/.venv"
  export PATH="$VIRTUAL_ENV/bin:$PATH"
fi

# Offline guard (ENVIRONMENT.md): google-auth and gcloud reach for Google on their own.
# A closed loopback port as HTTPS proxy makes those lookups fail at once, harmlessly.
# Set OPENCLAW_GCP_ONLINE=1 to skip this when you target real Google.
if [ "${OPENCLAW_GCP_ONLINE:-0}" != "1" ]; then
  export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
fi
# gcloud runs on the interpreter make setup gave NumPy (fast IAP uploads), unless you chose one.
if [ -z "${CLOUDSDK_PYTHON:-}" ] && [ -x "$OPENCLAW_GCP_ROOT/.cache/gcloud-python/bin/python" ]; then
  export CLOUDSDK_PYTHON="$OPENCLAW_GCP_ROOT/.cache/gcloud-python/bin/python" CLOUDSDK_PYTHON_SITEPACKAGES=1
fi
export CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true
export CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
