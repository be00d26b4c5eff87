#!/bin/sh
# Vendors axe-core (MPL-2.0), the accessibility checker the page tests run in Chromium
# (tests/integration/test_pages_accessible.py): tests/vendor/axe-core/axe.min.js with its
# VERSION, LICENSE and SHA256. The npm package ships axe.min.js already built for browsers;
# it is copied as published (no bundling). It is a test tool, not part of the pages, so it
# lives under tests/ and is not shipped with the server. Run from the repository root:
#     sh scripts/vendor-axe-core.sh 4.14.1
set -eu
version="${1:-4.14.1}"
out="$(pwd)/tests/vendor/axe-core"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "axe-core@$version" >/dev/null
tar xzf "axe-core-$version.tgz"
mkdir -p "$out"
cp package/axe.min.js "$out/axe.min.js"
cp package/LICENSE "$out/LICENSE"
echo "axe-core $version (npm, axe.min.js as published): sh scripts/vendor-axe-core.sh $version" > "$out/VERSION"
cd "$out"
sha256sum axe.min.js > SHA256
cat VERSION SHA256
