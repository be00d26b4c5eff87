#!/bin/sh
# Vendors JsSIP (MIT) as one ES module: screenpop/vendor/jssip/jssip.esm.js, with its
# VERSION, LICENSE and SHA256. The npm package ships CommonJS only (lib/), so esbuild
# bundles it with its dependencies (debug, events, sdp-transform; all MIT) once, here;
# the pages import the result and keep no build step. Run from the repository root:
#     sh scripts/vendor-jssip.sh 3.13.8
set -eu
version="${1:-3.13.8}"
esbuild="0.28.2"
out="$(pwd)/screenpop/vendor/jssip"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "jssip@$version" >/dev/null
tar xzf "jssip-$version.tgz"
cd package
npm install --silent --omit=dev --ignore-scripts --no-audit --no-fund
printf 'import JsSIP from "./lib/JsSIP.js";\nexport default JsSIP;\n' > entry.mjs
npx --yes "esbuild@$esbuild" entry.mjs --bundle --format=esm --minify --platform=browser \
    --target=es2020 --legal-comments=none --outfile="$out/jssip.esm.js"
mkdir -p "$out"
cp LICENSE.md "$out/LICENSE"
for dep in debug events sdp-transform ms; do
    if [ -f "node_modules/$dep/LICENSE" ]; then
        printf '\n---- %s (bundled) ----\n' "$dep" >> "$out/LICENSE"
        cat "node_modules/$dep/LICENSE" >> "$out/LICENSE"
    fi
done
echo "jssip $version (npm), bundled by esbuild $esbuild: sh scripts/vendor-jssip.sh $version" > "$out/VERSION"
cd "$out"
sha256sum jssip.esm.js > SHA256
cat VERSION SHA256
