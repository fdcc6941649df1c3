#!/usr/bin/env bash
# Builds the demo page's WebAssembly: the host kit for wasm32-unknown-unknown
# (release; .cargo/config.toml adds the tail-call feature), its JS bindings
# with `wasm-bindgen --target web` into www/pkg/, and the test plugin next to
# the page (build.rs builds it for wasm32-wasip1). Then serve www/ with any
# static server, e.g. `python3 -m http.server -d web/www --bind 127.0.0.1 8000`.
#
# Needs the wasm32-unknown-unknown and wasm32-wasip1 targets and the
# wasm-bindgen CLI of the version in Cargo.lock (.ci/browser installs both).
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$web")"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")"

cargo build --manifest-path "$root/Cargo.toml" -p wasplug-web \
    --target wasm32-unknown-unknown --release
rm -rf "$web/www/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$web/www/pkg" \
    "$target_dir/wasm32-unknown-unknown/release/wasplug_web.wasm"
cp "$root/target/wasm-guests/wasm32-wasip1/plugin/test-plugin.wasm" "$web/www/"
echo "built $web/www (pkg/: $(du -sh "$web/www/pkg" | cut -f1))"
