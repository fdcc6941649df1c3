//! Builds the bundled test plugin (`wasplug demo`, and the CLI's tests) for
//! `wasm32-wasip1` and sets `WASPLUG_TEST_PLUGIN` to the path of a copy in
//! `$OUT_DIR`, which `src/demo.rs` embeds with `include_bytes!`.

fn main() {
    let plugin = wasplug_build_support::build_test_plugin();
    println!("cargo:rustc-env=WASPLUG_TEST_PLUGIN={}", plugin.display());
}
