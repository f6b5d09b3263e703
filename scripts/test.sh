#!/usr/bin/env bash
# make test: every suite. Each suite prints its own summary; the run goes on after a failing
# suite (so one report shows everything) and exits non-zero if any failed.
#   lint         yamllint, ansible-lint, ansible-test sanity          (scripts/lint.sh)
#   unit         pytest tests/unit                                   (no network, no Docker)
#   collection   pytest tests/collection: build, install, ansible-doc
#   emulator     pytest tests/emulator: the emulator, incl. real gcloud and docker-backed VMs
#   integration  pytest tests/integration: modules and inventory against the emulator
#   drills       pytest tests/drills: fault drills (transient errors, lost responses, bad input)
#   molecule     molecule test -s default: roles on Debian 12/13 containers with a real gateway
#   memory       molecule test -s memory: the memory drill, the same in a 1 GiB VM (alone: a
#                thrashing VM next to the others would stall the whole machine)
#   e2e          pytest tests/e2e: the playbooks on emulated gateways (two modules at a time)
#   ee           pytest tests/ee: the execution environment (make ee) runs site.yml with
#                ansible-runner against the emulator, one gateway
# The first six share no state (each starts its own emulators, with their own names and
# temporary directories) and mostly wait on Google-like delays: they run at the same time, each
# into its own log, printed in order when they are done. The Docker-heavy suites run after
# them, one at a time. The summary gives each suite's time and the whole run's.
# Select suites: scripts/test.sh unit integration   (or OPENCLAW_GCP_TEST_SUITES="unit e2e");
# OPENCLAW_GCP_TEST_PARALLEL=0 runs everything one after the other.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$OPENCLAW_GCP_ROOT" || exit 1

all="lint unit collection emulator integration drills molecule memory e2e ee"
parallel_ok=" lint unit collection emulator integration drills "
suites="${*:-${OPENCLAW_GCP_TEST_SUITES:-$all}}"
declare -A result
failed=0
run_start=$SECONDS
logs="$OPENCLAW_GCP_ROOT/.cache/test-logs"
mkdir -p "$logs"

run_pytest() {
  # pytest exits 5 when a directory holds no test yet: that is "nothing to run", not a pass.
  local dir="$1"; shift
  if [ -z "$(find "$dir" -name 'test_*.py' 2>/dev/null | head -n1)" ]; then
    echo "(no tests in $dir yet)"; return 0
  fi
  python -m pytest -ra -p no:cacheprovider "$dir" "$@"
}

run_suite() {
  case "$1" in
    lint)        "$here/lint.sh" ;;
    unit)        run_pytest tests/unit -q ;;
    collection)  run_pytest tests/collection -q ;;
    emulator)    run_pytest tests/emulator -q ;;
    integration) run_pytest tests/integration -q ;;
    molecule)    molecule test -s default ;;
    memory)      molecule test -s memory ;;
    drills)      run_pytest tests/drills -q ;;
    # Two workers, one test module each at a time (each module has its own emulator and VMs).
    e2e)         run_pytest tests/e2e -q --durations=12 -n "${OPENCLAW_GCP_E2E_WORKERS:-2}" --dist loadfile ;;
    ee)          run_pytest tests/ee -q ;;
    *) echo "unknown suite: $1"; false ;;
  esac
}

record() {  # record SUITE RC SECONDS
  result[$1]="$([ "$2" = 0 ] && echo passed || echo "FAILED (exit $2)") in $3 s"
  [ "$2" = 0 ] || failed=1
}

banner() { printf '\n======================== %s ========================\n' "$1"; }

# 1. The suites that share no state, at the same time.
declare -A pids starts
if [ "${OPENCLAW_GCP_TEST_PARALLEL:-1}" != 0 ]; then
  for suite in $suites; do
    case "$parallel_ok" in *" $suite "*) ;; *) continue ;; esac
    starts[$suite]=$SECONDS
    ( t0=$SECONDS; run_suite "$suite" >"$logs/$suite.log" 2>&1; echo $? >"$logs/$suite.rc"
      echo $((SECONDS - t0)) >"$logs/$suite.seconds" ) &
    pids[$suite]=$!
  done
  for suite in $suites; do
    [ -n "${pids[$suite]:-}" ] || continue
    wait "${pids[$suite]}"
    banner "$suite"
    cat "$logs/$suite.log"
    record "$suite" "$(cat "$logs/$suite.rc" 2>/dev/null || echo 1)" \
      "$(cat "$logs/$suite.seconds" 2>/dev/null || echo "$((SECONDS - starts[$suite]))")"
  done
fi

# 2. The rest, one at a time.
for suite in $suites; do
  [ -n "${pids[$suite]:-}" ] && continue
  banner "$suite"
  start=$SECONDS
  run_suite "$suite"
  record "$suite" $? "$((SECONDS - start))"
done

banner summary
for suite in $suites; do printf '%-12s %s\n' "$suite" "${result[$suite]}"; done
printf '%-12s %s s\n' "total" "$((SECONDS - run_start))"
exit "$failed"
