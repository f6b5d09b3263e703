#!/usr/bin/env bash
# make test: every suite, in order of cost. Each suite prints its own summary; the run goes on
# after a failing suite (so one report shows everything) and exits non-zero if any failed.
#   lint         yamllint, ansible-lint, ansible-test sanity          (scripts/lint.sh)
#   unit         pytest tests/unit                                   (no network, no Docker)
#   collection   pytest tests/collection: build, install, ansible-doc
#   emulator     pytest tests/emulator: the emulator, incl. real gcloud and docker-backed VMs
#   integration  pytest tests/integration: modules and inventory against the emulator
#   molecule     molecule test -s default: roles on Debian 12/13 containers with a real gateway
#   memory       molecule test -s memory: the memory drill, the same in a 1 GiB VM (alone: a
#                thrashing VM next to the others would stall the whole machine)
#   drills       pytest tests/drills: fault drills (transient errors, lost responses, bad input)
#   e2e          pytest tests/e2e: site.yml, resize.yml on two emulated gateways
# Select suites: scripts/test.sh unit integration   (or OPENCLAW_GCP_TEST_SUITES="unit e2e")
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$OPENCLAW_GCP_ROOT" || exit 1

all="lint unit collection emulator integration drills molecule memory e2e"
suites="${*:-${OPENCLAW_GCP_TEST_SUITES:-$all}}"
declare -A result
failed=0

run_pytest() {
  # pytest exits 5 when a directory holds no test yet: that is "nothing to run", not a pass.
  local dir="$1"; shift
  if [ -z "$(find "$dir" -name 'test_*.py' 2>/dev/null | head -n1)" ]; then
    echo "(no tests in $dir yet)"; return 0
  fi
  python -m pytest -ra -p no:cacheprovider "$dir" "$@"
}

for suite in $suites; do
  printf '\n======================== %s ========================\n' "$suite"
  start=$SECONDS
  case "$suite" in
    lint)        "$here/lint.sh" ;;
    unit)        run_pytest tests/unit -q ;;
    collection)  run_pytest tests/collection -q ;;
    emulator)    run_pytest tests/emulator -q ;;
    integration) run_pytest tests/integration -q ;;
    molecule)    molecule test -s default ;;
    memory)      molecule test -s memory ;;
    drills)      run_pytest tests/drills -q ;;
    e2e)         run_pytest tests/e2e -q ;;
    *) echo "unknown suite: $suite"; false ;;
  esac
  rc=$?
  result[$suite]="$([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - start)) s"
  [ $rc = 0 ] || failed=1
done

printf '\n======================== summary ========================\n'
for suite in $suites; do printf '%-12s %s\n' "$suite" "${result[$suite]}"; done
exit "$failed"
