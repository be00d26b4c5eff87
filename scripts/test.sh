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
"$VENV/bin/pytest" -ra "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
