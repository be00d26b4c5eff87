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
# --durations=25: the 25 slowest tests, so that a slow newcomer shows in every CI log
"$VENV/bin/pytest" -ra --durations=25 "$@"
status=$?
elapsed=$((SECONDS - started))
set -e
printf '==> pytest took %dm%02ds (wall clock, %d CPUs)\n' $((elapsed / 60)) $((elapsed % 60)) "$(nproc)"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
