#!/usr/bin/env bash
# make setup: everything the demo and the tests need, installed only when missing.
#   1. .venv with requirements.txt (re-installed only when requirements.txt changed)
#   2. host tools (debootstrap, ssh, Chromium for the browser test, ...) and a Docker engine
#      that answers (on Debian as root: docker.io + Compose v2, dockerd started)
#   3. the local images (scripts/images.sh, rebuilt only when their recipe changed)
#   4. NumPy for the gcloud CLI (.cache/gcloud-python), when gcloud is installed
# A second run with nothing missing takes a few seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
mkdir -p .cache

log() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }

# pip_install PYTHON ARGS...: pip install, quietly (a failure shows in the import check after it).
pip_install() {
  local py="$1"; shift
  "$py" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v '^WARNING: Location' || true
}

apt_updated=0
apt_install() {
  # apt_install PKG...: install the packages that are not installed yet.
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! is_debian; then
    die "missing system packages: ${missing[*]} (install them, or run make setup as root on Debian)"
  fi
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- 1. Python venv
python_bin="${PYTHON:-python3}"
"$python_bin" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' \
  || die "Python 3.11 or newer is required ($python_bin is $("$python_bin" -V 2>&1))"
if ! "$python_bin" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv
fi
req_hash="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$req_hash" ]; then
  log "creating .venv and installing requirements.txt"
  [ -x .venv/bin/python ] || "$python_bin" -m venv .venv
  pip_install .venv/bin/python --upgrade pip
  pip_install .venv/bin/python -r requirements.txt
  .venv/bin/python -c 'import ansible, google.auth, requests, docker, molecule, testinfra, selenium' \
    || die "the venv is incomplete: pip install -r requirements.txt failed"
  echo "$req_hash" > .venv/.requirements.sha256
else
  log ".venv is up to date"
fi

# ---------------------------------------------------------------- 2. Docker engine
# Tools the images and tests use on the host.
need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v ssh >/dev/null || need_pkgs+=(openssh-client)
command -v rsync >/dev/null || need_pkgs+=(rsync)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v shellcheck >/dev/null || need_pkgs+=(shellcheck)   # ansible-test sanity checks our scripts with it
# tests/e2e/test_browser.py drives the Control UI in Debian's headless Chromium (Selenium).
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v chromedriver >/dev/null || need_pkgs+=(chromium-driver)
[ ${#need_pkgs[@]} -eq 0 ] || apt_install "${need_pkgs[@]}"

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }
if ! docker_answers; then
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io
  fi
  is_root || die "no Docker engine answers and we are not root: start dockerd (or add yourself to the docker group) and re-run"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    log "starting docker.service"
    systemctl start docker || true
  fi
  if ! docker_answers; then
    # A dockerd still shutting down, or the pid file of one that died, stops a new one at once
    # ("pid file found"): wait (bounded) for the old one to go, then clear its pid file.
    pidfile=/var/run/docker.pid
    old_pid="$(cat "$pidfile" 2>/dev/null || true)"
    dockerd_alive() { [ -n "$old_pid" ] && [ "$(ps -p "$old_pid" -o comm= 2>/dev/null)" = dockerd ]; }
    for _ in $(seq 1 30); do dockerd_alive || break; sleep 1; done
    dockerd_alive && die "dockerd (PID $old_pid) is running but does not answer; stop it or see its log"
    rm -f "$pidfile"
    log "starting dockerd in the background (log: .cache/dockerd.log)"
    # setsid: dockerd must outlive this script and the make process that runs it.
    setsid nohup dockerd >"$root/.cache/dockerd.log" 2>&1 < /dev/null &
    echo $! > "$root/.cache/dockerd.pid"
    for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
    docker_answers || die "dockerd did not answer within 60 s; see .cache/dockerd.log"
  fi
fi
log "Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers"

# Compose v2 on the host (not needed by the tests themselves, but by anyone driving the
# demo's containers by hand). Debian 12 has no Compose v2; Debian 13's package works on 12.
if ! docker compose version >/dev/null 2>&1 && is_root && is_debian; then
  "$here/compose-from-trixie.sh" || log "Compose v2 could not be installed on the host (not required)"
fi

# ---------------------------------------------------------------- 3. local images
"$here/images.sh"

# ---------------------------------------------------------------- 4. gcloud with NumPy
# Every SSH connection to a private VM, and each image streamed into one, goes through
# `gcloud compute start-iap-tunnel`. Without NumPy its WebSocket client masks each uploaded byte
# in pure Python (about 5 MB/s); Google's advice for IAP upload bandwidth is to give gcloud's
# Python NumPy. Rather than changing the installed SDK, a venv of gcloud's own interpreter
# holds it; scripts/env.sh points CLOUDSDK_PYTHON at it.
if command -v gcloud >/dev/null; then
  gcloud_venv=.cache/gcloud-python
  if ! "$gcloud_venv/bin/python" -c 'import numpy' >/dev/null 2>&1; then
    gcloud_py="$(CLOUDSDK_PYTHON='' gcloud info --format='value(basic.python_location)' 2>/dev/null || true)"
    [ -x "$gcloud_py" ] || gcloud_py="$python_bin"
    log "NumPy for gcloud's IAP tunnels ($gcloud_venv, from $("$gcloud_py" -V 2>&1))"
    rm -rf "$gcloud_venv"
    "$gcloud_py" -m venv "$gcloud_venv" || true
    pip_install "$gcloud_venv/bin/python" 'numpy>=1.26,<3'
    "$gcloud_venv/bin/python" -c 'import numpy' >/dev/null 2>&1 \
      || { rm -rf "$gcloud_venv"; log "NumPy for gcloud could not be installed: IAP uploads stay slow (not required)"; }
  else
    log "gcloud's NumPy is in place ($gcloud_venv)"
  fi
fi
log "setup complete"
