#!/usr/bin/env bash
# Set up and run the lab: real Asterisk, the server, demo data; prints the URLs. Ctrl-C stops it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
apt_install espeak-ng graphviz ffmpeg
setup_python ""
setup_asterisk
exec "$VENV/bin/ctiserver" lab "$@"
