#!/bin/sh
# Vendors CodeMirror 6 (MIT) as one ES module: screenpop/vendor/codemirror/codemirror.esm.js,
# with its VERSION (every bundled package and its version), LICENSE and SHA256. CodeMirror
# is a set of npm packages that import each other; esbuild bundles the ones the flow editor
# uses (state, view, language, commands, autocomplete, lint, search, lang-yaml and the lezer
# parsers under them) once, here; the pages import the result and keep no build step.
# Run from the repository root:
#     sh scripts/vendor-codemirror.sh 6.0.2
# (the version is the `codemirror` meta package's; it pins the @codemirror/* packages' majors,
# and npm resolves them to their newest minor, listed in VERSION).
set -eu
version="${1:-6.0.2}"
yaml="6.1.3"
esbuild="0.28.2"
out="$(pwd)/screenpop/vendor/codemirror"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '{"name":"vendor-codemirror","private":true}\n' > package.json
npm install --silent --no-audit --no-fund --ignore-scripts --save-exact \
    "codemirror@$version" "@codemirror/lang-yaml@$yaml" \
    @codemirror/state @codemirror/view @codemirror/language @codemirror/commands \
    @codemirror/autocomplete @codemirror/lint @codemirror/search @lezer/highlight
cat > entry.mjs <<'JS'
export { basicSetup, minimalSetup } from "codemirror";
export * from "@codemirror/state";
export * from "@codemirror/view";
export * from "@codemirror/language";
export * from "@codemirror/commands";
export * from "@codemirror/autocomplete";
export * from "@codemirror/lint";
export * from "@codemirror/search";
export * from "@codemirror/lang-yaml";
export { tags } from "@lezer/highlight";
JS
mkdir -p "$out"
npx --yes "esbuild@$esbuild" entry.mjs --bundle --format=esm --minify --platform=browser \
    --target=es2020 --legal-comments=none --outfile="$out/codemirror.esm.js"
: > "$out/LICENSE"
: > "$out/VERSION.tmp"
# every installed package is a dependency of the bundle (esbuild runs from npx's cache)
for dir in node_modules/* node_modules/@*/*; do
    [ -f "$dir/package.json" ] || continue
    name="$(node -p "require('./$dir/package.json').name")"
    ver="$(node -p "require('./$dir/package.json').version")"
    lic="$(node -p "require('./$dir/package.json').license")"
    echo "  $name $ver ($lic)" >> "$out/VERSION.tmp"
    printf '\n---- %s %s ----\n' "$name" "$ver" >> "$out/LICENSE"
    cat "$dir/LICENSE" >> "$out/LICENSE"
done
{
    echo "codemirror $version (npm), bundled by esbuild $esbuild: sh scripts/vendor-codemirror.sh $version"
    echo "bundled packages:"
    cat "$out/VERSION.tmp"
} > "$out/VERSION"
rm "$out/VERSION.tmp"
cd "$out"
sha256sum codemirror.esm.js > SHA256
cat VERSION SHA256
