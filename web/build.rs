//! For browser builds (`wasm32-unknown-unknown`) only: builds the test plugin
//! for `wasm32-wasip1` and sets `WASPLUG_TEST_PLUGIN` to the path of a copy in
//! `$OUT_DIR`, which the browser tests (`tests/browser.rs`) embed with
//! `include_bytes!`. `build.sh` copies the same plugin next to the demo page.
//! Native builds do nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("TARGET").is_ok_and(|target| target == "wasm32-unknown-unknown") {
        let plugin = wasplug_build_support::build_test_plugin();
        println!("cargo:rustc-env=WASPLUG_TEST_PLUGIN={}", plugin.display());
    }
}
