#!/usr/bin/env bash
# Shared by scripts/lab.sh and scripts/test.sh: Debian packages, the virtualenv, Asterisk.
# Safe to run again: each step is skipped when already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CTISERVER_VENV:-$ROOT/.venv}"

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> apt-get install ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

setup_python() {
    local extras="$1"
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        apt_install python3
    fi
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt_install python3-venv
    fi
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    echo "==> pip install -e .$extras"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT$extras"
}

setup_asterisk() {
    if ! command -v asterisk >/dev/null 2>&1; then
        apt_install debootstrap ca-certificates
    fi
    echo "==> Asterisk (system, or the cached Debian sid chroot: about a minute the first time)"
    "$VENV/bin/ctiserver" asterisk provision
}
