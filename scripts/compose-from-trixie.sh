#!/usr/bin/env bash
# Installs Compose v2 on a Debian 12 host: Debian 12 does not package it; Debian 13's
# docker-compose (2.26, depends only on libc6 >= 2.34) works with bookworm's docker.io.
# The trixie source is added with a pin so that nothing else is ever taken from it.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "compose-from-trixie: needs root" >&2; exit 1; }
# shellcheck source=/dev/null
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  exit 0
fi
uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[ -n "$uri" ] || uri="$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
cat > /etc/apt/sources.list.d/openclaw-gcp-trixie.sources <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat > /etc/apt/preferences.d/openclaw-gcp-trixie <<'PIN'
# Only Compose v2 comes from Debian 13; everything else stays on Debian 12.
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: docker-compose
Pin: release n=trixie
Pin-Priority: 500
PIN
apt-get update -qq
DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1
docker compose version
