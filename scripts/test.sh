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
# process): an integration test mostly waits on Asterisk, Chromium and the clock, so two per
# CPU keep both busy. Every test is free of the others (its own ports, files and databases).
# The modules with integration tests come first (tests/conftest.py) and tests are handed out
# two at a time (--maxschedchunk 2, not in big chunks): the long ones start early on every
# worker and the quick ones fill the end.
# --durations=25: the 25 slowest tests, and tests.support.cputime the 25 costliest in CPU,
# so that a slow newcomer shows in every CI log.
workers=${PYTEST_WORKERS:-$(( $(nproc) * 2 ))}
parallel=()
if [ "$workers" -gt 0 ]; then
    parallel=(-n "$workers" --dist load --maxschedchunk 2)
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
