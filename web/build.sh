#!/usr/bin/env bash
# Builds the browser package and the demo page:
# - the host kit for wasm32-unknown-unknown (the `web` profile of the root
#   Cargo.toml), and its JS bindings with TypeScript declarations
#   (`wasm-bindgen --target web`) into pkg/, the npm package `wasplug` (its
#   package.json is committed; the rest is build output), its wasm optimized
#   with `wasm-opt` (binaryen, pinned in tools/package-lock.json and
#   installed there with `npm ci` on first use);
# - the demo page's copy of the package, www/node_modules/wasplug/, which
#   the page imports by name (an import map in index.html), as a web app
#   that installed the package would;
# - the test plugin next to the page (build.rs builds it for wasm32-wasip1).
# Then serve www/ with any static server, e.g.
# `python3 -m http.server -d web/www --bind 127.0.0.1 8000`.
#
# Needs the wasm32-unknown-unknown and wasm32-wasip1 targets, the
# wasm-bindgen CLI of the version in Cargo.lock (.ci/browser installs both),
# and Node.js with npm.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$web")"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")"
pkg="$web/pkg"
profile=web

cargo build --manifest-path "$root/Cargo.toml" -p wasplug-web \
    --target wasm32-unknown-unknown --profile "$profile"
# Everything in pkg/ but the committed package.json is generated.
find "$pkg" -mindepth 1 ! -name package.json -exec rm -rf {} +
wasm-bindgen --target web --out-dir "$pkg" --out-name wasplug \
    "$target_dir/wasm32-unknown-unknown/$profile/wasplug_web.wasm"

wasm_opt="$web/tools/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
    npm ci --prefix "$web/tools" --no-audit --no-fund
fi
wasm="$pkg/wasplug_bg.wasm"
before="$(stat -c %s "$wasm")"
# The features rustc enables by default for wasm32-unknown-unknown, which
# the wasm-bindgen output uses. `--low-memory-unused` (-6 KB: folds constant
# offsets into loads and stores) holds for rustc's layout: the stack comes
# first and grows down from 1 MiB, data lies above it, so the low 1 KiB is
# reached only by a stack about to overflow. Measured and not kept:
# `--converge` (-1.0 KB), `--gufa -Oz` (-1.6 KB), `--flatten` (+2 KB), `-Os`
# (+28 KB), `--zero-filled-memory` (0), `--merge-similar-functions` (0).
"$wasm_opt" -Oz --low-memory-unused --strip-debug --strip-producers \
    --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-multivalue --enable-reference-types \
    "$wasm" -o "$wasm"

# The package's version is the workspace's.
version="$(awk -F'"' '/^version = / { print $2; exit }' "$root/Cargo.toml")"
grep -q "\"version\": \"$version\"" "$pkg/package.json" || {
    echo "web/pkg/package.json: the version must be $version (Cargo.toml)" >&2
    exit 1
}

rm -rf "$web/www/node_modules"
mkdir -p "$web/www/node_modules/wasplug"
cp -R "$pkg/." "$web/www/node_modules/wasplug/"
cp "$root/target/wasm-guests/wasm32-wasip1/plugin/test-plugin.wasm" "$web/www/"
echo "built $pkg and $web/www: wasplug_bg.wasm $(stat -c %s "$wasm") bytes" \
    "($before before wasm-opt; $(gzip -9c "$wasm" | wc -c) gzipped)"
