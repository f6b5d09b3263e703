#!/usr/bin/env bash
# make ee: build the execution environment openclaw-gcp/ee:latest (execution-environment.yml)
# with ansible-builder and Docker, offline from any Galaxy server:
#   1. the base image openclaw-gcp/ee-base:bookworm (scripts/images.sh, Debian packages);
#   2. this collection as a tarball (ansible-galaxy collection build) and each collection it
#      depends on, repacked from the copy installed in this Python environment (the `ansible`
#      package), into .cache/ee/collections with the requirements file the EE definition names;
#   3. ansible-builder build, unless the image's recipe label already matches: the hash of the EE
#      definition, the collections' file checksums (their FILES.json) and the base image's recipe.
# pip inside the build reaches the package index (ansible-core, ansible-runner, google-auth ...).
# Environment: OPENCLAW_GCP_EE_IMAGE (default openclaw-gcp/ee:latest), OPENCLAW_GCP_EE_FORCE=1
# to rebuild anyway.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
image="${OPENCLAW_GCP_EE_IMAGE:-openclaw-gcp/ee:latest}"
base="openclaw-gcp/ee-base:bookworm"
out="$root/.cache/ee"
colls="$out/collections"
LABEL=org.openclaw-gcp.recipe

log() { printf '==> %s\n' "$*"; }
die() { printf 'ee: %s\n' "$*" >&2; exit 1; }

command -v ansible-builder >/dev/null || die "ansible-builder is missing (pip install -r requirements.txt, or make setup)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (run make setup)"
docker image inspect "$base" >/dev/null 2>&1 || "$here/images.sh"

rm -rf "$colls"
mkdir -p "$colls"
ansible-galaxy collection build --force --output-path "$colls" "$root" >/dev/null
mv "$colls"/openclaw-gcp-*.tar.gz "$colls/openclaw-gcp.tar.gz"

# The dependencies, from the installed copies: ansible-galaxy build needs a galaxy.yml, which the
# installed copy's MANIFEST.json describes; the rebuilt tarball's FILES.json matches its files.
python3 - "$root/galaxy.yml" "$colls" <<'PY'
import json, os, shutil, subprocess, sys, tempfile
import yaml
import ansible_collections

galaxy_file, out = sys.argv[1], sys.argv[2]
with open(galaxy_file) as f:
    todo = list(yaml.safe_load(f).get('dependencies') or {})
done, names = set(), ['openclaw-gcp.tar.gz']
while todo:
    fqcn = todo.pop(0)
    if fqcn in done:
        continue
    done.add(fqcn)
    namespace, name = fqcn.split('.')
    src = next((os.path.join(p, namespace, name) for p in ansible_collections.__path__
                if os.path.isfile(os.path.join(p, namespace, name, 'MANIFEST.json'))), None)
    if src is None:
        sys.exit('ee: collection %s is not installed in this Python (pip install -r requirements.txt)' % fqcn)
    with open(os.path.join(src, 'MANIFEST.json')) as f:
        info = json.load(f)['collection_info']
    todo.extend(info.get('dependencies') or {})
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, name)
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns('__pycache__', 'MANIFEST.json', 'FILES.json'))
        with open(os.path.join(copy, 'galaxy.yml'), 'w') as f:
            yaml.safe_dump(dict((k, v) for k, v in info.items() if v not in (None, '', [], {})), f)
        subprocess.run(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', tmp, copy],
                       check=True, stdout=subprocess.DEVNULL)
        built = os.path.join(tmp, '%s-%s-%s.tar.gz' % (namespace, name, info['version']))
        shutil.move(built, os.path.join(out, '%s-%s.tar.gz' % (namespace, name)))
    names.append('%s-%s.tar.gz' % (namespace, name))
with open(os.path.join(out, 'requirements.yml'), 'w') as f:
    f.write('---\n# Written by scripts/ee.sh: the tarballs copied to /build/collections.\n')
    yaml.safe_dump({'collections': [{'name': 'collections/' + n, 'type': 'file'} for n in names]}, f)
PY

# Recipe: the EE definition, the collection's meta files, each collection's file checksums
# (FILES.json is deterministic, unlike the tarballs' timestamps) and the base image's recipe.
hash="$( (sha256sum "$root/execution-environment.yml";
          for t in "$colls"/*.tar.gz; do tar -xzOf "$t" FILES.json | sha256sum; done;
          docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$base") | sha256sum | cut -c1-16)"
current="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$image" 2>/dev/null || true)"
if [ "$current" = "$hash" ] && [ "${OPENCLAW_GCP_EE_FORCE:-0}" != 1 ]; then
  log "$image is up to date"
  exit 0
fi
log "building $image (ansible-builder; log in .cache/ee/build.log)"
# pip inside the build must reach the package index: no offline guard there.
(cd "$root" && env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy \
   ansible-builder build -f execution-environment.yml --context "$out/context" \
     --container-runtime docker -t "$image" -v 3 \
     --extra-build-cli-args "--label $LABEL=$hash") > "$out/build.log" 2>&1 \
  || { tail -n 60 "$out/build.log" >&2; die "ansible-builder build of $image failed; see .cache/ee/build.log"; }
log "built $image"
