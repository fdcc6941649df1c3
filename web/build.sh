#!/usr/bin/env bash
# Builds the demo page's WebAssembly: the host kit for wasm32-unknown-unknown
# (the `web` profile of the root Cargo.toml), its JS bindings with
# `wasm-bindgen --target web` into www/pkg/, optimized with `wasm-opt`
# (binaryen, pinned in tools/package-lock.json and installed there with
# `npm ci` on first use), and the test plugin next to the page (build.rs
# builds it for wasm32-wasip1). Then serve www/ with any static server, e.g.
# `python3 -m http.server -d web/www --bind 127.0.0.1 8000`.
#
# Needs the wasm32-unknown-unknown and wasm32-wasip1 targets, the
# wasm-bindgen CLI of the version in Cargo.lock (.ci/browser installs both),
# and Node.js with npm.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$web")"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")"
profile=web

cargo build --manifest-path "$root/Cargo.toml" -p wasplug-web \
    --target wasm32-unknown-unknown --profile "$profile"
rm -rf "$web/www/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$web/www/pkg" \
    "$target_dir/wasm32-unknown-unknown/$profile/wasplug_web.wasm"

wasm_opt="$web/tools/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
    npm ci --prefix "$web/tools" --no-audit --no-fund
fi
wasm="$web/www/pkg/wasplug_web_bg.wasm"
before="$(stat -c %s "$wasm")"
# The features rustc enables by default for wasm32-unknown-unknown, which
# the wasm-bindgen output uses.
"$wasm_opt" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-multivalue --enable-reference-types \
    "$wasm" -o "$wasm"
cp "$root/target/wasm-guests/wasm32-wasip1/plugin/test-plugin.wasm" "$web/www/"
echo "built $web/www: pkg/wasplug_web_bg.wasm $(stat -c %s "$wasm") bytes" \
    "($before before wasm-opt; $(gzip -9c "$wasm" | wc -c) gzipped)"
