#!/usr/bin/env bash
# make lint: yamllint, ansible-lint (production profile) and ansible-test sanity.
# ansible-test refuses a symlinked tree and wants the collection under
# ansible_collections/NAMESPACE/NAME, so sanity runs on an rsync'ed copy in .cache/.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$OPENCLAW_GCP_ROOT" || exit 1
fail=0
step() { printf '\n==> %s\n' "$*"; }

step "yamllint"
yamllint -s . || fail=1

step "ansible-lint (production profile)"
ansible-lint --profile production || fail=1

step "ansible-test sanity"
copy="$OPENCLAW_GCP_ROOT/.cache/sanity/ansible_collections/openclaw/gcp"
mkdir -p "$copy"
rsync -a --delete --exclude .venv --exclude .cache --exclude .git --exclude .ansible \
  --exclude __pycache__ --exclude .pytest_cache --exclude tests/output \
  "$OPENCLAW_GCP_ROOT/" "$copy/"
# ansible-test lists files through git when it finds a repository; give the copy its own.
(cd "$copy" && { [ -d .git ] || git init -q; } && git add -A >/dev/null 2>&1 && \
  git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity --allow-empty >/dev/null 2>&1)
# ansible-test installs each sanity test's requirements into venvs of its own, from the package
# index (set-up traffic: the offline guard is lifted for that step only), then runs the tests
# offline. Its pip bootstrap script comes from a host we cannot reach: see the helper.
(
  unset HTTPS_PROXY https_proxy
  python "$here/ansible_test_pip_bootstrap.py" &&
  cd "$copy" && ansible-test sanity --python 3.11 --color no --prime-venvs >/dev/null
) || { echo "ansible-test could not prepare its sanity venvs"; fail=1; }
(cd "$copy" && ansible-test sanity --python 3.11 --color no) || fail=1

[ "$fail" = 0 ] && echo "lint: all passed" || echo "lint: FAILED"
exit "$fail"
