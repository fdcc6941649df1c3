#!/usr/bin/env bash
# Builds the browser package and the demo page:
# - the host kit for wasm32-unknown-unknown (release), and its JS bindings
#   with TypeScript declarations (`wasm-bindgen --target web`) into pkg/,
#   the npm package `wasplug` (its package.json is committed; the rest is
#   build output);
# - the demo page's copy of the package, www/node_modules/wasplug/, which
#   the page imports by name (an import map in index.html), as a web app
#   that installed the package would;
# - the test plugin next to the page (build.rs builds it for wasm32-wasip1).
# Then serve www/ with any static server, e.g.
# `python3 -m http.server -d web/www --bind 127.0.0.1 8000`.
#
# Needs the wasm32-unknown-unknown and wasm32-wasip1 targets and the
# wasm-bindgen CLI of the version in Cargo.lock (.ci/browser installs both).
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$web")"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")"
pkg="$web/pkg"

cargo build --manifest-path "$root/Cargo.toml" -p wasplug-web \
    --target wasm32-unknown-unknown --release
# Everything in pkg/ but the committed package.json is generated.
find "$pkg" -mindepth 1 ! -name package.json -exec rm -rf {} +
wasm-bindgen --target web --out-dir "$pkg" --out-name wasplug \
    "$target_dir/wasm32-unknown-unknown/release/wasplug_web.wasm"

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
echo "built $pkg ($(du -sh "$pkg" | cut -f1)) and $web/www"
