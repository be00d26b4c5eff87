#!/usr/bin/env bash
# Set up and run every test: unit, and integration against real Asterisk, Chromium, PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
apt_install chromium postgresql espeak-ng sox graphviz ffmpeg
setup_python "[test]"
setup_asterisk
# The checks come first and are quick; any finding fails the run (rules in pyproject.toml).
echo "==> ruff check ctiserver"
"$VENV/bin/ruff" check ctiserver
echo "==> mypy (ctiserver)"
"$VENV/bin/mypy"
echo "==> pytest"
set +e
started=$SECONDS
# Tests run side by side, two per CPU (PYTEST_WORKERS to change it; 0 runs them in this
# process): an integration test mostly waits on Asterisk, Chromium and the clock, so several per
# CPU keep both busy. Every test is free of the others (its own ports, files and databases).
# --dist worksteal: a worker that runs out takes half of another's waiting tests. Measured on
# 2 CPUs: 4 workers 9m19s, all passed; the integration modules first, handed out two at a time,
# 10m11s; 6 workers 9m09s with a timing test failing (tests/unit/test_visits.py click-to-call).
# --durations=25: the 25 slowest tests, and tests.support.cputime the 25 costliest in CPU,
# so that a slow newcomer shows in every CI log.
workers=${PYTEST_WORKERS:-$(( $(nproc) * 2 ))}
parallel=()
if [ "$workers" -gt 0 ]; then
    parallel=(-n "$workers" --dist worksteal)
fi
"$VENV/bin/pytest" "${parallel[@]}" -ra --durations=25 -p tests.support.cputime "$@"
status=$?
elapsed=$((SECONDS - started))
set -e
printf '==> pytest took %dm%02ds (wall clock, %d CPUs)\n' $((elapsed / 60)) $((elapsed % 60)) "$(nproc)"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
