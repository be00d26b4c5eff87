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
# Tests run side by side, three workers per CPU (PYTEST_WORKERS to change it; 0 runs them in
# this process): an integration test mostly waits on Asterisk, Chromium and the clock, so
# several per CPU keep both busy (measured on 2 CPUs, modules longest first: 4 workers 9m10s,
# 6 workers 8m15s, the CPUs then about 70% busy). Every test is free of the others (its own ports, files and
# databases). --dist loadscope: a worker takes a whole module at a time (a module's shared lab
# or Chromium is made once), and tests.support.schedule orders the modules longest first (their
# seconds in tests/support/module_seconds.json; `--record-module-seconds` writes them again), so
# that no worker is left alone with a long module at the end. (Measured on 2 CPUs with the
# tests handed out one by one, --dist worksteal: a module's lab made again on each worker that
# took one of its tests, and a long test last.)
# --durations=25: the 25 slowest tests, and tests.support.cputime the 25 costliest in CPU,
# so that a slow newcomer shows in every CI log.
workers=${PYTEST_WORKERS:-$(( $(nproc) * 3 ))}
parallel=()
if [ "$workers" -gt 0 ]; then
    parallel=(-n "$workers" --dist loadscope --no-loadscope-reorder)
fi
"$VENV/bin/pytest" "${parallel[@]}" -ra --durations=25 -p tests.support.cputime -p tests.support.schedule "$@"
status=$?
elapsed=$((SECONDS - started))
set -e
printf '==> pytest took %dm%02ds (wall clock, %d CPUs)\n' $((elapsed / 60)) $((elapsed % 60)) "$(nproc)"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
